"""Bluesky (AT Protocol) through the ``atproto`` SDK.

Connects with a handle and an app password to a PDS (``https://bsky.social`` or a self-hosted
one). Tested against a real local network (PLC, PDS, AppView from ``@atproto/dev-env``) that
the test suite starts: see ``peers/bluesky/`` and ``tests/peers.py``.

Sessions: after the first login the session (access and refresh tokens) is exported as the
SDK's session string and handed to ``on_credentials_change`` to be stored with the channel's
encrypted credentials, so later calls do not log in again. The SDK refreshes the access token
before it expires (and reports the new string the same way); when the stored session is
refused, the connector logs in once more with the app password before calling the
authorization revoked.

Exactly once: Bluesky takes no idempotency header, but a record's key (rkey) is chosen by the
writer. Each record of a delivery (main post, thread parts, first comment) gets a TID derived
from the delivery's idempotency key (random per delivery, so two installations publishing to
one account never meet on a key), so a repeated create of the same record is refused by the
PDS (it answers 500) instead of posting twice; the connector then reads the record at that key
back and carries on. ``find_published`` reads the main post's key.

Reading (the inbox): ``fetch_inbox`` reads ``app.bsky.notification.listNotifications`` for
the reasons reply, mention and quote (the PDS hands the call to its AppView), newest first,
until it reaches the previous cursor (the ``indexedAt`` of the newest item already read, less
``INBOX_OVERLAP`` for items that sort late) or the backfill limit; then it fetches the
context the notifications lack in two batched calls: the posts replied to
(``app.bsky.feed.getPosts``, so the inbox shows what a reply answers) and the authors'
follower counts (``app.bsky.actor.getProfiles``). An idle channel costs one request a poll.

Measuring (``fetch_metrics``): ``app.bsky.feed.getPosts``, 25 URIs a call (the lexicon's
maximum), gives each post's like, repost, reply and quote counts as the AppView holds them;
Bluesky publishes no view counts. ``fetch_followers`` reads ``app.bsky.actor.getProfile``.

The inbox's writes (``DeliveryContent.action``; ``target`` holds ``uri`` and ``cid`` of the
post acted on and ``root_uri``/``root_cid`` of its thread):

- a **reply** is a post record whose reply ref names the thread's root and the answered post
  as parent, keyed like any post, so ``find_published`` finds it the same way;
- a **like** is an ``app.bsky.feed.like`` record whose key is derived from the idempotency
  key the same way;
- **hide** and **unhide** edit the ``hiddenReplies`` of the threadgate on *our* root post
  (a threadgate's key is its post's key): read, change, write back with the CID read
  (``swapRecord``), so a concurrent change is not overwritten; hiding what is hidden already
  writes nothing. Bluesky only lets a thread's author hide replies in it: a reply under
  someone else's post cannot be hidden (refused, permanently);
- **delete** removes one of our records; one already gone is done.

Rich text: links, mentions and hashtags become facets with UTF-8 byte offsets, found by the
SDK's own detector (mentions are resolved to DIDs through the PDS); text length is counted in
grapheme clusters (``regex``'s ``\\X``), as Bluesky counts it.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, TypeVar
from urllib.parse import urlencode, urlsplit

import httpx
import pydantic
import regex
from atproto import AtUri, Client, Request, Session, SessionEvent, models
from atproto_client import exceptions as sdk
from atproto_client.models.common import XrpcError
from PIL import Image, UnidentifiedImageError

from socialdesk import tls

from .base import (
    AccountInfo,
    Connector,
    ConnectorError,
    DeliveryContent,
    FoundPost,
    InboxAuthor,
    InboxItem,
    InboxPage,
    ItemKind,
    MediaFile,
    MetricInfo,
    Metrics,
    Problem,
    Published,
    RateLimit,
)
from .catalog import NetworkAbout

T = TypeVar("T")

DEFAULT_PDS = "https://bsky.social"
DEFAULT_WEB = "https://bsky.app"
POST = "app.bsky.feed.post"
LIKE = "app.bsky.feed.like"
THREADGATE = "app.bsky.feed.threadgate"
MAX_HIDDEN_REPLIES = 300  # the lexicon's maxLength of threadgate.hiddenReplies

MAX_GRAPHEMES = 300
MAX_TEXT_BYTES = 3000  # the lexicon's maxLength, in UTF-8 bytes: long emoji sequences hit it

ABOUT = NetworkAbout(
    network="bluesky",
    connect="app_password",
    text_max=MAX_GRAPHEMES,
    text_unit="graphemes",
    operator_setup="Nothing: each account connects with its handle and an app password.",
    accounts="Any Bluesky account, on bsky.social or a self-hosted PDS.",
    tested="A real local Bluesky network (PDS, AppView, PLC from npm) started by the tests.",
    reads="Replies, mentions and quotes into the inbox; likes, reposts, replies, quotes.",
    reference="https://docs.bsky.app/",
)
MAX_IMAGES = 4
MAX_IMAGE_BYTES = 1_000_000  # app.bsky.embed.images: image blob maxSize
MAX_ALT_GRAPHEMES = 2000  # what the Bluesky app accepts
IMAGE_TYPES = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WebP", "image/gif": "GIF"}

# Error names with which a PDS says the session or the account no longer works.
AUTH_ERRORS = {
    "AuthenticationRequired",
    "ExpiredToken",
    "InvalidToken",
    "AccountTakedown",
    "AccountDeactivated",
    "AuthFactorTokenRequired",
}

_GRAPHEME = regex.compile(r"\X")


def grapheme_count(text: str) -> int:
    """User-perceived characters (extended grapheme clusters): 👩‍👩‍👧 and é count once."""
    return len(_GRAPHEME.findall(text))


# TIDs: 13 characters of base32-sortable, 53 bits of microseconds then 10 bits of clock id.
_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
_TID_EPOCH_US = 1_672_531_200_000_000  # 2023-01-01T00:00:00Z


def record_key(idempotency_key: str) -> str:
    """A valid TID, always the same for the same key.

    Its timestamp is not the posting time (clients show ``createdAt``): it is taken from a hash
    of the key and kept within 2023–2025, in the past, where any PDS accepts it; 56 bits of hash
    make two keys meeting on one account unlikely, and ``publish`` checks the text anyway.
    """
    digest = int.from_bytes(hashlib.sha256(idempotency_key.encode()).digest()[:8], "big")
    micros = _TID_EPOCH_US + (digest >> 10) % (1 << 46)
    value = (micros << 10) | (digest & 0x3FF)
    chars = []
    for _ in range(13):
        chars.append(_TID_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def warm() -> None:
    """Build the SDK's models of the answers the worker parses. The SDK builds each model on
    its first use, ~0.1 s for a notifications list and ~0.3 s for all of these: without this
    the first post and the first inbox poll after a worker starts paid for it, while the
    other posts of a burst waited behind them (bench/publishing.py, the SDK ratio)."""
    for model in (
        models.ComAtprotoServerCreateSession.Response,
        models.ComAtprotoRepoCreateRecord.Response,
        models.ComAtprotoRepoGetRecord.Response,
        models.ComAtprotoRepoUploadBlob.Response,
        models.AppBskyFeedPost.Record,
        models.AppBskyFeedGetPosts.Response,
        models.AppBskyFeedSearchPosts.Response,
        models.AppBskyNotificationListNotifications.Response,
        models.AppBskyActorGetProfile.Params,
        models.AppBskyActorGetProfiles.Response,
    ):
        model.model_rebuild()


class BlueskyConnector(Connector):
    """One Bluesky account. Not thread-safe: make one per worker thread."""

    network = "bluesky"
    # Bluesky's published PDS write limits, per account: a create costs 3 points,
    # an update 2, a delete 1 (docs.bsky.app, "Rate Limits").
    rate_limits: ClassVar[tuple[RateLimit, ...]] = (
        RateLimit("write points", 5_000, timedelta(hours=1)),
        RateLimit("write points", 35_000, timedelta(days=1)),
    )
    # Reads: its published limit on API requests, 3,000 per 5 minutes (same page; counted by
    # IP there, kept per account here: stricter for one account, good enough for several).
    read_limits: ClassVar[tuple[RateLimit, ...]] = (
        RateLimit("requests", 3_000, timedelta(minutes=5)),
    )
    CREATE_POINTS = 3
    UPDATE_POINTS = 2
    DELETE_POINTS = 1
    reads = True
    # Notification reasons that are something said to or about the account.
    INBOX_REASONS: ClassVar[dict[str, str]] = {
        "reply": ItemKind.COMMENT,
        "mention": ItemKind.MENTION,
        "quote": ItemKind.QUOTE,
    }
    INBOX_PAGE_SIZE = 100
    INBOX_MAX_PAGES = 10  # at most 1,000 new items a poll; the next poll reads on
    INBOX_OVERLAP = timedelta(minutes=10)
    METRICS_BATCH = 25  # URIs per app.bsky.feed.getPosts (the lexicon's maximum)
    _COUNTED = "Counted by the AppView as it indexes the network: live when read (seconds)."
    measures = True
    metric_table: ClassVar[tuple[MetricInfo, ...]] = (
        MetricInfo("likes", "likeCount (app.bsky.feed.getPosts)", _COUNTED),
        MetricInfo("reposts", "repostCount (app.bsky.feed.getPosts)", _COUNTED),
        MetricInfo("replies", "replyCount (app.bsky.feed.getPosts)", _COUNTED),
        MetricInfo("quotes", "quoteCount (app.bsky.feed.getPosts)", _COUNTED),
        MetricInfo(
            "followers",
            "followersCount (app.bsky.actor.getProfile)",
            "Live when read; Socialdesk reads it once a day.",
        ),
    )
    metric_note: ClassVar[str] = "Bluesky gives no views and no link clicks."

    def __init__(
        self,
        handle: str,
        app_password: str,
        *,
        pds_url: str = DEFAULT_PDS,
        session: str = "",
        on_credentials_change: Callable[[dict[str, str]], None] | None = None,
        web_url: str | None = None,
        timeout: float = 20.0,
    ) -> None:
        self.handle = handle.removeprefix("@")
        self._app_password = app_password
        self.pds_url = pds_url.rstrip("/") or DEFAULT_PDS
        self.session = session
        # Where a person views a post: bsky.app only shows what Bluesky's own network
        # indexes, so a self-hosted PDS gets its own app view address when one is given, else
        # a link to the record on the PDS itself (see ``_published``).
        self._web_url_given = (web_url or "").rstrip("/")
        if web_url is None:
            web_url = DEFAULT_WEB if _is_bluesky_hosted(self.pds_url) else ""
        self.web_url = web_url.rstrip("/")
        self._on_credentials_change = on_credentials_change
        self._timeout = timeout
        self._client: Client | None = None
        self._did = ""

    def __repr__(self) -> str:
        return f"<BlueskyConnector {self.handle} at {self.pds_url}>"

    @classmethod
    def from_credentials(
        cls,
        credentials: Mapping[str, str],
        on_credentials_change: Callable[[dict[str, str]], None] | None = None,
    ) -> BlueskyConnector:
        """Build from what ``credentials()`` returned (a channel's decrypted credentials)."""
        return cls(
            credentials["handle"],
            credentials["app_password"],
            pds_url=credentials.get("pds_url") or DEFAULT_PDS,
            session=credentials.get("session", ""),
            on_credentials_change=on_credentials_change,
            web_url=credentials.get("web_url") or None,
        )

    def credentials(self) -> dict[str, str]:
        """What to store (encrypted) to reconnect later without asking the person again."""
        return {
            "handle": self.handle,
            "app_password": self._app_password,
            "pds_url": self.pds_url,
            "session": self.session,
            **({"web_url": self._web_url_given} if self._web_url_given else {}),
        }

    # -- the connector interface ------------------------------------------------------------

    def cost(self, content: DeliveryContent) -> dict[str, int]:
        if content.action in ("hide", "unhide"):
            return {"write points": self.CREATE_POINTS}  # a create, or an update (2)
        if content.action == "delete":
            return {"write points": self.DELETE_POINTS}
        records = 1 + len(content.thread) + (1 if content.first_comment else 0)
        return {"write points": self.CREATE_POINTS * records}

    def action_problems(self, content: DeliveryContent) -> list[Problem]:
        target = content.target
        uri = str(target.get("uri") or "")
        problems = []
        if not uri.startswith("at://"):
            problems.append(Problem("target", "The Bluesky post acted on has no at:// address."))
        if content.action == "like" and not target.get("cid"):
            problems.append(Problem("target", "Liking needs the post's CID, which is missing."))
        if content.action in ("hide", "unhide") and not str(target.get("root_uri") or uri):
            problems.append(Problem("target", "Hiding needs the thread's root post."))
        if content.action not in ("like", "hide", "unhide", "delete"):
            problems.append(Problem("action", f"Bluesky cannot {content.action}."))
        return problems

    def validate(self, content: DeliveryContent) -> list[Problem]:
        if not content.is_write_of_text:
            return self.action_problems(content)
        problems = _text_problems("text", content.text, "The text")
        if content.reply_to is not None:
            target = content.reply_to
            if not str(target.get("uri") or "").startswith("at://") or not target.get("cid"):
                problems.append(
                    Problem("target", "The answered post has no at:// address and CID to reply to.")
                )
        if not content.text.strip() and not content.media:
            problems.append(Problem("text", "Write some text or attach an image."))
        for number, part in enumerate(content.thread, start=2):
            problems += _text_problems("thread", part, f"Part {number} of the thread")
            if not part.strip():
                problems.append(Problem("thread", f"Part {number} of the thread is empty."))
        problems += _text_problems("first_comment", content.first_comment, "The first comment")
        if len(content.media) > MAX_IMAGES:
            problems.append(
                Problem(
                    "media",
                    f"Bluesky takes up to {MAX_IMAGES} images a post; "
                    f"this one has {len(content.media)}.",
                )
            )
        for media in content.media:
            problems += _media_problems(media)
        if content.link:
            if not content.link.url.startswith(("https://", "http://")):
                problems.append(Problem("link", "The link card needs an http(s) address."))
            if content.media:
                problems.append(
                    Problem(
                        "link",
                        "Bluesky shows either images or a link card under a post, not both: "
                        "remove the card or the images.",
                    )
                )
        return problems

    def publish(self, content: DeliveryContent, idempotency_key: str) -> Published:
        problems = self.validate(content)
        if problems:
            raise ConnectorError(" ".join(str(p) for p in problems), permanent=True)

        if not content.is_write_of_text:
            return self._call(lambda client: self._act(client, content, idempotency_key))

        def run(client: Client) -> Published:
            answered = _reply_ref(content.reply_to) if content.reply_to is not None else None
            root = self._create_or_find(
                client,
                record_key(idempotency_key),
                self._record(
                    client,
                    content.text,
                    content,
                    embed=self._embed(client, content),
                    reply=answered,
                ),
            )
            parent = root
            for number, part in enumerate(content.thread, start=2):
                reply = models.AppBskyFeedPost.ReplyRef(root=root, parent=parent)
                parent = self._create_or_find(
                    client,
                    record_key(f"{idempotency_key}#part-{number}"),
                    self._record(client, part, content, reply=reply),
                )
            if content.first_comment:
                reply = models.AppBskyFeedPost.ReplyRef(root=root, parent=root)
                self._create_or_find(
                    client,
                    record_key(f"{idempotency_key}#first-comment"),
                    self._record(client, content.first_comment, content, reply=reply),
                )
            return self._published(root.uri)

        return self._call(run)

    def find_published(
        self, idempotency_key: str, content: DeliveryContent | None = None
    ) -> Published | None:
        if content is not None and not content.is_write_of_text:
            return self._call(lambda client: self._find_act(client, content, idempotency_key))

        def run(client: Client) -> Published | None:
            found = self._get_post(client, record_key(idempotency_key))
            if found is None:
                return None
            if content is not None and _text_of(found) != content.text:
                return None  # the key is taken by another post: not ours
            return self._published(found.uri)

        return self._call(run)

    def delete(self, remote_id: str) -> None:
        uri = AtUri.from_str(remote_id)

        def run(client: Client) -> None:
            client.com.atproto.repo.delete_record(
                models.ComAtprotoRepoDeleteRecord.Data(
                    repo=uri.host, collection=uri.collection, rkey=uri.rkey
                )
            )

        self._call(run)

    def check_connection(self) -> AccountInfo:
        def run(client: Client) -> AccountInfo:
            session = client.com.atproto.server.get_session()
            display_name = ""
            try:
                profile = client.com.atproto.repo.get_record(
                    models.ComAtprotoRepoGetRecord.Params(
                        repo=session.did, collection="app.bsky.actor.profile", rkey="self"
                    )
                )
                display_name = getattr(profile.value, "display_name", None) or ""
            except sdk.BadRequestError:
                pass  # no profile record yet: the account works all the same
            return AccountInfo(session.did, session.handle, display_name)

        return self._call(run)

    # -- reading ----------------------------------------------------------------------------

    def read_cost(self) -> dict[str, int]:
        return {"requests": 1}

    def fetch_inbox(self, cursor: str, since: datetime) -> InboxPage:
        """Replies, mentions and quotes indexed after ``cursor`` (an ISO time: the newest
        ``indexedAt`` already read) and not before ``since``, oldest first."""
        after = _parse_time(cursor) if cursor else None
        # The AppView sorts notifications by the earlier of the record's createdAt (the
        # author's own clock) and when it indexed it, so an item indexed late, or from a
        # client whose clock runs behind, can sort before one already read: read back
        # ``INBOX_OVERLAP`` before the cursor, and let ingestion skip what it holds.
        floor = max(since, after - self.INBOX_OVERLAP) if after is not None else since

        def run(client: Client) -> InboxPage:
            requests = 0
            found: list[models.AppBskyNotificationListNotifications.Notification] = []
            newest = cursor
            page_cursor = None
            for _ in range(self.INBOX_MAX_PAGES):
                answer = client.app.bsky.notification.list_notifications(
                    models.AppBskyNotificationListNotifications.Params(
                        limit=self.INBOX_PAGE_SIZE,
                        reasons=list(self.INBOX_REASONS),
                        cursor=page_cursor,
                    )
                )
                requests += 1
                reached_old = False
                for notification in answer.notifications:
                    indexed = _parse_time(notification.indexed_at)
                    if indexed is None or indexed < floor:
                        reached_old = True
                        break
                    if not newest or indexed > (_parse_time(newest) or indexed):
                        newest = notification.indexed_at
                    if notification.reason in self.INBOX_REASONS:
                        found.append(notification)
                page_cursor = answer.cursor
                if reached_old or not page_cursor or not answer.notifications:
                    break
            me = self._did or (client.me.did if client.me else "")
            items = []
            for notification in found:
                item = self._inbox_item(notification, me)
                if item is not None:
                    items.append(item)
            requests += self._add_context(client, items)
            items.sort(key=lambda item: (item.sent_at, item.remote_id))
            return InboxPage(items, newest or "", {"requests": requests})

        return self._call(run)

    SEARCH_PAGE_SIZE = 100

    def search_posts(self, term: str, since: datetime | None = None) -> list[FoundPost]:
        """Public posts containing ``term`` (``app.bsky.feed.searchPosts``, newest first, one
        page of at most ``SEARCH_PAGE_SIZE``), made at or after ``since``. One request.

        What "containing" means is the AppView's: bsky.app's search reads words, the
        development AppView plain substrings; listening applies its own query to what comes
        back either way."""

        def run(client: Client) -> list[FoundPost]:
            answer = client.app.bsky.feed.search_posts(
                models.AppBskyFeedSearchPosts.Params(
                    q=term,
                    limit=self.SEARCH_PAGE_SIZE,
                    sort="latest",
                    since=since.astimezone(UTC).isoformat().replace("+00:00", "Z")
                    if since
                    else None,
                )
            )
            found = []
            for post in answer.posts:
                record = post.record
                if not isinstance(record, models.AppBskyFeedPost.Record):
                    continue
                indexed = _parse_time(post.indexed_at) or datetime.now(UTC)
                created = _parse_time(record.created_at) or indexed
                posted = min(created, indexed)
                if since is not None and posted < since:
                    continue
                found.append(
                    FoundPost(
                        remote_id=post.uri,
                        text=record.text,
                        posted_at=posted,
                        author_handle=post.author.handle,
                        author_name=post.author.display_name or "",
                        remote_url=self._published(post.uri).remote_url,
                        language=(record.langs or [""])[0],
                        reference=_found_reference(post, record),
                    )
                )
            return found

        return self._call(run)

    def _inbox_item(
        self, notification: models.AppBskyNotificationListNotifications.Notification, me: str
    ) -> InboxItem | None:
        record = notification.record
        if not isinstance(record, models.AppBskyFeedPost.Record):
            return None  # not a post (the reasons asked for are all posts)
        author = notification.author
        kind = self.INBOX_REASONS[notification.reason]
        reference: dict[str, Any] = {"uri": notification.uri, "cid": notification.cid}
        parent_uri = our_post = ""
        if record.reply is not None:
            root, parent = record.reply.root, record.reply.parent
            reference.update(
                root_uri=root.uri, root_cid=root.cid, parent_uri=parent.uri, parent_cid=parent.cid
            )
            parent_uri = parent.uri
            if AtUri.from_str(root.uri).host == me:
                our_post = root.uri
        else:
            # A post that starts a thread: an answer to it has it as root and parent.
            reference.update(
                root_uri=notification.uri,
                root_cid=notification.cid,
                parent_uri=notification.uri,
                parent_cid=notification.cid,
            )
        quoted = _quoted_uri(record.embed)
        if kind == ItemKind.QUOTE and quoted and AtUri.from_str(quoted).host == me:
            our_post = quoted
        if kind == ItemKind.COMMENT:
            thread_key = f"{reference['root_uri']} {author.did}"
        else:
            thread_key = notification.uri
        indexed = _parse_time(notification.indexed_at) or datetime.now(UTC)
        created = _parse_time(record.created_at) or indexed
        # ``createdAt`` is the author's own clock: never later than the AppView saw it.
        sent_at = min(created, indexed)
        return InboxItem(
            remote_id=notification.uri,
            kind=kind,
            thread_key=thread_key,
            author=InboxAuthor(
                remote_id=author.did,
                handle=author.handle,
                display_name=author.display_name or "",
                avatar_url=author.avatar or "",
            ),
            text=record.text,
            sent_at=sent_at,
            remote_url=self._published(notification.uri).remote_url,
            reference=reference,
            parent_remote_id=parent_uri,
            our_post_remote_id=our_post,
            language=(record.langs or [""])[0],
        )

    def _add_context(self, client: Client, items: list[InboxItem]) -> int:
        """Fill in, in place, the text of the posts replied to and the authors' follower
        counts: 25 at a time (the lexicons' maximum). Returns the requests made."""
        requests = 0
        parents = sorted({i.parent_remote_id for i in items if i.parent_remote_id})
        texts: dict[str, str] = {}
        for start in range(0, len(parents), 25):
            posts = client.app.bsky.feed.get_posts(
                models.AppBskyFeedGetPosts.Params(uris=parents[start : start + 25])
            ).posts
            requests += 1
            for post in posts:
                texts[post.uri] = getattr(post.record, "text", "") or ""
        dids = sorted({i.author.remote_id for i in items})
        followers: dict[str, int | None] = {}
        for start in range(0, len(dids), 25):
            profiles = client.app.bsky.actor.get_profiles(
                models.AppBskyActorGetProfiles.Params(actors=dids[start : start + 25])
            ).profiles
            requests += 1
            for profile in profiles:
                followers[profile.did] = profile.followers_count
        for index, item in enumerate(items):
            reference = dict(item.reference)
            if item.parent_remote_id in texts:
                reference["parent_text"] = texts[item.parent_remote_id]
            author = replace(item.author, followers=followers.get(item.author.remote_id))
            items[index] = replace(item, reference=reference, author=author)
        return requests

    # -- measuring --------------------------------------------------------------------------

    def metrics_cost(self, posts: int, followers: bool = False) -> dict[str, int]:
        calls = -(-posts // self.METRICS_BATCH) + (1 if followers else 0)
        return {"requests": calls} if calls else {}

    def fetch_metrics(self, remote_ids: Sequence[str]) -> dict[str, Metrics]:
        """Like, repost, reply and quote counts of our posts (their at:// URIs), 25 a call;
        a post the AppView does not return (deleted, taken down) is left out."""
        uris = sorted({uri for uri in remote_ids if uri.startswith("at://")})

        def run(client: Client) -> dict[str, Metrics]:
            found: dict[str, Metrics] = {}
            for start in range(0, len(uris), self.METRICS_BATCH):
                posts = client.app.bsky.feed.get_posts(
                    models.AppBskyFeedGetPosts.Params(uris=uris[start : start + self.METRICS_BATCH])
                ).posts
                for post in posts:
                    found[post.uri] = Metrics(
                        likes=post.like_count,
                        reposts=post.repost_count,
                        replies=post.reply_count,
                        quotes=post.quote_count,
                    )
            return found

        return self._call(run) if uris else {}

    def fetch_followers(self) -> int | None:
        def run(client: Client) -> int | None:
            actor = self._did or (client.me.did if client.me else self.handle)
            profile = client.app.bsky.actor.get_profile(
                models.AppBskyActorGetProfile.Params(actor=actor)
            )
            return profile.followers_count

        return self._call(run)

    # -- sessions ---------------------------------------------------------------------------

    def _call(self, action: Callable[[Client], T]) -> T:
        """Run ``action`` with a logged-in client, mapping every failure to ConnectorError.

        A refused stored session (expired or revoked refresh token) is replaced by one fresh
        login with the app password and the action runs once more; that is safe for creates
        because the PDS refused the call before doing anything.
        """
        with _translated_errors():
            client = self._logged_in_client()
            try:
                return action(client)
            except (sdk.UnauthorizedError, sdk.BadRequestError, sdk.LoginRequiredError) as error:
                if not self.session or not _is_auth_error(error):
                    raise
                self._login(client)
                return action(client)

    def _logged_in_client(self) -> Client:
        if self._client is not None:
            return self._client
        request = Request(timeout=self._timeout, verify=tls.client_context())
        client = Client(self.pds_url, request=request)
        client.on_session_change(self._session_changed)
        if self.session:
            try:
                client.login(session_string=self.session, fetch_bsky_profile=False)
            except ValueError:  # a malformed stored string: start over
                self._login(client)
        else:
            self._login(client)
        self._client = client
        return client

    def _login(self, client: Client) -> None:
        self.session = ""
        client.login(self.handle, self._app_password, fetch_bsky_profile=False)

    def _session_changed(self, event: SessionEvent, session: Session) -> None:
        self._did = session.did
        if event == SessionEvent.IMPORT:
            return
        self.session = session.export()
        if session.handle:
            self.handle = session.handle
        if self._on_credentials_change is not None:
            self._on_credentials_change(self.credentials())

    # -- records ----------------------------------------------------------------------------

    def _record(
        self,
        client: Client,
        text: str,
        content: DeliveryContent,
        *,
        embed: Any = None,
        reply: models.AppBskyFeedPost.ReplyRef | None = None,
    ) -> models.AppBskyFeedPost.Record:
        return models.AppBskyFeedPost.Record(
            text=text,
            created_at=client.get_current_time_iso(),
            facets=client.detect_facets(text) or None,
            embed=embed,
            reply=reply,
            langs=[content.language] if content.language else None,
        )

    def _embed(self, client: Client, content: DeliveryContent) -> Any:
        if content.media:
            return models.AppBskyEmbedImages.Main(
                images=[self._upload_image(client, media) for media in content.media]
            )
        if content.link:
            return models.AppBskyEmbedExternal.Main(
                external=models.AppBskyEmbedExternal.External(
                    uri=content.link.url,
                    title=content.link.title,
                    description=content.link.description,
                )
            )
        return None

    def _upload_image(self, client: Client, media: MediaFile) -> models.AppBskyEmbedImages.Image:
        data = media.path.read_bytes()
        blob = client.com.atproto.repo.upload_blob(data, headers={"Content-Type": media.mime_type})
        aspect_ratio = None
        try:
            with Image.open(io.BytesIO(data)) as image:
                aspect_ratio = models.AppBskyEmbedDefs.AspectRatio(
                    width=image.width, height=image.height
                )
        except (UnidentifiedImageError, OSError):
            pass  # the aspect ratio only helps clients lay the image out before loading it
        return models.AppBskyEmbedImages.Image(
            alt=media.alt_text, image=blob.blob, aspect_ratio=aspect_ratio
        )

    def _create_or_find(
        self, client: Client, rkey: str, record: models.AppBskyFeedPost.Record
    ) -> models.ComAtprotoRepoStrongRef.Main:
        """Create the record at ``rkey``, or return it when an earlier attempt already did."""
        try:
            created = client.com.atproto.repo.create_record(
                models.ComAtprotoRepoCreateRecord.Data(
                    repo=self._did, collection=POST, rkey=rkey, record=record, validate=True
                )
            )
            return models.ComAtprotoRepoStrongRef.Main(uri=created.uri, cid=created.cid)
        except (sdk.RequestException, sdk.NetworkError) as error:
            # A taken key answers 500; a timeout may hide a create that happened. Either way,
            # what is at the key decides. A 429 or an answer we got for sure is not ambiguous.
            if isinstance(error, sdk.RateLimitExceededError):
                raise
            status = error.response.status_code if error.response is not None else None
            if status is not None and status < 500 and status != 409:
                raise
            existing = self._get_post(client, rkey)
            if existing is None:
                raise
            if _text_of(existing) != record.text:
                raise ConnectorError(
                    f"Another post already uses this delivery's record key ({rkey}); "
                    "it was not published again.",
                    permanent=True,
                ) from error
            return models.ComAtprotoRepoStrongRef.Main(uri=existing.uri, cid=existing.cid or "")

    def _get_post(
        self, client: Client, rkey: str, collection: str = POST, repo: str = ""
    ) -> models.ComAtprotoRepoGetRecord.Response | None:
        try:
            return client.com.atproto.repo.get_record(
                models.ComAtprotoRepoGetRecord.Params(
                    repo=repo or self._did, collection=collection, rkey=rkey
                )
            )
        except sdk.BadRequestError as error:
            if _error_name(error) == "RecordNotFound":
                return None
            raise

    # -- the inbox's writes ------------------------------------------------------------------

    def _act(self, client: Client, content: DeliveryContent, idempotency_key: str) -> Published:
        problems = self.action_problems(content)
        if problems:
            raise ConnectorError(" ".join(str(p) for p in problems), permanent=True)
        target = content.target
        uri = str(target["uri"])
        if content.action == "like":
            return self._like(client, uri, str(target["cid"]), record_key(idempotency_key))
        if content.action == "delete":
            at_uri = AtUri.from_str(uri)
            if at_uri.host != self._did:
                raise ConnectorError(
                    "Only this account's own posts can be deleted from here.", permanent=True
                )
            client.com.atproto.repo.delete_record(
                models.ComAtprotoRepoDeleteRecord.Data(
                    repo=at_uri.host, collection=at_uri.collection, rkey=at_uri.rkey
                )
            )  # deleting a record that is gone already succeeds: nothing to check
            return Published(uri, "")
        root_uri = str(target.get("root_uri") or uri)
        return self._set_hidden(client, root_uri, uri, hidden=content.action == "hide")

    def _find_act(
        self, client: Client, content: DeliveryContent, idempotency_key: str
    ) -> Published | None:
        """Is the like, hide, unhide or delete done? (Asked for an unknown outcome.)"""
        target = content.target
        uri = str(target.get("uri") or "")
        if content.action == "like":
            found = self._get_post(client, record_key(idempotency_key), LIKE)
            return Published(found.uri, "") if found is not None else None
        at_uri = AtUri.from_str(uri)
        if content.action == "delete":
            gone = self._get_post(client, at_uri.rkey, at_uri.collection, at_uri.host) is None
            return Published(uri, "") if gone else None
        root = AtUri.from_str(str(target.get("root_uri") or uri))
        gate = self._get_post(client, root.rkey, THREADGATE, root.host)
        hidden = uri in (_hidden_of(gate) if gate is not None else [])
        if hidden == (content.action == "hide"):
            return Published(gate.uri if gate is not None else uri, "")
        return None

    def _like(self, client: Client, uri: str, cid: str, rkey: str) -> Published:
        record = models.AppBskyFeedLike.Record(
            subject=models.ComAtprotoRepoStrongRef.Main(uri=uri, cid=cid),
            created_at=client.get_current_time_iso(),
        )
        try:
            created = client.com.atproto.repo.create_record(
                models.ComAtprotoRepoCreateRecord.Data(
                    repo=self._did, collection=LIKE, rkey=rkey, record=record, validate=True
                )
            )
            return Published(created.uri, "")
        except (sdk.RequestException, sdk.NetworkError) as error:
            # As for posts: a taken key (an earlier attempt's like) or a lost answer; what is
            # at the key decides.
            if isinstance(error, sdk.RateLimitExceededError):
                raise
            existing = self._get_post(client, rkey, LIKE)
            if existing is None:
                raise
            if getattr(existing.value.subject, "uri", "") != uri:
                raise ConnectorError(
                    f"Another like already uses this delivery's record key ({rkey}).",
                    permanent=True,
                ) from error
            return Published(existing.uri, "")

    def _set_hidden(self, client: Client, root_uri: str, uri: str, *, hidden: bool) -> Published:
        """Add ``uri`` to (or remove it from) the hidden replies of the threadgate on our post
        ``root_uri``: read-modify-write with ``swapRecord``, so a change made meanwhile by
        someone else (another installation, the Bluesky app) is never overwritten; the PDS
        refuses the stale write and the engine retries from a fresh read."""
        root = AtUri.from_str(root_uri)
        if root.host != self._did:
            raise ConnectorError(
                "Bluesky lets only a thread's author hide replies in it, and this thread "
                "is under someone else's post.",
                permanent=True,
            )
        gate = self._get_post(client, root.rkey, THREADGATE)
        current = _hidden_of(gate) if gate is not None else []
        if (uri in current) == hidden:
            # Nothing to change: a repeat of a done hide, or an unhide of what is not hidden.
            return Published(gate.uri if gate is not None else root_uri, "")
        wanted = [*current, uri] if hidden else [u for u in current if u != uri]
        if len(wanted) > MAX_HIDDEN_REPLIES:
            raise ConnectorError(
                f"Bluesky hides at most {MAX_HIDDEN_REPLIES} replies in one thread.",
                permanent=True,
            )
        value = gate.value if gate is not None else None
        record = models.AppBskyFeedThreadgate.Record(
            post=root_uri,
            created_at=getattr(value, "created_at", None) or client.get_current_time_iso(),
            # Who may reply stays as it was (absent: everyone).
            allow=getattr(value, "allow", None),
            hidden_replies=wanted or None,
        )
        written = client.com.atproto.repo.put_record(
            models.ComAtprotoRepoPutRecord.Data(
                repo=self._did,
                collection=THREADGATE,
                rkey=root.rkey,
                record=record,
                swap_record=gate.cid if gate is not None else None,
                validate=True,
            )
        )
        return Published(written.uri, "")

    def _published(self, uri: str) -> Published:
        at_uri = AtUri.from_str(uri)
        if self.web_url:
            return Published(uri, f"{self.web_url}/profile/{at_uri.host}/post/{at_uri.rkey}")
        # No app view known for this PDS: the record as the PDS itself serves it (JSON), a
        # real address on the account's own server rather than a bsky.app page that 404s.
        query = urlencode({"repo": at_uri.host, "collection": POST, "rkey": at_uri.rkey})
        return Published(uri, f"{self.pds_url}/xrpc/com.atproto.repo.getRecord?{query}")


def _is_bluesky_hosted(pds_url: str) -> bool:
    """True for Bluesky's own PDS hosts (bsky.social and its *.bsky.network servers)."""
    host = (urlsplit(pds_url).hostname or "").lower()
    return host in {"bsky.social", "bsky.network"} or host.endswith(
        (".bsky.social", ".bsky.network")
    )


def _parse_time(value: str | None) -> datetime | None:
    """An aware UTC datetime from an AT Protocol datetime string, or None."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _found_reference(post: Any, record: models.AppBskyFeedPost.Record) -> dict[str, str]:
    """What answering a found post needs: itself, its thread's root, its author."""
    reference = {"uri": str(post.uri), "cid": str(post.cid), "did": str(post.author.did)}
    if record.reply is not None:
        reference["root_uri"] = str(record.reply.root.uri)
        reference["root_cid"] = str(record.reply.root.cid)
    return reference


def _quoted_uri(embed: Any) -> str:
    """The URI of the post an embed quotes (a record embed, or a record with media)."""
    if isinstance(embed, models.AppBskyEmbedRecord.Main):
        return str(embed.record.uri)
    if isinstance(embed, models.AppBskyEmbedRecordWithMedia.Main):
        return str(embed.record.record.uri)
    return ""


def _reply_ref(target: Mapping[str, Any]) -> models.AppBskyFeedPost.ReplyRef:
    """The reply ref of an answer to ``target``: the answered post is the parent; its root
    is the thread's root (the answered post itself when it starts the thread)."""
    parent = models.ComAtprotoRepoStrongRef.Main(uri=str(target["uri"]), cid=str(target["cid"]))
    root = parent
    if target.get("root_uri") and target.get("root_cid"):
        root = models.ComAtprotoRepoStrongRef.Main(
            uri=str(target["root_uri"]), cid=str(target["root_cid"])
        )
    return models.AppBskyFeedPost.ReplyRef(root=root, parent=parent)


def _hidden_of(gate: models.ComAtprotoRepoGetRecord.Response) -> list[str]:
    return list(getattr(gate.value, "hidden_replies", None) or [])


def _text_of(record: models.ComAtprotoRepoGetRecord.Response) -> str:
    return getattr(record.value, "text", None) or ""


def _text_problems(field: str, text: str, what: str) -> list[Problem]:
    problems = []
    count = grapheme_count(text)
    if count > MAX_GRAPHEMES:
        problems.append(
            Problem(
                field,
                f"{what} has {count} characters; Bluesky allows {MAX_GRAPHEMES}. "
                f"Remove {count - MAX_GRAPHEMES}.",
            )
        )
    elif len(text.encode()) > MAX_TEXT_BYTES:
        problems.append(
            Problem(
                field,
                f"{what} is too long for Bluesky once encoded ({len(text.encode())} bytes, "
                f"at most {MAX_TEXT_BYTES}): combined emoji count for several bytes each.",
            )
        )
    return problems


def _media_problems(media: MediaFile) -> list[Problem]:
    problems = []
    name = media.path.name
    if media.mime_type not in IMAGE_TYPES:
        kinds = ", ".join(IMAGE_TYPES.values())
        problems.append(
            Problem("media", f"{name} is {media.mime_type}; Bluesky posts take {kinds} images.")
        )
    try:
        size = media.size
    except OSError:
        problems.append(Problem("media", f"{name} cannot be read."))
    else:
        if size > MAX_IMAGE_BYTES:
            problems.append(
                Problem(
                    "media",
                    f"{name} is {size / 1_000_000:.1f} MB; Bluesky takes images up to "
                    f"{MAX_IMAGE_BYTES / 1_000_000:g} MB.",
                )
            )
    alt = grapheme_count(media.alt_text)
    if alt > MAX_ALT_GRAPHEMES:
        problems.append(
            Problem(
                "media",
                f"The alt text of {name} has {alt} characters; Bluesky allows {MAX_ALT_GRAPHEMES}.",
            )
        )
    return problems


# -- errors -----------------------------------------------------------------------------------


def _error_name(error: sdk.RequestErrorBase) -> str:
    content = error.response.content if error.response is not None else None
    return content.error if isinstance(content, XrpcError) else ""


def _error_message(error: sdk.RequestErrorBase) -> str:
    content = error.response.content if error.response is not None else None
    if isinstance(content, XrpcError):
        return content.message or content.error
    return ""


def _is_auth_error(error: Exception) -> bool:
    if isinstance(error, sdk.UnauthorizedError | sdk.LoginRequiredError):
        return True
    return isinstance(error, sdk.BadRequestError) and _error_name(error) in AUTH_ERRORS


@contextmanager
def _translated_errors() -> Iterator[None]:
    """Turn what the SDK and httpx raise into ConnectorError (see base.ConnectorError)."""
    try:
        yield
    except ConnectorError:
        raise
    except sdk.RateLimitExceededError as error:
        retry_after = error.reset_at
        if retry_after is None and error.retry_after is not None:
            retry_after = datetime.now(UTC) + timedelta(seconds=error.retry_after)
        raise ConnectorError(
            "Bluesky's rate limit is reached for this account.",
            retry_after=retry_after,
            rate_limited=True,
        ) from error
    except (sdk.UnauthorizedError, sdk.BadRequestError, sdk.LoginRequiredError) as error:
        if _is_auth_error(error):
            detail = _error_message(error) if isinstance(error, sdk.RequestErrorBase) else ""
            raise ConnectorError(
                "Bluesky refused the account's credentials"
                + (f" ({detail})" if detail else "")
                + ": reconnect the channel with a new app password.",
                auth_revoked=True,
            ) from error
        raise ConnectorError(
            f"Bluesky rejected the post: {_error_message(error) or error}", permanent=True
        ) from error
    except sdk.NetworkError as error:  # transport failures, timeouts, 409, 413, 502
        status = error.response.status_code if error.response is not None else None
        if status == 413:
            raise ConnectorError("Bluesky refused a file as too large.", permanent=True) from error
        what = f"answered {status}" if status else "could not be reached"
        raise ConnectorError(f"Bluesky {what}.") from error
    except sdk.RequestException as error:
        status = error.response.status_code if error.response is not None else None
        if status is not None and 400 <= status < 500 and status != 408:
            raise ConnectorError(
                f"Bluesky refused the request ({status}): {_error_message(error) or error}",
                permanent=True,
            ) from error
        raise ConnectorError(f"Bluesky answered {status}.") from error
    except httpx.HTTPError as error:
        raise ConnectorError(f"Bluesky could not be reached ({error}).") from error
    except (pydantic.ValidationError, sdk.ModelError) as error:
        raise ConnectorError(f"Bluesky would reject this post: {error}", permanent=True) from error
