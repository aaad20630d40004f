"""Post pages: the filtered list, the composer, and deleting with a confirmation; the
composer's autosave and UTM endpoints and its settings page (hashtag groups, templates, UTM
defaults, channel signatures).

Thin function views: authorize with ``web.helpers.enter``, parse with a form, call
``content.services``, render. Each works as a plain form post; the list also answers htmx
requests with only its results block.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import F, OuterRef, Prefetch, Subquery
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string, select_template
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_http_methods, require_POST

from socialdesk.networks.models import Channel
from socialdesk.publishing import queues, wallclock
from socialdesk.publishing.models import Delivery, DeliveryState
from socialdesk.web.helpers import apply_errors, enter, render_page
from socialdesk.workspaces.access import get_in_workspace
from socialdesk.workspaces.models import Membership, User

from . import composer, media, services
from .forms import (
    SERVICE_FIELDS,
    HashtagGroupForm,
    PostFilterForm,
    PostForm,
    PostTemplateForm,
    SignatureForm,
    UtmDefaultsForm,
)
from .media import update_alt_text, upload_media
from .models import Campaign, HashtagGroup, MediaAsset, Post, PostTemplate

PAGE_SIZE = 20


@login_required
def post_list(request: HttpRequest, slug: str) -> HttpResponse:
    """Posts of the workspace, latest scheduled first (unscheduled drafts on top)."""
    membership = enter(request, slug, "posts.view")
    workspace = membership.workspace
    filters = PostFilterForm(request.GET or None, workspace=workspace)
    first_time = (
        Delivery.objects.filter(post=OuterRef("pk"))
        .exclude(scheduled_at=None)
        .order_by("scheduled_at")
        .values("scheduled_at")[:1]
    )
    posts = (
        filters.apply(Post.objects.in_workspace(workspace))
        .annotate(first_at=Subquery(first_time))
        .select_related("pillar", "campaign")
        .prefetch_related(
            "labels",
            Prefetch(
                "deliveries",
                queryset=Delivery.objects.select_related("channel").order_by(
                    "channel__network", "channel__handle"
                ),
            ),
        )
        .order_by(F("first_at").desc(nulls_first=True), "-id")
    )
    page = Paginator(posts, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "filters": filters,
        "page": page,
        "query": query.urlencode(),
        "can_create": membership.can("posts.create"),
        "can_edit": membership.can("posts.edit"),
    }
    return render_page(
        request, "content/post_list.html", context, partial="content/_post_results.html"
    )


@login_required
@require_http_methods(["GET", "POST"])
def post_create(request: HttpRequest, slug: str) -> HttpResponse:
    membership = enter(request, slug, "posts.create")
    return _compose(request, membership, None)


@login_required
@require_http_methods(["GET", "POST"])
def post_edit(request: HttpRequest, slug: str, post_id: int) -> HttpResponse:
    """The composer; a member who may read posts but not edit them (a client, an approver)
    opening a post's address is sent to its read-only review page instead of a refusal."""
    if request.method == "GET":
        membership = enter(request, slug, "posts.view")
        post = get_in_workspace(Post, membership.workspace, pk=post_id)
        if not membership.can("posts.edit") and apps.is_installed("socialdesk.workflow"):
            return redirect("workflow_post", slug=slug, post_id=post.pk)
    membership = enter(request, slug, "posts.edit")
    post = get_in_workspace(Post, membership.workspace, pk=post_id)
    return _compose(request, membership, post)


def _compose(request: HttpRequest, membership: Membership, post: Post | None) -> HttpResponse:
    """The composer for a new post (``post`` None) or an existing one.

    GET restores the person's autosaved draft when there is one newer than the post; a valid
    POST saves the post (``save_from_composer``) and brings the person back to it, in the
    editor, with what was saved: a team edits a post many times before it is done.
    """
    workspace = membership.workspace
    user: User = request.user  # type: ignore[assignment]
    if request.method == "POST":
        saved = save_from_composer(request, membership, post)
        if isinstance(saved, HttpResponse):
            return saved
        return redirect("post_edit", slug=workspace.slug, post_id=saved.pk)
    draft = composer.draft_for(workspace, user, post)
    initial: dict[str, Any] | None = None
    if draft is not None:
        initial = PostForm.initial_for(post) if post is not None else {}
        initial.update(draft.data)
    kwargs: dict[str, Any] = {"workspace": workspace, "post": post}
    if initial is not None:
        kwargs["initial"] = initial
    form = PostForm(None, **kwargs)
    return _editor(request, membership, post, form, draft)


