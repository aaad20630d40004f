"""Telling people what happened: ``notify`` is the one entry point every app calls.

``notify`` writes one in-app ``Notification`` per recipient in the caller's transaction, and
once that transaction commits it queues the emails that must go out at once and a call to
every active webhook of the workspace subscribed to the event. Sending happens in tasks
(``notifications.tasks``), so a slow mail server or webhook never slows a request, and a
failure there is logged and retried, never raised to the caller.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from socialdesk.workspaces.models import Membership, User, Workspace

from .models import (
    EmailMode,
    EmailRoute,
    Notification,
    NotificationPreference,
    Webhook,
    WebhookCall,
)

if TYPE_CHECKING:
    from .webhooks import Outcome

log = logging.getLogger(__name__)

# Event key -> label shown in preferences, webhook forms and the API.
EVENTS: dict[str, str] = {
    "delivery.missed": "A scheduled delivery was missed",
    "delivery.failed": "A delivery failed for good",
    "delivery.late": "A post was published late",
    "channel.needs_reconnecting": "A channel needs reconnecting",
    "deliveries.paused": "Deliveries were paused",
    # The crisis switch (issue 15, item 6; raised by ``publishing.crisis``).
    "crisis.started": "The crisis switch was turned on",
    "crisis.ended": "The crisis switch was turned off",
    # Raised for every move into a working stage, forward or back (key kept for contracts).
    "post.submitted": "A post moved to another stage",
    "approval.requested": "Your approval is requested",
    "approval.changes_requested": "Changes were requested on a post",
    "post.approved": "A post was approved",
    "post.ready": "A post is ready to publish",
    "comment.mention": "You were mentioned in a comment",
    "comment.reply": "Someone replied to your comment",
    "review.client_action": "A client acted through a review link",
    "step.due_tomorrow": "A workflow step is due tomorrow",
    "step.overdue": "A workflow step is overdue",
    # The inbox (issue 13, item 3; raised by ``inbox.answering``).
    "inbox.mention": "You were mentioned in an inbox note",
    "inbox.approval_requested": "A reply waits for your approval",
    "inbox.reply_rejected": "Your reply was not approved",
    "inbox.reply_failed": "A reply could not be sent",
    "inbox.sla_breached": "An inbox conversation missed its service level",
    "inbox.rule_notice": "An inbox rule asked to tell you about a message",
    # Listening (issue 15; raised by ``listening.alerts`` and ``listening.actions``).
    "listening.alert": "Listening noticed a spike, a sentiment drop or critical words",
    "listening.lead": "A contact was marked as a lead (for a CRM)",
}

# With the recommended ("auto") email mode these are emailed at once: they are addressed to
# the person directly, or something is going wrong right now and waiting a day would hurt.
# Everything else waits for the daily digest: so does "delivery.late", which needs no action
# (the post is out) and after an outage comes once per post.
IMMEDIATE_EVENTS = frozenset(
    {
        "approval.requested",
        "approval.changes_requested",
        "comment.mention",
        "comment.reply",
        "delivery.missed",
        "delivery.failed",
        "channel.needs_reconnecting",
        "deliveries.paused",
        "crisis.started",
        "crisis.ended",
        "inbox.mention",
        "inbox.approval_requested",
        "inbox.reply_rejected",
        "inbox.reply_failed",
        "inbox.sla_breached",
        "listening.alert",
    }
)


def people_with_role(workspace: Workspace, *roles: str) -> list[User]:
    """Active members of ``workspace`` holding one of ``roles``, in a stable order."""
    memberships = (
        Membership.objects.filter(workspace=workspace, role__in=roles, user__is_active=True)
        .select_related("user")
        .order_by("user__email")
    )
    return [m.user for m in memberships]


def email_route(mode: str, event: str) -> str:
    """How a notification of ``event`` is emailed under email preference ``mode``."""
    if mode == EmailMode.OFF:
        return EmailRoute.NONE
    if mode == EmailMode.IMMEDIATELY:
        return EmailRoute.IMMEDIATE
    if mode == EmailMode.DIGEST:
        return EmailRoute.DIGEST
    return EmailRoute.IMMEDIATE if event in IMMEDIATE_EVENTS else EmailRoute.DIGEST


def email_modes(workspace: Workspace, user_ids: Iterable[int]) -> dict[int, str]:
    rows = NotificationPreference.objects.filter(workspace=workspace, user_id__in=list(user_ids))
    return {row.user_id: row.email_mode for row in rows}


def notify(
    workspace: Workspace,
    recipients: Iterable[User | None],
    event: str,
    title: str,
    *,
    body: str = "",
    url: str = "",
    actor: User | None = None,
    target: models.Model | None = None,
    data: dict | None = None,
) -> list[Notification]:
    """Tell ``recipients`` about ``event``: in-app, by email per preference, and by webhook.

    Guarantees: each recipient gets at most one notification per call; ``None`` entries (a
    post without an author), the actor, and people who are not (or no longer) active members
    of the workspace get none; the rows commit or roll back with the caller's transaction;
    emails and webhook calls are queued only after that commit, and their failures are logged
    and retried, never raised here. ``data`` goes to webhooks only, as the body's ``data``
    (the event's own JSON shape, e.g. a lead for a CRM). An unknown ``event`` is a
    programming error (ValueError), so a typo cannot silently reach nobody.
    """
    if event not in EVENTS:
        raise ValueError(f"Unknown notification event {event!r}: add it to EVENTS.")
    wanted: dict[int, User] = {}
    for user in recipients:
        if user is None or (actor is not None and user.pk == actor.pk):
            continue
        wanted.setdefault(user.pk, user)
    member_ids = set(
        Membership.objects.filter(
            workspace=workspace, user_id__in=list(wanted), user__is_active=True
        ).values_list("user_id", flat=True)
    )
    modes = email_modes(workspace, member_ids)
    target_type = ContentType.objects.get_for_model(target) if target is not None else None
    now = timezone.now()
    rows = [
        Notification(
            workspace=workspace,
            recipient=user,
            event=event,
            title=title[:300],
            body=body,
            url=url[:500],
            actor=actor,
            target_type=target_type,
            target_id=target.pk if target is not None else None,
            target_repr=str(target)[:200] if target is not None else "",
            email_route=email_route(modes.get(user.pk, EmailMode.AUTO), event),
        )
        for user_id, user in wanted.items()
        if user_id in member_ids
    ]
    for row in rows:
        if row.email_route == EmailRoute.IMMEDIATE:
            row.email_next_at = now
    with transaction.atomic():
        created = Notification.objects.bulk_create(rows)
        calls = _webhook_calls(workspace, event, title, body=body, url=url, actor=actor, data=data)
    immediate = [n.pk for n in created if n.email_route == EmailRoute.IMMEDIATE]
    call_ids = [c.pk for c in calls]
    if immediate or call_ids:
        transaction.on_commit(lambda: _hand_over(immediate, call_ids), robust=True)
    return created


def _webhook_calls(
    workspace: Workspace,
    event: str,
    title: str,
    *,
    body: str,
    url: str,
    actor: User | None,
    data: dict | None = None,
) -> list[WebhookCall]:
    from .webhooks import build_body

    hooks = [
        hook
        for hook in Webhook.objects.filter(workspace=workspace, is_active=True)
        if event in hook.events
    ]
    calls = [
        WebhookCall(
            webhook=hook,
            event=event,
            body=build_body(
                hook, workspace, event, title, body=body, url=url, actor=actor, data=data
            ),
            next_attempt_at=timezone.now(),
        )
        for hook in hooks
    ]
    return WebhookCall.objects.bulk_create(calls)


def _hand_over(notification_ids: list[int], call_ids: list[int]) -> None:
    from .tasks import deliver_webhook_call, queue_task, send_notification_email

    for pk in notification_ids:
        queue_task(send_notification_email, pk)
    for pk in call_ids:
        queue_task(deliver_webhook_call, pk)


# --- The notification centre -----------------------------------------------------------------


def inbox(workspace: Workspace, user: User) -> models.QuerySet[Notification]:
    """The notifications ``user`` may see in ``workspace``: only their own."""
    return Notification.objects.filter(workspace=workspace, recipient=user)


def unread_count(workspace: Workspace, user: User) -> int:
    return inbox(workspace, user).filter(read_at__isnull=True).count()


def mark_read(workspace: Workspace, user: User, notification_id: int) -> Notification:
    """Mark one of the user's notifications read (Notification.DoesNotExist for anyone else's)."""
    notification = inbox(workspace, user).get(pk=notification_id)
    if notification.read_at is None:
        now = timezone.now()
        # Only an unread row is stamped, so a second click keeps the first read time.
        inbox(workspace, user).filter(pk=notification.pk, read_at__isnull=True).update(read_at=now)
        notification.read_at = now
    return notification


def mark_read_many(workspace: Workspace, user: User, ids: Iterable[int]) -> int:
    """Mark those of ``ids`` that are the user's own and unread; returns how many changed."""
    unread = inbox(workspace, user).filter(pk__in=list(ids), read_at__isnull=True)
    return unread.update(read_at=timezone.now())


