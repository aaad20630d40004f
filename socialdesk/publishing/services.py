"""Scheduling: the operations the API, the web UI, the CLI and tasks all call.

``schedule``, ``reschedule``, ``unschedule``, ``cancel`` and ``publish_now`` take one
delivery or a whole post (meaning its deliveries that are still drafts or scheduled).
Each one validates everything first and then writes inside one transaction, so bad input
raises ``django.core.exceptions.ValidationError`` (a dict of field → messages, each saying
what to fix) and leaves nothing half-written. State changes go through
``states.transition`` and so are recorded.

Time: a person picks a wall-clock time (a naive datetime) in a zone: the one given, else the
channel's, else the workspace's. It is stored in UTC and never moves afterwards, whatever
daylight saving does. A wall-clock time that does not exist (spring-forward gap) or exists
twice (fall-back) is refused with a ``WallClockError`` that names the valid choices; an
ambiguous time is accepted with ``fold`` (0 = the first occurrence, 1 = the second, as in
Python's ``datetime.fold``) or with the intended UTC ``offset``.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from socialdesk.content.models import Post
from socialdesk.networks.models import Channel
from socialdesk.workspaces.models import User

from . import pacing
from .connectors import connector_for, content_for, problem_text
from .models import Delivery, DeliveryState
from .states import TransitionConflict, transition
from .tasks import enqueue_delivery

S = DeliveryState
# A delivery in one of these states can still be given a time, moved or taken back.
UNSENT = (S.DRAFT, S.SCHEDULED)

# A person, or a string naming the machinery ("system: cli"); see states.transition.
Actor = User | str | None


@dataclass(frozen=True)
class WallClockChoice:
    """One valid reading of a wall-clock time a person may pick instead."""

    label: str  # "01:59", "02:30 CET (UTC+1)"
    local: datetime  # naive wall clock
    fold: int
    utc: datetime


class WallClockError(ValidationError):
    """A wall-clock time that does not exist or exists twice; ``choices`` are the fixes."""

    def __init__(self, message: str, choices: list[WallClockChoice]):
        super().__init__({"scheduled_at": [message]})
        self.choices = choices


# --- Wall clock → UTC ---------------------------------------------------------------------


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


def _transition_instant(zone: zoneinfo.ZoneInfo, low: datetime, high: datetime) -> datetime:
    """The first UTC second in (low, high] at which ``zone``'s offset is the one at ``high``."""
    target = high.astimezone(zone).utcoffset()
    lo, hi = low, high
    while (hi - lo) > timedelta(seconds=1):
        middle = lo + (hi - lo) / 2
        middle = middle.replace(microsecond=0)
        if middle <= lo:
            break
        if middle.astimezone(zone).utcoffset() == target:
            hi = middle
        else:
            lo = middle
    return hi


