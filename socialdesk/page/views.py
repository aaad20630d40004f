"""The public page, one entry's page, and the three feeds. No login, read only.

Every response carries an ETag and a Last-Modified computed from a cheap fingerprint of the
page (``services.page_version``) before anything is rendered, and a conditional request
whose copy is still current gets 304 without rendering (Django's ``condition``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_cache_control
from django.views.decorators.http import condition, require_http_methods, require_safe

from socialdesk.analytics.clicks import count_page_view
from socialdesk.workspaces.signin import client_address

from . import feeds
from .models import PageEntry
from .services import PageVersion, page_state, page_version, public_workspace

PER_PAGE = 10
# Short: a page that changes at the minute a post is due should show it soon; the ETag makes
# the revalidation cheap.
MAX_AGE = 60

FEED_TYPES = {
    "atom": ("application/atom+xml; charset=utf-8", feeds.atom),
    "rss": ("application/rss+xml; charset=utf-8", feeds.rss),
    "json": ("application/feed+json; charset=utf-8", feeds.json_feed),
}


def _version(request: HttpRequest, slug: str, **kwargs: Any) -> PageVersion:
    """Computed once per request, for both validators and the view."""
    cached = getattr(request, "_page_version", None)
    if cached is None:
        workspace = public_workspace(slug)
        extra = (request.resolver_match.url_name if request.resolver_match else "", kwargs)
        cached = (workspace, page_version(workspace, *extra, sorted(request.GET.items())))
        request._page_version = cached  # type: ignore[attr-defined]
    return cached[1]


def _conditional(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapped(request: HttpRequest, slug: str, **kwargs: Any) -> HttpResponse:
        response = condition(
            etag_func=lambda r, slug, **kw: f'"{_version(r, slug, **kw).etag_seed}"',
            last_modified_func=lambda r, slug, **kw: _version(r, slug, **kw).last_modified,
        )(view)(request, slug, **kwargs)
        patch_cache_control(response, public=True, max_age=MAX_AGE)
        # On every answer, a 304 too: a browser replaces its copy's headers with a 304's, and
        # the page's accent <style> must stay allowed.
        style = _version(request, slug, **kwargs).profile.accent_style_source
        response._csp_update = {"style-src": [style]}  # type: ignore[attr-defined]
        return response

    return require_safe(wrapped)


def _counted(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Count a view of the page or of an entry as a click is counted (issue 14): a person's
    GET, answered with the page or with "your copy is current" (304)."""

    @wraps(view)
    def wrapped(request: HttpRequest, slug: str, **kwargs: Any) -> HttpResponse:
        response = view(request, slug, **kwargs)
        version = getattr(request, "_page_version", None)
        if response.status_code in (200, 304) and version is not None:
            count_page_view(request, version[0].pk, request.path)
        return response

    return wrapped


def _tag(request: HttpRequest) -> str:
    return request.GET.get("tag", "").strip().lstrip("#").lower()[:100]


@_counted
@_conditional
def page(request: HttpRequest, slug: str) -> HttpResponse:
    workspace, version = request._page_version  # type: ignore[attr-defined]
    tag = _tag(request)
    visible = PageEntry.objects.visible(workspace)
    if tag:
        visible = visible.tagged(tag)
    paginator = Paginator(visible, PER_PAGE)
    page_obj = paginator.get_page(request.GET.get("page"))
    state = page_state(workspace, version, entries=list(page_obj.object_list), tag=tag)
    return render(
        request,
        "page/page.html",
        {"state": state, "page_obj": page_obj, "tag": tag, "entry": None},
    )


