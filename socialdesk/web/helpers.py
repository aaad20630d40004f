"""Small pieces every workspace page shares: entering a workspace, htmx partials, zones.

Wall-clock times are turned into UTC by ``publishing.wallclock``, at every door.

``enter`` is how a page view authorizes: it calls ``access.enter_workspace`` (404 for a
non-member, 403 for a role without the permission; the membership read once per request)
and attaches the workspace and the membership to the request, where the layout's context
processor finds them.
"""

from __future__ import annotations

import zoneinfo
from functools import cache
from typing import Any

from django.core.exceptions import ValidationError
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme

from socialdesk.workspaces.access import enter_workspace
from socialdesk.workspaces.models import Membership


def enter(request: HttpRequest, slug: str, permission: str) -> Membership:
    """Authorize ``request.user`` for ``permission`` in workspace ``slug`` and remember both."""
    membership = enter_workspace(request, slug, permission)
    request.workspace = membership.workspace  # type: ignore[attr-defined]
    request.membership = membership  # type: ignore[attr-defined]
    return membership


def local_path(request: HttpRequest, target: str | None) -> str:
    """``target`` if it is a path on this site (``/w/crumb/posts/``), else "": what a ``next``
    field may send a person to. A URL elsewhere would be an open redirect, and a bare word
    would be read by ``redirect()`` as a view name (NoReverseMatch, a 500)."""
    if (
        target
        and target.startswith("/")
        and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()})
    ):
        return target
    return ""


def is_partial(request: HttpRequest) -> bool:
    """True for an htmx request that swaps part of the page (not a history restore)."""
    htmx = getattr(request, "htmx", None)
    return htmx is not None and bool(htmx) and not htmx.history_restore_request


def render_page(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    partial: str | None = None,
    status: int = 200,
) -> HttpResponse:
    """Render the whole page, or only ``partial`` (one block's template) for htmx requests.

    The response varies on ``HX-Request`` so a browser cache never serves a fragment as a page.
    """
    chosen = partial if partial and is_partial(request) else template
    response = render(request, chosen, context, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response


def apply_errors(form: Form, error: ValidationError, fields: dict[str, str]) -> None:
    """Show a service's ``ValidationError`` on the form, each message next to its field.

    ``fields`` maps the service's names (``channel_ids``) to form field names (``channels``);
    a name the form does not have becomes an error about the whole form.
    """
    messages = error.message_dict if hasattr(error, "error_dict") else {"__all__": error.messages}
    for name, texts in messages.items():
        target = fields.get(name, name)
        if target not in form.fields:
            target = None  # type: ignore[assignment]
        for text in texts:
            form.add_error(target, text)


@cache
def time_zone_choices() -> list[tuple[str, str]]:
    """Every IANA zone, sorted, with UTC first: the choices of a time zone select."""
    names = sorted(zoneinfo.available_timezones() - {"UTC"})
    return [("UTC", "UTC"), *[(name, name.replace("_", " ")) for name in names]]
