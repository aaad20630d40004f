"""Polling the networks for metric snapshots, on Django's Tasks API (``django_tasks``).

As the inbox's polls (``inbox.tasks``, both on ``networks.polling``): the worker's heartbeat
(every 5 s, on the one sweeping worker) calls ``on_heartbeat``, which finds the connected
channels of measured networks that have a snapshot due (``MetricSchedule.due_at``, the
"snapshots due now" index) or whose periodic check is due (``MetricCursor.check_at``: new
deliveries, the day row), and queues one ``poll_metrics`` task for each; the task reads the
channel under its lease, at most once per 30 s and never by two polls at once. A poll the
budget or the network told to wait (``not_before``) is not queued before then.

A worker that was down leaves snapshots due: the first beat after it starts queues their
channels, and ``analytics.metrics`` takes them late, labelled honestly.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django_tasks import task

from socialdesk.networks.metrics import measured_networks
from socialdesk.networks.models import Channel, ChannelStatus
from socialdesk.networks.polling import ChannelPolls

from .metrics import poll_channel_metrics
from .models import MetricCursor, MetricSchedule

log = logging.getLogger(__name__)

POLL_EVERY = timedelta(seconds=30)
REQUEUE_AFTER = timedelta(seconds=90)
LEASE = timedelta(minutes=5)


POLLS = ChannelPolls(MetricCursor, every=POLL_EVERY, requeue_after=REQUEUE_AFTER, lease=LEASE)


def due_channels(now: datetime) -> list[int]:
    """Connected, measured channels with a snapshot or a check due, not already queued or
    polling, not polled in the last ``POLL_EVERY`` and not told to wait."""
    channels = list(
        Channel.objects.filter(
            status=ChannelStatus.CONNECTED, network__in=measured_networks()
        ).values_list("pk", flat=True)
    )
    if not channels:
        return []
    with_due = set(
        MetricSchedule.objects.filter(due_at__lte=now, channel_id__in=channels)
        .values_list("channel_id", flat=True)
        .distinct()
    )
    due_now = Q(check_at__isnull=True) | Q(check_at__lte=now) | Q(channel_id__in=with_due)
    return POLLS.due(channels, now, due_now & (Q(not_before__isnull=True) | Q(not_before__lte=now)))


def on_heartbeat(now: datetime | None = None) -> list[int]:
    """Queue a metrics poll for every channel due one; returns their ids. Never raises (a
    failure is logged and the next beat tries again)."""
    now = now or timezone.now()
    try:
        return POLLS.queue(due_channels(now), now, _hand_over)
    except Exception:
        log.exception("Could not queue the metrics polls; retrying at the next beat")
        return []


def _hand_over(channel_id: int) -> None:
    poll_metrics.enqueue(channel_id)


def claim(channel_id: int, now: datetime) -> bool:
    """Take the channel's lease, if nobody holds it and the last poll is old enough."""
    return POLLS.claim(channel_id, now)


def poll_once(channel_id: int, now: datetime | None = None) -> dict[str, Any]:
    """One poll of one channel under its lease (the task's body; tests call it directly)."""
    now = now or timezone.now()
    result = POLLS.run(channel_id, now, lambda channel: poll_channel_metrics(channel, now=now))
    if result is None:
        return {"channel": channel_id, "polled": False}
    return {
        "channel": channel_id,
        "polled": True,
        "enrolled": result.enrolled,
        "stored": result.stored,
        "missing": result.missing,
        "stopped": result.stopped,
        "error": result.error,
    }


@task()
def poll_metrics(channel_id: int) -> dict[str, Any]:
    """Read the numbers of one channel's deliveries that are due a snapshot."""
    return poll_once(channel_id)
