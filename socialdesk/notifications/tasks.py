"""Background work of notifications: emails and webhook calls.

Each task makes one attempt and, when it fails in a way worth retrying, queues itself again
after a growing delay, up to ``MAX_ATTEMPTS``. Claiming, backing off and rescuing are the
publishing engine's (``publishing.claims``): an attempt starts with a compare-and-set on the
row's attempt count that also sets a lease, so a task that runs twice (a duplicate in the
queue, a rescued task that was only late) sends once per attempt number, never twice at the
same time. The row's ``email_next_at`` / ``next_attempt_at`` is both when its task is due
and, during an attempt, the lease: the worker's heartbeat queues again what the queue lost
(``rescue_lost_work``).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone
from django_tasks import task

from socialdesk.publishing import claims

from .models import EmailRoute, Notification, Webhook, WebhookCall, WebhookCallState

log = logging.getLogger(__name__)

# Attempts in all. The delay after the n-th failure is RETRY_BASE * RETRY_FACTOR**(n-1), at
# most RETRY_CAP, of which a random half is kept (``claims.backoff``): 1-2, 5-10, 25-50 and
# 60-120 minutes, so the five attempts span one and a half to three hours.
MAX_ATTEMPTS = 5
RETRY_BASE = timedelta(minutes=2)
RETRY_FACTOR = 5
RETRY_CAP = timedelta(hours=2)
# An attempt holds its row this long (a lease far longer than the SMTP and webhook timeouts):
# another run of the task meanwhile does nothing. A task this late past its due time, or past
# its lease, is taken as lost and queued again.
LOST_AFTER = timedelta(minutes=10)
# Workers' clocks may differ a little from the one that set a retry time.
CLOCK_SKEW = timedelta(seconds=5)


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt."""
    return claims.backoff(attempts, RETRY_BASE, RETRY_CAP, RETRY_FACTOR)


def not_due(due_at: datetime | None, now: datetime) -> bool:
    """True while a retry waits for its time or another run holds the attempt's lease."""
    return due_at is not None and due_at > now + CLOCK_SKEW


def queue_task(the_task: Any, pk: int, run_after: datetime | None = None) -> None:
    try:
        if run_after is None:
            the_task.enqueue(pk)
        else:
            the_task.using(run_after=run_after).enqueue(pk)
    except Exception:
        # The row still says when it is due: the heartbeat's rescue queues it later.
        log.exception("Could not queue %s for %s", the_task.name, pk)


@task()
def send_notification_email(notification_id: int) -> str:
    """Email one notification whose route is "at once"; does nothing if already sent."""
    from . import emails

    now = timezone.now()
    notification = (
        Notification.objects.select_related("recipient", "workspace", "actor")
        .filter(pk=notification_id, email_route=EmailRoute.IMMEDIATE, emailed_at__isnull=True)
        .first()
    )
    if notification is None or notification.email_attempts >= MAX_ATTEMPTS:
        return "nothing to do"
    if not_due(notification.email_next_at, now):
        return "not due yet"
    attempts = notification.email_attempts + 1
    unsent = Notification.objects.filter(
        emailed_at__isnull=True, email_attempts=notification.email_attempts
    )
    if not claims.claim(
        unsent,
        notification.pk,
        LOST_AFTER,
        now,
        lease_field="email_next_at",
        email_attempts=attempts,
    ):
        return "nothing to do"  # another run of this task has this attempt
    try:
        emails.send_one(notification)
    except Exception as exc:
        log.warning(
            "Email for notification %s failed (attempt %s): %s", notification.pk, attempts, exc
        )
        if attempts >= MAX_ATTEMPTS:
            Notification.objects.filter(pk=notification.pk).update(email_next_at=None)
            return "failed"
        retry_at = timezone.now() + retry_delay(attempts)
        Notification.objects.filter(pk=notification.pk).update(email_next_at=retry_at)
        queue_task(send_notification_email, notification.pk, retry_at)
        return "retrying"
    Notification.objects.filter(pk=notification.pk).update(
        emailed_at=timezone.now(), email_next_at=None
    )
    return "sent"


@task()
def deliver_webhook_call(call_id: int) -> str:
    """Send one webhook call; returns the state it ended in."""
    return attempt_webhook_call(call_id)


def attempt_webhook_call(call_id: int) -> str:
    from .webhooks import send

    call = (
        WebhookCall.objects.select_related("webhook")
        .filter(pk=call_id, state=WebhookCallState.PENDING)
        .first()
    )
    if call is None:
        return "nothing to do"
    hook = call.webhook
    if not hook.is_active:
        WebhookCall.objects.filter(pk=call.pk).update(
            state=WebhookCallState.FAILED, error="The webhook was paused.", next_attempt_at=None
        )
        return WebhookCallState.FAILED
    now = timezone.now()
    if not_due(call.next_attempt_at, now):
        return "not due yet"
    attempts = call.attempts + 1
    pending = WebhookCall.objects.filter(state=WebhookCallState.PENDING, attempts=call.attempts)
    if not claims.claim(
        pending, call.pk, LOST_AFTER, now, lease_field="next_attempt_at", attempts=attempts
    ):
        return "nothing to do"  # another run of this task has this attempt
    outcome = send(hook, call.event, call.body)
    now = timezone.now()
    retry_at = None
    if outcome.ok:
        state = WebhookCallState.SENT
    elif outcome.permanent or attempts >= MAX_ATTEMPTS:
        state = WebhookCallState.FAILED
    else:
        state = WebhookCallState.PENDING
        retry_at = now + retry_delay(attempts)
    WebhookCall.objects.filter(pk=call.pk).update(
        state=state,
        response_status=outcome.status,
        error="" if outcome.ok else outcome.message[:500],
        sent_at=now if outcome.ok else None,
        next_attempt_at=retry_at,
    )
    status = outcome.message if outcome.ok else f"{outcome.message} (attempt {attempts})"
    Webhook.objects.filter(pk=hook.pk).update(last_status=status[:200], last_sent_at=now)
    if retry_at is not None:
        queue_task(deliver_webhook_call, call.pk, retry_at)
    return state


def rescue_lost_work(now: datetime, batch: int = 200) -> int:
    """Queue again the emails and webhook calls whose task should have run (or whose attempt
    should have ended) ``LOST_AFTER`` ago: a flushed queue, a killed worker, a queue that
    refused them. Returns how many."""
    emails = Notification.objects.filter(
        email_route=EmailRoute.IMMEDIATE,
        emailed_at__isnull=True,
        email_attempts__lt=MAX_ATTEMPTS,
    )
    calls = WebhookCall.objects.filter(state=WebhookCallState.PENDING)
    lost_emails = _requeue_lost(emails, "email_next_at", send_notification_email, now, batch)
    lost_calls = _requeue_lost(calls, "next_attempt_at", deliver_webhook_call, now, batch)
    return lost_emails + lost_calls


def _requeue_lost(rows: Any, field: str, the_task: Any, now: datetime, batch: int) -> int:
    def requeue(row: Any) -> bool:
        # Compare-and-set on the lease as read: two heartbeats at once queue it once.
        if not rows.filter(pk=row.pk, **{field: getattr(row, field)}).update(**{field: now}):
            return False
        queue_task(the_task, row.pk)
        return True

    stale = now - LOST_AFTER
    return len(claims.rescue_expired(rows, stale, requeue, lease_field=field, batch=batch))
