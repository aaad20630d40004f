"""Template helpers of the best-time pages and the composer's "next best time" hint."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from socialdesk.analytics import best_time
from socialdesk.analytics.best_time import WEEKDAYS
from socialdesk.analytics.models import BestTimes
from socialdesk.networks.models import Channel

register = template.Library()


@register.filter
def weekday_name(value: int) -> str:
    return WEEKDAYS[value][:3] if 0 <= value < 7 else ""


@register.inclusion_tag("analytics/best_time/_composer_hint_list.html", takes_context=True)
def next_best_times(context: template.Context, channels: list[Channel]) -> dict[str, Any]:
    """The composer's hint: each channel's next best time, for people who schedule posts.

    One query for the channels' best times and one for their slots, whatever their number.
    """
    request = context.get("request")
    membership = getattr(request, "membership", None)
    if membership is None or not membership.can("deliveries.schedule") or not channels:
        return {"hints": []}
    now = timezone.now()
    stored = {
        b.channel_id: b
        for b in BestTimes.objects.filter(channel__in=channels).prefetch_related("slots")
    }
    hints = []
    for channel in channels:
        best = stored.get(channel.pk)
        upcoming = best_time.next_best_time(channel, now, best) if best else None
        if upcoming is None:
            continue
        instant, slot = upcoming
        hints.append(
            {
                "channel": channel,
                "instant": instant.isoformat(),
                "label": best_time.local_label(instant, channel),
                "zone": channel.zone.key,
                "slot": slot,
                "source": best.source if best else "",
            }
        )
    return {"hints": hints}


@register.filter
def percent(value: float | None) -> str:
    """0.0153 → "1.53 %"."""
    return "—" if value is None else f"{value * 100:.2f} %"


@register.filter
def points(value: float | None) -> str:
    """A difference of rates in signed percentage points: 0.0153 → "+1.53"."""
    return "—" if value is None else f"{value * 100:+.2f}".replace("-", "−")


@register.filter
def p_value(value: float) -> str:
    return "p < 0.0001" if value < 0.0001 else f"p = {value:.4f}"


@register.filter
def chance(value: float | None) -> str:
    """A probability as people read it, without claiming certainty: "> 99.9 %"."""
    if value is None:
        return "—"
    if value < 0.001:
        return "< 0.1 %"
    if value > 0.999:
        return "> 99.9 %"
    return f"{value * 100:.1f} %"
