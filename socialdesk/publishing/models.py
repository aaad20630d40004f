"""Deliveries (a post on one channel) and the worker heartbeat."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from socialdesk.content.models import MediaAsset, Post
from socialdesk.networks.models import Channel
from socialdesk.workspaces.models import WorkspaceOwned, WorkspaceOwnedQuerySet


class DeliveryState(models.TextChoices):
    DRAFT = "draft", "Draft"
    SCHEDULED = "scheduled", "Scheduled"
    # Has a time, but the post is not approved yet: the engine never sends it; approval moves
    # it to scheduled (``services.resume_after_approval``), its time passing unapproved to
    # missed (or, by the workspace's choice, a fast-lane post goes out anyway).
    AWAITING_APPROVAL = "awaiting_approval", "Waiting for approval"
    PUBLISHING = "publishing", "Publishing"
    WAITING_RETRY = "waiting_retry", "Waiting to retry"
    PUBLISHED = "published", "Published"
    FAILED = "failed", "Failed"
    UNKNOWN = "unknown", "Outcome unknown"
    CANCELLED = "cancelled", "Cancelled"
    MISSED = "missed", "Missed"


class DeliveryKind(models.TextChoices):
    """What a delivery writes to the network (issue 13, item 3). A ``post`` belongs to the
    plan (calendar, lists, queues, exports); the others are the inbox's writes, carried by
    the same engine and its guarantees, and about ``Delivery.target`` (the network's
    reference of what is answered, liked, hidden or deleted)."""

    POST = "post", "Post"
    REPLY = "reply", "Reply"
    LIKE = "like", "Like"
    HIDE = "hide", "Hide"
    UNHIDE = "unhide", "Unhide"
    DELETE = "delete", "Delete"


class DeliveryQuerySet(WorkspaceOwnedQuerySet):
    def due(self, now: object = None) -> DeliveryQuerySet:
        """Scheduled deliveries whose time has come (served by ``delivery_due_idx``)."""
        return self.filter(state=DeliveryState.SCHEDULED, scheduled_at__lte=now or timezone.now())


class PostDeliveryManager(models.Manager.from_queryset(DeliveryQuerySet)):  # type: ignore[misc]
    """``Delivery.objects``: the plan's deliveries only (kind ``post``), so every page, list,
    export and API of the plan keeps seeing posts and never an inbox reply or like."""

    def get_queryset(self) -> DeliveryQuerySet:
        return super().get_queryset().filter(kind=DeliveryKind.POST)


class EngineDeliveryManager(models.Manager.from_queryset(DeliveryQuerySet)):  # type: ignore[misc]
    """``Delivery.engine``: every kind. What the engine (dispatch, states, claims, pacing,
    sweep, health) reads, because it sends inbox writes exactly as it sends posts."""


# The reasons recorded when the engine holds a delivery for approval at send time, and when
# approval puts it back on schedule (``services.resume_after_approval``).
APPROVAL_HELD = "held for approval"
APPROVAL_RESUMED = "approved: back on schedule"


def new_idempotency_key() -> str:
    """A key no other delivery, on this installation or any other, will ever carry: 128
    random bits. Networks (and Bluesky's record keys, derived from it) see one account shared
    by every installation that publishes to it, so a key made from the delivery's id would
    collide with another installation's delivery of the same id (issue 12, item C)."""
    return f"socialdesk-{secrets.token_hex(16)}"


class Delivery(WorkspaceOwned):
    """A post's appearance on one channel: its overrides, time, state and remote identity."""

    # Empty for the inbox's kinds (a reply, like, hide … belongs to no post of the plan).
    # Typed as always set: ``Delivery.objects`` (what the plan reads) returns posts only; the
    # engine, which sees every kind, checks ``post_id`` before it reads a post.
    post: models.ForeignKey[Post | None, Post] = models.ForeignKey(  # type: ignore[misc]
        Post, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="deliveries")
    kind = models.CharField(max_length=10, choices=DeliveryKind.choices, default=DeliveryKind.POST)
    # What a reply answers, or a like / hide / unhide / delete acts on, as the network names
    # it (``inbox.Message.reference`` plus its ``remote_id``); empty for a post.
    target = models.JSONField(default=dict, blank=True)
    text_override = models.TextField(blank=True)
    media_override = models.ManyToManyField(MediaAsset, blank=True, related_name="+")
    first_comment = models.TextField(blank=True)
    # What some networks add to a post (passed on by ``connectors.content_for``; a network
    # without it ignores it): the text's language (BCP 47, e.g. "fr"), and on Mastodon the
    # status's visibility (empty: the channel's default) and content warning.
    language = models.CharField(max_length=35, blank=True)
    visibility = models.CharField(max_length=20, blank=True)
    content_warning = models.CharField(max_length=500, blank=True)
    scheduled_at = models.DateTimeField(null=True, blank=True, help_text="UTC.")
    # The zone whose wall-clock time a person picked for ``scheduled_at`` (the one given, else
    # the channel's, else the workspace's), so every page can say which zone was used.
    time_zone = models.CharField(max_length=64, blank=True)
    state = models.CharField(
        max_length=20, choices=DeliveryState.choices, default=DeliveryState.DRAFT
    )
    remote_id = models.CharField(max_length=300, blank=True)
    remote_url = models.URLField(max_length=500, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # --- Publishing engine (see ``publishing.states`` and ``publishing.dispatch``) ---
    # Until when the worker that claimed this delivery owns it; past it, the sweeper takes
    # the attempt as crashed and the outcome as unknown.
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=200, blank=True)
    # waiting_retry: when to try again; unknown: when to ask the network again.
    retry_at = models.DateTimeField(null=True, blank=True)
    # When the task most recently put on the queue for this delivery is due to run; the
    # sweeper re-enqueues only deliveries whose task should have run a while ago.
    enqueued_for = models.DateTimeField(null=True, blank=True)
    # Carried by every attempt's network call, so a network that honours it never creates the
    # post twice, and ``find_published`` can look for it. Set once, when the row is made
    # (a default, so ``bulk_create`` gets it too; ``BulkRows`` callers pass their own).
    idempotency_key = models.CharField(
        max_length=64, unique=True, default=new_idempotency_key, editable=False
    )

    # The first manager is the default one (forms, related managers, ``channel.deliveries``):
    # posts only. ``engine`` sees every kind; it is also the base manager, so a foreign key
    # (a transition's, an inbox message's) reaches an inbox delivery too.
    objects = PostDeliveryManager()  # type: ignore[misc]
    engine = EngineDeliveryManager()

    class Meta:
        ordering = ["scheduled_at", "id"]
        verbose_name_plural = "deliveries"
        base_manager_name = "engine"
        constraints = [
            models.UniqueConstraint(fields=["post", "channel"], name="one_delivery_per_channel"),
            models.CheckConstraint(
                condition=Q(kind="post", post__isnull=False)
                | (~Q(kind="post") & Q(post__isnull=True)),
                name="delivery_post_iff_kind_post",
            ),
        ]
        indexes = [
            # Serves the dispatcher's "what is due" loop.
            models.Index(fields=["state", "scheduled_at"], name="delivery_due_idx"),
            models.Index(fields=["workspace", "scheduled_at"], name="delivery_calendar_idx"),
            # Serves the Analytics pages' "posts published in a period" (``analytics.reading``).
            models.Index(fields=["workspace", "published_at"], name="delivery_published_idx"),
            # Serve the sweeper's "retry time has come" and "lease expired" queries.
            models.Index(fields=["state", "retry_at"], name="delivery_retry_idx"),
            models.Index(fields=["state", "lease_expires_at"], name="delivery_lease_idx"),
        ]

    def __str__(self) -> str:
        if self.kind != DeliveryKind.POST:
            return f"{self.get_kind_display().lower()} on {self.channel}"
        return f"post {self.post_id} on {self.channel}"

    @property
    def text(self) -> str:
        if self.post_id is None:  # the inbox's kinds carry their own text
            return self.text_override
        return self.text_override or self.post.text

    @property
    def approval_note(self) -> str:
        """A sentence for the post's page when approval put this delivery back on schedule
        after the engine held it (one query: only the post's page asks)."""
        if self.state != DeliveryState.SCHEDULED or self.scheduled_at is None:
            return ""
        last = self.transitions.order_by("-at", "-id").first()
        if last is None or last.reason != APPROVAL_RESUMED:
            return ""
        zone = self.channel.zone
        local = timezone.localtime(self.scheduled_at, zone)
        return f"Approved: back on schedule for {local:%a %d %b %H:%M} ({zone.key})."


class DeliveryTransition(WorkspaceOwned):
    """One move of a delivery from one state to another: when, why, and by whom or what.

    Written only by ``publishing.states.transition``, in the same transaction as the move.
    """

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="transitions")
    from_state = models.CharField(max_length=20, choices=DeliveryState.choices)
    to_state = models.CharField(max_length=20, choices=DeliveryState.choices)
    at = models.DateTimeField(default=timezone.now)
    reason = models.CharField(max_length=1000)
    # A person, or empty with ``actor_label`` naming the machinery ("system: sweeper").
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=200)

    class Meta:
        ordering = ["delivery", "at", "id"]
        indexes = [models.Index(fields=["delivery", "at"], name="transition_history_idx")]

    def __str__(self) -> str:
        return f"delivery {self.delivery_id}: {self.from_state} → {self.to_state}"


