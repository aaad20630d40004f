"""Analytics' tables: metric snapshots, short links, clicks and conversions."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import models
from django.db.models import Q

from socialdesk.networks.models import Channel
from socialdesk.publishing.models import Delivery
from socialdesk.workspaces.models import WorkspaceOwned

# Metric snapshots ---------------------------------------------------------------------------
#
# A delivery's numbers are read at fixed ages after it was published (``Bucket``), so that a
# post can be compared with the same channel's other posts at the same age. ``MetricSchedule``
# says when each delivery's next reading is due; ``MetricCursor`` holds each channel's polling
# (a lease, like the inbox's ``InboxCursor``); ``ChannelDay`` is a channel's daily row.
# Written by ``analytics.metrics`` only.


class Bucket(models.IntegerChoices):
    """The age a snapshot stands for, in hours after publication: +1 h, +6 h, +24 h, +3 d,
    +7 d, +30 d, then monthly (30-day months, so every post's "month" is the same length) to
    six months."""

    H1 = 1, "+1 h"
    H6 = 6, "+6 h"
    H24 = 24, "+24 h"
    D3 = 72, "+3 d"
    D7 = 168, "+7 d"
    D30 = 720, "+30 d"
    D60 = 1440, "+60 d"
    D90 = 2160, "+90 d"
    D120 = 2880, "+120 d"
    D150 = 3600, "+150 d"
    D180 = 4320, "+180 d"


BUCKETS: tuple[int, ...] = tuple(sorted(Bucket.values))
METRICS = ("likes", "reposts", "replies", "quotes", "views", "clicks")


class MetricSnapshot(WorkspaceOwned):
    """A delivery's numbers at one moment.

    ``bucket`` is the age it stands for; ``taken_at`` is when it was really read, so the real
    age is ``taken_at - published_at`` (``age``): a reading the worker could not take on time
    is taken late and says so, never back-dated. A metric is None when the network does not
    give it (Bluesky has no views), never 0.
    """

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="+")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+")
    # The delivery's publication time, copied so that "this channel's posts of the last six
    # months at the same age" reads one index, without a join.
    published_at = models.DateTimeField()
    taken_at = models.DateTimeField()
    bucket = models.PositiveIntegerField(choices=Bucket.choices)
    likes = models.BigIntegerField(null=True, blank=True)
    reposts = models.BigIntegerField(null=True, blank=True)
    replies = models.BigIntegerField(null=True, blank=True)
    quotes = models.BigIntegerField(null=True, blank=True)
    views = models.BigIntegerField(null=True, blank=True)
    clicks = models.BigIntegerField(null=True, blank=True)
    # True on each delivery's snapshot at its highest bucket, its numbers as last read (kept
    # by ``metrics.mark_latest``), so the Analytics pages read one row per delivery from a
    # partial index instead of looking for "no later snapshot" row by row.
    latest = models.BooleanField(default=False)

    class Meta:
        ordering = ["delivery", "bucket"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "bucket"], name="one_snapshot_per_age"),
        ]
        indexes = [
            # Serves the 6-month benchmark: a channel's posts at one age, by publication time.
            models.Index(
                fields=["channel", "bucket", "published_at"], name="snapshot_benchmark_idx"
            ),
            # Serves the Analytics pages: a period's deliveries, as last read (``reading``).
            models.Index(
                fields=["channel", "published_at"],
                name="snapshot_latest_idx",
                condition=Q(latest=True),
            ),
        ]

    def __str__(self) -> str:
        return f"delivery {self.delivery_id} at {self.get_bucket_display()}"  # type: ignore[attr-defined]

    @property
    def age(self) -> timedelta:
        """The real age of the post when this was read."""
        return self.taken_at - self.published_at

    @property
    def late_by(self) -> timedelta:
        """How much later than its bucket this was read (zero or more)."""
        return max(timedelta(0), self.age - timedelta(hours=self.bucket))


class MetricSchedule(WorkspaceOwned):
    """When a published delivery's next snapshot is due (``due_at``; None once the last one
    is taken or reading it stopped, with ``stopped_reason``)."""

    delivery = models.OneToOneField(Delivery, on_delete=models.CASCADE, related_name="+")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+")
    published_at = models.DateTimeField()
    next_bucket = models.PositiveIntegerField(choices=Bucket.choices, null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    # Reads in a row that did not find the post on the network (deleted, or not yet indexed).
    misses = models.PositiveSmallIntegerField(default=0)
    stopped_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        indexes = [
            # Serves the metrics heartbeat and each channel's poll: "snapshots due now".
            models.Index(
                fields=["due_at", "channel"],
                name="snapshot_due_idx",
                condition=Q(due_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"metrics of delivery {self.delivery_id}, next at {self.due_at}"


class MetricCursor(models.Model):
    """One channel's metrics polling: when a poll was queued and until when a running one
    holds the channel (a lease), when it last ran, when newly published deliveries were last
    looked for, until when the budget or the network said to wait, and why reading stopped."""

    channel = models.OneToOneField(Channel, on_delete=models.CASCADE, related_name="+")
    queued_at = models.DateTimeField(null=True, blank=True)
    polling_until = models.DateTimeField(null=True, blank=True)
    polled_at = models.DateTimeField(null=True, blank=True)
    # Deliveries published at or after this were not yet looked for (minus an overlap).
    enrolled_until = models.DateTimeField(null=True, blank=True)
    # The next poll even with no snapshot due: new deliveries, the channel's day row.
    check_at = models.DateTimeField(null=True, blank=True)
    not_before = models.DateTimeField(null=True, blank=True)
    stopped_reason = models.CharField(max_length=500, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    def __str__(self) -> str:
        return f"metrics cursor of channel {self.channel_id}"


class ChannelDay(WorkspaceOwned):
    """A channel's day, in the channel's time zone: its followers (as read that day; None
    when the network does not give them, or they could not be read) and the posts it
    published that day."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    followers = models.BigIntegerField(null=True, blank=True)
    followers_read_at = models.DateTimeField(null=True, blank=True)
    posts = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["channel", "day"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "day"], name="one_day_per_channel"),
        ]

    def __str__(self) -> str:
        return f"channel {self.channel_id} on {self.day}"


