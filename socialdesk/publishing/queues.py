"""Queues: a channel's weekly time slots, filled in order by the posts waiting in its queue
(issue 5, item 4).

A slot is a wall-clock time in the channel's zone (``Slot``), so a 09:00 slot is 09:00 local
on both sides of a daylight-saving change. On the days the clocks change, ``wallclock``'s
stated rule applies (``SLOT_RULE``, shown on the queue page with each coming day it moves a
slot, ``clock_notes``): an occurrence the clocks skip moves later by the length of the jump,
one they show twice takes the earlier reading. Nobody is there to choose, and no occurrence
is dropped or doubled.

The queue is an ordered list of ``QueueEntry`` rows. ``refill`` is the one place that gives
their deliveries times: while the queue runs, entry N gets the N-th free slot occurrence
from now (free = no other scheduled delivery of the channel at that instant), through
``services.schedule``, so permissions' business rules (connected channel, content the network
accepts, approval) are the scheduling service's. While the queue is paused, or when no slot
is free, entries wait as drafts and keep their place.

Evergreen entries come back: once published, a copy of the post (next variant's text) joins
the end of the queue, not earlier than ``interval_days`` after publication.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from socialdesk.networks.models import Channel

from . import checks, services, wallclock
from .models import WEEKDAYS, Delivery, DeliveryState, Queue, QueueEntry, Slot

S = DeliveryState
logger = logging.getLogger(__name__)
# How far ahead the queue looks for free slots; entries beyond it wait as drafts.
HORIZON = timedelta(days=366)
# A slot closer than this to now is not offered: the person needs time to change their mind,
# and the scheduling service refuses times in the past.
LEAD = timedelta(minutes=1)
MAX_SLOTS = 100
MAX_VARIANTS = 20
# Deliveries that hold a time of their channel: a queued post never lands on top of one.
HOLDS_TIME = (S.SCHEDULED, S.AWAITING_APPROVAL, S.PUBLISHING, S.WAITING_RETRY, S.UNKNOWN)
WEEKDAY_CHOICES = list(enumerate(WEEKDAYS))

Actor = services.Actor
# The rule of ``wallclock.slot_instant``, in the words the queue page uses.
SLOT_RULE = (
    "Slots follow the wall clock. When the clocks go forward, a slot in the skipped time goes "
    "out later by the length of the jump (02:30 becomes 03:30 when they jump from 02:00 to "
    "03:00); when they go back, a slot in the repeated time goes out once, at the earlier "
    "reading."
)


@dataclass
class Refilled:
    """What ``refill`` did: the entries in order and sentences for the person."""

    entries: list[QueueEntry]
    warnings: list[str] = field(default_factory=list)


# --- Slots --------------------------------------------------------------------------------


def parse_slot(weekday: int | str, at: time | str) -> tuple[int, time]:
    """A (weekday, wall-clock time) pair from a form or the API, or a ValidationError."""
    try:
        day = int(weekday)
    except (TypeError, ValueError):
        day = -1
    if not 0 <= day <= 6:
        raise ValidationError({"weekday": ["Choose a weekday from 0 (Monday) to 6 (Sunday)."]})
    if isinstance(at, str):
        try:
            at = time.fromisoformat(at.strip())
        except ValueError:
            raise ValidationError({"time": [f"{at!r} is not a time; write it as 09:30."]}) from None
    if at.tzinfo is not None:
        # A slot recurs on the channel's wall clock; a fixed UTC offset would be right for only
        # part of the year where the clocks change, so it is refused rather than dropped.
        raise ValidationError(
            {
                "time": [
                    "A slot is a time on the channel's wall clock: write it without a UTC "
                    "offset, e.g. 09:30."
                ]
            }
        )
    return day, at.replace(second=0, microsecond=0)


def set_slots(
    channel: Channel,
    slots: list[tuple[int, time]],
    actor: Actor = None,
    *,
    now: datetime | None = None,
) -> list[Slot]:
    """Replace the channel's weekly slots (duplicates collapse), then refill its queue."""
    wanted = sorted({parse_slot(day, at) for day, at in slots})
    if len(wanted) > MAX_SLOTS:
        raise ValidationError({"slots": [f"At most {MAX_SLOTS} slots a week per channel."]})
    with transaction.atomic():
        Slot.objects.filter(channel=channel).delete()
        Slot.objects.bulk_create(
            Slot(workspace_id=channel.workspace_id, channel=channel, weekday=day, time=at)
            for day, at in wanted
        )
        refill(channel, actor, now=now)
    return list(Slot.objects.filter(channel=channel))


