"""The public page ``/@<slug>``: what it shows, to whom, and what it never shows."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone
from page_helpers import image, make_due, publish, scheduled_post

from socialdesk.analytics.models import ShortLink
from socialdesk.networks.models import Channel, Network
from socialdesk.networks.page import PageConnector
from socialdesk.page.models import PageEntry, PageLink, PageProfile
from socialdesk.page.services import remove_from_page
from socialdesk.publishing import connectors
from socialdesk.publishing.models import Delivery, DeliveryState


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def html(client, url: str = "/@crumb") -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def test_anyone_sees_the_brand_and_its_posts_newest_first_without_signing_in(
    channel, owner, client
):
    PageProfile.objects.create(workspace=channel.workspace, bio="Bread, since 1998.")
    publish(channel, owner, "Older: rye loaves")
    publish(channel, owner, "Newer: apple turnovers")

    page = html(client)

    assert '<h1 class="name">Crumb &amp; Co</h1>' in page
    assert "Bread, since 1998." in page
    assert 'class="avatar avatar-initial"' in page and ">C</span>" in page
    assert page.index("Newer: apple turnovers") < page.index("Older: rye loaves")
    assert "<main" in page and "<header" in page and "<footer" in page


def test_drafts_scheduled_and_in_flight_posts_never_show(channel, owner, client):
    scheduled_post(channel, owner, "Secret: Christmas menu")
    in_flight = make_due(scheduled_post(channel, owner, "Written but not recorded yet"))
    # The connector wrote the entry; the worker has not recorded "published" yet.
    PageConnector(channel).publish(connectors.content_for(in_flight), in_flight.idempotency_key)
    Delivery.objects.filter(pk=in_flight.pk).update(state=DeliveryState.UNKNOWN)
    entry = PageEntry.objects.get()

    for url in ["/@crumb", "/@crumb/feed.atom", "/@crumb/feed.rss", "/@crumb/feed.json"]:
        body = html(client, url)
        assert "Secret: Christmas menu" not in body
        assert "Written but not recorded yet" not in body
    assert client.get(f"/@crumb/{entry.pk}").status_code == 404


def test_nothing_of_another_workspace_shows(channel, other_channel, owner, outsider, client):
    theirs = publish(other_channel, outsider, "Rival bagels, two for one")

    for url in ["/@crumb", "/@crumb/feed.atom", "/@crumb/feed.rss", "/@crumb/feed.json"]:
        assert "Rival bagels" not in html(client, url)
    assert client.get(f"/@crumb/{theirs.remote_id}").status_code == 404
    assert "Rival bagels" in html(client, "/@rival")


def test_a_workspace_without_a_page_channel_has_no_public_page(workspace, client):
    Channel.objects.create(workspace=workspace, network=Network.BLUESKY, handle="crumb.bsky")

    assert client.get("/@crumb").status_code == 404
    assert client.get("/@crumb/feed.atom").status_code == 404
    assert client.get("/@nobody").status_code == 404


def test_the_page_is_read_only(channel, client):
    assert client.post("/@crumb").status_code == 405
    assert client.get("/@crumb/feed.xml").status_code == 404
    assert client.get("/@crumb/").status_code == 301


def test_the_posts_are_paginated_ten_at_a_time(channel, owner, client):
    for number in range(12):
        publish(channel, owner, f"Loaf number {number:02d}")

    first = html(client)
    second = html(client, "/@crumb?page=2")

    assert "Loaf number 11" in first and "Loaf number 02" in first
    assert "Loaf number 01" not in first
    assert "Loaf number 01" in second and "Loaf number 00" in second
    assert "Loaf number 11" not in second
    assert 'rel="next" href="?page=2"' in first
    assert "Page 2 of 2" in second
    # A page number that is not one gives a page, not an error.
    assert "Loaf number 11" in html(client, "/@crumb?page=banana")


def test_link_in_bio_buttons_carry_utm_parameters_without_overriding_the_brands_own(
    channel, client
):
    PageLink.objects.create(
        workspace=channel.workspace, label="Order a cake", url="https://crumb.test/cakes"
    )
    PageLink.objects.create(
        workspace=channel.workspace,
        label="Newsletter",
        url="https://crumb.test/news?utm_source=newsletter&ref=1",
        position=1,
    )

    page = html(client).replace("&amp;", "&")

    cake = next(u for u in page.split('"') if u.startswith("https://crumb.test/cakes"))
    query = parse_qs(urlsplit(cake).query)
    assert query["utm_source"] == ["socialdesk_page"]
    assert query["utm_medium"] == ["link_in_bio"]
    assert query["utm_campaign"] == ["crumb"]
    assert query["utm_content"] == ["order-a-cake"]
    news = next(u for u in page.split('"') if u.startswith("https://crumb.test/news"))
    assert parse_qs(urlsplit(news).query)["utm_source"] == ["newsletter"]
    assert page.index("Order a cake") < page.index("Newsletter")


def test_links_hashtags_and_images_with_their_alt_text_are_rendered(
    channel, owner, client, settings
):
    settings.SITE_URL = "https://social.crumb.test"
    photo = image(channel, owner, "Six croissants on a cooling rack")
    publish(
        channel,
        owner,
        "Croissants <b>hot</b> now! Order at https://crumb.test/order. #viennoiserie #2",
        media=[photo],
    )

    page = html(client)

    assert "Croissants &lt;b&gt;hot&lt;/b&gt; now!" in page
    # The link went out as the workspace's short link (analytics.links), which counts clicks.
    short = f"social.crumb.test/l/{ShortLink.objects.get().code}"
    assert f'<a href="https://{short}" rel="noopener">{short}</a>.' in page
    assert '<a href="/@crumb?tag=viennoiserie" class="tag">#viennoiserie</a>' in page
    assert f'src="/media/{photo.file.name}" alt="Six croissants on a cooling rack"' in page
    assert "#2</p>" in page, "a number is not a hashtag"


def test_a_hashtag_link_shows_only_the_posts_with_that_tag(channel, owner, client):
    publish(channel, owner, "Spelt loaf #sourdough")
    publish(channel, owner, "Sourdough starter workshop #sourdoughclub")
    publish(channel, owner, "Eclairs")

    page = html(client, "/@crumb?tag=sourdough")

    assert "Spelt loaf" in page
    assert "Sourdough starter workshop" not in page and "Eclairs" not in page
    assert "Posts tagged #sourdough" in page


def test_each_post_has_its_own_page_at_its_remote_url(channel, owner, client, settings):
    delivery = publish(channel, owner, "Hot cross buns")

    path = delivery.remote_url.removeprefix(settings.SITE_URL)
    page = html(client, path)

    assert "Hot cross buns" in page
    assert f'<link rel="canonical" href="{delivery.remote_url}">' in page


# --- Caching: ETag, Last-Modified, 304 -------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["/@crumb", "/@crumb/feed.atom", "/@crumb/feed.rss", "/@crumb/feed.json"]
)
def test_a_copy_that_is_still_current_gets_304_and_a_stale_one_gets_the_news(
    channel, owner, client, url
):
    publish(channel, owner, "Madeleines")
    first = client.get(url)
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]

    assert client.get(url, headers={"if-none-match": etag}).status_code == 304
    assert client.get(url, headers={"if-modified-since": modified}).status_code == 304

    later = publish(channel, owner, "Financiers")
    PageEntry.objects.filter(delivery=later).update(updated_at=timezone.now() + timedelta(1))
    fresh = client.get(url, headers={"if-none-match": etag})
    assert fresh.status_code == 200
    assert "Financiers" in fresh.content.decode()
    assert fresh.headers["ETag"] != etag
    assert client.get(url, headers={"if-modified-since": modified}).status_code == 200


def test_a_deleted_post_changes_the_validators_too(channel, owner, client):
    publish(channel, owner, "Canelés")
    gone = publish(channel, owner, "Paris-Brest")
    # Published a minute ago: HTTP dates count whole seconds.
    a_minute_ago = timezone.now() - timedelta(minutes=1)
    PageEntry.objects.update(updated_at=a_minute_ago)
    PageProfile.objects.update(changed_at=a_minute_ago, updated_at=a_minute_ago)
    first = client.get("/@crumb/feed.atom")

    remove_from_page(gone)

    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert client.get("/@crumb/feed.atom", headers={"if-none-match": etag}).status_code == 200
    assert (
        client.get("/@crumb/feed.atom", headers={"if-modified-since": modified}).status_code == 200
    )


def test_the_web_ui_sidebar_links_to_the_public_page(channel, owner, signed_in):
    page = signed_in(owner).get("/w/crumb/posts/").content.decode()

    assert 'href="/@crumb" target="_blank"' in page
    assert "View public page" in page
