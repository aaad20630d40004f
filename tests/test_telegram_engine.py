"""A Telegram channel's deliveries through the real publishing engine (``dispatch.run``),
against the Bot API played from ``tests/recordings/telegram/`` over real HTTP: published when
Telegram answers; when it does not, the delivery stays "outcome unknown" with words for a
person, and nothing is sent twice (the Bot API cannot say whether the message went out)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from socialdesk.analytics import metrics_tasks
from socialdesk.analytics.models import ChannelDay, MetricSnapshot
from socialdesk.content.services import PostContent, create_post
from socialdesk.networks import telegram
from socialdesk.networks.models import Channel, Network
from socialdesk.publishing.dispatch import run
from socialdesk.publishing.models import Delivery, DeliveryState
from tests.recorded import RecordedNetwork

TOKEN = "110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
SEND = f"/bot{TOKEN}/sendMessage"


@pytest.fixture(scope="module")
def server():
    recorded = RecordedNetwork("telegram")
    yield recorded
    recorded.stop()


@pytest.fixture
def network(server, settings):
    server.reset()
    server.play("publish")
    settings.NETWORK_URL_OVERRIDES = {"telegram": server.url}
    return server


def due_delivery(workspace, owner, text: str) -> Delivery:
    channel = Channel.objects.create(
        workspace=workspace, network=Network.TELEGRAM, handle="@crumbbakery"
    )
    channel.set_credentials(
        {"bot_token": TOKEN, "chat_id": "-1001234567890", "chat_username": "crumbbakery"}
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
def test_a_due_delivery_is_published_to_the_channel(network, workspace, owner):
    delivery = due_delivery(workspace, owner, "Fresh sourdough at 7")

    assert run(delivery.pk, "w1") == DeliveryState.PUBLISHED

    delivery.refresh_from_db()
    assert delivery.remote_id == "41"
    assert delivery.remote_url == "https://t.me/crumbbakery/41"
    assert network.requests_to("POST", SEND)[0].json["text"] == "Fresh sourdough at 7"


@pytest.mark.django_db
def test_an_unanswered_send_stays_unknown_for_a_person_and_is_never_sent_again(
    network, workspace, owner, monkeypatch
):
    monkeypatch.setattr(
        telegram,
        "build",
        lambda credentials, store: telegram.TelegramConnector(credentials, timeout=0.3),
    )
    delivery = due_delivery(workspace, owner, "Fresh sourdough at 7")
    network.delay = 1.0

    assert run(delivery.pk, "w1") == DeliveryState.UNKNOWN
    network.delay = 0
    assert run(delivery.pk, "w2") == DeliveryState.UNKNOWN  # reconciled: Telegram cannot tell

    delivery.refresh_from_db()
    assert "cannot list a channel's messages" in delivery.last_error
    assert "Look at the channel" in delivery.last_error
    assert TOKEN not in delivery.last_error
    assert len(network.requests_to("POST", SEND)) == 1


@pytest.mark.django_db
def test_a_metrics_poll_reads_the_subscribers_and_no_numbers_per_message(network, workspace, owner):
    delivery = due_delivery(workspace, owner, "Fresh sourdough at 7")
    Delivery.objects.filter(pk=delivery.pk).update(
        state=DeliveryState.PUBLISHED,
        remote_id="41",
        published_at=timezone.now() - timedelta(hours=6, minutes=3),
    )

    metrics_tasks.poll_once(delivery.channel_id)

    day = ChannelDay.objects.get(channel_id=delivery.channel_id, followers_read_at__isnull=False)
    assert day.followers == 2318
    snapshots = MetricSnapshot.objects.filter(channel_id=delivery.channel_id)
    assert snapshots.exists()  # the post is measured: with nothing, never with zeros
    for snapshot in snapshots:
        assert (snapshot.likes, snapshot.views, snapshot.reposts) == (None, None, None)
