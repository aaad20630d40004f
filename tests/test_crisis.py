"""The crisis switch (issue 15, item 6): the engine never sends a held post, on either path
(the dispatcher's batch claim and the task-per-delivery ``run``), the sweeper neither queues
nor misses one, and after the switch is off each held post waits for a person, then goes out
exactly once. Also the services' refusals, the audit trail and the team's notifications.

The Redis queue path is in tests/test_crisis_redis.py; the pages and the API in
tests/test_crisis_pages.py; the browser in tests/test_browser_crisis.py.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from fake_network import FakeConnector, install

from socialdesk.content.models import Post
from socialdesk.notifications.models import Notification
from socialdesk.publishing import crisis
from socialdesk.publishing.dispatch import run, sweep
from socialdesk.publishing.dispatcher import claim_due
from socialdesk.publishing.models import CrisisPause, Delivery, DeliveryState
from socialdesk.publishing.services import send_inbox_action
from socialdesk.workflow.models import AuditEvent

S = DeliveryState


@pytest.fixture
def network(monkeypatch) -> FakeConnector:
    return install(monkeypatch)


def due_post(workspace, owner, channel, text: str = "Rye is back", ago=timedelta(seconds=5)):
    """A post of the bakery scheduled ``ago`` (in the past: due now)."""
    post = Post.objects.create(workspace=workspace, author=owner, text=text)
    return Delivery.objects.create(
        workspace=workspace,
        post=post,
        channel=channel,
        state=S.SCHEDULED,
        scheduled_at=timezone.now() - ago,
    )


def state_of(delivery: Delivery) -> str:
    return Delivery.engine.values_list("state", flat=True).get(pk=delivery.pk)


def test_the_dispatcher_claims_nothing_of_a_workspace_in_a_crisis(
    workspace, owner, channel, other_workspace, other_channel, outsider, network
):
    crisis.start(workspace, owner, "A recall of the rye loaves")
    held = due_post(workspace, owner, channel)
    elsewhere = due_post(other_workspace, outsider, other_channel, "Bagels")

    claimed, others = claim_due("w1:dispatch", 10)

    assert [d.pk for d in claimed] == [elsewhere.pk]  # another workspace is not paused
    assert others == []
    assert state_of(held) == S.SCHEDULED


def test_the_task_path_leaves_a_held_post_scheduled_and_calls_no_network(
    workspace, owner, channel, network
):
    crisis.start(workspace, owner, "A recall")
    held = due_post(workspace, owner, channel)

    assert run(held.pk, "w1") == S.SCHEDULED

    assert network.calls == []
    assert state_of(held) == S.SCHEDULED
    assert held.transitions.count() == 0  # not claimed, not paced, not missed


def test_a_held_post_is_not_missed_by_the_late_window_nor_queued_by_the_sweeper(
    workspace, owner, channel, network
):
    crisis.start(workspace, owner, "A recall")
    held = due_post(workspace, owner, channel, ago=workspace.late_window + timedelta(hours=1))

    report = sweep()

    assert held.pk not in report.missed and held.pk not in report.enqueued
    assert state_of(held) == S.SCHEDULED
    assert run(held.pk, "w1") == S.SCHEDULED  # nor by the task's own late check


def test_a_retry_waits_during_the_pause(workspace, owner, channel, network):
    retrying = due_post(workspace, owner, channel)
    Delivery.objects.filter(pk=retrying.pk).update(
        state=S.WAITING_RETRY, retry_at=timezone.now() - timedelta(seconds=1), attempts=1
    )
    crisis.start(workspace, owner, "A recall")

    assert claim_due("w1:dispatch", 10) == ([], [])
    assert run(retrying.pk, "w1") == S.WAITING_RETRY
    assert network.calls == []


def test_an_inbox_reply_a_person_sends_still_goes_out(workspace, owner, channel, network):
    crisis.start(workspace, owner, "A recall")
    reply = send_inbox_action(
        channel, "reply", {"uri": "at://x", "cid": "y"}, text="Sorry, we are on it", actor=owner
    )

    claimed, _ = claim_due("w1:dispatch", 10)

    assert [d.pk for d in claimed] == [reply.pk]


def test_after_the_switch_is_off_a_held_post_waits_for_a_person_then_goes_out_once(
    workspace, owner, channel, network
):
    crisis.start(workspace, owner, "A recall")
    held = due_post(workspace, owner, channel)
    crisis.end(workspace, owner)

    # Off, but undecided: still held, on both paths, and listed.
    assert claim_due("w1:dispatch", 10) == ([], [])
    assert run(held.pk, "w1") == S.SCHEDULED
    pause = crisis.holding(workspace)
    assert pause is not None and [d.pk for d in crisis.held_deliveries(pause)] == [held.pk]

    [resumed] = crisis.resume(workspace, owner, [held.pk])
    assert resumed.state == S.SCHEDULED and resumed.scheduled_at > pause.ended_at
    pause.refresh_from_db()
    assert pause.released_at is not None  # nothing left to decide: holds nothing more

    assert run(held.pk, "w1") == S.PUBLISHED
    assert run(held.pk, "w1") == S.PUBLISHED  # a second task changes nothing
    assert claim_due("w1:dispatch", 10) == ([], [])
    assert network.calls == [held.idempotency_key]


def test_the_dispatcher_sends_a_resumed_post_once(workspace, owner, channel, network):
    crisis.start(workspace, owner, "A recall")
    held = due_post(workspace, owner, channel)
    crisis.end(workspace, owner)
    crisis.resume(workspace, owner)  # all of them

    claimed, _ = claim_due("w1:dispatch", 10)
    assert [d.pk for d in claimed] == [held.pk]
    assert claim_due("w1:dispatch", 10) == ([], [])


def test_a_post_due_after_the_switch_went_off_goes_out_as_usual(workspace, owner, channel, network):
    crisis.start(workspace, owner, "A recall")
    held = due_post(workspace, owner, channel, ago=timedelta(minutes=2))
    crisis.end(workspace, owner)
    later = due_post(workspace, owner, channel, "Later", ago=timedelta(seconds=0))
    Delivery.objects.filter(pk=later.pk).update(scheduled_at=timezone.now())

    claimed, _ = claim_due("w1:dispatch", 10)

    assert [d.pk for d in claimed] == [later.pk]
    assert state_of(held) == S.SCHEDULED


def test_the_dispatcher_looks_at_the_switch_once_per_batch(workspace, owner, channel, network):
    crisis.start(workspace, owner, "A recall")
    for n in range(5):
        due_post(workspace, owner, channel, f"Loaf {n}")
    with CaptureQueriesContext(connection) as queries:
        claim_due("w1:dispatch", 10)
    looks = [q["sql"] for q in queries.captured_queries if "crisispause" in q["sql"].lower()]
    assert len(looks) == 1


def test_with_no_switch_on_the_claim_query_is_unchanged(workspace, owner, channel, network):
    due_post(workspace, owner, channel)
    with CaptureQueriesContext(connection) as queries:
        claimed, _ = claim_due("w1:dispatch", 10)
    assert len(claimed) == 1
    delivery_reads = [
        q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith("SELECT")
    ]
    assert not any("crisis" in sql.lower() and "delivery" in sql.lower() for sql in delivery_reads)


def test_held_posts_do_not_turn_the_health_check_red(workspace, owner, channel, settings):
    from socialdesk.health import check_publishing, delivery_stats

    crisis.start(workspace, owner, "A recall")
    due_post(workspace, owner, channel, ago=timedelta(hours=2))

    assert delivery_stats()["due"] == 0
    assert check_publishing().ok


# --- The services ----------------------------------------------------------------------------


def test_turning_it_on_records_who_when_and_why_tells_the_team_and_audits(
    workspace, owner, members
):
    pause = crisis.start(workspace, owner, "  A recall of the rye loaves  ")

    assert pause.reason == "A recall of the rye loaves"
    assert pause.started_by == owner and pause.ended_at is None
    notices = Notification.objects.filter(event="crisis.started")
    told = set(notices.values_list("recipient__email", flat=True))
    assert told == {
        "manager@crumb.test",
        "creator@crumb.test",
        "approver@crumb.test",
        "community_manager@crumb.test",
    }  # not the owner who did it; clients and analysts see the banner
    event = AuditEvent.objects.get(action="crisis.started")
    assert event.actor == owner and "rye" in event.detail


@pytest.mark.parametrize("reason", ["", "   ", "x" * 1001, "bad\x00"])
def test_turning_it_on_without_a_proper_reason_is_refused(workspace, owner, reason):
    with pytest.raises(ValidationError):
        crisis.start(workspace, owner, reason)
    assert not CrisisPause.objects.exists()


def test_turning_it_on_twice_or_off_twice_is_refused(workspace, owner):
    crisis.start(workspace, owner, "A recall")
    with pytest.raises(ValidationError, match="already on"):
        crisis.start(workspace, owner, "Again")
    crisis.end(workspace, owner)
    with pytest.raises(ValidationError, match="already off"):
        crisis.end(workspace, owner)
    assert CrisisPause.objects.count() == 1


def test_turning_it_off_with_nothing_due_releases_at_once(workspace, owner, members):
    crisis.start(workspace, owner, "A recall")
    pause = crisis.end(workspace, members["manager"])
    assert pause.ended_by == members["manager"] and pause.released_at is not None
    assert crisis.holding(workspace) is None and crisis.held() is None
    assert AuditEvent.objects.filter(action="crisis.ended", actor=members["manager"]).exists()
    assert Notification.objects.filter(event="crisis.ended", recipient=owner).exists()


def test_decisions_wait_until_the_switch_is_off(workspace, owner, channel):
    crisis.start(workspace, owner, "A recall")
    held = due_post(workspace, owner, channel)
    with pytest.raises(ValidationError, match="still on"):
        crisis.resume(workspace, owner, [held.pk])
    assert state_of(held) == S.SCHEDULED


def test_a_delivery_that_is_not_held_is_refused_and_nothing_changes(
    workspace, owner, channel, post
):
    crisis.start(workspace, owner, "A recall")
    first = due_post(workspace, owner, channel, "One")
    crisis.end(workspace, owner)
    not_held = post.deliveries.get()  # due in two days

    with pytest.raises(ValidationError, match="Not held"):
        crisis.cancel(workspace, owner, [first.pk, not_held.pk])

    assert state_of(first) == S.SCHEDULED and state_of(not_held) == S.SCHEDULED


def test_reschedule_and_cancel_each_through_the_publishing_services(
    workspace, owner, channel, network
):
    crisis.start(workspace, owner, "A recall")
    moved = due_post(workspace, owner, channel, "Move me")
    dropped = due_post(workspace, owner, channel, "Drop me")
    crisis.end(workspace, owner)
    tomorrow = (timezone.now() + timedelta(days=1)).astimezone(workspace.zone)

    crisis.reschedule(
        workspace, owner, tomorrow.replace(tzinfo=None, microsecond=0), "Europe/Paris", [moved.pk]
    )
    assert crisis.holding(workspace) is not None  # one still undecided
    crisis.cancel(workspace, owner, [dropped.pk])

    moved.refresh_from_db()
    assert moved.state == S.SCHEDULED
    assert abs((moved.scheduled_at - tomorrow).total_seconds()) < 1
    assert state_of(dropped) == S.CANCELLED
    assert crisis.holding(workspace) is None  # all decided: released
    assert moved.transitions.last().actor == owner
    actions = list(AuditEvent.objects.values_list("action", flat=True).order_by("id"))
    assert actions[-2:] == ["crisis.rescheduled", "crisis.cancelled"]


def test_rescheduling_into_the_past_is_refused_and_nothing_moves(workspace, owner, channel):
    crisis.start(workspace, owner, "A recall")
    held = [due_post(workspace, owner, channel, f"Loaf {n}") for n in range(2)]
    crisis.end(workspace, owner)
    yesterday = timezone.now() - timedelta(days=1)

    with pytest.raises(ValidationError):
        crisis.reschedule(workspace, owner, yesterday, None)

    assert [state_of(d) for d in held] == [S.SCHEDULED, S.SCHEDULED]
    assert crisis.holding(workspace) is not None


def test_a_new_pause_takes_over_what_an_undecided_one_held(workspace, owner, channel):
    crisis.start(workspace, owner, "First")
    held = due_post(workspace, owner, channel)
    first = crisis.end(workspace, owner)
    second = crisis.start(workspace, owner, "Second")

    first.refresh_from_db()
    assert first.released_at is not None
    assert crisis.holding(workspace) == second
    assert crisis.holds(Delivery.engine.get(pk=held.pk))
    crisis.end(workspace, owner)
    assert [d.pk for d in crisis.held_deliveries(second)] == [held.pk]
