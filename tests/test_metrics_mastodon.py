"""Mastodon statuses' favourites, boosts and replies, and the account's followers, become
metric snapshots: against recorded exchanges written from the official API reference
(tests/recordings/mastodon/metrics_*.json, served over real HTTP by ``RecordedInstance`` so
that the real Mastodon.py client makes the requests).

Crumb is the bakery's account (``@crumb@bakery.example``, id 109382, 312 followers); its
statuses 113300000000000021 ("Stollen is back", 14 favourites, 3 boosts, 2 replies) and
…022 exist; …023 was deleted.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from test_mastodon_connector import RECORDINGS, TOKEN, RecordedInstance

from socialdesk.analytics import metrics_tasks
from socialdesk.analytics.models import Bucket, ChannelDay, MetricCursor, MetricSnapshot
from socialdesk.content.services import PostContent, create_post
from socialdesk.networks.base import Metrics
from socialdesk.networks.mastodon import MastodonConnector, forget_instance_limits
from socialdesk.networks.models import Channel, ChannelStatus, Network
from socialdesk.publishing.models import ChannelSpend, Delivery, DeliveryState

STOLLEN, RYE, DELETED = "113300000000000021", "113300000000000022", "113300000000000023"


@pytest.fixture(scope="module")
def server():
    recorded = RecordedInstance()
    yield recorded
    recorded.stop()


@pytest.fixture
def instance(server) -> RecordedInstance:
    server.reset()
    forget_instance_limits()
    yield server
    forget_instance_limits()


@pytest.fixture
def connector(instance) -> MastodonConnector:
    return MastodonConnector(instance.url, TOKEN, account_id="109382")


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


def test_statuses_are_read_twenty_at_a_time_where_the_instance_can(instance, connector):
    instance.play("metrics_statuses")
    ids = [STOLLEN, RYE, *(str(113300000000000100 + n) for n in range(23))]

    found = connector.fetch_metrics(ids)

    assert found[STOLLEN] == Metrics(likes=14, reposts=3, replies=2)
    assert found[RYE] == Metrics(likes=0, reposts=0, replies=0)
    assert found[STOLLEN].views is None and found[STOLLEN].quotes is None
    assert set(found) == {STOLLEN, RYE}  # the others are not on the instance: left out
    batches = instance.requests_to("GET", "/api/v1/statuses")
    assert [len(sent.query["id[]"]) for sent in batches] == [20, 5]
    assert sorted(i for sent in batches for i in sent.query["id[]"]) == sorted(ids)
    assert batches[0].headers["Authorization"] == f"Bearer {TOKEN}"
    assert connector.metrics_cost(25) == {"requests": 2}


def test_an_instance_without_the_batched_read_is_read_one_status_at_a_time(instance, connector):
    instance.play("metrics_statuses_one_by_one")
    # Not knowing yet: the worst case is reserved (the request that asks, then one each).
    assert connector.metrics_cost(3) == {"requests": 4}

    found = connector.fetch_metrics([STOLLEN, RYE, DELETED])

    assert found == {
        STOLLEN: Metrics(likes=14, reposts=3, replies=2),
        RYE: Metrics(likes=0, reposts=0, replies=0),
    }  # the deleted status is left out
    assert len(instance.requests_to("GET", "/api/v1/statuses")) == 1
    assert len(instance.requests_to("GET", f"/api/v1/statuses/{STOLLEN}")) == 1
    # Remembered: the next read does not ask again, and costs one request a status.
    assert connector.metrics_cost(3) == {"requests": 3}
    connector.fetch_metrics([STOLLEN])
    assert len(instance.requests_to("GET", "/api/v1/statuses")) == 1


def test_followers_come_from_the_account_itself(instance, connector):
    assert connector.fetch_followers() == 312


def test_a_poll_stores_a_snapshot_and_the_days_followers_and_spends_the_budget(
    workspace, owner, crumb, instance
):
    instance.play("metrics_statuses")
    post = create_post(workspace, owner, PostContent(text="Stollen", channel_ids=[crumb.pk]))
    Delivery.objects.filter(post=post).update(
        state=DeliveryState.PUBLISHED,
        remote_id=STOLLEN,
        published_at=timezone.now() - timedelta(hours=6, minutes=3),
    )

    result = metrics_tasks.poll_once(crumb.pk)

    assert result["stored"] == 1
    snapshot = MetricSnapshot.objects.get(channel=crumb)
    assert snapshot.bucket == Bucket.H6
    assert (snapshot.likes, snapshot.reposts, snapshot.replies) == (14, 3, 2)
    assert (snapshot.quotes, snapshot.views, snapshot.clicks) == (None, None, None)
    # Today's row (in the channel's zone) has the followers; it or yesterday's has the post.
    today = ChannelDay.objects.get(channel=crumb, followers_read_at__isnull=False)
    assert today.followers == 312
    assert sum(ChannelDay.objects.filter(channel=crumb).values_list("posts", flat=True)) == 1
    # Mastodon's "requests", the budget publishing and the inbox spend too.
    spent = sum(ChannelSpend.objects.filter(channel=crumb).values_list("points", flat=True))
    assert spent >= 2


def test_a_revoked_token_stops_reading_and_marks_the_channel(workspace, owner, crumb, instance):
    instance.answer(
        "GET",
        "/api/v1/accounts/verify_credentials",
        {"status": 401, "body": {"error": "The access token was revoked"}},
    )

    result = metrics_tasks.poll_once(crumb.pk)

    crumb.refresh_from_db()
    assert crumb.status == ChannelStatus.NEEDS_RECONNECT
    assert result["stopped"]
    assert "reconnect the channel" in MetricCursor.objects.get(channel=crumb).stopped_reason
    assert not MetricSnapshot.objects.exists()


def test_a_429_on_the_batched_read_says_when_to_ask_again(workspace, owner, crumb, instance):
    recorded = json.loads((RECORDINGS / "rate_limited_429.json").read_text())
    instance.answer("GET", "/api/v1/statuses", recorded["exchanges"][0]["responses"][0])
    post = create_post(workspace, owner, PostContent(text="Stollen", channel_ids=[crumb.pk]))
    Delivery.objects.filter(post=post).update(
        state=DeliveryState.PUBLISHED,
        remote_id=STOLLEN,
        published_at=timezone.now() - timedelta(hours=2),
    )

    result = metrics_tasks.poll_once(crumb.pk)

    assert "rate limit" in result["error"]
    cursor = MetricCursor.objects.get(channel=crumb)
    # X-RateLimit-Reset is 60 s after the response's Date: no poll before then.
    wait = (cursor.not_before - datetime.now(UTC)).total_seconds()
    assert 50 < wait <= 61
    assert metrics_tasks.due_channels(timezone.now() + timedelta(seconds=31)) == []
    assert not MetricSnapshot.objects.exists()
