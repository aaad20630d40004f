"""Connecting Google Business Profile locations from the Channels page, through the real views
and Google's OAuth flow played from ``tests/recordings/google_business/`` (written by hand
from Google's reference) over real HTTP.

The person's visit to Google's consent page is played by the recorded server too: it answers
the authorize address with the redirect back to Socialdesk's callback (``code`` and the
``state`` it was given), which the test client then follows, as a browser would.
"""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.urls import reverse
from django.utils import timezone

from socialdesk.content.services import PostContent, create_post
from socialdesk.networks.models import Channel, ChannelStatus
from socialdesk.publishing.dispatch import run
from socialdesk.publishing.models import DeliveryState
from tests.recorded import RecordedNetwork

NETWORK = "google_business"
CALLBACK = "http://testserver/channels/connect/google_business/callback/"
LISBOA = "locations/9281089117903930794"
PORTO = "locations/4410982291100023311"


@pytest.fixture(scope="module")
def server():
    recorded = RecordedNetwork(NETWORK)
    yield recorded
    recorded.stop()


@pytest.fixture
def google(server, settings) -> RecordedNetwork:
    server.reset()
    settings.NETWORK_URL_OVERRIDES = {NETWORK: server.url}
    settings.NETWORK_APPS = {
        NETWORK: {"client_id": "crumb-app.apps.googleusercontent.com", "client_secret": "s"}
    }
    server.play("oauth", "accounts")
    return server


def start(client, workspace, **extra):
    return client.post(reverse("network_connect", args=[workspace.slug, NETWORK]), extra)


def consent(client, response):
    """Google's consent page says yes and sends the browser back to the callback."""
    page = httpx.get(response["Location"], follow_redirects=False, trust_env=False)
    parts = urlsplit(page.headers["location"])
    return client.get(parts.path, parse_qs(parts.query), follow=True)


