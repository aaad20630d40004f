"""Connecting a Mastodon account from the Channels page through the instance's OAuth flow.

No Mastodon server installs here: the instance is ``RecordedInstance`` from
``test_mastodon_connector`` (real HTTP on 127.0.0.1, the real ``Mastodon.py`` client),
answering from ``tests/recordings/mastodon/``, written by hand from Mastodon's API reference
(``methods/apps``, ``methods/oauth``, ``methods/accounts/#verify_credentials``). The person's
visit to the instance's authorize page is the one step a test client cannot make: the tests
follow the redirect's ``state`` back to the callback, as the instance would.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from socialdesk.content.services import PostContent, create_post
from socialdesk.networks import mastodon_connect, services
from socialdesk.networks.mastodon import forget_instance_limits
from socialdesk.networks.models import Channel, ChannelStatus, MastodonApp, Network
from socialdesk.publishing.dispatch import run
from socialdesk.publishing.models import Delivery, DeliveryState
from tests.test_mastodon_connector import RecordedInstance

TOKEN = "ZA-Yj3aBD8U8Cm7lKUp-lm9O9BmDgdhHzDeqsY8tlL0"  # oauth.json's token
CALLBACK = "http://testserver/channels/mastodon/callback/"


@pytest.fixture(scope="module")
def server():
    recorded = RecordedInstance()
    yield recorded
    recorded.stop()


@pytest.fixture
def instance(server) -> RecordedInstance:
    server.reset()
    server.play("oauth")
    forget_instance_limits()
    yield server
    forget_instance_limits()


def connect_url(workspace) -> str:
    return reverse("mastodon_connect", args=[workspace.slug])


def start(client, workspace, instance_url: str, **extra):
    return client.post(connect_url(workspace), {"instance_url": instance_url, **extra})


def state_of(response) -> str:
    return parse_qs(urlsplit(response["Location"]).query)["state"][0]


def callback(client, **query):
    return client.get(reverse("mastodon_callback"), query, follow=True)


def shown(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


# -- success -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_connecting_registers_once_sends_to_the_instance_and_creates_the_channel(
    instance, workspace, owner, signed_in
):
    client = signed_in(owner)

    response = start(client, workspace, instance.url + "/", time_zone="Europe/Berlin")

    assert response.status_code == 302
    location = urlsplit(response["Location"])
    query = parse_qs(location.query)
    assert response["Location"].startswith(f"{instance.url}/oauth/authorize?")
    assert query["redirect_uri"] == [CALLBACK]
    assert query["client_id"] == ["TWhM-tNSuncnqN7DBJmoyeLnk6K3iJJ71KKXxgL1hPM"]
    assert len(query["state"][0]) >= 40
    app = MastodonApp.objects.get()
    assert app.instance_url == instance.url
    assert "ZEaFUFmF0umgBX1qKJDjaU99Q31lDkOU8NutzTOoliw" not in app.credentials_encrypted
    assert app.app["client_secret"] == "ZEaFUFmF0umgBX1qKJDjaU99Q31lDkOU8NutzTOoliw"

    page = callback(client, code="the-code", state=query["state"][0])

    assert "@crumb@bakery.example is connected" in shown(page)
    channel = Channel.objects.get(network=Network.MASTODON)
    assert channel.workspace == workspace
    assert channel.handle == "@crumb@bakery.example"
    assert channel.remote_account_id == "109382"
    assert channel.time_zone == "Europe/Berlin"
    assert channel.is_connected
    assert channel.credentials["access_token"] == TOKEN
    assert TOKEN not in channel.credentials_encrypted
    [token] = instance.requests_to("POST", "/oauth/token")
    assert token.form["code"] == ["the-code"]
    assert token.form["redirect_uri"] == [CALLBACK]
    assert instance.requests_to("GET", "/api/v2/instance"), "the instance's limits were read"

    # A second account of the same instance reuses the registration.
    start(client, workspace, instance.url)
    assert len(instance.requests_to("POST", "/api/v1/apps")) == 1
    assert MastodonApp.objects.count() == 1


@pytest.mark.django_db
def test_reconnecting_keeps_the_channel_its_stored_values_and_resumes_paused_deliveries(
    instance, workspace, owner, signed_in
):
    channel = Channel.objects.create(
        workspace=workspace,
        network=Network.MASTODON,
        handle="@crumb@bakery.example",
        remote_account_id="109382",
    )
    channel.set_credentials(
        {
            "instance_url": instance.url,
            "access_token": "revoked-token",
            "account_id": "109382",
            "refresh_token": "kept-refresh-token",
            "visibility": "unlisted",
        }
    )
    channel.save()
    post = create_post(
        workspace,
        owner,
        PostContent(
            text="Fresh sourdough at 7 🍞",
            channel_ids=[channel.pk],
            scheduled_at=timezone.now() + timedelta(days=1),
        ),
    )
    delivery = post.deliveries.get()
    # Mastodon answered 401 since: the channel needs reconnecting, its delivery is paused.
    Channel.objects.filter(pk=channel.pk).update(status=ChannelStatus.NEEDS_RECONNECT)
    client = signed_in(owner)

    page = client.get(reverse("channel_list", args=[workspace.slug]))
    assert b'name="channel"' in page.content and b"Reconnect" in page.content
    response = start(client, workspace, instance.url, channel=str(channel.pk))
    callback(client, code="the-code", state=state_of(response))

    channel.refresh_from_db()
    assert Channel.objects.count() == 1
    assert channel.is_connected
    credentials = channel.credentials
    assert credentials["access_token"] == TOKEN
    assert credentials["refresh_token"] == "kept-refresh-token"
    assert credentials["visibility"] == "unlisted"
    assert channel.deliveries.get() == delivery
    # The paused delivery goes out once it is due.
    instance.play("publish_text")
    Delivery.objects.filter(pk=delivery.pk).update(
        scheduled_at=timezone.now() - timedelta(seconds=5)
    )
    assert run(delivery.pk, "w1") == DeliveryState.PUBLISHED


@pytest.mark.django_db
def test_a_disconnected_channel_keeps_its_instance_for_reconnecting(instance, workspace):
    channel = Channel.objects.create(
        workspace=workspace, network=Network.MASTODON, handle="@crumb@bakery.example"
    )
    channel.set_credentials({"instance_url": instance.url, "access_token": TOKEN})
    channel.save()

    services.disconnect(channel)

    assert channel.credentials == {"instance_url": instance.url}


@pytest.mark.django_db
def test_reconnecting_with_another_account_changes_nothing(instance, workspace, owner, signed_in):
    channel = Channel.objects.create(
        workspace=workspace,
        network=Network.MASTODON,
        handle="@flour@bakery.example",
        remote_account_id="555",
        status=ChannelStatus.NEEDS_RECONNECT,
    )
    channel.set_credentials({"instance_url": instance.url, "access_token": "old"})
    channel.save()
    client = signed_in(owner)

    response = start(client, workspace, instance.url, channel=str(channel.pk))
    page = callback(client, code="the-code", state=state_of(response))

    assert "You approved @crumb@bakery.example, not @flour@bakery.example" in shown(page)
    channel.refresh_from_db()
    assert channel.credentials["access_token"] == "old"
    assert channel.status == ChannelStatus.NEEDS_RECONNECT
    assert Channel.objects.count() == 1


# -- refusals ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_denied_authorization_connects_nothing(instance, workspace, owner, signed_in):
    client = signed_in(owner)
    response = start(client, workspace, instance.url)

    page = callback(
        client,
        error="access_denied",
        error_description="The resource owner or authorization server denied the request.",
        state=state_of(response),
    )

    assert page.redirect_chain[-1][0] == reverse("channel_list", args=[workspace.slug])
    assert "You did not allow Socialdesk" in shown(page)
    assert not Channel.objects.filter(network=Network.MASTODON).exists()
    assert not instance.requests_to("POST", "/oauth/token")


@pytest.mark.django_db
def test_a_wrong_or_reused_state_is_refused(instance, workspace, owner, signed_in):
    client = signed_in(owner)
    response = start(client, workspace, instance.url)

    page = callback(client, code="the-code", state="forged-state")
    assert "does not belong to a connection started in this browser" in shown(page)

    callback(client, code="the-code", state=state_of(response))
    again = callback(client, code="the-code", state=state_of(response))
    assert "already used" in shown(again)
    assert Channel.objects.filter(network=Network.MASTODON).count() == 1
    assert len(instance.requests_to("POST", "/oauth/token")) == 1


@pytest.mark.django_db
def test_a_state_from_another_session_is_refused(instance, workspace, owner, manager, signed_in):
    response = start(signed_in(owner), workspace, instance.url)
    other = Client()
    other.force_login(manager)

    page = other.get(
        reverse("mastodon_callback"), {"code": "the-code", "state": state_of(response)}, follow=True
    )

    assert "does not belong" in shown(page)
    assert not Channel.objects.filter(network=Network.MASTODON).exists()


@pytest.mark.django_db
def test_an_expired_flow_is_refused(instance, workspace, owner, signed_in):
    client = signed_in(owner)
    response = start(client, workspace, instance.url)
    session = client.session
    flows = session[mastodon_connect.SESSION_KEY]
    flows[state_of(response)]["started"] -= mastodon_connect.FLOW_TTL.total_seconds() + 1
    session[mastodon_connect.SESSION_KEY] = flows
    session.save()

    page = callback(client, code="the-code", state=state_of(response))

    assert "expired" in shown(page)
    assert not instance.requests_to("POST", "/oauth/token")


@pytest.mark.django_db
def test_a_401_on_the_token_exchange_connects_nothing_and_forgets_the_registration(
    instance, workspace, owner, signed_in
):
    instance.answer(
        "POST",
        "/oauth/token",
        {
            "status": 401,
            "body": {
                "error": "invalid_client",
                "error_description": "Client authentication failed due to unknown client.",
            },
        },
    )
    client = signed_in(owner)
    response = start(client, workspace, instance.url)

    page = callback(client, code="the-code", state=state_of(response))

    assert "did not accept the authorization" in shown(page)
    assert not Channel.objects.filter(network=Network.MASTODON).exists()
    assert not MastodonApp.objects.exists(), "the next attempt registers again"


@pytest.mark.django_db
def test_a_5xx_on_the_token_exchange_says_try_again(instance, workspace, owner, signed_in):
    instance.answer("POST", "/oauth/token", {"status": 503, "body": "<html>Busy</html>"})
    client = signed_in(owner)
    response = start(client, workspace, instance.url)

    page = callback(client, code="the-code", state=state_of(response))

    assert "try again in a moment" in shown(page)
    assert not Channel.objects.filter(network=Network.MASTODON).exists()
    assert MastodonApp.objects.count() == 1


@pytest.mark.django_db
def test_a_5xx_on_registration_is_a_clear_form_error(instance, workspace, owner, signed_in):
    instance.answer("POST", "/api/v1/apps", {"status": 502, "body": "<html>Bad gateway</html>"})

    response = start(signed_in(owner), workspace, instance.url)

    assert response.status_code == 400
    assert b"or try again later if the instance is having trouble" in response.content
    assert not MastodonApp.objects.exists()


@pytest.mark.django_db
def test_a_server_that_is_not_mastodon_is_a_clear_form_error(instance, workspace, owner, signed_in):
    instance.answer("POST", "/api/v1/apps", {"status": 200, "body": "<html>A blog</html>"})

    response = start(signed_in(owner), workspace, instance.url)

    assert response.status_code == 400
    assert b"did not answer as a Mastodon server" in response.content
    assert not MastodonApp.objects.exists()


@pytest.mark.django_db
def test_an_unreachable_instance_is_a_clear_form_error(workspace, owner, signed_in):
    response = start(signed_in(owner), workspace, "http://127.0.0.1:9")

    assert response.status_code == 400
    assert b"could not be reached" in response.content


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Enter your instance"),
        ("http://mastodon.social", "must use https"),
        ("https://mastodon.social/@crumb", "only the instance"),
        ("ftp://mastodon.social", "https address"),
        ("https://user:pw@mastodon.social", "only the instance"),
        ("mastodon", "not a full host name"),
    ],
)
@pytest.mark.django_db
def test_bad_instance_addresses_are_refused_before_any_request(
    typed, message, workspace, owner, signed_in
):
    response = start(signed_in(owner), workspace, typed)

    assert response.status_code == 400
    assert message.encode() in response.content
    assert not MastodonApp.objects.exists()


def test_instance_addresses_are_normalised():
    assert mastodon_connect.clean_instance_url(" Mastodon.Social/ ") == "https://mastodon.social"
    assert mastodon_connect.clean_instance_url("http://127.0.0.1:3000") == "http://127.0.0.1:3000"


@pytest.mark.parametrize("role", ["creator", "approver", "client", "analyst"])
@pytest.mark.django_db
def test_only_channel_managers_connect(role, instance, workspace, person, signed_in):
    response = start(signed_in(person(role)), workspace, instance.url)

    assert response.status_code == 403
    assert not instance.requests_to("POST", "/api/v1/apps")


@pytest.mark.django_db
def test_an_outsider_cannot_connect_into_a_workspace(instance, workspace, outsider, signed_in):
    assert start(signed_in(outsider), workspace, instance.url).status_code == 404


@pytest.mark.django_db
def test_the_channels_page_offers_the_mastodon_form_to_managers(workspace, owner, signed_in):
    page = signed_in(owner).get(reverse("channel_list", args=[workspace.slug]))

    assert b'id="connect-mastodon"' in page.content
    assert b'for="id_instance_url"' in page.content
