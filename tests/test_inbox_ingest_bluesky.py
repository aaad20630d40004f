"""Bluesky replies, mentions and quotes reach the inbox, against the real local network
(PDS and AppView from ``@atproto/dev-env``; see tests/peers.py).

Alice is the bakery's account, connected as a channel with an app password; she has published
a post. Bob, another account on the network, replies to it, mentions her and quotes it.
"""

from __future__ import annotations

import time

import pytest
from atproto import client_utils, models

from socialdesk.content.services import PostContent, create_post
from socialdesk.inbox.ingest import ingest_channel
from socialdesk.inbox.models import Contact, Conversation, InboxCursor, Message
from socialdesk.networks.base import DeliveryContent
from socialdesk.networks.bluesky import BlueskyConnector
from socialdesk.networks.models import Channel, ChannelStatus, Network
from socialdesk.publishing.models import Delivery


@pytest.fixture(scope="module")
def alice(bluesky_server):
    return bluesky_server.create_account("alice")


@pytest.fixture(scope="module")
def bob(bluesky_server):
    return bluesky_server.create_account("bob")


def channel_for(workspace, bluesky_server, account, app_password=None) -> Channel:
    channel = Channel.objects.create(
        workspace=workspace,
        network=Network.BLUESKY,
        handle=account.handle,
        remote_account_id=account.did,
    )
    channel.set_credentials(
        {
            "handle": account.handle,
            "app_password": app_password or account.app_password,
            "pds_url": bluesky_server.pds_url,
        }
    )
    channel.save(update_fields=["credentials_encrypted"])
    return channel


def poll_until(channel: Channel, count: int, timeout: float = 60.0) -> None:
    """Poll as the worker does until ``count`` messages are stored (the AppView indexes
    within a second or so here; longer on a busy machine)."""
    deadline = time.monotonic() + timeout
    while Message.objects.filter(channel=channel).count() < count:
        assert time.monotonic() < deadline, (
            f"only {Message.objects.filter(channel=channel).count()} of {count} arrived: "
            f"{list(Conversation.objects.filter(channel=channel).values_list('kind', flat=True))}"
            f", cursor {InboxCursor.objects.get(channel=channel).cursor}"
        )
        result = ingest_channel(channel)
        assert not result.error and not result.stopped, result
        time.sleep(0.3)


@pytest.mark.django_db(transaction=True)
def test_a_reply_a_mention_and_a_quote_by_another_account_appear_in_the_inbox(
    workspace, owner, bluesky_server, alice, bob
):
    channel = channel_for(workspace, bluesky_server, alice)
    ours = BlueskyConnector(alice.handle, alice.app_password, pds_url=bluesky_server.pds_url)
    published = ours.publish(DeliveryContent("Stollen is back 🎄"), "ingest-test-post")
    post = create_post(workspace, owner, PostContent(text="Stollen is back 🎄", channel_ids=[]))
    delivery = Delivery.objects.create(
        workspace=workspace, post=post, channel=channel, remote_id=published.remote_id
    )
    bob_client = bluesky_server.client(bob)
    root = bob_client.get_post(published.remote_id.rsplit("/", 1)[1], alice.did)
    ref = models.create_strong_ref(root)
    reply = bob_client.send_post(
        "Do you ship to Lyon?",
        profile_identify=bob.did,
        reply_to=models.AppBskyFeedPost.ReplyRef(root=ref, parent=ref),
    )
    words = client_utils.TextBuilder().text("Best bread in town: ")
    mention = bob_client.send_post(
        words.mention(f"@{alice.handle}", alice.did), profile_identify=bob.did
    )
    quote = bob_client.send_post(
        "Look at this!", bob.did, embed=models.AppBskyEmbedRecord.Main(record=ref)
    )

    poll_until(channel, 3)

    by_kind = {c.kind: c for c in Conversation.objects.filter(channel=channel)}
    assert set(by_kind) == {"comment", "mention", "quote"}
    comment = by_kind["comment"].messages.get()
    assert comment.remote_id == reply.uri
    assert comment.text == "Do you ship to Lyon?"
    assert comment.reference["root_uri"] == published.remote_id
    assert comment.reference["parent_cid"] == ref.cid
    assert comment.reference["parent_text"] == "Stollen is back 🎄"  # fetched with getPosts
    assert by_kind["comment"].delivery == delivery
    assert by_kind["quote"].delivery == delivery
    assert by_kind["mention"].delivery is None
    assert by_kind["mention"].messages.get().remote_id == mention.uri
    assert by_kind["quote"].messages.get().remote_id == quote.uri
    contact = Contact.objects.get(remote_id=bob.did)
    assert contact.handle == bob.handle and contact.followers == 0  # from getProfiles
    assert by_kind["comment"].needs_reply  # a question

    # Incremental: the next poll reads nothing new and stores nothing twice.
    cursor = InboxCursor.objects.get(channel=channel).cursor
    assert cursor
    again = ingest_channel(channel)
    assert again.created == 0
    assert Message.objects.filter(channel=channel).count() == 3

    # Bob writes again under the same post: same conversation, and it is new again.
    later = bob_client.send_post(
        "Or to Grenoble?",
        bob.did,
        reply_to=models.AppBskyFeedPost.ReplyRef(root=ref, parent=ref),
    )
    poll_until(channel, 4)
    assert Message.objects.get(remote_id=later.uri).conversation == by_kind["comment"]


@pytest.mark.django_db(transaction=True)
def test_a_channel_whose_app_password_was_revoked_stops_and_says_so(workspace, bluesky_server, bob):
    channel = channel_for(workspace, bluesky_server, bob, app_password="aaaa-bbbb-cccc-dddd")

    result = ingest_channel(channel)

    channel.refresh_from_db()
    assert channel.status == ChannelStatus.NEEDS_RECONNECT
    assert "reconnect" in result.stopped
    assert "reconnect" in InboxCursor.objects.get(channel=channel).stopped_reason