def shown(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


@pytest.mark.django_db
def test_a_login_with_two_locations_offers_the_choice_and_connects_the_chosen_one(
    google, workspace, owner, signed_in
):
    client = signed_in(owner)
    response = start(client, workspace, time_zone="Europe/Lisbon")

    assert response.status_code == 302
    assert response["Location"].startswith(f"{google.url}/o/oauth2/v2/auth?")
    query = parse_qs(urlsplit(response["Location"]).query)
    assert query["access_type"] == ["offline"] and query["prompt"] == ["consent"]
    assert query["scope"] == ["https://www.googleapis.com/auth/business.manage"]
    assert query["code_challenge_method"] == ["S256"]
    assert query["redirect_uri"] == [CALLBACK]

    choose = consent(client, response)

    assert choose.templates[0].name == "networks/choose.html"
    assert b"Crumb &amp; Co Bakery (Lisboa)" in choose.content
    assert b"Crumb &amp; Co Bakery (Porto)" in choose.content
    assert Channel.objects.filter(network=NETWORK).count() == 0
    [token] = google.requests_to("POST", "/token")
    assert token.form["redirect_uri"] == [CALLBACK]
    assert len(token.form["code_verifier"][0]) >= 43

    refused = client.post(choose.redirect_chain[-1][0], {"account": "7"})
    assert refused.status_code == 400
    page = client.post(choose.redirect_chain[-1][0], {"account": "1"}, follow=True)

    assert "Crumb &amp; Co Bakery (Porto) is connected" in page.content.decode()
    channel = Channel.objects.get(network=NETWORK)
    assert channel.remote_account_id == PORTO
    assert channel.time_zone == "Europe/Lisbon"
    credentials = channel.credentials
    assert credentials["location_name"] == f"accounts/1075402936/{PORTO}"
    assert credentials["refresh_token"] == "1//0gBakeryRefreshToken"
    assert "1//0gBakeryRefreshToken" not in channel.credentials_encrypted
    assert channel.has_account
    # The offer is used once.
    again = client.post(choose.redirect_chain[-1][0], {"account": "0"}, follow=True)
    assert "expired or was already made" in shown(again)
    assert Channel.objects.filter(network=NETWORK).count() == 1


@pytest.mark.django_db
def test_a_login_with_one_location_connects_it_and_its_posts_go_out_with_a_button(
    google, workspace, owner, signed_in
):
    google.play("one_location", "publish_photo")
    client = signed_in(owner)

    page = consent(client, start(client, workspace))

    assert "Crumb &amp; Co Bakery (Lisboa) is connected" in page.content.decode()
    channel = Channel.objects.get(network=NETWORK)
    post = create_post(
        workspace,
        owner,
        PostContent(
            text="Fresh sourdough every morning from 7. Order ahead: https://crumb.example/order",
            channel_ids=[channel.pk],
            scheduled_at=timezone.now() + timedelta(days=1),
        ),
    )
    delivery = post.deliveries.get()
    type(delivery).objects.filter(pk=delivery.pk).update(
        scheduled_at=timezone.now() - timedelta(seconds=5)
    )

    assert run(delivery.pk, "w1") == DeliveryState.PUBLISHED

    delivery.refresh_from_db()
    assert (
        delivery.remote_id
        == "accounts/1075402936/locations/9281089117903930794/localPosts/1836450792013847112"
    )
    [sent] = google.requests_to(
        "POST", "/v4/accounts/1075402936/locations/9281089117903930794/localPosts"
    )
    button = json.loads(sent.body)["callToAction"]
    assert button["actionType"] == "LEARN_MORE"
    # The text's link as it went out (with the workspace's UTM tags).
    assert button["url"].startswith("https://crumb.example/order?utm_source=google_business")


@pytest.mark.django_db
def test_a_denied_consent_connects_nothing(google, workspace, owner, signed_in):
    client = signed_in(owner)
    response = start(client, workspace)
    state = parse_qs(urlsplit(response["Location"]).query)["state"][0]

    page = client.get(CALLBACK, {"error": "access_denied", "state": state}, follow=True)

    assert "did not allow Socialdesk" in shown(page)
    assert not Channel.objects.filter(network=NETWORK).exists()
    assert google.requests_to("POST", "/token") == []


@pytest.mark.django_db
def test_a_wrong_or_reused_state_is_refused(google, workspace, owner, signed_in):
    client = signed_in(owner)
    response = start(client, workspace)
    state = parse_qs(urlsplit(response["Location"]).query)["state"][0]

    wrong = client.get(CALLBACK, {"code": "c", "state": "not-" + state}, follow=True)
    assert "does not belong to a connection started in this browser" in shown(wrong)

    google.play("one_location")
    consent(client, response)
    assert Channel.objects.filter(network=NETWORK).count() == 1
    reused = client.get(CALLBACK, {"code": "c", "state": state}, follow=True)
    assert "already used" in shown(reused)
    assert len(google.requests_to("POST", "/token")) == 1


@pytest.mark.django_db
def test_a_token_exchange_google_refuses_connects_nothing(google, workspace, owner, signed_in):
    google.play("exchange_refused")
    client = signed_in(owner)

    page = consent(client, start(client, workspace))

    assert "did not accept the authorization" in shown(page)
    assert not Channel.objects.filter(network=NETWORK).exists()


@pytest.mark.django_db
def test_reconnecting_keeps_the_stored_refresh_token_when_google_sends_none(
    google, workspace, owner, signed_in
):
    google.play("one_location")
    channel = Channel.objects.create(
        workspace=workspace,
        network=NETWORK,
        handle="Crumb & Co Bakery (Lisboa)",
        remote_account_id=LISBOA,
        status=ChannelStatus.NEEDS_RECONNECT,
    )
    channel.set_credentials(
        {"access_token": "old", "refresh_token": "kept-refresh", "location_name": "x"}
    )
    channel.save()
    google.answer(
        "POST",
        "/token",
        {"status": 200, "body": {"access_token": "ya29.new", "expires_in": 3599}},
        query={"grant_type": "authorization_code"},
    )
    client = signed_in(owner)

    page = consent(client, start(client, workspace, channel=str(channel.pk)))

    assert "is connected" in shown(page)
    channel.refresh_from_db()
    assert Channel.objects.filter(network=NETWORK).count() == 1
    assert channel.is_connected
    assert channel.credentials["access_token"] == "ya29.new"
    assert channel.credentials["refresh_token"] == "kept-refresh"
    assert channel.credentials["location_name"] == f"accounts/1075402936/{LISBOA}"


@pytest.mark.django_db
def test_a_login_without_locations_says_what_to_do(google, workspace, owner, signed_in):
    google.answer("GET", "/v1/accounts/1075402936/locations", {"status": 200, "body": {}})
    client = signed_in(owner)
    page = consent(client, start(client, workspace))
    assert "manages no Business Profile location" in shown(page)


@pytest.mark.django_db
def test_the_connect_page_says_what_the_operator_registers(google, workspace, owner, signed_in):
    page = signed_in(owner).get(reverse("network_connect", args=[workspace.slug, NETWORK]))
    assert page.status_code == 200
    assert b"business.manage" in page.content
    assert CALLBACK.encode() in page.content


@pytest.mark.django_db
def test_without_the_app_the_page_says_to_ask_the_administrator(
    google, workspace, owner, signed_in, settings
):
    settings.NETWORK_APPS = {}
    page = signed_in(owner).get(reverse("network_connect", args=[workspace.slug, NETWORK]))
    assert b"ask your administrator to configure Google Business Profile" in page.content
