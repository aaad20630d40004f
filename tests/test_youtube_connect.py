"""Connecting a YouTube channel from the Channels page, through the real views and Google's
OAuth flow played from ``tests/recordings/youtube/`` (written by hand from Google's
reference) over real HTTP; the consent page is played as in ``test_google_business_connect``.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from socialdesk.networks.models import Channel
from tests.recorded import RecordedNetwork
from tests.test_google_business_connect import consent, shown

NETWORK = "youtube"


@pytest.fixture(scope="module")
def server():
    recorded = RecordedNetwork(NETWORK)
    yield recorded
    recorded.stop()


@pytest.fixture
def google(server, settings) -> RecordedNetwork:
    server.reset()
    settings.NETWORK_URL_OVERRIDES = {NETWORK: server.url}
    settings.NETWORK_APPS = {NETWORK: {"client_id": "crumb-tube", "client_secret": "s"}}
    server.play("oauth", "channels")
    return server


def start(client, workspace):
    return client.post(reverse("network_connect", args=[workspace.slug, NETWORK]), {})


@pytest.mark.django_db
def test_the_consent_connects_the_channel_it_opened(google, workspace, owner, signed_in):
    client = signed_in(owner)
    response = start(client, workspace)
    scopes = parse_qs(urlsplit(response["Location"]).query)["scope"][0].split()
    assert scopes == [
        "https://www.googleapis.com/auth/youtube.upload",
        "https://www.googleapis.com/auth/youtube.force-ssl",
    ]

    page = consent(client, response)

    assert "@crumbandco is connected" in shown(page)
    channel = Channel.objects.get(network=NETWORK)
    assert channel.remote_account_id == "UCbakeryCrumbCo0000000001"
    assert channel.credentials["uploads_playlist"] == "UUbakeryCrumbCo0000000001"
    assert channel.credentials["refresh_token"] == "1//0gTubeRefreshToken"
    assert channel.has_account


@pytest.mark.django_db
def test_a_login_without_a_channel_says_how_to_make_one(google, workspace, owner, signed_in):
    google.play("no_channel")
    client = signed_in(owner)
    page = consent(client, start(client, workspace))
    assert "has no YouTube channel" in shown(page)
    assert not Channel.objects.filter(network=NETWORK).exists()
