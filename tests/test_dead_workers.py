"""A worker killed mid-call (issue 12, item E): its claims are reconciled as soon as its
heartbeat goes stale, not after the 5-minute lease; a worker that is only slow keeps them.

The sweeper is driven one step at a time here (``sweep(now)``) against stale or fresh
heartbeat rows; the last test kills a real worker process with SIGKILL mid-call.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from fake_network import FakeConnector, install
from task_queue import flush

from socialdesk.publishing import tasks
from socialdesk.publishing.connectors import content_for
from socialdesk.publishing.dispatch import LEASE, claim, run, sweep
from socialdesk.publishing.models import (
    Delivery,
    DeliveryState,
    DeliveryTransition,
    WorkerHeartbeat,
)
from socialdesk.worker import HEARTBEAT_SECONDS

S = DeliveryState
STALE = timedelta(seconds=settings.WORKER_HEARTBEAT_STALE_SECONDS)  # 30 s, as in production


@pytest.fixture
def network(monkeypatch) -> FakeConnector:
    return install(monkeypatch)


@pytest.fixture
def due(post) -> Delivery:
    delivery = post.deliveries.get()
    flush()
    Delivery.objects.filter(pk=delivery.pk).update(
        scheduled_at=timezone.now() - timedelta(minutes=10), enqueued_for=None
    )
    delivery.refresh_from_db()
    return delivery


def beat(worker_id: str, seen_at) -> None:
    WorkerHeartbeat.objects.update_or_create(
        worker_id=worker_id,
        defaults={"seen_at": seen_at, "hostname": "oven", "pid": 4242, "started_at": seen_at},
    )


def state(delivery: Delivery) -> str:
    return Delivery.objects.get(pk=delivery.pk).state


def test_a_killed_workers_claim_is_reconciled_within_a_minute_not_after_the_lease(
    due, network, django_capture_on_commit_callbacks
):
    now = timezone.now()
    beat("oven-4242-abcd", now)
    claim(due.pk, "oven-4242-abcd:tasks-0", now)
    # The network created the post, then the worker was killed before recording it.
    network.publish(content_for(due), idempotency_key=due.idempotency_key)

    assert sweep(now + timedelta(seconds=20)).abandoned == []  # not stale yet
    # The sweeper runs at each beat: the first sweep after the heartbeat went stale, well
    # within a minute of the kill, takes the claim back.
    first_sweep_after = STALE + timedelta(seconds=HEARTBEAT_SECONDS)
    assert first_sweep_after < timedelta(minutes=1)
    with django_capture_on_commit_callbacks(execute=True):
        report = sweep(now + first_sweep_after)

    assert report.abandoned == [due.pk] and due.pk in report.enqueued
    assert state(due) == S.UNKNOWN
    reason = DeliveryTransition.objects.filter(delivery=due).last().reason
    assert reason.startswith("worker oven-4242-abcd:tasks-0 stopped mid-attempt")
    # Reconciled against the network, never sent twice.
    assert run(due.pk, "oven-9-new") == S.PUBLISHED
    assert len(network.posts) == 1 and len(network.calls) == 1


def test_a_slow_worker_whose_heartbeat_is_fresh_keeps_its_claim(due, network):
    claimed_at = timezone.now() - timedelta(minutes=4)
    claim(due.pk, "oven-1-slow", claimed_at)
    beat("oven-1-slow", timezone.now())  # its heartbeat thread beats while it waits

    report = sweep()

    assert (report.abandoned, report.expired) == ([], [])
    assert state(due) == S.PUBLISHING


def test_a_claim_whose_holder_has_no_heartbeat_waits_for_its_lease(due, network):
    claim(due.pk, "web-7")  # run outside ``socialdesk worker``: no heartbeat row
    beat("oven-2-dead", timezone.now() - timedelta(minutes=1))

    assert sweep(timezone.now() + timedelta(minutes=1)).abandoned == []
    assert state(due) == S.PUBLISHING
    report = sweep(timezone.now() + LEASE + timedelta(seconds=1))
    assert report.expired == [due.pk]


def test_only_the_dead_workers_own_claims_are_taken(due, network, other_post):
    alive = other_post.deliveries.get()
    Delivery.objects.filter(pk=alive.pk).update(
        state=S.SCHEDULED, scheduled_at=timezone.now() - timedelta(minutes=10)
    )
    now = timezone.now()
    beat("oven-1", now - timedelta(minutes=1))  # dead
    beat("oven-12", now)  # alive, and its id starts with the dead one's
    claim(due.pk, "oven-1", now - timedelta(minutes=1))
    claim(alive.pk, "oven-12:tasks-1", now)

    assert sweep(now).abandoned == [due.pk]
    assert state(alive) == S.PUBLISHING


def test_a_worker_long_dead_is_left_to_the_lease_that_already_ran_out(due, network):
    long_ago = timezone.now() - LEASE - STALE - timedelta(seconds=30)
    beat("oven-3", long_ago)
    claim(due.pk, "oven-3", long_ago)

    report = sweep()

    assert (report.abandoned, report.expired) == ([], [due.pk])


@pytest.mark.any_database
def test_a_worker_process_claims_in_its_heartbeats_name():
    tasks.claim_as("oven-5-x1y2")
    try:
        names = [tasks.default_worker_id()]
        thread = threading.Thread(
            target=lambda: names.append(tasks.default_worker_id()), name="tasks-3"
        )
        thread.start()
        thread.join()
    finally:
        tasks.claim_as("")
    assert names == ["oven-5-x1y2", "oven-5-x1y2:tasks-3"]
    assert tasks.default_worker_id().endswith(f":{os.getpid()}")


# --- A real worker process killed mid-call --------------------------------------------------

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


@pytest.mark.slow
def test_a_worker_killed_mid_call_is_reconciled_and_its_post_sent_once_in_seconds(tmp_path):
    """Production lease (5 minutes); heartbeat every second, stale after 3 (as the chaos
    bench): the post goes out seconds after the kill, so the lease played no part."""
    from bench._support import Installation, wait_until

    suite_database = os.environ.get("DATABASE_URL", "")
    database = "postgresql" if suite_database.startswith("postgres") else "sqlite"
    calls = tmp_path / "calls.txt"
    with Installation(database, suite_database) as site:
        site.child("seed", offsets=[0.0], lead=1.0)
        # The first worker's network never answers in time: the kill lands mid-call.
        first = site.start_worker(stub_calls=str(calls), stub_delay=120, heartbeat_s=1)
        in_call = wait_until(lambda: site.states().get("publishing") == 1, timeout=30)
        assert in_call, f"the first worker never claimed the delivery: {site.states()}"
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
        killed = time.monotonic()
        site.workers.remove(first)
        site.start_worker(stub_calls=str(calls), heartbeat_s=1)

        published = wait_until(lambda: site.states() == {"published": 1}, timeout=60)
        drained = time.monotonic() - killed
        reasons = [row[0] for row in site.query("SELECT reason FROM publishing_deliverytransition")]
        site.stop_workers()

    assert published, f"not published a minute after the kill: {json.dumps(reasons)}"
    assert drained < 30, f"took {drained:.1f} s"
    assert any("stopped mid-attempt" in reason for reason in reasons), reasons
    assert not any("lease of" in reason for reason in reasons), reasons
    assert len(calls.read_text().splitlines()) == 1  # sent once: the killed call never was
