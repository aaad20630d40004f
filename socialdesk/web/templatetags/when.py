"""One way to show a date and time: ``{% load when %}{{ value|when:zone }}``.

``Mon 14 Dec, 08:19 CET`` (the year only when it is not this year's, in that zone): the time in
``zone`` (a zone name, a ``ZoneInfo``, or anything with a ``zone`` such as a workspace or a
channel; without it the current one, which ``{% timezone %}`` sets), always with the zone
named, so a time never reads as another one. The date's pattern comes from the person's
language through Django's formats machinery (``WHEN_FORMATS``; month and weekday names are
translated by Django). English reads day first with the month named ("14 Dec"), as every page
of the product did already, never "12/14".

The calendar is set up with the same choice (``calendar_locale``: FullCalendar's ``locale``),
and Python code (the calendar's messages and feed) calls ``when`` directly.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any

from django import template
from django.utils import formats, timezone, translation

from socialdesk.publishing.wallclock import offset_label, zone_named

register = template.Library()

# Date patterns (Django's ``date`` syntax) per language; the first part of a code ("de" for
# "de-at") is tried next, then English.
WHEN_FORMATS = {
    "en": ("D j M, H:i", "D j M Y, H:i"),
    "de": ("D, j. M, H:i", "D, j. M Y, H:i"),
    "fr": ("D j M, H:i", "D j M Y, H:i"),
    "es": ("D j M, H:i", "D j M Y, H:i"),
    "nl": ("D j M, H:i", "D j M Y, H:i"),
}
# FullCalendar's locale per language: English is shown day first, as on every other page.
CALENDAR_LOCALES = {"en": "en-gb"}


def _language() -> str:
    return (translation.get_language() or "en").lower()


def _patterns() -> tuple[str, str]:
    code = _language()
    return WHEN_FORMATS.get(code) or WHEN_FORMATS.get(code.split("-")[0]) or WHEN_FORMATS["en"]


def calendar_locale() -> str:
    """FullCalendar's ``locale`` for the person's language (date order and month names)."""
    code = _language()
    return CALENDAR_LOCALES.get(code.split("-")[0], code)


def _zone_of(zone: Any) -> tzinfo:
    if zone is None or zone == "":
        return timezone.get_current_timezone()
    if isinstance(zone, tzinfo):
        return zone
    if isinstance(zone, str):
        try:
            return zone_named(zone) or timezone.get_current_timezone()
        except Exception:  # an unknown name in a template must not break the page
            return timezone.get_current_timezone()
    found = getattr(zone, "zone", None)
    if isinstance(found, tzinfo):
        return found
    return _zone_of(getattr(zone, "time_zone", None))


def zone_label(local: datetime) -> str:
    """``CET``, ``EST``, ``UTC``; ``UTC+4`` where the zone has no letters (``+04``)."""
    name = local.tzname() or ""
    if name.isalpha():
        return name
    return offset_label(local.utcoffset())


@register.filter(expects_localtime=False)
def when(value: Any, zone: Any = None) -> str:
    """``value`` (an aware datetime; a naive one is taken as UTC) in ``zone``, with the zone
    named: ``Mon 14 Dec, 08:19 CET``; ``Mon 14 Dec 2027, 08:19 CET`` in another year.
    Anything else (None, "") gives ""."""
    if not isinstance(value, datetime):
        return ""
    if timezone.is_naive(value):
        value = value.replace(tzinfo=UTC)
    place = _zone_of(zone)
    local = value.astimezone(place)
    this_year, other_year = _patterns()
    pattern = this_year if local.year == datetime.now(place).year else other_year
    return f"{formats.date_format(local, pattern)} {zone_label(local)}"


@register.filter
def channel_times_differ(post: Any) -> bool:
    """True when the post's channels go out at different times (a post moved one channel
    at a time): the post list then shows each channel's time. Reads the deliveries the view
    prefetched."""
    times = {d.scheduled_at for d in post.deliveries.all() if d.scheduled_at is not None}
    return len(times) > 1


@register.simple_tag
def when_locale() -> str:
    """The calendar's locale, for ``data-locale``."""
    return calendar_locale()
