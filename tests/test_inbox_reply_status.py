"""A reply counts when it is on the network (issue 13, items 4, 5 and 8): the conversation is
Pending while the reply is on its way, ``first_response_at`` is the time its delivery was
published, and a reply that fails or is rejected puts the conversation back to New with its
clock as it was, and tells its author. On the page network (ours: no outside server).

The bakery's team: Owner, Manager, Creator (tests/conftest.py); Ana asked on the public page
whether there is gluten-free bread, five minutes ago.
"""

from __future__ import annotations

import smtplib
from datetime import timedelta

import pytest
from django.utils import timezone
from inbox_answer_helpers import inbound, page_question

from socialdesk.inbox import answering, listing, numbers, service_levels
from socialdesk.inbox.models import ConversationStatus, Message
from socialdesk.networks import page
from socialdesk.notifications.models import Notification
from socialdesk.publishing.dispatch import run
from socialdesk.publishing.models import Delivery, DeliveryState


@pytest.fixture
def question(workspace, channel):
    return page_question(workspace, channel)


@pytest.fixture
def mail_is_down(monkeypatch):
    """The page network emails the answer to the asker: a broken mail server fails it."""

    def broken(*args, **kwargs):
        raise smtplib.SMTPServerDisconnected("gone mid-send")

    monkeypatch.setattr(page, "send_mail", broken)


@pytest.fixture
def creators_need_approval(workspace, owner):
    answering.set_approval_roles(workspace, owner, ["creator"])


def send(message: Message) -> str:
    """What a worker does with the reply's queued task."""
    message.refresh_from_db()
    return run(message.delivery_id, "test-worker")


def test_a_reply_on_its_way_is_pending_but_not_yet_an_answer(question, workspace, manager):
    conversation, asked = question
    waiting_since = conversation.waiting_since

    answering.reply(conversation, manager, "Yes, every Friday.", expected_last_message_id=asked.pk)

    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.PENDING
    assert conversation.first_response_at is None
    assert conversation.waiting_since == waiting_since
    # Out of the New queue, so nobody answers it twice; the response clock still runs.
    assert listing.badge_count(workspace, manager) == 0
    level = service_levels.level_of(workspace)
    kinds = [clock.kind for clock in service_levels.clocks_of(conversation, level)]
    assert "response" in kinds


def test_the_first_response_is_the_time_the_reply_was_published(question, manager):
    conversation, _ = question
    reply = answering.reply(conversation, manager, "Yes, every Friday.")
    pressed = reply.sent_at - timedelta(minutes=20)  # the worker was busy for 20 minutes
    Message.objects.filter(pk=reply.pk).update(sent_at=pressed)

    assert send(reply) == DeliveryState.PUBLISHED

    reply.refresh_from_db()
    conversation.refresh_from_db()
    published = reply.delivery.published_at
    assert published is not None and published > pressed
    assert conversation.first_response_at == published
    assert reply.sent_at == published
    assert conversation.status == ConversationStatus.PENDING
    assert conversation.waiting_since is None


def test_a_failed_reply_puts_the_conversation_back_to_new_and_tells_its_author(
    question, manager, mail_is_down
):
    conversation, _ = question
    waiting_since = conversation.waiting_since
    reply = answering.reply(conversation, manager, "Yes, every Friday.")

    assert send(reply) == DeliveryState.FAILED

    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.NEW
    assert conversation.waiting_since == waiting_since
    assert conversation.first_response_at is None
    told = Notification.objects.get(event="inbox.reply_failed")
    assert told.recipient == manager and "back in New" in told.body


def test_a_reply_missed_by_a_worker_that_came_too_late_puts_it_back_to_new(question, manager):
    conversation, _ = question
    reply = answering.reply(conversation, manager, "Yes, every Friday.")
    reply.refresh_from_db()

    ended = run(reply.delivery_id, "test-worker", now=timezone.now() + timedelta(days=3))

    assert ended == DeliveryState.MISSED
    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.NEW
    assert Notification.objects.filter(event="inbox.reply_failed", recipient=manager).exists()


def test_a_reply_waiting_for_approval_is_pending_and_a_rejection_makes_it_new_again(
    question, creator, manager, creators_need_approval
):
    conversation, _ = question
    waiting_since = conversation.waiting_since
    reply = answering.reply(conversation, creator, "Yes!!")
    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.PENDING

    answering.reject(reply, manager, "Say which days, please.")

    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.NEW
    assert conversation.waiting_since == waiting_since
    told = Notification.objects.get(event="inbox.reply_rejected")
    assert told.recipient == creator and "back in New" in told.body


