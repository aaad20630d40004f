"""The inbox: what people say to and about the workspace, and the team's answers (issue 13).

- A **contact** is one person on one network (a Bluesky DID, a Mastodon account, the email
  of someone who asked on the public page), with the team's notes.
- A **conversation** is one thread the team works on: the comments of one contact under one
  of our posts, a mention, a quote, a direct message thread, or a question from the public
  page. It has a status (new → pending after our reply → new again when the contact writes;
  resolved reopens on a new message), an assignee, tags, a priority and a sentiment.
- A **message** is one item of it, inbound or outbound, kept once per remote id.

Reading from the networks is ``inbox.ingest``; answering goes through the publishing engine
(an outbound message is carried by a delivery of kind "reply").
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from socialdesk.networks.models import Channel
from socialdesk.workspaces.models import WorkspaceOwned


class Contact(WorkspaceOwned):
    """One person on one network, as the network names them."""

    network = models.CharField(max_length=20)
    # The network's stable id for the person: a DID, a Mastodon account id (with its
    # instance in ``handle``), or an email address for the public page.
    remote_id = models.CharField(max_length=300)
    handle = models.CharField(max_length=300, blank=True)
    display_name = models.CharField(max_length=300, blank=True)
    avatar_url = models.URLField(max_length=1000, blank=True)
    followers = models.PositiveIntegerField(null=True, blank=True, help_text="Where known.")
    notes = models.TextField(blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now)
    # Erased on request (personal data): the row stays so threads keep their shape.
    erased = models.BooleanField(default=False)
    # A possible customer (listening.actions.mark_lead): exported as CSV and sent to a CRM
    # through the outgoing webhooks ("listening.lead").
    is_lead = models.BooleanField(default=False)
    lead_since = models.DateTimeField(null=True, blank=True)
    lead_url = models.URLField(max_length=1000, blank=True, help_text="What made them a lead.")

    class Meta:
        ordering = ["handle", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "network", "remote_id"], name="one_contact_per_person"
            )
        ]

    def __str__(self) -> str:
        return self.display_name or self.handle or self.remote_id


class ConversationKind(models.TextChoices):
    COMMENT = "comment", "Comment"
    MENTION = "mention", "Mention"
    QUOTE = "quote", "Quote"
    DIRECT = "direct", "Direct message"
    QUESTION = "question", "Question"


class ConversationStatus(models.TextChoices):
    NEW = "new", "New"
    PENDING = "pending", "Pending"
    RESOLVED = "resolved", "Resolved"


class Priority(models.IntegerChoices):
    LOW = 0, "Low"
    NORMAL = 1, "Normal"
    HIGH = 2, "High"
    URGENT = 3, "Urgent"


class Sentiment(models.TextChoices):
    POSITIVE = "positive", "Positive"
    NEUTRAL = "neutral", "Neutral"
    NEGATIVE = "negative", "Negative"


class Tag(WorkspaceOwned):
    name = models.CharField(max_length=60)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="one_inbox_tag_per_name")
        ]

    def __str__(self) -> str:
        return self.name


class Conversation(WorkspaceOwned):
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="conversations")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="conversations")
    kind = models.CharField(max_length=20, choices=ConversationKind.choices)
    # What makes two messages the same conversation on this channel, chosen by ingestion:
    # for comments the root post's remote id and the contact, for a mention its own remote
    # id, for direct messages the network's conversation id, for a question its own id.
    thread_key = models.CharField(max_length=500)
    # The delivery (our post) the comments are under, when it is one of ours.
    delivery = models.ForeignKey(
        "publishing.Delivery",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="conversations",
    )
    status = models.CharField(
        max_length=20, choices=ConversationStatus.choices, default=ConversationStatus.NEW
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="inbox_conversations",
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="conversations")
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)
    # Of the latest inbound message, unless a person corrected it (kept then).
    sentiment = models.CharField(
        max_length=10, choices=Sentiment.choices, default=Sentiment.NEUTRAL
    )
    sentiment_corrected = models.BooleanField(default=False)
    language = models.CharField(max_length=35, blank=True)
    needs_reply = models.BooleanField(default=True)
    spam = models.BooleanField(default=False)
    # The latest message either way, and the first inbound one still waiting for our answer
    # (the service-level clock starts there; None when nothing waits).
    last_message_at = models.DateTimeField(default=timezone.now)
    waiting_since = models.DateTimeField(null=True, blank=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-last_message_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "thread_key"], name="one_conversation_per_thread"
            )
        ]
        # Serve the inbox list (inbox.listing.conversations_for): newest first with the id
        # as tie-break, so a keyset page reads the index in order and stops after one page;
        # other filters (channel, kind, sentiment, tag) are checked on the rows walked.
        indexes = [
            models.Index(fields=["workspace", "-last_message_at", "-id"], name="inbox_recent_idx"),
            models.Index(
                fields=["workspace", "status", "-last_message_at", "-id"], name="inbox_list_idx"
            ),
            models.Index(
                fields=["workspace", "assignee", "status", "-last_message_at", "-id"],
                name="inbox_assignee_idx",
            ),
            # Inbox list speed (listspeed): "assigned to me" with any status and "one
            # channel" read their own index in order instead of sorting all their rows
            # (bench/inbox_list.py, artifacts/inbox_list_plans_*.txt).
            models.Index(
                fields=["workspace", "assignee", "-last_message_at", "-id"],
                name="inbox_assignee_recent_idx",
            ),
            models.Index(fields=["channel", "-last_message_at", "-id"], name="inbox_channel_idx"),
            # The list's "due soon" filter (listing._by_sla) reads the few conversations whose
            # clock started between two marks from these; the report reads a period's
            # conversations by created_at.
            models.Index(fields=["workspace", "waiting_since"], name="inbox_waiting_idx"),
            models.Index(fields=["workspace", "created_at"], name="inbox_created_idx"),
            # The sidebar badge (listing.badge_count): new, not spam, mine or nobody's; small
            # because only new conversations are in it.
            models.Index(
                fields=["workspace", "assignee"],
                condition=Q(status="new", spam=False),
                name="inbox_new_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} from {self.contact} on {self.channel}"


class Direction(models.TextChoices):
    INBOUND = "in", "Inbound"
    OUTBOUND = "out", "Outbound"


class Message(WorkspaceOwned):
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+")
    direction = models.CharField(max_length=3, choices=Direction.choices)
    # The network's id (a Bluesky at:// URI, a Mastodon status id, a page question id);
    # empty for an outbound message not yet sent. One row per remote id per channel.
    remote_id = models.CharField(max_length=500, blank=True)
    remote_url = models.URLField(max_length=1000, blank=True)
    # Where it sits in the network's thread (Bluesky: URI and CID of root and parent;
    # Mastodon: in_reply_to_id, visibility), enough to answer it correctly.
    reference = models.JSONField(default=dict, blank=True)
    author_contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    author_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    text = models.TextField(blank=True)
    # When it was made on the network, and when it reached us (freshness = the difference).
    sent_at = models.DateTimeField(default=timezone.now)
    received_at = models.DateTimeField(default=timezone.now)
    # Outbound: the delivery that carries it through the engine (its state is the message's).
    delivery = models.OneToOneField(
        "publishing.Delivery",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="inbox_message",
    )
    automatic = models.BooleanField(default=False, help_text="Sent by a rule, and labelled so.")
    sentiment = models.CharField(max_length=10, choices=Sentiment.choices, blank=True)
    language = models.CharField(max_length=35, blank=True)
    hidden = models.BooleanField(default=False)
    liked = models.BooleanField(default=False)

    class Meta:
        ordering = ["sent_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "remote_id"],
                condition=~Q(remote_id=""),
                name="one_message_per_remote_id",
            )
        ]
        indexes = [models.Index(fields=["conversation", "sent_at"], name="inbox_thread_idx")]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} message {self.remote_id or self.pk}"


class Note(WorkspaceOwned):
    """An internal note on a conversation: never sent; @mentions notify the people named."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField()
    mentions = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]


