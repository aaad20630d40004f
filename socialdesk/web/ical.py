"""The iCalendar feed: a secret, revocable address per person and workspace that Google
Calendar, Apple Calendar or any calendar app subscribes to (issue 5, item 8).

``/ical/<token>.ics`` needs no login: the token is the credential (see
``workspaces.models.CalendarFeed`` for why it is derived rather than shown only once). An
unknown or revoked token, or a person who has since left the workspace or lost
``posts.view``, gets 404. The feed lists deliveries (scheduled, on their way, published) from
``PAST`` ago to ``AHEAD`` ahead, in UTC, each linking to its post; with the feed's
``include_deadlines``, also the open workflow steps' deadlines (``_deadline_events``).
"""

from __future__ import annotations

from datetime import timedelta

from django.apps import apps
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from icalendar import Calendar, Event

from socialdesk.publishing.models import Delivery, DeliveryState
from socialdesk.web.helpers import enter
from socialdesk.workspaces.models import CalendarFeed, Membership, User, Workspace
from socialdesk.workspaces.roles import role_can

PAST = timedelta(days=90)
AHEAD = timedelta(days=400)
MAX_EVENTS = 5000
EVENT_LENGTH = timedelta(minutes=15)
# A feed's last_used_at is written at most this often (calendar apps poll every few minutes).
LAST_USED_RESOLUTION = timedelta(hours=1)
SHOWN_STATES = [
    DeliveryState.SCHEDULED,
    DeliveryState.AWAITING_APPROVAL,
    DeliveryState.PUBLISHING,
    DeliveryState.WAITING_RETRY,
    DeliveryState.UNKNOWN,
    DeliveryState.PUBLISHED,
]


# --- Services -----------------------------------------------------------------------------


def create_feed(workspace: Workspace, user: User, include_deadlines: bool = False) -> CalendarFeed:
    """Give ``user`` a new address for ``workspace``; any previous one stops working."""
    with transaction.atomic():
        CalendarFeed.objects.filter(workspace=workspace, user=user).delete()
        return CalendarFeed.objects.create(
            workspace=workspace, user=user, include_deadlines=include_deadlines
        )


def revoke_feed(workspace: Workspace, user: User) -> bool:
    """Stop ``user``'s address for ``workspace``; True when there was one."""
    deleted, _ = CalendarFeed.objects.filter(workspace=workspace, user=user).delete()
    return bool(deleted)


def feed_for_token(raw: str) -> CalendarFeed:
    """The live feed for ``raw``, or Http404 (unknown, revoked, or the person may no longer
    read the workspace's posts)."""
    if not raw or len(raw) > 100:
        raise Http404("No such calendar.")
    feed = (
        CalendarFeed.objects.select_related("workspace", "user")
        .filter(token_hash=CalendarFeed.hash(raw))
        .first()
    )
    if feed is None or not feed.user.is_active or feed.token != raw:
        raise Http404("No such calendar.")
    membership = Membership.objects.filter(workspace=feed.workspace, user=feed.user).first()
    if membership is None or not role_can(membership.role, "posts.view"):
        raise Http404("No such calendar.")
    return feed


def _summary(text: str, limit: int = 60) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _deadline_events(feed: CalendarFeed, post_url) -> list[Event]:  # noqa: ANN001
    """Open workflow steps with a deadline, as all-day-free timed events at the deadline.

    The hook into the workflow app (``workflow.services.open_steps``); nothing when the app
    is not installed or has no such function.
    """
    if not apps.is_installed("socialdesk.workflow"):
        return []
    try:
        from socialdesk.workflow.services import open_steps
    except ImportError:
        return []
    events = []
    for visit in open_steps(feed.workspace)[:MAX_EVENTS]:
        if visit.due_at is None:
            continue
        event = Event()
        event.add("uid", f"socialdesk-step-{visit.pk}@{feed.workspace.slug}")
        event.add("dtstamp", visit.entered_at)
        event.add("dtstart", visit.due_at)
        event.add("dtend", visit.due_at + EVENT_LENGTH)
        event.add("summary", f"Due: {visit.stage} — {_summary(str(visit.post), 50)}")
        event.add("url", post_url(visit.post_id))
        event.add("categories", ["Deadline"])
        events.append(event)
    return events


