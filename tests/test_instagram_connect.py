"""Connecting Instagram from the Channels page (Business Login for Instagram), then publishing
a carousel through the engine.

No Instagram server can run here: ``RecordedNetwork`` plays ``tests/recordings/instagram/``
(written by hand from Meta's reference) over real HTTP on 127.0.0.1. The person's visit to
Instagram's consent page is the one step a test client cannot make: the tests take the
``state`` from the redirect and come back to the callback with it, as Instagram would.
Instagram Login opens exactly one account, so there is no page to choose one.
"""

from __future__ import annotations

import io
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image
from recorded import RecordedNetwork

from socialdesk.content.media import upload_media
from socialdesk.content.services import PostContent, create_post, update_delivery
from socialdesk.networks.models import Channel, ChannelStatus, Network
from socialdesk.publishing.dispatch import run
from socialdesk.publishing.models import Delivery, DeliveryState

IG = "17841400000000001"
CALLBACK = "http://testserver/channels/connect/instagram/callback/"


@pytest.fixture(scope="module")
def recorded():
    server = RecordedNetwork("instagram")
    yield server
    server.stop()


@pytest.fixture
def net(recorded, settings, tmp_path):
    recorded.reset()
    recorded.play("oauth")
    settings.NETWORK_URL_OVERRIDES = {"instagram": recorded.url}
    settings.NETWORK_APPS = {"instagram": {"client_id": "990602627938098", "client_secret": "s3"}}
    settings.MEDIA_ROOT = tmp_path
    settings.SITE_URL = "https://desk.example"
    return recorded


def start(client, workspace, **form):
    return client.post(reverse("network_connect", args=[workspace.slug, "instagram"]), form)


def state_of(response) -> str:
    return parse_qs(urlsplit(response["Location"]).query)["state"][0]


def come_back(client, **query):
    return client.get(CALLBACK, query)


@pytest.mark.django_db
def test_consent_connects_the_account_with_a_long_lived_token(net, workspace, owner, client):
    client.force_login(owner)
    page = client.get(reverse("network_connect", args=[workspace.slug, "instagram"]))
    assert b"Continue on Instagram" in page.content
    assert CALLBACK.encode() in page.content
    assert b"reachable from the internet" in page.content

    response = start(client, workspace)
    authorize = urlsplit(response["Location"])
    query = parse_qs(authorize.query)
    assert authorize.path == "/oauth/authorize"
    assert query["scope"] == [
        "instagram_business_basic,instagram_business_content_publish,"
        "instagram_business_manage_comments,instagram_business_manage_insights"
    ]
    assert query["client_id"] == ["990602627938098"]
    assert "code_challenge" not in query

    done = come_back(client, code="AQBx-code-1", state=state_of(response))

    assert done["Location"] == reverse("channel_list", args=[workspace.slug])
    channel = Channel.objects.get(network=Network.INSTAGRAM)
    assert (channel.handle, channel.display_name, channel.remote_account_id) == (
        "@crumbbakery",
        "Crumb Bakery",
        IG,
    )
    credentials = channel.credentials
    assert credentials["access_token"] == "IGQWlong-lived-1"
    assert credentials["ig_user_id"] == IG
    assert credentials["expires_at"] > time.time() + 59 * 86400
    assert channel.has_account
    (code,) = net.requests_to("POST", "/oauth/access_token")
    assert {k: v[0] for k, v in code.form.items()} == {
        "client_id": "990602627938098",
        "client_secret": "s3",
        "grant_type": "authorization_code",
        "code": "AQBx-code-1",
        "redirect_uri": CALLBACK,
    }
    (exchange,) = net.requests_to("GET", "/access_token")
    assert exchange.query["grant_type"] == ["ig_exchange_token"]
    assert exchange.query["access_token"] == ["IGQWshort-lived-1"]


@pytest.mark.django_db
def test_denying_on_instagram_connects_nothing(net, workspace, owner, client):
    client.force_login(owner)
    response = start(client, workspace)
    done = come_back(
        client,
        error="access_denied",
        error_reason="user_denied",
        error_description="Permissions error",
        state=state_of(response),
    )
    assert done["Location"] == reverse("channel_list", args=[workspace.slug])
    assert not Channel.objects.exists()
    assert net.requests_to("POST", "/oauth/access_token") == []
    page = client.get(done["Location"])
    assert b"You did not allow Socialdesk on Instagram" in page.content


