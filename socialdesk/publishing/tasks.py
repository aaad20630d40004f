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
import threading
from datetime import UTC, datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Min, Q
from django.utils import timezone
from django_tasks import task
from django_tasks_db import DatabaseBackend

from .models import Delivery

log = logging.getLogger(__name__)


# This process's ``WorkerHeartbeat.worker_id`` while it runs ``socialdesk worker`` (set by
# ``socialdesk.worker.run_worker``). Its claims carry it, so that the sweeper can tell the
# claims of a worker that died (its heartbeat went stale) from those of one that is only
# waiting for a slow network (its heartbeat thread keeps beating meanwhile).
_heartbeat_id = ""


def claim_as(heartbeat_id: str) -> None:
    """Make this process's claims name its heartbeat (``""``: none, as before it started)."""
    global _heartbeat_id
    _heartbeat_id = heartbeat_id


def default_worker_id() -> str:
    """This process, and this thread when it is one of a worker's task threads: a claim is
    finished only by the loop that made it (``dispatch._finish``). In a worker, the process
    is named by its heartbeat's id, ``<heartbeat id>[:<thread>]`` (``WorkerHeartbeat.holds``)."""
    thread = threading.current_thread()
    suffix = "" if thread is threading.main_thread() else f":{thread.name}"
    process = _heartbeat_id or f"{socket.gethostname()}:{os.getpid()}"
    return f"{process}{suffix}"


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
    return {
        "enqueued": report.enqueued,
        "missed": report.missed,
        "expired": report.expired,
        "abandoned": report.abandoned,
    }


def oldest_waiting_task() -> datetime | None:
    """When the longest-waiting ``publish_delivery`` task became ready to run (None: none
    waits, or the backend cannot tell).

    The sweeper's measure of a backlog: a task that became ready before this moment is no
    longer in the queue (a worker took it), so a delivery whose task was due before it and
    that is still not done has lost its task; one due after it may only be waiting its turn,
    and is not queued again (a burst would otherwise be queued many times over).
    """
    backend = publish_delivery.get_backend()
    if isinstance(backend, DatabaseBackend):
        from django_tasks_db.models import DBTaskResult, get_date_max

        # django-tasks-db stores "no run_after" as the largest date: those became ready
        # when they were queued, the others at their run_after.
        waiting = DBTaskResult.objects.ready().filter(task_path=publish_delivery.module_path)
        found = waiting.aggregate(
            queued=Min("enqueued_at", filter=Q(run_after=get_date_max())),
            delayed=Min("run_after", filter=~Q(run_after=get_date_max())),
        )
        moments = [moment for moment in found.values() if moment is not None]
        return min(moments) if moments else None
    if type(backend).__name__ == "RQBackend":
        return _oldest_waiting_rq(publish_delivery.queue_name)
    return None


def _oldest_waiting_rq(queue_name: str) -> datetime | None:
    import django_rq
    from rq.registry import ScheduledJobRegistry

    queue = django_rq.get_queue(queue_name)
    moments = []
    head = queue.get_job_ids(0, 1)
    if head:
        job = queue.fetch_job(head[0])
        if job is not None and job.enqueued_at is not None:
            moments.append(job.enqueued_at.replace(tzinfo=UTC))
    # Due but not yet moved to the queue by rq's scheduler: waiting too.
    registry = ScheduledJobRegistry(queue=queue)
    due = queue.connection.zrangebyscore(
        registry.key, 0, timezone.now().timestamp(), start=0, num=1, withscores=True
    )
    if due:
        moments.append(datetime.fromtimestamp(float(due[0][1]), tz=UTC))
    return min(moments) if moments else None


def enqueue_delivery(delivery: Delivery, run_after: datetime | None = None) -> None:
    """Queue ``publish_delivery`` for ``delivery`` to run at ``run_after`` (None: at once).

    The task is handed to the queue only when the current transaction commits, so a worker
    never sees a delivery whose state is not committed yet; ``enqueued_for`` records when it
    should run, so the sweeper knows when the queue has lost it. If the queue refuses the task
    (backend down), the commit stands and the sweeper enqueues it later.
    """
    now = timezone.now()
    expected = run_after if run_after is not None and run_after > now else now
    Delivery.engine.filter(pk=delivery.pk).update(enqueued_for=expected)
    delivery.enqueued_for = expected
    delivery_id = delivery.pk
    if settings.PUBLISHING_DISPATCHER:
        return  # the dispatcher reads ``enqueued_for`` as "not before" (publishing.dispatcher)

    def hand_over() -> None:
        if run_after is not None and run_after > timezone.now():
            publish_delivery.using(run_after=run_after).enqueue(delivery_id)
        else:
            publish_delivery.enqueue(delivery_id)

    transaction.on_commit(hand_over, robust=True)


def enqueue_many(due: list[tuple[int, datetime]]) -> None:
    """Queue ``publish_delivery`` for each ``(delivery id, run after)``, as
    ``enqueue_delivery`` would one by one: the publishing engine's one batch hook (used by
    ``services.schedule_batch``). Call it after the deliveries are committed.

    With the database task backend (the embedded default) the task rows are inserted in
    batches: 20,000 separate ``enqueue`` calls took most of a 10,000-row import. The rows are
    the ones ``DatabaseBackend.enqueue`` writes (django-tasks-db 0.13, pinned), including its
    "no run_after" far-future date and its ids; django-tasks has no public bulk enqueue. Any
    other backend gets one ``enqueue`` per task, in one transaction. If the queue refuses them,
    the deliveries are already committed with ``enqueued_for`` and the sweeper enqueues them.
    """
    from socialdesk.bulk_rows import BulkRows

    if settings.PUBLISHING_DISPATCHER:
        return  # the dispatcher finds them in the deliveries table (publishing.dispatcher)
    now = timezone.now()
    backend = publish_delivery.get_backend()
    with transaction.atomic():
        if isinstance(backend, DatabaseBackend):
            from django_tasks_db.models import DBTaskResult, get_date_max

            task = publish_delivery
            # The backend's configured id function, else the model's default (as it does).
            new_id = backend.id_function or DBTaskResult._meta.get_field("id").get_default
            tasks = BulkRows(
                DBTaskResult,
                ["id", "args_kwargs", "run_after"],
                priority=task.priority,
                task_path=task.module_path,
                queue_name=task.queue_name,
                backend_name=backend.alias,
                run_after=get_date_max(),
            )
            for delivery_id, when in due:
                tasks.add(
                    id=new_id(),
                    args_kwargs={"args": [delivery_id], "kwargs": {}},
                    run_after=when if when > now else get_date_max(),
                )
            tasks.insert()
            return
        for delivery_id, when in due:
            if when > now:
                publish_delivery.using(run_after=when).enqueue(delivery_id)
            else:
                publish_delivery.enqueue(delivery_id)
