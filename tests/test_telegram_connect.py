"""Connecting a Telegram channel from the Channels page: the form (bot token and channel)
through the real views, checked with the Bot API played from ``tests/recordings/telegram/``
(written by hand from core.telegram.org/bots/api) over real HTTP."""

from __future__ import annotations

import pytest
from django.urls import reverse

from socialdesk.networks.models import Channel, Network
from tests.recorded import RecordedNetwork

TOKEN = "110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


@pytest.fixture(scope="module")
def server():
    recorded = RecordedNetwork("telegram")
    yield recorded
    recorded.stop()


@pytest.fixture
def network(server, settings):
    server.reset()
    server.play("connect")
    settings.NETWORK_URL_OVERRIDES = {"telegram": server.url}
    return server


def submit(client, workspace, **values):
    form = {"bot_token": TOKEN, "chat": "@crumbbakery", "time_zone": "", **values}
    return client.post(reverse("network_connect", args=[workspace.slug, "telegram"]), form)


def errors(response, field):
    return " ".join(response.context["form"].errors.get(field, []))


@pytest.mark.django_db
def test_a_good_token_and_an_admin_bot_connect_the_channel(network, workspace, owner, signed_in):
    client = signed_in(owner)
    page = client.get(reverse("network_connect", args=[workspace.slug, "telegram"]))
    assert "Bot token" in page.content.decode() and "@BotFather" in page.content.decode()

    response = submit(client, workspace)

    assert response.status_code == 302
    channel = Channel.objects.get(workspace=workspace, network=Network.TELEGRAM)
    assert channel.handle == "@crumbbakery" and channel.display_name == "Crumb Bakery"
    assert channel.remote_account_id == "-1001234567890"
    assert channel.credentials["bot_token"] == TOKEN
    assert channel.credentials["chat_id"] == "-1001234567890"
    assert channel.has_account
    member = network.requests_to("POST", f"/bot{TOKEN}/getChatMember")[0].json
    assert member == {"chat_id": -1001234567890, "user_id": 110201543}


@pytest.mark.django_db
def test_a_token_telegram_does_not_know_is_said_next_to_the_token(
    network, workspace, owner, signed_in
):
    network.answer(
        "POST",
        f"/bot{TOKEN}/getMe",
        {"status": 401, "body": {"ok": False, "error_code": 401, "description": "Unauthorized"}},
    )
    response = submit(signed_in(owner), workspace)
    assert response.status_code == 400
    assert "Telegram does not know this bot token" in errors(response, "bot_token")
    assert TOKEN not in response.content.decode()  # a secret is never shown back
    assert not Channel.objects.filter(network=Network.TELEGRAM).exists()


@pytest.mark.django_db
def test_something_that_is_not_a_token_is_refused_before_asking_telegram(
    network, workspace, owner, signed_in
):
    response = submit(signed_in(owner), workspace, bot_token="my-password")
    assert "not a bot token" in errors(response, "bot_token")
    assert network.sent == []


@pytest.mark.django_db
def test_a_bot_that_is_not_an_admin_allowed_to_post_is_said_next_to_the_channel(
    network, workspace, owner, signed_in
):
    network.answer(
        "POST",
        f"/bot{TOKEN}/getChatMember",
        {
            "status": 200,
            "body": {
                "ok": True,
                "result": {
                    "user": {"id": 110201543, "is_bot": True, "first_name": "C"},
                    "status": "member",
                },
            },
        },
    )
    response = submit(signed_in(owner), workspace)
    assert response.status_code == 400
    said = errors(response, "chat")
    assert "@crumb_poster_bot is not an administrator allowed to post" in said
    assert not Channel.objects.filter(network=Network.TELEGRAM).exists()


@pytest.mark.django_db
def test_a_channel_the_bot_cannot_see_and_a_group_are_refused(network, workspace, owner, signed_in):
    client = signed_in(owner)
    network.answer(
        "POST",
        f"/bot{TOKEN}/getChat",
        {
            "status": 400,
            "body": {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"},
        },
        {
            "status": 200,
            "body": {"ok": True, "result": {"id": -1009, "type": "supergroup", "title": "Fans"}},
        },
    )
    missing = submit(client, workspace)
    assert "cannot find this channel" in errors(missing, "chat")
    group = submit(client, workspace)
    assert "a group, not a channel" in errors(group, "chat")
    assert not Channel.objects.filter(network=Network.TELEGRAM).exists()


@pytest.mark.django_db
def test_an_outsider_cannot_connect_a_channel_here(network, workspace, outsider, signed_in):
    response = submit(signed_in(outsider), workspace)
    assert response.status_code in (403, 404)
    assert network.sent == []
