"""Service levels (issue 13, item 5): business hours, holidays and response targets.

The clock runs only in business hours, in the workspace's time zone:

- ``business_seconds(start, end, level)`` counts the business time between two instants;
- ``business_add(start, seconds, level)`` is its inverse: the instant a target falls due.

Both work day by day in the workspace's zone: each opening interval of a local day is turned
into UTC instants with ``zoneinfo`` and intersected with the span, so a day on which the
clocks change counts its real elapsed time (an interval 01:00–05:00 on the spring-forward
night in Paris counts 3 h, on the fall-back night 5 h). A local time the clocks skip is read
with the offset before the change (``fold=0``), i.e. a little later on the wall clock; a time
shown twice is its first occurrence. Holidays are local dates.

A conversation has two clocks (``clocks_of``):

- **response**: from ``waiting_since`` (the first inbound message still without our answer)
  while something waits; the "first response" target applies to every wait, so a contact who
  writes again is answered in time too.
- **resolution**: from ``created_at`` until it is resolved.

A breach is told once per clock start (``BreachNotice``) to the assignee and the managers,
from the worker's heartbeat (``on_heartbeat``).
"""

from __future__ import annotations

import logging
import re
import time as time_module
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from socialdesk.workspaces.models import Workspace

from .models import (
    BreachKind,
    BreachNotice,
    Conversation,
    ConversationStatus,
    ServiceLevel,
    default_business_hours,
)

logger = logging.getLogger(__name__)

WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
# ``business_add`` looks this far ahead for enough open time; a level with (almost) no open
# hours has no due time rather than an endless search.
LOOK_AHEAD_DAYS = 800
# Breaches older than this are not told any more (a workspace that just set its targets
# should not get a notice for every old conversation).
TELL_WITHIN = timedelta(days=7)
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")


@dataclass(frozen=True)
class Hours:
    """A level as the clock reads it: zone, per-weekday intervals, holidays."""

    zone: ZoneInfo
    week: tuple[tuple[tuple[time, time | None], ...], ...]  # None end = midnight
    holidays: frozenset[date]

    def intervals(self, day: date) -> Iterator[tuple[datetime, datetime]]:
        """The opening intervals of local ``day`` as UTC instants."""
        if day in self.holidays:
            return
        for start, end in self.week[day.weekday()]:
            opens = datetime.combine(day, start, tzinfo=self.zone).astimezone(UTC)
            if end is None:
                closes_local = datetime.combine(day + timedelta(days=1), time(), tzinfo=self.zone)
            else:
                closes_local = datetime.combine(day, end, tzinfo=self.zone)
            closes = closes_local.astimezone(UTC)
            if closes > opens:
                yield opens, closes


def _parse_time(value: str) -> time | None:
    if value == "24:00":
        return None
    hour, minute = value.split(":")
    return time(int(hour), int(minute))


def clean_hours(value: Any) -> list[list[list[str]]]:
    """Seven weekdays (Monday first), each a list of ``["HH:MM", "HH:MM"]`` intervals that
    do not overlap and end after they start ("24:00" is midnight at the end of the day).
    Raises ValidationError naming the weekday at fault."""
    if not isinstance(value, list) or len(value) != 7:
        raise ValidationError({"hours": ["Give seven weekdays of hours, Monday first."]})
    cleaned: list[list[list[str]]] = []
    for name, intervals in zip(WEEKDAYS, value, strict=True):
        if not isinstance(intervals, list) or len(intervals) > 4:
            raise ValidationError({"hours": [f"{name}: at most four intervals, as a list."]})
        day: list[tuple[str, str]] = []
        for interval in intervals:
            if (
                not isinstance(interval, list | tuple)
                or len(interval) != 2
                or not all(isinstance(t, str) and _HHMM.match(t) for t in interval)
            ):
                raise ValidationError(
                    {"hours": [f"{name}: each interval is two times like 09:00 and 17:30."]}
                )
            start, end = interval
            if start == "24:00" or (end != "24:00" and end <= start):
                raise ValidationError({"hours": [f"{name}: {start}–{end} ends before it starts."]})
            day.append((start, end))
        day.sort()
        for (_, end_a), (start_b, _) in zip(day, day[1:], strict=False):
            if start_b < end_a or end_a == "24:00":
                raise ValidationError({"hours": [f"{name}: intervals overlap."]})
        cleaned.append([[s, e] for s, e in day])
    return cleaned


