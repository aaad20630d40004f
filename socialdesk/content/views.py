"""Post pages: the filtered list, the simple editor, and deleting with a confirmation.

Thin function views: authorize with ``web.helpers.enter``, parse with a form, call
``content.services``, render. Each works as a plain form post; the list also answers htmx
requests with only its results block.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import F, OuterRef, Prefetch, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from socialdesk.publishing.models import Delivery
from socialdesk.web.helpers import apply_errors, enter, render_page
from socialdesk.workspaces.access import get_in_workspace
from socialdesk.workspaces.models import User

from . import services
from .forms import SERVICE_FIELDS, PostFilterForm, PostForm
from .media import update_alt_text, upload_media
from .models import MediaAsset, Post

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
    workspace = membership.workspace
    form = PostForm(request.POST or None, request.FILES or None, workspace=workspace)
    if request.method == "POST" and form.is_valid():
        try:
            post = _save_with_media(form, request.user, None)  # type: ignore[arg-type]
        except ValidationError as exc:
            apply_errors(form, exc, SERVICE_FIELDS)  # type: ignore[arg-type]
        else:
            messages.success(request, _saved_message(post, "created"))
            return redirect("post_list", slug=workspace.slug)
    status = 400 if form.errors else 200
    return render(request, "content/post_form.html", {"form": form}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def post_edit(request: HttpRequest, slug: str, post_id: int) -> HttpResponse:
    membership = enter(request, slug, "posts.edit")
    workspace = membership.workspace
    post = get_in_workspace(Post, workspace, pk=post_id)
    form = PostForm(request.POST or None, request.FILES or None, workspace=workspace, post=post)
    if request.method == "POST" and form.is_valid():
        try:
            _save_with_media(form, request.user, post)  # type: ignore[arg-type]
        except ValidationError as exc:
            apply_errors(form, exc, SERVICE_FIELDS)  # type: ignore[arg-type]
        else:
            messages.success(request, _saved_message(post, "saved"))
            return redirect("post_list", slug=workspace.slug)
    deliveries = post.deliveries.select_related("channel").order_by("channel__network")
    context = {
        "form": form,
        "post": post,
        "deliveries": deliveries,
        "can_delete": membership.can("posts.delete"),
    }
    return render(request, "content/post_form.html", context, status=400 if form.errors else 200)


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
                return services.create_post(form.workspace, user, content)
            if media_ids != [a.pk for a in form.attached]:
                content.media_ids = media_ids
            return services.update_post(post, user, content)
    except Exception:
        for asset in uploaded:
            asset.file.delete(save=False)
        raise


def _saved_message(post: Post, verb: str) -> str:
    scheduled = post.deliveries.exclude(scheduled_at=None).exists()
    return f"Post {verb}" + (" and scheduled." if scheduled else " as a draft.")
