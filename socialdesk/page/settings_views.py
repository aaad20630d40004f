"""The public page's settings: profile (name, bio, avatar, UTM campaign) and its link buttons.

Owners and managers (``channels.manage``: the page is the workspace's own channel). Every
action is a plain form post that changes one part and saves the whole profile through
``services.save_profile``, the same write as ``PUT …/page``; nothing needs JavaScript.
Buttons are named by id: a page left open while someone else changed the buttons finds the
id gone and says so, instead of changing the wrong one.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from socialdesk.content.media import delete_media, upload_media
from socialdesk.content.models import MediaAsset, MediaKind
from socialdesk.web.helpers import apply_errors, enter
from socialdesk.workspaces.models import Workspace

from . import services
from .models import PageLink, profile_for

LIBRARY_CHOICES = 24  # the newest library images offered as avatars


class ProfileForm(forms.Form):
    display_name = forms.CharField(
        label="Display name",
        required=False,
        help_text="Empty: the workspace's name.",
        max_length=services.MAX_NAME,
    )
    bio = forms.CharField(
        label="Bio",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=f"Up to {services.MAX_BIO} characters.",
        max_length=services.MAX_BIO,
    )
    utm_campaign = forms.CharField(
        label="UTM campaign for the buttons",
        required=False,
        help_text="Letters, digits, hyphens, underscores. Empty: the workspace's address.",
        max_length=services.MAX_CAMPAIGN,
    )
    avatar = forms.ChoiceField(label="Avatar", required=False, widget=forms.RadioSelect)
    avatar_upload = forms.FileField(
        label="Or upload a new image",
        required=False,
        help_text="JPEG, PNG or WebP; it is also added to the media library.",
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )

    def __init__(self, *args: Any, images: list[MediaAsset], has_avatar: bool, **kwargs: Any):
        super().__init__(*args, **kwargs)
        choices = [("keep", "Keep the current one")] if has_avatar else []
        choices.append(("none", "No avatar (show the initial)"))
        choices += [(str(a.pk), a.alt_text or a.original_name or f"Image {a.pk}") for a in images]
        self.fields["avatar"].choices = choices  # type: ignore[attr-defined]
        self.fields["avatar"].initial = "keep" if has_avatar else "none"
        self.images = {str(a.pk): a for a in images}


class LinkForm(forms.Form):
    label = forms.CharField(label="Label", max_length=services.MAX_LABEL * 4)
    url = forms.CharField(
        label="Address",
        max_length=services.MAX_URL * 4,
        widget=forms.URLInput(attrs={"placeholder": "https://"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "label" in data and "url" in data:
            for name, texts in services.check_link(
                services.LinkIn(data["label"], data["url"])
            ).items():
                for text in texts:
                    self.add_error(name, text)
        return data


def _library_images(workspace: Workspace) -> list[MediaAsset]:
    return list(
        MediaAsset.objects.in_workspace(workspace)  # type: ignore[attr-defined]
        .filter(kind=MediaKind.IMAGE)
        .order_by("-created_at")[:LIBRARY_CHOICES]
    )


@login_required
@require_http_methods(["GET", "POST"])
def page_settings(request: HttpRequest, slug: str) -> HttpResponse:
    """Show and change the page's profile and buttons; ``action`` says which form was sent."""
    membership = enter(request, slug, "channels.manage")
    workspace = membership.workspace
    profile = profile_for(workspace)
    links = list(PageLink.objects.in_workspace(workspace))
    images = _library_images(workspace)
    current = services.editable_profile(workspace)
    action = request.POST.get("action", "") if request.method == "POST" else ""

    profile_form = ProfileForm(
        request.POST if action == "profile" else None,
        request.FILES if action == "profile" else None,
        images=images,
        has_avatar=bool(profile.avatar),
        initial={
            "display_name": profile.display_name,
            "bio": profile.bio,
            "utm_campaign": profile.utm_campaign,
        },
    )
    add_form = LinkForm(request.POST if action == "add" else None, prefix="new")
    edit_id = request.POST.get("link", "") if action == "edit" else request.GET.get("edit", "")
    index = _index_of(links, edit_id)
    edit_form = None
    if index is not None:
        edit_form = LinkForm(
            request.POST if action == "edit" else None,
            prefix="edit",
            initial={"label": links[index].label, "url": links[index].url},
        )
    post_index = _index_of(links, request.POST.get("link", ""))
    if action in ("up", "down", "delete", "edit") and post_index is None:
        messages.error(request, "That button was changed or removed meanwhile; here is the list.")
        return redirect("page_settings", slug=slug)

    done = None
    try:
        if action == "profile" and profile_form.is_valid():
            done = _save_profile_form(request, workspace, current, profile_form)
        elif action == "add" and add_form.is_valid():
            data = add_form.cleaned_data
            added = services.LinkIn(data["label"], data["url"])
            services.save_profile(workspace, _with_links(current, [*current.links, added]))
            done = f"Button “{data['label'].strip()}” added."
        elif action == "edit" and edit_form is not None and edit_form.is_valid():
            assert post_index is not None
            data = edit_form.cleaned_data
            changed = list(current.links)
            changed[post_index] = services.LinkIn(data["label"], data["url"])
            services.save_profile(workspace, _with_links(current, changed))
            done = "Button saved."
        elif action in ("up", "down"):
            assert post_index is not None
            step = -1 if action == "up" else 1
            moved = services.move_link(current.links, post_index, step)
            services.save_profile(workspace, _with_links(current, moved))
            done = f"Button “{links[post_index].label}” moved {action}."
        elif action == "delete":
            assert post_index is not None
            kept = [link for n, link in enumerate(current.links) if n != post_index]
            services.save_profile(workspace, _with_links(current, kept))
            done = f"Button “{links[post_index].label}” deleted."
    except ValidationError as error:
        form = {"add": add_form, "edit": edit_form}.get(action) or profile_form
        apply_errors(form, error, {})  # type: ignore[arg-type]
    if done:
        messages.success(request, done)
        return redirect("page_settings", slug=slug)

    confirm = _index_of(links, request.GET.get("delete", ""))
    forms_sent = [f for f in (profile_form, add_form, edit_form) if f is not None and f.is_bound]
    context = {
        "tab": "page",
        "profile": profile,
        "links": links,
        "profile_form": profile_form,
        "add_form": add_form,
        "edit_form": edit_form,
        "editing": links[index] if index is not None else None,
        "confirm_delete": links[confirm] if confirm is not None else None,
        "images": images,
        "max_links": services.MAX_LINKS,
    }
    status = 400 if any(f.errors for f in forms_sent) else 200
    return render(request, "page/settings.html", context, status=status)