def test_an_approved_reply_counts_from_when_it_was_published(
    question, creator, manager, creators_need_approval
):
    conversation, _ = question
    reply = answering.reply(conversation, creator, "Yes!!")
    answering.approve(reply, manager)
    conversation.refresh_from_db()
    assert conversation.first_response_at is None

    assert send(reply) == DeliveryState.PUBLISHED

    conversation.refresh_from_db()
    reply.refresh_from_db()
    assert conversation.first_response_at == reply.delivery.published_at


def test_a_failed_reply_leaves_it_pending_while_another_reply_is_on_its_way(
    question, manager, creator, mail_is_down
):
    conversation, _ = question
    first = answering.reply(conversation, manager, "Yes, every Friday.")
    second = answering.reply(conversation, creator, "And Saturdays too.")

    assert send(first) == DeliveryState.FAILED

    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.PENDING
    told = Notification.objects.get(event="inbox.reply_failed")
    assert "back in New" not in told.body
    second.refresh_from_db()
    assert second.delivery.state == DeliveryState.SCHEDULED


def test_a_failed_follow_up_leaves_an_answered_conversation_pending(question, manager, monkeypatch):
    conversation, _ = question
    answered = answering.reply(conversation, manager, "Yes, every Friday.")
    assert send(answered) == DeliveryState.PUBLISHED
    follow_up = answering.reply(conversation, manager, "And Saturdays too.")

    def broken(*args, **kwargs):
        raise smtplib.SMTPServerDisconnected("gone mid-send")

    monkeypatch.setattr(page, "send_mail", broken)
    assert send(follow_up) == DeliveryState.FAILED

    conversation.refresh_from_db()
    # Ana has her answer: nothing waits, so the conversation stays Pending.
    assert conversation.status == ConversationStatus.PENDING
    assert conversation.waiting_since is None


def test_a_resolved_conversation_stays_resolved_when_a_reply_fails(question, manager, mail_is_down):
    from socialdesk.inbox import status

    conversation, _ = question
    reply = answering.reply(conversation, manager, "Yes, every Friday.")
    conversation.refresh_from_db()
    status.resolve(conversation)

    assert send(reply) == DeliveryState.FAILED

    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.RESOLVED


def test_the_report_counts_only_replies_that_reached_the_network(
    question, workspace, manager, creator, creators_need_approval, monkeypatch
):
    conversation, _ = question
    published = answering.reply(conversation, manager, "Yes, every Friday.")
    assert send(published) == DeliveryState.PUBLISHED
    answering.reply(conversation, creator, "Yes!!")  # waits for approval
    answering.reply(conversation, manager, "On its way")  # queued, not sent yet
    failed = answering.reply(conversation, manager, "Saturdays too.")

    def broken(*args, **kwargs):
        raise smtplib.SMTPServerDisconnected("gone mid-send")

    monkeypatch.setattr(page, "send_mail", broken)
    assert send(failed) == DeliveryState.FAILED
    published.refresh_from_db()
    start = published.sent_at - timedelta(hours=1)

    report = numbers.inbox_report(workspace, start, start + timedelta(hours=2))

    replies = {row["name"]: row["replies"] for row in report["replies_per_person"]}
    assert replies == {"Manager": 1}
    assert report["totals"]["answered"] == 1
    assert Delivery.engine.filter(state=DeliveryState.FAILED).count() == 1


def test_what_the_contact_wrote_while_the_reply_waited_still_waits_for_us(
    question, creator, manager, creators_need_approval
):
    conversation, _ = question
    reply = answering.reply(conversation, creator, "Yes!!")
    again = inbound(conversation, remote_id="question-1b", reference={}, text="Also vegan?")
    answering.approve(reply, manager)

    assert send(reply) == DeliveryState.PUBLISHED

    conversation.refresh_from_db()
    reply.refresh_from_db()
    # The first question was answered when the reply went out; the second one waits.
    assert conversation.first_response_at == reply.delivery.published_at
    assert conversation.status == ConversationStatus.NEW
    assert conversation.waiting_since == again.sent_at
