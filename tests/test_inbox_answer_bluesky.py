"""Answering on Bluesky through the engine, against the real local network (tests/peers.py).

Alice is the bakery's account (the channel); Bob replies to her post. We answer, like, hide,
unhide and delete through ``inbox.answering`` and the publishing engine, then read what the
PDS stored: the answer's reply ref, the like record, the threadgate's hidden replies.
"""

from __future__ import annotations

import pytest
from atproto import AtUri, Client, models
from django.utils import timezone
from inbox_answer_helpers import bluesky_channel, conversation_with

from socialdesk.inbox import answering
from socialdesk.inbox.models import ConversationKind, ConversationStatus, Message
from socialdesk.networks.bluesky import BlueskyConnector
from socialdesk.publishing.dispatch import run
from socialdesk.publishing.models import Delivery, DeliveryState


@pytest.fixture(scope="module")
def alice(bluesky_server):
    return bluesky_server.create_account("alice")


@pytest.fixture(scope="module")
def bob(bluesky_server):
    return bluesky_server.create_account("bob")


@pytest.fixture(scope="module")
def alice_client(bluesky_server, alice) -> Client:
    return bluesky_server.client(alice)


@pytest.fixture(scope="module")
def bob_client(bluesky_server, bob) -> Client:
    return bluesky_server.client(bob)


def strong(ref) -> models.ComAtprotoRepoStrongRef.Main:
    return models.ComAtprotoRepoStrongRef.Main(uri=ref.uri, cid=ref.cid)


@pytest.fixture
def thread(workspace, bluesky_server, alice, bob, alice_client, bob_client):
    """Alice posts; Bob replies; the inbox holds Bob's reply as a conversation."""
    root = alice_client.send_post("Fresh sourdough at 7 🍞", profile_identify=alice.did)
    answer_me = bob_client.send_post(
        "Is it still warm at 8?",
        reply_to=models.AppBskyFeedPost.ReplyRef(root=strong(root), parent=strong(root)),
        profile_identify=bob.did,
    )
    channel = bluesky_channel(workspace, alice.handle, alice.app_password, bluesky_server.pds_url)
    conversation, message = conversation_with(
        workspace,
        channel,
        remote_id=answer_me.uri,
        reference={
            "uri": answer_me.uri,
            "cid": answer_me.cid,
            "root": {"uri": root.uri, "cid": root.cid},
        },
        text="Is it still warm at 8?",
        contact_id=bob.did,
        handle=bob.handle,
        name="Bob",
        kind=ConversationKind.COMMENT,
    )
    return {"root": root, "bobs": answer_me, "conversation": conversation, "message": message}


def record(client: Client, uri: str):
    at = AtUri.from_str(uri)
    return client.com.atproto.repo.get_record(
        models.ComAtprotoRepoGetRecord.Params(repo=at.host, collection=at.collection, rkey=at.rkey)
    )


def replies_of(client: Client, did: str, text: str) -> list:
    records = client.com.atproto.repo.list_records(
        models.ComAtprotoRepoListRecords.Params(
            repo=did, collection="app.bsky.feed.post", limit=100
        )
    ).records
    return [r for r in records if r.value.text == text]


def send(delivery_id: int) -> str:
    return run(delivery_id, "test-worker")


def settle(delivery_id: int) -> str:
    """Run the delivery's task as the queue would, its retries brought forward, until it
    ends (a lost answer is a transient failure: the retry finds the record at its key)."""
    for _ in range(5):
        state = send(delivery_id)
        if state not in (DeliveryState.WAITING_RETRY, DeliveryState.UNKNOWN):
            return state
        Delivery.engine.filter(pk=delivery_id).update(retry_at=timezone.now())
    return state


def test_an_answer_is_a_reply_record_with_the_right_root_and_parent(
    thread, manager, alice, alice_client
):
    conversation, bobs = thread["conversation"], thread["message"]

    reply = answering.reply(
        conversation, manager, "Until 9, Bob!", expected_last_message_id=bobs.pk
    )
    assert send(reply.delivery_id) == DeliveryState.PUBLISHED

    reply.refresh_from_db()
    stored = record(alice_client, reply.remote_id)
    assert AtUri.from_str(reply.remote_id).host == alice.did
    assert stored.value.text == "Until 9, Bob!"
    assert stored.value.reply.root.uri == thread["root"].uri
    assert stored.value.reply.root.cid == thread["root"].cid
    assert stored.value.reply.parent.uri == thread["bobs"].uri
    assert stored.value.reply.parent.cid == thread["bobs"].cid
    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.PENDING


def test_a_crash_after_the_write_is_reconciled_and_never_answers_twice(
    thread, manager, alice, alice_client, monkeypatch
):
    conversation = thread["conversation"]
    real = BlueskyConnector._create_or_find
    calls = []

    def write_then_die(self, client, rkey, rec):
        calls.append(rkey)
        real(self, client, rkey, rec)
        raise RuntimeError("worker killed right after the PDS wrote the reply")

    monkeypatch.setattr(BlueskyConnector, "_create_or_find", write_then_die)
    reply = answering.reply(conversation, manager, "Warm until 9, promise.")
    assert send(reply.delivery_id) == DeliveryState.UNKNOWN
    monkeypatch.undo()

    assert send(reply.delivery_id) == DeliveryState.PUBLISHED  # reconciled: found, not resent
    assert len(calls) == 1
    [only] = replies_of(alice_client, alice.did, "Warm until 9, promise.")
    reply.refresh_from_db()
    assert reply.remote_id == only.uri
    assert reply.delivery.transitions.filter(reason__startswith="reconciled").exists()


