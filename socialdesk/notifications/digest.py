"""The daily digest: at 08:00 in each workspace's time zone, one email per person with what
was routed to their digest since the last one.

``send_digests(now)`` is called from the worker's heartbeat loop (by the one worker that
sweeps), so it runs every few seconds and must be cheap and idempotent: a person is sent at
most one digest per 08:00 slot, recorded in ``NotificationPreference.last_digest_at`` with a
compare-and-set before sending, so two workers cannot both send it.
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta

from django.db import transaction

from socialdesk.workspaces.models import User, Workspace

from .emails import send_digest
from .models import EmailRoute, Notification, NotificationPreference

log = logging.getLogger(__name__)

DIGEST_HOUR = time(8, 0)


def latest_slot(workspace: Workspace, now: datetime) -> datetime:
    """The most recent 08:00 in the workspace's zone at or before ``now`` (aware, UTC-safe)."""
    local = now.astimezone(workspace.zone)
    slot = datetime.combine(local.date(), DIGEST_HOUR, tzinfo=workspace.zone)
    if slot > local:
        slot = datetime.combine(
            local.date() - timedelta(days=1), DIGEST_HOUR, tzinfo=workspace.zone
        )
    return slot


def send_digests(now: datetime) -> int:
    """Send every digest that is due at ``now``; returns how many emails went out."""
    pending = (
        Notification.objects.filter(email_route=EmailRoute.DIGEST, emailed_at__isnull=True)
        .values_list("recipient_id", "workspace_id")
        .distinct()
    )
    sent = 0
    workspaces: dict[int, Workspace] = {}
    for user_id, workspace_id in list(pending):
        if workspace_id not in workspaces:
            workspaces[workspace_id] = Workspace.objects.get(pk=workspace_id)
        workspace = workspaces[workspace_id]
        if _send_one_digest(workspace, user_id, now):
            sent += 1
    return sent


def _send_one_digest(workspace: Workspace, user_id: int, now: datetime) -> bool:
    slot = latest_slot(workspace, now)
    pref, _ = NotificationPreference.objects.get_or_create(workspace=workspace, user_id=user_id)
    previous = pref.last_digest_at
    if previous is not None and previous >= slot:
        return False
    # Claim this slot: only the process whose UPDATE matches the value it read goes on.
    claimed = NotificationPreference.objects.filter(pk=pref.pk, last_digest_at=previous).update(
        last_digest_at=now
    )
    if not claimed:
        return False
    waiting = Notification.objects.filter(
        workspace=workspace,
        recipient_id=user_id,
        email_route=EmailRoute.DIGEST,
        emailed_at__isnull=True,
        created_at__lte=now,
    ).order_by("created_at", "id")
    ids = list(waiting.values_list("id", flat=True))
    # What the person already read in the app is not mailed again, only marked as handled.
    unread = list(waiting.filter(read_at__isnull=True).select_related("actor"))
    user = User.objects.get(pk=user_id)
    if unread and user.is_active:
        try:
            send_digest(user, workspace, unread)
        except Exception:
            # Give the slot back, so a later beat tries again.
            NotificationPreference.objects.filter(pk=pref.pk).update(last_digest_at=previous)
            log.exception("The digest for user %s in %s could not be sent", user_id, workspace)
            return False
    with transaction.atomic():
        Notification.objects.filter(pk__in=ids).update(emailed_at=now)
    return bool(unread)


# The heartbeat beats every few seconds; the digest query runs at most this often.
HEARTBEAT_EVERY = timedelta(minutes=1)
_last_heartbeat: datetime | None = None


def on_heartbeat(now: datetime | None = None) -> None:
    """The notifications' periodic work, called at each beat of the sweeping worker: send the
    digests that are due and queue again emails and webhook calls the queue lost. At most
    once a minute; never raises (the heartbeat loop must go on)."""
    global _last_heartbeat
    from django.utils import timezone

    from .tasks import rescue_lost_work

    now = now or timezone.now()
    if _last_heartbeat is not None and now - _last_heartbeat < HEARTBEAT_EVERY:
        return
    _last_heartbeat = now
    try:
        sent = send_digests(now)
        rescued = rescue_lost_work(now)
    except Exception:
        log.exception("Notifications' periodic work failed; retrying at a later beat")
        return
    if sent or rescued:
        log.info("Sent %s daily digest(s); queued %s lost email/webhook task(s)", sent, rescued)
