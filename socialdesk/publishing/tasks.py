"""Background tasks of the publishing engine, on Django's Tasks API (``django_tasks``).

The queue only carries work; the database is the truth. A task that runs twice, late, or
for a delivery that was moved meanwhile does no harm: ``dispatch.run`` claims the delivery
with a compare-and-set first and does nothing when it is not due or someone else has it.
A task that is lost (queue flushed, worker killed) is made up for by ``dispatch.sweep``.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django_tasks import task

from .models import Delivery

log = logging.getLogger(__name__)


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@task()
def publish_delivery(delivery_id: int) -> str:
    """Publish one delivery if it is due and free; returns the state it ended in."""
    from .dispatch import run

    return run(delivery_id, default_worker_id())


@task()
def sweep_deliveries() -> dict[str, list[int]]:
    """Find due deliveries the queue lost, expired leases and missed ones (``dispatch.sweep``)."""
    from .dispatch import sweep

    report = sweep()
    return {"enqueued": report.enqueued, "missed": report.missed, "expired": report.expired}


def enqueue_delivery(delivery: Delivery, run_after: datetime | None = None) -> None:
    """Queue ``publish_delivery`` for ``delivery`` to run at ``run_after`` (None: at once).

    The task is handed to the queue only when the current transaction commits, so a worker
    never sees a delivery whose state is not committed yet; ``enqueued_for`` records when it
    should run, so the sweeper knows when the queue has lost it. If the queue refuses the task
    (backend down), the commit stands and the sweeper enqueues it later.
    """
    now = timezone.now()
    expected = run_after if run_after is not None and run_after > now else now
    Delivery.objects.filter(pk=delivery.pk).update(enqueued_for=expected)
    delivery.enqueued_for = expected
    delivery_id = delivery.pk

    def hand_over() -> None:
        if run_after is not None and run_after > timezone.now():
            publish_delivery.using(run_after=run_after).enqueue(delivery_id)
        else:
            publish_delivery.enqueue(delivery_id)

    transaction.on_commit(hand_over, robust=True)
