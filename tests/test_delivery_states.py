"""The delivery lifecycle: one declared graph, compare-and-set moves, every move recorded."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import F
from django.utils import timezone

from socialdesk.publishing.models import Delivery, DeliveryState, DeliveryTransition
from socialdesk.publishing.states import (
    FINAL,
    GRAPH,
    IllegalTransition,
    TransitionConflict,
    allowed,
    transition,
)

S = DeliveryState


@pytest.fixture
def delivery(post) -> Delivery:
    # Start from an empty history: how the fixture got scheduled is not under test here.
    DeliveryTransition.objects.all().delete()
    return post.deliveries.get()


def test_the_graph_declares_every_move_of_the_publishing_lifecycle():
    required = [
        (S.DRAFT, S.SCHEDULED),
        (S.SCHEDULED, S.PUBLISHING),
        (S.PUBLISHING, S.PUBLISHED),
        (S.PUBLISHING, S.WAITING_RETRY),
        (S.WAITING_RETRY, S.PUBLISHING),
        (S.PUBLISHING, S.FAILED),
        (S.WAITING_RETRY, S.FAILED),
        (S.PUBLISHING, S.UNKNOWN),
        (S.UNKNOWN, S.PUBLISHED),
        (S.UNKNOWN, S.WAITING_RETRY),
        (S.SCHEDULED, S.CANCELLED),
        (S.SCHEDULED, S.MISSED),
        (S.SCHEDULED, S.DRAFT),
        (S.SCHEDULED, S.SCHEDULED),
    ]
    assert [move for move in required if not allowed(*move)] == []


def test_published_failed_cancelled_and_missed_are_final():
    assert {S.PUBLISHED, S.FAILED, S.CANCELLED, S.MISSED} == FINAL
    assert all(GRAPH[state] == frozenset() for state in FINAL)


def test_an_unknown_outcome_can_never_be_resent_without_reconciliation():
    assert not allowed(S.UNKNOWN, S.PUBLISHING)
    assert not allowed(S.UNKNOWN, S.SCHEDULED)


def test_every_state_has_a_declared_entry_in_the_graph():
    assert set(GRAPH) == set(DeliveryState)


def test_a_move_by_a_person_is_recorded_with_who_when_and_why(delivery, owner):
    before = timezone.now()
    transition(delivery, S.CANCELLED, "client changed their mind", owner)

    delivery.refresh_from_db()
    assert delivery.state == S.CANCELLED
    record = DeliveryTransition.objects.get(delivery=delivery)
    assert (record.from_state, record.to_state) == (S.SCHEDULED, S.CANCELLED)
    assert record.reason == "client changed their mind"
    assert record.actor == owner
    assert record.actor_label == f"user {owner.pk} (owner@crumb.test)"
    assert record.at >= before
    assert record.workspace_id == delivery.workspace_id


def test_a_move_by_the_machinery_names_what_made_it(delivery):
    transition(delivery, S.MISSED, "too late", "system: sweeper")

    record = DeliveryTransition.objects.get(delivery=delivery)
    assert record.actor is None
    assert record.actor_label == "system: sweeper"


def test_an_undeclared_move_raises_and_changes_nothing(delivery):
    with pytest.raises(IllegalTransition, match="cannot move from scheduled to published"):
        transition(delivery, S.PUBLISHED, "skipping the queue")

    delivery.refresh_from_db()
    assert delivery.state == S.SCHEDULED
    assert not DeliveryTransition.objects.filter(delivery=delivery).exists()


def test_a_final_state_cannot_be_left(delivery):
    transition(delivery, S.CANCELLED, "cancelled")
    with pytest.raises(IllegalTransition):
        transition(delivery, S.SCHEDULED, "undo")


def test_two_workers_holding_the_same_delivery_cannot_both_move_it(delivery):
    first = Delivery.objects.get(pk=delivery.pk)
    second = Delivery.objects.get(pk=delivery.pk)

    transition(first, S.PUBLISHING, "claimed by w1", "system: worker w1")
    with pytest.raises(TransitionConflict, match="no longer scheduled"):
        transition(second, S.PUBLISHING, "claimed by w2", "system: worker w2")

    delivery.refresh_from_db()
    assert delivery.state == S.PUBLISHING
    assert list(DeliveryTransition.objects.values_list("reason", flat=True)) == ["claimed by w1"]


def test_a_person_cannot_cancel_a_delivery_a_worker_has_just_claimed(delivery, owner):
    stale = Delivery.objects.get(pk=delivery.pk)
    transition(delivery, S.PUBLISHING, "claimed", "system: worker w1")

    with pytest.raises(TransitionConflict):
        transition(stale, S.CANCELLED, "cancel", owner)
    assert Delivery.objects.get(pk=delivery.pk).state == S.PUBLISHING


def test_an_extra_condition_that_no_longer_holds_stops_the_move(delivery):
    past = timezone.now() - timedelta(days=1)

    with pytest.raises(TransitionConflict, match="expected values"):
        transition(delivery, S.PUBLISHING, "claim", where={"scheduled_at__lte": past})
    assert Delivery.objects.get(pk=delivery.pk).state == S.SCHEDULED


def test_fields_set_with_the_move_are_saved_and_expressions_read_back(delivery):
    lease = timezone.now() + timedelta(minutes=5)
    transition(
        delivery,
        S.PUBLISHING,
        "claim",
        lease_expires_at=lease,
        claimed_by="w1",
        attempts=F("attempts") + 1,
    )

    assert delivery.attempts == 1
    fresh = Delivery.objects.get(pk=delivery.pk)
    assert (fresh.lease_expires_at, fresh.claimed_by, fresh.attempts) == (lease, "w1", 1)


def test_a_reschedule_is_a_recorded_move_from_scheduled_to_scheduled(delivery, manager):
    later = delivery.scheduled_at + timedelta(hours=1)
    transition(delivery, S.SCHEDULED, "rescheduled", manager, scheduled_at=later)

    assert Delivery.objects.get(pk=delivery.pk).scheduled_at == later
    record = DeliveryTransition.objects.get(delivery=delivery)
    assert (record.from_state, record.to_state, record.actor) == (
        S.SCHEDULED,
        S.SCHEDULED,
        manager,
    )
