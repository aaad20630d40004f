"""Late and missed posts are told (issue 12, item F): a post that goes out
``PUBLISHING_LATE_SECONDS`` (5 minutes) or more after its time tells its author and the
leads why; the missed posts one sweep finds are one notice and one email per person."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from fake_network import FakeConnector, install, transient
from task_queue import flush

from socialdesk.content.services import PostContent, create_post
from socialdesk.notifications.models import EmailRoute, Notification
from socialdesk.notifications.tasks import send_notification_email
from socialdesk.publishing.dispatch import claim, run, sweep
from socialdesk.publishing.models import Delivery, DeliveryState, WorkerHeartbeat

S = DeliveryState


@pytest.fixture
def network(monkeypatch) -> FakeConnector:
    return install(monkeypatch)


def due_post(workspace, author, channel, text: str, ago: timedelta) -> Delivery:
    post = create_post(
        workspace,
        author,
        PostContent(
            text=text, channel_ids=[channel.pk], scheduled_at=timezone.now() + timedelta(days=1)
        ),
    )
    delivery = post.deliveries.get()
    Delivery.objects.filter(pk=delivery.pk).update(scheduled_at=timezone.now() - ago)
    delivery.refresh_from_db()
    return delivery


def told(event: str) -> list[Notification]:
    return list(Notification.objects.filter(event=event).order_by("recipient__email"))


def test_a_post_seven_minutes_late_tells_its_author_and_the_leads_that_no_worker_ran(
    workspace, creator, channel, members, network
):
    delivery = due_post(workspace, creator, channel, "Rye on Fridays", timedelta(minutes=7))
    # The worker that publishes it started after its time: none was running then.
    WorkerHeartbeat.objects.create(worker_id="oven-1", hostname="oven", pid=1)

    assert run(delivery.pk, "oven-1") == S.PUBLISHED

    notices = told("delivery.late")
    assert [n.recipient.email for n in notices] == [
        "creator@crumb.test",
        "manager@crumb.test",
        "owner@crumb.test",
    ]
    assert notices[0].title == (
        "Published 7 minutes late on Public page crumb because no worker was running: "
        "Rye on Fridays"
    )
    assert "7 minutes late because no worker was running." in notices[0].body
    # Nothing to act on: the daily digest carries its email (recommended mode).
    assert {n.email_route for n in notices} == {EmailRoute.DIGEST}


def test_a_post_a_minute_late_tells_nobody(workspace, creator, channel, members, network):
    delivery = due_post(workspace, creator, channel, "Rye", timedelta(minutes=1))
    assert run(delivery.pk, "oven-1") == S.PUBLISHED
    assert told("delivery.late") == []


def test_a_late_post_names_the_networks_failures_rather_than_the_workers(
    workspace, creator, channel, members, network
):
    delivery = due_post(workspace, creator, channel, "Rye", timedelta(minutes=9))
    WorkerHeartbeat.objects.create(
        worker_id="oven-1", hostname="oven", pid=1, started_at=timezone.now() - timedelta(hours=1)
    )
    network.script = [transient(), transient()]
    assert run(delivery.pk, "oven-1") == S.WAITING_RETRY
    for _ in range(2):
        Delivery.objects.filter(pk=delivery.pk).update(retry_at=timezone.now())
        run(delivery.pk, "oven-1")

    assert Delivery.objects.get(pk=delivery.pk).state == S.PUBLISHED
    (notice, *_) = told("delivery.late")
    assert notice.title.startswith(
        "Published 9 minutes late on Public page crumb because the network failed 2 times first"
    )


def test_a_late_post_whose_worker_ran_all_along_just_says_how_late(
    workspace, creator, channel, members, network
):
    delivery = due_post(workspace, creator, channel, "Rye", timedelta(minutes=6))
    WorkerHeartbeat.objects.create(
        worker_id="oven-1", hostname="oven", pid=1, started_at=timezone.now() - timedelta(hours=1)
    )
    assert run(delivery.pk, "oven-1") == S.PUBLISHED
    (notice, *_) = told("delivery.late")
    assert notice.title == "Published 6 minutes late on Public page crumb: Rye"


def test_a_late_post_reconciled_and_then_recorded_by_its_slow_worker_is_told_once(
    workspace, creator, channel, members, network
):
    delivery = due_post(workspace, creator, channel, "Rye", timedelta(minutes=8))
    claimed = claim(delivery.pk, "oven-1")
    network.publish(object(), idempotency_key=delivery.idempotency_key)
    Delivery.objects.filter(pk=delivery.pk).update(state=S.UNKNOWN)
    assert run(delivery.pk, "oven-2") == S.PUBLISHED  # reconciled: the network has it
    from socialdesk.publishing import lateness

    lateness.tell_if_late(Delivery.objects.get(pk=claimed.pk))  # the slow worker's turn
    assert len(told("delivery.late")) == 3  # creator, manager, owner: once each


def test_posts_missed_in_one_sweep_are_one_notice_and_one_email_per_person(
    workspace, creator, owner, channel, members
):
    flush()
    for number in range(20):
        due_post(workspace, creator, channel, f"Bake #{number}", timedelta(hours=7))

    report = sweep()

    assert len(report.missed) == 20
    notices = told("delivery.missed")
    assert [n.recipient.email for n in notices] == [
        "creator@crumb.test",
        "manager@crumb.test",
        "owner@crumb.test",
    ]
    assert notices[0].title == "20 posts missed"
    assert "- Bake #0 on Public page crumb, due " in notices[0].body
    assert "- Bake #19 on Public page crumb" in notices[0].body
    assert "late window (6 hours)" in notices[0].body
    assert notices[0].url == "/w/crumb/posts/?state=missed"
    for notice in notices:
        assert send_notification_email.call(notice.pk) == "sent"
    assert sorted(email.to[0] for email in mail.outbox) == [
        "creator@crumb.test",
        "manager@crumb.test",
        "owner@crumb.test",
    ]
    assert "20 posts missed" in mail.outbox[0].subject


def test_a_post_held_for_approval_at_its_time_is_late_because_it_waited_for_approval(
    workspace, creator, channel, members
):
    from socialdesk.publishing.lateness import why_late
    from socialdesk.publishing.states import transition

    delivery = due_post(workspace, creator, channel, "Rye", timedelta(minutes=30))
    WorkerHeartbeat.objects.create(
        worker_id="oven-1", hostname="oven", pid=1, started_at=timezone.now() - timedelta(hours=1)
    )
    assert why_late(delivery) == ""  # being scheduled explains nothing

    transition(delivery, S.AWAITING_APPROVAL, "held for approval: not approved", "system: w")
    assert why_late(delivery) == "it waited for approval"
