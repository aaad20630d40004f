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
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from socialdesk.bulk_rows import BulkRows
from socialdesk.content.models import Post
from socialdesk.networks.models import Channel
from socialdesk.workspaces.models import User, Workspace

from . import pacing
from .checks import (
    approval_missing,
    channel_problem,
    content_problems,
    rule_problems,
    schedule_problems,
    send_problems,
)
from .connectors import connector_for, content_for, problem_text
from .models import (
    APPROVAL_HELD,
    APPROVAL_RESUMED,
    Delivery,
    DeliveryKind,
    DeliveryState,
    DeliveryTransition,
    new_idempotency_key,
)
from .states import TransitionConflict, actor_label, allowed, transition
from .tasks import enqueue_delivery, enqueue_many
from .wallclock import WallClockError, slot_instant, to_utc, zone_named

S = DeliveryState
# A delivery in one of these states can still be given a time, moved or taken back.
UNSENT = (S.DRAFT, S.SCHEDULED, S.AWAITING_APPROVAL)
# A delivery in one of these states has a time that has not come yet.
TIMED = (S.SCHEDULED, S.AWAITING_APPROVAL)

# A person, or a string naming the machinery ("system: cli"); see states.transition.
Actor = User | str | None


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


@dataclass
class _Move:
    delivery: Delivery
    when: datetime | None
    zone: str = ""
    to: DeliveryState | None = None  # None: the state the whole plan moves to


def _move_all(
    plan: list[_Move], to: DeliveryState, reason: str, actor: Actor, run_now: bool = False
) -> list[Delivery]:
    """Apply the moves in one transaction; a delivery a worker took meanwhile undoes all."""
    with transaction.atomic():
        for move in plan:
            delivery = move.delivery
            target = move.to or to
            fields: dict = {"scheduled_at": move.when}
            if target in TIMED:
                fields.update(retry_at=None, last_error="", attempts=0, time_zone=move.zone)
            try:
                transition(delivery, target, reason, actor, **fields)
            except TransitionConflict:
                raise ValidationError(
                    {"state": [f"The delivery to {delivery.channel} changed meanwhile; reload."]}
                ) from None
            if target == S.SCHEDULED:
                enqueue_delivery(delivery, run_after=None if run_now else move.when)
    return [move.delivery for move in plan]


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
    plan: list[_Move] = []
    unchanged: list[Delivery] = []
    for delivery in deliveries:
        read_in = chosen_zone or delivery.channel.zone
        try:
            when = _when(local_datetime, read_in, fold, offset, now)
        except WallClockError:
            raise
        except ValidationError as exc:
            _merge(errors, exc.message_dict)
            continue
        _merge(errors, schedule_problems(delivery))
        _merge(errors, rule_problems(delivery))
        _plan(plan, unchanged, delivery, when, read_in.key)
    if errors:
        raise ValidationError(errors)
    return _timed(plan, unchanged, reason, actor)


def _plan(
    plan: list[_Move], unchanged: list[Delivery], delivery: Delivery, when: datetime, zone: str
) -> None:
    """Add the move giving ``delivery`` its time: scheduled, or waiting for approval when its
    post still needs one (``checks.approval_missing``); nothing when it is already there."""
    to = S.AWAITING_APPROVAL if approval_missing(delivery) else S.SCHEDULED
    if delivery.state == to and delivery.scheduled_at == when:
        unchanged.append(delivery)  # nothing moves, nothing to record
    else:
        plan.append(_Move(delivery, when, zone, to))


def _timed(
    plan: list[_Move], unchanged: list[Delivery], reason: str, actor: Actor
) -> ScheduledDeliveries:
    """Apply a plan of ``_plan``'s moves; warn when the post waits for approval."""
    done = _with_warnings([*_move_all(plan, S.SCHEDULED, reason, actor), *unchanged])
    if any(d.state == S.AWAITING_APPROVAL for d in done):
        done.warnings.insert(0, WAITS_FOR_APPROVAL)
    return done


WAITS_FOR_APPROVAL = (
    "This post is not approved yet: it waits for approval and goes out at its time only once "
    "it is approved."
)


