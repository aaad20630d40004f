"""Reading a channel on a schedule, once at a time: what the inbox's polls and the metrics'
polls share (``inbox.tasks``, ``analytics.metrics_tasks``).

Each kind of poll keeps one cursor row per channel with ``polled_at`` (the last read),
``queued_at`` (a task is on its way) and ``polling_until`` (the lease of the poll running).
The worker's heartbeat finds the channels due a read and queues one task for each, marking
``queued_at`` with a compare-and-set so a channel is queued once until its task runs (again
after ``requeue_after`` if the queue lost it). The task takes the lease, again with a
compare-and-set, and refuses a channel read less than ``every`` ago, so two reads of one
channel never run at once and a channel is read at most once per ``every``; a worker that
died mid-read leaves the lease to expire.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from django.db import models, transaction
from django.db.models import Q

from .models import Channel

R = TypeVar("R")


@dataclass(frozen=True)
class ChannelPolls:
    cursor: type[models.Model]  # one row per channel: channel, polled_at, queued_at, polling_until
    every: timedelta
    requeue_after: timedelta
    lease: timedelta

    def due(self, channel_ids: Iterable[int], now: datetime, also: Q | None = None) -> list[int]:
        """Of ``channel_ids``, those read ``every`` ago or never, not queued and not being
        read (and matching ``also``, the poll's own rule). Makes missing cursors."""
        channel_ids = list(channel_ids)
        if not channel_ids:
            return []
        rows = self.cursor.objects.filter(channel_id__in=channel_ids)  # type: ignore[attr-defined]
        known = set(rows.values_list("channel_id", flat=True))
        self.cursor.objects.bulk_create(  # type: ignore[attr-defined]
            [self.cursor(channel_id=pk) for pk in channel_ids if pk not in known],
            ignore_conflicts=True,
        )
        rows = (
            rows.filter(Q(polled_at__isnull=True) | Q(polled_at__lte=now - self.every))
            .filter(Q(queued_at__isnull=True) | Q(queued_at__lte=now - self.requeue_after))
            .filter(Q(polling_until__isnull=True) | Q(polling_until__lte=now))
        )
        if also is not None:
            rows = rows.filter(also)
        return list(rows.values_list("channel_id", flat=True))

    def queue(
        self, channel_ids: Iterable[int], now: datetime, hand_over: Callable[[int], None]
    ) -> list[int]:
        """Mark each channel queued unless another beat did first, and hand it over to the task
        queue once the transaction commits; returns the ones queued here."""
        queued = []
        for channel_id in channel_ids:
            taken = (
                self.cursor.objects.filter(channel_id=channel_id)  # type: ignore[attr-defined]
                .filter(Q(queued_at__isnull=True) | Q(queued_at__lte=now - self.requeue_after))
                .update(queued_at=now)
            )
            if taken:
                queued.append(channel_id)
        for channel_id in queued:
            transaction.on_commit(partial(hand_over, channel_id), robust=True)
        return queued

    def claim(self, channel_id: int, now: datetime) -> bool:
        """Take the channel's lease, if nobody holds it and the last read is old enough."""
        return bool(
            self.cursor.objects.filter(channel_id=channel_id)  # type: ignore[attr-defined]
            .filter(Q(polling_until__isnull=True) | Q(polling_until__lte=now))
            .filter(Q(polled_at__isnull=True) | Q(polled_at__lte=now - self.every))
            .update(polling_until=now + self.lease)
        )

    def run(self, channel_id: int, now: datetime, read: Callable[[Channel], R]) -> R | None:
        """``read`` the channel under its lease; None when it is gone or not to be read now.
        The lease and the queued mark end with the read, however it ends."""
        channel = Channel.objects.select_related("workspace").filter(pk=channel_id).first()
        if channel is None:  # deleted since the poll was queued
            return None
        rows: Any = self.cursor.objects.filter(channel_id=channel_id)  # type: ignore[attr-defined]
        self.cursor.objects.get_or_create(channel=channel)  # type: ignore[attr-defined]
        if not self.claim(channel_id, now):
            rows.update(queued_at=None)
            return None
        try:
            return read(channel)
        finally:
            rows.update(polling_until=None, queued_at=None)
