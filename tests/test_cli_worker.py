"""``socialdesk worker``: django-tasks-db's loop with a heartbeat that monitors can read.

The real loop closes connections it finds inside a transaction (Django's request behaviour),
so tests that run it use ``transactional_db``.
"""

import os
import time

from django.core.management import call_command
from django_tasks_db.management.commands.db_worker import Worker

from socialdesk.publishing.models import WorkerHeartbeat
from socialdesk.worker import Heartbeat


def test_the_worker_has_a_heartbeat_while_it_runs_and_removes_it_when_it_stops(db, monkeypatch):
    seen = []

    def run(self: Worker) -> None:
        seen.append(list(WorkerHeartbeat.objects.values_list("worker_id", "pid")))

    monkeypatch.setattr(Worker, "run", run)
    call_command("worker", "--worker-id", "oven-1")
    assert seen == [[("oven-1", os.getpid())]]
    assert not WorkerHeartbeat.objects.exists()


def test_a_batch_worker_runs_the_real_loop_and_exits_when_nothing_is_ready(transactional_db):
    call_command("worker", "--batch", "--worker-id", "cron-1")
    assert not WorkerHeartbeat.objects.exists()


def test_the_heartbeat_thread_keeps_seen_at_fresh(transactional_db):
    heartbeat = Heartbeat("oven-2", interval=0.05)
    heartbeat.start()
    first = WorkerHeartbeat.objects.get(worker_id="oven-2").seen_at
    try:
        deadline = time.monotonic() + 5
        while WorkerHeartbeat.objects.get(worker_id="oven-2").seen_at == first:
            assert time.monotonic() < deadline, "the heartbeat thread never wrote"
            time.sleep(0.05)
    finally:
        heartbeat.stop()
    assert not WorkerHeartbeat.objects.filter(worker_id="oven-2").exists()


def test_a_starting_worker_sweeps_a_due_delivery_that_no_task_carries(
    db, post, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    delivery = post.deliveries.get()
    delivery.scheduled_at = timezone.now() - timedelta(seconds=5)
    delivery.enqueued_for = None
    delivery.save(update_fields=["scheduled_at", "enqueued_for"])
    DBTaskResult.objects.all().delete()  # the queue was flushed
    heartbeat = Heartbeat("oven-3", interval=60)
    with django_capture_on_commit_callbacks(execute=True):
        heartbeat.start()
    heartbeat.stop()
    assert DBTaskResult.objects.filter(args_kwargs__args=[delivery.pk]).exists()


def test_only_the_oldest_live_worker_sweeps(db):
    from datetime import timedelta

    from django.utils import timezone

    first, second = Heartbeat("oven-a"), Heartbeat("oven-b")
    second.started_at = first.started_at + timedelta(seconds=1)
    first.beat()
    second.beat()
    assert (first.is_sweeper(), second.is_sweeper()) == (True, False)
    # The oldest one stops beating: after the stale window the next one takes over.
    WorkerHeartbeat.objects.filter(worker_id="oven-a").update(
        seen_at=timezone.now() - timedelta(minutes=5)
    )
    assert second.is_sweeper()