class WorkerHeartbeat(models.Model):
    """Written every few seconds by each running worker, so a stopped worker is visible."""

    worker_id = models.CharField(max_length=200, unique=True)
    hostname = models.CharField(max_length=200)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField(default=timezone.now)
    seen_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.worker_id

    @classmethod
    def latest(cls) -> WorkerHeartbeat | None:
        return cls.objects.order_by("-seen_at").first()

    @property
    def is_alive(self) -> bool:
        age = (timezone.now() - self.seen_at).total_seconds()
        return age <= settings.WORKER_HEARTBEAT_STALE_SECONDS

    @classmethod
    def stopped(cls, now: datetime, within: timedelta) -> dict[str, datetime]:
        """The workers that died in the last ``within`` (stale after
        ``WORKER_HEARTBEAT_STALE_SECONDS``; a clean stop deletes its row instead), with
        when each was last seen. A process paused (by a debugger, a frozen VM) longer than
        that is taken for dead too: its calls then end as "late results" (``dispatch``)."""
        stale_before = now - timedelta(seconds=settings.WORKER_HEARTBEAT_STALE_SECONDS)
        rows = cls.objects.filter(seen_at__lt=stale_before, seen_at__gte=stale_before - within)
        return dict(rows.values_list("worker_id", "seen_at"))

    @staticmethod
    def holds(worker_ids: Iterable[str]) -> Q:
        """Deliveries claimed by these workers' processes, whichever task thread claimed them
        (``tasks.default_worker_id``: ``<worker id>`` or ``<worker id>:<thread>``)."""
        held = Q(pk__in=[])
        for worker_id in worker_ids:
            held |= Q(claimed_by=worker_id) | Q(claimed_by__startswith=f"{worker_id}:")
        return held