def schedule(
    target: Delivery | Post,
    local_datetime: datetime,
    zone: zoneinfo.ZoneInfo | str | None = None,
    actor: Actor = None,
    *,
    fold: int | None = None,
    offset: timedelta | str | None = None,
    now: datetime | None = None,
    reason: str = "scheduled",
) -> ScheduledDeliveries:
    """Schedule (or move) deliveries to the wall-clock ``local_datetime``.

    The zone is ``zone``, else each delivery's channel's own zone, else the workspace's: so a
    post on two channels in two zones goes out at that wall-clock time in each; the zone used
    is kept on each delivery (``time_zone``). An aware ``local_datetime`` is that instant.
    Refuses a time in a gap or a repeated time without ``fold``/``offset``
    (``wallclock.WallClockError``, naming the choices), a time in the past, a channel that is
    not connected, content the network refuses (``checks.schedule_problems``), and text the
    workspace's rules forbid (``checks.rule_problems``: banned phrases, hashtag range, length
    per network). On success the deliveries are ``scheduled`` at the UTC instant and a task
    is queued to run then; a post that still needs approval (``checks.approval_missing``)
    gets its time but waits (``awaiting_approval``, no task: the engine never sends it). A
    post means its unsent deliveries. Returns the deliveries, with ``warnings``: that the
    post waits for approval, and when a day's plan for a channel would exceed its network's
    budget (``budget_warnings``): warnings, not refusals.
    """
    deliveries = _deliveries(target, UNSENT)
    return _schedule(deliveries, local_datetime, zone, actor, fold, offset, now, reason)


def reschedule(
    target: Delivery | Post,
    local_datetime: datetime,
    zone: zoneinfo.ZoneInfo | str | None = None,
    actor: Actor = None,
    *,
    fold: int | None = None,
    offset: timedelta | str | None = None,
    now: datetime | None = None,
    anchor: Delivery | None = None,
) -> ScheduledDeliveries:
    """Move scheduled deliveries to another time, with the same checks as ``schedule``.

    A post means its scheduled (or waiting) deliveries only; its drafts stay drafts. Without
    ``anchor`` they all get the wall-clock time ``local_datetime``. With ``anchor`` (one of
    the post's deliveries; what the calendar sends when a person drags one channel's copy) the
    post moves as one: the anchor goes to ``local_datetime`` and every other timed delivery
    moves by the same wall-clock amount (``schedule_alongside``), so copies that shared a
    wall-clock time share the new one and copies that were apart stay as far apart.
    """
    deliveries = _deliveries(target, TIMED)
    if anchor is not None and isinstance(target, Post):
        if anchor.pk not in {d.pk for d in deliveries}:
            raise ValidationError(
                {"delivery": ["This delivery is not a scheduled one of the post."]}
            )
        anchor = next(d for d in deliveries if d.pk == anchor.pk)
        pairs = [(d, d) for d in deliveries]
        return schedule_alongside(
            pairs, anchor, local_datetime, zone, actor, fold=fold, now=now, reason="rescheduled"
        )
    return _schedule(deliveries, local_datetime, zone, actor, fold, offset, now, "rescheduled")


def _own_zone(delivery: Delivery) -> zoneinfo.ZoneInfo:
    """The zone a delivery's time was read in (kept on it), else its channel's."""
    return zone_named(delivery.time_zone or None) or delivery.channel.zone


