"""Answering from the inbox (issue 13, item 3), on the page network (ours: no outside server):
replies through the engine, collisions, saved replies with variables, notes with @mentions,
reply approval, and the API doors to them.

The bakery's team: Owner, Manager, Creator, Approver, Client, Analyst (tests/conftest.py);
Ana asked on the public page whether there is gluten-free bread.
"""

from __future__ import annotations

import pytest
from api_helpers import call
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from inbox_answer_helpers import inbound, page_question

from socialdesk.inbox import answering
from socialdesk.inbox.models import (
    ApprovalState,
    ConversationStatus,
    Direction,
    Message,
    ReplyApproval,
    SavedReply,
)
from socialdesk.notifications.models import Notification
from socialdesk.publishing.dispatch import run
from socialdesk.publishing.models import Delivery, DeliveryState


@pytest.fixture
def question(workspace, channel):
    return page_question(workspace, channel)


def send(message: Message) -> str:
    """What a worker does with the reply's queued task."""
    message.refresh_from_db()
    return run(message.delivery_id, "test-worker")


# --- Replies ------------------------------------------------------------------------------


def test_a_reply_goes_out_through_the_engine_and_the_conversation_turns_pending(question, manager):
    conversation, asked = question

    reply = answering.reply(
        conversation, manager, "Yes, every Friday.", expected_last_message_id=asked.pk
    )

    assert reply.direction == Direction.OUTBOUND and reply.author_user == manager
    assert answering.state_of(reply) == "scheduled"
    conversation.refresh_from_db()
    # Typed is not sent: Pending while on its way, but not yet an answer.
    assert conversation.status == ConversationStatus.PENDING
    assert conversation.first_response_at is None
    assert send(reply) == DeliveryState.PUBLISHED
    reply.refresh_from_db()
    conversation.refresh_from_db()
    assert reply.remote_id == f"answer-{reply.delivery_id}"
    assert conversation.status == ConversationStatus.PENDING
    assert conversation.first_response_at == reply.delivery.published_at
    assert conversation.waiting_since is None
    assert mail.outbox[0].to == ["ana@example.org"]
    assert reply.delivery.target["question_id"] == "question-1"


def test_a_teammates_reply_meanwhile_stops_mine_and_names_them(question, manager, creator):
    conversation, asked = question
    answering.reply(conversation, creator, "Yes!", expected_last_message_id=asked.pk)

    with pytest.raises(answering.AnswerConflict) as crossed:
        answering.reply(conversation, manager, "Yes, Fridays.", expected_last_message_id=asked.pk)

    assert "Creator has answered meanwhile" in crossed.value.message
    assert conversation.messages.filter(direction=Direction.OUTBOUND).count() == 1
    assert Delivery.engine.count() == 1


def test_the_contact_writing_again_stops_a_reply_to_the_old_message(question, manager):
    conversation, asked = question
    inbound(conversation, remote_id="question-1b", reference={}, text="Also, vegan?")

    with pytest.raises(answering.AnswerConflict) as crossed:
        answering.reply(conversation, manager, "Yes.", expected_last_message_id=asked.pk)

    assert "Ana Lima wrote again" in crossed.value.message


def test_roles_without_inbox_reply_cannot_answer(question, analyst, client_user):
    conversation, _ = question
    for person in (analyst, client_user):
        with pytest.raises(PermissionDenied):
            answering.reply(conversation, person, "Hello")
    assert Message.objects.filter(direction=Direction.OUTBOUND).count() == 0


def test_an_empty_reply_is_refused_and_nothing_is_written(question, manager):
    conversation, _ = question
    with pytest.raises(ValidationError):
        answering.reply(conversation, manager, "   ")
    assert Message.objects.filter(direction=Direction.OUTBOUND).count() == 0


