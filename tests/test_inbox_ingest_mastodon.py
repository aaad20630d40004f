"""Mastodon mentions, replies and direct conversations reach the inbox, against recorded
exchanges written from the official API reference (tests/recordings/mastodon/, served over
real HTTP by ``RecordedInstance`` so that the real Mastodon.py client makes the requests).

Crumb is the bakery's account (``@crumb@bakery.example``, id 109382). Léa replies to one of
Crumb's statuses, Sam mentions Crumb, Jo writes privately; Crumb answered Kim privately from
the Mastodon app (a conversation the inbox does not hold).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from test_mastodon_connector import TOKEN, RecordedInstance

from socialdesk.content.services import PostContent, create_post
from socialdesk.inbox.ingest import ingest_channel
from socialdesk.inbox.models import Contact, Conversation, InboxCursor, Message
from socialdesk.networks.mastodon import SCOPES, MastodonConnector, forget_instance_limits
from socialdesk.networks.models import Channel, ChannelStatus, Network
from socialdesk.publishing.models import ChannelSpend, Delivery


@pytest.fixture(scope="module")
def server():
    recorded = RecordedInstance()
    yield recorded
    recorded.stop()


@pytest.fixture
def instance(server) -> RecordedInstance:
    server.reset()
    forget_instance_limits()
    server.play("inbox_notifications", "inbox_conversations")
    yield server
    forget_instance_limits()


@pytest.fixture
def crumb(workspace, instance) -> Channel:
    channel = Channel.objects.create(
        workspace=workspace,
        network=Network.MASTODON,
        handle="@crumb@bakery.example",
        remote_account_id="109382",
    )
    channel.set_credentials(
        {"instance_url": instance.url, "access_token": TOKEN, "account_id": "109382"}
    )
    channel.save(update_fields=["credentials_encrypted"])
    return channel


def test_the_connector_reads_mentions_replies_and_direct_messages_oldest_first(instance):
    connector = MastodonConnector(instance.url, TOKEN, account_id="109382")

    page = connector.fetch_inbox("", datetime.now(UTC) - timedelta(days=14))

    assert [i.sent_at for i in page.items] == sorted(i.sent_at for i in page.items)
    found = {i.remote_id: i for i in page.items}
    assert {(i.kind, i.remote_id) for i in page.items} == {
        ("mention", "113300000000000029"),
        ("comment", "113300000000000030"),
        ("direct", "113300000000000031"),
        ("direct", "113300000000000028"),  # Crumb's own: ingestion makes it outbound
    }
    mention = found["113300000000000029"]
    comment = found["113300000000000030"]
    direct = found["113300000000000031"]
    assert comment.our_post_remote_id == "113300000000000021"
    assert comment.reference["in_reply_to_id"] == "113300000000000021"
    assert comment.thread_key == "113300000000000021 110001"
    assert comment.text == "@crumb Is the stollen vegan? 🎄"
    assert comment.author.handle == "@lea@crumbs.example" and comment.author.followers == 87
    assert mention.text == "Best croissants in town at @crumb & friendly staff!"
    assert direct.reference["visibility"] == "direct"
    assert direct.reference["conversation_id"] == "418450"
    assert direct.thread_key == "conversation 418450"
    assert page.cursor == "n=34977;c=113300000000000031"
    [notifications] = instance.requests_to("GET", "/api/v1/notifications")
    assert notifications.headers["Authorization"] == f"Bearer {TOKEN}"


def test_items_older_than_the_backfill_window_are_left_out(instance):
    connector = MastodonConnector(instance.url, TOKEN, account_id="109382")

    page = connector.fetch_inbox("", datetime.now(UTC) + timedelta(minutes=1))

    assert page.items == []


def test_a_poll_fills_the_inbox_and_the_next_one_adds_nothing(workspace, owner, crumb):
    post = create_post(workspace, owner, PostContent(text="Stollen", channel_ids=[crumb.pk]))
    Delivery.objects.filter(post=post).update(remote_id="113300000000000021")

    first = ingest_channel(crumb)
    second = ingest_channel(crumb)

    assert (first.created, first.conversations_created) == (3, 3)
    assert first.skipped == 1  # Crumb's own message to Kim: in no conversation we hold
    assert second.created == 0
    kinds = {c.kind: c for c in Conversation.objects.filter(channel=crumb)}
    assert set(kinds) == {"comment", "mention", "direct"}
    assert kinds["comment"].delivery == Delivery.objects.get(post=post)
    assert kinds["direct"].messages.get().reference["conversation_id"] == "418450"
    assert Contact.objects.filter(network="mastodon").count() == 3
    cursor = InboxCursor.objects.get(channel=crumb)
    assert cursor.cursor == "n=34977;c=113300000000000031"
    # Each poll spent Mastodon's "requests", the budget publishing spends too.
    assert ChannelSpend.objects.filter(channel=crumb, unit="requests").count() >= 2


def test_a_revoked_token_stops_ingestion_and_marks_the_channel(crumb, instance):
    instance.answer(
        "GET",
        "/api/v1/notifications",
        {"status": 401, "body": {"error": "The access token was revoked"}},
    )

    result = ingest_channel(crumb)

    crumb.refresh_from_db()
    assert crumb.status == ChannelStatus.NEEDS_RECONNECT
    assert "reconnect the channel" in InboxCursor.objects.get(channel=crumb).stopped_reason
    assert result.stopped
    assert not Message.objects.exists()


def test_a_token_without_the_read_scope_says_reconnect_and_keeps_the_channel_publishing(
    crumb, instance
):
    # What Mastodon answers a token that lacks a scope (its OAuth layer's own words).
    instance.answer(
        "GET",
        "/api/v1/notifications",
        {
            "status": 403,
            "headers": {"Content-Type": "application/json; charset=utf-8"},
            "body": {"error": "This action is outside the authorized scopes"},
        },
    )

    result = ingest_channel(crumb)

    crumb.refresh_from_db()
    assert crumb.status == ChannelStatus.CONNECTED
    assert "reconnect the channel" in result.error
    assert "mentions" in InboxCursor.objects.get(channel=crumb).stopped_reason


def test_a_suspended_account_answering_403_everywhere_is_a_revoked_token(crumb, instance):
    refused = {"status": 403, "body": {"error": "Your login is currently disabled"}}
    instance.answer("GET", "/api/v1/notifications", refused)
    instance.answer("GET", "/api/v1/accounts/verify_credentials", refused)

    result = ingest_channel(crumb)

    crumb.refresh_from_db()
    assert crumb.status == ChannelStatus.NEEDS_RECONNECT
    assert result.stopped


def test_socialdesk_asks_for_the_notifications_scope():
    assert "read:notifications" in SCOPES


# --- Direct conversations that gained several messages between two polls ------------------
# tests/recordings/mastodon/inbox_direct_thread.json: Jo asked (…031, read by the last poll),
# Crumb answered (…040), then Jo wrote twice (…041, …042); the conversations API lists only
# …042. Sam starts a conversation (…043) with no thread above it.

READ_UP_TO_JO = "n=34977;c=113300000000000031"
JO_THREAD = "/api/v1/statuses/113300000000000042/context"


def test_every_message_of_a_changed_conversation_newer_than_the_mark_is_read(instance):
    instance.play("inbox_direct_thread")
    connector = MastodonConnector(instance.url, TOKEN, account_id="109382")

    page = connector.fetch_inbox(READ_UP_TO_JO, datetime.now(UTC) - timedelta(days=14))

    found = {i.remote_id: i for i in page.items}
    # Not …031 (read before) and not …040 (ours).
    assert set(found) == {"113300000000000041", "113300000000000042", "113300000000000043"}
    assert {found[i].thread_key for i in ("113300000000000041", "113300000000000042")} == {
        "conversation 418450"
    }
    assert found["113300000000000041"].text == "@crumb Great, I will come at 5."
    assert found["113300000000000041"].parent_remote_id == "113300000000000040"
    assert found["113300000000000043"].thread_key == "conversation 418451"
    assert page.cursor == "n=34977;c=113300000000000043"
    # One thread read (Sam's conversation has none above its only status), paid for.
    assert len(instance.requests_to("GET", JO_THREAD)) == 1
    assert instance.requests_to("GET", "/api/v1/statuses/113300000000000043/context") == []
    assert page.spent == {"requests": 3}


def test_the_first_poll_reads_the_whole_thread_but_not_our_own(instance):
    instance.play("inbox_direct_thread")
    connector = MastodonConnector(instance.url, TOKEN, account_id="109382")

    page = connector.fetch_inbox("", datetime.now(UTC) - timedelta(days=14))

    direct = {i.remote_id for i in page.items if i.kind == "direct"}
    assert direct == {
        "113300000000000031",
        "113300000000000041",
        "113300000000000042",
        "113300000000000043",
    }


def test_a_thread_gone_meanwhile_still_gives_the_latest_message(instance):
    instance.play("inbox_direct_thread")
    instance.answer("GET", JO_THREAD, {"status": 404, "body": {"error": "Record not found"}})
    connector = MastodonConnector(instance.url, TOKEN, account_id="109382")

    page = connector.fetch_inbox(READ_UP_TO_JO, datetime.now(UTC) - timedelta(days=14))

    assert {i.remote_id for i in page.items} == {"113300000000000042", "113300000000000043"}
    assert page.spent == {"requests": 3}


def test_messages_written_between_two_polls_all_land_in_their_conversation(crumb, instance):
    first = ingest_channel(crumb)
    assert first.created == 3
    spent_before = sum(ChannelSpend.objects.filter(channel=crumb).values_list("points", flat=True))
    instance.play("inbox_direct_thread")

    second = ingest_channel(crumb)

    assert second.created == 3  # Jo's two, Sam's one
    jo = Conversation.objects.get(channel=crumb, thread_key="conversation 418450")
    assert list(jo.messages.values_list("remote_id", "direction")) == [
        ("113300000000000031", "in"),
        ("113300000000000041", "in"),
        ("113300000000000042", "in"),
    ]
    assert jo.status == "new"
    spent = sum(ChannelSpend.objects.filter(channel=crumb).values_list("points", flat=True))
    assert spent - spent_before == 3  # notifications, conversations, Jo's thread
