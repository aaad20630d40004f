"""Wall-clock time ↔ UTC: the one place every door (API, editor, calendar, CSV import,
queues, demo) turns a time a person picked into the instant that is stored.

A person picks a wall-clock time (a naive datetime) in a zone. It is stored in UTC and never
moves afterwards, whatever daylight saving does. Two kinds of wall-clock time are not one
instant, and both are refused with a ``WallClockError`` whose message names the valid choices
in the same words at every door:

- a time in a **gap** (clocks jump forward: 02:30 on the last Sunday of March in Berlin;
  30 minutes on Lord Howe Island; from 02:45 on the Chatham Islands): the choices are the last
  minute before the jump and the first one after it;
- a **repeated** time (clocks go back): the choices are its earlier and its later reading,
  picked with ``fold`` (0 = earlier, 1 = later, as in Python's ``datetime.fold``), with
  ``repeated_time="earlier"|"later"`` in the API, or with the intended UTC ``offset``.

Queue slots are recurring and nobody is there to choose, so ``slot_instant`` applies a stated
rule instead (see its docstring); the queue page shows where it applied.

Written by hand because ``zoneinfo`` only answers "which offset" for a given fold; finding
where a gap starts and ends (for the message) needs a small search over the transition.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.utils import timezone

# The API's words for the two readings of a repeated time, mapped to ``fold``.
REPEATED_TIME = {"earlier": 0, "later": 1}


@dataclass(frozen=True)
class WallClockChoice:
    """One valid reading of a wall-clock time a person may pick instead."""

    label: str  # "01:59 (UTC+1)", "02:30 CET (UTC+1)"
    local: datetime  # naive wall clock
    fold: int
    utc: datetime
    zone: zoneinfo.ZoneInfo

    @property
    def instant(self) -> str:
        """The choice as an ISO 8601 time with its offset: ``2027-03-28T01:59:00+01:00``."""
        return self.utc.astimezone(self.zone).isoformat()


class WallClockError(ValidationError):
    """A wall-clock time that does not exist or exists twice; ``choices`` are the fixes."""

    def __init__(
        self,
        message: str,
        choices: list[WallClockChoice],
        *,
        kind: str,
        field: str = "scheduled_at",
    ):
        super().__init__({field: [message]})
        self.message_text = message
        self.choices = choices
        self.kind = kind  # "gap" or "repeated"


def _hm(value: datetime) -> str:
    return value.strftime("%H:%M")


def offset_label(offset: timedelta | None) -> str:
    """``UTC+2``, ``UTC+5:30``, ``UTC-3``."""
    minutes = int((offset or timedelta()).total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


_OFFSET = re.compile(r"^(?:UTC)?([+-])(\d{1,2})(?::?(\d{2}))?$")


def parse_offset(value: timedelta | str) -> timedelta:
    """``+01:00``, ``-0330``, ``UTC+2`` or a timedelta → timedelta."""
    if isinstance(value, timedelta):
        return value
    match = _OFFSET.match(value.strip())
    if not match:
        raise ValidationError({"offset": [f"{value!r} is not a UTC offset; write it as +01:00."]})
    sign, hours, minutes = match.groups()
    delta = timedelta(hours=int(hours), minutes=int(minutes or 0))
    return -delta if sign == "-" else delta


def fold_of(repeated_time: str | None) -> int | None:
    """``"earlier"`` → 0, ``"later"`` → 1, None → None; anything else is refused."""
    if repeated_time is None or repeated_time == "":
        return None
    if repeated_time not in REPEATED_TIME:
        raise ValidationError(
            {"repeated_time": [f"{repeated_time!r} is not a choice; say earlier or later."]}
        )
    return REPEATED_TIME[repeated_time]


def zone_named(zone: zoneinfo.ZoneInfo | str | None) -> zoneinfo.ZoneInfo | None:
    """An IANA zone by name (None stays None); an unknown name is refused."""
    if zone is None or isinstance(zone, zoneinfo.ZoneInfo):
        return zone
    try:
        return zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        # OSError: zoneinfo opens the name as a file, so "Europe" is a folder and a very long
        # name is too long for the file system.
        named = f"{zone[:80]!r} is not a time zone"
        raise ValidationError(
            {"time_zone": [f"{named}; use an IANA name such as Europe/Paris."]}
        ) from None


def _transition_instant(zone: zoneinfo.ZoneInfo, low: datetime, high: datetime) -> datetime:
    """The first UTC second in (low, high] at which ``zone``'s offset is the one at ``high``."""
    target = high.astimezone(zone).utcoffset()
    lo, hi = low, high
    while (hi - lo) > timedelta(seconds=1):
        middle = (lo + (hi - lo) / 2).replace(microsecond=0)
        if middle <= lo:
            break
        if middle.astimezone(zone).utcoffset() == target:
            hi = middle
        else:
            lo = middle
    return hi