def mark_all_read(workspace: Workspace, user: User, now: datetime | None = None) -> int:
    """Mark every unread notification of the user read; returns how many changed."""
    return inbox(workspace, user).filter(read_at__isnull=True).update(read_at=now or timezone.now())


def email_mode_of(workspace: Workspace, user: User) -> str:
    return email_modes(workspace, [user.pk]).get(user.pk, EmailMode.AUTO)


def preference_for(workspace: Workspace, user: User) -> NotificationPreference:
    pref, _ = NotificationPreference.objects.get_or_create(workspace=workspace, user=user)
    return pref


def set_email_mode(workspace: Workspace, user: User, mode: str) -> NotificationPreference:
    if mode not in EmailMode.values:
        raise ValidationError({"email_mode": [f"Choose one of: {', '.join(EmailMode.values)}."]})
    pref = preference_for(workspace, user)
    if pref.email_mode != mode:
        pref.email_mode = mode
        pref.save(update_fields=["email_mode"])
    return pref


# --- Webhooks (owners and managers) ----------------------------------------------------------


def _clean_webhook(name: str, url: str, events: list[str]) -> tuple[str, str, list[str]]:
    from .webhooks import validate_url

    errors: dict[str, list[str]] = {}
    name = name.strip()
    if not name:
        errors["name"] = ["Give the webhook a name, e.g. “Slack #social”."]
    elif len(name) > 80:
        errors["name"] = ["Keep the name to 80 characters."]
    try:
        url = validate_url(url)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    unknown = [e for e in events if e not in EVENTS]
    if unknown:
        errors["events"] = [
            f"Unknown event(s): {', '.join(sorted(set(unknown)))}; choose from {', '.join(EVENTS)}."
        ]
    elif not events:
        errors["events"] = ["Choose at least one event to send."]
    if errors:
        raise ValidationError(errors)
    ordered = [key for key in EVENTS if key in set(events)]
    return name, url, ordered