def clean_holidays(value: Any) -> list[str]:
    """ISO dates ("2026-12-25"), at most 400, sorted and without repeats."""
    if not isinstance(value, list) or len(value) > 400:
        raise ValidationError({"holidays": ["Give a list of at most 400 dates."]})
    days = set()
    for item in value:
        try:
            days.add(date.fromisoformat(str(item).strip()))
        except ValueError:
            raise ValidationError(
                {"holidays": [f"{str(item)[:40]!r} is not a date like 2026-12-25."]}
            ) from None
    return [d.isoformat() for d in sorted(days)]


def hours_of(level: ServiceLevel, zone: ZoneInfo | str | None = None) -> Hours:
    """The clock's view of ``level`` (in ``zone``, else its workspace's zone)."""
    if zone is None:
        zone = level.workspace.zone
    elif isinstance(zone, str):
        zone = ZoneInfo(zone)
    week = tuple(
        tuple((_parse_time(s) or time(), _parse_time(e)) for s, e in day) for day in level.hours
    )
    holidays = frozenset(date.fromisoformat(d) for d in level.holidays)
    return Hours(zone=zone, week=week, holidays=holidays)


def level_of(workspace: Workspace) -> ServiceLevel:
    """The workspace's service level, or the defaults (unsaved) when it set none."""
    level = ServiceLevel.objects.filter(workspace=workspace).first()
    if level is None:
        level = ServiceLevel(workspace=workspace, hours=default_business_hours())
    level.workspace = workspace
    return level


def _as_hours(level: ServiceLevel | Hours) -> Hours:
    return level if isinstance(level, Hours) else hours_of(level)


def business_seconds(start: datetime, end: datetime, level: ServiceLevel | Hours) -> float:
    """Seconds of business time between the aware instants ``start`` and ``end`` (0 when
    ``end`` is not after ``start``), exact across daylight-saving changes and holidays."""
    if end <= start:
        return 0.0
    hours = _as_hours(level)
    # One day of margin either side: a local day's intervals can reach into the UTC day
    # before or after.
    day = start.astimezone(hours.zone).date() - timedelta(days=1)
    last = end.astimezone(hours.zone).date() + timedelta(days=1)
    total = 0.0
    while day <= last:
        for opens, closes in hours.intervals(day):
            overlap = (min(closes, end) - max(opens, start)).total_seconds()
            if overlap > 0:
                total += overlap
        day += timedelta(days=1)
    return total


def business_add(start: datetime, seconds: float, level: ServiceLevel | Hours) -> datetime | None:
    """The instant at which ``seconds`` of business time have passed since ``start``; None
    when the level has not that much open time in ``LOOK_AHEAD_DAYS`` (no business hours)."""
    hours = _as_hours(level)
    remaining = max(0.0, seconds)
    day = start.astimezone(hours.zone).date() - timedelta(days=1)
    for _ in range(LOOK_AHEAD_DAYS):
        for opens, closes in hours.intervals(day):
            if closes <= start:
                continue
            begin = max(opens, start)
            available = (closes - begin).total_seconds()
            if remaining <= available:
                return begin + timedelta(seconds=remaining)
            remaining -= available
        day += timedelta(days=1)
    return None


def business_sub(end: datetime, seconds: float, level: ServiceLevel | Hours) -> datetime | None:
    """The latest instant from which ``seconds`` of business time have passed by ``end``
    (``business_add`` walked backwards); None when the level has not that much open time in
    the ``LOOK_AHEAD_DAYS`` before ``end``. ``seconds`` 0 is ``end`` itself."""
    hours = _as_hours(level)
    remaining = max(0.0, seconds)
    if remaining == 0:
        return end
    day = end.astimezone(hours.zone).date() + timedelta(days=1)
    for _ in range(LOOK_AHEAD_DAYS):
        for opens, closes in reversed(list(hours.intervals(day))):
            if opens >= end:
                continue
            finish = min(closes, end)
            available = (finish - opens).total_seconds()
            if remaining <= available:
                return finish - timedelta(seconds=remaining)
            remaining -= available
        day -= timedelta(days=1)
    return None


