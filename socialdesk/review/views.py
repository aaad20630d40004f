"""Review pages: the comments panel, a post's versions with a word diff, the review links
page, and the client's page behind a review link.

Thin function views: authorize (``web.helpers.enter`` for members, ``links.open_link`` for a
client), parse with a form, call ``review.services``, render. Every action is a plain form
post; the comments panel also answers htmx requests with only itself.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from socialdesk.content.models import Post
from socialdesk.web.helpers import apply_errors, enter, is_partial, local_path
from socialdesk.workspaces.access import get_in_workspace
from socialdesk.workspaces.models import Membership

from . import services, showing
from .diff import summary, word_diff
from .forms import ClientCommentForm, ClientDecisionForm, CommentForm, ReviewLinkForm
from .links import open_link, token_for
from .models import Comment, ReviewLink

# --- Comments panel -----------------------------------------------------------------------


def comments_context(
    request: HttpRequest, membership: Membership, post: Post, form: CommentForm | None = None
) -> dict[str, Any]:
    """What ``review/_comments.html`` needs; the composer's page gets it from the
    ``review_comments`` template tag."""
    internal = services.sees_internal(membership)
    comments = services.visible_comments(post, internal=internal).prefetch_related("mentions")
    latest = post.latest_version
    return {
        "post": post,
        "threads": services.threads(comments),
        "latest_version": latest,
        "comment_form": form or CommentForm(initial={"internal": internal}),
        "sees_internal": internal,
        "can_comment": membership.can("comments.create"),
        "can_resolve": membership.can("comments.resolve"),
        "panel_url": reverse(
            "post_comments", kwargs={"slug": post.workspace.slug, "post_id": post.pk}
        ),
        "return_to": request.get_full_path() if not is_partial(request) else "",
    }


def _safe_next(request: HttpRequest, fallback: str) -> str:
    return local_path(request, request.POST.get("next")) or fallback


@login_required
@require_http_methods(["GET", "POST"])
def post_comments(request: HttpRequest, slug: str, post_id: int) -> HttpResponse:
    """GET: the panel alone. POST: add a comment (or reply), then the panel (htmx) or the
    page the form came from."""
    permission = "comments.create" if request.method == "POST" else "comments.view"
    membership = enter(request, slug, permission)
    post = get_in_workspace(Post, membership.workspace, pk=post_id)
    form = None
    status = 200
    if request.method == "POST":
        form = CommentForm(request.POST)
        if form.is_valid():
            try:
                services.add_comment(
                    post,
                    form.cleaned_data["body"],
                    author=request.user,  # type: ignore[arg-type]
                    membership=membership,
                    parent_id=form.cleaned_data["parent_id"],
                    internal=form.cleaned_data["internal"],
                    request=request,
                )
            except ValidationError as exc:
                apply_errors(form, exc, {})
            else:
                form = None
                if not is_partial(request):
                    messages.success(request, "Comment added.")
                    return redirect(_safe_next(request, services.post_url(post, "comments")))
        if form is not None:
            status = 400
            if not is_partial(request):
                problems = [str(e) for errors in form.errors.values() for e in errors]
                messages.error(request, " ".join(problems))
                return redirect(_safe_next(request, services.post_url(post, "comments")))
    context = comments_context(request, membership, post, form)
    return render(request, "review/_comments.html", context, status=status)


@login_required
@require_POST
def comment_resolve(request: HttpRequest, slug: str, comment_id: int) -> HttpResponse:
    membership = enter(request, slug, "comments.resolve")
    comment = get_in_workspace(Comment, membership.workspace, pk=comment_id)
    resolved = request.POST.get("resolved", "1") != "0"
    services.set_resolved(comment, request.user, resolved)  # type: ignore[arg-type]
    post = comment.post
    if is_partial(request):
        return render(request, "review/_comments.html", comments_context(request, membership, post))
    messages.success(request, "Thread resolved." if resolved else "Thread reopened.")
    return redirect(_safe_next(request, services.post_url(post, "comments")))


# --- Versions -----------------------------------------------------------------------------


def _version_number(raw: str | None, numbers: list[int], default: int) -> int:
    try:
        number = int(raw or "")
    except ValueError:
        return default
    return number if number in numbers else default


@login_required
def post_versions(request: HttpRequest, slug: str, post_id: int) -> HttpResponse:
    """A post's versions, a word diff between any two (``?from=1&to=3``), and its comments."""
    membership = enter(request, slug, "posts.view")
    post = get_in_workspace(Post, membership.workspace, pk=post_id)
    versions = list(post.versions.select_related("created_by").order_by("number"))
    numbers = [v.number for v in versions]
    context: dict[str, Any] = {
        "post": post,
        "versions": list(reversed(versions)),
        "revisions": max(len(versions) - 1, 0),
        "can_edit": membership.can("posts.edit"),
    }
    if versions:
        newest = numbers[-1]
        to_number = _version_number(request.GET.get("to"), numbers, newest)
        from_default = (
            numbers[numbers.index(to_number) - 1] if to_number != numbers[0] else to_number
        )
        from_number = _version_number(request.GET.get("from"), numbers, from_default)
        by_number = {v.number: v for v in versions}
        old, new = by_number[from_number], by_number[to_number]
        pieces = word_diff(old.text, new.text)
        context.update(old=old, new=new, pieces=pieces, counts=summary(pieces), numbers=numbers)
    context.update(comments_context(request, membership, post))
    return render(request, "review/post_versions.html", context)


# --- Review links (team side) -------------------------------------------------------------


