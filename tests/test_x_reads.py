"""X's reads through the real inbox and analytics loops (``inbox.ingest``,
``analytics.metrics_tasks``), against X API v2 exchanges played from ``tests/recordings/x/``
over real HTTP: mentions become conversations, an app whose access has no mentions is told so
without the channel being marked for reconnection, and a poll stores X's public metrics."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from socialdesk.analytics import metrics_tasks
from socialdesk.analytics.models import ChannelDay, MetricSnapshot
from socialdesk.content.services import PostContent, create_post
from socialdesk.inbox.ingest import ingest_channel
from socialdesk.inbox.models import Conversation, InboxCursor
from socialdesk.networks.models import Channel, ChannelStatus, Network
from socialdesk.publishing.models import Delivery, DeliveryState
from tests.recorded import RecordedNetwork

USER = "2244994945"
MAIN = "1445880548472328192"


@pytest.fixture(scope="module")
def server():
    recorded = RecordedNetwork("x")
    yield recorded
    recorded.stop()


@pytest.fixture
def network(server, settings):
    server.reset()
    server.play("oauth", "mentions", "metrics")
    settings.NETWORK_URL_OVERRIDES = {"x": server.url}
    settings.NETWORK_APPS = {"x": {"client_id": "x-client", "client_secret": "x-secret"}}
    return server


@pytest.fixture
def crumb(workspace) -> Channel:
    channel = Channel.objects.create(
        workspace=workspace, network=Network.X, handle="@crumbbakery", remote_account_id=USER
    )
    channel.set_credentials(
        {
            "access_token": "access-0",
            "refresh_token": "refresh-0",
            "expires_at": time.time() + 7200,
            "user_id": USER,
            "username": "crumbbakery",
        }
    )
    channel.save(update_fields=["credentials_encrypted"])
    return channel


def published_post(workspace, owner, channel) -> Delivery:
    post = create_post(workspace, owner, PostContent(text="Rye", channel_ids=[channel.pk]))
    Delivery.objects.filter(post=post).update(
        state=DeliveryState.PUBLISHED,
        remote_id=MAIN,
        published_at=timezone.now() - timedelta(hours=6, minutes=3),
    )
    return Delivery.objects.get(post=post)


@pytest.mark.django_db
def test_mentions_land_in_the_inbox_and_a_reply_to_our_post_is_its_comment(
    network, workspace, owner, crumb
):
    delivery = published_post(workspace, owner, crumb)

    result = ingest_channel(crumb)

    assert result.created == 3
    kinds = {c.kind: c for c in Conversation.objects.filter(channel=crumb)}
    assert set(kinds) == {"comment", "quote", "mention"}
    assert kinds["comment"].delivery == delivery
    assert InboxCursor.objects.get(channel=crumb).cursor == "1460000000000000009"


@pytest.mark.django_db
def test_an_app_without_the_mentions_timeline_is_told_plainly_and_keeps_publishing(network, crumb):
    network.answer(
        "GET",
        f"/2/users/{USER}/mentions",
        {
            "status": 403,
            "body": {
                "title": "Client Forbidden",
                "detail": "When authenticating requests to the Twitter API v2 endpoints, you "
                "must use keys and tokens from a Twitter developer App that is attached to a "
                "Project. You can create a project via the developer portal.",
                "reason": "client-not-enrolled",
                "required_enrollment": "Appropriate Level of API Access",
                "type": "https://api.twitter.com/2/problems/client-forbidden",
            },
        },
    )

    ingest_channel(crumb)

    crumb.refresh_from_db()
    assert crumb.status == ChannelStatus.CONNECTED  # not a revoked token
    stopped = InboxCursor.objects.get(channel=crumb).stopped_reason
    assert "does not let this Socialdesk's app read mentions" in stopped


@pytest.mark.django_db
def test_a_metrics_poll_stores_public_metrics_with_views_and_the_followers(
    network, workspace, owner, crumb
):
    published_post(workspace, owner, crumb)

    result = metrics_tasks.poll_once(crumb.pk)

    assert result["stored"] == 1
    snapshot = MetricSnapshot.objects.get(channel=crumb)
    assert (snapshot.likes, snapshot.reposts, snapshot.replies) == (31, 4, 2)
    assert (snapshot.quotes, snapshot.views, snapshot.clicks) == (1, 1840, None)
    assert ChannelDay.objects.get(channel=crumb, followers_read_at__isnull=False).followers == 1287