def save_from_composer(
    request: HttpRequest, membership: Membership, post: Post | None, *, quiet: bool = False
) -> Post | HttpResponse:
    """Save what the composer sent: the post, its per-channel versions and first comments in
    one transaction, and forget the autosaved draft. Returns the saved post (with a success
    message, unless ``quiet``), or the editor showing what to fix (status 400).

    Also what the workflow's "Submit for approval" calls when pressed in the editor, so what
    is written there is saved exactly as "Save changes" would save it before it is submitted.
    """
    workspace = membership.workspace
    user: User = request.user  # type: ignore[assignment]
    form = PostForm(request.POST, request.FILES or None, workspace=workspace, post=post)
    if form.is_valid():
        try:
            saved = _save_with_media(form, user, post)
        except ValidationError as exc:
            apply_errors(form, exc, SERVICE_FIELDS)  # type: ignore[arg-type]
        else:
            composer.discard_draft(workspace, user, post)
            verb = "saved" if post else "created"
            if quiet:
                pass
            elif form.wants_queue:
                messages.success(request, f"Post {verb} and added to the queue.")
            else:
                messages.success(request, _saved_message(saved, verb, form))
            return saved
    return _editor(request, membership, post, form, None)


def _editor(
    request: HttpRequest, membership: Membership, post: Post | None, form: PostForm, draft: Any
) -> HttpResponse:
    workspace = membership.workspace
    context = {
        "form": form,
        "post": post,
        "draft": draft,
        "deliveries": (
            post.deliveries.select_related("channel").order_by("channel__network")
            if post is not None
            else []
        ),
        "can_delete": post is not None and membership.can("posts.delete"),
        "can_manage_aids": membership.can("taxonomy.manage"),
        "channel_rules": composer.channel_rules(form.channel_list),
        "hashtag_groups": HashtagGroup.objects.in_workspace(workspace),  # type: ignore[attr-defined]
        "templates": [
            {
                "id": t.pk,
                "name": t.name,
                "text": t.text,
                "placeholders": composer.placeholders(t.text),
            }
            for t in PostTemplate.objects.in_workspace(workspace)  # type: ignore[attr-defined]
        ],
        "library_assets": {
            a.pk: a
            for a in form.fields["library"].queryset  # type: ignore[attr-defined]
        },
        "checks": _optional_checks(request, post),
        "panels": _optional_panels(request, post),
        "actions": _optional_actions(request, post),
        "time_hints": _optional_time_hints(request, form),
    }
    return render(request, "content/post_form.html", context, status=400 if form.errors else 200)


# Panels other areas add to the composer when their apps are installed: the workflow's live
# checks at the top (what scheduling refuses, brand voice, where "Submit for approval" goes),
# its panel of a saved post (stage, checklist, approvals) and review's comments further down.
# The page works without them. Content is a lower floor than these apps and never imports
# their code for this: it asks for their templates by name.
WORKFLOW_LIVE_CHECKS = "workflow/_live_checks_loader.html"
WORKFLOW_PANEL = "workflow/_post_panel.html"
# Buttons the workflow adds next to "Save changes" (its "Submit for approval").
WORKFLOW_ACTIONS = "workflow/_editor_actions.html"


def _template_of(name: str) -> bool:
    if not apps.is_installed("socialdesk.workflow"):
        return False
    try:
        select_template([name])
    except TemplateDoesNotExist:
        return False
    return True


def _optional_checks(request: HttpRequest, post: Post | None) -> list[SafeString]:
    if not _template_of(WORKFLOW_LIVE_CHECKS):
        return []
    html = render_to_string(WORKFLOW_LIVE_CHECKS, {"post": post}, request=request)
    return [mark_safe(html)]  # noqa: S308 - rendered (and escaped) by templates


