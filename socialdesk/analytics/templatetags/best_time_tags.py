"""Template helpers of the best-time pages and the composer's "next best time" hint."""

from __future__ import annotations

from django import template

from socialdesk.analytics.best_time import WEEKDAYS

register = template.Library()


@register.filter
def weekday_name(value: int) -> str:
    return WEEKDAYS[value][:3] if 0 <= value < 7 else ""
