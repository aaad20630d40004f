"""Channels tell the truth: a channel with no account says so, its deliveries wait instead of
failing, "Check connection" asks the network, and the demo's example accounts say they are
examples."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from socialdesk.networks import services
from socialdesk.networks.base import AccountInfo, ConnectorError
from socialdesk.networks.models import Channel, ChannelStatus, Network
from socialdesk.networks.states import IllegalChannelMove, move_channel
from socialdesk.publishing import connectors
from socialdesk.publishing.dispatch import run
from socialdesk.publishing.models import Delivery, DeliveryState
from socialdesk.publishing.services import record_history

pytestmark = pytest.mark.django_db


@pytest.fixture
def accountless(workspace) -> Channel:
    return Channel.objects.create(
        workspace=workspace, network=Network.BLUESKY, handle="crumb.bsky.social"
    )


def due_on(channel, post_for) -> Delivery:
    post = post_for()
    return record_history(
        post, channel, DeliveryState.SCHEDULED, timezone.now() - timedelta(seconds=5)
    )


@pytest.fixture
def post_for(workspace, owner):
    from socialdesk.content.models import Post, PostVersion

    def make() -> Post:
        post = Post.objects.create(workspace=workspace, author=owner, text="Fresh croissants")
        PostVersion.objects.create(post=post, number=1, text=post.text, created_by=owner)
        return post

    return make


def test_a_bluesky_channel_without_credentials_says_it_is_not_connected(accountless):
    assert not accountless.has_account
    assert accountless.status_text == "Not connected — no account"


def test_the_public_page_always_has_an_account(channel):
    assert channel.has_account
    assert channel.status_text == "Connected"


def test_a_due_delivery_on_a_channel_without_an_account_waits_instead_of_failing(
    accountless, post_for
):
    delivery = due_on(accountless, post_for)

    assert run(delivery.pk, "w1") == DeliveryState.SCHEDULED

    delivery.refresh_from_db()
    accountless.refresh_from_db()
    assert "no Bluesky account is connected" in delivery.last_error
    assert "cannot publish" not in delivery.last_error
    assert accountless.status == ChannelStatus.NEEDS_RECONNECT


def test_a_due_delivery_on_an_example_channel_waits(accountless, post_for):
    delivery = due_on(accountless, post_for)
    move_channel(accountless, ChannelStatus.EXAMPLE, "demo", "system: test")

    assert run(delivery.pk, "w1") == DeliveryState.SCHEDULED
    assert "is an example without an account" in Delivery.objects.get(pk=delivery.pk).last_error


def test_an_example_channel_can_become_connected_but_not_paused(accountless):
    move_channel(accountless, ChannelStatus.EXAMPLE, "demo", "system: test")
    with pytest.raises(IllegalChannelMove):
        move_channel(accountless, ChannelStatus.PAUSED, "hold", "system: test")
    move_channel(accountless, ChannelStatus.CONNECTED, "real account", "system: test")
    assert accountless.status == ChannelStatus.CONNECTED


def test_checking_the_public_page_needs_no_network(channel):
    result = services.check_connection(channel)
    assert result.ok
    assert "always connected" in result.message


def test_checking_a_channel_without_an_account_says_so_without_calling_anyone(accountless):
    result = services.check_connection(accountless)
    assert not result.ok
    assert "No Bluesky account is connected" in result.message


class FakeConnector:
    def __init__(self, answer):
        self.answer = answer

    def check_connection(self):
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


@pytest.fixture
def with_credentials(accountless):
    accountless.set_credentials({"handle": "crumb.bsky.social", "app_password": "abcd"})
    accountless.save(update_fields=["credentials_encrypted"])
    return accountless


def test_a_working_check_names_the_account(with_credentials, monkeypatch):
    answer = AccountInfo("did:plc:crumb", "crumb.bsky.social", "Crumb & Co")
    monkeypatch.setitem(connectors.REGISTRY, Network.BLUESKY, lambda c: FakeConnector(answer))

    result = services.check_connection(with_credentials)

    assert result.ok
    assert result.message == (
        "Connected: the stored credentials open crumb.bsky.social (Crumb & Co)."
    )


def test_a_refused_check_marks_the_channel_as_needing_reconnection(with_credentials, monkeypatch):
    refusal = ConnectorError("token revoked", auth_revoked=True)
    monkeypatch.setitem(connectors.REGISTRY, Network.BLUESKY, lambda c: FakeConnector(refusal))

    result = services.check_connection(with_credentials)

    assert not result.ok
    assert "Reconnect the channel" in result.message
    with_credentials.refresh_from_db()
    assert with_credentials.status == ChannelStatus.NEEDS_RECONNECT


def test_an_unreachable_network_changes_nothing_and_promises_no_retry(
    with_credentials, monkeypatch
):
    down = ConnectorError("Bluesky answered 503; it will be tried again.")
    monkeypatch.setitem(connectors.REGISTRY, Network.BLUESKY, lambda c: FakeConnector(down))

    result = services.check_connection(with_credentials)

    assert not result.ok
    assert "tried again" not in result.message
    with_credentials.refresh_from_db()
    assert with_credentials.status == ChannelStatus.CONNECTED


def test_a_failed_connect_form_does_not_promise_a_retry(monkeypatch):
    error = ConnectorError("Bluesky answered 503; it will be tried again.")

    refusal = services._refusal(error, "https://pds.example")

    assert isinstance(refusal, ValidationError)
    text = " ".join(refusal.message_dict["pds_url"])
    assert "tried again" not in text
    assert "Nothing was connected" in text


def test_the_channels_page_shows_the_truth_and_a_check_button(
    client, owner, workspace, accountless
):
    client.force_login(owner)
    page = client.get(reverse("channel_list", args=[workspace.slug])).content.decode()
    assert "Not connected — no account" in page
    assert "Check connection" in page


def test_the_check_button_says_what_the_network_answered(client, owner, workspace, accountless):
    client.force_login(owner)
    url = reverse("channel_check", args=[workspace.slug, accountless.pk])
    page = client.post(url, follow=True).content.decode()
    assert "No Bluesky account is connected to crumb.bsky.social" in page


def test_a_creator_cannot_check_a_connection(client, creator, workspace, accountless):
    client.force_login(creator)
    url = reverse("channel_check", args=[workspace.slug, accountless.pk])
    assert client.post(url).status_code == 403


def test_an_outsider_cannot_check_a_connection(client, outsider, workspace, accountless):
    client.force_login(outsider)
    url = reverse("channel_check", args=[workspace.slug, accountless.pk])
    assert client.post(url).status_code == 404


def test_the_api_says_a_channel_has_no_account(client, owner, token_for, workspace, accountless):
    owner_token = token_for(owner)
    response = client.get(
        f"/api/v1/workspaces/{workspace.slug}/channels/{accountless.pk}",
        HTTP_AUTHORIZATION=f"Bearer {owner_token}",
    )
    assert response.json()["account_connected"] is False
    assert response.json()["status_text"] == "Not connected — no account"


def test_the_demo_bluesky_and_mastodon_are_examples_without_an_account():
    from socialdesk.demo import build_demo

    demo = build_demo()
    channels = {c.network: c for c in Channel.objects.filter(workspace=demo.workspace)}

    assert channels[Network.BLUESKY].status == ChannelStatus.EXAMPLE
    assert channels[Network.MASTODON].status == ChannelStatus.EXAMPLE
    assert channels[Network.PAGE].status == ChannelStatus.CONNECTED
    assert channels[Network.BLUESKY].status_text == "Example — no account connected"
    # The history stays.
    assert Delivery.objects.filter(
        channel=channels[Network.BLUESKY], state=DeliveryState.PUBLISHED
    ).exists()