@_conditional
def page_posts(request: HttpRequest, slug: str) -> HttpResponse:
    """The first page's list of posts alone, for the page's refresh while someone watches:
    a constant number of queries (the fingerprint, then one page of entries), and a 304
    when nothing changed since the ETag the page holds."""
    workspace, version = request._page_version  # type: ignore[attr-defined]
    tag = _tag(request)
    visible = PageEntry.objects.visible(workspace)
    if tag:
        visible = visible.tagged(tag)
    state = page_state(workspace, version, entries=list(visible[:PER_PAGE]), tag=tag)
    response = render(request, "page/_entries.html", {"state": state, "tag": tag})
    response["X-Robots-Tag"] = "noindex"
    return response


@_counted
@_conditional
def entry(request: HttpRequest, slug: str, entry_id: int) -> HttpResponse:
    workspace, version = request._page_version  # type: ignore[attr-defined]
    found = PageEntry.objects.visible(workspace).filter(pk=entry_id).first()
    if found is None:
        raise Http404("No such post on this page.")
    state = page_state(workspace, version, entries=[found])
    return render(request, "page/entry.html", {"state": state, "entry": found})


@_conditional
def feed(request: HttpRequest, slug: str, kind: str) -> HttpResponse:
    if kind not in FEED_TYPES:
        raise Http404("Feeds: feed.atom, feed.rss, feed.json.")
    workspace, version = request._page_version  # type: ignore[attr-defined]
    content_type, write = FEED_TYPES[kind]
    return HttpResponse(write(page_state(workspace, version)), content_type=content_type)


# --- "Ask us": a visitor's question to the inbox (``page.ask``) -----------------------------


def _ask_page(
    request: HttpRequest, slug: str, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    workspace = public_workspace(slug)
    version = page_version(workspace, "ask")
    state = page_state(workspace, version, entries=[])
    response = render(request, template, {"state": state, **context}, status=status)
    # Never cached: the form's token is fresh on every showing.
    patch_cache_control(response, no_store=True, private=True)
    response._csp_update = {  # type: ignore[attr-defined]
        "style-src": [version.profile.accent_style_source]
    }
    return response


@require_http_methods(["GET", "HEAD", "POST"])
def ask(request: HttpRequest, slug: str) -> HttpResponse:
    """The "Ask us" form (GET) and its sending (POST); see ``page.ask`` for the protection."""
    from . import ask as asking

    workspace = public_workspace(slug)
    if request.method != "POST":
        form = asking.AskForm(initial={"token": asking.make_token(workspace)})
        return _ask_page(request, slug, "page/ask.html", {"form": form})
    form = asking.AskForm(request.POST)
    problem = ""
    if form.is_valid():
        if form.cleaned_data["website"]:
            # The honeypot: a bot gets the thank-you page and nothing is stored.
            return redirect("public_page_ask_thanks", slug=slug)
        problem = asking.token_problem(workspace, form.cleaned_data["token"])
        if not problem:
            address = client_address(request)
            limited = asking.rate_limited(workspace, address)
            if limited is not None:
                response = _ask_page(
                    request,
                    slug,
                    "page/ask.html",
                    {"form": form, "problem": limited.message},
                    status=429,
                )
                response["Retry-After"] = str(limited.retry_after)
                return response
            asking.receive_question(
                workspace,
                name=form.cleaned_data["name"],
                email=form.cleaned_data["email"],
                question=form.cleaned_data["question"],
                may_publish=form.cleaned_data["may_publish"],
                address=address,
            )
            return redirect("public_page_ask_thanks", slug=slug)
    # Shown again with what the person wrote, a fresh token and what to fix.
    data = request.POST.copy()
    data["token"] = asking.make_token(workspace)
    if not problem and "token" in form.errors:  # a hidden field: say it in words
        problem = "This form could not be checked. Please send your question again."
    form = asking.AskForm(data)
    form.is_valid()  # its errors, shown beside the fields
    return _ask_page(request, slug, "page/ask.html", {"form": form, "problem": problem}, 400)


@require_safe
def ask_thanks(request: HttpRequest, slug: str) -> HttpResponse:
    return _ask_page(request, slug, "page/ask_thanks.html", {})
