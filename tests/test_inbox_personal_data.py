"""A contact's personal data: export as JSON, erasure that keeps the threads' shape, and the
workspace's retention period for resolved conversations."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from api_helpers import call
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from inbox_answer_helpers import page_question
from inbox_service_helpers import answer, inbound

from socialdesk.inbox import answering, retention, service_levels, status
from socialdesk.inbox.models import (
    Contact,
    Conversation,
    FaqProposal,
    Message,
    Note,
    Rule,
    RuleHit,
    SavedReply,
)
from socialdesk.publishing.dispatch import run
from socialdesk.publishing.models import Delivery, DeliveryKind, DeliveryState
from socialdesk.workflow.models import AuditEvent

NOW = datetime(2026, 12, 7, 10, tzinfo=UTC)


@pytest.fixture
def lea(workspace, channel, manager):
    """Léa Martin asked twice; we answered; a note names her."""
    first = inbound(channel, "Do you deliver to rue Oberkampf? I'm Léa", NOW, who="lea.martin")
    contact = first.author_contact
    contact.display_name = "Léa Martin"
    contact.avatar_url = "https://cdn.example/lea.png"
    contact.followers = 120
    contact.notes = "Regular, likes rye"
    contact.save()
    answer(first.conversation, "Yes we do, Léa!", NOW + timedelta(minutes=5), by=manager)
    Note.objects.create(
        workspace=workspace,
        conversation=first.conversation,
        author=manager,
        text="Léa Martin is @lea.martin, VIP",
    )
    reply = SavedReply.objects.create(workspace=workspace, name="Delivery", text="We deliver")
    FaqProposal.objects.create(
        workspace=workspace,
        conversation=first.conversation,
        message=first,
        saved_reply=reply,
        score=0.8,
    )
    rule = Rule.objects.create(workspace=workspace, name="All")
    RuleHit.objects.create(rule=rule, message=first, done=["tagged x"])
    inbound(
        channel, "Gluten in the rye?", NOW + timedelta(days=1), who="lea.martin", kind="question"
    )
    return contact


def test_the_export_holds_the_contact_and_every_conversation(workspace, owner, lea):
    document = json.loads(retention.export_contact(workspace, lea, by=owner))
    assert document["contact"]["display_name"] == "Léa Martin"
    assert document["contact"]["notes"] == "Regular, likes rye"
    assert len(document["conversations"]) == 2
    texts = [m["text"] for c in document["conversations"] for m in c["messages"]]
    assert "Do you deliver to rue Oberkampf? I'm Léa" in texts and "Yes we do, Léa!" in texts
    assert AuditEvent.objects.filter(action="contact.exported").exists()


def test_erasure_keeps_the_threads_and_removes_the_person(workspace, owner, manager, lea):
    retention.erase_contact(workspace, lea, by=owner)
    lea.refresh_from_db()
    assert lea.erased and lea.display_name == f"erased contact #{lea.pk}"
    assert (lea.handle, lea.avatar_url, lea.followers, lea.notes) == ("", "", None, "")
    assert lea.remote_id == f"erased:{lea.pk}"
    # The threads are still there, with our answer as written; what she wrote is gone.
    assert Conversation.objects.filter(contact=lea).count() == 2
    inbound_texts = set(
        Message.objects.filter(conversation__contact=lea, direction="in").values_list(
            "text", "remote_id"
        )
    )
    assert inbound_texts == {("(erased)", "")}
    assert Message.objects.get(direction="out").text == "Yes we do, Léa!"
    note = Note.objects.get()
    assert "Léa Martin" not in note.text and "lea.martin" not in note.text
    assert f"erased contact #{lea.pk}" in note.text
    assert not FaqProposal.objects.exists() and not RuleHit.objects.exists()
    event = AuditEvent.objects.get(action="contact.erased")
    assert event.actor == owner and event.target_repr == f"erased contact #{lea.pk}"


def test_erasing_twice_changes_nothing_more(workspace, owner, lea):
    retention.erase_contact(workspace, lea, by=owner)
    retention.erase_contact(workspace, lea, by=owner)
    assert AuditEvent.objects.filter(action="contact.erased").count() == 1


def test_the_export_audit_row_loses_her_name_at_erasure(workspace, owner, lea):
    retention.export_contact(workspace, lea, by=owner)
    retention.erase_contact(workspace, lea, by=owner)
    exported = AuditEvent.objects.get(action="contact.exported")
    assert "Léa" not in exported.target_repr


def test_a_half_done_erasure_writes_nothing(workspace, owner, lea, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(retention.audit, "record", broken)
    with pytest.raises(RuntimeError):
        retention.erase_contact(workspace, lea, by=owner)
    lea.refresh_from_db()
    assert not lea.erased and lea.display_name == "Léa Martin"
    assert Message.objects.filter(text="(erased)").count() == 0


def test_only_owners_erase_and_managers_export(workspace, manager, creator, lea):
    with pytest.raises(PermissionDenied):
        retention.erase_contact(workspace, lea, by=manager)
    with pytest.raises(PermissionDenied):
        retention.export_contact(workspace, lea, by=creator)
    assert retention.export_contact(workspace, lea, by=manager)


def test_export_and_erase_through_the_api(workspace, owner, manager, outsider, token_for, lea):
    base = f"/workspaces/{workspace.slug}/inbox/contacts/{lea.pk}"
    exported = call("get", base + "/personal-data", token_for(manager))
    assert exported.status_code == 200
    assert exported["Content-Type"] == "application/json"
    assert json.loads(exported.content)["contact"]["handle"] == "lea.martin"
    assert call("post", base + "/erase", token_for(manager)).status_code == 403
    assert call("post", base + "/erase", token_for(outsider)).status_code == 404
    erased = call("post", base + "/erase", token_for(owner))
    assert erased.status_code == 200 and erased.json()["erased"] is True
    missing = f"/workspaces/{workspace.slug}/inbox/contacts/999999/erase"
    assert call("post", missing, token_for(owner)).status_code == 404


# --- Retention --------------------------------------------------------------------------------


def test_resolved_conversations_older_than_the_retention_period_are_deleted(
    workspace, channel, other_workspace, other_channel
):
    service_levels.save_level(workspace, retention_days=30)
    old = inbound(channel, "old", NOW - timedelta(days=60), who="old").conversation
    status.resolve(old, NOW - timedelta(days=40))
    recent = inbound(channel, "recent", NOW - timedelta(days=20), who="recent").conversation
    status.resolve(recent, NOW - timedelta(days=10))
    still_open = inbound(channel, "open", NOW - timedelta(days=90), who="open").conversation
    # Another workspace keeps everything (no retention set).
    theirs = inbound(other_channel, "theirs", NOW - timedelta(days=400), who="x").conversation
    status.resolve(theirs, NOW - timedelta(days=300))
    assert retention.apply_retention(NOW) == 1
    remaining = set(Conversation.objects.values_list("pk", flat=True))
    assert remaining == {recent.pk, still_open.pk, theirs.pk}
    # Her only conversation gone, the contact goes too; others stay.
    assert not Contact.objects.filter(remote_id="id-old").exists()
    assert Contact.objects.filter(remote_id="id-recent").exists()
    assert retention.apply_retention(NOW) == 0


def test_retention_runs_on_the_worker_beat(workspace, channel, monkeypatch):
    monkeypatch.setattr(service_levels, "_last_run", {})
    service_levels.save_level(workspace, retention_days=1)
    gone = inbound(channel, "bye", datetime.now(UTC) - timedelta(days=5)).conversation
    status.resolve(gone, datetime.now(UTC) - timedelta(days=3))
    service_levels.on_heartbeat()
    assert not Conversation.objects.filter(pk=gone.pk).exists()


# --- The inbox's writes (replies, likes …: deliveries of the publishing engine) ---------------


@pytest.fixture
def ana_answered(workspace, channel, manager):
    """Ana asked on the public page; the manager's answer went out (emailed to her) and a
    like of her question was recorded; a second answer is still on its way."""
    conversation, asked = page_question(workspace, channel)
    sent = answering.reply(conversation, manager, "Yes, {first_name}, every Friday.")
    sent.refresh_from_db()
    assert run(sent.delivery_id, "test-worker") == DeliveryState.PUBLISHED
    like = Delivery.engine.create(
        workspace=workspace,
        channel=channel,
        kind=DeliveryKind.LIKE,
        target={"message_id": asked.pk, "email": "ana@example.org", "name": "Ana Lima"},
        state=DeliveryState.PUBLISHED,
    )
    return conversation, asked, sent, like


def _reply_delivery(message: Message) -> Delivery:
    message.refresh_from_db()
    return Delivery.engine.get(pk=message.delivery_id)


def test_erasure_scrubs_the_writes_about_her_and_keeps_their_rows(
    workspace, owner, manager, ana_answered
):
    conversation, asked, sent, like = ana_answered
    before = _reply_delivery(sent)
    assert before.target["email"] == "ana@example.org" and "Ana" in before.text_override

    retention.erase_contact(workspace, conversation.contact, by=owner)

    after = _reply_delivery(sent)
    assert after.target == {"message_id": sent.pk, "answered_message_id": asked.pk}
    assert after.text_override == ""
    # The row, its remote identity and its history stay: who sent what, and when.
    assert (after.state, after.remote_id, after.idempotency_key) == (
        DeliveryState.PUBLISHED,
        before.remote_id,
        before.idempotency_key,
    )
    assert after.transitions.filter(actor=manager).exists()
    like.refresh_from_db()
    assert like.target == {"message_id": asked.pk}
    # Our answer is still in the thread, as the erasure keeps it.
    sent.refresh_from_db()
    assert sent.text == "Yes, Ana, every Friday."


def test_erasure_leaves_a_reply_on_its_way_and_scrubs_it_when_it_ends(
    workspace, owner, manager, ana_answered
):
    conversation, asked, _, _ = ana_answered
    on_its_way = answering.reply(conversation, manager, "And Saturdays, Ana.")
    queued = _reply_delivery(on_its_way)

    retention.erase_contact(workspace, conversation.contact, by=owner)

    untouched = _reply_delivery(on_its_way)
    assert untouched.target == queued.target and untouched.text_override == queued.text_override
    assert run(queued.pk, "test-worker") == DeliveryState.PUBLISHED
    assert mail.outbox[-1].to == ["ana@example.org"]  # sent exactly as it was asked
    ended = _reply_delivery(on_its_way)
    assert ended.target == {"message_id": on_its_way.pk, "answered_message_id": asked.pk}
    assert ended.text_override == ""


def test_retention_deletes_the_writes_of_the_conversations_it_deletes(workspace, ana_answered):
    conversation, _, sent, like = ana_answered
    reply_delivery = _reply_delivery(sent)
    service_levels.save_level(workspace, retention_days=30)
    status.resolve(conversation, timezone.now() - timedelta(days=40))

    assert retention.apply_retention() == 1

    assert not Conversation.objects.filter(pk=conversation.pk).exists()
    assert not Delivery.engine.filter(pk__in=[reply_delivery.pk, like.pk]).exists()


def test_retention_waits_for_a_reply_on_its_way(workspace, manager, ana_answered):
    conversation, _, _, _ = ana_answered
    on_its_way = answering.reply(conversation, manager, "And Saturdays, Ana.")
    queued = _reply_delivery(on_its_way)
    service_levels.save_level(workspace, retention_days=30)
    conversation.refresh_from_db()
    status.resolve(conversation, timezone.now() - timedelta(days=40))

    assert retention.apply_retention() == 0

    assert Conversation.objects.filter(pk=conversation.pk).exists()
    assert _reply_delivery(on_its_way).target == queued.target
    assert run(queued.pk, "test-worker") == DeliveryState.PUBLISHED
    assert retention.apply_retention() == 1
    assert not Delivery.engine.filter(workspace=workspace).exclude(kind="post").exists()