class ChannelSpend(models.Model):
    """Rate-limit budget one claimed attempt spent on its channel's account (issue 3, item 7).

    Written by ``publishing.pacing.spend`` in the same transaction as the claim, under a lock
    on the channel row, so several workers never spend past a network's published limit.
    Rows older than the longest window are deleted as new ones are written.
    """

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+")
    delivery = models.ForeignKey(
        Delivery, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    unit = models.CharField(max_length=50)
    points = models.PositiveIntegerField()
    at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["channel", "unit", "at"], name="channel_spend_window_idx")]

    def __str__(self) -> str:
        return f"{self.points} {self.unit} on channel {self.channel_id} at {self.at}"


# --- Queues and slots (issue 5, item 4; see ``publishing.queues``) ---------------------------


class Slot(WorkspaceOwned):
    """A recurring wall-clock time in a channel's weekly posting schedule, in the channel's
    zone, so a 09:00 slot stays at 09:00 local across daylight-saving changes."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="slots")
    weekday = models.PositiveSmallIntegerField(help_text="0 = Monday … 6 = Sunday.")
    time = models.TimeField(help_text="Wall clock in the channel's time zone.")

    class Meta:
        ordering = ["channel", "weekday", "time"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "weekday", "time"], name="one_slot_per_time"
            ),
            models.CheckConstraint(condition=models.Q(weekday__lte=6), name="slot_weekday_in_week"),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.time:%H:%M} on channel {self.channel_id}"

    def get_weekday_display(self) -> str:
        return WEEKDAYS[self.weekday]


WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


class Queue(WorkspaceOwned):
    """A channel's queue settings; created on first use."""

    channel = models.OneToOneField(Channel, on_delete=models.CASCADE, related_name="queue")
    paused = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"queue of channel {self.channel_id}"


