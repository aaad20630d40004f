"""Bluesky likes, reposts, replies and quotes, and the account's followers, become metric
snapshots: against the real local network (PDS and AppView from ``@atproto/dev-env``; see
tests/peers.py).

Alice is the bakery's account, connected as a channel with an app password; she published a
post two hours ago. Bob, another account on the network, likes it, reposts it, answers it and
follows her.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from atproto import models
from django.utils import timezone

from socialdesk.analytics import metrics_tasks
from socialdesk.analytics.models import Bucket, ChannelDay, MetricCursor, MetricSnapshot
from socialdesk.content.services import PostContent, create_post
from socialdesk.networks.base import DeliveryContent, Metrics
from socialdesk.networks.bluesky import BlueskyConnector
from socialdesk.networks.models import Channel, ChannelStatus, Network
from socialdesk.publishing.models import ChannelSpend, Delivery, DeliveryState


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


def wait_for_appview(connector: BlueskyConnector, uri: str, wanted: Metrics, timeout=60.0):
    """The AppView counts within a second or so here (longer on a busy machine)."""
    deadline = time.monotonic() + timeout
    while (seen := connector.fetch_metrics([uri]).get(uri)) != wanted:
        assert time.monotonic() < deadline, f"the AppView shows {seen}, not {wanted}"
        time.sleep(0.3)


@pytest.mark.django_db(transaction=True)
def test_another_accounts_like_repost_and_reply_show_in_the_snapshot(
    workspace, owner, bluesky_server, alice, bob
):
    channel = channel_for(workspace, bluesky_server, alice)
    ours = BlueskyConnector(alice.handle, alice.app_password, pds_url=bluesky_server.pds_url)
    published = ours.publish(DeliveryContent("Stollen is back 🎄"), "metrics-test-post")
    post = create_post(workspace, owner, PostContent(text="Stollen is back 🎄", channel_ids=[]))
    delivery = Delivery.objects.create(
        workspace=workspace,
        post=post,
        channel=channel,
        state=DeliveryState.PUBLISHED,
        remote_id=published.remote_id,
        published_at=timezone.now() - timedelta(hours=2),
    )
    bob_client = bluesky_server.client(bob)
    root = bob_client.get_post(published.remote_id.rsplit("/", 1)[1], alice.did)
    ref = models.create_strong_ref(root)
    now = bob_client.get_current_time_iso()
    bob_client.app.bsky.feed.like.create(
        bob.did, models.AppBskyFeedLike.Record(subject=ref, created_at=now)
    )
    bob_client.app.bsky.feed.repost.create(
        bob.did, models.AppBskyFeedRepost.Record(subject=ref, created_at=now)
    )
    bob_client.send_post(
        "Save me one!", bob.did, reply_to=models.AppBskyFeedPost.ReplyRef(root=ref, parent=ref)
    )
    bob_client.app.bsky.graph.follow.create(
        bob.did, models.AppBskyGraphFollow.Record(subject=alice.did, created_at=now)
    )
    wait_for_appview(ours, published.remote_id, Metrics(likes=1, reposts=1, replies=1, quotes=0))

    result = metrics_tasks.poll_once(channel.pk)

    assert result["polled"] and result["stored"] == 1, result
    snapshot = MetricSnapshot.objects.get(delivery=delivery)
    assert snapshot.bucket == Bucket.H1  # two hours old: +1 h, read late and saying so
    assert timedelta(hours=2) <= snapshot.age < timedelta(hours=2, minutes=5)
    assert (snapshot.likes, snapshot.reposts, snapshot.replies, snapshot.quotes) == (1, 1, 1, 0)
    assert (snapshot.views, snapshot.clicks) == (None, None)  # Bluesky gives neither
    today = ChannelDay.objects.get(channel=channel, followers_read_at__isnull=False)
    assert today.followers == 1  # Bob, from app.bsky.actor.getProfile
    # One getPosts and one getProfile, from the channel's read budget.
    assert sum(ChannelSpend.objects.filter(channel=channel).values_list("points", flat=True)) == 2


@pytest.mark.django_db(transaction=True)
def test_twenty_six_posts_are_read_in_two_calls(bluesky_server, alice):
    ours = BlueskyConnector(alice.handle, alice.app_password, pds_url=bluesky_server.pds_url)
    uris = [
        ours.publish(DeliveryContent(f"Loaf number {n}"), f"metrics-batch-{n}").remote_id
        for n in range(26)
    ]
    deadline = time.monotonic() + 60
    while len(found := ours.fetch_metrics(uris)) < 26:
        assert time.monotonic() < deadline, f"the AppView shows {len(found)} of 26"
        time.sleep(0.3)

    assert ours.metrics_cost(26) == {"requests": 2}
    assert all(m == Metrics(likes=0, reposts=0, replies=0, quotes=0) for m in found.values())


@pytest.mark.django_db(transaction=True)
def test_a_channel_whose_app_password_was_revoked_stops_reading_and_says_so(
    workspace, owner, bluesky_server, bob
):
    channel = channel_for(workspace, bluesky_server, bob, app_password="aaaa-bbbb-cccc-dddd")

    result = metrics_tasks.poll_once(channel.pk)

    channel.refresh_from_db()
    assert channel.status == ChannelStatus.NEEDS_RECONNECT
    assert "reconnect" in result["stopped"]
    assert "reconnect" in MetricCursor.objects.get(channel=channel).stopped_reason
