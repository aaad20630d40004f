"""The daily rollup of the latest readings (``analytics.rollups``) that the overview reads:
after every way a reading can arrive (late, twice, out of order, for a post deleted
meanwhile) or leave (a deleted delivery, a deleted channel), its rows are exactly what
counting the snapshots says, and the overview shows the same numbers as before it existed."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from reading_helpers import published

from socialdesk.analytics import metrics, reading, rollups
from socialdesk.analytics.models import (
    MetricSchedule,
    MetricSnapshot,
    ReadingDay,
    ReadingRollup,
)
from socialdesk.networks.base import Metrics
from socialdesk.networks.models import Channel, Network
from socialdesk.publishing.models import Delivery

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def sky(workspace) -> Channel:
    return Channel.objects.create(workspace=workspace, network=Network.BLUESKY, handle="crumb.sky")


def paris(day: date, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS)


def counted(channel: Channel, zone: ZoneInfo = PARIS) -> dict[date, tuple[int, int]]:
    """What counting the channel's latest snapshots says, day by day in ``zone``."""
    days: dict[date, list[int]] = defaultdict(lambda: [0, 0])
    for snapshot in MetricSnapshot.objects.filter(channel=channel, latest=True):
        day = days[snapshot.published_at.astimezone(zone).date()]
        day[0] += 1
        day[1] += sum(getattr(snapshot, name) or 0 for name in reading.INTERACTIONS)
    return {day: (posts, total) for day, (posts, total) in days.items()}


def stored(channel: Channel) -> dict[date, tuple[int, int]]:
    """The rollup's rows, as stored (no recount)."""
    return {
        row.day: (row.posts, row.engagement) for row in ReadingDay.objects.filter(channel=channel)
    }


def likes(n: int) -> dict[str, int | None]:
    return {"likes": n, "reposts": 1, "replies": 0, "quotes": None}


def due(delivery: Delivery, bucket: int) -> MetricSchedule:
    """The delivery's schedule, with ``bucket`` due (and a remote id the network knows)."""
    Delivery.objects.filter(pk=delivery.pk).update(remote_id=f"at://post/{delivery.pk}")
    schedule, _ = MetricSchedule.objects.update_or_create(
        delivery=delivery,
        defaults={
            "workspace": delivery.workspace,
            "channel": delivery.channel,
            "published_at": delivery.published_at,
            "next_bucket": bucket,
            "due_at": delivery.published_at + timedelta(hours=bucket),
        },
    )
    return MetricSchedule.objects.select_related("delivery").get(pk=schedule.pk)


def store(schedule: MetricSchedule, taken_at: datetime, like_count: int) -> metrics.PollResult:
    """One reading arriving from the network, stored the worker's way (``metrics._store``)."""
    result = metrics.PollResult(schedule.channel_id)
    found = {f"at://post/{schedule.delivery_id}": Metrics(likes=like_count, reposts=0)}
    metrics._store([schedule], found, taken_at, result)
    return result


@pytest.fixture
def counted_sky(workspace, sky) -> Channel:
    """Three posts over two days, then the channel's days counted once (as a first read)."""
    published(sky, paris(date(2026, 11, 2), 9), {1: likes(3), 24: likes(10)})
    published(sky, paris(date(2026, 11, 2), 23, 30), {1: likes(4)})  # 22:30 UTC: still the 2nd
    published(sky, paris(date(2026, 11, 3), 0, 15), {1: likes(5), 24: likes(6)})
    rollups.ensure([sky.pk], workspace.zone)
    return sky


def test_the_first_read_counts_every_day_in_the_workspace_zone(counted_sky):
    assert stored(counted_sky) == {date(2026, 11, 2): (2, 16), date(2026, 11, 3): (1, 7)}
    assert ReadingRollup.objects.get(channel=counted_sky).zone == "Europe/Paris"


def test_a_later_reading_replaces_the_delivery_s_numbers_in_its_day(counted_sky):
    delivery = Delivery.objects.filter(channel=counted_sky).order_by("published_at").first()
    schedule = due(delivery, 72)
    store(schedule, delivery.published_at + timedelta(hours=80), 40)  # read 8 hours late
    snapshot = MetricSnapshot.objects.get(delivery=delivery, latest=True)
    assert snapshot.bucket == 72 and snapshot.likes == 40
    assert stored(counted_sky) == counted(counted_sky)
    assert stored(counted_sky)[date(2026, 11, 2)] == (2, 40 + 5)


def test_a_reading_stored_twice_counts_once(counted_sky):
    delivery = Delivery.objects.filter(channel=counted_sky).order_by("-published_at").first()
    schedule = due(delivery, 72)
    store(schedule, delivery.published_at + timedelta(hours=72), 20)
    # A poll that overran its lease stores the same age again: the first one is kept.
    store(due(delivery, 72), delivery.published_at + timedelta(hours=73), 99)
    assert MetricSnapshot.objects.filter(delivery=delivery, bucket=72).get().likes == 20
    assert stored(counted_sky) == counted(counted_sky)
    assert stored(counted_sky)[date(2026, 11, 3)] == (1, 20)


