"""The crisis page (issue 15, item 6): turn the switch on or off, each with a confirmation,
and decide about the posts that came due while it was on.

Everything works as plain form posts (no JavaScript): turning the switch on or off asks
"are you sure" on a page of its own first. The rules are ``publishing.crisis``'s; the
banner on every workspace page is the layout's (``web/base.html``, ``current_crisis``).
An alert links here by the URL name ``crisis``; it never flips the switch itself.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path
from django.views.decorators.http import require_http_methods, require_POST

from socialdesk.ids import parse_id
from socialdesk.publishing import crisis
from socialdesk.publishing.models import CrisisPause
from socialdesk.workspaces.models import Membership

from .helpers import enter, render_page

ACTIONS = ("resume", "reschedule", "cancel")
HISTORY = 10


def _local_time(value: str | None) -> datetime | None:
    """A ``datetime-local`` field's value (a wall-clock time, read in the workspace's zone by
    the publishing services); None when it spells no date and time."""
    try:
        parsed = datetime.fromisoformat((value or "").strip())
    except ValueError:
        return None
    return parsed.replace(microsecond=0)


def _errors(error: ValidationError) -> list[str]:
    if hasattr(error, "error_dict"):
        return [text for texts in error.message_dict.values() for text in texts]
    return list(error.messages)


def _page(
    request: HttpRequest, membership: Membership, status: int = 200, **extra: Any
) -> HttpResponse:
    workspace = membership.workspace
    pause = crisis.holding(workspace)
    held = list(crisis.held_deliveries(pause)) if pause is not None else []
    history = CrisisPause.objects.filter(workspace=workspace).select_related(
        "started_by", "ended_by"
    )[:HISTORY]
    context = {
        "pause": pause,
        "held": held,
        "history": history,
        "can_manage": membership.can("crisis.manage"),
        "zone": workspace.zone,
        **extra,
    }
    return render_page(request, "web/crisis.html", context, status=status)


@login_required
def crisis_page(request: HttpRequest, slug: str) -> HttpResponse:
    """Whether the switch is on, by whom and why; what it holds; the last pauses."""
    membership = enter(request, slug, "crisis.view")
    return _page(request, membership)


@login_required
@require_http_methods(["GET", "POST"])
def crisis_start(request: HttpRequest, slug: str) -> HttpResponse:
    """Turn the switch on: the reason first, then a confirmation, then on."""
    membership = enter(request, slug, "crisis.manage")
    workspace = membership.workspace
    reason = request.POST.get("reason", "").strip() if request.method == "POST" else ""
    confirmed = request.POST.get("confirm") == "yes"
    if request.method == "POST" and reason and confirmed:
        try:
            crisis.start(workspace, request.user, reason)  # type: ignore[arg-type]
        except ValidationError as error:
            errors = _errors(error)
            return _page(request, membership, status=400, start_errors=errors, reason=reason)
        messages.success(request, "The crisis switch is on: no scheduled post goes out.")
        return redirect("crisis", slug)
    if request.method == "POST" and not reason:
        errors = ["Say why: the team sees it on every page."]
        return _page(request, membership, status=400, start_errors=errors, reason=reason)
    if request.method == "GET" or not reason:
        return redirect("crisis", slug)
    if crisis.current(workspace) is not None:
        return _page(
            request, membership, status=400, start_errors=["The crisis switch is already on."]
        )
    upcoming = crisis.upcoming(workspace)
    return render_page(
        request,
        "web/crisis_confirm.html",
        {"turning": "on", "reason": reason, "upcoming": upcoming, "zone": workspace.zone},
    )


@login_required
@require_POST
def crisis_end(request: HttpRequest, slug: str) -> HttpResponse:
    """Turn the switch off: a confirmation that lists what came due, then off."""
    membership = enter(request, slug, "crisis.manage")
    workspace = membership.workspace
    pause = crisis.current(workspace)
    if pause is None:
        return _page(request, membership, status=400, end_errors=["The crisis switch is off."])
    if request.POST.get("confirm") != "yes":
        return render_page(
            request,
            "web/crisis_confirm.html",
            {
                "turning": "off",
                "pause": pause,
                "held": list(crisis.held_deliveries(pause)),
                "zone": workspace.zone,
            },
        )
    try:
        crisis.end(workspace, request.user)  # type: ignore[arg-type]
    except ValidationError as error:
        return _page(request, membership, status=400, end_errors=_errors(error))
    messages.success(
        request, "The crisis switch is off. Decide below about the posts that came due."
    )
    return redirect("crisis", slug)


@login_required
@require_POST
def crisis_decide(request: HttpRequest, slug: str) -> HttpResponse:
    """Resume (send now), reschedule or cancel one held post (``delivery``) or all of them."""
    membership = enter(request, slug, "crisis.manage")
    workspace = membership.workspace
    action = request.POST.get("action", "")
    errors: list[str] = []
    if action not in ACTIONS:
        errors.append("Choose to send now, move or cancel.")
    ids: list[int] | None = None
    if request.POST.get("all") != "yes":
        delivery_id = parse_id(request.POST.get("delivery"))
        if delivery_id is None:
            errors.append("Choose a post, or all of them.")
        else:
            ids = [delivery_id]
    when = None
    if action == "reschedule" and not errors:
        when = _local_time(request.POST.get("when"))
        if when is None:
            errors.append("Give the new date and time, as 2026-11-21T09:30.")
    if not errors:
        try:
            if action == "resume":
                done = crisis.resume(workspace, request.user, ids)  # type: ignore[arg-type]
            elif action == "reschedule":
                assert when is not None
                done = crisis.reschedule(
                    workspace,
                    request.user,  # type: ignore[arg-type]
                    when,
                    workspace.time_zone,
                    ids,
                )
            else:
                done = crisis.cancel(workspace, request.user, ids)  # type: ignore[arg-type]
        except ValidationError as error:
            errors = _errors(error)
        else:
            verb = {"resume": "going out now", "reschedule": "moved", "cancel": "cancelled"}[action]
            count = len(done)
            messages.success(request, f"{count} post{'s' if count != 1 else ''} {verb}.")
            return redirect("crisis", slug)
    return _page(request, membership, status=400, decide_errors=errors)


urlpatterns = [
    path("", crisis_page, name="crisis"),
    path("on/", crisis_start, name="crisis_start"),
    path("off/", crisis_end, name="crisis_end"),
    path("held/", crisis_decide, name="crisis_decide"),
]