class SavedReply(WorkspaceOwned):
    """A reply kept for reuse, with variables such as ``{first_name}``; one marked as an
    answer is proposed for incoming questions that mean the same (FAQ matching)."""

    name = models.CharField(max_length=100)
    text = models.TextField()
    is_answer = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        verbose_name_plural = "saved replies"
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="one_saved_reply_per_name")
        ]

    def __str__(self) -> str:
        return self.name


class InboxCursor(models.Model):
    """How far ingestion has read one channel: the network's cursor (or the newest remote
    time seen), when it last asked, and why it stopped, if it did."""

    channel = models.OneToOneField(Channel, on_delete=models.CASCADE, related_name="inbox_cursor")
    cursor = models.CharField(max_length=500, blank=True)
    seen_until = models.DateTimeField(null=True, blank=True)
    polled_at = models.DateTimeField(null=True, blank=True)
    stopped_reason = models.CharField(max_length=500, blank=True)
    # INGEST: when a poll task was last handed to the queue, and until when a running poll
    # holds the channel (a lease: one poll of a channel at a time; see ``inbox.tasks``).
    queued_at = models.DateTimeField(null=True, blank=True)
    polling_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"inbox cursor of channel {self.channel_id}"


# --- Working the queue (inbox-ui): assignment settings, people's availability, presence ---