def schedule_alongside(
    pairs: list[tuple[Delivery, Delivery]],
    anchor: Delivery,
    local_datetime: datetime,
    zone: zoneinfo.ZoneInfo | str | None = None,
    actor: Actor = None,
    *,
    fold: int | None = None,
    now: datetime | None = None,
    reason: str = "rescheduled",
) -> ScheduledDeliveries:
    """Give several deliveries new times that keep the pattern of existing ones.

    ``pairs`` are (source, target): each target (draft or scheduled) is scheduled at its
    source's time shifted by the amount ``anchor`` (one of the sources) moves. The target of
    the anchor goes to ``local_datetime``, read as ``schedule`` reads it (in ``zone``, else
    the anchor's channel's; ``fold``; an aware time is that instant; a time in a gap or a
    repeated time without ``fold`` is refused with the choices). The shift is measured on the
    wall clock of the anchor's own zone (days and hours), and applied to each other source
    on the wall clock of *its* own zone: a Bluesky copy and a page copy both at Monday 09:00
    Paris move to Wednesday 09:00 Paris, and a copy at 09:00 New York to Wednesday 09:00
    New York, whatever daylight saving does in between. A shifted time the clocks skip or
    repeat follows the queue slots' stated rule (``wallclock.slot_instant``), with a warning.
    A source without a time gives its target the anchor's new instant.

    All or nothing: every target is checked (in the future, channel, content) before any is
    written (a post still needing approval gets its times and waits for it), in one
    transaction. Used by the calendar's drag (sources and targets the same) and by
    duplicating a post (targets are the copy's deliveries).
    """
    now = now or timezone.now()
    read_in = zone_named(zone) or anchor.channel.zone
    new_anchor = _when(local_datetime, read_in, fold, None, now)
    anchor_zone = _own_zone(anchor)
    shift = timedelta()
    if anchor.scheduled_at is not None:
        before = anchor.scheduled_at.astimezone(anchor_zone).replace(tzinfo=None)
        shift = new_anchor.astimezone(anchor_zone).replace(tzinfo=None) - before
    errors: dict[str, list[str]] = {}
    notes: list[str] = []
    plan: list[_Move] = []
    unchanged: list[Delivery] = []
    for source, target in pairs:
        own = _own_zone(source)
        if source.pk == anchor.pk or source.scheduled_at is None:
            when, kept = new_anchor, (read_in.key if source.pk == anchor.pk else own.key)
        else:
            wall = source.scheduled_at.astimezone(own).replace(tzinfo=None) + shift
            when, note = slot_instant(wall.date(), wall.time(), own)
            kept = own.key
            if note:
                notes.append(f"{target.channel}: {note}")
            if when <= now:
                errors.setdefault("scheduled_at", []).append(
                    f"{target.channel} would move to {wall:%Y-%m-%d %H:%M} ({own.key}), which is "
                    "in the past; choose a later time."
                )
                continue
        _merge(errors, schedule_problems(target))
        _merge(errors, rule_problems(target))
        _plan(plan, unchanged, target, when, kept)
    if errors:
        raise ValidationError(errors)
    moved = _timed(plan, unchanged, reason, actor)
    moved.warnings[:0] = notes
    return moved


def restore_times(
    post: Post, instants: dict[int, datetime], actor: Actor = None, *, now: datetime | None = None
) -> ScheduledDeliveries:
    """Put scheduled deliveries of ``post`` back on exact instants (``{delivery id: aware
    datetime}``): the calendar's undo of a move, all together or none. Each keeps the zone
    it was read in. Refuses an id that is not a scheduled delivery of the post and an
    instant in the past, as ``schedule`` does."""
    now = now or timezone.now()
    deliveries = {d.pk: d for d in _deliveries(post, TIMED)}
    errors: dict[str, list[str]] = {}
    plan: list[_Move] = []
    for pk, when in instants.items():
        delivery = deliveries.get(pk)
        if delivery is None:
            errors.setdefault("delivery", []).append(
                f"Delivery {pk} is not a scheduled delivery of this post any more."
            )
            continue
        own = _own_zone(delivery)
        try:
            utc = _when(when, own, None, None, now)
        except ValidationError as exc:
            _merge(errors, exc.message_dict)
            continue
        _merge(errors, schedule_problems(delivery))
        _plan(plan, [], delivery, utc, own.key)
    if errors:
        raise ValidationError(errors)
    return _timed(plan, [], "move undone", actor)


def unschedule(
    target: Delivery | Post, actor: Actor = None, *, reason: str = "unscheduled"
) -> list[Delivery]:
    """Take scheduled deliveries back to draft; any queued task then finds nothing to do."""
    deliveries = _deliveries(target, TIMED)
    return _move_all([_Move(d, None) for d in deliveries], S.DRAFT, reason, actor)


