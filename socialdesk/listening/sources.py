"""Where listening reads, polled from the worker's heartbeat (issue 15, item 2).

Four kinds of source (``models.Source``):

- **Bluesky search** through one of the workspace's Bluesky channels
  (``BlueskyConnector.search_posts``, ``app.bsky.feed.searchPosts``). A search takes one
  term, so each query gives the words one of which a matching post must contain (its
  anchors, ``query.Node.anchors``); each distinct term is one request, at most
  ``MAX_TERMS`` a poll, spent from the channel's read budget (``publishing.pacing``) before
  the call. The development AppView searches plain substrings; what comes back goes through
  our own query logic (``matching.store_items``) either way.
- **RSS and Atom feeds**, fetched only through ``socialdesk.guarded_fetch`` (internal
  addresses refused unless the operator allows them, a time limit, a size cap), with the
  feed's ETag and Last-Modified sent back, and parsed by feedparser.
- **Mastodon** through one of the workspace's Mastodon channels (``read_mastodon``): the
  queries' ``#tags`` from their hashtag timelines (from the newest status read), their
  words through status search (sent without the channel's token; see
  ``_search_statuses``), one request each from the channel's request budget.
- **The inbox's own messages** (``read_inbox``): inbound messages since the last read,
  matched against the topics like any other item.

Polling: ``on_heartbeat`` (called from the worker's heartbeat like the inbox's) takes a lease
on every active source whose last poll is ``POLL_EVERY`` old or more, with a compare-and-set
on ``Source.polling_until``, and queues one ``poll_source`` task each. So a source is read at
most once per ``POLL_EVERY``; a task the queue lost leaves the lease to expire after
``LEASE``. ``poll_once`` never raises: a failure is written on the source (``last_error``) and
the next poll tries again.

Incremental: each source keeps a cursor (``Source.cursor``): per search term the newest post
time read (the next search asks ``since`` it, less ``OVERLAP`` for late indexing), per feed
its validators and newest entry time. What overlaps is dropped by ``store_items``, which
keeps one row per remote id.
"""

from __future__ import annotations

import html
import logging
import re
from calendar import timegm
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.html import strip_tags
from django_tasks import task

from socialdesk import guarded_fetch
from socialdesk.networks.base import ConnectorError

from .matching import Item, StoreResult, store_items, workspace_matcher
from .models import Source, SourceKind, TopicQuery
from .query import compile_query

log = logging.getLogger(__name__)

POLL_EVERY = timedelta(minutes=5)
LEASE = timedelta(minutes=5)
OVERLAP = timedelta(minutes=10)
FIRST_READ = timedelta(days=7)  # how far back a new search source reads
MAX_TERMS = 20
MAX_FEED_BYTES = 2 * 1024 * 1024
FEED_TIMEOUT = 15.0
_SPACES = re.compile(r"\s+")
_PARAGRAPH_END = re.compile(r"</p>|<br\s*/?>", re.IGNORECASE)


class SourceError(Exception):
    """A source could not be read this time; the message is for people."""


def query_anchors(workspace_id: int) -> list[str]:
    """The anchors (words, phrases, ``#tags``, ``word*``) of every active query of the
    workspace, most shared first, at most ``MAX_TERMS``. A query with no anchor (only NOT,
    from:, lang:) gives none: it filters what other queries bring, it cannot be searched
    for."""
    counts: dict[str, int] = {}
    for text in TopicQuery.objects.filter(
        workspace_id=workspace_id, topic__active=True
    ).values_list("text", flat=True):
        try:
            anchors = compile_query(text).root.anchors() or set()
        except Exception:  # noqa: S112 - checked when saved; a stale one is skipped
            continue
        for anchor in anchors:
            if anchor.startswith(("from:", "lang:")) or not anchor.strip("#*"):
                continue
            counts[anchor] = counts.get(anchor, 0) + 1
    ordered = sorted(counts, key=lambda anchor: (-counts[anchor], anchor))
    return ordered[:MAX_TERMS]


def search_terms(workspace_id: int) -> list[str]:
    """One search term per anchor (``query_anchors``), without its ``#`` or ``*``."""
    terms: list[str] = []
    for anchor in query_anchors(workspace_id):
        term = anchor.rstrip("*").lstrip("#")
        if term and term not in terms:
            terms.append(term)
    return terms


