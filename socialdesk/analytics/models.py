"""Analytics' tables: metric snapshots, short links, clicks and conversions, best times and
experiments."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from socialdesk.content.models import Campaign, Pillar, Post
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
            # The interactions are in it so that a period's engagement (top posts, rankings)
            # is read from the index alone, without a visit to each row.
            models.Index(
                fields=["channel", "published_at", "likes", "reposts", "replies", "quotes"],
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


class ReadingDay(models.Model):
    """A channel's posts of one local day as last read: how many of its deliveries published
    that day have a reading, and the sum of their latest engagement (likes + reposts +
    replies + quotes, a metric the network does not give adding 0). Days are those of the
    zone its ``ReadingRollup`` names (the workspace's). The rollup the Analytics overview
    reads, so a 90-day period costs ~90 rows per channel whatever the number of posts; kept
    by ``rollups`` (see there for how it stays exact). A day without a reading has no row."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+", db_index=False)
    day = models.DateField()
    posts = models.PositiveIntegerField(default=0)
    engagement = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["channel", "day"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "day"], name="one_reading_day_per_channel")
        ]

    def __str__(self) -> str:
        return f"channel {self.channel_id} on {self.day}: {self.posts} posts"


class ReadingRollup(models.Model):
    """Which zone a channel's ``ReadingDay`` rows are counted in. No row: the channel's days
    were never counted (``rollups.ensure`` counts them at the first read); a zone other than
    the workspace's: its zone changed, and the days are counted again at the next read."""

    channel = models.OneToOneField(Channel, on_delete=models.CASCADE, related_name="+")
    zone = models.CharField(max_length=64)
    built_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"readings of channel {self.channel_id} by day in {self.zone}"


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


# Short links, clicks and conversions
# (issue 14, items 2 and 3; ``analytics.links``, ``clicks``, ``conversions``)

# Conversions are attributed to a click at most this many days old, unless the workspace
# chose another window (``LinkSettings.conversion_window_days``).
CONVERSION_WINDOW_DAYS = 30
# A link longer than this is left as it is (with its UTM tags): no short link.
MAX_TARGET = 2000


class LinkSettings(WorkspaceOwned):
    """A workspace's choices about short links and conversions; a workspace without a row
    has the defaults (``links.settings_for``)."""

    # Off: links go out with their UTM tags only, and clicks are not counted.
    short_links = models.BooleanField(default=True)
    conversion_window_days = models.PositiveSmallIntegerField(
        default=CONVERSION_WINDOW_DAYS,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
    )
    # The shop signs its conversion reports with this (HMAC-SHA256), encrypted at rest with
    # ``ENCRYPTION_KEYS`` (``socialdesk.crypto``); shown once, when made or rotated.
    conversion_secret_encrypted = models.TextField(blank=True)
    secret_rotated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace"], name="one_link_settings_per_workspace")
        ]

    def __str__(self) -> str:
        return f"link settings of workspace {self.workspace_id}"


