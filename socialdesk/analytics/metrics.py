"""Metric snapshots: which published deliveries are due a reading, reading them from the
networks, and storing what they said (issue 14, item 1).

Each published post delivery (``Delivery.objects``: posts only) is read at fixed ages after
publication (``models.Bucket``: +1 h … +180 d). ``MetricSchedule`` holds, per delivery, the
next bucket and when it is due; ``poll_channel_metrics`` is one poll of one channel, run
under the channel's lease by ``metrics_tasks`` (the worker's heartbeat queues one per channel
with something due, at most one per channel per 30 s). A poll:

1. **enrols** the channel's deliveries published since the last poll (less an overlap):
   each gets a schedule whose first bucket is +1 h, or, for a post already older than that
   (a channel connected with history, a worker that was down), the latest bucket it reached;
2. reads the channel's **followers** once a day (in the channel's zone) into ``ChannelDay``,
   with the number of posts published that day (and the day before, to finish it);
3. reads the **due** deliveries in chunks of ``CHUNK``, each chunk's cost checked and spent
   from the same per-channel budget ledger as publishing and the inbox
   (``publishing.pacing``), with ``Connector.fetch_metrics`` batching as its network allows.

Honest buckets: a reading taken late (the worker was down, the budget was spent) is stored
with its real ``taken_at`` under the latest bucket the post has reached by then, so its age is
``taken_at - published_at`` and never more than one bucket ahead; buckets skipped meanwhile
are not invented. A post the network no longer returns is tried ``MISSES_BEFORE_STOP`` times
an hour apart, then no longer read, with the reason stored.

A channel that needs reconnecting is not read; a refused authorization met while reading
moves the channel to "needs reconnecting" and tells people once, as the inbox does, and the
reason is kept on ``MetricCursor.stopped_reason``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from socialdesk.networks.base import Connector, ConnectorError, Metrics
from socialdesk.networks.metrics import network_metrics
from socialdesk.networks.models import Channel
from socialdesk.networks.states import mark_needs_reconnect
from socialdesk.publishing import pacing
from socialdesk.publishing.connectors import connector_for
from socialdesk.publishing.models import Delivery, DeliveryState

from . import rollups
from .models import (
    BUCKETS,
    ChannelDay,
    MetricCursor,
    MetricSchedule,
    MetricSnapshot,
    bucket_after,
    bucket_for_age,
    due_time,
)

log = logging.getLogger(__name__)

ACTOR = "system: metrics"
# The last reading is at +180 d; a delivery published longer ago than this is not enrolled.
HORIZON = timedelta(hours=BUCKETS[-1])
# How often a channel is polled even with no snapshot due: to enrol new deliveries (so a
# +1 h reading is at most this late) and to write its day row.
CHECK_EVERY = timedelta(minutes=10)
# Deliveries are enrolled from the last poll's time less this (a delivery whose
# ``published_at`` was written a little in the past by a slow publish is not missed).
ENROL_OVERLAP = timedelta(hours=6)
CHUNK = 100  # deliveries per budget check and fetch_metrics call
MAX_PER_POLL = 1000  # the rest waits for the next poll, 30 s later
MISSES_BEFORE_STOP = 3
MISS_RETRY = timedelta(hours=1)
GONE = "The network no longer shows this post, so its numbers are not read any more."


@dataclass
class PollResult:
    """What one poll did. ``stopped``: why the channel is not read (it needs reconnecting,
    has no account); ``error``: a failure the next poll tries again; ``paced_until``: the
    budget had no room for a read."""

    channel_id: int
    enrolled: int = 0
    read: int = 0
    stored: int = 0
    missing: int = 0
    followers: int | None = None
    stopped: str = ""
    error: str = ""
    paced_until: datetime | None = None


# -- enrolling -----------------------------------------------------------------------------


def first_bucket(published_at: datetime, now: datetime) -> tuple[int, datetime]:
    """The first reading of a delivery enrolled at ``now``: +1 h, or, for a post already
    older, the latest bucket it reached, due now (taken late, and labelled honestly)."""
    reached = bucket_for_age(now - published_at)
    if reached is None:
        return BUCKETS[0], due_time(published_at, BUCKETS[0])
    return reached, now


def enrol(channel: Channel, cursor: MetricCursor, now: datetime) -> int:
    """Give the channel's newly published deliveries a schedule; returns how many."""
    since = now - HORIZON
    if cursor.enrolled_until is not None:
        since = max(since, cursor.enrolled_until - ENROL_OVERLAP)
    published = list(
        Delivery.objects.filter(
            channel=channel,
            state=DeliveryState.PUBLISHED,
            published_at__gte=since,
            published_at__lte=now,
        )
        .exclude(remote_id="")
        .values_list("pk", "published_at")
    )
    if not published:
        return 0
    known = set(
        MetricSchedule.objects.filter(delivery_id__in=[pk for pk, _ in published]).values_list(
            "delivery_id", flat=True
        )
    )
    rows = []
    for pk, published_at in published:
        if pk in known:
            continue
        bucket, due_at = first_bucket(published_at, now)
        rows.append(
            MetricSchedule(
                workspace_id=channel.workspace_id,
                delivery_id=pk,
                channel=channel,
                published_at=published_at,
                next_bucket=bucket,
                due_at=due_at,
            )
        )
    MetricSchedule.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


