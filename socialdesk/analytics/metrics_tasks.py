"""Polling the networks for metric snapshots, on Django's Tasks API (``django_tasks``).

As the inbox's polls (``inbox.tasks``): the worker's heartbeat (every 5 s, on the one
sweeping worker) calls ``on_heartbeat``, which finds the connected channels of measured
networks that have a snapshot due (``MetricSchedule.due_at``, the "snapshots due now" index)
or whose periodic check is due (``MetricCursor.check_at``: new deliveries, the day row), and
queues one ``poll_metrics`` task for each, marking ``MetricCursor.queued_at`` with a
compare-and-set so a channel is queued once until its task runs (again after
``REQUEUE_AFTER`` if the queue lost it). ``poll_once`` takes the channel's lease
(``polling_until``) before it reads and refuses a channel polled less than ``POLL_EVERY``
ago, so a channel is read at most once per 30 s and never by two polls at once; a poll the
budget or the network told to wait (``not_before``) is not queued before then.

A worker that was down leaves snapshots due: the first beat after it starts queues their
channels, and ``analytics.metrics`` takes them late, labelled honestly.
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

from socialdesk.networks.metrics import measured_networks
from socialdesk.networks.models import Channel, ChannelStatus

from .metrics import poll_channel_metrics
from .models import MetricCursor, MetricSchedule

log = logging.getLogger(__name__)

POLL_EVERY = timedelta(seconds=30)
REQUEUE_AFTER = timedelta(seconds=90)
LEASE = timedelta(minutes=5)


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
    known = set(
        MetricCursor.objects.filter(channel_id__in=channels).values_list("channel_id", flat=True)
    )
    MetricCursor.objects.bulk_create(
        [MetricCursor(channel_id=pk) for pk in channels if pk not in known],
        ignore_conflicts=True,
    )
    with_due = set(
        MetricSchedule.objects.filter(due_at__lte=now, channel_id__in=channels)
        .values_list("channel_id", flat=True)
        .distinct()
    )
    return list(
        MetricCursor.objects.filter(channel_id__in=channels)
        .filter(Q(check_at__isnull=True) | Q(check_at__lte=now) | Q(channel_id__in=with_due))
        .filter(Q(polled_at__isnull=True) | Q(polled_at__lte=now - POLL_EVERY))
        .filter(Q(queued_at__isnull=True) | Q(queued_at__lte=now - REQUEUE_AFTER))
        .filter(Q(polling_until__isnull=True) | Q(polling_until__lte=now))
        .filter(Q(not_before__isnull=True) | Q(not_before__lte=now))
        .values_list("channel_id", flat=True)
    )


def on_heartbeat(now: datetime | None = None) -> list[int]:
    """Queue a metrics poll for every channel due one; returns their ids. Never raises (a
    failure is logged and the next beat tries again)."""
    now = now or timezone.now()
    try:
        queued = []
        for channel_id in due_channels(now):
            # Compare-and-set: another sweeper (or an overlapping beat) queued it first.
            taken = (
                MetricCursor.objects.filter(channel_id=channel_id)
                .filter(Q(queued_at__isnull=True) | Q(queued_at__lte=now - REQUEUE_AFTER))
                .update(queued_at=now)
            )
            if taken:
                queued.append(channel_id)
        for channel_id in queued:
            transaction.on_commit(partial(_hand_over, channel_id), robust=True)
        return queued
    except Exception:
        log.exception("Could not queue the metrics polls; retrying at the next beat")
        return []


def _hand_over(channel_id: int) -> None:
    poll_metrics.enqueue(channel_id)


def claim(channel_id: int, now: datetime) -> bool:
    """Take the channel's lease, if nobody holds it and the last poll is old enough."""
    return bool(
        MetricCursor.objects.filter(channel_id=channel_id)
        .filter(Q(polling_until__isnull=True) | Q(polling_until__lte=now))
        .filter(Q(polled_at__isnull=True) | Q(polled_at__lte=now - POLL_EVERY))
        .update(polling_until=now + LEASE)
    )


def poll_once(channel_id: int, now: datetime | None = None) -> dict[str, Any]:
    """One poll of one channel under its lease (the task's body; tests call it directly)."""
    now = now or timezone.now()
    channel = Channel.objects.select_related("workspace").filter(pk=channel_id).first()
    if channel is None:  # deleted since the poll was queued
        return {"channel": channel_id, "polled": False}
    MetricCursor.objects.get_or_create(channel=channel)
    if not claim(channel_id, now):
        MetricCursor.objects.filter(channel_id=channel_id).update(queued_at=None)
        return {"channel": channel_id, "polled": False}
    try:
        result = poll_channel_metrics(channel, now=now)
    finally:
        MetricCursor.objects.filter(channel_id=channel_id).update(
            polling_until=None, queued_at=None
        )
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
