"""The page's Atom 1.0, RSS 2.0 and JSON Feed 1.1 documents.

Atom and RSS are written by ``feedgen``. feedgen has no JSON Feed writer (it writes Atom,
RSS and podcast extensions only), so JSON Feed 1.1 is a plain dict serialised with ``json``:
the format is JSON by design, and a template would only add ways to write invalid JSON.
All three carry the same entries, newest first, with the text as HTML (links, hashtags,
images with their alt text as ``alt``).

Every date in a feed comes from the data (never "now"), so the same page state gives the
same bytes, and the ETag the views compute stays valid.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from feedgen.feed import FeedGenerator

from socialdesk.workspaces.models import Workspace

from .models import PageEntry, PageLink, PageProfile
from .render import text_to_html

FEED_SIZE = 50


@dataclass
class PageState:
    """Everything a feed or the page shows, read once."""

    workspace: Workspace
    profile: PageProfile
    links: list[PageLink]
    entries: list[PageEntry]
    last_modified: datetime

    @property
    def url(self) -> str:
        return absolute(f"/@{self.workspace.slug}")

    def entry_url(self, entry: PageEntry) -> str:
        return f"{self.url}/{entry.pk}"

    def feed_url(self, kind: str) -> str:
        return f"{self.url}/feed.{kind}"

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """The "link in bio" buttons: label and URL with UTM parameters."""
        campaign = self.profile.utm_campaign or self.workspace.slug
        return [(link.label, link.tracked_url(campaign)) for link in self.links]


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def entry_html(state: PageState, entry: PageEntry) -> SafeString:
    """The entry as one HTML fragment with absolute URLs, for feed readers."""
    parts = [text_to_html(entry.text, state.url)]
    for media in entry.images():
        parts.append(
            format_html(
                '<p><img src="{}" alt="{}"></p>',
                absolute(PageEntry.media_url(media["name"])),
                media.get("alt", ""),
            )
        )
    for media in entry.videos():
        parts.append(
            format_html(
                '<p><video src="{}" controls aria-label="{}"></video></p>',
                absolute(PageEntry.media_url(media["name"])),
                media.get("alt", ""),
            )
        )
    if entry.link_url:
        parts.append(
            format_html(
                '<p><a href="{}">{}</a></p>', entry.link_url, entry.link_title or entry.link_url
            )
        )
    return mark_safe("".join(parts))  # noqa: S308 - built from escaped parts


def _generator(state: PageState, kind: str) -> FeedGenerator:
    profile = state.profile
    feed = FeedGenerator()
    feed.id(state.url)
    feed.title(profile.name)
    feed.subtitle(profile.bio or f"Posts from {profile.name}")
    feed.author({"name": profile.name, "uri": state.url})
    # feedgen takes RSS's <link> from the last link given: the page, not the feed itself.
    feed.link(href=state.feed_url(kind), rel="self")
    feed.link(href=state.url, rel="alternate")
    feed.language("en")
    feed.updated(state.last_modified)
    feed.lastBuildDate(state.last_modified)
    feed.generator("Socialdesk")
    if profile.avatar:
        feed.logo(absolute(profile.avatar.url))
    for entry in state.entries:
        item = feed.add_entry(order="append")
        url = state.entry_url(entry)
        html = str(entry_html(state, entry))
        item.id(url)
        item.guid(url, permalink=True)
        item.title(entry.title)
        item.published(entry.published_at)
        # An entry is a copy of what was sent and never edited: updated = published.
        item.updated(entry.published_at)
        # Also RSS's <description> (feedgen writes the content there when there is no other).
        item.content(html, type="html")
        for tag in entry.tags.split():
            item.category(term=tag, label=f"#{tag}")
        # RSS gets the first image as its one enclosure. Atom does not: feedgen 1.0 writes
        # entry links without their rel, so an enclosure would read as a second alternate
        # link; the images are in the content.
        if kind == "rss" and (images := entry.images()):
            first = images[0]
            item.enclosure(
                absolute(PageEntry.media_url(first["name"])),
                str(first.get("size") or 0),
                first["mime_type"],
            )
        # After the enclosure: feedgen takes RSS's <link> from the last link given.
        item.link(href=url, rel="alternate")
    return feed


def atom(state: PageState) -> bytes:
    return _generator(state, "atom").atom_str(pretty=True)


def rss(state: PageState) -> bytes:
    return _generator(state, "rss").rss_str(pretty=True)


def json_feed(state: PageState) -> bytes:
    profile = state.profile
    author = {"name": profile.name, "url": state.url}
    if profile.avatar:
        author["avatar"] = absolute(profile.avatar.url)
    items = []
    for entry in state.entries:
        item: dict = {
            "id": state.entry_url(entry),
            "url": state.entry_url(entry),
            "title": entry.title,
            "content_html": str(entry_html(state, entry)),
            "content_text": entry.text,
            "date_published": entry.published_at.isoformat(),
            "tags": entry.tags.split(),
        }
        if entry.link_url:
            item["external_url"] = entry.link_url
        if images := entry.images():
            item["image"] = absolute(PageEntry.media_url(images[0]["name"]))
        if entry.media:
            item["attachments"] = [
                {
                    "url": absolute(PageEntry.media_url(m["name"])),
                    "mime_type": m["mime_type"],
                    "title": m.get("alt", ""),
                    **({"size_in_bytes": m["size"]} if m.get("size") else {}),
                }
                for m in entry.media
            ]
        items.append(item)
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": profile.name,
        "home_page_url": state.url,
        "feed_url": state.feed_url("json"),
        "description": profile.bio or f"Posts from {profile.name}",
        "authors": [author],
        "language": "en",
        "items": items,
    }
    if profile.avatar:
        document["icon"] = absolute(profile.avatar.url)
    return json.dumps(document, ensure_ascii=False, indent=2).encode()
