"""Media library pages: the grid with search and upload, one asset's details, deleting.

Thin function views over ``content.media``. Every action works as a plain form post; with
JavaScript the upload sends one file per request (so each has its own progress bar and its
own error, answered as JSON), and htmx swaps the grid and the cards.
"""

from __future__ import annotations

from typing import cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from socialdesk.web.helpers import apply_errors, enter, is_partial, render_page
from socialdesk.workspaces.access import get_in_workspace
from socialdesk.workspaces.models import Membership, User

from . import compat, media
from .media_forms import AltTextForm, MediaDetailsForm, MediaFilterForm
from .models import MediaAsset, MediaFolder

PAGE_SIZE = 24


def _wants_json(request: HttpRequest) -> bool:
    return request.headers.get("X-Requested-With") == "XMLHttpRequest"


def _with_badges(assets: list[MediaAsset], networks: list[str]) -> list[MediaAsset]:
    for asset in assets:
        asset.badges = compat.badges(asset, networks)  # type: ignore[attr-defined]
    return assets


def _card_context(membership: Membership) -> dict:
    return {
        "can_upload": membership.can("media.upload"),
        "can_delete": membership.can("media.delete"),
    }


@login_required
def media_library(request: HttpRequest, slug: str) -> HttpResponse:
    """The workspace's media, newest first, filtered by the search form."""
    membership = enter(request, slug, "media.view")
    workspace = membership.workspace
    filters = MediaFilterForm(request.GET or None, workspace=workspace)
    assets = media.search_media(workspace, **filters.filters()).annotate(
        used_in=Count("posts", distinct=True)
    )
    page = Paginator(assets, PAGE_SIZE).get_page(request.GET.get("page"))
    _with_badges(list(page.object_list), compat.workspace_networks(workspace))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "filters": filters,
        "page": page,
        "query": query.urlencode(),
        "ffprobe_missing": media.ffprobe_path() is None,
        "accepted": media.ACCEPTED,
        "max_bytes": settings.MEDIA_MAX_BYTES,
        **_card_context(membership),
    }
    return render_page(
        request, "content/media_library.html", context, partial="content/_media_results.html"
    )


@login_required
@require_POST
def media_upload(request: HttpRequest, slug: str) -> HttpResponse:
    """Upload one or several files. A script (``X-Requested-With``) sends one file per request
    and gets JSON back: 201 with the file's id, or 422 with what to fix. A plain form post
    uploads every file it holds, says which ones failed and why, and goes back to the grid."""
    membership = enter(request, slug, "media.upload")
    user = cast(User, request.user)  # signed in: login_required
    files = request.FILES.getlist("files") + request.FILES.getlist("file")
    folder = request.POST.get("folder", "")
    tags = [request.POST.get("tags", "")]
    if _wants_json(request):
        if len(files) != 1:
            return JsonResponse({"errors": ["Send one file per request."]}, status=400)
        try:
            asset = media.upload_media(
                membership.workspace, user, files[0], folder=folder, tags=tags
            )
        except ValidationError as exc:
            return JsonResponse({"name": files[0].name, "errors": exc.messages}, status=422)
        return JsonResponse({"id": asset.pk, "name": asset.original_name}, status=201)
    if not files:
        messages.error(request, "Choose one or more files to upload.")
    for file in files:
        try:
            media.upload_media(membership.workspace, user, file, folder=folder, tags=tags)
        except ValidationError as exc:
            messages.error(request, f"{file.name} was not uploaded: {' '.join(exc.messages)}")
        else:
            messages.success(request, f"{file.name} was uploaded.")
    return redirect("media_library", slug=slug)


@login_required
@require_http_methods(["GET", "POST"])
def media_detail(request: HttpRequest, slug: str, media_id: int) -> HttpResponse:
    """One asset: preview, facts, network badges with their reasons, where it is used, and
    the form that changes its alt text, folder and tags."""
    membership = enter(request, slug, "media.view")
    workspace = membership.workspace
    asset = get_in_workspace(MediaAsset, workspace, pk=media_id)
    can_upload = membership.can("media.upload")
    initial = {
        "alt_text": asset.alt_text,
        "folder": asset.folder.name if asset.folder else "",
        "tags": ", ".join(tag.name for tag in asset.tags.all()),
    }
    form = MediaDetailsForm(request.POST or None, initial=initial)
    if request.method == "POST":
        enter(request, slug, "media.upload")
        if form.is_valid():
            try:
                media.update_media(
                    asset,
                    alt_text=form.cleaned_data["alt_text"],
                    folder=form.cleaned_data["folder"],
                    tags=[form.cleaned_data["tags"]],
                )
            except ValidationError as exc:
                apply_errors(form, exc, {})
            else:
                messages.success(request, "The media's details were saved.")
                return redirect("media_detail", slug=slug, media_id=asset.pk)
    context = {
        "asset": asset,
        "form": form,
        "usage": media.media_usage(asset),
        "badges": compat.badges(asset, compat.workspace_networks(workspace)),
        "folders": MediaFolder.objects.filter(workspace=workspace),
        "ffprobe_missing": media.ffprobe_path() is None,
        "missing_note": media.FFPROBE_MISSING,
        "can_upload": can_upload,
        "can_delete": membership.can("media.delete"),
    }
    return render(request, "content/media_detail.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def media_alt_text(request: HttpRequest, slug: str, media_id: int) -> HttpResponse:
    """Save the alt text typed on a card; htmx gets the card back, a plain post the grid."""
    membership = enter(request, slug, "media.upload")
    workspace = membership.workspace
    asset = get_in_workspace(MediaAsset, workspace, pk=media_id)
    form = AltTextForm(request.POST)
    error = ""
    if form.is_valid():
        media.update_alt_text(asset, form.cleaned_data["alt_text"])
    else:
        error = " ".join(str(message) for message in form.errors.get("alt_text", []))
    if not is_partial(request):
        if error:
            messages.error(request, f"The alt text was not saved: {error}")
        else:
            messages.success(request, f"The alt text of {asset} was saved.")
        return redirect(reverse("media_library", args=[slug]) + f"#media-{asset.pk}")
    asset = (
        MediaAsset.objects.filter(pk=asset.pk)
        .select_related("folder")
        .prefetch_related("tags")
        .annotate(used_in=Count("posts", distinct=True))
        .get()
    )
    _with_badges([asset], compat.workspace_networks(workspace))
    context = {
        "asset": asset,
        "saved": not error,
        "alt_error": error,
        **_card_context(membership),
    }
    html = render_to_string("content/_media_card.html", context, request=request)
    return HttpResponse(html, status=422 if error else 200)


@login_required
@require_http_methods(["GET", "POST"])
def media_delete(request: HttpRequest, slug: str, media_id: int) -> HttpResponse:
    """Ask first (GET: where it is used, and whether it can go), delete on POST."""
    membership = enter(request, slug, "media.delete")
    asset = get_in_workspace(MediaAsset, membership.workspace, pk=media_id)
    if request.method == "POST":
        try:
            media.delete_media(asset)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("media_delete", slug=slug, media_id=asset.pk)
        messages.success(request, f"{asset} was deleted.")
        return redirect("media_library", slug=slug)
    usage = media.media_usage(asset)
    return render(request, "content/media_delete.html", {"asset": asset, "usage": usage})
