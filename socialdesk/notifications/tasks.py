"""Background work of notifications: emails and webhook calls.

Each task makes one attempt and, when it fails in a way worth retrying, queues itself again
with a growing delay, up to ``MAX_ATTEMPTS``. An attempt starts with a compare-and-set on the
row's attempt count, so a task that runs twice (a duplicate in the queue, a rescued task
that was only late) sends once per attempt number, never twice at the same time. The row
records when its task is due (``email_next_at``, ``next_attempt_at``): the worker's heartbeat
queues again what the queue lost (``rescue_lost_work``).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone
from django_tasks import task

from .models import EmailRoute, Notification, Webhook, WebhookCall, WebhookCallState

log = logging.getLogger(__name__)

# Delays before the 2nd, 3rd, ... attempt; its length bounds the attempts.
BACKOFF = [timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2)]
MAX_ATTEMPTS = len(BACKOFF) + 1
# An attempt holds its row this long (a lease far longer than the SMTP and webhook timeouts):
# another run of the task meanwhile does nothing. A task this late past its due time, or past
# its lease, is taken as lost and queued again.
LOST_AFTER = timedelta(minutes=10)
# Workers' clocks may differ a little from the one that set a retry time.
CLOCK_SKEW = timedelta(seconds=5)


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
    claimed = Notification.objects.filter(
        pk=notification.pk, emailed_at__isnull=True, email_attempts=notification.email_attempts
    ).update(email_attempts=attempts, email_next_at=now + LOST_AFTER)
    if not claimed:
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
        retry_at = timezone.now() + BACKOFF[attempts - 1]
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
    claimed = WebhookCall.objects.filter(
        pk=call.pk, state=WebhookCallState.PENDING, attempts=call.attempts
    ).update(attempts=attempts, next_attempt_at=now + LOST_AFTER)
    if not claimed:
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
        retry_at = now + BACKOFF[attempts - 1]
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
    stale = now - LOST_AFTER
    lost_emails = list(
        Notification.objects.filter(
            email_route=EmailRoute.IMMEDIATE,
            emailed_at__isnull=True,
            email_next_at__lt=stale,
            email_attempts__lt=MAX_ATTEMPTS,
        ).values_list("pk", flat=True)[:batch]
    )
    lost_calls = list(
        WebhookCall.objects.filter(
            state=WebhookCallState.PENDING, next_attempt_at__lt=stale
        ).values_list("pk", flat=True)[:batch]
    )
    for pk in lost_emails:
        Notification.objects.filter(pk=pk).update(email_next_at=now)
        queue_task(send_notification_email, pk)
    for pk in lost_calls:
        WebhookCall.objects.filter(pk=pk).update(next_attempt_at=now)
        queue_task(deliver_webhook_call, pk)
    return len(lost_emails) + len(lost_calls)
