"""Connecting a WordPress site through the real connect page, then publishing through the
channel the page made (``connector_for``: the registry, the module's ``build``, the stored
encrypted credentials) to a real WordPress on 127.0.0.1 (tests/peers_open.py)."""

# The server fixture is imported (one module, one server): pytest's arguments redefine it.
# ruff: noqa: F811

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from socialdesk.content.models import Label, Pillar, Post
from socialdesk.networks.base import DeliveryContent
from socialdesk.networks.models import Channel
from socialdesk.publishing.connectors import connector_for, content_for
from socialdesk.publishing.models import Delivery
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

    # Through the engine's own content: the post's labels become tags, its pillar the category.
    pillar = Pillar.objects.create(workspace=workspace, name="Seasonal")
    post = Post.objects.create(
        workspace=workspace, author=manager, text="Stollen week\nEvery loaf by hand.", pillar=pillar
    )
    post.labels.add(Label.objects.create(workspace=workspace, name="stollen"))
    delivery = Delivery.objects.create(
        workspace=workspace, post=post, channel=channel, scheduled_at=timezone.now()
    )
    content = content_for(delivery)
    tagged = connector.publish(content, "w-2")
    with wordpress_site.client() as http:
        made = http.get(f"/?rest_route=/wp/v2/posts/{tagged.remote_id}").json()
        tags = http.get("/", params={"rest_route": "/wp/v2/tags", "include": made["tags"]}).json()
        categories = http.get(
            "/", params={"rest_route": "/wp/v2/categories", "include": made["categories"]}
        ).json()
    assert [t["name"] for t in tags] == ["stollen"]
    assert [c["name"] for c in categories] == ["Seasonal"]