# -- one poll ------------------------------------------------------------------------------


def _limits(connector: Connector) -> tuple[Any, ...]:
    return (*pacing.limits_of(connector), *getattr(connector, "read_limits", ()))


def _reserve(channel_id: int, cost: dict[str, int], limits: Sequence[Any], now: datetime) -> Any:
    """Spend ``cost`` from the channel's budgets, or return what blocks it (nothing spent)."""
    cost = {unit: points for unit, points in cost.items() if points > 0}
    if not cost:
        return None
    with transaction.atomic():
        pacing.lock_channel(channel_id)
        blocked = pacing.room_at(channel_id, cost, limits, now)
        if blocked is None:
            pacing.spend(channel_id, None, cost, limits, now)
    return blocked


def _save(cursor: MetricCursor, **fields: object) -> None:
    for name, value in fields.items():
        setattr(cursor, name, value)
    cursor.save(update_fields=list(fields))


def poll_channel_metrics(channel: Channel, now: datetime | None = None) -> PollResult:
    """One poll of ``channel`` (see the module docstring). Never raises for what the network
    says: a refused authorization marks the channel as needing reconnecting and stops;
    anything else is in ``error`` and the next poll tries again."""
    now = now or timezone.now()
    result = PollResult(channel.pk)
    cursor, _ = MetricCursor.objects.get_or_create(channel=channel)
    channel.refresh_from_db(fields=["status", "credentials_encrypted", "time_zone"])
    if not channel.is_connected:
        result.stopped = cursor.stopped_reason or f"Reading stopped: {channel.status_text}."
        _save(cursor, polled_at=now, check_at=now + CHECK_EVERY, stopped_reason=result.stopped)
        return result
    connector = connector_for(channel) if channel.has_account else None
    if connector is None or not connector.measures:
        result.stopped = "Nothing to read: this channel has no account that can be measured."
        _save(cursor, polled_at=now, check_at=now + CHECK_EVERY, stopped_reason=result.stopped)
        return result

    result.enrolled = enrol(channel, cursor, now)
    limits = _limits(connector)
    try:
        _read_followers(channel, connector, limits, now, result)
        if result.paced_until is None:
            _read_due(channel, connector, limits, now, result)
    except ConnectorError as error:
        _failed(channel, cursor, error, now, result)
        return result
    _count_posts(channel, now)
    _save(
        cursor,
        polled_at=now,
        enrolled_until=now,
        check_at=now + CHECK_EVERY,
        not_before=result.paced_until,
        stopped_reason="",
        last_error="",
    )
    return result


