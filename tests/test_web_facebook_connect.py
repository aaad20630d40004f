"""Connecting Facebook Pages (and a Threads profile) from the Channels page, through the real
connect views, the real OAuth flow (``networks.oauth``) and the real connector modules.

Facebook and Threads cannot run here: ``RecordedNetwork`` answers from
``tests/recordings/facebook/`` and ``tests/recordings/threads/``, written by hand from
Meta's reference. The person's visit to the consent page is played by the recording itself
(it redirects back with a code and the state it was given), read here with httpx.
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
from socialdesk.networks.models import Channel, Network
from socialdesk.publishing.dispatch import run
from socialdesk.publishing.models import Delivery, DeliveryState
from tests.recorded import RecordedNetwork

CALLBACK = "http://testserver/channels/connect/facebook/callback/"


@pytest.fixture(scope="module")
def facebook_server():
    recorded = RecordedNetwork("facebook")
    yield recorded
    recorded.stop()


@pytest.fixture(scope="module")
def threads_server():
    recorded = RecordedNetwork("threads")
    yield recorded
    recorded.stop()


@pytest.fixture
def meta(facebook_server, threads_server, settings):
    facebook_server.reset()
    facebook_server.play("oauth")
    threads_server.reset()
    threads_server.play("oauth")
    settings.NETWORK_URL_OVERRIDES = {
        "facebook": facebook_server.url,
        "threads": threads_server.url,
    }
    settings.NETWORK_APPS = {
        "facebook": {"client_id": "1234567890", "client_secret": "app-secret"},
        "threads": {"client_id": "990602627938098", "client_secret": "s3cret"},
    }
    return facebook_server


def start(client, workspace, network: str = "facebook", **extra):
    url = reverse("network_connect", args=[workspace.slug, network])
    return client.post(url, {"time_zone": "", **extra})


def consent(authorize_url: str) -> str:
    """What the network's consent page sends the browser back to (path and query)."""
    answer = httpx.get(authorize_url, follow_redirects=False, trust_env=False)
    assert answer.status_code == 302
    back = urlsplit(answer.headers["Location"])
    return f"{back.path}?{back.query}"


def state_of(response) -> str:
    return parse_qs(urlsplit(response["Location"]).query)["state"][0]


