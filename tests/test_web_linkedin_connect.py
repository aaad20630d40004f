"""Connecting a LinkedIn Page from the Channels page, through the real connect views and
LinkedIn's OAuth flow played back from ``tests/recordings/linkedin/`` (written by hand from
LinkedIn's reference; real HTTP on 127.0.0.1).

The person's visit to LinkedIn's consent page is the one step a test client cannot make: the
tests ask the recorded consent page for its redirect (as a browser would follow it) and bring
its ``code`` and ``state`` back to the callback.
"""

from __future__ import annotations

import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.urls import reverse
from django.utils import timezone

from socialdesk.content.services import PostContent, create_post
from socialdesk.networks.models import Channel, ChannelStatus, Network
from socialdesk.publishing.dispatch import run
from socialdesk.publishing.models import DeliveryState
from tests.test_linkedin_connector import ORG, REFRESH, SHARE, TOKEN, Recorded

CALLBACK = "http://testserver/channels/connect/linkedin/callback/"


@pytest.fixture(scope="module")
def server():
    recorded = Recorded("linkedin")
    yield recorded
    recorded.stop()


@pytest.fixture
def linkedin(server, settings):
    server.reset()
    server.play("oauth")
    settings.NETWORK_URL_OVERRIDES = {"linkedin": server.url}
    settings.NETWORK_APPS = {"linkedin": {"client_id": "78xe1zgd7p1q2f", "client_secret": "s3"}}
    return server


def start(client, workspace, **extra):
    url = reverse("network_connect", args=[workspace.slug, "linkedin"])
    return client.post(url, {"time_zone": "Europe/Berlin", **extra})