def read_bluesky(source: Source, now: datetime) -> tuple[list[Item], dict[str, Any]]:
    """Search each term through the source's channel; returns the items and the new cursor."""
    from socialdesk.publishing import pacing
    from socialdesk.publishing.connectors import connector_for

    channel = source.channel
    if channel is None or not channel.is_connected or not channel.has_account:
        raise SourceError("The channel for this search is not connected.")
    connector = connector_for(channel)
    if connector is None or not hasattr(connector, "search_posts"):
        raise SourceError("This channel's network has no search.")
    limits = (*pacing.limits_of(connector), *getattr(connector, "read_limits", ()))
    cursor = dict(source.cursor.get("terms", {}))
    items: list[Item] = []
    for term in search_terms(source.workspace_id):
        with transaction.atomic():
            pacing.lock_channel(channel.pk)
            if pacing.room_at(channel.pk, {"requests": 1}, limits, now) is not None:
                break  # no budget left: the next poll goes on
            pacing.spend(channel.pk, None, {"requests": 1}, limits, now)
        newest = cursor.get(term)
        since = datetime.fromisoformat(newest) - OVERLAP if newest else now - FIRST_READ
        try:
            found = connector.search_posts(term, since)
        except ConnectorError as error:
            raise SourceError(error.message) from None
        for post in found:
            items.append(
                Item(
                    source_kind=SourceKind.BLUESKY,
                    remote_id=post.remote_id,
                    text=post.text,
                    posted_at=post.posted_at,
                    source_ref=str(channel.pk),
                    author_handle=post.author_handle,
                    author_name=post.author_name,
                    url=post.remote_url,
                    declared_language=post.language,
                    reference=dict(post.reference),
                )
            )
        latest = max((post.posted_at for post in found), default=None)
        if latest is not None and (not newest or latest.isoformat() > newest):
            cursor[term] = latest.isoformat()
    return items, {**source.cursor, "terms": cursor}


def read_feed(source: Source, now: datetime) -> tuple[list[Item], dict[str, Any]]:
    """Fetch and parse the feed; returns its entries newer than the cursor, and the cursor."""
    import feedparser

    headers = {"Accept": "application/atom+xml, application/rss+xml, application/xml;q=0.9"}
    if source.cursor.get("etag"):
        headers["If-None-Match"] = source.cursor["etag"]
    if source.cursor.get("modified"):
        headers["If-Modified-Since"] = source.cursor["modified"]
    try:
        answer = guarded_fetch.fetch(
            "GET", source.url, headers=headers, timeout=FEED_TIMEOUT, max_bytes=MAX_FEED_BYTES
        )
    except (guarded_fetch.FetchRefused, guarded_fetch.FetchFailed) as error:
        raise SourceError(str(error)) from None
    if answer.status == 304:
        return [], dict(source.cursor)
    if answer.status != 200:
        raise SourceError(f"The feed answered {answer.status}.")
    parsed = feedparser.parse(answer.content)
    if not parsed.entries and (parsed.get("bozo") or not parsed.get("version")):
        raise SourceError("This address did not give an RSS or Atom feed.")
    newest = source.cursor.get("newest")
    floor = datetime.fromisoformat(newest) - OVERLAP if newest else None
    items = []
    latest = datetime.fromisoformat(newest) if newest else None
    for entry in parsed.entries:
        posted = _entry_time(entry) or now
        if floor is not None and posted < floor:
            continue
        remote_id = str(entry.get("id") or entry.get("link") or "")
        if not remote_id:
            continue
        title = _plain(entry.get("title", ""))
        summary = _plain(entry.get("summary", ""))
        text = title if not summary or summary.startswith(title) else f"{title}\n{summary}"
        items.append(
            Item(
                source_kind=SourceKind.FEED,
                remote_id=remote_id,
                text=text[:10_000],
                posted_at=posted,
                source_ref=source.url,
                author_name=_plain(entry.get("author", ""))[:300],
                url=str(entry.get("link", ""))[:1000],
                declared_language=str(parsed.feed.get("language", "")),
            )
        )
        if latest is None or posted > latest:
            latest = posted
    cursor = dict(source.cursor)
    cursor["etag"] = answer.headers.get("etag", "")
    cursor["modified"] = answer.headers.get("last-modified", "")
    if latest is not None:
        cursor["newest"] = latest.isoformat()
    return items, cursor


def _entry_time(entry: Any) -> datetime | None:
    moment = entry.get("published_parsed") or entry.get("updated_parsed")
    if not moment:
        return None
    return datetime.fromtimestamp(timegm(moment), tz=UTC)


def _plain(value: str) -> str:
    return _SPACES.sub(" ", html.unescape(strip_tags(str(value)))).strip()


MASTODON_PAGE = 40  # Mastodon's largest page for timelines and search