def cancel(target: Delivery | Post, actor: Actor = None) -> list[Delivery]:
    """Cancel scheduled deliveries for good (they keep their time, for the record)."""
    deliveries = _deliveries(target, TIMED)
    plan = [_Move(d, d.scheduled_at, d.time_zone) for d in deliveries]
    return _move_all(plan, S.CANCELLED, "cancelled", actor)


def publish_now(
    target: Delivery | Post, actor: Actor = None, *, now: datetime | None = None
) -> ScheduledDeliveries:
    """Schedule deliveries for now and queue them at once, with the same send checks."""
    now = now or timezone.now()
    deliveries = _deliveries(target, UNSENT)
    errors: dict[str, list[str]] = {}
    for delivery in deliveries:
        _merge(errors, send_problems(delivery))
        _merge(errors, rule_problems(delivery))
    if errors:
        raise ValidationError(errors)
    plan = [_Move(d, now, d.channel.zone.key) for d in deliveries]
    return _with_warnings(_move_all(plan, S.SCHEDULED, "publish now", actor, run_now=True))


# Deliveries in these states may leave a post when a person takes a channel off it.
REMOVABLE = (S.DRAFT, S.SCHEDULED, S.CANCELLED)


def set_channels(post: Post, channels: list[Channel], actor: Actor = None) -> list[Delivery]:
    """Make the post's deliveries match ``channels``: a draft delivery for each new channel;
    a delivery whose channel is no longer wanted is deleted if it never went out, and refused
    otherwise (nothing is changed then). A new delivery joining a scheduled post gets the
    post's time, read as the exact instant the others have. Returns the new deliveries."""
    existing = {d.channel_id: d for d in post.deliveries.select_related("channel")}
    wanted = {c.pk for c in channels}
    leaving = [d for channel_id, d in existing.items() if channel_id not in wanted]
    for delivery in leaving:
        if delivery.state not in REMOVABLE:
            state = delivery.get_state_display().lower()
            message = f"The delivery to {delivery.channel} is {state} and cannot be removed."
            raise ValidationError({"channel_ids": [message]})
    timed = next((d for d in existing.values() if d.state in TIMED), None)
    with transaction.atomic():
        Delivery.objects.filter(pk__in=[d.pk for d in leaving]).delete()
        added = [
            Delivery.objects.create(workspace_id=post.workspace_id, post=post, channel=channel)
            for channel in channels
            if channel.pk not in existing
        ]
        if timed is not None and timed.scheduled_at is not None:
            for delivery in added:
                schedule(delivery, timed.scheduled_at, timed.time_zone or None, actor)
    return added


def set_post_time(
    post: Post,
    local_datetime: datetime | None,
    zone: zoneinfo.ZoneInfo | str | None = None,
    actor: Actor = None,
    *,
    fold: int | None = None,
    offset: timedelta | str | None = None,
    reason: str = "",
) -> ScheduledDeliveries:
    """Give every unsent delivery of ``post`` the wall-clock time ``local_datetime`` (as
    ``schedule``), or with None take the scheduled ones back to draft. A post without unsent
    deliveries is left as it is. What the editor and the API call when a post's time is set."""
    unsent = [d for d in post.deliveries.all() if d.state in UNSENT]
    if local_datetime is None:
        if any(d.state in TIMED for d in unsent):
            unschedule(post, actor, reason=reason or "unscheduled")
        return ScheduledDeliveries()
    if not unsent:
        return ScheduledDeliveries()
    return schedule(
        post, local_datetime, zone, actor, fold=fold, offset=offset, reason=reason or "scheduled"
    )


def resume_after_approval(post: Post, actor: Actor = None) -> list[Delivery]:
    """Put on schedule the deliveries of ``post`` that wait for approval, if their time is
    still ahead (a passed one is the sweeper's: missed, or sent by the workspace's choice);
    the move is recorded with a reason the post's page shows. The workflow calls this once
    the post is approved."""
    now = timezone.now()
    waiting = post.deliveries.filter(state=S.AWAITING_APPROVAL, scheduled_at__gt=now)
    plan = [_Move(d, d.scheduled_at, d.time_zone) for d in waiting.select_related("channel")]
    return _move_all(plan, S.SCHEDULED, APPROVAL_RESUMED, actor)