def consent(response) -> dict[str, str]:
    """What LinkedIn's consent page sends the browser back with."""
    answer = httpx.get(response["Location"], follow_redirects=False)
    assert answer.status_code == 302
    back = urlsplit(answer.headers["Location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == CALLBACK
    return {k: v[0] for k, v in parse_qs(back.query).items()}


def callback(client, **query):
    return client.get(reverse("network_callback", args=["linkedin"]), query, follow=True)


def shown(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


@pytest.mark.django_db
def test_consent_opens_two_pages_and_the_chosen_one_becomes_the_channel(
    linkedin, workspace, owner, signed_in
):
    client = signed_in(owner)

    response = start(client, workspace)

    assert response.status_code == 302
    query = parse_qs(urlsplit(response["Location"]).query)
    assert response["Location"].startswith(f"{linkedin.url}/oauth/v2/authorization?")
    assert query["client_id"] == ["78xe1zgd7p1q2f"]
    assert query["redirect_uri"] == [CALLBACK]
    assert query["scope"] == [
        "w_organization_social r_organization_social rw_organization_admin r_organization_admin"
    ]
    assert "code_challenge" not in query  # LinkedIn's PKCE is for native apps
    page = client.get(reverse("network_callback", args=["linkedin"]), consent(response))
    assert page.status_code == 302 and "/choose/" in page["Location"]
    choosing = client.get(page["Location"])
    assert b"Crumb Bakery" in choosing.content and b"Crumb Catering" in choosing.content
    assert not Channel.objects.exists()

    done = client.post(page["Location"], {"account": "0"}, follow=True)

    assert "crumb-bakery is connected" in shown(done)
    channel = Channel.objects.get(network=Network.LINKEDIN)
    assert channel.remote_account_id == ORG
    assert channel.display_name == "Crumb Bakery"
    assert channel.time_zone == "Europe/Berlin"
    assert channel.has_account
    assert channel.credentials["access_token"] == TOKEN
    assert channel.credentials["refresh_token"] == REFRESH
    assert channel.credentials["expires_at"] > time.time() + 5_000_000
    assert TOKEN not in channel.credentials_encrypted
    [token] = linkedin.requests_to("POST", "/oauth/v2/accessToken")
    assert token.form["redirect_uri"] == [CALLBACK]
    assert token.form["client_secret"] == ["s3"]
    # The choice is made once.
    again = client.post(page["Location"], {"account": "1"}, follow=True)
    assert "expired or was already made" in shown(again)
    assert Channel.objects.count() == 1


@pytest.mark.django_db
def test_the_connected_page_publishes_through_the_engine(linkedin, workspace, owner, signed_in):
    client = signed_in(owner)
    response = start(client, workspace)
    page = client.get(reverse("network_callback", args=["linkedin"]), consent(response))
    client.post(page["Location"], {"account": "0"})
    channel = Channel.objects.get()
    linkedin.play("publish")
    post = create_post(
        workspace,
        owner,
        PostContent(
            text="Fresh sourdough at 7",
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
    assert delivery.remote_id == SHARE
    [sent] = linkedin.requests_to("POST", "/rest/posts")
    assert sent.headers["Authorization"] == f"Bearer {TOKEN}"


@pytest.mark.django_db
def test_denying_consent_connects_nothing(linkedin, workspace, owner, signed_in):
    client = signed_in(owner)
    state = consent(start(client, workspace))["state"]

    page = callback(
        client,
        error="user_cancelled_authorize",
        error_description="The user cancelled the authorization",
        state=state,
    )

    assert "You did not allow Socialdesk on LinkedIn Page" in shown(page)
    assert not Channel.objects.exists()
    assert not linkedin.requests_to("POST", "/oauth/v2/accessToken")


@pytest.mark.django_db
def test_access_denied_connects_nothing(linkedin, workspace, owner, signed_in):
    client = signed_in(owner)
    state = consent(start(client, workspace))["state"]

    page = callback(client, error="access_denied", state=state)

    assert "nothing was connected" in shown(page)
    assert not Channel.objects.exists()


@pytest.mark.django_db
def test_a_wrong_or_reused_state_is_refused(linkedin, workspace, owner, signed_in):
    client = signed_in(owner)
    back = consent(start(client, workspace))

    wrong = callback(client, code=back["code"], state="not-the-state")
    assert "does not belong to a connection started in this browser" in shown(wrong)
    first = client.get(reverse("network_callback", args=["linkedin"]), back)
    assert first.status_code == 302
    reused = callback(client, **back)

    assert "already used" in shown(reused)
    assert len(linkedin.requests_to("POST", "/oauth/v2/accessToken")) == 1


@pytest.mark.django_db
def test_a_failing_token_exchange_connects_nothing(linkedin, workspace, owner, signed_in):
    linkedin.answer(
        "POST",
        "/oauth/v2/accessToken",
        {
            "status": 400,
            "body": {
                "error": "invalid_request",
                "error_description": "Unable to retrieve access token: code not found",
            },
        },
    )
    client = signed_in(owner)

    page = callback(client, **consent(start(client, workspace)))

    assert "LinkedIn Page did not accept the authorization" in shown(page)
    assert not Channel.objects.exists()


@pytest.mark.django_db
def test_reconnecting_keeps_the_stored_refresh_token_when_the_new_answer_has_none(
    linkedin, workspace, owner, signed_in
):
    channel = Channel.objects.create(
        workspace=workspace,
        network=Network.LINKEDIN,
        handle="crumb-bakery",
        remote_account_id=ORG,
        status=ChannelStatus.NEEDS_RECONNECT,
    )
    channel.set_credentials(
        {"access_token": "old", "refresh_token": "kept-refresh", "organization_urn": ORG}
    )
    channel.save()
    linkedin.answer(
        "POST",
        "/oauth/v2/accessToken",
        {"status": 200, "body": {"access_token": "AQVnew", "expires_in": 5184000}},
    )
    client = signed_in(owner)

    response = start(client, workspace, channel=str(channel.pk))
    page = client.get(reverse("network_callback", args=["linkedin"]), consent(response))
    client.post(page["Location"], {"account": "0"})

    channel.refresh_from_db()
    assert Channel.objects.count() == 1
    assert channel.is_connected
    assert channel.credentials["access_token"] == "AQVnew"
    assert channel.credentials["refresh_token"] == "kept-refresh"


@pytest.mark.django_db
def test_a_login_that_administers_no_page_is_told_what_to_do(linkedin, workspace, owner, signed_in):
    linkedin.answer(
        "GET",
        "/rest/organizationAcls",
        {"status": 200, "body": {"elements": [], "paging": {"count": 100, "start": 0}}},
    )
    client = signed_in(owner)

    page = callback(client, **consent(start(client, workspace)))

    assert "not an administrator of any LinkedIn Page" in shown(page)
    assert not Channel.objects.exists()


@pytest.mark.django_db
def test_an_outsider_cannot_start_connecting(linkedin, workspace, outsider, signed_in):
    client = signed_in(outsider)

    response = start(client, workspace)

    assert response.status_code in (403, 404)


@pytest.mark.django_db
def test_the_connect_page_says_what_the_operator_registers(linkedin, workspace, owner, signed_in):
    client = signed_in(owner)

    page = client.get(reverse("network_connect", args=[workspace.slug, "linkedin"]))

    text = page.content.decode()
    assert page.status_code == 200
    assert "Community Management API" in text
    assert f"Redirect address to register: <code>{CALLBACK}</code>" in text
    assert "Recorded exchanges written from LinkedIn" in text


@pytest.mark.django_db
def test_without_the_operators_app_the_page_says_to_ask_the_administrator(
    linkedin, settings, workspace, owner, signed_in
):
    settings.NETWORK_APPS = {}
    client = signed_in(owner)

    page = client.get(reverse("network_connect", args=[workspace.slug, "linkedin"]))

    assert "ask your administrator to configure LinkedIn Page" in page.content.decode()
