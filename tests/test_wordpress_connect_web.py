"""Connecting a WordPress site through the real connect page, then publishing through the
channel the page made (``connector_for``: the registry, the module's ``build``, the stored
encrypted credentials) to a real WordPress on 127.0.0.1 (tests/peers_open.py)."""

# The server fixture is imported (one module, one server): pytest's arguments redefine it.
# ruff: noqa: F811

from __future__ import annotations

import pytest
from django.urls import reverse

from socialdesk.networks.base import DeliveryContent
from socialdesk.networks.models import Channel
from socialdesk.publishing.connectors import connector_for
from tests.peers_open import WordPressSite, wordpress_site  # noqa: F401

# The page and the channel behave the same on any database: run once, in the SQLite pass.
pytestmark = [pytest.mark.slow, pytest.mark.any_database]


def test_connect_page_makes_a_channel_that_publishes(
    wordpress_site: WordPressSite, settings, workspace, manager, signed_in
) -> None:
    settings.SOCIALDESK_FETCH_ALLOW = [wordpress_site.url.removeprefix("http://")]
    client = signed_in(manager)
    url = reverse("network_connect", args=[workspace.slug, "wordpress"])
    assert b"Application Password" in client.get(url).content

    wrong = client.post(
        url,
        {
            "site_url": wordpress_site.url,
            "username": wordpress_site.username,
            "app_password": "abcd efgh ijkl mnop",
            "time_zone": "",
        },
    )
    assert wrong.status_code == 400
    assert not Channel.objects.filter(workspace=workspace, network="wordpress").exists()

    answer = client.post(
        url,
        {
            "site_url": wordpress_site.url,
            "username": wordpress_site.username,
            "app_password": wordpress_site.app_password,
            "time_zone": "",
        },
    )
    assert answer.status_code == 302
    channel = Channel.objects.get(workspace=workspace, network="wordpress")
    assert channel.handle == wordpress_site.username
    assert channel.has_account
    assert wordpress_site.app_password not in channel.credentials_encrypted

    connector = connector_for(channel)
    assert connector is not None
    published = connector.publish(DeliveryContent(text="Opening hours\nNine to five."), "w-1")
    with wordpress_site.client() as http:
        post = http.get(f"/?rest_route=/wp/v2/posts/{published.remote_id}").json()
    assert post["title"]["rendered"] == "Opening hours"