def _failed(
    channel: Channel, cursor: MetricCursor, error: ConnectorError, now: datetime, result: PollResult
) -> None:
    if error.auth_revoked:
        reason = f"Reading stopped: {error.message}"
        if mark_needs_reconnect(channel, error.message, ACTOR):
            from socialdesk.notifications import publishing as notices

            notices.channel_needs_reconnecting(channel, error.message)
        result.stopped = reason
        _save(cursor, polled_at=now, check_at=now + CHECK_EVERY, stopped_reason=reason[:500])
        return
    result.error = error.message
    fields: dict[str, object] = {
        "polled_at": now,
        "check_at": now + CHECK_EVERY,
        "last_error": error.message[:500],
        "not_before": error.retry_after,
    }
    if error.permanent:  # said on the cursor until a poll succeeds
        fields["stopped_reason"] = error.message[:500]
    _save(cursor, **fields)


def local_day(channel: Channel, at: datetime) -> date:
    return timezone.localtime(at, channel.zone).date()


def _day_bounds(channel: Channel, day: date) -> tuple[datetime, datetime]:
    zone = channel.zone
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return start, end


def _read_followers(
    channel: Channel, connector: Connector, limits: Sequence[Any], now: datetime, result: PollResult
) -> None:
    """Once a day (in the channel's zone): the account's followers into its ``ChannelDay``."""
    day = local_day(channel, now)
    if ChannelDay.objects.filter(
        channel=channel, day=day, followers_read_at__isnull=False
    ).exists():
        return
    blocked = _reserve(channel.pk, connector.metrics_cost(0, followers=True), limits, now)
    if blocked is not None:
        result.paced_until = blocked.until
        return
    followers = connector.fetch_followers()
    result.followers = followers
    row, _ = ChannelDay.objects.get_or_create(
        channel=channel, day=day, defaults={"workspace_id": channel.workspace_id}
    )
    ChannelDay.objects.filter(pk=row.pk).update(followers=followers, followers_read_at=now)


def _count_posts(channel: Channel, now: datetime) -> None:
    """The posts published today and yesterday (finishing yesterday's row), in the zone."""
    today = local_day(channel, now)
    for day in (today - timedelta(days=1), today):
        start, end = _day_bounds(channel, day)
        posts = Delivery.objects.filter(
            channel=channel,
            state=DeliveryState.PUBLISHED,
            published_at__gte=start,
            published_at__lt=end,
        ).count()
        row, created = ChannelDay.objects.get_or_create(
            channel=channel,
            day=day,
            defaults={"workspace_id": channel.workspace_id, "posts": posts},
        )
        if not created and row.posts != posts:
            ChannelDay.objects.filter(pk=row.pk).update(posts=posts)