def create_webhook(
    workspace: Workspace,
    user: User | None,
    *,
    name: str,
    url: str,
    events: list[str],
    slack_compatible: bool = False,
) -> tuple[Webhook, str]:
    """A new active webhook with a fresh secret; returns it with the secret (shown once)."""
    from .webhooks import new_secret

    name, url, events = _clean_webhook(name, url, events)
    secret = new_secret()
    hook = Webhook(
        workspace=workspace,
        name=name,
        url=url,
        events=events,
        slack_compatible=slack_compatible,
        created_by=user,
    )
    hook.set_secret(secret)
    hook.save()
    return hook, secret


def update_webhook(
    hook: Webhook,
    *,
    name: str | None = None,
    url: str | None = None,
    events: list[str] | None = None,
    slack_compatible: bool | None = None,
    is_active: bool | None = None,
    rotate_secret: bool = False,
) -> tuple[Webhook, str | None]:
    """Change what is given; with ``rotate_secret`` a new secret is made and returned once."""
    from .webhooks import new_secret

    new_name, new_url, new_events = _clean_webhook(
        hook.name if name is None else name,
        hook.url if url is None else url,
        hook.events if events is None else events,
    )
    hook.name, hook.url, hook.events = new_name, new_url, new_events
    changed = ["name", "url", "events"]
    if slack_compatible is not None:
        hook.slack_compatible = slack_compatible
        changed.append("slack_compatible")
    if is_active is not None:
        hook.is_active = is_active
        changed.append("is_active")
    secret = None
    if rotate_secret:
        secret = new_secret()
        hook.set_secret(secret)
        changed.append("secret_encrypted")
    hook.save(update_fields=changed)
    return hook, secret


def send_test_event(hook: Webhook, user: User | None = None) -> Outcome:
    """Send a test event now, in this request (short timeout), and record the outcome."""
    from .webhooks import build_body, send

    body = build_body(
        hook,
        hook.workspace,
        "webhook.test",
        f"Test from Socialdesk: “{hook.name}” works",
        body="This is a test message sent from the webhook settings.",
        url=f"/w/{hook.workspace.slug}/settings/webhooks/",
        actor=user,
    )
    outcome = send(hook, "webhook.test", body, timeout=5.0)
    status = f"Test: {outcome.message}"
    Webhook.objects.filter(pk=hook.pk).update(last_status=status[:200], last_sent_at=timezone.now())
    hook.last_status = status[:200]
    return outcome