def to_utc(
    local: datetime,
    zone: zoneinfo.ZoneInfo,
    *,
    fold: int | None = None,
    offset: timedelta | str | None = None,
) -> datetime:
    """The UTC instant of wall-clock ``local`` in ``zone``.

    An aware ``local`` is taken as the exact instant it names. Raises ``WallClockError``
    for a time in a gap, or for a time that exists twice unless ``fold`` or ``offset`` says
    which one is meant.
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

    exists = first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == local
    if not exists:
        # Spring forward: the wall clock skips from `jump_from` to `jump_to`.
        a, b = first.astimezone(UTC), second.astimezone(UTC)
        instant = _transition_instant(zone, min(a, b), max(a, b))
        before = (instant - timedelta(seconds=1)).astimezone(zone).utcoffset() or timedelta()
        jump_from = (instant + before).replace(tzinfo=None)
        jump_to = instant.astimezone(zone).replace(tzinfo=None)
        last = jump_from - timedelta(minutes=1)
        choices = [
            WallClockChoice(_hm(last), last, 0, to_utc(last, zone)),
            WallClockChoice(_hm(jump_to), jump_to, 0, to_utc(jump_to, zone)),
        ]
        raise WallClockError(
            f"{_hm(local)} does not exist on {day} in {zone.key}; clocks jump from "
            f"{_hm(jump_from)} to {_hm(jump_to)} — choose {_hm(last)} or {_hm(jump_to)}.",
            choices,
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
        )
        for r in readings
    ]
    raise WallClockError(
        f"{_hm(local)} happens twice on {day} in {zone.key} (clocks go back); choose "
        f"{choices[0].label} or {choices[1].label}.",
        choices,
    )


def zone_named(zone: zoneinfo.ZoneInfo | str | None) -> zoneinfo.ZoneInfo | None:
    if zone is None or isinstance(zone, zoneinfo.ZoneInfo):
        return zone
    try:
        return zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            {"zone": [f"{zone!r} is not a time zone; use an IANA name such as Europe/Paris."]}
        ) from None


# --- Rules checked at schedule time and again at send time --------------------------------


def approval_required_and_missing(delivery: Delivery) -> bool:
    """True when the workspace requires approval before publishing and the post's current
    version lacks an approval its lane needs (``workflow.approvals.is_approved``)."""
    if not delivery.workspace.requires_approval:
        return False
    from socialdesk.workflow.approvals import is_approved

    return not is_approved(delivery.post)


def channel_problem(channel: Channel) -> str | None:
    if channel.is_connected:
        return None
    if channel.status == "needs_reconnect":
        return f"{channel} needs reconnecting: its authorization was revoked or expired."
    if channel.status == "paused":
        return f"{channel} is paused; its posts wait until someone resumes it."
    return f"{channel} is disconnected; connect it again first."


def content_problems(delivery: Delivery) -> dict[str, list[str]]:
    """What the channel's network refuses in this delivery's content, by field (empty: fine)."""
    connector = connector_for(delivery.channel)
    if connector is None:
        return {}
    errors: dict[str, list[str]] = {}
    for problem in connector.validate(content_for(delivery)):
        name, message = problem_text(problem)
        errors.setdefault(name, []).append(f"{delivery.channel}: {message}")
    return errors


def send_problems(delivery: Delivery) -> dict[str, list[str]]:
    """Everything that stops ``delivery`` going out now, except its time, by field."""
    errors: dict[str, list[str]] = {}
    if problem := channel_problem(delivery.channel):
        errors.setdefault("channel", []).append(problem)
    else:
        _merge(errors, content_problems(delivery))
    if approval_required_and_missing(delivery):
        errors.setdefault("approval", []).append(
            "This workspace requires approval before publishing, and the post is not approved."
        )
    return errors


# --- Budgets: warnings, not errors (issue 3, item 7) ----------------------------------------


class ScheduledDeliveries(list[Delivery]):
    """The deliveries ``schedule``, ``reschedule`` and ``publish_now`` return — a plain list,
    so existing callers keep working — with ``warnings``: sentences to show the person, such
    as a day's plan that would spend more than the network allows (``budget_warnings``). The
    engine paces such a plan (``pacing``): nothing is refused, some posts go out later."""

    warnings: list[str]

    def __init__(self, deliveries=(), warnings: list[str] | None = None) -> None:
        super().__init__(deliveries)
        self.warnings = list(warnings or [])


def _local_day_bounds(zone: zoneinfo.ZoneInfo, day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=zone).astimezone(UTC)
    return start, end


def budget_warnings(channel: Channel, day: date) -> list[str]:
    """What the deliveries planned for ``channel`` on its local ``day`` (its zone, else the
    workspace's) would spend beyond a budget its network declares: one sentence per broken
    limit, naming the channel, the day and the budget. Empty when the plan fits.

    Counts scheduled deliveries (and retries) of that day against each declared limit over its
    busiest window; a window longer than the day counts the day's plan alone.
    """
    connector = connector_for(channel)
    limits = pacing.limits_of(connector)
    if not limits:
        return []
    start, end = _local_day_bounds(channel.zone, day)
    rows = Delivery.objects.filter(
        channel=channel,
        state__in=[S.SCHEDULED, S.WAITING_RETRY],
        scheduled_at__gte=start,
        scheduled_at__lt=end,
    ).select_related("post", "channel", "workspace")
    planned = [(d.scheduled_at, pacing.cost_of(connector, content_for(d))) for d in rows]
    label = channel.get_network_display()
    warnings = []
    for limit in limits:
        peak, at = pacing.busiest(planned, limit)
        if peak <= limit.points or at is None:
            continue
        window = pacing.window_text(limit.window)
        if limit.window < timedelta(days=1):
            when = f" in the {window} from {at.astimezone(channel.zone):%H:%M}"
        else:
            when = ""
        warnings.append(
            f"{channel} on {day:%A %d %B %Y}: the posts planned{when} spend {peak:,} "
            f"{limit.unit}, more than {pacing.budget_text(label, limit)} for this account. "
            "Socialdesk will hold some back until there is room, so they will go out late; "
            "spread them out to keep their times."
        )
    return warnings


def _with_warnings(deliveries: list[Delivery]) -> ScheduledDeliveries:
    warnings: list[str] = []
    seen: set[tuple[int, date]] = set()
    for delivery in deliveries:
        if delivery.scheduled_at is None:
            continue
        key = (delivery.channel_id, delivery.scheduled_at.astimezone(delivery.channel.zone).date())
        if key in seen:
            continue
        seen.add(key)
        warnings += budget_warnings(delivery.channel, key[1])
    return ScheduledDeliveries(deliveries, warnings)


# --- The operations -----------------------------------------------------------------------


def _deliveries(target: Delivery | Post, states: tuple[str, ...]) -> list[Delivery]:
    if isinstance(target, Post):
        rows = list(target.deliveries.select_related("channel", "workspace", "post").order_by("id"))
        chosen = [d for d in rows if d.state in states]
        if not chosen:
            raise ValidationError(
                {"deliveries": ["This post has no delivery that can be changed this way."]}
            )
        return chosen
    delivery = (
        Delivery.objects.select_related("channel", "workspace", "post").filter(pk=target.pk).first()
    )
    if delivery is None:
        raise ValidationError({"delivery": ["This delivery no longer exists."]})
    if delivery.state not in states:
        raise ValidationError(
            {
                "state": [
                    f"The delivery to {delivery.channel} is "
                    f"{delivery.get_state_display().lower()}; this cannot be done now."
                ]
            }
        )
    return [delivery]


def _merge(errors: dict[str, list[str]], more: dict[str, list[str]]) -> None:
    for name, messages in more.items():
        for message in messages:
            if message not in errors.setdefault(name, []):
                errors[name].append(message)


def _move_all(
    plan: list[tuple[Delivery, datetime | None]],
    to: DeliveryState,
    reason: str,
    actor: Actor,
    run_now: bool = False,
) -> list[Delivery]:
    """Apply the moves in one transaction; a delivery a worker took meanwhile undoes all."""
    with transaction.atomic():
        for delivery, when in plan:
            fields: dict = {"scheduled_at": when}
            if to == S.SCHEDULED:
                fields.update(retry_at=None, last_error="", attempts=0)
            try:
                transition(delivery, to, reason, actor, **fields)
            except TransitionConflict:
                raise ValidationError(
                    {"state": [f"The delivery to {delivery.channel} changed meanwhile; reload."]}
                ) from None
            if to == S.SCHEDULED:
                enqueue_delivery(delivery, run_after=None if run_now else when)
    return [delivery for delivery, _ in plan]


def _when(local: datetime, zone: zoneinfo.ZoneInfo, fold: int | None, offset, now: datetime):
    utc = to_utc(local, zone, fold=fold, offset=offset)
    if utc <= now:
        shown = local.astimezone(zone) if timezone.is_aware(local) else local
        raise ValidationError(
            {
                "scheduled_at": [
                    f"{shown:%Y-%m-%d %H:%M} in {zone.key} is in the past (it is now "
                    f"{now.astimezone(zone):%Y-%m-%d %H:%M} there); choose a later time."
                ]
            }
        )
    return utc


def _schedule(
    deliveries: list[Delivery],
    local_datetime: datetime,
    zone: zoneinfo.ZoneInfo | str | None,
    actor: Actor,
    fold: int | None,
    offset: timedelta | str | None,
    now: datetime | None,
    reason: str,
) -> ScheduledDeliveries:
    now = now or timezone.now()
    chosen_zone = zone_named(zone)
    errors: dict[str, list[str]] = {}
    plan: list[tuple[Delivery, datetime | None]] = []
    for delivery in deliveries:
        try:
            when = _when(local_datetime, chosen_zone or delivery.channel.zone, fold, offset, now)
        except WallClockError:
            raise
        except ValidationError as exc:
            _merge(errors, exc.message_dict)
            continue
        _merge(errors, send_problems(delivery))
        plan.append((delivery, when))
    if errors:
        raise ValidationError(errors)
    return _with_warnings(_move_all(plan, S.SCHEDULED, reason, actor))


def schedule(
    target: Delivery | Post,
    local_datetime: datetime,
    zone: zoneinfo.ZoneInfo | str | None = None,
    actor: Actor = None,
    *,
    fold: int | None = None,
    offset: timedelta | str | None = None,
    now: datetime | None = None,
) -> ScheduledDeliveries:
    """Schedule (or move) deliveries to the wall-clock ``local_datetime``.

    The zone is ``zone``, else each delivery's channel zone, else the workspace's: so a
    post on two channels in two zones goes out at that wall-clock time in each. Refuses a
    time in a gap or a repeated time without ``fold``/``offset``, a time in the past, a
    channel that is not connected, content the network refuses, and a post that needs an
    approval it lacks. On success the deliveries are ``scheduled`` at the UTC instant and
    a task is queued to run at that instant. A post means its draft and scheduled
    deliveries. Returns the deliveries, with ``warnings`` when a day's plan for a channel
    would exceed its network's budget (``budget_warnings``): warnings, not refusals.
    """
    deliveries = _deliveries(target, UNSENT)
    return _schedule(deliveries, local_datetime, zone, actor, fold, offset, now, "scheduled")


def reschedule(
    target: Delivery | Post,
    local_datetime: datetime,
    zone: zoneinfo.ZoneInfo | str | None = None,
    actor: Actor = None,
    *,
    fold: int | None = None,
    offset: timedelta | str | None = None,
    now: datetime | None = None,
) -> ScheduledDeliveries:
    """Move scheduled deliveries to another time, with the same checks as ``schedule``.

    A post means its scheduled deliveries only; its drafts stay drafts.
    """
    deliveries = _deliveries(target, (S.SCHEDULED,))
    return _schedule(deliveries, local_datetime, zone, actor, fold, offset, now, "rescheduled")


def unschedule(target: Delivery | Post, actor: Actor = None) -> list[Delivery]:
    """Take scheduled deliveries back to draft; any queued task then finds nothing to do."""
    deliveries = _deliveries(target, (S.SCHEDULED,))
    return _move_all([(d, None) for d in deliveries], S.DRAFT, "unscheduled", actor)


def cancel(target: Delivery | Post, actor: Actor = None) -> list[Delivery]:
    """Cancel scheduled deliveries for good (they keep their time, for the record)."""
    deliveries = _deliveries(target, (S.SCHEDULED,))
    return _move_all([(d, d.scheduled_at) for d in deliveries], S.CANCELLED, "cancelled", actor)


def publish_now(
    target: Delivery | Post, actor: Actor = None, *, now: datetime | None = None
) -> ScheduledDeliveries:
    """Schedule deliveries for now and queue them at once, with the same send checks."""
    now = now or timezone.now()
    deliveries = _deliveries(target, UNSENT)
    errors: dict[str, list[str]] = {}
    for delivery in deliveries:
        _merge(errors, send_problems(delivery))
    if errors:
        raise ValidationError(errors)
    return _with_warnings(
        _move_all([(d, now) for d in deliveries], S.SCHEDULED, "publish now", actor, run_now=True)
    )


# Language tags as BCP 47 writes them: "fr", "pt-BR", "zh-Hant-TW".
_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


def set_delivery_details(
    delivery: Delivery,
    *,
    language: str | None = None,
    visibility: str | None = None,
    content_warning: str | None = None,
) -> Delivery:
    """Set what some networks add to a post (None: leave as it is): the text's language, and
    on Mastodon the visibility and the content warning. Only a delivery that has not gone out
    may change; a scheduled one is checked again against its network's rules (a content
    warning counts towards Mastodon's length), and nothing is saved when it is refused."""
    from socialdesk.networks.mastodon import VISIBILITIES

    errors: dict[str, list[str]] = {}
    if delivery.state not in UNSENT:
        errors["delivery"] = [
            f"This delivery is {delivery.get_state_display().lower()}; only one that has not "
            "gone out yet can change."
        ]
    changed = []
    if language is not None:
        language = language.strip()
        if language and not _LANGUAGE_TAG.match(language):
            errors["language"] = [f"{language!r} is not a language tag; use e.g. en, fr or pt-BR."]
        delivery.language = language
        changed.append("language")
    if visibility is not None:
        if visibility and visibility not in VISIBILITIES:
            errors["visibility"] = [f"Visibility must be one of {', '.join(VISIBILITIES)}."]
        delivery.visibility = visibility
        changed.append("visibility")
    if content_warning is not None:
        content_warning = content_warning.strip()
        if len(content_warning) > 500:
            errors["content_warning"] = [
                f"The content warning is {len(content_warning)} characters; the limit is 500."
            ]
        delivery.content_warning = content_warning
        changed.append("content_warning")
    if not errors and delivery.state == S.SCHEDULED:
        _merge(errors, content_problems(delivery))
    if errors:
        delivery.refresh_from_db(fields=["language", "visibility", "content_warning"])
        raise ValidationError(errors)
    if changed:
        delivery.save(update_fields=[*changed, "updated_at"])
    return delivery
