"""Threads through Meta's Threads API (graph.threads.net; issue 16).

No official Python SDK exists for the Threads API: it is called with httpx through
``networks.http.Api`` and Meta's error rules (``networks.meta``). Tested against recorded
exchanges written from Meta's reference (``tests/recordings/threads/``).

Connecting: Threads' own OAuth (``threads.net/oauth/authorize``, no PKCE in its reference),
the code traded for a short-lived token (one hour), then for a long-lived one
(``grant_type=th_exchange_token``, 60 days). There is no refresh token: a long-lived token is
refreshed with itself (``GET /refresh_access_token?grant_type=th_refresh_token``) once it is
at least 24 hours old and before it expires. The connector does so when the token has less
than ``REFRESH_BEFORE`` left, and stores the new one; a refused refresh (the person removed
the app) pauses the channel; a refresh that could not be made (Threads unreachable) stores
nothing and goes on with the token while it is valid.

Publishing is Threads' container flow ("Threads Posts"): ``POST /{user-id}/threads`` makes a
container (``TEXT``, ``IMAGE``, ``VIDEO``; a ``CAROUSEL`` of 2 to 20 items, each its own
container with ``is_carousel_item``), ``GET /{container-id}?fields=status,error_message`` is
polled until ``FINISHED`` (``ERROR`` and ``EXPIRED`` are permanent, with Threads' own
``error_message``; still ``IN_PROGRESS`` after ``media_timeout`` is transient), then ``POST
/{user-id}/threads_publish`` publishes it. Threads fetches images and videos from a public
address ("it must be on a public server"): ``http.public_media_url`` (``MEDIA_PUBLIC_URL``,
else ``SITE_URL``); a media file outside the library is refused by ``validate`` with words
that say so. Thread parts are replies, each to the part before
(``reply_to_id``); the first comment is a reply to the post.

Limits ("Overview", "Reply Management"): 250 API-published posts and 1,000 replies per
profile per moving 24 hours (a carousel is one post), 100 deletes a day. ``publish`` reads
``GET /{user-id}/threads_publishing_limit`` first and waits rather than create containers
that cannot be published.

Exactly once: Threads takes no idempotency key. ``find_published`` reads the profile's recent
posts (``GET /{user-id}/threads``) and matches the text; ``publish`` asks the same first, and
finds thread parts and the first comment already made among the replies by our username, so a
retry finishes what is missing. Heuristic, said plainly: a post with the same text made by
hand within ``RECONCILE_WINDOW`` is taken for ours.

Inbox: replies to our recent posts (``GET /{media-id}/conversation``: top-level and nested,
flattened) and mentions (``GET /{user-id}/mentions``, with ``threads_manage_mentions``; a
token without it reads replies only). Replies can be answered, hidden and unhidden
(``POST /{reply-id}/manage_reply``: top-level replies only); the Threads API has no like.
Delete: ``DELETE /{threads-media-id}`` (added to the API in 2024, ``threads_delete``).

Metrics: ``GET /{media-id}/insights`` with ``views, likes, replies, reposts, quotes, shares``
(views is "in development" per Meta; shares has no place in Socialdesk's metrics yet and is
not kept), and followers from ``GET /{user-id}/threads_insights?metric=followers_count``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import httpx

from . import meta, oauth
from .base import (
    AccountInfo,
    Connector,
    ConnectorError,
    DeliveryContent,
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
from .http import Api, json_of, public_media_url

NETWORK = "threads"
LABEL = "Threads"
HOST = "https://graph.threads.net"
API = f"{HOST}/v1.0"
REFERENCE = "https://developers.facebook.com/docs/threads/"

SCOPES = (
    "threads_basic",
    "threads_content_publish",
    "threads_manage_replies",
    "threads_read_replies",
    "threads_manage_insights",
    "threads_manage_mentions",
    "threads_delete",
)

OAUTH = oauth.OAuthSpec(
    authorize_url="https://threads.net/oauth/authorize",
    token_url=f"{HOST}/oauth/access_token",
    scopes=SCOPES,
    pkce=False,
    scope_separator=",",
)

TEXT_MAX = 500
IMAGE_TYPES = ("image/jpeg", "image/png")
IMAGE_MAX_BYTES = 8 * 1024 * 1024
IMAGE_MAX_RATIO = 10.0
VIDEO_TYPES = ("video/mp4", "video/quicktime")
VIDEO_MAX_BYTES = 1024 * 1024 * 1024
CAROUSEL_MIN, CAROUSEL_MAX = 2, 20
ALT_TEXT_MAX = 1000

REFRESH_BEFORE = timedelta(days=7)
REFRESH_MIN_AGE = timedelta(hours=24)
RECONCILE_WINDOW = timedelta(days=1)
INBOX_POSTS = 25
REPLY_FIELDS = "id,text,username,timestamp,permalink,replied_to,root_post,hide_status"

ABOUT = NetworkAbout(
    network=NETWORK,
    connect="oauth",
    text_max=TEXT_MAX,
    text_unit="codepoints",  # emojis count their UTF-8 bytes: ``text_length``
    operator_setup=(
        "Create an app with the Threads use case on developers.facebook.com, enter the "
        "redirect address shown on this page as the Threads redirect callback URL, and ask "
        "for App Review of " + ", ".join(SCOPES) + ". Set THREADS_CLIENT_ID (the Threads app "
        "id) and THREADS_CLIENT_SECRET (or THREADS_CLIENT_SECRET_FILE). Threads fetches "
        "images and videos from a public address: set MEDIA_PUBLIC_URL to where the media "
        "folder is served publicly, or only text posts can be sent."
    ),
    accounts="Any Threads profile (public or private); one profile per login.",
    tested=(
        "Recorded exchanges written by hand from Meta's Threads API reference, served over "
        "real HTTP; never against Threads."
    ),
    reads=(
        "Replies to the profile's recent posts and mentions into the inbox; views, likes, "
        "replies, reposts and quotes of each post (views is marked 'in development' by "
        "Meta) and followers."
    ),
    reference=REFERENCE,
)


def text_length(text: str) -> int:
    """Threads counts characters, except that "emojis are counted as the number of UTF-8
    bytes" ("Threads Posts", Limitations): a character outside the basic plane, a symbol
    of the emoji blocks, a joiner or a variation selector counts its UTF-8 length."""
    count = 0
    for char in text:
        code = ord(char)
        emoji = code >= 0x1F000 or 0x2600 <= code <= 0x27BF or code in (0x200D, 0xFE0F, 0x20E3)
        count += len(char.encode("utf-8")) if emoji else 1
    return count


def _token_api() -> Api:
    return Api(NETWORK, LABEL, describe=meta.describe, revoked=meta.revoked, limited=meta.limited)


def accounts(token: Mapping[str, Any]) -> list[oauth.Account]:
    """The one profile a consent opens, with its long-lived token."""
    app = oauth.app_for(NETWORK) or {}
    api = _token_api()
    try:
        answer = json_of(
            api.call(
                "GET",
                f"{HOST}/access_token",
                params={
                    "grant_type": "th_exchange_token",
                    "client_secret": app.get("client_secret", ""),
                    "access_token": str(token.get("access_token") or ""),
                },
            ),
            LABEL,
        )
    finally:
        api.close()
    long_lived = str(answer.get("access_token") or "")
    if not long_lived:
        raise ConnectorError("Threads gave no long-lived token.", auth_revoked=True)
    now = time.time()
    profile_api = meta.graph_api(NETWORK, LABEL, long_lived)
    try:
        me = json_of(
            profile_api.call("GET", f"{API}/me", params={"fields": "id,username,name"}), LABEL
        )
    finally:
        profile_api.close()
    username = str(me.get("username") or me["id"])
    credentials = {
        "access_token": long_lived,
        "threads_user_id": str(me["id"]),
        "username": username,
        "issued_at": now,
        "expires_at": now + float(answer.get("expires_in") or 60 * 86400),
    }
    info = AccountInfo(str(me["id"]), f"@{username}", str(me.get("name") or username))
    return [oauth.Account(info, credentials)]


def build(
    credentials: Mapping[str, Any], store: Callable[[dict[str, Any]], None]
) -> ThreadsConnector | None:
    if not credentials.get("access_token") or not credentials.get("threads_user_id"):
        return None
    return ThreadsConnector(dict(credentials), store)


def media_problems(media: MediaFile) -> list[Problem]:
    """Threads' rules for one file ("Threads Posts", Media Specifications)."""
    name = media.path.name
    try:
        size = media.size
    except OSError:
        return [Problem("media", f"{name} cannot be read.")]
    problems = []
    if len(media.alt_text) > ALT_TEXT_MAX:
        problems.append(
            Problem("media", f"The alt text of {name} is longer than {ALT_TEXT_MAX} characters.")
        )
    if media.mime_type.startswith("video/"):
        if media.mime_type not in VIDEO_TYPES:
            problems.append(
                Problem("media", f"{name} is {media.mime_type}; Threads takes MP4 or MOV.")
            )
        elif size > VIDEO_MAX_BYTES:
            problems.append(
                Problem("media", f"{name} is larger than 1 GB, Threads' limit for a video.")
            )
        return problems
    if media.mime_type not in IMAGE_TYPES:
        problems.append(
            Problem("media", f"{name} is {media.mime_type}; Threads takes JPEG or PNG images.")
        )
        return problems
    if size > IMAGE_MAX_BYTES:
        problems.append(
            Problem(
                "media",
                f"{name} is {size / 1_000_000:.1f} MB; Threads takes images up to 8 MB.",
            )
        )
    ratio = _ratio(media)
    if ratio is not None and ratio > IMAGE_MAX_RATIO:
        problems.append(
            Problem(
                "media",
                f"{name} is more than 10 times longer than it is wide (or the reverse); "
                "Threads refuses it: crop it.",
            )
        )
    return problems