def test_a_like_is_a_like_record_of_bobs_reply_made_once(thread, manager, alice, alice_client):
    bobs = thread["message"]

    like = answering.like(bobs, manager)
    assert send(like.pk) == DeliveryState.PUBLISHED
    again = Delivery.engine.get(pk=like.pk)
    Delivery.engine.filter(pk=like.pk).update(state="unknown", retry_at=None)
    assert send(again.pk) == DeliveryState.PUBLISHED  # asked again: found, not liked twice

    like.refresh_from_db()
    stored = record(alice_client, like.remote_id)
    assert stored.value.subject.uri == thread["bobs"].uri
    likes = alice_client.com.atproto.repo.list_records(
        models.ComAtprotoRepoListRecords.Params(repo=alice.did, collection="app.bsky.feed.like")
    ).records
    assert [r.value.subject.uri for r in likes].count(thread["bobs"].uri) == 1
    bobs.refresh_from_db()
    assert bobs.liked


def test_hide_and_unhide_edit_the_threadgate_of_our_post(thread, manager, alice_client):
    bobs = thread["message"]
    root = thread["root"]

    assert send(answering.hide(bobs, manager).pk) == DeliveryState.PUBLISHED
    gate = record(alice_client, root.uri.replace("app.bsky.feed.post", "app.bsky.feed.threadgate"))
    assert gate.value.hidden_replies == [thread["bobs"].uri]
    assert gate.value.post == root.uri
    bobs.refresh_from_db()
    assert bobs.hidden

    # Hiding what is hidden writes nothing.
    assert send(answering.hide(bobs, manager).pk) == DeliveryState.PUBLISHED
    same = record(alice_client, gate.uri)
    assert same.cid == gate.cid

    assert send(answering.unhide(bobs, manager).pk) == DeliveryState.PUBLISHED
    shown = record(alice_client, gate.uri)
    assert not shown.value.hidden_replies
    bobs.refresh_from_db()
    assert not bobs.hidden


def test_a_reply_under_someone_elses_post_cannot_be_hidden(
    workspace, thread, manager, bob_client, bob
):
    conversation = thread["conversation"]
    bobs_own = bob_client.send_post("My own thread", profile_identify=bob.did)
    elsewhere = Message.objects.create(
        workspace=workspace,
        conversation=conversation,
        channel=conversation.channel,
        direction="in",
        remote_id=f"{bobs_own.uri}-reply",
        reference={
            "uri": bobs_own.uri,
            "cid": bobs_own.cid,
            "root": {"uri": bobs_own.uri, "cid": bobs_own.cid},
        },
        author_contact=conversation.contact,
        text="My own thread",
    )

    hide = answering.hide(elsewhere, manager)

    assert send(hide.pk) == DeliveryState.FAILED
    hide.refresh_from_db()
    assert "only a thread's author" in hide.last_error


def test_our_reply_can_be_deleted_from_the_network(thread, manager, alice_client):
    conversation = thread["conversation"]
    reply = answering.reply(conversation, manager, "Oops, wrong thread.")
    assert send(reply.delivery_id) == DeliveryState.PUBLISHED
    reply.refresh_from_db()
    uri = reply.remote_id

    delete = answering.delete(reply, manager)
    assert send(delete.pk) == DeliveryState.PUBLISHED

    with pytest.raises(Exception, match="RecordNotFound|Could not locate record"):
        record(alice_client, uri)
    assert not Message.objects.filter(pk=reply.pk).exists()


@pytest.fixture
def lossy(monkeypatch, thread):
    """The worker's calls go through a proxy that can lose answers (tests/fault_proxy.py)."""
    from fault_proxy import FaultProxy

    from socialdesk.publishing.connectors import connector_for

    faults = FaultProxy().start()
    for name in ("HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(name, faults.url)
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    connector_for(thread["conversation"].channel).check_connection()  # logs in first
    assert faults.seen("forwarded"), "the worker's calls do not go through the proxy"
    yield faults
    faults.stop()


def test_an_answer_lost_after_the_write_never_replies_or_likes_twice(
    thread, manager, alice, alice_client, lossy
):
    conversation, bobs = thread["conversation"], thread["message"]
    lossy.drop_answers("com.atproto.repo.createRecord", times=2)

    reply = answering.reply(conversation, manager, "Lost on the way back, still once.")
    like = answering.like(bobs, manager)
    assert settle(reply.delivery_id) == DeliveryState.PUBLISHED
    assert settle(like.pk) == DeliveryState.PUBLISHED

    assert (
        len(lossy.seen("drop", "createRecord")) == 2
    )  # both writes happened and both answers were lost
    assert len(replies_of(alice_client, alice.did, "Lost on the way back, still once.")) == 1
    likes = alice_client.com.atproto.repo.list_records(
        models.ComAtprotoRepoListRecords.Params(repo=alice.did, collection="app.bsky.feed.like")
    ).records
    assert [r.value.subject.uri for r in likes].count(thread["bobs"].uri) == 1