def bucket_for_age(age: timedelta) -> int | None:
    """The latest bucket a post of this age has reached (None before +1 h)."""
    hours = age.total_seconds() / 3600
    reached = [bucket for bucket in BUCKETS if bucket <= hours]
    return reached[-1] if reached else None


def bucket_after(bucket: int | None) -> int | None:
    """The bucket after ``bucket`` (the first one for None; None after the last)."""
    later = [b for b in BUCKETS if bucket is None or b > bucket]
    return later[0] if later else None


def due_time(published_at: datetime, bucket: int) -> datetime:
    return published_at + timedelta(hours=bucket)


class BenchmarkWindow(models.Model):
    """Quartiles of one metric over a channel's posts of the six months before ``month``, read
    at one age (``bucket``): a benchmark, as ``analytics.reading.benchmarks`` computed it.

    Stored so that a page of ranked posts reads its benchmarks instead of sorting thousands
    of snapshots for each (channel, age, month) it shows. A window is final once no post in
    it can get a reading at that age any more (``month`` + the bucket's hours); before that,
    it is recomputed when older than ``reading.BENCHMARK_FRESH``.
    """

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+")
    bucket = models.PositiveIntegerField(choices=Bucket.choices)
    month = models.DateField(help_text="The first day of the month, in the workspace's zone.")
    metric = models.CharField(max_length=20)
    posts = models.PositiveIntegerField()
    q1 = models.BigIntegerField(null=True)
    median = models.BigIntegerField(null=True)
    q3 = models.BigIntegerField(null=True)
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "bucket", "month", "metric"], name="one_benchmark_window"
            )
        ]

    def __str__(self) -> str:
        return f"{self.metric} of channel {self.channel_id} at {self.bucket} h before {self.month}"
