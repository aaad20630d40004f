"""Polling the networks for the inbox, on Django's Tasks API (``django_tasks``).

Freshness target (issue 13, item 2): an item appears ≤ 60 s (p95) after it is made, with at
most one read per channel per 30 s. How:

- The worker's heartbeat (``socialdesk.worker``, every 5 s, on the one sweeping worker) calls
  ``on_heartbeat``, which finds the connected channels of networks that can be read whose
  last poll is ``POLL_EVERY`` (30 s) old or more, and queues one ``poll_channel`` task for
  each — marking ``InboxCursor.queued_at`` with a compare-and-set, so a channel is queued once
  until its task runs (or, if the queue lost it, again after ``REQUEUE_AFTER``).
- ``poll_channel`` takes a lease on the channel (``InboxCursor.polling_until``, again a
  compare-and-set) before it reads, so two polls of one channel never run at once, and
  refuses to read a channel read less than ``POLL_EVERY`` ago. The lease ends when the poll
  does; a worker that died mid-poll leaves it to expire after ``LEASE``.

So a channel is read every 30–35 s while a worker runs; an item waits at most that, plus the
network's own indexing.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_tasks import task

from socialdesk.networks.models import Channel, ChannelStatus, Network

from .models import InboxCursor

log = logging.getLogger(__name__)

POLL_EVERY = timedelta(seconds=30)
REQUEUE_AFTER = timedelta(seconds=90)
LEASE = timedelta(minutes=2)


def readable_networks() -> list[str]:
    """The networks whose connector reads an inbox (``Connector.reads``)."""
    from socialdesk.networks.bluesky import BlueskyConnector
    from socialdesk.networks.mastodon import MastodonConnector

    return [
        network
        for network, connector in (
            (Network.BLUESKY, BlueskyConnector),
            (Network.MASTODON, MastodonConnector),
        )
        if connector.reads
    ]


def due_channels(now: datetime) -> list[int]:
    """Connected, readable channels that are due a poll and not already queued or polling."""
    channels = list(
        Channel.objects.filter(
            status=ChannelStatus.CONNECTED, network__in=readable_networks()
        ).values_list("pk", flat=True)
    )
    known = set(
        InboxCursor.objects.filter(channel_id__in=channels).values_list("channel_id", flat=True)
    )
    InboxCursor.objects.bulk_create(
        [InboxCursor(channel_id=pk) for pk in channels if pk not in known],
        ignore_conflicts=True,
    )
    return list(
        InboxCursor.objects.filter(channel_id__in=channels)
        .filter(Q(polled_at__isnull=True) | Q(polled_at__lte=now - POLL_EVERY))
        .filter(Q(queued_at__isnull=True) | Q(queued_at__lte=now - REQUEUE_AFTER))
        .filter(Q(polling_until__isnull=True) | Q(polling_until__lte=now))
        .values_list("channel_id", flat=True)
    )


def on_heartbeat(now: datetime | None = None) -> list[int]:
    """Queue a poll for every channel that is due one; returns their ids. Never raises (a
    failure is logged and the next beat tries again)."""
    now = now or timezone.now()
    try:
        queued = []
        for channel_id in due_channels(now):
            # Compare-and-set: another sweeper (or a beat that overlapped) queued it first.
            taken = (
                InboxCursor.objects.filter(channel_id=channel_id)
                .filter(Q(queued_at__isnull=True) | Q(queued_at__lte=now - REQUEUE_AFTER))
                .update(queued_at=now)
            )
            if taken:
                queued.append(channel_id)
        for channel_id in queued:
            transaction.on_commit(partial(_hand_over, channel_id), robust=True)
        return queued
    except Exception:
        log.exception("Could not queue the inbox polls; retrying at the next beat")
        return []


def _hand_over(channel_id: int) -> None:
    poll_channel.enqueue(channel_id)


def claim(channel_id: int, now: datetime) -> bool:
    """Take the channel's poll lease, if nobody holds it and the last poll is old enough."""
    return bool(
        InboxCursor.objects.filter(channel_id=channel_id)
        .filter(Q(polling_until__isnull=True) | Q(polling_until__lte=now))
        .filter(Q(polled_at__isnull=True) | Q(polled_at__lte=now - POLL_EVERY))
        .update(polling_until=now + LEASE)
    )


def poll_once(channel_id: int, now: datetime | None = None) -> dict[str, Any]:
    """One poll of one channel under its lease (the task's body; tests call it directly)."""
    from .ingest import ingest_channel

    now = now or timezone.now()
    channel = Channel.objects.select_related("workspace").filter(pk=channel_id).first()
    if channel is None:  # deleted since the poll was queued
        return {"channel": channel_id, "polled": False}
    InboxCursor.objects.get_or_create(channel=channel)
    if not claim(channel_id, now):
        InboxCursor.objects.filter(channel_id=channel_id).update(queued_at=None)
        return {"channel": channel_id, "polled": False}
    try:
        result = ingest_channel(channel, now=now)
    finally:
        InboxCursor.objects.filter(channel_id=channel_id).update(polling_until=None, queued_at=None)
    return {
        "channel": channel_id,
        "polled": True,
        "created": result.created,
        "stopped": result.stopped,
        "error": result.error,
    }


@task()
def poll_channel(channel_id: int) -> dict[str, Any]:
    """Read one channel's new comments, mentions and messages into the inbox."""
    return poll_once(channel_id)