def occurrences(
    channel: Channel, after: datetime, until: datetime, slots: list[Slot] | None = None
) -> Iterator[datetime]:
    """Every slot occurrence of ``channel`` in (after, until], in UTC, in order."""
    for instant, _ in _occurrences(channel, after, until, slots):
        yield instant


def clock_notes(
    channel: Channel, after: datetime, until: datetime, slots: list[Slot] | None = None
) -> list[str]:
    """What ``SLOT_RULE`` does to the slot occurrences in (after, until], one sentence each
    (``"02:30 does not exist on Sun 28 Mar 2027 (…): this slot goes out at 03:30."``), in
    order; empty when no change of the clocks touches a slot."""
    return [note for _, note in _occurrences(channel, after, until, slots) if note]


def _occurrences(
    channel: Channel, after: datetime, until: datetime, slots: list[Slot] | None
) -> Iterator[tuple[datetime, str]]:
    """(instant, note) per slot occurrence in (after, until], in order; ``wallclock.slot_instant``
    reads each, so the rule is the same wherever a slot time is computed."""
    slots = list(Slot.objects.filter(channel=channel)) if slots is None else slots
    if not slots:
        return
    zone = channel.zone
    by_day: dict[int, list[time]] = {}
    for slot in slots:
        by_day.setdefault(slot.weekday, []).append(slot.time)
    day: date = after.astimezone(zone).date()
    last = until.astimezone(zone).date()
    # Moved slots can overtake others (02:30 moved to 03:30 comes after a 03:15 slot; a
    # 23:30 moved past midnight, after the next day's 00:15): an occurrence is given once no
    # later day can bring an earlier one, i.e. once it is before that day's first instant.
    pending: list[tuple[datetime, str]] = []
    while day <= last:
        for at in by_day.get(day.weekday(), []):
            instant, note = wallclock.slot_instant(day, at, zone)
            if after < instant <= until:
                pending.append((instant, note))
        pending.sort()
        day += timedelta(days=1)
        # fold=0: the day's first reading, also where midnight is skipped or repeated.
        next_day = datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)
        while pending and pending[0][0] < next_day:
            yield pending.pop(0)
    yield from pending


def _taken(channel: Channel, after: datetime, until: datetime, exclude: set[int]) -> set[datetime]:
    """The instants in (after, until] that deliveries of the channel already hold."""
    return set(
        Delivery.objects.filter(
            channel=channel,
            state__in=HOLDS_TIME,
            scheduled_at__gt=after,
            scheduled_at__lte=until,
        )
        .exclude(pk__in=exclude)
        .values_list("scheduled_at", flat=True)
    )


def free_slots(
    channel: Channel,
    start: datetime,
    end: datetime,
    now: datetime | None = None,
    *,
    taken: set[datetime] | None = None,
    slots: list[Slot] | None = None,
) -> list[datetime]:
    """Slot occurrences in [start, end) that no delivery of the channel holds (the queue's
    own scheduled entries hold theirs), not earlier than now: what the calendar shows.

    ``taken``: the times the channel's deliveries in [start, end) hold (states
    ``HOLDS_TIME``), when the caller has already read them; asked of the database otherwise.
    ``slots``: the channel's slots, when the caller has already read them.
    """
    now = now or timezone.now()
    after = max(start - timedelta(microseconds=1), now + LEAD)
    if taken is None:
        taken = _taken(channel, after, end, exclude=set())
    return [at for at in occurrences(channel, after, end, slots) if at < end and at not in taken]


# --- The queue ----------------------------------------------------------------------------


def queue_for(channel: Channel, *, lock: bool = False) -> Queue:
    queue, _ = Queue.objects.get_or_create(
        channel=channel, defaults={"workspace_id": channel.workspace_id}
    )
    if lock:
        # Serializes refills of one channel, so two people adding at once never share a slot.
        queue = Queue.objects.select_for_update().get(pk=queue.pk)
    return queue


def waiting(channel: Channel) -> list[QueueEntry]:
    """The channel's entries still to be published, in order."""
    return list(
        QueueEntry.objects.filter(channel=channel, delivery__state__in=services.UNSENT)
        .select_related("delivery", "delivery__post", "delivery__channel")
        .order_by("position", "id")
    )


