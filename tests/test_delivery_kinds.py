"""Deliveries of the inbox's kinds (issue 13, item 3): the engine carries them, the plan never
sees them, and the database refuses a half-made one."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from socialdesk.networks.page import published_answers
from socialdesk.publishing.connectors import content_for
from socialdesk.publishing.dispatch import run
from socialdesk.publishing.models import Delivery, DeliveryKind, DeliveryState
from socialdesk.publishing.services import send_inbox_action
from socialdesk.publishing.states import delivery_finished

TARGET = {
    "question_id": "question-1",
    "email": "ana@example.org",
    "name": "Ana",
    "publish_allowed": True,
    "text": "Gluten-free?",
}


def test_an_inbox_reply_is_seen_by_the_engine_and_never_by_the_plan(workspace, channel, post):
    reply = send_inbox_action(channel, DeliveryKind.REPLY, TARGET, text="Yes, on Fridays.")

    assert reply.kind == "reply" and reply.post_id is None
    assert reply.state == DeliveryState.SCHEDULED
    assert list(Delivery.objects.values_list("kind", flat=True)) == ["post"]
    assert set(Delivery.engine.values_list("kind", flat=True)) == {"post", "reply"}
    assert list(channel.deliveries.values_list("pk", flat=True)) == [post.deliveries.get().pk]
    # A foreign key reaches it all the same (the base manager is the engine's).
    assert reply.transitions.get().delivery == reply


def test_the_database_refuses_a_post_delivery_without_post_and_a_reply_with_one(
    workspace, channel, post
):
    with pytest.raises(IntegrityError), transaction.atomic():
        Delivery.engine.create(workspace=workspace, channel=channel, kind="post")
    with pytest.raises(IntegrityError), transaction.atomic():
        Delivery.engine.create(workspace=workspace, channel=channel, kind="like", post=post)
    assert Delivery.engine.count() == 1


def test_content_for_a_reply_carries_its_text_action_and_target(workspace, channel):
    reply = send_inbox_action(channel, DeliveryKind.REPLY, TARGET, text="Yes, on Fridays.")

    content = content_for(reply)

    assert content.text == "Yes, on Fridays."
    assert content.action == "reply"
    assert content.reply_to == TARGET
    assert content.thread == () and content.media == ()


def test_what_the_network_refuses_is_refused_before_anything_is_written(workspace, channel):
    with pytest.raises(ValidationError) as refused:
        send_inbox_action(channel, DeliveryKind.LIKE, TARGET)
    assert "cannot like" in str(refused.value)
    with pytest.raises(ValidationError) as nowhere:
        send_inbox_action(channel, "reply", {"question_id": "q"}, text="Hello")
    assert "reach nobody" in str(nowhere.value)
    with pytest.raises(ValidationError):
        send_inbox_action(channel, "post", TARGET, text="Hello")
    channel.status = "paused"
    with pytest.raises(ValidationError) as paused:
        send_inbox_action(channel, "reply", TARGET, text="Hello")
    assert "is paused" in str(paused.value)
    assert Delivery.engine.count() == 0


def test_the_engine_sends_a_page_answer_once_and_tells_whoever_listens(workspace, channel):
    heard = []

    def listen(sender, delivery, from_state, to_state, **kwargs):
        heard.append((delivery.pk, from_state, to_state))

    delivery_finished.connect(listen)
    try:
        reply = send_inbox_action(channel, DeliveryKind.REPLY, TARGET, text="Yes, on Fridays.")
        assert run(reply.pk, "test-worker") == DeliveryState.PUBLISHED
        assert run(reply.pk, "test-worker") == DeliveryState.PUBLISHED  # a task queued twice
    finally:
        delivery_finished.disconnect(listen)

    reply.refresh_from_db()
    assert reply.remote_id == f"answer-{reply.pk}"
    assert reply.remote_url.endswith(f"/@crumb#answer-{reply.pk}")
    [email] = mail.outbox
    assert email.to == ["ana@example.org"]
    assert "Yes, on Fridays." in email.body and "> Gluten-free?" in email.body
    assert heard == [(reply.pk, "publishing", "published")]
    assert published_answers(workspace.pk) == {
        "question-1": ("Yes, on Fridays.", reply.published_at)
    }


def test_an_answer_the_asker_kept_private_is_emailed_and_not_shown(workspace, channel):
    private = {**TARGET, "publish_allowed": False}
    reply = send_inbox_action(channel, DeliveryKind.REPLY, private, text="Yes, on Fridays.")

    run(reply.pk, "test-worker")

    reply.refresh_from_db()
    assert reply.state == DeliveryState.PUBLISHED and reply.remote_url == ""
    assert len(mail.outbox) == 1
    assert "also on our page" not in mail.outbox[0].body
    assert published_answers(workspace.pk) == {}


def test_a_mail_server_that_refuses_the_answer_gets_it_again_later(workspace, channel, monkeypatch):
    import smtplib

    from socialdesk.networks import page

    reply = send_inbox_action(channel, DeliveryKind.REPLY, TARGET, text="Yes, on Fridays.")
    real_send = page.send_mail

    def refuse(*args, **kwargs):
        raise smtplib.SMTPRecipientsRefused({"ana@example.org": (450, b"mailbox busy")})

    monkeypatch.setattr(page, "send_mail", refuse)
    assert run(reply.pk, "test-worker") == DeliveryState.WAITING_RETRY
    reply.refresh_from_db()
    assert reply.remote_id == ""  # the mark was taken back: nothing went
    monkeypatch.setattr(page, "send_mail", real_send)
    Delivery.engine.filter(pk=reply.pk).update(retry_at=reply.updated_at)

    assert run(reply.pk, "test-worker") == DeliveryState.PUBLISHED
    assert len(mail.outbox) == 1


def test_a_mail_server_that_breaks_mid_send_fails_the_answer_rather_than_risk_twice(
    workspace, channel, monkeypatch
):
    import smtplib

    from socialdesk.networks import page

    reply = send_inbox_action(channel, DeliveryKind.REPLY, TARGET, text="Yes, on Fridays.")

    def break_mid_send(*args, **kwargs):
        raise smtplib.SMTPServerDisconnected("connection closed after DATA")

    monkeypatch.setattr(page, "send_mail", break_mid_send)

    assert run(reply.pk, "test-worker") == DeliveryState.FAILED
    reply.refresh_from_db()
    assert "may or may not have received it" in reply.last_error


def test_a_worker_that_dies_after_marking_the_answer_never_sends_it_again(
    workspace, channel, monkeypatch
):
    from socialdesk.networks import page

    reply = send_inbox_action(channel, DeliveryKind.REPLY, TARGET, text="Yes, on Fridays.")

    class Died(BaseException):
        """The process stops: nothing after this line of the connector runs."""

    def die(*args, **kwargs):
        raise Died

    monkeypatch.setattr(page, "send_mail", die)
    with pytest.raises(Died):
        run(reply.pk, "test-worker")
    monkeypatch.undo()
    Delivery.engine.filter(pk=reply.pk).update(state="unknown", retry_at=None)

    assert run(reply.pk, "test-worker") == DeliveryState.PUBLISHED
    assert mail.outbox == []  # at most once: the mark says it went


def test_the_deliveries_api_lists_and_reads_only_the_plans_posts(
    workspace, channel, post, owner, token_for
):
    from api_helpers import call

    reply = send_inbox_action(channel, DeliveryKind.REPLY, TARGET, text="Yes, on Fridays.")
    token = token_for(owner)

    listed = call("get", f"/api/v1/workspaces/{workspace.slug}/deliveries", token)
    read = call("get", f"/api/v1/workspaces/{workspace.slug}/deliveries/{reply.pk}", token)

    assert listed.status_code == 200
    body = listed.json()
    rows = body["items"] if isinstance(body, dict) else body
    assert [row["id"] for row in rows] == [post.deliveries.get().pk]
    assert read.status_code == 404


def test_hiding_a_question_on_the_page_takes_its_answer_off_and_unhiding_brings_it_back(
    workspace, channel
):
    reply = send_inbox_action(channel, DeliveryKind.REPLY, TARGET, text="Yes, on Fridays.")
    run(reply.pk, "test-worker")
    question = {"question_id": "question-1"}

    hide = send_inbox_action(channel, DeliveryKind.HIDE, question)
    assert run(hide.pk, "test-worker") == DeliveryState.PUBLISHED
    assert published_answers(workspace.pk) == {}

    unhide = send_inbox_action(channel, DeliveryKind.UNHIDE, question)
    assert run(unhide.pk, "test-worker") == DeliveryState.PUBLISHED
    assert list(published_answers(workspace.pk)) == ["question-1"]
