"""The page's Atom, RSS and JSON feeds, read back the way feed readers read them.

Atom and RSS are parsed with ``feedparser`` and must raise no bozo flag. feedparser's
released versions (6.0.x) do not read JSON Feed, so the JSON feed is checked against the
JSON Feed 1.1 specification's required fields by hand.
"""

from __future__ import annotations

import json

import feedparser
import pytest
from page_helpers import image, publish, scheduled_post

from socialdesk.analytics.models import ShortLink


@pytest.fixture
def bakery_page(channel, owner, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.SITE_URL = "https://social.crumb.test"
    photo = image(channel, owner, "A tray of pains au chocolat")
    publish(channel, owner, "Stollen: pre-orders open. https://crumb.test/stollen #christmas")
    publish(channel, owner, "Pains au chocolat, still warm #viennoiserie", media=[photo])
    scheduled_post(channel, owner, "Not yet: the Easter menu")
    return photo


@pytest.mark.parametrize(("kind", "version"), [("atom", "atom10"), ("rss", "rss20")])
def test_atom_and_rss_parse_cleanly_with_every_post_newest_first(
    bakery_page, client, kind, version
):
    response = client.get(f"/@crumb/feed.{kind}")
    feed = feedparser.parse(response.content)

    assert response["Content-Type"].startswith(f"application/{kind}+xml")
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == version
    assert feed.feed.title == "Crumb & Co"
    assert feed.feed.link == "https://social.crumb.test/@crumb"
    titles = [entry.title for entry in feed.entries]
    # The link went out as the workspace's short link (analytics.links).
    short = f"https://social.crumb.test/l/{ShortLink.objects.get().code}"
    assert titles == [
        "Pains au chocolat, still warm #viennoiserie",
        f"Stollen: pre-orders open. {short} #christmas",
    ]
    newest, older = feed.entries
    html = newest.content[0].value if kind == "atom" else newest.description
    assert "<img" in html and 'src="https://social.crumb.test/media/workspaces/' in html
    assert 'alt="A tray of pains au chocolat"' in html
    assert 'href="https://social.crumb.test/@crumb?tag=viennoiserie"' in html
    older_html = older.content[0].value if kind == "atom" else older.description
    assert f'href="{short}"' in older_html
    assert newest.link.startswith("https://social.crumb.test/@crumb/")
    if kind == "rss":
        assert newest.enclosures[0].type == "image/png"
    assert "Easter" not in response.content.decode()


def test_the_json_feed_follows_json_feed_1_1(bakery_page, client):
    response = client.get("/@crumb/feed.json")
    feed = json.loads(response.content)

    assert response["Content-Type"].startswith("application/feed+json")
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["title"] == "Crumb & Co"
    assert feed["home_page_url"] == "https://social.crumb.test/@crumb"
    assert feed["feed_url"] == "https://social.crumb.test/@crumb/feed.json"
    assert feed["authors"] == [{"name": "Crumb & Co", "url": "https://social.crumb.test/@crumb"}]
    ids = [item["id"] for item in feed["items"]]
    assert len(ids) == len(set(ids)) == 2
    for item in feed["items"]:
        assert isinstance(item["id"], str) and item["url"].startswith("https://")
        assert item.get("content_html") or item.get("content_text")
        assert item["date_published"].endswith("+00:00")
    newest = feed["items"][0]
    assert newest["content_text"] == "Pains au chocolat, still warm #viennoiserie"
    assert 'alt="A tray of pains au chocolat"' in newest["content_html"]
    assert newest["image"].endswith(bakery_page.file.name)
    assert newest["attachments"][0]["mime_type"] == "image/png"
    assert newest["tags"] == ["viennoiserie"]
    assert "Easter" not in response.content.decode()


def test_a_page_with_no_posts_yet_still_has_valid_feeds(channel, client):
    for kind in ["atom", "rss"]:
        feed = feedparser.parse(client.get(f"/@crumb/feed.{kind}").content)
        assert not feed.bozo, feed.get("bozo_exception")
        assert feed.entries == []
    assert json.loads(client.get("/@crumb/feed.json").content)["items"] == []


def test_the_page_points_feed_readers_at_all_three_feeds(channel, client):
    page = client.get("/@crumb").content.decode()

    assert 'type="application/atom+xml"' in page and 'href="/@crumb/feed.atom"' in page
    assert 'type="application/rss+xml"' in page and 'href="/@crumb/feed.rss"' in page
    assert 'type="application/feed+json"' in page and 'href="/@crumb/feed.json"' in page