class ShortLink(WorkspaceOwned):
    """The workspace's own redirect (``/l/<code>``) for one link in one delivery, so that a
    click knows its post, channel, campaign and pillar (copied when the link is made: what
    the post was part of when it went out)."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="short_links")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="short_links")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+")
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    pillar = models.ForeignKey(
        Pillar, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The link as written in the post, and where the redirect sends: it with the UTM tags.
    source_url = models.CharField(max_length=MAX_TARGET)
    target_url = models.CharField(max_length=MAX_TARGET + 500)
    # Random (``links.new_code``), never derived from the id: a code says nothing about how
    # many links exist, and the next one cannot be guessed.
    code = models.CharField(max_length=16, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            # One per link per delivery: a retried delivery finds the links it made.
            models.UniqueConstraint(fields=["delivery", "source_url"], name="one_link_per_url")
        ]
        indexes = [models.Index(fields=["workspace", "post"], name="shortlink_post_idx")]

    def __str__(self) -> str:
        return f"/l/{self.code} → {self.source_url}"


class Click(WorkspaceOwned):
    """One counted visit through a short link: no cookie, no address; ``visitor`` is a hash of
    the day's salt, the workspace, the address and the browser (``clicks.visitor``), so the
    same person counts once per day and cannot be followed from one day to the next."""

    link = models.ForeignKey(ShortLink, on_delete=models.CASCADE, related_name="clicks")
    at = models.DateTimeField()
    visitor = models.CharField(max_length=32)
    # The click id the landing URL carries (``sd_click``), which a conversion names.
    token = models.CharField(max_length=24, unique=True)

    class Meta:
        indexes = [
            models.Index(fields=["link", "at"], name="click_link_idx"),
            models.Index(fields=["workspace", "at"], name="click_day_idx"),
        ]

    def __str__(self) -> str:
        return f"click {self.token} on link {self.link_id}"


class PageView(WorkspaceOwned):
    """One view of the public page or one of its entries, counted as a click is."""

    at = models.DateTimeField()
    visitor = models.CharField(max_length=32)
    path = models.CharField(max_length=200)

    class Meta:
        indexes = [models.Index(fields=["workspace", "at"], name="pageview_day_idx")]

    def __str__(self) -> str:
        return f"view of {self.path} at {self.at}"


class DailySalt(models.Model):
    """Today's salt for visitor hashes. Yesterday's is deleted when today's is made, so a
    visitor hash cannot be recomputed (or matched to an address) once its day is over."""

    day = models.DateField(unique=True)
    salt = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"salt of {self.day}"


class Conversion(WorkspaceOwned):
    """An order (or sign-up) the shop reported for a click, with its value, attributed to the
    click's post, campaign and channel when the click is within the workspace's window (last
    click: the click named is the last one the shop saw)."""

    click = models.ForeignKey(
        Click, null=True, blank=True, on_delete=models.SET_NULL, related_name="conversions"
    )
    order_id = models.CharField(max_length=200)
    value = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    created_at = models.DateTimeField(default=timezone.now)
    # Empty when the click was older than the window (the order is kept, unattributed).
    attributed = models.BooleanField(default=False)
    link = models.ForeignKey(
        ShortLink, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    post = models.ForeignKey(
        Post, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    channel = models.ForeignKey(
        Channel, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    window_days = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # Idempotent by order: the shop may send the same report again.
            models.UniqueConstraint(
                fields=["workspace", "order_id"], name="one_conversion_per_order"
            )
        ]
        indexes = [models.Index(fields=["workspace", "created_at"], name="conversion_day_idx")]

    def __str__(self) -> str:
        return f"order {self.order_id}: {self.value} {self.currency}"


# Best times and experiments -------------------------------------------------------------------
#
# ``BestTimes`` is a channel's last best-time computation (what it was drawn from and when) and
# ``BestTimeSlot`` its rows, one per weekday and hour of the channel's zone that had posts.
# Written by ``analytics.best_time`` only.


class BestTimeSource(models.TextChoices):
    OWN = "own", "this channel's own history"
    NETWORK = "network", "the workspace's channels on this network (this one's history is thin)"
    NONE = "none", "not enough history yet"


class BestTimes(WorkspaceOwned):
    """A channel's best times to post as last computed (weekly, by the worker's heartbeat)."""

    channel = models.OneToOneField(Channel, on_delete=models.CASCADE, related_name="+")
    computed_at = models.DateTimeField()
    source = models.CharField(max_length=10, choices=BestTimeSource.choices)
    # Measured posts of this channel in the window, and of every channel drawn from.
    own_posts = models.PositiveIntegerField(default=0)
    posts = models.PositiveIntegerField(default=0)
    # The zone the weekdays and hours are in (the channel's, when computed).
    zone = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"best times of channel {self.channel_id} ({self.source})"


class BestTimeSlot(models.Model):
    """One weekday-and-hour of a channel's week (its zone): how posts published then did.

    ``score`` is the recency-weighted mean of the posts' engagement relative to their own
    channel's typical post (1.0 = typical); ``posts`` how many posts are behind it."""

    best_times = models.ForeignKey(BestTimes, on_delete=models.CASCADE, related_name="slots")
    weekday = models.PositiveSmallIntegerField()  # 0 = Monday, as ``date.weekday()``
    hour = models.PositiveSmallIntegerField()
    score = models.FloatField()
    # The sum of the posts' recency weights (ranking shrinks a slot of few posts toward 1.0).
    weight = models.FloatField()
    posts = models.PositiveIntegerField()
    confidence = models.CharField(max_length=10)  # high, medium, low

    class Meta:
        ordering = ["weekday", "hour"]
        constraints = [
            models.UniqueConstraint(
                fields=["best_times", "weekday", "hour"], name="one_best_time_slot_per_hour"
            ),
        ]

    def __str__(self) -> str:
        return f"slot {self.weekday}/{self.hour} of {self.best_times_id}"


# Experiments: ``Experiment`` holds the test as decided before it started (its metric, the
# baseline rate and the smallest effect worth finding, and so the sample each variant needs);
# ``ExperimentVariant`` links each variant to the post that carries it (publishing never knows
# about experiments). Written by ``analytics.experiments`` only.