class QueueEntry(WorkspaceOwned):
    """A delivery waiting in its channel's queue, in ``position`` order.

    While the queue runs, the entries hold the channel's next free slots in order (their
    deliveries are scheduled); while it is paused, or when no slot is free, they wait as
    drafts. An evergreen entry, once published, comes back as a copy of the post after
    ``interval_days``, with the next of its ``variants`` as its text.
    """

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="queue_entries")
    delivery = models.OneToOneField(Delivery, on_delete=models.CASCADE, related_name="queue_entry")
    position = models.PositiveIntegerField()
    evergreen = models.BooleanField(default=False)
    interval_days = models.PositiveSmallIntegerField(default=30)
    variants = models.JSONField(default=list, blank=True)
    variant_index = models.PositiveSmallIntegerField(default=0)
    not_before = models.DateTimeField(null=True, blank=True, help_text="UTC; evergreen returns.")
    # Set once an evergreen entry's copy has been queued, so it comes back only once.
    requeued = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["channel", "position", "id"]
        indexes = [models.Index(fields=["channel", "position"], name="queue_order_idx")]

    def __str__(self) -> str:
        return f"#{self.position} in queue of channel {self.channel_id}"


class BoostSpend(WorkspaceOwned):
    """Money spent promoting one delivery (issue 5, item 5), counted against its post's
    campaign budget by ``publishing.planning.campaign_budget``."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="boosts")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    spent_on = models.DateField()
    note = models.CharField(max_length=200, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-spent_on", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="boost_amount_positive")
        ]

    def __str__(self) -> str:
        return f"{self.amount} on delivery {self.delivery_id}"


# --- The crisis switch (issue 15, item 6; see ``publishing.crisis``) -------------------------


class CrisisPause(WorkspaceOwned):
    """One time a workspace's crisis switch was on: who turned it on, when and why, and who
    turned it off and when.

    While it is on (``ended_at`` empty) the engine sends none of the workspace's posts. Once
    it is off, the posts that came due meanwhile stay held until a person resumes, moves or
    cancels each of them (``publishing.crisis``); ``released_at`` is when the last of them
    was decided (at once when none came due), and from then on the row holds nothing.
    """

    started_at = models.DateTimeField(default=timezone.now)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=1000)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            # At most one pause holds a workspace's posts: starting one releases the last.
            models.UniqueConstraint(
                fields=["workspace"],
                condition=Q(released_at__isnull=True),
                name="one_holding_crisis_pause",
            ),
            models.CheckConstraint(
                condition=Q(released_at__isnull=True) | Q(ended_at__isnull=False),
                name="crisis_pause_released_after_end",
            ),
        ]
        indexes = [
            # Serves the dispatcher's and the sweeper's one look per batch: "which
            # workspaces hold their posts now" (``crisis.held``), almost always no row.
            models.Index(
                fields=["released_at"],
                condition=Q(released_at__isnull=True),
                name="crisis_pause_holding_idx",
            ),
            models.Index(fields=["workspace", "started_at"], name="crisis_pause_history_idx"),
        ]

    def __str__(self) -> str:
        return f"crisis pause {self.pk} of workspace {self.workspace_id}"

    @property
    def is_on(self) -> bool:
        return self.ended_at is None