def _ratio(media: MediaFile) -> float | None:
    try:
        from PIL import Image

        with Image.open(media.path) as image:
            width, height = image.size
    except Exception:  # noqa: BLE001 (an unreadable image is judged by Threads itself)
        return None
    if not width or not height:
        return None
    return max(width, height) / min(width, height)


_SPACE = re.compile(r"\s+")


def _same_text(a: str, b: str) -> bool:
    return _SPACE.sub(" ", a).strip() == _SPACE.sub(" ", b).strip()


def _time(value: Any) -> datetime | None:
    """Threads times look like ``2026-12-07T10:00:00+0000``."""
    if not isinstance(value, str) or not value:
        return None
    text = value.replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", text):
        text = f"{text[:-2]}:{text[-2:]}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class ThreadsConnector(Connector):
    """One Threads profile. Not thread-safe: one per worker thread."""

    network = NETWORK
    rate_limits: ClassVar[tuple[RateLimit, ...]] = (
        RateLimit("posts", 250, timedelta(hours=24)),
        RateLimit("replies", 1000, timedelta(hours=24)),
        RateLimit("deletes", 100, timedelta(hours=24)),
    )
    reads = True
    measures = True
    metric_table: ClassVar[tuple[MetricInfo, ...]] = (
        MetricInfo("views", "media insights views (in development per Meta)", "live"),
        MetricInfo("likes", "media insights likes", "live"),
        MetricInfo("replies", "media insights replies", "live"),
        MetricInfo("reposts", "media insights reposts", "live"),
        MetricInfo("quotes", "media insights quotes", "live"),
        MetricInfo("followers", "user insights followers_count", "live"),
    )
    metric_note = "Threads gives no clicks per post; its shares count is not kept yet."

    def __init__(
        self,
        credentials: dict[str, Any],
        store: Callable[[dict[str, Any]], None],
        *,
        timeout: float | httpx.Timeout | None = None,
        media_timeout: float = 60.0,
        poll_interval: float = 3.0,
    ) -> None:
        self.credentials = credentials
        self.store = store
        self.user_id = str(credentials["threads_user_id"])
        self.username = str(credentials.get("username") or "")
        self.media_timeout = media_timeout
        self.poll_interval = poll_interval
        extra: dict[str, Any] = {"timeout": timeout} if timeout is not None else {}
        self.api = meta.graph_api(NETWORK, LABEL, str(credentials["access_token"]), **extra)

    def __repr__(self) -> str:
        return f"<ThreadsConnector {self.user_id}>"

    # -- the token --------------------------------------------------------------------------

    def ensure_fresh(self, now: float | None = None) -> None:
        """Refresh the long-lived token when it has less than ``REFRESH_BEFORE`` left and is
        at least 24 hours old (see the module docstring)."""
        now = now if now is not None else time.time()
        expires_at = self.credentials.get("expires_at")
        if not isinstance(expires_at, int | float):
            return
        if expires_at - now > REFRESH_BEFORE.total_seconds():
            return
        issued_at = self.credentials.get("issued_at")
        if isinstance(issued_at, int | float) and now - issued_at < REFRESH_MIN_AGE.total_seconds():
            return
        api = _token_api()
        try:
            answer = json_of(
                api.call(
                    "GET",
                    f"{HOST}/refresh_access_token",
                    params={
                        "grant_type": "th_refresh_token",
                        "access_token": str(self.credentials["access_token"]),
                    },
                ),
                LABEL,
            )
        except ConnectorError as error:
            if expires_at <= now:
                raise ConnectorError(
                    "The Threads token expired and could not be refreshed: reconnect the channel.",
                    auth_revoked=True,
                ) from None
            if error.auth_revoked:
                raise
            return  # not refreshed this time; the token still works and the next call tries
        finally:
            api.close()
        token = str(answer.get("access_token") or "")
        if not token:
            raise ConnectorError("Threads answered a refresh without a token.")
        fresh = {
            **self.credentials,
            "access_token": token,
            "issued_at": now,
            "expires_at": now + float(answer.get("expires_in") or 60 * 86400),
        }
        self.store(fresh)
        self.credentials = fresh
        self.api.set_header("Authorization", f"Bearer {token}")

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return json_of(self.api.call(method, f"{API}/{path}", **kwargs), LABEL)

    # -- rules ------------------------------------------------------------------------------

    def cost(self, content: DeliveryContent) -> dict[str, int]:
        if content.action == "delete":
            return {"deletes": 1}
        if content.action == "reply":
            return {"replies": 1}
        if not content.is_write_of_text:
            return {}
        return {"posts": 1, "replies": len(content.thread) + (1 if content.first_comment else 0)}

    def action_problems(self, content: DeliveryContent) -> list[Problem]:
        if content.action in ("hide", "unhide", "delete"):
            if not str(content.target.get("id") or ""):
                return [Problem("target", "Say which reply or post this is about.")]
            return []
        if content.action == "like":
            return [Problem("action", "The Threads API cannot like a reply.")]
        return super().action_problems(content)

    def validate(self, content: DeliveryContent) -> list[Problem]:
        if not content.is_write_of_text:
            return self.action_problems(content)
        problems = []
        problems += _length("text", "The text", content.text)
        if content.action == "reply":
            if not str(content.target.get("id") or ""):
                problems.append(Problem("target", "Say which reply this answers."))
            if not content.text.strip():
                problems.append(Problem("text", "Write the reply."))
            return problems
        if not content.text.strip() and not content.media:
            problems.append(Problem("text", "Write some text or attach an image or video."))
        for number, part in enumerate(content.thread, start=2):
            what = f"Part {number} of the thread"
            problems += _length("thread", what, part)
            if not part.strip():
                problems.append(Problem("thread", f"{what} is empty."))
        problems += _length("first_comment", "The first comment", content.first_comment)
        if len(content.media) > CAROUSEL_MAX:
            problems.append(
                Problem(
                    "media",
                    f"A Threads carousel has up to {CAROUSEL_MAX} images and videos; this post "
                    f"has {len(content.media)}.",
                )
            )
        for media in content.media:
            problems += media_problems(media)
            if public_media_url(media.path) is None:
                problems.append(
                    Problem(
                        "media",
                        f"Threads fetches {media.path.name} from a public address, and it is "
                        "not in Socialdesk's media library: add it to the library first.",
                    )
                )
        if content.link and not content.link.url.startswith(("https://", "http://")):
            problems.append(Problem("link", "The link needs an http(s) address."))
        return problems

    # -- publishing -------------------------------------------------------------------------

    def quota(self) -> tuple[int, int]:
        """Posts published in the last 24 hours and the profile's quota
        (``threads_publishing_limit``)."""
        body = self._json(
            "GET",
            f"{self.user_id}/threads_publishing_limit",
            params={"fields": "quota_usage,config"},
        )
        data = (body.get("data") or [{}])[0]
        total = int((data.get("config") or {}).get("quota_total") or 250)
        return int(data.get("quota_usage") or 0), total

    def publish(self, content: DeliveryContent, idempotency_key: str) -> Published:
        self.ensure_fresh()
        action = content.action
        target = str(content.target.get("id") or "")
        if action in ("hide", "unhide"):
            self._json(
                "POST",
                f"{target}/manage_reply",
                data={"hide": "true" if action == "hide" else "false"},
            )
            return Published(target, "")
        if action == "delete":
            self.delete(target)
            return Published(target, "")
        if action == "reply":
            return self._reply_to(target, content.text)
        found = self._find_post(content.text)
        made_now = found is None
        if found is None:
            used, total = self.quota()
            if used >= total:
                raise ConnectorError(
                    f"This Threads profile published {used} posts through the API in the "
                    f"last 24 hours, its limit ({total}); it will be sent when the limit "
                    "allows.",
                    retry_after=datetime.now(UTC) + timedelta(hours=1),
                    rate_limited=True,
                )
            found = self._publish_container(self._container_for(content))
        parent = found.remote_id
        for part in content.thread:
            existing = None if made_now else self._our_reply(parent, part)
            parent = existing.remote_id if existing else self._reply_to(parent, part).remote_id
        if content.first_comment:
            existing = None if made_now else self._our_reply(found.remote_id, content.first_comment)
            if existing is None:
                self._reply_to(found.remote_id, content.first_comment)
        return found

    def _container_for(self, content: DeliveryContent) -> str:
        media = list(content.media)
        if not media:
            data = {"media_type": "TEXT", "text": content.text}
            if content.link is not None and content.link.url not in content.text:
                data["link_attachment"] = content.link.url
            return self._create(data)
        if len(media) == 1:
            return self._create({**self._media_fields(media[0]), "text": content.text})
        children = []
        for item in media:
            child = self._create({**self._media_fields(item), "is_carousel_item": "true"})
            self._wait(child)
            children.append(child)
        return self._create(
            {"media_type": "CAROUSEL", "children": ",".join(children), "text": content.text}
        )

    def _media_fields(self, media: MediaFile) -> dict[str, str]:
        url = public_media_url(media.path)
        if url is None:
            raise ConnectorError(
                "Threads needs a public address for media; MEDIA_PUBLIC_URL is not set.",
                permanent=True,
            )
        fields = (
            {"media_type": "VIDEO", "video_url": url}
            if media.mime_type.startswith("video/")
            else {"media_type": "IMAGE", "image_url": url}
        )
        if media.alt_text:
            fields["alt_text"] = media.alt_text
        return fields

    def _create(self, data: dict[str, str]) -> str:
        return str(self._json("POST", f"{self.user_id}/threads", data=data)["id"])

    def _wait(self, container: str) -> None:
        """Until the container is ``FINISHED`` (see the module docstring)."""
        deadline = time.monotonic() + self.media_timeout
        while True:
            body = self._json("GET", container, params={"fields": "status,error_message"})
            status = str(body.get("status") or "")
            if status in ("FINISHED", "PUBLISHED"):
                return
            if status in ("ERROR", "EXPIRED"):
                reason = str(body.get("error_message") or status)
                raise ConnectorError(
                    f"Threads could not process the media ({reason}).", permanent=True
                )
            if time.monotonic() + self.poll_interval > deadline:
                raise ConnectorError(
                    "Threads is still processing the media; it will be tried again."
                )
            time.sleep(self.poll_interval)

    def _publish_container(self, container: str) -> Published:
        self._wait(container)
        media_id = str(
            self._json("POST", f"{self.user_id}/threads_publish", data={"creation_id": container})[
                "id"
            ]
        )
        try:
            post = self._json("GET", media_id, params={"fields": "permalink"})
            url = str(post.get("permalink") or "")
        except ConnectorError:
            url = ""  # published; the address is only a convenience
        return Published(media_id, url)

    def _reply_to(self, parent: str, text: str) -> Published:
        container = self._create({"media_type": "TEXT", "text": text, "reply_to_id": parent})
        return self._publish_container(container)

    def _our_reply(self, parent: str, text: str) -> Published | None:
        body = self._json(
            "GET", f"{parent}/replies", params={"fields": "id,text,username,permalink"}
        )
        for reply in body.get("data") or []:
            if reply.get("username") == self.username and _same_text(
                str(reply.get("text") or ""), text
            ):
                return Published(str(reply["id"]), str(reply.get("permalink") or ""))
        return None

    def _find_post(self, text: str) -> Published | None:
        since = int((datetime.now(UTC) - RECONCILE_WINDOW).timestamp())
        body = self._json(
            "GET",
            f"{self.user_id}/threads",
            params={"fields": "id,text,timestamp,permalink", "since": since, "limit": 50},
        )
        for post in body.get("data") or []:
            if _same_text(str(post.get("text") or ""), text):
                return Published(str(post["id"]), str(post.get("permalink") or ""))
        return None

    def find_published(
        self, idempotency_key: str, content: DeliveryContent | None = None
    ) -> Published | None:
        if content is None:
            return None
        self.ensure_fresh()
        if content.action == "post":
            return self._find_post(content.text)
        if content.action == "reply":
            return self._our_reply(str(content.target.get("id") or ""), content.text)
        return None  # hiding, unhiding and deleting twice do no harm

    def delete(self, remote_id: str) -> None:
        try:
            self._json("DELETE", remote_id)
        except ConnectorError as error:
            gone = "(code 100)" in error.message or "404" in error.message
            if not (error.permanent and not error.auth_revoked and gone):
                raise

    def check_connection(self) -> AccountInfo:
        self.ensure_fresh()
        me = self._json("GET", "me", params={"fields": "id,username,name"})
        username = str(me.get("username") or me.get("id"))
        return AccountInfo(str(me.get("id")), f"@{username}", str(me.get("name") or username))

    # -- inbox ------------------------------------------------------------------------------

    def read_cost(self) -> dict[str, int]:
        return {}

    def fetch_inbox(self, cursor: str, since: datetime) -> InboxPage:
        """Replies under our posts made since ``since`` and mentions, newer than the marks
        the cursor keeps (``{"replies": ISO, "mentions": ISO}``)."""
        self.ensure_fresh()
        try:
            marks = json.loads(cursor) if cursor else {}
        except ValueError:
            marks = {}
        reply_mark = _time(marks.get("replies")) or since
        mention_mark = _time(marks.get("mentions")) or since
        items: list[InboxItem] = []
        posts = self._json(
            "GET",
            f"{self.user_id}/threads",
            params={
                "fields": "id,timestamp",
                "since": int(since.timestamp()),
                "limit": INBOX_POSTS,
            },
        )
        for post in posts.get("data") or []:
            post_id = str(post["id"])
            body = self._json(
                "GET",
                f"{post_id}/conversation",
                params={"fields": REPLY_FIELDS, "reverse": "false"},
            )
            for reply in body.get("data") or []:
                item = self._item(reply, reply_mark, ItemKind.COMMENT, post_id)
                if item is not None:
                    items.append(item)
        try:
            mentions = self._json(
                "GET", f"{self.user_id}/mentions", params={"fields": REPLY_FIELDS}
            )
        except ConnectorError as error:
            if error.auth_revoked or error.rate_limited or not error.permanent:
                raise
            mentions = {}  # no threads_manage_mentions: replies only
        for mention in mentions.get("data") or []:
            item = self._item(mention, mention_mark, ItemKind.MENTION, "")
            if item is not None:
                items.append(item)
        items.sort(key=lambda item: item.sent_at)
        new_marks = {
            "replies": max(
                [i.sent_at for i in items if i.kind == ItemKind.COMMENT] or [reply_mark]
            ).isoformat(),
            "mentions": max(
                [i.sent_at for i in items if i.kind == ItemKind.MENTION] or [mention_mark]
            ).isoformat(),
        }
        return InboxPage(items, json.dumps(new_marks, sort_keys=True))

    def _item(
        self, reply: Mapping[str, Any], mark: datetime, kind: str, post_id: str
    ) -> InboxItem | None:
        sent_at = _time(reply.get("timestamp"))
        username = str(reply.get("username") or "")
        if sent_at is None or sent_at <= mark or username == self.username:
            return None
        parent = str((reply.get("replied_to") or {}).get("id") or "")
        root = str((reply.get("root_post") or {}).get("id") or post_id)
        thread_key = f"{root}:{username}" if kind == ItemKind.COMMENT else f"mention:{reply['id']}"
        return InboxItem(
            remote_id=str(reply["id"]),
            kind=kind,
            thread_key=thread_key,
            author=InboxAuthor(username or "unknown", f"@{username}" if username else ""),
            text=str(reply.get("text") or ""),
            sent_at=sent_at,
            remote_url=str(reply.get("permalink") or ""),
            reference={"id": str(reply["id"]), "root_id": root, "hidden": reply.get("hide_status")},
            parent_remote_id=parent if parent != str(reply["id"]) else "",
            our_post_remote_id=post_id,
        )

    # -- metrics ----------------------------------------------------------------------------

    def metrics_cost(self, posts: int, followers: bool = False) -> dict[str, int]:
        return {}

    def fetch_metrics(self, remote_ids: Sequence[str]) -> dict[str, Metrics]:
        self.ensure_fresh()
        found: dict[str, Metrics] = {}
        for remote_id in remote_ids:
            try:
                body = self._json(
                    "GET",
                    f"{remote_id}/insights",
                    params={"metric": "views,likes,replies,reposts,quotes,shares"},
                )
            except ConnectorError as error:
                if error.permanent and not error.auth_revoked and "(code 100)" in error.message:
                    continue  # deleted on Threads: left out
                raise
            values = {m.get("name"): _value(m) for m in body.get("data") or []}
            found[str(remote_id)] = Metrics(
                views=values.get("views"),
                likes=values.get("likes"),
                replies=values.get("replies"),
                reposts=values.get("reposts"),
                quotes=values.get("quotes"),
            )
        return found

    def fetch_followers(self) -> int | None:
        self.ensure_fresh()
        body = self._json(
            "GET", f"{self.user_id}/threads_insights", params={"metric": "followers_count"}
        )
        for metric in body.get("data") or []:
            if metric.get("name") == "followers_count":
                return _value(metric)
        return None


def _value(metric: Mapping[str, Any]) -> int | None:
    """A metric's number: ``total_value.value`` (user insights) or the last of ``values``."""
    total = (metric.get("total_value") or {}).get("value")
    if isinstance(total, int):
        return total
    values = metric.get("values") or []
    last = values[-1].get("value") if values else None
    return last if isinstance(last, int) else None


def _length(field: str, what: str, text: str) -> list[Problem]:
    length = text_length(text)
    if length <= TEXT_MAX:
        return []
    return [
        Problem(
            field,
            f"{what} counts {length} characters on Threads (an emoji counts its bytes); "
            f"Threads takes {TEXT_MAX}.",
        )
    ]