def _index_of(links: list[PageLink], link_id: str) -> int | None:
    for n, link in enumerate(links):
        if str(link.pk) == link_id:
            return n
    return None


def _with_links(current: services.ProfileIn, links: list[services.LinkIn]) -> services.ProfileIn:
    return services.ProfileIn(current.display_name, current.bio, current.utm_campaign, links)


def _save_profile_form(
    request: HttpRequest, workspace: Workspace, current: services.ProfileIn, form: ProfileForm
) -> str:
    """Check the text first, then store an uploaded image (so a refused bio never leaves a
    new image behind), then save everything in one write."""
    data = form.cleaned_data
    changes = services.ProfileIn(
        data["display_name"], data["bio"], data["utm_campaign"], current.links
    )
    services.check_profile(changes)
    choice = data.get("avatar") or "keep"
    avatar = form.images.get(choice)
    upload = data.get("avatar_upload")
    if upload:
        asset = upload_media(
            workspace,
            request.user,  # type: ignore[arg-type]
            upload,
            alt_text=f"Avatar of {workspace.name}"[:200],
        )
        if asset.kind != MediaKind.IMAGE:
            delete_media(asset)  # nothing of a refused upload stays behind
            raise ValidationError(
                {"avatar_upload": ["Upload a still image (JPEG, PNG or WebP), not a video or GIF."]}
            )
        avatar = asset
    services.save_profile(workspace, changes, avatar=avatar, remove_avatar=choice == "none")
    return "Page profile saved."