def _optional_panels(request: HttpRequest, post: Post | None) -> list[SafeString]:
    if post is None:
        return []
    panels: list[SafeString] = []
    if _template_of(WORKFLOW_PANEL):
        html = render_to_string(WORKFLOW_PANEL, {"post": post}, request=request)
        panels.append(mark_safe(html))  # noqa: S308 - rendered (and escaped) by templates
    if apps.is_installed("socialdesk.review"):
        from socialdesk.review.templatetags.review_tags import review_comments

        panels.append(review_comments({"request": request}, post))
    return panels


# Analytics' "next best time" of each channel under the time field, when analytics is installed
# (content never imports analytics: the template, and its tag, belong to analytics).
BEST_TIME_HINT = "analytics/best_time/_composer_hint.html"


def _optional_time_hints(request: HttpRequest, form: PostForm) -> list[SafeString]:
    if not apps.is_installed("socialdesk.analytics"):
        return []
    try:
        select_template([BEST_TIME_HINT])
    except TemplateDoesNotExist:
        return []
    html = render_to_string(BEST_TIME_HINT, {"form": form}, request=request)
    return [mark_safe(html)]  # noqa: S308 - rendered (and escaped) by templates


def _optional_actions(request: HttpRequest, post: Post | None) -> list[SafeString]:
    if post is None or not _template_of(WORKFLOW_ACTIONS):
        return []
    html = render_to_string(WORKFLOW_ACTIONS, {"post": post}, request=request)
    return [mark_safe(html)]  # noqa: S308 - rendered (and escaped) by templates


@login_required
@require_http_methods(["GET", "POST"])
def post_delete(request: HttpRequest, slug: str, post_id: int) -> HttpResponse:
    """Ask first (GET), delete on POST; a published post is refused with the reason."""
    membership = enter(request, slug, "posts.delete")
    post = get_in_workspace(Post, membership.workspace, pk=post_id)
    if request.method == "POST":
        try:
            services.delete_post(post)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("post_edit", slug=slug, post_id=post.pk)
        messages.success(request, "The post was deleted.")
        return redirect("post_list", slug=slug)
    return render(request, "content/post_delete.html", {"post": post})


def _save_with_media(form: PostForm, user: User, post: Post | None) -> Post:
    """Upload the editor's new images (``media.upload_media``, as the API does), set the alt
    texts of the kept ones, and create or update the post with them, all in one transaction.

    On any refusal nothing stays: the rows roll back and the files just written are deleted.
    An upload's error names the slot's file field (``image_2``) so it shows next to it.
    """
    kept, alts, uploads = form.media_plan()
    uploaded: list[MediaAsset] = []
    try:
        with transaction.atomic():
            for number, file, alt_text in uploads:
                try:
                    uploaded.append(upload_media(form.workspace, user, file, alt_text))
                except ValidationError as exc:
                    slot = {"file": f"image_{number}", "alt_text": f"alt_{number}"}
                    raise ValidationError(
                        {slot.get(name, name): texts for name, texts in exc.message_dict.items()}
                    ) from None
            for asset, alt_text in alts.items():
                if asset.alt_text != alt_text:
                    update_alt_text(asset, alt_text)
            content = form.content()
            media_ids = [a.pk for a in kept] + [a.pk for a in uploaded]
            if post is None:
                content.media_ids = media_ids
                saved = services.create_post(form.workspace, user, content)
            else:
                if media_ids != [a.pk for a in form.attached]:
                    content.media_ids = media_ids
                saved = services.update_post(post, user, content)
            _save_channel_texts(saved, form.delivery_texts())
            if form.wants_queue:
                for delivery in saved.deliveries.select_related("channel"):
                    queues.add_to_queue(delivery, user)
            return saved
    except Exception:
        for asset in uploaded:
            media.discard_files(asset)  # the file and its thumbnail
        raise


