"""Connecting a Pinterest board from the Channels page, through the real connect views and
Pinterest's OAuth flow played back from ``tests/recordings/pinterest/`` (written by hand from
Pinterest's API v5 reference; real HTTP on 127.0.0.1). One login opens the person's boards;
the chosen board is the channel.
"""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.urls import reverse

from socialdesk.networks.models import Channel, Network
from tests.test_pinterest_connector import BOARD, REFRESH, TOKEN, Bucket

CALLBACK = "http://testserver/channels/connect/pinterest/callback/"


@pytest.fixture(scope="module")
def server():
    recorded = Bucket("pinterest")
    yield recorded
    recorded.stop()


@pytest.fixture
def pinterest(server, settings):
    server.reset()
    server.play("oauth")
    settings.NETWORK_URL_OVERRIDES = {"pinterest": server.url}
    settings.NETWORK_APPS = {"pinterest": {"client_id": "1484362", "client_secret": "pin-s3"}}
    return server


def start(client, workspace):
    url = reverse("network_connect", args=[workspace.slug, "pinterest"])
    return client.post(url, {"time_zone": ""})


def consent(response) -> dict[str, str]:
    answer = httpx.get(response["Location"], follow_redirects=False)
    back = urlsplit(answer.headers["Location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == CALLBACK
    return {k: v[0] for k, v in parse_qs(back.query).items()}


def shown(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


@pytest.mark.django_db
def test_consent_lists_the_boards_and_the_chosen_board_becomes_the_channel(
    pinterest, workspace, owner, signed_in
):
    client = signed_in(owner)

    response = start(client, workspace)

    query = parse_qs(urlsplit(response["Location"]).query)
    assert response["Location"].startswith(f"{pinterest.url}/oauth/?")
    assert query["scope"] == ["boards:read,pins:read,pins:write,user_accounts:read"]
    assert query["response_type"] == ["code"]
    page = client.get(reverse("network_callback", args=["pinterest"]), consent(response))
    assert "/choose/" in page["Location"]
    choosing = client.get(page["Location"]).content
    assert b"crumbbakery/Breads" in choosing and b"crumbbakery/Cakes" in choosing
    assert b"Ideas (private)" not in choosing  # secret boards need another scope

    done = client.post(page["Location"], {"account": "0"}, follow=True)

    assert "crumbbakery/Breads is connected" in shown(done)
    channel = Channel.objects.get(network=Network.PINTEREST)
    assert channel.remote_account_id == BOARD
    assert channel.has_account
    assert channel.credentials["board_id"] == BOARD
    assert channel.credentials["access_token"] == TOKEN
    assert channel.credentials["refresh_token"] == REFRESH
    [token] = pinterest.requests_to("POST", "/v5/oauth/token")
    assert token.headers["Authorization"] == "Basic " + base64.b64encode(b"1484362:pin-s3").decode()
    assert token.form["redirect_uri"] == [CALLBACK]
    assert "client_secret" not in token.form


@pytest.mark.django_db
def test_denying_consent_connects_nothing(pinterest, workspace, owner, signed_in):
    client = signed_in(owner)
    state = consent(start(client, workspace))["state"]

    page = client.get(
        reverse("network_callback", args=["pinterest"]),
        {"error": "access_denied", "state": state},
        follow=True,
    )

    assert "You did not allow Socialdesk on Pinterest" in shown(page)
    assert not Channel.objects.exists()


@pytest.mark.django_db
def test_a_failing_token_exchange_connects_nothing(pinterest, workspace, owner, signed_in):
    pinterest.answer(
        "POST",
        "/v5/oauth/token",
        {"status": 400, "body": {"code": 1, "message": "Invalid request: code is invalid"}},
    )
    client = signed_in(owner)

    page = client.get(
        reverse("network_callback", args=["pinterest"]),
        consent(start(client, workspace)),
        follow=True,
    )

    assert "Pinterest did not accept the authorization" in shown(page)
    assert not Channel.objects.exists()


@pytest.mark.django_db
def test_an_account_without_boards_is_told_to_make_one(pinterest, workspace, owner, signed_in):
    pinterest.answer("GET", "/v5/boards", {"status": 200, "body": {"items": [], "bookmark": None}})
    client = signed_in(owner)

    page = client.get(
        reverse("network_callback", args=["pinterest"]),
        consent(start(client, workspace)),
        follow=True,
    )

    assert "no board to pin to" in shown(page)
    assert not Channel.objects.exists()
