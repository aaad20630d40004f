"""Metric snapshots are taken at fixed ages after publication, late but honestly when the
worker was down, from a poll per channel that the worker's heartbeat queues (at most one per
channel per 30 s) and that spends from the channel's budget (``analytics.metrics``,
``analytics.metrics_tasks``).

The bakery's page channel is the network here (its connector is real and gives only views and
clicks: the other metrics None); a stand-in Bluesky connector plays a network that counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import ClassVar

import pytest
from django.utils import timezone

from socialdesk.analytics import metrics, metrics_tasks
from socialdesk.analytics.models import (
    Bucket,
    ChannelDay,
    MetricCursor,
    MetricSchedule,
    MetricSnapshot,
)
from socialdesk.content.services import PostContent, create_post
from socialdesk.networks.base import ConnectorError, MetricInfo, Metrics, RateLimit
from socialdesk.networks.models import Channel, ChannelStatus, Network
from socialdesk.page.models import PageEntry
from socialdesk.publishing import connectors
from socialdesk.publishing.models import ChannelSpend, Delivery, DeliveryState
from socialdesk.worker import Heartbeat


def published(workspace, owner, channel, ago: timedelta, remote_id: str = "") -> Delivery:
    """A delivery of a new post on ``channel``, published ``ago`` before now."""
    post = create_post(workspace, owner, PostContent(text="Rye today", channel_ids=[channel.pk]))
    delivery = Delivery.objects.get(post=post, channel=channel)
    Delivery.objects.filter(pk=delivery.pk).update(
        state=DeliveryState.PUBLISHED,
        published_at=timezone.now() - ago,
        remote_id=remote_id or f"entry-{delivery.pk}",
    )
    delivery.refresh_from_db()
    return delivery


class CountingNetwork:
    """A network that counts: likes grow by one at every read. ``gone`` posts are missing."""

    network = "bluesky"
    measures = True
    metric_table: ClassVar[tuple[MetricInfo, ...]] = ()
    rate_limits: tuple[RateLimit, ...] = (RateLimit("requests", 1000, timedelta(minutes=5)),)
    read_limits: tuple[RateLimit, ...] = ()

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.gone: set[str] = set()
        self.error: ConnectorError | None = None

    def metrics_cost(self, posts: int, followers: bool = False) -> dict[str, int]:
        return {"requests": -(-posts // 25) + (1 if followers else 0)}

    def fetch_metrics(self, remote_ids: Sequence[str]) -> dict[str, Metrics]:
        if self.error is not None:
            raise self.error
        self.calls.append(list(remote_ids))
        return {
            remote_id: Metrics(likes=len(self.calls), reposts=0, replies=0, quotes=0)
            for remote_id in remote_ids
            if remote_id not in self.gone
        }

    def fetch_followers(self) -> int | None:
        return 120


@pytest.fixture
def counting(workspace, monkeypatch) -> tuple[Channel, CountingNetwork]:
    channel = Channel.objects.create(
        workspace=workspace, network=Network.BLUESKY, handle="crumb.test"
    )
    channel.set_credentials({"handle": "crumb.test", "app_password": "x"})
    channel.save(update_fields=["credentials_encrypted"])
    network = CountingNetwork()
    monkeypatch.setitem(connectors.REGISTRY, Network.BLUESKY, lambda channel: network)
    return channel, network


@pytest.fixture
def queue(monkeypatch) -> list[int]:
    """The metrics polls handed to the task queue (their channel ids)."""
    handed: list[int] = []

    class Recorder:
        def enqueue(self, channel_id: int) -> None:
            handed.append(channel_id)

    monkeypatch.setattr(metrics_tasks, "poll_metrics", Recorder())
    return handed


def test_a_post_published_half_an_hour_ago_is_due_its_first_snapshot_at_one_hour(
    workspace, owner, channel
):
    delivery = published(workspace, owner, channel, timedelta(minutes=30))

    result = metrics_tasks.poll_once(channel.pk)

    assert result["polled"] and result["enrolled"] == 1 and result["stored"] == 0
    schedule = MetricSchedule.objects.get(delivery=delivery)
    assert schedule.next_bucket == Bucket.H1
    assert schedule.due_at == delivery.published_at + timedelta(hours=1)
    assert not MetricSnapshot.objects.exists()


def test_a_due_snapshot_is_taken_and_the_next_one_planned(workspace, owner, counting):
    channel, network = counting
    delivery = published(workspace, owner, channel, timedelta(hours=1, minutes=5), "at://p/1")

    metrics_tasks.poll_once(channel.pk)

    snapshot = MetricSnapshot.objects.get(delivery=delivery)
    assert snapshot.bucket == Bucket.H1
    assert snapshot.published_at == delivery.published_at
    assert timedelta(hours=1) < snapshot.age < timedelta(hours=1, minutes=10)
    assert (snapshot.likes, snapshot.reposts, snapshot.views, snapshot.clicks) == (1, 0, None, None)
    assert network.calls == [["at://p/1"]]
    schedule = MetricSchedule.objects.get(delivery=delivery)
    assert schedule.next_bucket == Bucket.H6
    assert schedule.due_at == delivery.published_at + timedelta(hours=6)
    # The read spent from the channel's budget, in the ledger publishing uses.
    assert ChannelSpend.objects.filter(channel=channel, unit="requests").exists()


def test_a_page_post_gets_snapshots_with_no_numbers_rather_than_zeros(workspace, owner, channel):
    delivery = published(workspace, owner, channel, timedelta(hours=2))
    # The page counts views of real entries only (``tests/test_page_metrics.py``).
    entry = PageEntry.objects.create(
        workspace=workspace, channel=channel, delivery=delivery, text="Rye today"
    )
    Delivery.objects.filter(pk=delivery.pk).update(remote_id=str(entry.pk))

    metrics_tasks.poll_once(channel.pk)

    snapshot = MetricSnapshot.objects.get(delivery=delivery)
    values = [getattr(snapshot, name) for name in ("likes", "reposts", "replies", "views")]
    assert values == [None, None, None, 0]
    day = ChannelDay.objects.get(channel=channel, day=metrics.local_day(channel, timezone.now()))
    assert day.followers is None and day.followers_read_at is not None


def test_a_snapshot_missed_while_the_worker_was_down_is_taken_late_and_labelled_honestly(
    workspace, owner, counting
):
    channel, network = counting
    delivery = published(workspace, owner, channel, timedelta(hours=1, minutes=5), "at://p/2")
    metrics_tasks.poll_once(channel.pk)  # +1 h on time
    # The worker stops for a day and a half: +6 h and +24 h pass unread.
    Delivery.objects.filter(pk=delivery.pk).update(
        published_at=timezone.now() - timedelta(hours=30)
    )
    MetricSchedule.objects.filter(delivery=delivery).update(
        published_at=timezone.now() - timedelta(hours=30),
        due_at=timezone.now() - timedelta(hours=24),
    )

    metrics_tasks.poll_once(channel.pk, timezone.now() + timedelta(seconds=31))

    late = MetricSnapshot.objects.get(delivery=delivery, bucket=Bucket.H24)
    assert timedelta(hours=30) <= late.age < timedelta(hours=30, minutes=5)
    assert timedelta(hours=6) <= late.late_by < timedelta(hours=6, minutes=5)
    # +6 h was never read: it is not made up.
    assert list(
        MetricSnapshot.objects.filter(delivery=delivery).values_list("bucket", flat=True)
    ) == [Bucket.H1, Bucket.H24]
    assert MetricSchedule.objects.get(delivery=delivery).next_bucket == Bucket.D3


def test_history_older_than_an_hour_is_enrolled_at_the_age_it_has_reached(
    workspace, owner, counting
):
    channel, _ = counting
    delivery = published(workspace, owner, channel, timedelta(days=40), "at://p/3")

    metrics_tasks.poll_once(channel.pk)

    snapshot = MetricSnapshot.objects.get(delivery=delivery)
    assert snapshot.bucket == Bucket.D30
    assert MetricSchedule.objects.get(delivery=delivery).next_bucket == Bucket.D60


def test_after_six_months_no_snapshot_is_due_any_more(workspace, owner, counting):
    channel, _ = counting
    delivery = published(workspace, owner, channel, timedelta(days=180, hours=1), "at://p/4")
    MetricSchedule.objects.create(
        workspace=workspace,
        delivery=delivery,
        channel=channel,
        published_at=delivery.published_at,
        next_bucket=Bucket.D180,
        due_at=delivery.published_at + timedelta(days=180),
    )

    metrics_tasks.poll_once(channel.pk)

    assert MetricSnapshot.objects.get(delivery=delivery).bucket == Bucket.D180
    schedule = MetricSchedule.objects.get(delivery=delivery)
    assert (schedule.next_bucket, schedule.due_at) == (None, None)


def test_a_post_the_network_no_longer_shows_is_tried_three_times_then_left(
    workspace, owner, counting
):
    channel, network = counting
    delivery = published(workspace, owner, channel, timedelta(hours=2), "at://p/gone")
    network.gone.add("at://p/gone")
    now = timezone.now()

    for attempt in range(3):
        MetricSchedule.objects.filter(delivery=delivery).update(due_at=now)
        metrics_tasks.poll_once(channel.pk, now + timedelta(minutes=attempt))

    schedule = MetricSchedule.objects.get(delivery=delivery)
    assert schedule.due_at is None and schedule.misses == 3
    assert "no longer shows" in schedule.stopped_reason
    assert not MetricSnapshot.objects.exists()


def test_reads_are_batched_and_paced_by_the_channels_budget(workspace, owner, counting):
    channel, network = counting
    network.rate_limits = (RateLimit("requests", 3, timedelta(minutes=5)),)
    for number in range(150):
        published(workspace, owner, channel, timedelta(hours=2), f"at://p/{number}")

    result = metrics_tasks.poll_once(channel.pk)

    # The followers (1 request) and two reads of 25 (1 each) fit the 3 requests; a chunk of
    # 100 (4 requests) would never fit, so the poll read fewer at a time, then waited.
    assert result["stored"] == 50
    assert [len(call) for call in network.calls] == [25, 25]
    cursor = MetricCursor.objects.get(channel=channel)
    assert cursor.not_before is not None and cursor.not_before > timezone.now()
    assert metrics_tasks.due_channels(timezone.now() + timedelta(minutes=1)) == []

    network.rate_limits = (RateLimit("requests", 1000, timedelta(minutes=5)),)
    later = cursor.not_before + timedelta(seconds=1)
    assert metrics_tasks.due_channels(later) == [channel.pk]
    again = metrics_tasks.poll_once(channel.pk, later)
    assert again["stored"] == 100
    assert [len(call) for call in network.calls] == [25, 25, 100]
    assert MetricSnapshot.objects.count() == 150


def test_a_revoked_authorization_stops_reading_and_marks_the_channel(workspace, owner, counting):
    channel, network = counting
    published(workspace, owner, channel, timedelta(hours=2), "at://p/5")
    network.error = ConnectorError("Bluesky refused the account's credentials.", auth_revoked=True)

    result = metrics_tasks.poll_once(channel.pk)

    channel.refresh_from_db()
    assert channel.status == ChannelStatus.NEEDS_RECONNECT
    assert "refused" in result["stopped"]
    assert "refused" in MetricCursor.objects.get(channel=channel).stopped_reason
    assert metrics_tasks.due_channels(timezone.now() + timedelta(hours=1)) == []


def test_a_transient_failure_leaves_the_snapshot_due_for_the_next_poll(workspace, owner, counting):
    channel, network = counting
    delivery = published(workspace, owner, channel, timedelta(hours=2), "at://p/6")
    network.error = ConnectorError("Bluesky answered 502.")

    result = metrics_tasks.poll_once(channel.pk)

    assert result["error"] == "Bluesky answered 502."
    assert MetricSchedule.objects.get(delivery=delivery).due_at <= timezone.now()
    network.error = None
    assert metrics_tasks.poll_once(channel.pk, timezone.now() + timedelta(seconds=31))["stored"]


def test_the_heartbeat_queues_a_channel_with_a_snapshot_due_once_per_30_seconds(
    workspace, owner, counting, queue, django_capture_on_commit_callbacks
):
    channel, _ = counting
    paused = Channel.objects.create(workspace=workspace, network=Network.BLUESKY, handle="b.test")
    Channel.objects.filter(pk=paused.pk).update(status=ChannelStatus.NEEDS_RECONNECT)
    delivery = published(workspace, owner, channel, timedelta(minutes=30), "at://p/7")
    now = timezone.now()

    with django_capture_on_commit_callbacks(execute=True):
        first = metrics_tasks.on_heartbeat(now)
    assert first == [channel.pk]  # the check every channel gets; not the one to reconnect
    assert metrics_tasks.on_heartbeat(now) == []  # queued already
    metrics_tasks.poll_once(channel.pk, now)
    assert MetricSchedule.objects.filter(delivery=delivery).exists()

    # Nothing due until +1 h: no poll, even long after 30 s.
    assert metrics_tasks.on_heartbeat(now + timedelta(minutes=5)) == []
    due = delivery.published_at + timedelta(hours=1)
    assert metrics_tasks.on_heartbeat(due) == [channel.pk]
    assert queue == [channel.pk]


def test_a_poll_within_30_seconds_of_the_last_reads_nothing(workspace, owner, counting):
    channel, network = counting
    published(workspace, owner, channel, timedelta(hours=2), "at://p/8")
    now = timezone.now()
    assert metrics_tasks.poll_once(channel.pk, now)["polled"]

    assert not metrics_tasks.poll_once(channel.pk, now + timedelta(seconds=20))["polled"]
    assert len(network.calls) == 1


def test_the_worker_heartbeat_queues_the_metrics_polls(monkeypatch, db):
    called = []
    monkeypatch.setattr("socialdesk.worker.poll_metrics", lambda: called.append(True))

    Heartbeat("test-worker").sweep()

    assert called == [True]


def test_a_channel_day_counts_the_posts_of_its_own_days(workspace, owner, counting):
    channel, _ = counting
    Channel.objects.filter(pk=channel.pk).update(time_zone="Pacific/Auckland")
    channel.refresh_from_db()
    # 23:30 and 00:30 in Auckland: two days there, one day in UTC.
    published_at = [
        datetime(2026, 12, 6, 10, 30, tzinfo=UTC),
        datetime(2026, 12, 6, 11, 30, tzinfo=UTC),
    ]
    for when in published_at:
        delivery = published(workspace, owner, channel, timedelta(0), "at://p/day")
        Delivery.objects.filter(pk=delivery.pk).update(published_at=when)

    metrics._count_posts(channel, datetime(2026, 12, 6, 12, 0, tzinfo=UTC))

    days = dict(ChannelDay.objects.filter(channel=channel).values_list("day", "posts"))
    assert {str(day): posts for day, posts in days.items()} == {
        "2026-12-06": 1,
        "2026-12-07": 1,
    }


def test_a_post_published_after_a_poll_is_enrolled_at_the_next_check(workspace, owner, counting):
    channel, _ = counting
    published(workspace, owner, channel, timedelta(hours=3), "at://p/old")
    now = timezone.now()
    assert metrics_tasks.poll_once(channel.pk, now)["enrolled"] == 1
    fresh = published(workspace, owner, channel, timedelta(minutes=1), "at://p/new")

    # Not due anything, but its periodic check comes: the new post is found then.
    check = MetricCursor.objects.get(channel=channel).check_at
    assert check == now + metrics.CHECK_EVERY
    assert metrics_tasks.due_channels(check) == [channel.pk]
    assert metrics_tasks.poll_once(channel.pk, check)["enrolled"] == 1
    assert MetricSchedule.objects.get(delivery=fresh).next_bucket == Bucket.H1
    assert MetricSchedule.objects.count() == 2
