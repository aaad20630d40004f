"""The daily rollup of each channel's latest readings (``ReadingDay``), which the Analytics
overview reads instead of the snapshots.

Why a rollup: the overview must answer in ≤ 100 ms (p95) with 50,000 posts and 1.5 million
snapshots. Its per-day figures (posts measured and engagement, per channel and local day,
for the period and the one before it) summed every delivery's latest snapshot of both
periods, ~37,000 rows for 90 days; the rollup holds one row per channel and day, so the same
figures read ~1,000 rows whatever the number of posts.

How it stays exact: the rows are never added to or taken from, only recounted from the
snapshots marked ``latest``, in the transaction that changed them:

- ``metrics.mark_latest`` (every path that stores snapshots: the worker's ``_store``, the
  demo, the migration that filled ``latest``) calls ``refresh`` for the deliveries it
  marked, so a reading that comes late, twice (kept once by the unique age), or out of
  order counts once, with the delivery's latest numbers;
- a delivery deleted from the database (its snapshots go with it) has its day recounted by
  ``delivery_deleted`` (a ``post_delete`` receiver, inside the deletion's transaction); a
  deleted channel takes its rows with it;
- ``refresh`` and ``rebuild`` hold the channel's row (``pacing.lock_channel``) while they
  count, so on PostgreSQL a rebuild cannot miss a chunk being stored at the same moment
  (SQLite runs one writer at a time anyway).

Days are local days of the zone the channel's ``ReadingRollup`` names, the workspace's when
it was counted. A channel counted in another zone (the workspace's changed) or never
counted (the bulk load of ``bench/analytics_reading.py``) is counted again by ``ensure``
at its first read, in one transaction, which the migration that made these tables also did.
Accepted as inexact: a page read in the instant a workspace's zone changes may count with
the old zone's days once; the next read is right.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from socialdesk.publishing.pacing import lock_channel

from .models import MetricSnapshot, ReadingDay, ReadingRollup

# Counted per day: (posts, engagement).
Counts = dict[date, tuple[int, int]]


def zone_key(zone: tzinfo) -> str:
    """The name a zone is stored under (``ZoneInfo``'s key)."""
    return str(getattr(zone, "key", zone))


def _bounds(zone: tzinfo, first: date, last: date) -> tuple[datetime, datetime]:
    """[start, end) of the local days ``first`` to ``last``, as ``reading.Period`` has them."""
    start = datetime.combine(first, time.min, tzinfo=zone)
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=zone)
    return start, end


def _runs(days: list[date]) -> list[tuple[date, date]]:
    """Sorted ``days`` as runs of consecutive days: (first, last) each."""
    runs: list[tuple[date, date]] = []
    for day in days:
        if runs and day == runs[-1][1] + timedelta(days=1):
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def _count(channel_id: int, zone: tzinfo, days: list[date] | None) -> Counts:
    """Each local day's latest readings of the channel: the given ``days`` (sorted), or every
    day with one (None). The days are found in Python (``astimezone``), exactly as a period's
    bounds are made, rather than by a per-database day expression."""
    from .reading import engagement_expression

    readings = MetricSnapshot.objects.filter(channel_id=channel_id, latest=True)
    if days is not None:
        wanted = Q()
        for first, last in _runs(days):
            start, end = _bounds(zone, first, last)
            wanted |= Q(published_at__gte=start, published_at__lt=end)
        readings = readings.filter(wanted)
    found: dict[date, list[int]] = defaultdict(lambda: [0, 0])
    rows = readings.annotate(value=engagement_expression()).values_list("published_at", "value")
    for published_at, value in rows.iterator(chunk_size=5000):
        day = found[published_at.astimezone(zone).date()]
        day[0] += 1
        day[1] += value
    return {day: (posts, engagement) for day, (posts, engagement) in found.items()}


def _write(channel_id: int, counts: Counts) -> None:
    if counts:
        ReadingDay.objects.bulk_create(
            [
                ReadingDay(channel_id=channel_id, day=day, posts=posts, engagement=engagement)
                for day, (posts, engagement) in counts.items()
            ],
            update_conflicts=True,
            unique_fields=["channel", "day"],
            update_fields=["posts", "engagement"],
            batch_size=500,
        )


def refresh(readings: Iterable[tuple[int, datetime]]) -> None:
    """Recount the days of these (channel id, published_at) pairs in each channel's rollup
    zone (channels never counted are left to ``ensure``). A day left without a reading loses
    its row."""
    touched: dict[int, set[datetime]] = defaultdict(set)
    for channel_id, published_at in readings:
        touched[channel_id].add(published_at)
    if not touched:
        return
    with transaction.atomic():
        for channel_id in sorted(touched):  # one order for every locker: no deadlock
            lock_channel(channel_id)
        zones = dict(
            ReadingRollup.objects.filter(channel_id__in=touched).values_list("channel_id", "zone")
        )
        for channel_id, name in zones.items():
            zone = ZoneInfo(name)
            days = sorted({at.astimezone(zone).date() for at in touched[channel_id]})
            counts = _count(channel_id, zone, days)
            _write(channel_id, counts)
            gone = [day for day in days if day not in counts]
            if gone:
                ReadingDay.objects.filter(channel_id=channel_id, day__in=gone).delete()


def rebuild(channel_id: int, zone: tzinfo) -> int:
    """Count every day of one channel again, in ``zone``; returns the days with a reading."""
    with transaction.atomic():
        lock_channel(channel_id)
        counts = _count(channel_id, zone, None)
        ReadingDay.objects.filter(channel_id=channel_id).delete()
        _write(channel_id, counts)
        ReadingRollup.objects.update_or_create(
            channel_id=channel_id,
            defaults={"zone": zone_key(zone), "built_at": timezone.now()},
        )
    return len(counts)


def ensure(channel_ids: list[int], zone: tzinfo) -> None:
    """Count the channels not yet counted in ``zone`` (see the module docstring)."""
    counted = set(
        ReadingRollup.objects.filter(channel_id__in=channel_ids, zone=zone_key(zone)).values_list(
            "channel_id", flat=True
        )
    )
    for channel_id in channel_ids:
        if channel_id not in counted:
            rebuild(channel_id, zone)


def reading_days(
    channel_ids: list[int], zone: tzinfo, first: date, last: date
) -> list[dict[str, Any]]:
    """Each (channel, local day) from ``first`` to ``last`` with a reading: ``channel_id``,
    ``day``, ``posts`` (deliveries published that day, measured) and ``engagement`` (the sum
    of their latest readings' engagement)."""
    ensure(channel_ids, zone)
    rows = ReadingDay.objects.filter(channel_id__in=channel_ids, day__gte=first, day__lte=last)
    # No order: the default one (by channel) would join the channels to sort by their names.
    found = rows.order_by().values("channel_id", "day", "posts", "engagement")
    return [dict(row) for row in found]


def delivery_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    """``post_delete`` of a delivery: its snapshots are gone with it; recount its day."""
    if instance.published_at is not None:
        refresh([(instance.channel_id, instance.published_at)])
