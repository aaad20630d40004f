"""The worker's dispatcher (issue 12, speed): due deliveries claimed in batches straight from
the deliveries table, sent by a pool of threads, their successes recorded together.

The claim and the recording are tested one step at a time; the last tests run a real
``Dispatcher`` (its threads, their own database connections) until a batch is published.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from fake_network import OK, FakeConnector, install

from socialdesk.content.models import Post
from socialdesk.networks.base import RateLimit
from socialdesk.publishing import tasks
from socialdesk.publishing.dispatch import attempt, sweep
from socialdesk.publishing.dispatcher import (
    Dispatcher,
    claim_due,
    next_due_in,
    record_published,
)
from socialdesk.publishing.models import (
    ChannelSpend,
    Delivery,
    DeliveryState,
    DeliveryTransition,
)
from socialdesk.publishing.states import transition

S = DeliveryState


@pytest.fixture
def network(monkeypatch) -> FakeConnector:
    return install(monkeypatch)


@pytest.fixture
def dispatching(settings):
    settings.PUBLISHING_DISPATCHER = True


def make_due(workspace, owner, channel, count: int, ago: timedelta = timedelta(seconds=5)):
    when = timezone.now() - ago
    posts = Post.objects.bulk_create(
        Post(workspace=workspace, author=owner, text=f"Loaf #{n}") for n in range(count)
    )
    return list(
        Delivery.objects.bulk_create(
            Delivery(
                workspace=workspace,
                post=post,
                channel=channel,
                state=S.SCHEDULED,
                scheduled_at=when,
            )
            for post in posts
        )
    )


def moves(delivery_id: int) -> list[tuple[str, str]]:
    rows = DeliveryTransition.objects.filter(delivery_id=delivery_id).order_by("at", "id")
    return [(row.from_state, row.to_state) for row in rows]


def test_a_batch_of_due_deliveries_is_claimed_at_once_and_recorded(
    workspace, owner, channel, network
):
    due = make_due(workspace, owner, channel, 5)
    claimed, others = claim_due("w1:dispatch", 3)
    assert len(claimed) == 3 and others == []
    assert [d.pk for d in claimed] == [d.pk for d in due[:3]]  # oldest first
    for delivery in Delivery.objects.filter(pk__in=[d.pk for d in claimed]):
        assert delivery.state == S.PUBLISHING
        assert delivery.claimed_by == "w1:dispatch"
        assert delivery.attempts == 1
        assert delivery.lease_expires_at is not None
        assert moves(delivery.pk) == [(S.SCHEDULED, S.PUBLISHING)]
    # The rest is left for the next batch; nothing is claimed twice.
    again, _ = claim_due("w2:dispatch", 10)
    assert sorted(d.pk for d in again) == sorted(d.pk for d in due[3:])
    assert claim_due("w3:dispatch", 10) == ([], [])


def test_future_deliveries_and_channels_that_cannot_send_are_left_alone(
    workspace, owner, channel, network, post
):
    make_due(workspace, owner, channel, 2)
    channel.status = "paused"
    channel.save(update_fields=["status"])
    assert claim_due("w1", 10) == ([], [])
    channel.status = "connected"
    channel.save(update_fields=["status"])
    claimed, _ = claim_due("w1", 10)
    assert post.deliveries.get().pk not in [d.pk for d in claimed]  # due in two days
    assert len(claimed) == 2


def test_a_delivery_deferred_by_pacing_is_not_claimed_before_its_not_before_time(
    workspace, owner, channel, network
):
    (delivery,) = make_due(workspace, owner, channel, 1)
    Delivery.objects.filter(pk=delivery.pk).update(
        enqueued_for=timezone.now() + timedelta(minutes=3)
    )
    assert claim_due("w1", 10) == ([], [])


def test_retries_unknown_outcomes_and_late_deliveries_go_to_the_one_by_one_path(
    workspace, owner, channel, network
):
    late, retry, unknown = make_due(workspace, owner, channel, 3)
    Delivery.objects.filter(pk=late.pk).update(scheduled_at=timezone.now() - timedelta(days=2))
    Delivery.objects.filter(pk=retry.pk).update(
        state=S.WAITING_RETRY, retry_at=timezone.now() - timedelta(seconds=1)
    )
    Delivery.objects.filter(pk=unknown.pk).update(state=S.UNKNOWN, retry_at=None)
    claimed, others = claim_due("w1", 10)
    assert claimed == []
    assert sorted(others) == sorted([late.pk, retry.pk, unknown.pk])


def test_a_batch_keeps_to_the_channels_budget_and_defers_the_rest(
    workspace, owner, channel, network
):
    network.rate_limits = (RateLimit("points", 9, timedelta(hours=1)),)
    network._cost = lambda content: {"points": 3}
    due = make_due(workspace, owner, channel, 5)
    claimed, others = claim_due("w1", 10)
    assert [d.pk for d in claimed] == [d.pk for d in due[:3]] and others == []
    assert sum(ChannelSpend.objects.values_list("points", flat=True)) == 9
    for delivery in Delivery.objects.filter(pk__in=[d.pk for d in due[3:]]):
        assert delivery.state == S.SCHEDULED  # nothing sent, its time kept
        assert delivery.enqueued_for > timezone.now() + timedelta(minutes=55)  # not before
        assert delivery.last_error.startswith("paced: ")
    assert claim_due("w1", 10) == ([], [])  # the deferred ones wait for the window


def test_a_batch_sums_its_channels_budget_once_and_writes_its_spend_together(
    workspace, owner, channel, network
):
    network.rate_limits = (RateLimit("points", 300, timedelta(hours=1)),)
    network._cost = lambda content: {"points": 3}
    make_due(workspace, owner, channel, 12)
    with CaptureQueriesContext(connection) as captured:
        claimed, _ = claim_due("w1", 12)
    assert len(claimed) == 12
    spend_queries = [q["sql"] for q in captured.captured_queries if "channelspend" in q["sql"]]
    # One sum of the windows, one INSERT of the 12 spends, one DELETE of spend past the window.
    assert len(spend_queries) == 3, spend_queries
    assert sum(ChannelSpend.objects.values_list("points", flat=True)) == 36


def test_approval_is_read_with_the_claim_and_holds_an_unapproved_post(
    workspace, owner, channel, network
):
    workspace.requires_approval = True
    workspace.save(update_fields=["requires_approval"])
    make_due(workspace, owner, channel, 3)
    # The ``members`` fixture gives the workspace an approver: its approval gate is on.
    claimed, _ = claim_due("w1", 10)
    with CaptureQueriesContext(connection) as captured:
        outcome = attempt(claimed[0], "w1", channel_fresh=True)
    read = [q["sql"] for q in captured.captured_queries if "SELECT" in q["sql"]]
    assert not [q for q in read if "postversion" in q or "membership" in q], read
    assert outcome.state == S.AWAITING_APPROVAL and network.posts == {}


def test_successes_are_recorded_together_and_a_claim_taken_meanwhile_is_a_late_result(
    workspace, owner, channel, network
):
    one, two = make_due(workspace, owner, channel, 2)
    claimed, _ = claim_due("w1", 2)
    # The sweeper took the second claim (its worker looked dead): outcome unknown.
    stolen = Delivery.objects.get(pk=two.pk)
    transition(stolen, S.UNKNOWN, "lease expired", "system: sweeper", lease_expires_at=None)
    at = timezone.now()
    record_published(
        [(claimed[0], "remote-1", "https://n.invalid/1", at), (claimed[1], "r2", "", at)],
        "w1",
    )
    first, second = Delivery.objects.get(pk=one.pk), Delivery.objects.get(pk=two.pk)
    assert (first.state, first.remote_id, first.published_at) == (S.PUBLISHED, "remote-1", at)
    assert moves(one.pk) == [(S.SCHEDULED, S.PUBLISHING), (S.PUBLISHING, S.PUBLISHED)]
    assert second.state == S.PUBLISHED and second.remote_id == "r2"
    assert moves(two.pk)[-1] == (S.UNKNOWN, S.PUBLISHED)


def test_without_a_task_per_delivery_scheduling_only_records_when_to_look(
    dispatching, workspace, owner, channel, network
):
    from task_queue import queued

    (delivery,) = make_due(workspace, owner, channel, 1, ago=-timedelta(minutes=5))
    tasks.enqueue_delivery(delivery, run_after=delivery.scheduled_at)
    assert queued(delivery.pk) == []
    delivery.refresh_from_db()
    assert delivery.enqueued_for == delivery.scheduled_at
    # The sweeper leaves due work to the dispatcher: it queues nothing.
    Delivery.objects.filter(pk=delivery.pk).update(scheduled_at=timezone.now())
    assert sweep().enqueued == []


def test_the_dispatcher_sleeps_until_the_next_due_time(workspace, owner, channel, network):
    now = timezone.now()
    assert next_due_in(now) == 0.5  # nothing ahead: the cap
    make_due(workspace, owner, channel, 1, ago=-timedelta(milliseconds=200))
    assert 0.15 < next_due_in(now) < 0.3  # due 200 ms after the delivery was made
    (retry,) = make_due(workspace, owner, channel, 1, ago=-timedelta(hours=1))
    Delivery.objects.filter(pk=retry.pk).update(
        state=S.WAITING_RETRY, retry_at=now + timedelta(milliseconds=50)
    )
    assert next_due_in(now) <= 0.05


@pytest.mark.django_db(transaction=True)
def test_a_dispatcher_publishes_a_burst_once_each_with_its_threads(
    dispatching, workspace, owner, channel, network
):
    due = make_due(workspace, owner, channel, 60)
    in_flight, most, lock = [0], [0], threading.Lock()

    def slow() -> str:  # a network that takes its time: calls overlap across threads
        with lock:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
        time.sleep(0.02)
        with lock:
            in_flight[0] -= 1
        return OK

    network.otherwise = slow
    dispatcher = Dispatcher("w1:dispatch", threads=8)
    thread = threading.Thread(target=dispatcher.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if Delivery.objects.filter(state=S.PUBLISHED).count() == len(due):
                break
            time.sleep(0.1)
    finally:
        dispatcher.stop()
        thread.join(timeout=10)
    assert Delivery.objects.filter(state=S.PUBLISHED).count() == len(due)
    assert len(network.calls) == len(due) == len(set(network.calls))  # once each
    assert network.created == len(due)
    assert most[0] > 1  # several calls were in flight together
    for delivery in due[:5]:
        assert moves(delivery.pk) == [(S.SCHEDULED, S.PUBLISHING), (S.PUBLISHING, S.PUBLISHED)]
    assert not Delivery.objects.filter(lease_expires_at__isnull=False).exists()


@pytest.mark.django_db(transaction=True)
def test_a_failed_call_is_recorded_at_once_and_retried_later(
    dispatching, workspace, owner, channel, network
):
    from fake_network import transient

    (delivery,) = make_due(workspace, owner, channel, 1)
    network.script.append(transient())
    dispatcher = Dispatcher("w1:dispatch", threads=2)
    dispatcher.drain()
    dispatcher.stop()
    delivery.refresh_from_db()
    assert delivery.state == S.WAITING_RETRY
    assert delivery.retry_at > timezone.now() + timedelta(seconds=10)  # a backoff, not at once
    assert delivery.lease_expires_at is None and delivery.attempts == 1