def test_a_failed_reply_tells_its_author(question, manager, monkeypatch):
    import smtplib

    from socialdesk.networks import page

    conversation, _ = question
    reply = answering.reply(conversation, manager, "Yes, every Friday.")

    def broken(*args, **kwargs):
        raise smtplib.SMTPServerDisconnected("gone mid-send")

    monkeypatch.setattr(page, "send_mail", broken)

    assert send(reply) == DeliveryState.FAILED
    told = Notification.objects.get(event="inbox.reply_failed")
    assert told.recipient == manager and "may or may not" in told.body
    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.NEW


# --- Saved replies ------------------------------------------------------------------------


def test_a_saved_reply_fills_its_variables(question, workspace, manager):
    conversation, _ = question
    saved = answering.save_saved_reply(
        workspace,
        manager,
        name="Gluten-free",
        text="Hi {first_name}, {agent_name} from {channel} here: yes, on Fridays.",
    )

    reply = answering.reply(conversation, manager, "", saved_reply=saved)

    assert reply.text == "Hi Ana, Manager from crumb here: yes, on Fridays."


def test_braces_a_person_types_stay_and_known_variables_are_filled(question, manager):
    conversation, _ = question

    reply = answering.reply(conversation, manager, "{first_name}, use code {SAVE10}!")

    assert reply.text == "Ana, use code {SAVE10}!"


def test_an_unknown_variable_is_refused_when_saved_with_the_known_ones(workspace, manager):
    with pytest.raises(ValidationError) as refused:
        answering.save_saved_reply(workspace, manager, name="Oops", text="Hi {firstname}!")

    [message] = refused.value.message_dict["text"]
    assert "{firstname}" in message
    assert "{first_name}" in message and "{post_url}" in message and "{agent_name}" in message
    assert not SavedReply.objects.exists()


def test_only_managers_and_owners_manage_saved_replies(workspace, creator):
    with pytest.raises(PermissionDenied):
        answering.save_saved_reply(workspace, creator, name="Mine", text="Hello")


# --- Notes --------------------------------------------------------------------------------


def test_a_note_notifies_the_members_it_mentions_who_can_read_the_inbox(
    question, manager, analyst, client_user
):
    conversation, _ = question

    note = answering.add_note(conversation, manager, "@analyst can you check the order? cc @client")

    assert list(note.mentions.all()) == [analyst]
    told = Notification.objects.get(event="inbox.mention")
    assert told.recipient == analyst and "check the order" in told.body
    assert not Notification.objects.filter(recipient=client_user).exists()


# --- Approval -----------------------------------------------------------------------------


@pytest.fixture
def creators_need_approval(workspace, owner):
    answering.set_approval_roles(workspace, owner, ["creator"])


def test_a_reply_that_needs_approval_waits_and_sends_nothing(
    question, creator, manager, creators_need_approval
):
    conversation, _ = question

    reply = answering.reply(conversation, creator, "Yes!!")

    assert reply.delivery_id is None
    assert answering.state_of(reply) == "awaiting approval"
    assert Delivery.engine.count() == 0
    asked = Notification.objects.filter(event="inbox.approval_requested")
    assert set(asked.values_list("recipient__email", flat=True)) == {
        "owner@crumb.test",
        "manager@crumb.test",
    }


def test_an_approver_edits_a_waiting_reply_and_both_texts_are_kept(
    question, creator, manager, creators_need_approval
):
    conversation, _ = question
    reply = answering.reply(conversation, creator, "Yes!!")

    answering.approve(reply, manager, "Yes, every Friday morning.")

    assert send(reply) == DeliveryState.PUBLISHED
    reply.refresh_from_db()
    approval = ReplyApproval.objects.get(message=reply)
    assert approval.state == ApprovalState.APPROVED and approval.edited
    assert approval.original_text == "Yes!!"
    assert reply.text == "Yes, every Friday morning."
    assert "Yes, every Friday morning." in mail.outbox[0].body
    assert reply.delivery.transitions.first().actor == manager


