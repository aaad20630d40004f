"""Connecting a TikTok account from the Channels page, through the real connect views and
TikTok's Login Kit flow played back from ``tests/recordings/tiktok/`` (written by hand from
TikTok's reference; real HTTP on 127.0.0.1). One consent is one account: it is connected at
once, with how it may post (direct, or drafts to its inbox) from the scopes granted.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.urls import reverse

from socialdesk.networks.models import Channel, Network
from tests.test_linkedin_connector import Recorded
from tests.test_tiktok_connector import OPEN_ID, REFRESH, TOKEN

CALLBACK = "http://testserver/channels/connect/tiktok/callback/"


@pytest.fixture(scope="module")
def server():
    recorded = Recorded("tiktok")
    yield recorded
    recorded.stop()


@pytest.fixture
def tiktok(server, settings):
    server.reset()
    server.play("oauth")
    settings.NETWORK_URL_OVERRIDES = {"tiktok": server.url}
    settings.NETWORK_APPS = {"tiktok": {"client_id": "awx1yz2example", "client_secret": "tt-s3"}}
    return server


@pytest.mark.django_db
def test_one_consent_connects_the_account_with_its_way_of_posting(
    tiktok, workspace, owner, signed_in
):
    client = signed_in(owner)

    response = client.post(reverse("network_connect", args=[workspace.slug, "tiktok"]), {})

    query = parse_qs(urlsplit(response["Location"]).query)
    assert response["Location"].startswith(f"{tiktok.url}/v2/auth/authorize/?")
    assert query["client_key"] == ["awx1yz2example"]
    assert "client_id" not in query
    assert query["scope"][0].startswith("user.info.basic,user.info.profile,")
    back = urlsplit(httpx.get(response["Location"]).headers["Location"])
    page = client.get(
        reverse("network_callback", args=["tiktok"]),
        {k: v[0] for k, v in parse_qs(back.query).items()},
        follow=True,
    )

    assert "crumbbakery is connected" in " ".join(str(m) for m in page.context["messages"])
    channel = Channel.objects.get(network=Network.TIKTOK)
    assert channel.remote_account_id == OPEN_ID
    assert channel.has_account
    credentials = channel.credentials
    assert credentials["access_token"] == TOKEN
    assert credentials["refresh_token"] == REFRESH
    assert credentials["post_mode"] == "direct"
    [token] = tiktok.requests_to("POST", "/v2/oauth/token")
    assert token.form["client_key"] == ["awx1yz2example"]
    assert token.form["client_secret"] == ["tt-s3"]
    assert token.form["redirect_uri"] == [CALLBACK]
