"""Notifications (one per recipient and event), email preferences and outgoing webhooks."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models

from socialdesk.crypto import decrypt_json, encrypt_json
from socialdesk.workspaces.models import Workspace, WorkspaceOwned


class EmailRoute(models.TextChoices):
    """What happens to one notification by email, fixed when it is created."""

    NONE = "none", "No email"
    IMMEDIATE = "immediate", "Email at once"
    DIGEST = "digest", "In the daily digest"


class Notification(WorkspaceOwned):
    """One event told to one person. Rows are written in the caller's transaction, so a
    business change that rolls back takes its notifications with it."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    event = models.CharField(max_length=60)
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=500, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    target_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    target_id = models.PositiveBigIntegerField(null=True, blank=True)
    target_repr = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    email_route = models.CharField(
        max_length=10, choices=EmailRoute.choices, default=EmailRoute.NONE
    )
    # When the email (immediate) or the digest holding it went out; attempts counts failures.
    emailed_at = models.DateTimeField(null=True, blank=True)
    email_attempts = models.PositiveSmallIntegerField(default=0)
    # When the queued email task is due (immediate route, not sent yet); a task the queue
    # lost is found by it and queued again (``tasks.rescue_lost_work``).
    email_next_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # Serves the notification centre, the unread badge and the API list.
            models.Index(fields=["recipient", "workspace", "-created_at"], name="notif_inbox_idx"),
            # Serves the digest loop: what is still waiting for someone's digest.
            models.Index(
                fields=["recipient", "workspace"],
                name="notif_digest_idx",
                condition=models.Q(email_route="digest", emailed_at__isnull=True),
            ),
            # Serves the heartbeat's search for immediate emails whose task was lost.
            models.Index(
                fields=["email_next_at"],
                name="notif_email_due_idx",
                condition=models.Q(email_route="immediate", emailed_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} for {self.recipient}: {self.title}"

    @property
    def is_unread(self) -> bool:
        return self.read_at is None

    @property
    def event_label(self) -> str:
        from .services import EVENTS

        return EVENTS.get(self.event, self.event)


class EmailMode(models.TextChoices):
    AUTO = "auto", "Recommended: direct ones at once, the rest in a daily digest"
    IMMEDIATELY = "immediately", "Every notification at once"
    DIGEST = "digest", "Everything in one daily digest"
    OFF = "off", "No email"


class NotificationPreference(WorkspaceOwned):
    """One person's email choice in one workspace; no row means ``auto``."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    email_mode = models.CharField(max_length=12, choices=EmailMode.choices, default=EmailMode.AUTO)
    # The moment the last digest was sent (or found empty): makes send_digests idempotent.
    last_digest_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user"], name="one_preference_per_member")
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.email_mode}"


class Webhook(WorkspaceOwned):
    """An outgoing webhook: chosen events are POSTed as signed JSON to ``url``."""

    name = models.CharField(max_length=80)
    url = models.URLField(max_length=500)
    events = models.JSONField(default=list)
    secret_encrypted = models.TextField(blank=True)
    slack_compatible = models.BooleanField(
        default=False, help_text='Send {"text": ...} as Slack and Mattermost incoming hooks want.'
    )
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_status = models.CharField(max_length=200, blank=True)
    last_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def secret(self) -> str:
        return str(decrypt_json(self.secret_encrypted).get("secret", ""))

    def set_secret(self, secret: str) -> None:
        self.secret_encrypted = encrypt_json({"secret": secret})


class WebhookCallState(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class WebhookCall(models.Model):
    """One event sent (or being sent) to one webhook; the raw body is kept so every retry
    sends and signs exactly the same bytes."""

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="calls")
    event = models.CharField(max_length=60)
    body = models.TextField()
    state = models.CharField(
        max_length=10, choices=WebhookCallState.choices, default=WebhookCallState.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # While pending: when its queued task is due; see ``Notification.email_next_at``.
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # Serves the heartbeat's search for pending calls whose task was lost.
            models.Index(fields=["state", "next_attempt_at"], name="webhook_call_due_idx")
        ]

    def __str__(self) -> str:
        return f"{self.event} to {self.webhook} ({self.state})"


__all__ = [
    "EmailMode",
    "EmailRoute",
    "Notification",
    "NotificationPreference",
    "Webhook",
    "WebhookCall",
    "WebhookCallState",
    "Workspace",
]
