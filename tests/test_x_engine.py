"""An X channel's deliveries through the real publishing engine (``dispatch.run``), against
X API v2 exchanges played from ``tests/recordings/x/`` over real HTTP: a token near expiry is
refreshed and the rotated refresh token stored with the channel (encrypted); a send whose
answer is lost is reconciled from the account's timeline, not sent again."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from socialdesk.content.composer import text_length
from socialdesk.content.services import PostContent, create_post
from socialdesk.networks import x
from socialdesk.networks.models import Channel, Network
from socialdesk.publishing.dispatch import run
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
    server.play("oauth", "publish", "timeline")
    settings.NETWORK_URL_OVERRIDES = {"x": server.url}
    settings.NETWORK_APPS = {"x": {"client_id": "x-client", "client_secret": "x-secret"}}
    return server


def due_delivery(workspace, owner, text: str, expires_in: float) -> Delivery:
    channel = Channel.objects.create(workspace=workspace, network=Network.X, handle="@crumbbakery")
    channel.set_credentials(
        {
            "access_token": "access-0",
            "refresh_token": "refresh-0",
            "expires_at": time.time() + expires_in,
            "user_id": USER,
            "username": "crumbbakery",
        }
    )
    channel.save(update_fields=["credentials_encrypted"])
    post = create_post(
        workspace,
        owner,
        PostContent(
            text=text, channel_ids=[channel.pk], scheduled_at=timezone.now() + timedelta(days=1)
        ),
    )
    delivery = post.deliveries.get()
    Delivery.objects.filter(pk=delivery.pk).update(
        scheduled_at=timezone.now() - timedelta(seconds=5)
    )
    return delivery


@pytest.mark.django_db
def test_a_token_near_expiry_is_refreshed_stored_and_the_post_published(network, workspace, owner):
    delivery = due_delivery(workspace, owner, "Fresh sourdough today", expires_in=60)

    assert run(delivery.pk, "w1") == DeliveryState.PUBLISHED

    delivery.refresh_from_db()
    assert delivery.remote_id == MAIN
    assert delivery.remote_url == f"https://x.com/crumbbakery/status/{MAIN}"
    stored = Channel.objects.get(pk=delivery.channel_id).credentials
    assert stored["access_token"] == "access-after-refresh"
    assert stored["refresh_token"] == "refresh-rotated"
    assert network.requests_to("POST", "/2/tweets")[0].headers["Authorization"] == (
        "Bearer access-after-refresh"
    )


@pytest.mark.django_db
def test_a_lost_answer_is_reconciled_from_the_timeline_not_sent_again(
    network, workspace, owner, monkeypatch
):
    monkeypatch.setattr(x, "build", lambda c, store: x.XConnector(c, store, timeout=0.5))
    text = "Fresh sourdough & rye today https://crumb.example/rye"
    delivery = due_delivery(workspace, owner, text, expires_in=7200)
    network.delay = 1.5

    assert run(delivery.pk, "w1") == DeliveryState.UNKNOWN
    network.delay = 0
    assert run(delivery.pk, "w2") == DeliveryState.PUBLISHED

    delivery.refresh_from_db()
    assert delivery.remote_id == MAIN
    assert len(network.requests_to("POST", "/2/tweets")) == 1


def test_the_composer_counts_as_x_does():
    assert text_length("x", "パン🍞 https://crumb.example/a-very-long-address") == 4 + 2 + 1 + 23