def read_mastodon(source: Source, now: datetime) -> tuple[list[Item], dict[str, Any]]:
    """Hashtag timelines (``GET /api/v1/timelines/tag/:hashtag``) for the queries' ``#tags``
    and status search (``GET /api/v2/search?type=statuses``) for their words, through the
    source's Mastodon channel; one request each, within the channel's request budget.

    The cursor keeps, per anchor, the newest status id read: a timeline is read from there
    (``min_id``); search has no such mark on most instances, so its answers are filtered by
    date instead. What search finds depends on the instance (full-text search is optional
    and, when on, covers only statuses that opted in); listening applies its own query to
    whatever comes back either way. Boosts are skipped: the boosted status is the mention."""
    from socialdesk.publishing import pacing
    from socialdesk.publishing.connectors import connector_for

    channel = source.channel
    if channel is None or not channel.is_connected or not channel.has_account:
        raise SourceError("The channel for this search is not connected.")
    connector = connector_for(channel)
    if connector is None or getattr(connector, "network", "") != "mastodon":
        raise SourceError("This source needs a Mastodon channel.")
    limits = pacing.limits_of(connector)
    cursor = dict(source.cursor.get("anchors", {}))
    items: list[Item] = []
    for anchor in query_anchors(source.workspace_id):
        with transaction.atomic():
            pacing.lock_channel(channel.pk)
            if pacing.room_at(channel.pk, {"requests": 1}, limits, now) is not None:
                break  # no budget left: the next poll goes on
            pacing.spend(channel.pk, None, {"requests": 1}, limits, now)
        newest = cursor.get(anchor, "")
        since = now - FIRST_READ
        try:
            if anchor.startswith("#"):
                tag = anchor.lstrip("#").rstrip("*")
                statuses = connector._call(  # type: ignore[attr-defined]
                    partial(_hashtag_timeline, tag, newest)
                )
            else:
                statuses = _search_statuses(connector.instance_url, anchor.rstrip("*"))  # type: ignore[attr-defined]
        except ConnectorError as error:
            raise SourceError(error.message) from None
        for status in statuses:
            item = _mastodon_item(status, channel.pk)
            if item is None or item.posted_at < since:
                continue
            items.append(item)
            status_id = str(status.get("id", ""))
            if _newer_id(status_id, cursor.get(anchor, "")):
                cursor[anchor] = status_id
    return items, {**source.cursor, "anchors": cursor}


def _hashtag_timeline(tag: str, newest: str, api: Any) -> list[Any]:
    return list(api.timeline_hashtag(tag, min_id=newest or None, limit=MASTODON_PAGE))


def _search_statuses(instance_url: str, term: str) -> list[Any]:
    """Status search on the channel's instance, without its token: public since Mastodon
    4.0 (without ``resolve`` or ``offset``), while with a token it needs ``read:search``,
    a scope channels connected for publishing were not given."""
    from mastodon import Mastodon, MastodonError

    api = Mastodon(
        api_base_url=instance_url,
        ratelimit_method="throw",
        request_timeout=FEED_TIMEOUT,
        version_check_mode="none",
    )
    try:
        found = api.search_v2(term, resolve=False, result_type="statuses", limit=MASTODON_PAGE)
    except MastodonError as error:
        raise SourceError(f"Mastodon search did not answer ({type(error).__name__}).") from None
    return list(found.get("statuses") or [])


def _newer_id(candidate: str, than: str) -> bool:
    """Mastodon ids are numbers in strings (snowflakes): longer is newer."""
    if not than:
        return bool(candidate)
    return (len(candidate), candidate) > (len(than), than)


def _mastodon_item(status: Any, channel_id: int) -> Item | None:
    if status.get("reblog") or not status.get("uri"):
        return None
    if status.get("visibility") not in (None, "public", "unlisted"):
        return None  # listening keeps what anyone can read
    account = status.get("account") or {}
    posted = status.get("created_at")
    if isinstance(posted, str):
        posted = datetime.fromisoformat(posted.replace("Z", "+00:00"))
    if not isinstance(posted, datetime):
        return None
    if posted.tzinfo is None:
        posted = posted.replace(tzinfo=UTC)
    counts = [status.get(key) for key in ("favourites_count", "reblogs_count", "replies_count")]
    known = [count for count in counts if isinstance(count, int)]
    followers = account.get("followers_count")
    return Item(
        source_kind=SourceKind.MASTODON,
        remote_id=str(status["uri"])[:500],
        text=_plain(_PARAGRAPH_END.sub("\n", str(status.get("content") or "")))[:10_000],
        posted_at=posted,
        source_ref=str(channel_id),
        author_handle=str(account.get("acct") or "")[:300],
        author_name=str(account.get("display_name") or "")[:300],
        reach=followers if isinstance(followers, int) and followers >= 0 else None,
        engagement=sum(known) if known else None,
        url=str(status.get("url") or status.get("uri") or "")[:1000],
        declared_language=str(status.get("language") or ""),
    )