# --- A conversation's clocks ------------------------------------------------------------------


@dataclass(frozen=True)
class Clock:
    kind: str  # BreachKind
    started_at: datetime
    due_at: datetime | None
    remaining: timedelta | None  # business time left (negative when breached)

    @property
    def breached(self) -> bool:
        return self.remaining is not None and self.remaining.total_seconds() < 0

    @property
    def label(self) -> str:
        """ "due in 20 min", "due in 3 h", "breached 1 h ago" (business time)."""
        if self.remaining is None:
            return "no business hours"
        seconds = self.remaining.total_seconds()
        text = _duration_text(abs(seconds))
        return f"breached {text} ago" if seconds < 0 else f"due in {text}"


def _duration_text(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{max(minutes, 1) if seconds else 0} min"
    hours = minutes / 60
    if hours < 24:
        return f"{hours:.0f} h" if hours >= 10 or hours.is_integer() else f"{hours:.1f} h"
    return f"{hours / 24:.1f} days"


def _clock(kind: str, started: datetime, target: timedelta, hours: Hours, now: datetime) -> Clock:
    target_s = target.total_seconds()
    due = business_add(started, target_s, hours)
    if due is None:
        return Clock(kind, started, None, None)
    if now <= due:
        remaining = business_seconds(now, due, hours)
    else:
        remaining = -business_seconds(due, now, hours)
        if remaining == 0:  # past due, outside business hours since: still breached
            remaining = -1e-6
    return Clock(kind, started, due, timedelta(seconds=remaining))


def clocks_of(
    conversation: Conversation,
    level: ServiceLevel | Hours,
    now: datetime | None = None,
    targets: tuple[timedelta, timedelta] | None = None,
) -> list[Clock]:
    """The running clocks of ``conversation`` (response, then resolution); none when it is
    resolved or is spam. ``targets`` (response, resolution) default to ``level``'s."""
    now = now or timezone.now()
    if conversation.status == ConversationStatus.RESOLVED or conversation.spam:
        return []
    if targets is None:
        assert isinstance(level, ServiceLevel), "give targets with a bare Hours"
        targets = (level.first_response_target, level.resolution_target)
    hours = _as_hours(level)
    clocks = []
    if conversation.waiting_since is not None:
        waiting = conversation.waiting_since
        clocks.append(_clock(BreachKind.RESPONSE, waiting, targets[0], hours, now))
    clocks.append(_clock(BreachKind.RESOLUTION, conversation.created_at, targets[1], hours, now))
    return clocks


def sla_state(
    conversation: Conversation, level: ServiceLevel, now: datetime | None = None
) -> dict[str, Any]:
    """What the inbox shows: the most urgent clock's label, due time and breached flag.

    ``{"label": "due in 20 min", "due_at": ..., "breached": False, "kind": "response"}``, or
    ``{"label": "", "due_at": None, "breached": False, "kind": ""}`` when no clock runs."""
    clocks = [c for c in clocks_of(conversation, level, now) if c.remaining is not None]
    if not clocks:
        return {"label": "", "due_at": None, "breached": False, "kind": ""}
    first = min(clocks, key=lambda c: c.remaining or timedelta())
    return {
        "label": first.label,
        "due_at": first.due_at,
        "breached": first.breached,
        "kind": first.kind,
    }


def sla_states(
    workspace: Workspace, conversations: Iterable[Conversation], now: datetime | None = None
) -> dict[int, dict[str, Any]]:
    """``sla_state`` of many conversations of one workspace (the inbox list): the level is
    read once. Keyed by conversation id."""
    now = now or timezone.now()
    level = level_of(workspace)
    hours = hours_of(level)
    targets = (level.first_response_target, level.resolution_target)
    states: dict[int, dict[str, Any]] = {}
    for conversation in conversations:
        clocks = [
            c for c in clocks_of(conversation, hours, now, targets) if c.remaining is not None
        ]
        if not clocks:
            states[conversation.pk] = {"label": "", "due_at": None, "breached": False, "kind": ""}
            continue
        first = min(clocks, key=lambda c: c.remaining or timedelta())
        states[conversation.pk] = {
            "label": first.label,
            "due_at": first.due_at,
            "breached": first.breached,
            "kind": first.kind,
        }
    return states


# --- The list's SLA filter -------------------------------------------------------------------

# "Due soon": a running clock with at most this much business time left (the label then
# reads "due in 30 min" or less).
DUE_SOON = timedelta(minutes=30)


@dataclass(frozen=True)
class Thresholds:
    """Where, at ``now``, the clocks of a workspace's open conversations cross their marks,
    as instants to compare a clock's start with: a response clock started before
    ``response_breached`` has run out, one started before ``response_soon`` has at most
    ``DUE_SOON`` left (likewise for resolution, from ``created_at``). None: that clock never
    runs out (no business hours). Business time only grows as the start moves back, so one
    instant per mark is exact; a start exactly on a mark may read either way."""

    response_breached: datetime | None
    response_soon: datetime | None
    resolution_breached: datetime | None
    resolution_soon: datetime | None

    def state(self, waiting_since: datetime | None, created_at: datetime) -> str:
        """ "breached", "due_soon" or "on_time" for an open conversation's two starts."""
        clocks = [(created_at, self.resolution_breached, self.resolution_soon)]
        if waiting_since is not None:
            clocks.append((waiting_since, self.response_breached, self.response_soon))
        if any(b is not None and start < b for start, b, _ in clocks):
            return "breached"
        if any(s is not None and start < s for start, _, s in clocks):
            return "due_soon"
        return "on_time"


def thresholds(level: ServiceLevel, now: datetime | None = None) -> Thresholds:
    """The marks of ``level``'s two targets at ``now`` (see ``Thresholds``): what lets the
    inbox list filter and label conversations on their stored ``waiting_since`` and
    ``created_at`` without running each one's clock."""
    now = now or timezone.now()
    hours = hours_of(level)
    marks = []
    for target in (level.first_response_target, level.resolution_target):
        seconds = target.total_seconds()
        marks.append(business_sub(now, seconds, hours))
        marks.append(business_sub(now, max(0.0, seconds - DUE_SOON.total_seconds()), hours))
    return Thresholds(*marks)


# --- Breach notices ---------------------------------------------------------------------------


def _inbox_url(conversation: Conversation) -> str:
    try:
        return reverse("inbox_conversation", args=[conversation.workspace.slug, conversation.pk])
    except NoReverseMatch:  # the inbox pages are another part of issue 13
        return f"/w/{conversation.workspace.slug}/inbox/{conversation.pk}/"


def check_breaches(now: datetime | None = None) -> int:
    """Tell the assignee and the managers (and owners) of each conversation whose clock has
    run out, once per clock start; returns how many notices went out.

    Only open conversations waiting or created within ``TELL_WITHIN`` plus their target are
    looked at (an index on (workspace, status, last_message_at) serves the filter)."""
    from socialdesk.notifications.services import notify, people_with_role

    now = now or timezone.now()
    told = 0
    open_conversations = Conversation.objects.exclude(status=ConversationStatus.RESOLVED).filter(
        spam=False
    )
    workspace_ids = set(open_conversations.values_list("workspace_id", flat=True).distinct())
    for workspace in Workspace.objects.filter(pk__in=workspace_ids):
        level = level_of(workspace)
        hours = hours_of(level)
        # Business time runs no faster than the wall clock: a clock cannot have run out
        # before its start plus its target. Clocks already told are left out in the query,
        # so a beat looks only at the few that may have run out since.
        horizon = now - TELL_WITHIN - level.resolution_target - timedelta(days=14)
        told_response = BreachNotice.objects.filter(
            conversation=OuterRef("pk"),
            kind=BreachKind.RESPONSE,
            clock_started_at=OuterRef("waiting_since"),
        )
        told_resolution = BreachNotice.objects.filter(
            conversation=OuterRef("pk"),
            kind=BreachKind.RESOLUTION,
            clock_started_at=OuterRef("created_at"),
        )
        response_due = Q(
            waiting_since__gte=horizon,
            waiting_since__lte=now - level.first_response_target,
        ) & ~Exists(told_response)
        resolution_due = Q(
            created_at__gte=horizon, created_at__lte=now - level.resolution_target
        ) & ~Exists(told_resolution)
        candidates = open_conversations.filter(workspace=workspace).filter(
            response_due | resolution_due
        )
        leads = None
        for conversation in candidates.select_related("assignee", "contact", "channel"):
            targets = (level.first_response_target, level.resolution_target)
            for clock in clocks_of(conversation, hours, now, targets):
                if not clock.breached or clock.due_at is None:
                    continue
                if now - clock.due_at > TELL_WITHIN:
                    continue
                try:
                    with transaction.atomic():
                        BreachNotice.objects.create(
                            conversation=conversation,
                            kind=clock.kind,
                            clock_started_at=clock.started_at,
                            due_at=clock.due_at,
                            notified_at=now,
                        )
                        if leads is None:
                            leads = people_with_role(workspace, "owner", "manager")
                        target = (
                            level.first_response_target
                            if clock.kind == BreachKind.RESPONSE
                            else level.resolution_target
                        )
                        what = "answered" if clock.kind == BreachKind.RESPONSE else "resolved"
                        notify(
                            workspace,
                            [conversation.assignee, *leads],
                            "inbox.sla_breached",
                            f"Not {what} in time: {conversation}",
                            body=(
                                f"The target is {_duration_text(target.total_seconds())} of "
                                f"business time; it was due {clock.due_at:%Y-%m-%d %H:%M}Z."
                            ),
                            url=_inbox_url(conversation),
                            target=conversation,
                        )
                except IntegrityError:
                    continue  # told already (another worker, or an earlier beat)
                told += 1
    return told


# The worker beats every few seconds; breaches are checked once a minute ("due in 20 min"
# needs no finer grain) and retention once an hour.
BREACH_CHECK_SECONDS = 60.0
RETENTION_SECONDS = 3600.0
_last_run: dict[str, float] = {}


def on_heartbeat() -> None:
    """The worker's beat: tell breaches, then delete what the retention period allows.
    Never raises (the next beat tries again)."""
    from .retention import apply_retention

    now = time_module.monotonic()
    if now - _last_run.get("breaches", -1e9) >= BREACH_CHECK_SECONDS:
        _last_run["breaches"] = now
        try:
            check_breaches()
        except Exception:
            logger.exception("Checking inbox service levels failed")
    if now - _last_run.get("retention", -1e9) >= RETENTION_SECONDS:
        _last_run["retention"] = now
        try:
            apply_retention()
        except Exception:
            logger.exception("Applying inbox retention failed")


def save_level(
    workspace: Workspace,
    *,
    hours: Any = None,
    holidays: Any = None,
    first_response_minutes: Any = None,
    resolution_hours: Any = None,
    retention_days: Any = ...,
) -> ServiceLevel:
    """Validate and store the workspace's service level (only what is given changes).

    Targets: first response 1 minute to 30 days, resolution 1 hour to 365 days; retention
    None (keep) or 1 to 3650 days. Raises ValidationError and writes nothing on bad input."""
    level = level_of(workspace)
    errors: dict[str, list[str]] = {}
    changes: dict[str, Any] = {}
    try:
        if hours is not None:
            changes["hours"] = clean_hours(hours)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        if holidays is not None:
            changes["holidays"] = clean_holidays(holidays)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if first_response_minutes is not None:
        if not _whole(first_response_minutes, 1, 30 * 24 * 60):
            errors["first_response_minutes"] = ["Give whole minutes from 1 to 43200."]
        else:
            changes["first_response_target"] = timedelta(minutes=int(first_response_minutes))
    if resolution_hours is not None:
        if not _whole(resolution_hours, 1, 365 * 24):
            errors["resolution_hours"] = ["Give whole hours from 1 to 8760."]
        else:
            changes["resolution_target"] = timedelta(hours=int(resolution_hours))
    if retention_days is not ...:
        if retention_days is not None and not _whole(retention_days, 1, 3650):
            errors["retention_days"] = ["Give whole days from 1 to 3650, or none to keep all."]
        else:
            changes["retention_days"] = None if retention_days is None else int(retention_days)
    if errors:
        raise ValidationError(errors)
    for name, value in changes.items():
        setattr(level, name, value)
    level.updated_at = timezone.now()
    if level.pk is None:
        level.save()
    else:
        level.save(update_fields=[*changes, "updated_at"])
    return level


def _whole(value: Any, low: int, high: int) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    return isinstance(value, int) and low <= value <= high