def link_url(request: HttpRequest, link: ReviewLink) -> str:
    return request.build_absolute_uri(reverse("review_client", kwargs={"token": token_for(link)}))


@login_required
@require_http_methods(["GET", "POST"])
def review_links(request: HttpRequest, slug: str) -> HttpResponse:
    permission = "review_links.manage" if request.method == "POST" else "review_links.view"
    membership = enter(request, slug, permission)
    workspace = membership.workspace
    form = ReviewLinkForm(request.POST or None, workspace=workspace)
    if request.method == "POST" and form.is_valid():
        try:
            link = services.create_link(
                workspace,
                request.user,  # type: ignore[arg-type]
                form.cleaned_data["name"],
                expires_at=form.expires_at(),
                post_ids=[p.pk for p in form.cleaned_data["posts"]],
                starts_on=form.cleaned_data["starts_on"],
                ends_on=form.cleaned_data["ends_on"],
                request=request,
            )
        except ValidationError as exc:
            apply_errors(form, exc, {"post_ids": "posts", "expires_at": "expires_on"})
        else:
            messages.success(request, f"Review link “{link.name}” created; copy it below.")
            return redirect(reverse("review_links", kwargs={"slug": slug}) + f"#link-{link.pk}")
    links = ReviewLink.objects.filter(workspace=workspace).prefetch_related("posts")
    rows = [
        {"link": link, "url": link_url(request, link) if link.status == "open" else ""}
        for link in links.select_related("created_by")[:100]
    ]
    context = {"form": form, "rows": rows, "can_manage": membership.can("review_links.manage")}
    return render(request, "review/links.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def review_link_revoke(request: HttpRequest, slug: str, link_id: int) -> HttpResponse:
    membership = enter(request, slug, "review_links.manage")
    link = get_in_workspace(ReviewLink, membership.workspace, pk=link_id)
    services.revoke_link(link, request.user, request=request)  # type: ignore[arg-type]
    messages.success(request, f"Review link “{link.name}” revoked; it no longer opens.")
    return redirect("review_links", slug=slug)


# --- The client's page --------------------------------------------------------------------


def _private(response: HttpResponse) -> HttpResponse:
    # The token is in the URL: keep it out of other sites' Referer headers, caches and search
    # engines. ("no-referrer" would also blank the Origin of the page's own form posts, which
    # the CSRF check then refuses.)
    response["Referrer-Policy"] = "same-origin"
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _stage_name(post: Post) -> str:
    workflow = getattr(post, "workflow", None)
    stage = getattr(workflow, "stage", None)
    return str(getattr(stage, "name", "") or "")


def _client_page(
    request: HttpRequest,
    link: ReviewLink,
    token: str,
    forms_for: dict[int, dict[str, Any]] | None = None,
    status: int = 200,
) -> HttpResponse:
    posts = list(showing.for_review(services.link_posts(link)))
    items = []
    for post in posts:
        bound = (forms_for or {}).get(post.pk, {})
        comments = services.visible_comments(post, internal=False)
        review = showing.review_of(post, link=link)
        version = review.version
        items.append(
            {
                "post": post,
                "version": version,
                "review": review,
                "decided": services.link_decision(link, post, version),
                "stage": _stage_name(post),
                "threads": services.threads(comments),
                "decision_form": bound.get("decision") or ClientDecisionForm(),
                "comment_form": bound.get("comment") or ClientCommentForm(),
                "error": bound.get("error", ""),
            }
        )
    context = {"link": link, "token": token, "items": items, "workspace": link.workspace}
    response = render(request, "review/client.html", context, status=status)
    if request.method == "GET":
        for item in items:
            showing.mark_seen(item["post"], item["version"], link=link)
    return _private(response)


@require_http_methods(["GET", "HEAD"])
def review_client(request: HttpRequest, token: str) -> HttpResponse:
    link = open_link(token)
    return _client_page(request, link, token)


@require_POST
def review_client_decide(request: HttpRequest, token: str, post_id: int) -> HttpResponse:
    link = open_link(token)
    post = services.post_on_link(link, post_id)
    form = ClientDecisionForm(request.POST)
    if form.is_valid():
        try:
            services.client_decide(
                link,
                post,
                form.cleaned_data["decision"],
                form.cleaned_data["comment"],
                request=request,
            )
        except (ValidationError, PermissionDenied) as exc:
            if isinstance(exc, ValidationError):
                apply_errors(form, exc, {})
            else:
                form.add_error(None, str(exc))
        else:
            done = "approved" if form.cleaned_data["decision"] == "approve" else "sent back"
            messages.success(request, f"Thank you: “{post}” is {done}.")
            url = reverse("review_client", kwargs={"token": token}) + f"#post-{post.pk}"
            return _private(redirect(url))
    return _client_page(request, link, token, {post.pk: {"decision": form}}, status=400)


@require_POST
def review_client_comment(request: HttpRequest, token: str, post_id: int) -> HttpResponse:
    link = open_link(token)
    post = services.post_on_link(link, post_id)
    form = ClientCommentForm(request.POST)
    if form.is_valid():
        try:
            services.add_comment(
                post,
                form.cleaned_data["body"],
                link=link,
                parent_id=form.cleaned_data["parent_id"],
                request=request,
            )
        except ValidationError as exc:
            apply_errors(form, exc, {})
        else:
            messages.success(request, "Thank you: your comment was sent to the team.")
            url = reverse("review_client", kwargs={"token": token}) + f"#post-{post.pk}"
            return _private(redirect(url))
    return _client_page(request, link, token, {post.pk: {"comment": form}}, status=400)