def _save_channel_texts(post: Post, texts: dict[int, tuple[str, str]]) -> None:
    """Give each delivery its own version and first comment; unchanged ones are not touched
    (a published delivery cannot change, and need not)."""
    for delivery in post.deliveries.all():
        override, first_comment = texts.get(delivery.channel_id, ("", ""))
        if (delivery.text_override, delivery.first_comment) != (override, first_comment):
            try:
                services.update_delivery(
                    delivery, text_override=override, first_comment=first_comment
                )
            except ValidationError as exc:
                raise ValidationError(
                    {
                        f"override_{delivery.channel_id}": [
                            f"{delivery.channel}: {' '.join(exc.messages)}"
                        ]
                    }
                ) from None


def _saved_message(post: Post, verb: str, form: PostForm) -> str:
    """ "Post created and scheduled for Mon 15 Jan 2029, 09:00 in America/New_York.": the
    time as typed and the zone that read it, so a person without the page's script still
    learns which zone was used."""
    if not post.deliveries.exclude(scheduled_at=None).exists():
        return f"Post {verb} as a draft."
    when = form.cleaned_data.get("scheduled_at")
    zone = wallclock.zone_named(form.cleaned_data.get("time_zone"))
    if when is None or zone is None:
        return f"Post {verb} and scheduled."
    local = when.astimezone(zone)
    at = f"{local:%a %d %b %Y, %H:%M} in {zone.key} ({wallclock.offset_label(local.utcoffset())})"
    if post.deliveries.filter(state=DeliveryState.AWAITING_APPROVAL).exists():
        return f"Post {verb}: waiting for approval, due {at}. It goes out then once approved."
    return f"Post {verb} and scheduled for {at}."


# --- Composer endpoints -----------------------------------------------------------------


@login_required
@require_POST
def composer_autosave(request: HttpRequest, slug: str) -> HttpResponse:
    """Keep what the person typed (the composer posts its fields here as they type); answers
    JSON with the time it was saved, for the page's "Saved" status. ``unchanged=1`` (the page
    is back to what is saved) forgets the draft instead."""
    membership = enter(request, slug, "posts.create")
    workspace = membership.workspace
    post = None
    post_id = request.POST.get("post", "")
    if post_id:
        if not post_id.isdigit():
            return JsonResponse({"error": "post must be a post id."}, status=400)
        membership = enter(request, slug, "posts.edit")
        post = get_in_workspace(Post, workspace, pk=int(post_id))
    now = timezone.now()
    if request.POST.get("unchanged") == "1":
        # The page holds what is saved: there is nothing unsaved to keep (nor to announce).
        composer.discard_draft(workspace, request.user, post)  # type: ignore[arg-type]
    else:
        data = composer.draft_data(request.POST)
        composer.save_draft(workspace, request.user, post, data, now)  # type: ignore[arg-type]
    local = timezone.localtime(now, workspace.zone)
    return JsonResponse({"saved_at": now.isoformat(), "saved_label": local.strftime("%H:%M")})


@login_required
@require_POST
def composer_discard(request: HttpRequest, slug: str) -> HttpResponse:
    """Forget the person's autosaved draft and show the post as saved."""
    membership = enter(request, slug, "posts.create")
    post_id = request.POST.get("post", "")
    post = None
    if post_id.isdigit():
        post = get_in_workspace(Post, membership.workspace, pk=int(post_id))
    composer.discard_draft(membership.workspace, request.user, post)  # type: ignore[arg-type]
    messages.info(request, "The unsaved draft was discarded.")
    if post is not None:
        return redirect("post_edit", slug=slug, post_id=post.pk)
    return redirect("post_create", slug=slug)


