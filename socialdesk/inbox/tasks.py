"""Polling the networks for the inbox, on Django's Tasks API (``django_tasks``).

Freshness target (issue 13, item 2): an item appears ≤ 60 s (p95) after it is made, with at
most one read per channel per 30 s. How:

- The worker's heartbeat (``socialdesk.worker``, every 5 s, on the one sweeping worker) calls
  ``on_heartbeat``, which finds the connected channels of networks that can be read whose
  last poll is ``POLL_EVERY`` (30 s) old or more, and queues one ``poll_channel`` task for
  each; the task reads the channel under a lease (``networks.polling``, shared with the
  metrics' polls: queued once, read once at a time, at most once per ``POLL_EVERY``).

So a channel is read every 30–35 s while a worker runs; an item waits at most that, plus the
network's own indexing.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone
from django_tasks import task

from socialdesk.networks.models import Channel, ChannelStatus, Network
from socialdesk.networks.polling import ChannelPolls

from .models import InboxCursor

log = logging.getLogger(__name__)

POLL_EVERY = timedelta(seconds=30)
REQUEUE_AFTER = timedelta(seconds=90)
LEASE = timedelta(minutes=2)


def readable_networks() -> list[str]:
    """The networks whose connector reads an inbox (``Connector.reads``)."""
    from socialdesk.networks.metrics import connector_class

    return [
        network
        for network in Network.values
        if (connector := connector_class(network)) is not None and connector.reads
    ]


POLLS = ChannelPolls(InboxCursor, every=POLL_EVERY, requeue_after=REQUEUE_AFTER, lease=LEASE)


def due_channels(now: datetime) -> list[int]:
    """Connected, readable channels that are due a poll and not already queued or polling."""
    channels = Channel.objects.filter(
        status=ChannelStatus.CONNECTED, network__in=readable_networks()
    ).values_list("pk", flat=True)
    return POLLS.due(channels, now)


def on_heartbeat(now: datetime | None = None) -> list[int]:
    """Queue a poll for every channel that is due one; returns their ids. Never raises (a
    failure is logged and the next beat tries again)."""
    now = now or timezone.now()
    try:
        return POLLS.queue(due_channels(now), now, _hand_over)
    except Exception:
        log.exception("Could not queue the inbox polls; retrying at the next beat")
        return []


def _hand_over(channel_id: int) -> None:
    poll_channel.enqueue(channel_id)


def claim(channel_id: int, now: datetime) -> bool:
    """Take the channel's poll lease, if nobody holds it and the last poll is old enough."""
    return POLLS.claim(channel_id, now)


def poll_once(channel_id: int, now: datetime | None = None) -> dict[str, Any]:
    """One poll of one channel under its lease (the task's body; tests call it directly)."""
    from .ingest import ingest_channel

    now = now or timezone.now()
    result = POLLS.run(channel_id, now, lambda channel: ingest_channel(channel, now=now))
    if result is None:
        return {"channel": channel_id, "polled": False}
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