INBOX_BATCH = 500


def read_inbox(source: Source, now: datetime) -> tuple[list[Item], dict[str, Any]]:
    """The workspace's inbound inbox messages received since the last read (by id, at most
    ``INBOX_BATCH`` a poll: the next poll goes on), as items for the topics. A message is
    kept as a mention once (remote id ``message:<id>``); the first read starts at messages
    of the last ``FIRST_READ``."""
    from socialdesk.inbox.models import Direction, Message

    last_id = int(source.cursor.get("last_id") or 0)
    messages = Message.objects.filter(
        workspace_id=source.workspace_id, direction=Direction.INBOUND, pk__gt=last_id
    )
    if not last_id:
        messages = messages.filter(sent_at__gte=now - FIRST_READ)
    items = []
    newest = last_id
    for message in messages.select_related("author_contact", "channel").order_by("pk")[
        :INBOX_BATCH
    ]:
        newest = max(newest, message.pk)
        contact = message.author_contact
        items.append(
            Item(
                source_kind=SourceKind.INBOX,
                remote_id=f"message:{message.pk}",
                text=message.text[:10_000],
                posted_at=message.sent_at,
                source_ref=str(message.channel_id or ""),
                author_handle=(contact.handle if contact else "")[:300],
                author_name=(contact.display_name if contact else "")[:300],
                url=(message.remote_url or "")[:1000],
                declared_language=message.language or "",
            )
        )
    return items, {**source.cursor, "last_id": newest}


READERS = {
    SourceKind.BLUESKY: read_bluesky,
    SourceKind.MASTODON: read_mastodon,
    SourceKind.FEED: read_feed,
    SourceKind.INBOX: read_inbox,
}


def due_sources(now: datetime) -> Any:
    """Active sources not polled for ``POLL_EVERY`` and not under a lease."""
    return (
        Source.objects.filter(active=True, kind__in=list(READERS))
        .filter(Q(polled_at__isnull=True) | Q(polled_at__lte=now - POLL_EVERY))
        .filter(Q(polling_until__isnull=True) | Q(polling_until__lte=now))
    )


def claim(source_id: int, now: datetime) -> bool:
    """Take the source's lease (compare-and-set), if it is due and nobody holds it."""
    return bool(due_sources(now).filter(pk=source_id).update(polling_until=now + LEASE))


def on_heartbeat(now: datetime | None = None) -> list[int]:
    """Lease and queue a poll of every due source; returns their ids. Never raises."""
    now = now or timezone.now()
    try:
        queued = [pk for pk in due_sources(now).values_list("pk", flat=True) if claim(pk, now)]
        for source_id in queued:
            transaction.on_commit(partial(_hand_over, source_id), robust=True)
        return queued
    except Exception:
        log.exception("Could not queue the listening polls; retrying at the next beat")
        return []


def _hand_over(source_id: int) -> None:
    poll_source.enqueue(source_id)


def poll_once(source_id: int, now: datetime | None = None, *, leased: bool = False) -> dict:
    """One read of one source (the task's body; tests call it directly). With ``leased``
    the caller holds the lease (``on_heartbeat`` took it); otherwise it is taken here.
    Never raises."""
    now = now or timezone.now()
    outcome: dict[str, Any] = {"source": source_id, "polled": False}
    try:
        if not leased and not claim(source_id, now):
            return outcome
        source = Source.objects.select_related("channel").filter(pk=source_id).first()
        if source is None:
            return outcome
        try:
            items, cursor = READERS[SourceKind(source.kind)](source, now)
            result = store_items(
                source.workspace_id, items, matcher=workspace_matcher(source.workspace_id)
            )
        except SourceError as error:
            Source.objects.filter(pk=source_id).update(
                polled_at=now, polling_until=None, last_error=str(error)[:500]
            )
            return {**outcome, "polled": True, "error": str(error)}
        Source.objects.filter(pk=source_id).update(
            cursor=cursor, polled_at=now, polling_until=None, last_error=""
        )
        return {**outcome, "polled": True, **_counts(result)}
    except Exception:
        log.exception("Listening source %s could not be read", source_id)
        Source.objects.filter(pk=source_id).update(
            polled_at=now, polling_until=None, last_error="Could not read this source this time."
        )
        return {**outcome, "polled": True, "error": "unexpected"}


def _counts(result: StoreResult) -> dict[str, int]:
    return {"seen": result.seen, "new": result.new, "stored": result.stored}


@task()
def poll_source(source_id: int) -> dict:
    """Read one listening source (under the lease ``on_heartbeat`` took)."""
    return poll_once(source_id, leased=True)