@login_required
@require_POST
def composer_utm(request: HttpRequest, slug: str) -> HttpResponse:
    """The text with UTM tags added to its links: the workspace's defaults, the campaign's
    UTM name, and the network's name as the source when a channel is given."""
    membership = enter(request, slug, "posts.create")
    workspace = membership.workspace
    text = request.POST.get("text", "")
    if len(text) > services.MAX_TEXT:
        return JsonResponse({"error": f"The text is longer than {services.MAX_TEXT}."}, status=400)
    campaign = None
    channel = None
    campaign_id = request.POST.get("campaign", "")
    channel_id = request.POST.get("channel", "")
    if campaign_id.isdigit():
        campaign = Campaign.objects.in_workspace(workspace).filter(pk=campaign_id).first()  # type: ignore[attr-defined]
    if channel_id.isdigit():
        channel = Channel.objects.in_workspace(workspace).filter(pk=channel_id).first()  # type: ignore[attr-defined]
    tags = composer.utm_tags(workspace, campaign, channel.network if channel else "")
    return JsonResponse({"text": composer.apply_utm(text, tags), "tags": tags})


@login_required
@require_http_methods(["GET", "POST"])
def composer_settings(request: HttpRequest, slug: str) -> HttpResponse:
    """Hashtag groups, templates, UTM defaults and channel signatures, on one page; each
    section is its own plain form (``section`` says which was sent)."""
    membership = enter(request, slug, "taxonomy.manage")
    workspace = membership.workspace
    defaults = composer.utm_defaults(workspace)
    channels = list(Channel.objects.in_workspace(workspace))  # type: ignore[attr-defined]
    section = request.POST.get("section", "") if request.method == "POST" else ""
    data = request.POST if section else None
    hashtag_form = HashtagGroupForm(data if section == "hashtags" else None, prefix="hashtags")
    template_form = PostTemplateForm(data if section == "template" else None, prefix="template")
    utm_form = UtmDefaultsForm(
        data if section == "utm" else None,
        prefix="utm",
        initial={
            "source": defaults.source,
            "medium": defaults.medium,
            "campaign": defaults.campaign,
        },
    )
    signature_form = SignatureForm(
        data if section == "signatures" else None, channels=channels, prefix="sig"
    )
    saved = None
    if section == "hashtags" and hashtag_form.is_valid():
        group = hashtag_form.save(commit=False)
        group.workspace = workspace
        saved = _save_unique(hashtag_form, group, "Hashtag group saved.")
    elif section == "template" and template_form.is_valid():
        template = template_form.save(commit=False)
        template.workspace = workspace
        saved = _save_unique(template_form, template, "Template saved.")
    elif section == "utm" and utm_form.is_valid():
        for name, value in utm_form.cleaned_data.items():
            setattr(defaults, name, value)
        defaults.save()
        saved = "UTM defaults saved."
    elif section == "signatures" and signature_form.is_valid():
        if not membership.can("channels.manage"):
            signature_form.add_error(None, "Only owners and managers change channel signatures.")
        else:
            with transaction.atomic():
                for channel in channels:
                    channel.signature = signature_form.cleaned_data[f"signature_{channel.pk}"]
                    channel.save(update_fields=["signature"])
            saved = "Signatures saved."
    elif section in ("delete_hashtags", "delete_template"):
        model = HashtagGroup if section == "delete_hashtags" else PostTemplate
        pk = request.POST.get("id", "")
        if pk.isdigit():
            model.objects.in_workspace(workspace).filter(pk=pk).delete()  # type: ignore[attr-defined]
        saved = "Deleted."
    if saved:
        messages.success(request, saved)
        return redirect("composer_settings", slug=slug)
    context = {
        "hashtag_form": hashtag_form,
        "template_form": template_form,
        "utm_form": utm_form,
        "signature_form": signature_form,
        "groups": HashtagGroup.objects.in_workspace(workspace),  # type: ignore[attr-defined]
        "templates": PostTemplate.objects.in_workspace(workspace),  # type: ignore[attr-defined]
        "tab": "composer",
    }
    errors = any(f.errors for f in (hashtag_form, template_form, utm_form, signature_form))
    return render(request, "content/composer_settings.html", context, status=400 if errors else 200)


def _save_unique(form: Any, obj: Any, message: str) -> str | None:
    """Save ``obj``; a name the workspace already uses is an error next to the name."""
    clash = type(obj).objects.filter(workspace=obj.workspace, name=obj.name).exclude(pk=obj.pk)
    if clash.exists():
        form.add_error("name", f"This workspace already has one named {obj.name!r}.")
        return None
    obj.save()
    return message