def refill(channel: Channel, actor: Actor = None, *, now: datetime | None = None) -> Refilled:
    """Give the waiting entries the next free slot occurrences in order (see the module
    docstring); paused, or with no free slot, they wait as drafts. One transaction."""
    now = now or timezone.now()
    warnings: list[str] = []
    with transaction.atomic():
        queue = queue_for(channel, lock=True)
        requeue_evergreens(channel, now=now)
        entries = waiting(channel)
        plan: dict[int, datetime | None] = {e.pk: None for e in entries}
        if not queue.paused:
            after = now + LEAD
            horizon = now + HORIZON
            taken = _taken(channel, after, horizon, exclude={e.delivery_id for e in entries})
            free = [t for t in occurrences(channel, after, horizon) if t not in taken]
            for entry in entries:
                floor = entry.not_before or after
                chosen = next((t for t in free if t >= floor), None)
                if chosen is None:
                    continue
                plan[entry.pk] = chosen
                free.remove(chosen)
        for entry in entries:
            warnings += _apply(entry, plan[entry.pk], actor, now)
        if entries and not queue.paused and all(when is None for when in plan.values()):
            warnings.append(
                f"{channel} has no free slot in its queue; add time slots to give the "
                "waiting posts a time."
            )
    return Refilled(entries, warnings)


def _apply(entry: QueueEntry, when: datetime | None, actor: Actor, now: datetime) -> list[str]:
    delivery = entry.delivery
    if when is None:
        if delivery.state in services.TIMED:
            services.unschedule(delivery, actor)
        return []
    if delivery.state in services.TIMED and delivery.scheduled_at == when:
        return []
    try:
        done = services.schedule(delivery, when, actor=actor, now=now)
    except ValidationError as exc:
        # This post cannot go out (e.g. not approved): it waits, and the slot stays free
        # for the next refill. Said, not raised, so one bad post never blocks a queue.
        return [f"{delivery.post}: {' '.join(exc.messages)}"]
    delivery.refresh_from_db(fields=["state", "scheduled_at"])
    return list(done.warnings)


def add_to_queue(
    delivery: Delivery,
    actor: Actor = None,
    *,
    evergreen: bool = False,
    interval_days: int = 30,
    variants: list[str] | None = None,
    now: datetime | None = None,
) -> tuple[QueueEntry, Refilled]:
    """Put an unsent delivery at the end of its channel's queue and give it the next free
    slot. Refuses a delivery that is already on its way or published, and (when the queue
    runs and a slot is free) anything the scheduling service refuses."""
    now = now or timezone.now()
    if delivery.state not in services.UNSENT:
        raise ValidationError(
            {
                "delivery": [
                    f"The delivery to {delivery.channel} is "
                    f"{delivery.get_state_display().lower()}; only drafts and scheduled "
                    "deliveries can be queued."
                ]
            }
        )
    if not 1 <= interval_days <= 3650:
        raise ValidationError({"interval_days": ["Choose an interval from 1 to 3650 days."]})
    texts = [t.strip() for t in (variants or []) if t and t.strip()]
    if len(texts) > MAX_VARIANTS:
        raise ValidationError({"variants": [f"At most {MAX_VARIANTS} variants."]})
    channel = delivery.channel
    with transaction.atomic():
        queue_for(channel, lock=True)
        existing = QueueEntry.objects.filter(delivery=delivery).first()
        if existing is None:
            last = QueueEntry.objects.filter(channel=channel).aggregate(m=Max("position"))["m"]
            entry = QueueEntry.objects.create(
                workspace_id=delivery.workspace_id,
                channel=channel,
                delivery=delivery,
                position=(last or 0) + 1,
                evergreen=evergreen,
                interval_days=interval_days,
                variants=[delivery.text, *texts] if evergreen else [],
            )
        else:
            entry = existing
        result = refill(channel, actor, now=now)
        entry.refresh_from_db()
        delivery.refresh_from_db(fields=["state", "scheduled_at"])
        if not queue_for(channel).paused and delivery.state not in services.TIMED:
            # The queue runs but this post got no time: say why instead of queueing quietly.
            problems = {**checks.rule_problems(delivery), **checks.send_problems(delivery)}
            if problems:
                raise ValidationError(problems)
    return entry, result


def remove_from_queue(
    delivery: Delivery, actor: Actor = None, *, now: datetime | None = None
) -> Refilled:
    """Take a delivery out of its queue (it keeps its time); the rest move up."""
    with transaction.atomic():
        QueueEntry.objects.filter(delivery=delivery).delete()
        return refill(delivery.channel, actor, now=now)


