"""Listening (issue 15): what the workspace follows beyond its own channels.

- A **topic** is what listening follows: the brand, a rival, a theme; each has one or more
  **queries** in the listening query language (``listening.query``).
- A **mention** is one item found by listening (a Bluesky post, a feed entry), kept once per
  (workspace, source, remote id), with its author, reach where known, language and sentiment.
- A **match** says which topics (and which of their queries) a mention answers.

The topic page lists a topic's mentions newest first and must stay fast at a million mentions
(p95 ≤ 100 ms): ``MentionMatch`` copies the mention's ``posted_at`` so that the index
``(topic, posted_at, mention)`` serves the page alone — no join before the limit — and the
filters that come with it (sentiment, language) are copied likewise for their own index.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from socialdesk.inbox.models import Sentiment  # the inbox's triage gives it
from socialdesk.workspaces.models import WorkspaceOwned


class TopicKind(models.TextChoices):
    BRAND = "brand", "Brand"
    COMPETITOR = "competitor", "Competitor"
    THEME = "theme", "Theme"


class Topic(WorkspaceOwned):
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=TopicKind.choices, default=TopicKind.BRAND)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="one_topic_per_name")
        ]

    def __str__(self) -> str:
        return self.name


class TopicQuery(WorkspaceOwned):
    """One query of a topic; its text was checked by ``query.compile_query`` when saved."""

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="queries")
    text = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.text


class SourceKind(models.TextChoices):
    BLUESKY = "bluesky", "Bluesky search"
    MASTODON = "mastodon", "Mastodon hashtags and search"
    FEED = "feed", "RSS or Atom feed"
    INBOX = "inbox", "Inbox message"


class Source(WorkspaceOwned):
    """Where listening reads: a feed URL, or Bluesky search through one of the workspace's
    channels. ``cursor`` is how far it has read (per kind: the newest entry id and date for a
    feed, the newest post time for a search); ``polled_at`` paces the polls."""

    kind = models.CharField(max_length=20, choices=SourceKind.choices)
    # A feed's URL, or the channel for Bluesky search.
    url = models.URLField(max_length=1000, blank=True)
    channel = models.ForeignKey(
        "networks.Channel", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    active = models.BooleanField(default=True)
    cursor = models.JSONField(default=dict, blank=True)
    polled_at = models.DateTimeField(null=True, blank=True)
    polling_until = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.url or f"{self.get_kind_display()} {self.pk}"


class Mention(WorkspaceOwned):
    source_kind = models.CharField(max_length=20, choices=SourceKind.choices)
    # Which source found it (a feed's URL, a channel id for search): for filters and display.
    source_ref = models.CharField(max_length=1000, blank=True)
    remote_id = models.CharField(max_length=500)
    author_handle = models.CharField(max_length=300, blank=True)
    author_name = models.CharField(max_length=300, blank=True)
    reach = models.PositiveIntegerField(null=True, blank=True, help_text="Where known.")
    # Likes, reposts and replies when the network says (share of voice by engagement).
    engagement = models.PositiveIntegerField(null=True, blank=True, help_text="Where known.")
    url = models.URLField(max_length=1000, blank=True)
    text = models.TextField(blank=True)
    language = models.CharField(max_length=35, blank=True)
    sentiment = models.CharField(max_length=10, choices=Sentiment.choices, blank=True)
    sentiment_score = models.FloatField(default=0.0)
    posted_at = models.DateTimeField(default=timezone.now)
    fetched_at = models.DateTimeField(default=timezone.now)
    # What answering it needs, where the network gave it (Bluesky: the post's ``uri`` and
    # ``cid``, its thread's ``root_uri``/``root_cid``, the author's ``did``).
    reference = models.JSONField(default=dict, blank=True)
    # What a person made of it (listening.actions): the inbox conversation that answers it,
    # and the draft post it became.
    conversation = models.ForeignKey(
        "inbox.Conversation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    idea = models.ForeignKey(
        "content.Post", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    topics: models.ManyToManyField[Topic, MentionMatch] = models.ManyToManyField(
        Topic, through="MentionMatch", related_name="mentions"
    )

    class Meta:
        ordering = ["-posted_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "source_kind", "remote_id"], name="one_mention_per_remote_id"
            )
        ]
        # The workspace's mentions newest first (the mentions list without a topic).
        indexes = [models.Index(fields=["workspace", "-posted_at", "-id"], name="mention_new_idx")]

    def __str__(self) -> str:
        return f"{self.source_kind} {self.remote_id}"


class MentionMatch(models.Model):
    """A mention answers a topic. ``posted_at``, ``sentiment``, ``language`` and
    ``source_kind`` are the mention's, copied so the topic page reads one index."""

    # No index of their own: "one_match_per_topic" starts with mention, and
    # "topic_mentions_idx" with topic.
    mention = models.ForeignKey(
        Mention, on_delete=models.CASCADE, related_name="matches", db_index=False
    )
    topic = models.ForeignKey(
        Topic, on_delete=models.CASCADE, related_name="matches", db_index=False
    )
    query = models.ForeignKey(
        TopicQuery, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    posted_at = models.DateTimeField()
    sentiment = models.CharField(max_length=10, blank=True)
    language = models.CharField(max_length=35, blank=True)
    source_kind = models.CharField(max_length=20, blank=True)

    class Meta:
        ordering = ["-posted_at", "-mention_id"]
        constraints = [
            models.UniqueConstraint(fields=["mention", "topic"], name="one_match_per_topic")
        ]
        indexes = [
            # The topic page: a topic's mentions newest first (keyset pagination on
            # posted_at, mention). Serves the page with no join before the LIMIT.
            models.Index(fields=["topic", "-posted_at", "-mention"], name="topic_mentions_idx"),
            # The same filtered by sentiment (the most used filter on the page).
            models.Index(
                fields=["topic", "sentiment", "-posted_at", "-mention"],
                name="topic_sentiment_idx",
            ),
            # The topic page's other filters, so a rare language or source is not found by
            # walking the whole topic.
            models.Index(
                fields=["topic", "language", "-posted_at", "-mention"],
                name="topic_language_idx",
            ),
            models.Index(
                fields=["topic", "source_kind", "-posted_at", "-mention"],
                name="topic_source_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.topic_id} ← {self.mention_id}"


class TopicDay(models.Model):
    """A topic's mentions of one day (UTC) and one sentiment: the rollup the topic page's
    charts and share of voice read, so they stay fast at a million mentions. Kept by
    ``rollups.refresh`` whenever ``matching.store_items`` stores matches (it recounts the
    touched days from ``MentionMatch``, so a racing poll or a re-run cannot count twice)."""

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="days", db_index=False)
    day = models.DateField()
    sentiment = models.CharField(max_length=10, blank=True)
    mentions = models.PositiveIntegerField(default=0)
    # Sum of the known engagement of these mentions, and how many had one.
    engagement = models.PositiveBigIntegerField(default=0)
    engaged = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["topic", "day", "sentiment"]
        constraints = [
            models.UniqueConstraint(
                fields=["topic", "day", "sentiment"], name="one_topic_day_per_sentiment"
            )
        ]

    def __str__(self) -> str:
        return f"{self.topic_id} {self.day} {self.sentiment}: {self.mentions}"


# --- Alerts (listening.alerts) ------------------------------------------------------------


class Sensitivity(models.TextChoices):
    LOW = "low", "Low: only large spikes"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High: smaller spikes too"


class AlertSettings(WorkspaceOwned):
    """How one topic alerts. A topic without a row alerts with these defaults (see
    ``alerts.settings_for``). ``checked_at`` is when its volume and sentiment were last
    checked: the heartbeat's compare-and-set on it makes one check per ``CHECK_EVERY``."""

    topic = models.OneToOneField(Topic, on_delete=models.CASCADE, related_name="alert_settings")
    spikes = models.BooleanField(default=True)
    sensitivity = models.CharField(
        max_length=10, choices=Sensitivity.choices, default=Sensitivity.MEDIUM
    )
    sentiment_drops = models.BooleanField(default=True)
    # One per line: a word, a "phrase" or any query of the listening language.
    critical_words = models.TextField(blank=True)
    cooldown_hours = models.PositiveSmallIntegerField(default=6)
    checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["topic_id"]

    def __str__(self) -> str:
        return f"Alerts of {self.topic_id}"

    @property
    def critical_lines(self) -> list[str]:
        return [line.strip() for line in self.critical_words.splitlines() if line.strip()]


class AlertKind(models.TextChoices):
    SPIKE = "spike", "Volume spike"
    SENTIMENT = "sentiment", "Sentiment drop"
    CRITICAL = "critical", "Critical words"


class AlertState(models.TextChoices):
    NEW = "new", "New"
    SEEN = "seen", "Seen"


class Alert(WorkspaceOwned):
    """One alert: what crossed what (``title``), over which window, with the figures in
    ``detail``; a critical-words alert names its mention."""

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=20, choices=AlertKind.choices)
    state = models.CharField(max_length=10, choices=AlertState.choices, default=AlertState.NEW)
    title = models.CharField(max_length=300)
    detail = models.JSONField(default=dict, blank=True)
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    mention = models.ForeignKey(
        Mention, null=True, blank=True, on_delete=models.CASCADE, related_name="alerts"
    )
    proposes_crisis = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    seen_at = models.DateTimeField(null=True, blank=True)
    seen_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # A mention raises one critical-words alert per topic, however often it is seen.
            models.UniqueConstraint(
                fields=["topic", "kind", "mention"],
                condition=models.Q(mention__isnull=False),
                name="one_alert_per_mention",
            )
        ]
        indexes = [
            # The alert list (newest first) and the cool-down's "latest of this kind".
            models.Index(fields=["workspace", "-created_at", "-id"], name="alert_list_idx"),
            models.Index(fields=["topic", "kind", "-created_at"], name="alert_latest_idx"),
        ]

    def __str__(self) -> str:
        return self.title