def build_calendar(feed: CalendarFeed, post_url, now=None) -> bytes:  # noqa: ANN001
    """The feed's iCalendar document. ``post_url(post_id)`` makes each event's link."""
    now = now or timezone.now()
    workspace = feed.workspace
    calendar = Calendar()
    calendar.add("prodid", "-//Socialdesk//Calendar feed//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", f"{workspace.name} — Socialdesk")
    calendar.add("x-wr-timezone", workspace.time_zone)
    calendar.add("refresh-interval", timedelta(minutes=30), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT30M")
    deliveries = (
        Delivery.objects.filter(
            workspace=workspace,
            state__in=SHOWN_STATES,
            scheduled_at__gte=now - PAST,
            scheduled_at__lt=now + AHEAD,
        )
        .select_related("channel", "post")
        .order_by("scheduled_at", "id")[:MAX_EVENTS]
    )
    for delivery in deliveries:
        start = delivery.published_at or delivery.scheduled_at
        assert start is not None
        event = Event()
        event.add("uid", f"socialdesk-delivery-{delivery.pk}@{workspace.slug}")
        event.add("dtstamp", delivery.updated_at)
        event.add("dtstart", start)
        event.add("dtend", start + EVENT_LENGTH)
        event.add("summary", f"{delivery.channel}: {_summary(delivery.text)}")
        state = delivery.get_state_display()
        link = post_url(delivery.post_id)
        description = f"{state} on {delivery.channel}.\n\n{delivery.text}\n\n{link}"
        if delivery.remote_url:
            description += f"\nLive: {delivery.remote_url}"
        event.add("description", description)
        event.add("url", link)
        event.add("categories", [delivery.channel.get_network_display()])
        event.add("status", "CONFIRMED")
        calendar.add_component(event)
    if feed.include_deadlines:
        for event in _deadline_events(feed, post_url):
            calendar.add_component(event)
    return calendar.to_ical()


# --- Views --------------------------------------------------------------------------------


@require_GET
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """The feed itself, for calendar apps: no session, the token is the key."""
    feed = feed_for_token(token)
    now = timezone.now()
    if feed.last_used_at is None or now - feed.last_used_at >= LAST_USED_RESOLUTION:
        CalendarFeed.objects.filter(pk=feed.pk).update(last_used_at=now)
    slug = feed.workspace.slug

    def post_url(post_id: int) -> str:
        return request.build_absolute_uri(reverse("post_edit", args=[slug, post_id]))

    response = HttpResponse(build_calendar(feed, post_url, now), content_type="text/calendar")
    response["Content-Type"] = "text/calendar; charset=utf-8"
    response["Content-Disposition"] = f'inline; filename="{slug}.ics"'
    response["Cache-Control"] = "private, max-age=300"
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = "no-referrer"
    return response


def feed_address(request: HttpRequest, feed: CalendarFeed) -> str:
    return request.build_absolute_uri(reverse("ical_feed", args=[feed.token]))


@login_required
@require_http_methods(["GET", "POST"])
def calendar_settings(request: HttpRequest, slug: str) -> HttpResponse:
    """Create (or replace) one's address, choose deadlines, copy it, revoke it."""
    membership = enter(request, slug, "posts.view")
    workspace = membership.workspace
    user: User = request.user  # type: ignore[assignment]
    feed = CalendarFeed.objects.filter(workspace=workspace, user=user).first()
    if request.method == "POST":
        deadlines = request.POST.get("include_deadlines") == "on"
        if request.POST.get("action") == "update" and feed is not None:
            feed.include_deadlines = deadlines
            feed.save(update_fields=["include_deadlines"])
            messages.success(
                request, "Saved. Your calendar app shows the change at its next refresh."
            )
        else:
            replaced = feed is not None
            create_feed(workspace, user, deadlines)
            messages.success(
                request,
                "A new address was made; the old one no longer works."
                if replaced
                else "Your calendar address is ready: copy it into your calendar app.",
            )
        return redirect("ical_settings", slug=slug)
    context = {
        "feed": feed,
        "address": feed_address(request, feed) if feed else "",
        "tab": "ical",
        "deadlines_available": apps.is_installed("socialdesk.workflow"),
    }
    response = render(request, "web/calendar_feed.html", context)
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def calendar_revoke(request: HttpRequest, slug: str) -> HttpResponse:
    membership = enter(request, slug, "posts.view")
    if revoke_feed(membership.workspace, request.user):  # type: ignore[arg-type]
        messages.success(
            request, "The calendar address was revoked; calendar apps get nothing from it now."
        )
    return redirect("ical_settings", slug=slug)