def gap_around(local: datetime, zone: zoneinfo.ZoneInfo) -> tuple[datetime, datetime] | None:
    """For a naive ``local`` that ``zone`` skips: the wall-clock times the clocks jump from
    and to (``02:00``, ``03:00``). None when ``local`` exists."""
    local = local.replace(tzinfo=None)
    first = local.replace(tzinfo=zone, fold=0)
    second = local.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return None
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == local:
        return None  # repeated, not skipped
    a, b = first.astimezone(UTC), second.astimezone(UTC)
    instant = _transition_instant(zone, min(a, b), max(a, b))
    before = (instant - timedelta(seconds=1)).astimezone(zone).utcoffset() or timedelta()
    jump_from = (instant + before).replace(tzinfo=None)
    jump_to = instant.astimezone(zone).replace(tzinfo=None)
    return jump_from, jump_to


def is_repeated(local: datetime, zone: zoneinfo.ZoneInfo) -> bool:
    """True when the naive ``local`` happens twice in ``zone`` (clocks go back)."""
    local = local.replace(tzinfo=None)
    first = local.replace(tzinfo=zone, fold=0)
    if first.utcoffset() == local.replace(tzinfo=zone, fold=1).utcoffset():
        return False
    return first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == local


def to_utc(
    local: datetime,
    zone: zoneinfo.ZoneInfo,
    *,
    fold: int | None = None,
    offset: timedelta | str | None = None,
    field: str = "scheduled_at",
) -> datetime:
    """The UTC instant of wall-clock ``local`` in ``zone``.

    An aware ``local`` is taken as the exact instant it names. Raises ``WallClockError``
    (on ``field``) for a time in a gap, or for a time that exists twice unless ``fold`` or
    ``offset`` says which reading is meant.
    """
    if timezone.is_aware(local):
        return local.astimezone(UTC)
    local = local.replace(tzinfo=None)
    first = local.replace(tzinfo=zone, fold=0)
    second = local.replace(tzinfo=zone, fold=1)
    wanted = parse_offset(offset) if offset is not None else None
    day = local.date().isoformat()
    if first.utcoffset() == second.utcoffset():
        if wanted is not None and wanted != first.utcoffset():
            raise ValidationError(
                {
                    "offset": [
                        f"{_hm(local)} on {day} in {zone.key} is "
                        f"{offset_label(first.utcoffset())}, not {offset_label(wanted)}."
                    ]
                }
            )
        return first.astimezone(UTC)

    if jump := gap_around(local, zone):
        jump_from, jump_to = jump
        last = jump_from - timedelta(minutes=1)
        choices = []
        for moment in (last, jump_to):
            aware = moment.replace(tzinfo=zone)
            label = f"{_hm(moment)} ({offset_label(aware.utcoffset())})"
            choices.append(WallClockChoice(label, moment, 0, aware.astimezone(UTC), zone))
        raise WallClockError(
            f"{_hm(local)} does not exist on {day} in {zone.key}: the clocks jump from "
            f"{_hm(jump_from)} to {_hm(jump_to)}. Choose {choices[0].label} or "
            f"{choices[1].label}.",
            choices,
            kind="gap",
            field=field,
        )

    # Fall back: the wall clock shows this time twice.
    readings = [first, second]
    if fold in (0, 1):
        return readings[fold].astimezone(UTC)
    if wanted is not None:
        for reading in readings:
            if reading.utcoffset() == wanted:
                return reading.astimezone(UTC)
    choices = [
        WallClockChoice(
            f"{_hm(r)} {r.tzname()} ({offset_label(r.utcoffset())})",
            local,
            r.fold,
            r.astimezone(UTC),
            zone,
        )
        for r in readings
    ]
    raise WallClockError(
        f"{_hm(local)} happens twice on {day} in {zone.key}: the clocks go back. Choose the "
        f"earlier {choices[0].label} or the later {choices[1].label}.",
        choices,
        kind="repeated",
        field=field,
    )


def slot_instant(day: date, at: time, zone: zoneinfo.ZoneInfo) -> tuple[datetime, str]:
    """The UTC instant of a recurring slot at wall-clock ``at`` on ``day`` in ``zone``, and a
    note (empty on an ordinary day) saying how a change of the clocks moved it.

    The rule, the same every year and shown on the queue page: a slot the clocks skip moves
    later by the length of the jump (02:30 becomes 03:30 when clocks jump from 02:00 to 03:00,
    and 02:15 becomes 02:45 on Lord Howe Island's 30-minute jump), as a clock on the wall would
    read; a slot the clocks show twice takes the earlier reading, so it goes out once.
    """
    local = datetime.combine(day, at)
    if jump := gap_around(local, zone):
        jump_from, jump_to = jump
        # fold=0 reads a skipped time with the offset from before the jump, which is the same
        # wall-clock time moved later by the jump's length.
        instant = local.replace(tzinfo=zone, fold=0).astimezone(UTC)
        moved = instant.astimezone(zone)
        note = (
            f"{_hm(local)} does not exist on {day:%a %d %b %Y} (clocks jump from "
            f"{_hm(jump_from)} to {_hm(jump_to)}): this slot goes out at {_hm(moved)}."
        )
        return instant, note
    if is_repeated(local, zone):
        first = local.replace(tzinfo=zone, fold=0)
        note = (
            f"{_hm(local)} happens twice on {day:%a %d %b %Y} (clocks go back): this slot takes "
            f"the earlier one, {_hm(first)} {first.tzname()} ({offset_label(first.utcoffset())})."
        )
        return first.astimezone(UTC), note
    return local.replace(tzinfo=zone).astimezone(UTC), ""