def hold_for_approval(post: Post, actor: Actor = None) -> list[Delivery]:
    """Move the scheduled deliveries of ``post`` back to waiting for approval, keeping their
    times: the workflow calls this when the post's approval no longer holds (its content
    changed, or its lane now needs other approvals) while the workspace's gate is on."""
    if not post.workspace.approval_gate:
        return []
    scheduled = post.deliveries.filter(state=S.SCHEDULED).select_related("channel")
    plan = [_Move(d, d.scheduled_at, d.time_zone) for d in scheduled]
    return _move_all(plan, S.AWAITING_APPROVAL, APPROVAL_HELD, actor)


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


# --- The batch form, for imports --------------------------------------------------------


@dataclass(frozen=True)
class PlannedDelivery:
    """One new delivery of a batch: its post and channel, and the UTC instant it is due
    (None: a draft) with the zone that instant was read in."""

    post_id: int
    channel_id: int
    when: datetime | None
    time_zone: str = ""


def schedule_batch(
    workspace: Workspace, planned: list[PlannedDelivery], actor: Actor, reason: str
) -> int:
    """Create many new deliveries at once, each a draft or scheduled: the batch form of
    ``set_channels`` + ``schedule`` for imports, where one call per delivery would take a
    minute for 10,000 posts (``bench/bulk.py``).

    The caller has checked every delivery with the same rules first (``wallclock.to_utc``,
    ``checks``' channel, content and approval rules, a time in the future: ``content.bulk``
    does, row by row). Writes, in the caller's transaction: the delivery rows, a draft →
    scheduled ``DeliveryTransition`` for each timed one (the state graph allows it), and
    after the commit their tasks through ``tasks.enqueue_many``. Returns how many were
    scheduled.
    """
    assert allowed(S.DRAFT, S.SCHEDULED)
    stamp = timezone.now()
    actor_id = actor.pk if isinstance(actor, User) else None
    rows = BulkRows(
        Delivery,
        # ``idempotency_key`` is given per row: BulkRows computes a default once, for all.
        [
            *("post_id", "channel_id", "state", "scheduled_at", "enqueued_for", "time_zone"),
            "idempotency_key",
        ],
        workspace_id=workspace.pk,
    )
    for item in planned:
        rows.add(
            idempotency_key=new_idempotency_key(),
            post_id=item.post_id,
            channel_id=item.channel_id,
            state=S.SCHEDULED if item.when else S.DRAFT,
            scheduled_at=item.when,
            enqueued_for=item.when,
            time_zone=item.time_zone if item.when else "",
        )
    rows.insert()
    times = {(p.post_id, p.channel_id): p.when for p in planned if p.when is not None}
    post_ids = sorted({p.post_id for p in planned})
    scheduled: list[tuple[int, datetime]] = []
    for start in range(0, len(post_ids), 2000):
        for pk, post_id, channel_id in Delivery.objects.filter(
            post_id__in=post_ids[start : start + 2000]
        ).values_list("pk", "post_id", "channel_id"):
            when = times.get((post_id, channel_id))
            if when is not None:
                scheduled.append((pk, when))
    moves = BulkRows(
        DeliveryTransition,
        ["delivery_id"],
        workspace_id=workspace.pk,
        from_state=S.DRAFT,
        to_state=S.SCHEDULED,
        at=stamp,
        reason=reason,
        actor_id=actor_id,
        actor_label=actor_label(actor)[:200],
    )
    for pk, _ in scheduled:
        moves.add(delivery_id=pk)
    moves.insert()
    # As ``enqueue_delivery``: tasks are handed over after the commit, and a refused
    # hand-over leaves the delivery to the sweeper (``enqueued_for``).
    transaction.on_commit(lambda: enqueue_many(scheduled), robust=True)
    return len(scheduled)


# --- History, for the demo ----------------------------------------------------------------