def test_an_earlier_age_arriving_after_a_later_one_does_not_replace_it(counted_sky):
    delivery = Delivery.objects.filter(channel=counted_sky).order_by("published_at").first()
    MetricSnapshot.objects.create(
        workspace=delivery.workspace,
        delivery=delivery,
        channel=counted_sky,
        published_at=delivery.published_at,
        taken_at=delivery.published_at + timedelta(hours=7),
        bucket=6,
        likes=1000,
    )
    metrics.mark_latest([delivery.pk])
    assert MetricSnapshot.objects.get(delivery=delivery, latest=True).bucket == 24
    assert stored(counted_sky) == counted(counted_sky)
    assert stored(counted_sky)[date(2026, 11, 2)] == (2, 16)


def test_a_reading_for_a_delivery_deleted_meanwhile_is_dropped_and_counts_nothing(counted_sky):
    delivery = Delivery.objects.filter(channel=counted_sky).order_by("-published_at").first()
    schedule = due(delivery, 72)
    delivery.post.delete()  # the schedule and the snapshots go with the delivery
    result = store(schedule, delivery.published_at + timedelta(hours=72), 50)
    assert result.stored == 0
    assert not MetricSnapshot.objects.filter(delivery_id=delivery.pk).exists()
    assert stored(counted_sky) == counted(counted_sky)
    assert date(2026, 11, 3) not in stored(counted_sky)  # its only post is gone


def test_deleting_a_measured_delivery_recounts_its_day(counted_sky):
    delivery = Delivery.objects.filter(channel=counted_sky).order_by("published_at").first()
    Delivery.objects.filter(pk=delivery.pk).delete()
    assert stored(counted_sky) == counted(counted_sky)
    assert stored(counted_sky)[date(2026, 11, 2)] == (1, 5)


def test_deleting_the_channel_takes_its_days_with_it(counted_sky):
    counted_sky.delete()
    assert not ReadingDay.objects.exists() and not ReadingRollup.objects.exists()


def test_readings_of_a_channel_never_counted_wait_for_its_first_read(workspace, sky):
    published(sky, paris(date(2026, 11, 2)), {1: likes(3)})
    assert not ReadingDay.objects.exists()  # not counted yet: no marker, no half-built rows
    rows = rollups.reading_days([sky.pk], workspace.zone, date(2026, 11, 1), date(2026, 11, 30))
    assert rows == [{"channel_id": sky.pk, "day": date(2026, 11, 2), "posts": 1, "engagement": 4}]


def test_a_new_workspace_zone_recounts_the_days_at_the_next_read(workspace, counted_sky):
    workspace.time_zone = "America/New_York"
    workspace.save(update_fields=["time_zone"])
    workspace.refresh_from_db()
    new_york = ZoneInfo("America/New_York")
    rows = rollups.reading_days(
        [counted_sky.pk], workspace.zone, date(2026, 11, 1), date(2026, 11, 30)
    )
    assert {row["day"]: (row["posts"], row["engagement"]) for row in rows} == counted(
        counted_sky, new_york
    )
    # 00:15 in Paris on the 3rd is the evening of the 2nd in New York.
    assert stored(counted_sky) == {date(2026, 11, 2): (3, 23)}
    assert ReadingRollup.objects.get(channel=counted_sky).zone == "America/New_York"


def test_the_overview_counts_the_same_from_the_rollup_as_from_the_snapshots(workspace, sky):
    # Around the change to winter time (25 October 2026 in Paris, a day of 25 hours): posts count
    # on their own local day.
    for day, hour, numbers in [
        (date(2026, 10, 24), 23, likes(2)),
        (date(2026, 10, 25), 0, likes(3)),
        (date(2026, 10, 25), 2, likes(5)),
        (date(2026, 10, 25), 23, likes(7)),
        (date(2026, 10, 26), 1, likes(11)),
        (date(2026, 11, 20), 12, likes(13)),
    ]:
        published(sky, paris(day, hour), {1: numbers})
    chosen = reading.parse_period(workspace, first="2026-10-20", last="2026-11-30")
    figures = reading.overview(workspace, chosen)
    old_days: dict[date, list[int]] = defaultdict(lambda: [0, 0])
    for snapshot in reading.latest_readings([sky.pk], chosen.start, chosen.end):
        day = old_days[snapshot.published_at.astimezone(workspace.zone).date()]
        day[0] += 1
        day[1] += (snapshot.likes or 0) + (snapshot.reposts or 0)
    assert figures["current"]["days"] == {
        day: {"posts": posts, "engagement": total} for day, (posts, total) in old_days.items()
    }
    assert figures["current"]["days"][date(2026, 10, 25)] == {"posts": 3, "engagement": 18}
    assert figures["current"]["engagement"] == sum(total for _, total in old_days.values())
    assert [row["value"] for row in figures["top_posts"]] == [14, 12, 8, 6, 4]


def test_the_worker_s_readings_keep_the_rollup_exact(workspace, sky):
    """A whole day of the worker storing readings for many posts, chunk by chunk."""
    now = timezone.now()
    deliveries = [
        published(sky, now - timedelta(hours=30 + 5 * n), {1: likes(n)}) for n in range(12)
    ]
    rollups.ensure([sky.pk], workspace.zone)
    schedules = [due(delivery, 24) for delivery in deliveries]
    result = metrics.PollResult(sky.pk)
    found = {
        f"at://post/{d.pk}": Metrics(likes=10 * n, reposts=n) for n, d in enumerate(deliveries)
    }
    metrics._store(schedules[:7], found, now, result)
    metrics._store(schedules[7:], found, now, result)
    assert result.stored == 12
    assert stored(sky) == counted(sky, workspace.zone)
    assert sum(total for _, total in stored(sky).values()) == sum(11 * n for n in range(12))