def test_a_rejected_reply_is_never_sent_and_its_author_is_told_why(
    question, creator, manager, creators_need_approval
):
    conversation, _ = question
    reply = answering.reply(conversation, creator, "Yes!!")

    answering.reject(reply, manager, "Say which days, please.")

    assert answering.state_of(reply) == "rejected"
    assert Delivery.engine.count() == 0
    told = Notification.objects.get(event="inbox.reply_rejected")
    assert told.recipient == creator and "Say which days" in told.body
    with pytest.raises(ValidationError):
        answering.approve(reply, manager)
    # A rejected reply does not count as an answer: the next one may go.
    manager_reply = answering.reply(conversation, manager, "Fridays.")
    assert manager_reply.delivery_id is not None


def test_an_automatic_answer_is_labelled_and_not_held_for_approval(
    question, workspace, creator, creators_need_approval
):
    conversation, _ = question
    saved = SavedReply.objects.create(workspace=workspace, name="GF", text="Yes, {first_name}!")

    reply = answering.reply(conversation, creator, "", saved_reply=saved, automatic=True)

    assert reply.automatic and reply.delivery_id is not None
    assert reply.text == "Yes, Ana!"


def test_creators_cannot_approve_and_owners_cannot_be_made_to_wait(
    question, creator, owner, creators_need_approval
):
    conversation, _ = question
    reply = answering.reply(conversation, creator, "Yes!!")
    with pytest.raises(PermissionDenied):
        answering.approve(reply, creator)
    with pytest.raises(ValidationError):
        answering.set_approval_roles(conversation.workspace, owner, ["owner"])


# --- API ----------------------------------------------------------------------------------


def url(workspace, path: str) -> str:
    return f"/api/v1/workspaces/{workspace.slug}/inbox/{path}"


def test_the_api_answers_and_says_409_when_someone_answered_meanwhile(
    question, workspace, manager, creator, token_for
):
    conversation, asked = question
    body = {"text": "Yes, Fridays.", "expected_last_message_id": asked.pk}

    first = call(
        "post",
        url(workspace, f"conversations/{conversation.pk}/replies"),
        token_for(creator),
        json_body=body,
    )
    second = call(
        "post",
        url(workspace, f"conversations/{conversation.pk}/replies"),
        token_for(manager),
        json_body=body,
    )

    assert first.status_code == 201, first.content
    assert first.json()["state"] == "scheduled"
    assert second.status_code == 409
    assert "Creator has answered meanwhile" in second.json()["detail"]


def test_the_api_refuses_an_unknown_variable_with_the_known_ones(workspace, manager, token_for):
    response = call(
        "post",
        url(workspace, "saved-replies"),
        token_for(manager),
        json_body={"name": "Hi", "text": "Hi {nom}"},
    )
    assert response.status_code == 422
    assert "{first_name}" in response.content.decode()


def test_the_api_approves_a_waiting_reply_with_an_edit(
    question, workspace, creator, manager, token_for, creators_need_approval
):
    conversation, _ = question
    reply = answering.reply(conversation, creator, "Yes!!")

    waiting = call("get", url(workspace, "approvals"), token_for(manager))
    approved = call(
        "post",
        url(workspace, f"approvals/{reply.approval.pk}/approve"),
        token_for(manager),
        json_body={"text": "Yes, Fridays."},
    )

    assert [r["id"] for r in waiting.json()] == [reply.pk]
    assert approved.status_code == 200, approved.content
    assert approved.json()["approval"]["original_text"] == "Yes!!"
    assert approved.json()["text"] == "Yes, Fridays."
    assert approved.json()["state"] == "scheduled"


def test_liking_on_the_page_is_refused_clearly(question, workspace, manager, token_for):
    _, asked = question
    response = call("post", url(workspace, f"messages/{asked.pk}/like"), token_for(manager))
    assert response.status_code == 422
    assert "cannot like" in response.content.decode()
