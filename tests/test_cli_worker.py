"""``socialdesk worker``: django-tasks-db's loop with a heartbeat that monitors can read.

The real loop closes connections it finds inside a transaction (Django's request behaviour),
so tests that run it use ``transactional_db``.
"""

import os
import time

import pytest
from django.core.management import call_command
from django_tasks_db.management.commands.db_worker import Worker
from fake_network import FakeConnector

from socialdesk.publishing.models import WorkerHeartbeat
from socialdesk.worker import Heartbeat

# django-tasks-db's loop; test_tasks_redis.py covers rq's in the Redis pass.
database_queue_only = pytest.mark.database_queue


@database_queue_only
def test_the_worker_has_a_heartbeat_while_it_runs_and_removes_it_when_it_stops(db, monkeypatch):
    seen = []

    def run(self: Worker) -> None:
        seen.append(list(WorkerHeartbeat.objects.values_list("worker_id", "pid")))

    monkeypatch.setattr(Worker, "run", run)
    call_command("worker", "--worker-id", "oven-1")
    assert seen == [[("oven-1", os.getpid())]]
    assert not WorkerHeartbeat.objects.exists()


@database_queue_only
def test_the_worker_links_to_pages_without_loading_the_api_and_puts_the_urlconf_back(
    db, monkeypatch, settings
):
    """The worker reverses with the pages' URLconf (socialdesk/site_urls.py), so the API's
    schemas stay out of its memory; a worker run inside another process leaves that
    process's URLconf as it was."""
    from django.urls import reverse

    seen = []

    def run(self: Worker) -> None:
        seen.append((settings.ROOT_URLCONF, reverse("health")))

    monkeypatch.setattr(Worker, "run", run)
    call_command("worker", "--worker-id", "oven-3")
    assert seen == [("socialdesk.site_urls", "/health")]
    assert settings.ROOT_URLCONF == "socialdesk.urls"
    assert reverse("api-v1:openapi-json") == "/api/v1/openapi.json"


@database_queue_only
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
    from task_queue import flush, queued

    delivery = post.deliveries.get()
    delivery.scheduled_at = timezone.now() - timedelta(seconds=5)
    delivery.enqueued_for = None
    delivery.save(update_fields=["scheduled_at", "enqueued_for"])
    flush()  # the queue was flushed
    heartbeat = Heartbeat("oven-3", interval=60)
    with django_capture_on_commit_callbacks(execute=True):
        heartbeat.start()
    heartbeat.stop()
    assert queued(delivery.pk)


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


# --- Worker threads (database queue) ------------------------------------------------------


@database_queue_only
def test_worker_threads_run_one_task_loop_each_under_its_own_id(db, monkeypatch):
    import threading

    from socialdesk.worker import run_worker

    seen = []

    def run(self: Worker) -> None:
        seen.append((self.worker_id, threading.current_thread() is threading.main_thread()))

    monkeypatch.setattr(Worker, "run", run)
    run_worker(threads=3, worker_id="oven-t", batch=True)

    assert sorted(seen) == [("oven-t-t0", False), ("oven-t-t1", False), ("oven-t-t2", False)]
    assert not WorkerHeartbeat.objects.exists()


@database_queue_only
def test_a_signal_lets_every_thread_finish_and_stops_the_worker(db, monkeypatch):
    import signal

    from socialdesk.worker import run_worker

    stopped = []

    def run(self: Worker) -> None:
        if self.worker_id.endswith("-t0"):
            signal.raise_signal(signal.SIGTERM)  # handled in the main thread
        deadline = time.monotonic() + 10
        while self.running:
            assert time.monotonic() < deadline, "the signal never reached the loops"
            time.sleep(0.01)
        stopped.append(self.worker_id)

    monkeypatch.setattr(Worker, "run", run)
    run_worker(threads=2, worker_id="oven-s")

    assert sorted(stopped) == ["oven-s-t0", "oven-s-t1"]
    assert signal.getsignal(signal.SIGTERM) is not None  # restored, not left pointing at us


@database_queue_only
# Threads writing at once: the SQLite test database is in-memory shared-cache, where a second
# writer fails at once (a real SQLite file waits; bench/publishing.py measures that case).
@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_worker_threads_publish_every_due_delivery_exactly_once(workspace, owner, channel):
    from socialdesk.content.services import PostContent, create_post
    from socialdesk.networks.models import Network
    from socialdesk.publishing import connectors
    from socialdesk.publishing.models import Delivery
    from socialdesk.publishing.services import publish_now
    from socialdesk.worker import run_worker

    network = FakeConnector()
    connectors.REGISTRY[Network.PAGE], previous = (
        lambda channel: network,
        connectors.REGISTRY[Network.PAGE],
    )
    try:
        for number in range(8):
            post = create_post(
                workspace, owner, PostContent(text=f"Loaf {number}", channel_ids=[channel.pk])
            )
            publish_now(post, owner)
        run_worker(threads=3, worker_id="oven-pg", batch=True)
    finally:
        connectors.REGISTRY[Network.PAGE] = previous

    assert set(Delivery.objects.values_list("state", flat=True)) == {"published"}
    assert len(network.calls) == len(set(network.calls)) == 8