class AutoAssign(models.TextChoices):
    OFF = "off", "Off"
    ROUND_ROBIN = "round_robin", "Round robin"
    CAPACITY = "capacity", "By capacity"


class InboxSettings(models.Model):
    """A workspace's inbox settings: how new conversations find an assignee."""

    workspace = models.OneToOneField(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="inbox_settings"
    )
    auto_assign = models.CharField(
        max_length=20, choices=AutoAssign.choices, default=AutoAssign.OFF
    )

    class Meta:
        verbose_name_plural = "inbox settings"

    def __str__(self) -> str:
        return f"inbox settings of workspace {self.workspace_id}"


DEFAULT_MAX_OPEN = 25


class InboxMember(WorkspaceOwned):
    """One member's place in automatic assignment: available or not, how many open
    conversations they take at most, and when they last got one (round robin's turn).
    A member without a row is not available: automatic assignment only picks people who
    said they are."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    available = models.BooleanField(default=False)
    max_open = models.PositiveSmallIntegerField(default=DEFAULT_MAX_OPEN)
    last_assigned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user"], name="one_inbox_member_per_user")
        ]

    def __str__(self) -> str:
        return f"inbox member {self.user_id} of workspace {self.workspace_id}"


class Presence(WorkspaceOwned):
    """Who has a conversation open, and whether they are typing a reply, as of ``seen_at``.
    The page refreshes its row every few seconds; a row older than the expiry
    (``workqueue.PRESENCE_TTL``) means they left."""

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="presences"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    typing = models.BooleanField(default=False)
    seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation", "user"], name="one_presence_per_person")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} on conversation {self.conversation_id}"


# --- INGEST: questions asked on the public page ("Ask us", ``page.ask``) ---------------------


class PageQuestion(WorkspaceOwned):
    """One question sent through the public page's form, kept beside its inbox message for
    the rate limits (per hashed network address and per workspace) and the asker's consent
    to publish it with the answer. The address itself is never stored."""

    message = models.OneToOneField(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="page_question"
    )
    address_hash = models.CharField(max_length=64)
    asked_at = models.DateTimeField(default=timezone.now)
    may_publish = models.BooleanField(default=False)

    class Meta:
        ordering = ["-asked_at", "-id"]
        indexes = [
            # Serve the rate limits: recent questions from one address, or to one workspace.
            models.Index(fields=["address_hash", "asked_at"], name="page_question_address_idx"),
            models.Index(fields=["workspace", "asked_at"], name="page_question_workspace_idx"),
        ]

    def __str__(self) -> str:
        return f"page question {self.pk}"


# --- ANSWER: reply approval (issue 13, item 3; see ``inbox.answering``) ----------------------


class ApprovalState(models.TextChoices):
    AWAITING = "awaiting", "Awaiting approval"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class ReplyApproval(WorkspaceOwned):
    """A reply that had to be approved before it was sent (by the workspace's choice of roles,
    ``AnswerSettings.approval_roles``). While it waits its message has no delivery and nothing
    reaches the network; approved, it is sent (edited, if the approver changed the text: both
    texts are kept); rejected, it is never sent and its author is told why."""

    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="approval")
    state = models.CharField(
        max_length=10, choices=ApprovalState.choices, default=ApprovalState.AWAITING
    )
    # The text as its author wrote it; the message holds the text that is (or would be) sent.
    original_text = models.TextField()
    edited = models.BooleanField(default=False)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True, help_text="Why it was rejected, for its author.")
    requested_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            # Serves the approvers' list: a workspace's replies still waiting.
            models.Index(fields=["workspace", "state", "requested_at"], name="inbox_approval_idx")
        ]

    def __str__(self) -> str:
        return f"{self.get_state_display()}: reply {self.message_id}"


class AnswerSettings(WorkspaceOwned):
    """How a workspace answers: whose replies wait for an approver (roles, e.g. ["creator"])."""

    approval_roles = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace"], name="one_answer_settings_per_workspace")
        ]

    def __str__(self) -> str:
        return f"answer settings of workspace {self.workspace_id}"


# --- Service (issue 13: service levels, rules, FAQ answers, retention) -----------------------


def default_business_hours() -> list[list[list[str]]]:
    """Monday to Friday 09:00–17:00; closed at the weekend. One list per weekday (Monday
    first) of opening intervals ``[start, end]`` as "HH:MM" local times."""
    weekday = [["09:00", "17:00"]]
    return [weekday, weekday, weekday, weekday, weekday, [], []]


class ServiceLevel(WorkspaceOwned):
    """A workspace's business hours, holidays and response targets (``inbox.service_levels``),
    and how long resolved conversations are kept (``inbox.retention``).

    A workspace without a row has the defaults (``service_levels.level_of``)."""

    hours = models.JSONField(default=default_business_hours)
    # Local dates (ISO "YYYY-MM-DD") on which the clock does not run.
    holidays = models.JSONField(default=list, blank=True)
    first_response_target = models.DurationField(default=timedelta(hours=1))
    resolution_target = models.DurationField(default=timedelta(hours=24))
    # Resolved conversations older than this (from their resolution) are deleted; None keeps
    # them for ever.
    retention_days = models.PositiveIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace"], name="one_service_level_per_workspace")
        ]

    def __str__(self) -> str:
        return f"service level of workspace {self.workspace_id}"


class BreachKind(models.TextChoices):
    RESPONSE = "response", "Response"
    RESOLUTION = "resolution", "Resolution"


class BreachNotice(models.Model):
    """A breach already told: once per conversation, target and start of its clock."""

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="breach_notices"
    )
    kind = models.CharField(max_length=20, choices=BreachKind.choices)
    clock_started_at = models.DateTimeField()
    due_at = models.DateTimeField()
    notified_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "kind", "clock_started_at"], name="one_breach_notice"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} breach of conversation {self.conversation_id}"


class Rule(WorkspaceOwned):
    """A triage rule: when an inbound message meets ``conditions``, do ``actions``
    (``inbox.rules`` validates both and applies them, in ``position`` order)."""

    name = models.CharField(max_length=100)
    enabled = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0)
    conditions = models.JSONField(default=dict, blank=True)
    actions = models.JSONField(default=list, blank=True)
    # Later rules are not tried on a message this rule matched.
    stop = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    matched_count = models.PositiveIntegerField(default=0)
    last_matched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="one_inbox_rule_per_name")
        ]

    def __str__(self) -> str:
        return self.name


class RuleHit(models.Model):
    """A rule matched a message: what it did, and the network actions it asked for."""

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="hits")
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="rule_hits")
    at = models.DateTimeField(default=timezone.now)
    done = models.JSONField(default=list)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"rule {self.rule_id} on message {self.message_id}"


class FaqQuestion(WorkspaceOwned):
    """A way people ask the question a saved reply (marked ``is_answer``) answers: what
    ``inbox.faq`` matches incoming questions against."""

    saved_reply = models.ForeignKey(
        SavedReply, on_delete=models.CASCADE, related_name="faq_questions"
    )
    text = models.CharField(max_length=500)

    class Meta:
        ordering = ["saved_reply", "id"]

    def __str__(self) -> str:
        return self.text


class FaqProposal(WorkspaceOwned):
    """The FAQ answer proposed for a conversation's latest question, for the inbox page."""

    conversation = models.OneToOneField(
        Conversation, on_delete=models.CASCADE, related_name="faq_proposal"
    )
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="+")
    saved_reply = models.ForeignKey(SavedReply, on_delete=models.CASCADE, related_name="+")
    score = models.FloatField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.saved_reply} for conversation {self.conversation_id}"