def reorder(
    channel: Channel, delivery_ids: list[int], actor: Actor = None, *, now: datetime | None = None
) -> Refilled:
    """Put the waiting entries in the order of ``delivery_ids`` (all of them, once each);
    the slot times are then dealt out again in the new order."""
    with transaction.atomic():
        queue_for(channel, lock=True)
        entries = {e.delivery_id: e for e in waiting(channel)}
        if sorted(delivery_ids) != sorted(entries) or len(set(delivery_ids)) != len(delivery_ids):
            raise ValidationError(
                {
                    "delivery_ids": [
                        "List every waiting delivery of this queue exactly once; the queue "
                        f"holds {', '.join(map(str, sorted(entries))) or 'none'}."
                    ]
                }
            )
        for position, delivery_id in enumerate(delivery_ids, start=1):
            QueueEntry.objects.filter(pk=entries[delivery_id].pk).update(position=position)
        return refill(channel, actor, now=now)


def move(
    channel: Channel,
    delivery_id: int,
    offset: int,
    actor: Actor = None,
    *,
    now: datetime | None = None,
) -> Refilled:
    """Move one waiting entry up (offset -1) or down (+1): the no-JS reorder buttons."""
    order = [e.delivery_id for e in waiting(channel)]
    if delivery_id not in order:
        raise ValidationError({"delivery": ["This post is not waiting in this queue."]})
    index = order.index(delivery_id)
    target = min(max(index + offset, 0), len(order) - 1)
    order.insert(target, order.pop(index))
    return reorder(channel, order, actor, now=now)


def set_paused(
    channel: Channel, paused: bool, actor: Actor = None, *, now: datetime | None = None
) -> Refilled:
    """Pause (waiting posts go back to drafts, keeping their place) or resume the queue."""
    with transaction.atomic():
        queue = queue_for(channel, lock=True)
        if queue.paused != paused:
            queue.paused = paused
            queue.save(update_fields=["paused"])
        return refill(channel, actor, now=now)


def requeue_evergreens(channel: Channel, *, now: datetime | None = None) -> list[QueueEntry]:
    """For each published evergreen entry of ``channel`` not yet requeued: a copy of its
    post, with the next variant's text, at the end of the queue, not before the interval
    has passed. Called by ``refill``; the copy gets its slot in that same refill."""
    from .planning import copy_post  # planning imports this module

    now = now or timezone.now()
    done = QueueEntry.objects.filter(
        channel=channel, evergreen=True, requeued=False, delivery__state=S.PUBLISHED
    ).select_related("delivery", "delivery__post")
    created = []
    for entry in done:
        texts = entry.variants or [entry.delivery.text]
        index = (entry.variant_index + 1) % len(texts)
        post = copy_post(entry.delivery.post, channel, text=texts[index])
        published = entry.delivery.published_at or now
        last = QueueEntry.objects.filter(channel=channel).aggregate(m=Max("position"))["m"]
        created.append(
            QueueEntry.objects.create(
                workspace_id=channel.workspace_id,
                channel=channel,
                delivery=post.deliveries.get(channel=channel),
                position=(last or 0) + 1,
                evergreen=True,
                interval_days=entry.interval_days,
                variants=entry.variants,
                variant_index=index,
                not_before=published + timedelta(days=entry.interval_days),
            )
        )
        QueueEntry.objects.filter(pk=entry.pk).update(requeued=True)
    return created


# The worker's heartbeat brings published evergreen posts back: refilling is cheap, but there
# is no need to look more often than this.
EVERGREEN_EVERY = timedelta(minutes=10)
_last_evergreen_run: datetime | None = None


def on_heartbeat(now: datetime | None = None) -> int:
    """Refill every queue with a published evergreen post waiting to come back, at most every
    ``EVERGREEN_EVERY``; the number of queues refilled. Never raises: the loop must go on."""
    global _last_evergreen_run
    now = now or timezone.now()
    if _last_evergreen_run is not None and now - _last_evergreen_run < EVERGREEN_EVERY:
        return 0
    _last_evergreen_run = now
    due = QueueEntry.objects.filter(evergreen=True, requeued=False, delivery__state=S.PUBLISHED)
    refilled = 0
    for channel in Channel.objects.filter(pk__in=due.values("channel_id")):
        try:
            refill(channel, "system: evergreen queue", now=now)
            refilled += 1
        except Exception:
            logger.exception("Could not bring evergreen posts back into %s's queue", channel)
    return refilled