# The moves that bring a new (draft) delivery to each state, through the declared graph.
_PATHS: dict[str, list[DeliveryState]] = {
    S.DRAFT: [],
    S.SCHEDULED: [S.SCHEDULED],
    S.CANCELLED: [S.SCHEDULED, S.CANCELLED],
    S.MISSED: [S.SCHEDULED, S.MISSED],
    S.PUBLISHING: [S.SCHEDULED, S.PUBLISHING],
    S.PUBLISHED: [S.SCHEDULED, S.PUBLISHING, S.PUBLISHED],
    S.FAILED: [S.SCHEDULED, S.PUBLISHING, S.FAILED],
    S.UNKNOWN: [S.SCHEDULED, S.PUBLISHING, S.UNKNOWN],
    S.WAITING_RETRY: [S.SCHEDULED, S.PUBLISHING, S.WAITING_RETRY],
}


def record_history(
    post: Post,
    channel: Channel,
    state: DeliveryState,
    scheduled_at: datetime,
    actor: Actor = "system: demo",
    **fields: Any,
) -> Delivery:
    """Create a delivery that already went through its life up to ``state``, as it would
    have: each move through ``states.transition`` and recorded, timed around
    ``scheduled_at``; ``fields`` (remote id, error, lease …) are set with the last move.
    For the demo, whose month of history must look like a real one; no network is called
    and no task is queued (the sweeper finds any in-flight one when its lease runs out)."""
    delivery = Delivery.objects.create(
        workspace_id=post.workspace_id, post=post, channel=channel, time_zone=channel.zone.key
    )
    path = _PATHS[state]
    for number, to in enumerate(path, start=1):
        changes: dict[str, Any] = dict(fields) if number == len(path) else {}
        if to == S.SCHEDULED:
            changes["scheduled_at"] = scheduled_at
        at = scheduled_at - timedelta(days=2) if to == S.SCHEDULED else scheduled_at
        reason = "scheduled" if to == S.SCHEDULED else f"demo history: {to.label.lower()}"
        transition(delivery, to, reason, actor, at=min(at, timezone.now()), **changes)
    return delivery


# --- The inbox's writes (issue 13, item 3) --------------------------------------------------


def send_inbox_action(
    channel: Channel,
    kind: str,
    target: dict[str, Any],
    *,
    text: str = "",
    actor: Actor = None,
    language: str = "",
    visibility: str = "",
) -> Delivery:
    """Send an inbox write (a reply, like, hide, unhide, or delete of our reply) to
    ``channel`` through the engine: a delivery of that ``kind``, due now, queued.

    Guarantees: what the network refuses (``validate``, no network call) or a channel that
    cannot send is raised as ``ValidationError`` before anything is written; otherwise the
    delivery is created and scheduled in one transaction (the move recorded) and its task
    queued after the commit, so it is claimed, keyed, paced, reconciled and never sent twice
    exactly like a post. The inbox hears how it ended through ``states.delivery_finished``.
    """
    if kind not in DeliveryKind.values or kind == DeliveryKind.POST:
        raise ValidationError({"kind": [f"{kind!r} is not an inbox write."]})
    now = timezone.now()
    delivery = Delivery(
        workspace_id=channel.workspace_id,
        channel=channel,
        kind=kind,
        target=dict(target),
        text_override=text,
        language=language,
        visibility=visibility,
        time_zone=channel.zone.key,
    )
    errors: dict[str, list[str]] = {}
    connector = connector_for(channel)
    if paused := channel_problem(channel):
        # An answer is due now: one that would wait for a reconnection is refused instead.
        errors["channel"] = [paused]
    elif connector is None:
        errors["channel"] = [f"Socialdesk cannot write to {channel.get_network_display()} yet."]
    else:
        for problem in connector.validate(content_for(delivery)):
            name, message = problem_text(problem)
            errors.setdefault(name, []).append(message)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        delivery.save()
        transition(delivery, S.SCHEDULED, f"inbox {kind}: sent now", actor, scheduled_at=now)
        enqueue_delivery(delivery)
    return delivery