@pytest.mark.django_db
def test_a_wrong_or_reused_state_connects_nothing(net, workspace, owner, client):
    client.force_login(owner)
    response = start(client, workspace)
    assert come_back(client, code="AQBx-code-1", state="forged")["Location"] == reverse("home")
    assert not Channel.objects.exists()

    come_back(client, code="AQBx-code-1", state=state_of(response))
    assert Channel.objects.count() == 1
    again = come_back(client, code="AQBx-code-1", state=state_of(response))
    assert again["Location"] == reverse("home")
    assert len(net.requests_to("POST", "/oauth/access_token")) == 1


@pytest.mark.django_db
def test_a_refused_code_exchange_connects_nothing(net, workspace, owner, client):
    net.play("oauth_code_refused")
    client.force_login(owner)
    response = start(client, workspace)
    done = come_back(client, code="stale", state=state_of(response))
    assert not Channel.objects.exists()
    page = client.get(done["Location"])
    assert b"Instagram did not accept the authorization" in page.content
    assert net.requests_to("GET", "/access_token") == []


@pytest.mark.django_db
def test_an_app_not_configured_says_to_ask_the_administrator(
    net, workspace, owner, client, settings
):
    settings.NETWORK_APPS = {}
    client.force_login(owner)
    page = client.get(reverse("network_connect", args=[workspace.slug, "instagram"]))
    assert b"ask your administrator to configure Instagram" in page.content


@pytest.mark.django_db
def test_reconnecting_keeps_the_channel_and_its_deliveries(net, workspace, owner, client):
    channel = Channel.objects.create(
        workspace=workspace,
        network=Network.INSTAGRAM,
        handle="@crumbbakery",
        remote_account_id=IG,
        status=ChannelStatus.NEEDS_RECONNECT,
    )
    channel.set_credentials(
        {"access_token": "expired", "ig_user_id": IG, "username": "crumbbakery"}
    )
    channel.save()
    client.force_login(owner)

    response = start(client, workspace, channel=str(channel.pk))
    come_back(client, code="AQBx-code-1", state=state_of(response))

    channel.refresh_from_db()
    assert Channel.objects.count() == 1
    assert channel.is_connected
    assert channel.credentials["access_token"] == "IGQWlong-lived-1"


def jpeg(name: str, size=(1080, 1080)) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, (190, 140, 80)).save(buffer, "JPEG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


@pytest.mark.django_db(transaction=True)
def test_the_engine_publishes_a_carousel_from_the_media_library(net, workspace, owner):
    net.play("publish_carousel")
    channel = Channel.objects.create(
        workspace=workspace, network=Network.INSTAGRAM, handle="@crumbbakery", remote_account_id=IG
    )
    channel.set_credentials(
        {
            "access_token": "IGQWlong-lived-1",
            "ig_user_id": IG,
            "username": "crumbbakery",
            "expires_at": time.time() + 50 * 86400,
            "since": time.time() - 86400 * 3,
        }
    )
    channel.save()
    media = [
        upload_media(workspace, owner, jpeg("loaf.jpg"), "A sourdough loaf"),
        upload_media(workspace, owner, jpeg("buns.jpg", (1080, 1350)), "Cinnamon buns"),
    ]
    post = create_post(
        workspace,
        owner,
        PostContent(
            text="Fresh sourdough, out of the oven at 7.",
            channel_ids=[channel.pk],
            media_ids=[m.pk for m in media],
            scheduled_at=timezone.now() + timedelta(hours=1),
        ),
    )
    delivery = post.deliveries.get()
    update_delivery(delivery, first_comment="Order at crumb.example")
    Delivery.objects.filter(pk=delivery.pk).update(
        scheduled_at=timezone.now() - timedelta(seconds=5)
    )

    assert run(delivery.pk, "w1") == DeliveryState.PUBLISHED

    delivery.refresh_from_db()
    assert delivery.remote_id == "18000000000000300"
    children = [
        s for s in net.requests_to("POST", f"/v24.0/{IG}/media") if "is_carousel_item" in s.fields
    ]
    urls = [s.fields["image_url"][0] for s in children]
    assert urls == [f"https://desk.example/media/{m.file.name}" for m in media]
    assert [s.fields["alt_text"][0] for s in children] == ["A sourdough loaf", "Cinnamon buns"]
    assert len(net.requests_to("POST", "/v24.0/18000000000000300/comments")) == 1