def _read_due(
    channel: Channel, connector: Connector, limits: Sequence[Any], now: datetime, result: PollResult
) -> None:
    due = list(
        MetricSchedule.objects.filter(channel=channel, due_at__lte=now)
        .select_related("delivery")
        .order_by("due_at", "pk")[:MAX_PER_POLL]
    )
    pending, size = due, CHUNK
    while pending:
        chunk = pending[:size]
        blocked = _reserve(channel.pk, connector.metrics_cost(len(chunk)), limits, now)
        if blocked is not None:
            if blocked.until is None and size > 1:
                size = max(1, size // 4)  # more than a whole window allows: read fewer
                continue
            # None: not even one post fits a whole window; look again at the next check.
            result.paced_until = blocked.until or now + CHECK_EVERY
            return
        found = connector.fetch_metrics([row.delivery.remote_id for row in chunk])
        _store(chunk, found, timezone.now(), result)
        pending = pending[size:]


def _store(
    schedules: Sequence[MetricSchedule],
    found: dict[str, Metrics],
    taken_at: datetime,
    result: PollResult,
) -> None:
    """Write one chunk's snapshots and move each schedule on, in one transaction."""
    snapshots = []
    for schedule in schedules:
        result.read += 1
        metrics = found.get(schedule.delivery.remote_id)
        if metrics is None:
            result.missing += 1
            schedule.misses += 1
            if schedule.misses >= MISSES_BEFORE_STOP:
                schedule.due_at, schedule.next_bucket = None, None
                schedule.stopped_reason = GONE
            else:
                schedule.due_at = taken_at + MISS_RETRY
            continue
        # The latest bucket reached by now: never earlier than the one that was due.
        reached = bucket_for_age(taken_at - schedule.published_at) or BUCKETS[0]
        bucket = max(reached, schedule.next_bucket or BUCKETS[0])
        snapshots.append(
            MetricSnapshot(
                workspace_id=schedule.workspace_id,
                delivery_id=schedule.delivery_id,
                channel_id=schedule.channel_id,
                published_at=schedule.published_at,
                taken_at=taken_at,
                bucket=bucket,
                likes=metrics.likes,
                reposts=metrics.reposts,
                replies=metrics.replies,
                quotes=metrics.quotes,
                views=metrics.views,
                clicks=metrics.clicks,
            )
        )
        following = bucket_after(bucket)
        schedule.next_bucket = following
        schedule.due_at = due_time(schedule.published_at, following) if following else None
        schedule.misses = 0
    with transaction.atomic():
        # A delivery deleted since it was due (its schedule went with it) gets no snapshot.
        alive = set(
            Delivery.objects.filter(pk__in=[s.delivery_id for s in snapshots]).values_list(
                "pk", flat=True
            )
        )
        snapshots = [snapshot for snapshot in snapshots if snapshot.delivery_id in alive]
        # A snapshot already stored for that age (a poll that overran its lease) is kept.
        MetricSnapshot.objects.bulk_create(snapshots, ignore_conflicts=True)
        mark_latest([snapshot.delivery_id for snapshot in snapshots])
        MetricSchedule.objects.bulk_update(
            schedules, ["next_bucket", "due_at", "misses", "stopped_reason"]
        )
    result.stored += len(snapshots)


def mark_latest(delivery_ids: Sequence[int]) -> None:
    """Mark each delivery's snapshot at its highest bucket as ``latest``, and no other: two
    UPDATEs for a whole chunk, on the (delivery, bucket) unique index; then recount the
    days of those deliveries in the daily rollup (``rollups.refresh``), in the same
    transaction."""
    if not delivery_ids:
        return
    with transaction.atomic():
        MetricSnapshot.objects.filter(delivery_id__in=delivery_ids, latest=True).update(
            latest=False
        )
        highest = (
            MetricSnapshot.objects.filter(delivery_id=OuterRef("delivery_id"))
            .order_by("-bucket")
            .values("bucket")[:1]
        )
        MetricSnapshot.objects.filter(
            delivery_id__in=delivery_ids, bucket=Subquery(highest)
        ).update(latest=True)
        rollups.refresh(
            MetricSnapshot.objects.filter(delivery_id__in=delivery_ids, latest=True).values_list(
                "channel_id", "published_at"
            )
        )


# -- reading what was stored -----------------------------------------------------------------


def post_metrics(post_id: int, workspace_id: int) -> list[dict[str, Any]]:
    """Each of a post's deliveries with its snapshots, oldest age first, and what its
    network gives (for ``GET …/posts/{id}/metrics``)."""
    deliveries = list(
        Delivery.objects.filter(post_id=post_id, workspace_id=workspace_id)
        .select_related("channel")
        .order_by("channel__network", "channel__handle", "pk")
    )
    ids = [d.pk for d in deliveries]
    snapshots: dict[int, list[MetricSnapshot]] = {pk: [] for pk in ids}
    for snapshot in MetricSnapshot.objects.filter(delivery_id__in=ids).order_by("bucket"):
        snapshots[snapshot.delivery_id].append(snapshot)
    schedules = {s.delivery_id: s for s in MetricSchedule.objects.filter(delivery_id__in=ids)}
    answer = []
    for delivery in deliveries:
        schedule = schedules.get(delivery.pk)
        answer.append(
            {
                "delivery_id": delivery.pk,
                "channel_id": delivery.channel_id,
                "network": network_metrics(delivery.channel.network),
                "state": delivery.state,
                "published_at": delivery.published_at,
                "next_snapshot_at": schedule.due_at if schedule else None,
                "stopped_reason": schedule.stopped_reason if schedule else "",
                "snapshots": snapshots[delivery.pk],
            }
        )
    return answer


def channel_days(channel: Channel, start: date, end: date) -> list[ChannelDay]:
    """The channel's day rows in ``[start, end]`` (days in the channel's zone)."""
    return list(ChannelDay.objects.filter(channel=channel, day__gte=start, day__lte=end))
