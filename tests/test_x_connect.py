"""Connecting an X account from the Channels page: OAuth 2.0 with PKCE through the real views,
against X's consent and token addresses played from ``tests/recordings/x/oauth.json`` (written
by hand from docs.x.com) over real HTTP. The person's visit to x.com is the one step a test
client cannot make: the recorded consent page redirects back, and the test follows it."""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.urls import reverse

from socialdesk.networks.models import Channel, Network
from tests.recorded import RecordedNetwork


@pytest.fixture(scope="module")
def server():
    recorded = RecordedNetwork("x")
    yield recorded
    recorded.stop()


@pytest.fixture
def network(server, settings):
    server.reset()
    server.play("oauth")
    settings.NETWORK_URL_OVERRIDES = {"x": server.url}
    settings.NETWORK_APPS = {"x": {"client_id": "x-client", "client_secret": "x-secret"}}
    return server


def start(client, workspace, **extra):
    return client.post(reverse("network_connect", args=[workspace.slug, "x"]), extra)


def consent(location: str) -> str:
    """What x.com's consent page does once the person approves: redirect back."""
    answer = httpx.get(location, follow_redirects=False)
    assert answer.status_code == 302
    back = urlsplit(answer.headers["Location"])
    return f"{back.path}?{back.query}"


def shown(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


@pytest.mark.django_db
def test_consent_with_pkce_creates_the_channel_with_the_tokens(
    network, workspace, owner, signed_in
):
    client = signed_in(owner)

    response = start(client, workspace, time_zone="Europe/Berlin")

    assert response.status_code == 302
    asked = parse_qs(urlsplit(response["Location"]).query)
    assert response["Location"].startswith(f"{network.url}/i/oauth2/authorize?")
    assert asked["client_id"] == ["x-client"]
    assert asked["scope"] == ["tweet.read tweet.write users.read offline.access media.write"]
    assert asked["code_challenge_method"] == ["S256"]
    challenge = asked["code_challenge"][0]

    done = client.get(consent(response["Location"]), follow=True)

    assert "@crumbbakery is connected" in shown(done)
    token = network.requests_to("POST", "/2/oauth2/token")[0]
    verifier = token.form["code_verifier"][0]
    digest = hashlib.sha256(verifier.encode()).digest()
    assert base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == challenge
    assert token.form["grant_type"] == ["authorization_code"]
    assert (
        token.headers["Authorization"] == "Basic " + base64.b64encode(b"x-client:x-secret").decode()
    )
    assert "client_secret" not in token.form
    channel = Channel.objects.get(workspace=workspace, network=Network.X)
    assert channel.handle == "@crumbbakery" and channel.remote_account_id == "2244994945"
    assert channel.time_zone == "Europe/Berlin"
    stored = channel.credentials
    assert stored["access_token"] == "access-from-consent"
    assert stored["refresh_token"] == "refresh-from-consent"
    assert stored["user_id"] == "2244994945" and stored["expires_at"] > 0
    assert channel.has_account
    me = network.requests_to("GET", "/2/users/me")[0]
    assert me.headers["Authorization"] == "Bearer access-from-consent"


@pytest.mark.django_db
def test_a_denied_consent_connects_nothing(network, workspace, owner, signed_in):
    client = signed_in(owner)
    state = parse_qs(urlsplit(start(client, workspace)["Location"]).query)["state"][0]

    done = client.get(
        reverse("network_callback", args=["x"]),
        {"state": state, "error": "access_denied"},
        follow=True,
    )

    assert "You did not allow Socialdesk on X" in shown(done)
    assert not Channel.objects.filter(network=Network.X).exists()
    assert network.requests_to("POST", "/2/oauth2/token") == []


@pytest.mark.django_db
def test_a_wrong_or_reused_state_is_refused(network, workspace, owner, signed_in):
    client = signed_in(owner)
    back = consent(start(client, workspace)["Location"])
    wrong = client.get(
        reverse("network_callback", args=["x"]), {"state": "forged", "code": "c"}, follow=True
    )
    assert "does not belong to a connection started in this browser" in shown(wrong)

    client.get(back, follow=True)
    again = client.get(back, follow=True)

    assert "already used" in shown(again)
    assert len(network.requests_to("POST", "/2/oauth2/token")) == 1
    assert Channel.objects.filter(network=Network.X).count() == 1


@pytest.mark.django_db
def test_a_failing_token_exchange_connects_nothing(network, workspace, owner, signed_in):
    network.answer(
        "POST",
        "/2/oauth2/token",
        {
            "status": 400,
            "body": {
                "error": "invalid_request",
                "error_description": "Value passed for the authorization code was invalid.",
            },
        },
    )
    client = signed_in(owner)
    done = client.get(consent(start(client, workspace)["Location"]), follow=True)
    assert "X did not accept the authorization" in shown(done)
    assert not Channel.objects.filter(network=Network.X).exists()


@pytest.mark.django_db
def test_reconnecting_keeps_the_stored_refresh_token_when_the_answer_has_none(
    network, workspace, owner, signed_in
):
    channel = Channel.objects.create(
        workspace=workspace,
        network=Network.X,
        handle="@crumbbakery",
        remote_account_id="2244994945",
    )
    channel.set_credentials(
        {"access_token": "old", "refresh_token": "kept", "user_id": "2244994945"}
    )
    channel.save()
    network.answer(
        "POST",
        "/2/oauth2/token",
        {
            "status": 200,
            "body": {
                "token_type": "bearer",
                "expires_in": 7200,
                "access_token": "newer",
                "scope": "tweet.read users.read",
            },
        },
    )
    client = signed_in(owner)

    response = start(client, workspace, channel=str(channel.pk))
    client.get(consent(response["Location"]), follow=True)

    channel.refresh_from_db()
    assert channel.credentials["access_token"] == "newer"
    assert channel.credentials["refresh_token"] == "kept"
    assert Channel.objects.filter(network=Network.X).count() == 1


@pytest.mark.django_db
def test_without_the_operators_app_the_page_says_to_ask_the_administrator(
    network, workspace, owner, signed_in, settings
):
    settings.NETWORK_APPS = {}
    page = signed_in(owner).get(reverse("network_connect", args=[workspace.slug, "x"]))
    assert "ask your administrator to configure X" in page.content.decode()


@pytest.mark.django_db
def test_an_outsider_cannot_start_connecting_x(network, workspace, outsider, signed_in):
    response = start(signed_in(outsider), workspace)
    assert response.status_code in (403, 404)
    assert not Channel.objects.filter(network=Network.X).exists()