class ExperimentMetric(models.TextChoices):
    CLICKS_PER_VIEW = "clicks_per_view", "Clicks per view"
    ENGAGEMENT_PER_VIEW = "engagement_per_view", "Engagements per view"
    ENGAGEMENT_PER_FOLLOWER = "engagement_per_follower", "Engagements per follower"


class ExperimentState(models.TextChoices):
    RUNNING = "running", "Running"
    FINISHED = "finished", "Finished"
    STOPPED = "stopped", "Stopped"


class Experiment(WorkspaceOwned):
    """An A/B test of two to four variants of a post."""

    name = models.CharField(max_length=200)
    hypothesis = models.TextField(blank=True)
    metric = models.CharField(max_length=30, choices=ExperimentMetric.choices)
    # Rates from 0 to 1: the rate expected of variant A, and the smallest absolute change
    # worth finding (0.01 = one percentage point).
    baseline_rate = models.FloatField()
    minimum_effect = models.FloatField()
    alpha = models.FloatField(default=0.05)
    power = models.FloatField(default=0.8)
    required_per_variant = models.PositiveIntegerField()
    state = models.CharField(
        max_length=10, choices=ExperimentState.choices, default=ExperimentState.RUNNING
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    winner = models.ForeignKey(
        "ExperimentVariant", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    verdict = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name


class ExperimentVariant(models.Model):
    """One variant (A, B, C, D) and the post that carries it."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="variants")
    label = models.CharField(max_length=1)
    post = models.ForeignKey(
        "content.Post", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    description = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["experiment", "label"]
        constraints = [
            models.UniqueConstraint(fields=["experiment", "label"], name="one_variant_per_label"),
            models.UniqueConstraint(fields=["post"], name="one_experiment_per_post"),
        ]

    def __str__(self) -> str:
        return f"variant {self.label} of {self.experiment_id}"


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


# Reports (issue 14, item 7) ----------------------------------------------------------------
#
# A report is a chosen set of the Analytics figures for one period, shown as a page, made
# into a PDF, and sent by the worker every week or month to chosen people. Written by
# ``analytics.reports`` only.


class ReportPeriod(models.TextChoices):
    WEEKLY = "weekly", "Weekly (Monday to Sunday)"
    MONTHLY = "monthly", "Monthly (calendar month)"


class ReportSection(models.TextChoices):
    OVERVIEW = "overview", "Overview"
    TOP_POSTS = "top_posts", "Top posts"
    MIX = "mix", "Pillars & campaigns"
    BEST_TIMES = "best_times", "Best times"
    EXPERIMENTS = "experiments", "Experiments"
    RESPONSE_TIMES = "response_times", "Team and inbox response times"


class Report(WorkspaceOwned):
    """A report's recipe: which sections, which period, who receives it.

    ``sections`` is a list of ``ReportSection`` values in the order chosen; ``emails`` are
    addresses outside the workspace (a client's team) beside the ``recipients`` who are
    members. A client member sees the report only when ``shared_with_clients`` is set.
    ``scheduled``: the worker sends it after each period ends (``reports.due_sends``).
    """

    name = models.CharField(max_length=120)
    sections = models.JSONField(default=list)
    period = models.CharField(
        max_length=10, choices=ReportPeriod.choices, default=ReportPeriod.WEEKLY
    )
    recipients = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    emails = models.JSONField(default=list, blank=True)
    include_logo = models.BooleanField(default=True)
    shared_with_clients = models.BooleanField(default=False)
    scheduled = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class ReportSendState(models.TextChoices):
    PENDING = "pending", "Waiting for the worker"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class ReportSend(WorkspaceOwned):
    """One sending of a report for one period.

    A scheduled send is unique per (report, period_start): the row is created before
    anything is sent, so a worker that crashes and restarts finds it and never sends that
    period twice (see ``reports.deliver``). "Send now" rows (``manual``) are not limited.
    """

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="sends")
    period_start = models.DateField(help_text="The period's first local day.")
    period_end = models.DateField(help_text="The period's last local day (included).")
    manual = models.BooleanField(default=False)
    state = models.CharField(
        max_length=10, choices=ReportSendState.choices, default=ReportSendState.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    # The lease of the worker sending it; an expired lease may be taken again.
    sending_until = models.DateTimeField(null=True, blank=True)
    recipients = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-period_start", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["report", "period_start"],
                condition=Q(manual=False),
                name="one_scheduled_send_per_period",
            )
        ]
        indexes = [
            # Serves the heartbeat's "sends left unfinished" query (reports.on_heartbeat).
            models.Index(fields=["state", "sending_until"], name="report_send_state_idx")
        ]

    def __str__(self) -> str:
        return f"{self.report} for {self.period_start}"
