"""Connecting a Discord channel from the Channels page: the webhook form through the real
views, checked with Discord's answer played from ``tests/recordings/discord/`` (written by
hand from discord.com/developers/docs) over real HTTP."""

from __future__ import annotations

import pytest
from django.urls import reverse

from socialdesk.networks.models import Channel, Network
from tests.recorded import RecordedNetwork

ID = "1180000000000000001"
TOKEN = "Xq8yXmsY4Jx6lOLjDgLRx7k0-bWDHNtHnmE1dqeyBn3uWlkP1VqT9yVmXNqkS3N6Ej0p"


@pytest.fixture(scope="module")
def server():
    recorded = RecordedNetwork("discord")
    yield recorded
    recorded.stop()


@pytest.fixture
def network(server, settings):
    server.reset()
    server.play("webhook")
    settings.NETWORK_URL_OVERRIDES = {"discord": server.url}
    return server


def submit(client, workspace, url):
    return client.post(
        reverse("network_connect", args=[workspace.slug, "discord"]),
        {"webhook_url": url, "time_zone": ""},
    )


def errors(response) -> str:
    return " ".join(response.context["form"].errors.get("webhook_url", []))


@pytest.mark.django_db
def test_a_webhook_address_connects_the_channel(network, workspace, owner, signed_in):
    # An older address form: kept as Discord's own canonical address.
    response = submit(
        signed_in(owner), workspace, f"https://discordapp.com/api/webhooks/{ID}/{TOKEN}"
    )

    assert response.status_code == 302
    channel = Channel.objects.get(workspace=workspace, network=Network.DISCORD)
    assert channel.handle == "Crumb Announcements"
    assert channel.remote_account_id == "1180000000000000100"
    assert channel.credentials["webhook_url"] == f"https://discord.com/api/webhooks/{ID}/{TOKEN}"
    assert channel.credentials["guild_id"] == "1180000000000000200"
    assert channel.has_account
    assert len(network.requests_to("GET", f"/api/v10/webhooks/{ID}/{TOKEN}")) == 1


@pytest.mark.django_db
def test_a_deleted_webhook_is_said_next_to_the_address(network, workspace, owner, signed_in):
    network.answer(
        "GET",
        f"/api/v10/webhooks/{ID}/{TOKEN}",
        {"status": 404, "body": {"message": "Unknown Webhook", "code": 10015}},
    )
    response = submit(signed_in(owner), workspace, f"https://discord.com/api/webhooks/{ID}/{TOKEN}")
    assert response.status_code == 400
    assert "Discord does not know this webhook (Discord said: Unknown Webhook" in errors(response)
    assert TOKEN not in response.content.decode()
    assert not Channel.objects.filter(network=Network.DISCORD).exists()


@pytest.mark.django_db
def test_an_address_that_is_not_a_discord_webhook_is_never_fetched(
    network, workspace, owner, signed_in
):
    response = submit(signed_in(owner), workspace, "http://127.0.0.1:8000/api/webhooks/1/2")
    assert "not a Discord webhook address" in errors(response)
    assert network.sent == []


@pytest.mark.django_db
def test_an_outsider_cannot_connect_discord_here(network, workspace, outsider, signed_in):
    response = submit(
        signed_in(outsider), workspace, f"https://discord.com/api/webhooks/{ID}/{TOKEN}"
    )
    assert response.status_code in (403, 404)
    assert network.sent == []
