"""Pages: the best times of each channel, and one channel's heatmap (issue 14 item 5).

Read with ``analytics.view``. The heatmap is a plain table (weekday rows, hour columns) whose
cells carry their numbers as text, so it reads without colour and with a screen reader.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from socialdesk.ids import parse_id
from socialdesk.networks.models import Channel
from socialdesk.web.helpers import enter
from socialdesk.workspaces.access import get_in_workspace

from . import best_time
from .models import BestTimes


@login_required
@require_GET
def best_time_list(request: HttpRequest, slug: str) -> HttpResponse:
    membership = enter(request, slug, "analytics.view")
    workspace = membership.workspace
    now = timezone.now()
    channels = list(Channel.objects.in_workspace(workspace).select_related("workspace"))  # type: ignore[attr-defined]
    stored = {
        b.channel_id: b
        for b in BestTimes.objects.filter(channel__in=channels).prefetch_related("slots")
    }
    rows = []
    for channel in channels:
        best = stored.get(channel.pk)
        upcoming = best_time.next_best_time(channel, now, best) if best else None
        rows.append(
            {
                "channel": channel,
                "best": best,
                "top": best_time.top_slots(best),
                "next": best_time.local_label(upcoming[0], channel) if upcoming else "",
            }
        )
    return render(request, "analytics/best_time/list.html", {"rows": rows, "rule": best_time.RULE})


@login_required
@require_GET
def best_time_suggestions(request: HttpRequest, slug: str) -> HttpResponse:
    """The calendar's "Suggested times" fragment (loaded beside it by htmx, so the calendar's
    own page and feed read nothing more): the next start of each top slot in the coming week
    for the chosen channel, or every channel. Shown to people who schedule or read analytics;
    empty for others."""
    membership = enter(request, slug, "deliveries.view")
    if not (membership.can("deliveries.schedule") or membership.can("analytics.view")):
        return HttpResponse("")
    channels = Channel.objects.in_workspace(membership.workspace).select_related("workspace")  # type: ignore[attr-defined]
    chosen = parse_id(request.GET.get("channel"))
    if chosen:
        channels = channels.filter(pk=chosen)
    channel_list = list(channels.order_by("handle")[:50])
    stored = {
        b.channel_id: b
        for b in BestTimes.objects.filter(channel__in=channel_list).prefetch_related("slots")
    }
    now = timezone.now()
    rows = []
    for channel in channel_list:
        best = stored.get(channel.pk)
        upcoming = sorted(
            best_time.next_slot_start(channel, slot, now) for slot in best_time.top_slots(best)
        )
        times = [best_time.local_label(instant, channel) for instant in upcoming]
        rows.append({"channel": channel, "best": best, "times": times})
    return render(
        request,
        "analytics/best_time/_calendar.html",
        {"rows": rows, "can_read": membership.can("analytics.view")},
    )


@login_required
@require_GET
def best_time_channel(request: HttpRequest, slug: str, channel_id: int) -> HttpResponse:
    membership = enter(request, slug, "analytics.view")
    channel = get_in_workspace(Channel, membership.workspace, pk=channel_id)
    best = BestTimes.objects.filter(channel=channel).prefetch_related("slots").first()
    upcoming = best_time.next_best_time(channel, timezone.now(), best) if best else None
    context = {
        "channel": channel,
        "best": best,
        "rows": best_time.heatmap(best),
        "hours": range(24),
        "top": best_time.top_slots(best),
        "next": best_time.local_label(upcoming[0], channel) if upcoming else "",
        "rule": best_time.RULE,
    }
    return render(request, "analytics/best_time/channel.html", context)