def shown(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


@pytest.mark.django_db
def test_a_login_with_several_pages_offers_them_and_connects_the_chosen_one(
    meta, workspace, owner, signed_in
):
    client = signed_in(owner)

    started = start(client, workspace)

    assert started.status_code == 302
    query = parse_qs(urlsplit(started["Location"]).query)
    assert started["Location"].startswith(f"{meta.url}/v24.0/dialog/oauth?")
    assert query["client_id"] == ["1234567890"]
    assert query["redirect_uri"] == [CALLBACK]
    assert query["scope"][0].split(",")[:2] == ["pages_show_list", "pages_manage_posts"]
    assert "code_challenge" not in query

    choose = client.get(consent(started["Location"]), follow=True)

    assert choose.request["PATH_INFO"].startswith(f"/w/{workspace.slug}/channels/choose/")
    page = choose.content.decode()
    assert "Crumb &amp; Co Bakery" in page and "Crumb Catering" in page
    assert "Flour Market" not in page  # no right to publish there
    assert not Channel.objects.exists()
    [token] = meta.requests_to("POST", "/v24.0/oauth/access_token")
    assert token.form["code"] == ["AQD-fb-code"]
    assert token.form["client_secret"] == ["app-secret"]
    assert token.form["redirect_uri"] == [CALLBACK]

    done = client.post(choose.request["PATH_INFO"], {"account": "1"}, follow=True)

    assert "Crumb Catering is connected" in shown(done)
    channel = Channel.objects.get()
    assert (channel.network, channel.handle) == (Network.FACEBOOK, "Crumb Catering")
    assert channel.remote_account_id == "104857600000002"
    assert channel.credentials["access_token"] == "EAAB-page-token-catering"
    assert channel.credentials["page_id"] == "104857600000002"
    assert "EAAB-page-token-catering" not in channel.credentials_encrypted
    assert channel.has_account

    again = client.post(choose.request["PATH_INFO"], {"account": "0"}, follow=True)
    assert "expired or was already made" in shown(again)
    assert Channel.objects.count() == 1


@pytest.mark.django_db
def test_a_login_with_one_page_connects_it_at_once(meta, workspace, owner, signed_in):
    meta.play("oauth_one_page")
    client = signed_in(owner)

    done = client.get(consent(start(client, workspace)["Location"]), follow=True)

    assert "Crumb &amp; Co Bakery is connected" in done.content.decode()
    assert Channel.objects.get().credentials["access_token"] == "EAAB-page-token-bakery-2"


@pytest.mark.django_db
def test_reconnecting_keeps_the_channel_and_what_the_new_answer_leaves_empty(
    meta, workspace, owner, signed_in
):
    meta.play("oauth_one_page")
    channel = Channel.objects.create(
        workspace=workspace,
        network=Network.FACEBOOK,
        handle="Crumb & Co Bakery",
        remote_account_id="104857600000001",
    )
    channel.set_credentials(
        {"access_token": "revoked", "page_id": "104857600000001", "kept": "still here"}
    )
    channel.save()
    client = signed_in(owner)

    started = start(client, workspace, channel=str(channel.pk))
    client.get(consent(started["Location"]), follow=True)

    assert Channel.objects.count() == 1
    channel.refresh_from_db()
    assert channel.credentials["access_token"] == "EAAB-page-token-bakery-2"
    assert channel.credentials["kept"] == "still here"


@pytest.mark.django_db
def test_denying_the_consent_connects_nothing(meta, workspace, owner, signed_in):
    client = signed_in(owner)
    state = state_of(start(client, workspace))

    page = client.get(
        reverse("network_callback", args=["facebook"]),
        {"error": "access_denied", "error_reason": "user_denied", "state": state},
        follow=True,
    )

    assert "You did not allow Socialdesk on Facebook" in shown(page)
    assert not Channel.objects.exists()
    assert not meta.requests_to("POST", "/v24.0/oauth/access_token")


@pytest.mark.django_db
def test_a_wrong_or_reused_state_is_refused(meta, workspace, owner, signed_in):
    client = signed_in(owner)
    back = consent(start(client, workspace)["Location"])
    forged = back.replace("state=", "state=x")

    refused = client.get(forged, follow=True)
    assert "does not belong to a connection started in this browser" in shown(refused)

    client.get(back, follow=True)  # the real answer, once
    reused = client.get(back, follow=True)
    assert "already used" in shown(reused)
    assert len(meta.requests_to("POST", "/v24.0/oauth/access_token")) == 1


@pytest.mark.django_db
def test_a_token_exchange_that_fails_connects_nothing(meta, workspace, owner, signed_in):
    meta.play("oauth_refused")
    client = signed_in(owner)

    page = client.get(consent(start(client, workspace)["Location"]), follow=True)

    assert "did not accept the authorization" in shown(page)
    assert not Channel.objects.exists()


@pytest.mark.django_db
def test_without_the_operators_app_the_page_says_to_ask_the_administrator(
    meta, workspace, owner, signed_in, settings
):
    settings.NETWORK_APPS = {}
    client = signed_in(owner)

    page = client.get(reverse("network_connect", args=[workspace.slug, "facebook"]))

    assert "ask your administrator to configure Facebook" in page.content.decode()


@pytest.mark.django_db
def test_connecting_threads_stores_the_long_lived_token_of_the_profile(
    meta, threads_server, workspace, owner, signed_in
):
    client = signed_in(owner)
    started = start(client, workspace, "threads")
    assert started["Location"].startswith(f"{threads_server.url}/oauth/authorize?")
    back = consent(started["Location"])

    done = client.get(back, follow=True)

    assert "@crumbandco is connected" in shown(done)
    channel = Channel.objects.get(network=Network.THREADS)
    assert channel.credentials["access_token"] == "THQVJ-long-token"
    assert channel.credentials["threads_user_id"] == "25900000000000001"
    assert channel.has_account


# -- the engine sends through the connected channels -----------------------------------------


def connected(workspace, network: str, handle: str, credentials: dict) -> Channel:
    channel = Channel.objects.create(
        workspace=workspace, network=network, handle=handle, remote_account_id="1"
    )
    channel.set_credentials(credentials)
    channel.save()
    return channel


def due_post(workspace, owner, channel: Channel, text: str) -> Delivery:
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
def test_the_worker_publishes_to_a_facebook_page(meta, workspace, owner):
    meta.play("publish")
    channel = connected(
        workspace,
        Network.FACEBOOK,
        "Crumb & Co Bakery",
        {"access_token": "EAAB-page-token-bakery", "page_id": "104857600000001"},
    )
    delivery = due_post(workspace, owner, channel, "Fresh sourdough at 7")

    assert run(delivery.pk, "w1") == DeliveryState.PUBLISHED

    delivery.refresh_from_db()
    assert delivery.remote_id == "104857600000001_900000000000001"
    [created] = meta.requests_to("POST", "/v24.0/104857600000001/feed")
    assert created.form["message"] == ["Fresh sourdough at 7"]


@pytest.mark.django_db
def test_the_worker_stores_a_refreshed_threads_token_on_the_channel(
    meta, threads_server, workspace, owner
):
    threads_server.play("publish")
    now = time.time()
    channel = connected(
        workspace,
        Network.THREADS,
        "@crumbandco",
        {
            "access_token": "THQVJ-long-token",
            "threads_user_id": "25900000000000001",
            "username": "crumbandco",
            "issued_at": now - 55 * 86400,
            "expires_at": now + 5 * 86400,
        },
    )
    delivery = due_post(workspace, owner, channel, "Cinnamon buns are back")

    assert run(delivery.pk, "w1") == DeliveryState.PUBLISHED

    channel.refresh_from_db()
    assert channel.credentials["access_token"] == "THQVJ-refreshed-token"
    assert channel.credentials["expires_at"] > now + 59 * 86400
    assert "THQVJ-refreshed-token" not in channel.credentials_encrypted
    publish = threads_server.requests_to("POST", "/v1.0/25900000000000001/threads_publish")[0]
    assert publish.headers["Authorization"] == "Bearer THQVJ-refreshed-token"
