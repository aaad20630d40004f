"""Mastodon through the ``Mastodon.py`` client.

No complete Mastodon server installs on this machine: tested against recorded exchanges
written from the official API reference (``tests/recordings/mastodon/``, served over real HTTP
on 127.0.0.1 so that the real ``Mastodon.py`` client makes real requests).

Connecting: the instance's OAuth flow. ``register_app`` registers Socialdesk on the instance
(``POST /api/v1/apps``), ``authorization_url`` is where the person approves it, and
``exchange_code`` turns the code the instance redirects back with into an access token and
the channel's credentials. Mastodon access tokens do not expire; a revoked one answers 401.

Exactly once: every create (``POST /api/v1/statuses``) carries an ``Idempotency-Key`` header
derived from the delivery's idempotency key (the key itself for the main status,
``<key>#part-N`` for the parts of a thread, ``<key>#first-comment`` for the first comment), so
a retry of the same call returns the status the first call created instead of posting again.
Mastodon keeps those keys for one hour only, and has no way to look a status up by its key:
``find_published`` therefore reads the account's own recent statuses and matches the text (and
the time window, ``RECONCILE_WINDOW``). That is a heuristic, said here plainly: two identical
top-level statuses within the window are indistinguishable, and the text is compared after
Mastodon turned it into HTML (tags stripped, entities decoded, whitespace folded).

The inbox's writes (``DeliveryContent.action``; ``target`` holds the answered status's ``id``,
its author's ``account`` (acct), its ``visibility`` and the ``mentions`` it carries): a
**reply** is a status with ``in_reply_to_id``, opening with the mentions it needs (the author,
and in a direct conversation everyone in it) and kept ``direct`` when the answered status was
direct, so a private exchange never becomes public; its ``Idempotency-Key`` is the delivery's,
and ``find_published`` looks for it among the answered status's replies
(``GET /api/v1/statuses/:id/context``). A **like** is a favourite (``POST
/api/v1/statuses/:id/favourite``, which Mastodon makes idempotent: favouriting twice is one
favourite); **delete** removes our own status. Mastodon has **no hide** for other people's
replies: ``validate`` refuses it and says so.

Media: uploaded with ``POST /api/v2/media`` with its alt text as ``description``; an upload the
instance is still processing answers 202 (``url`` null), and the connector polls
``GET /api/v1/media/:id`` (206 while processing, 200 when done) at most ``media_timeout``
seconds before posting. A retry uploads the media again: unattached uploads are removed by the
instance after a day, and the status itself is protected by its idempotency key.

Limits come from the instance (``GET /api/v2/instance``: ``configuration.statuses`` and
``configuration.media_attachments``) and are cached per channel for ``LIMITS_TTL``; a link
counts as ``characters_reserved_per_url`` characters (23 on Mastodon), the content warning
counts too, and remote mentions count without their domain, as Mastodon counts them.

Reading (the inbox): ``fetch_inbox`` reads mentions from the notifications API
(``GET /api/v1/notifications?types[]=mention``, from the stored ``min_id`` on, so each poll
gets the ones right after the last it saw) and direct conversations from the conversations API
(``GET /api/v1/conversations``: each conversation with its latest status only). A conversation
whose latest status is newer than the stored mark (the newest direct status already read) has
changed since the last poll, and may have gained several messages: when that status answers
another, its thread is read (``GET /api/v1/statuses/:id/context``: ancestors and descendants,
up to 4,096 each with a user token) and every status in it newer than the mark is taken too,
except our own (already ours, or a reply the engine is still recording) and those that are not
direct (a public reply in the thread arrives as a mention). Each thread read is one more
request, spent from the same "requests" budget as the page (``InboxPage.spent``); a thread of
one status (no ``in_reply_to_id``) or one older than the backfill window is not read. Limits,
said plainly: the context of the latest status holds its own branch of the thread (its
ancestors and its replies); a contact who answers an older message of the thread rather than
the latest writes on another branch, which is not read until it is that conversation's latest
status; and a status that reaches the instance late, with an id older than the mark (a
federated one, whose id follows its own creation time), is not taken. A direct mention also
arrives as a notification: it is taken from the conversations API only, so that it belongs to
its conversation. A mention that answers one of our statuses is a comment.

Errors: 401 and 403 mean the token no longer works (``auth_revoked``); 422 is the instance
refusing the content, with its own ``error`` message (permanent); 429 waits until
``X-RateLimit-Reset`` (Mastodon.py reads it and corrects for the server's clock); 5xx,
timeouts and unreachable instances are transient. The client runs in "throw" rate-limit mode
so it never sleeps inside a worker: pacing is the engine's job (``rate_limits``).
"""

from __future__ import annotations

import html
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, ClassVar, TypeVar
from urllib.parse import urlsplit

import regex
from mastodon import Mastodon
from mastodon import errors as sdk
from mastodon._url_regex import url_regex  # Mastodon's own URL pattern, as the server counts

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

T = TypeVar("T")

# Least privilege: read the account and its statuses, post statuses and media.
SCOPES = [
    "read:accounts",
    "read:statuses",
    "read:notifications",  # the inbox's mentions (notifications API)
    "write:statuses",
    "write:media",
]
CLIENT_NAME = "Socialdesk"
VISIBILITIES = ("public", "unlisted", "private", "direct")

ABOUT = NetworkAbout(
    network="mastodon",
    connect="instance_oauth",
    text_max=500,  # the default; each instance says its own, read when it connects
    text_unit="graphemes",
    url_length=23,
    operator_setup="Nothing: Socialdesk registers itself on each instance when someone connects.",
    accounts="Any account on a Mastodon instance (4.0 or later).",
    tested="Recorded exchanges written from docs.joinmastodon.org, served over real HTTP.",
    reads="Mentions, replies and direct messages into the inbox; favourites, boosts, replies.",
    reference="https://docs.joinmastodon.org/methods/",
)

LIMITS_TTL = timedelta(hours=1)
RECONCILE_WINDOW = timedelta(days=2)
RECONCILE_PAGES = 5  # of 40 statuses: at most 200 recent statuses are read
_GRAPHEME = regex.compile(r"\X")
# Remote mentions count without their domain: @baker@bread.example counts as @baker.
_REMOTE_MENTION = re.compile(r"(^|[^/\w])@(([a-z0-9_]+)@[a-z0-9.\-]+[a-z0-9]+)", re.IGNORECASE)


@dataclass(frozen=True)
class MastodonContent(DeliveryContent):
    """``DeliveryContent`` with what only Mastodon has: the status's ``visibility`` (empty: the
    channel's default) and a content warning (``spoiler_text``), which the statuses of a
    thread and the first comment carry too."""

    visibility: str = ""
    spoiler_text: str = ""


@dataclass(frozen=True)
class InstanceLimits:
    """What one instance accepts (``GET /api/v2/instance``); defaults are Mastodon's own."""

    max_characters: int = 500
    characters_reserved_per_url: int = 23
    max_media_attachments: int = 4
    description_limit: int = 1500
    supported_mime_types: tuple[str, ...] = ()  # empty: not told, not checked
    image_size_limit: int = 16 * 1024 * 1024
    video_size_limit: int = 99 * 1024 * 1024

    @classmethod
    def from_instance(cls, instance: Mapping[str, Any]) -> InstanceLimits:
        configuration = instance.get("configuration") or {}
        statuses = configuration.get("statuses") or {}
        media = configuration.get("media_attachments") or {}
        default = cls()
        return cls(
            max_characters=int(statuses.get("max_characters") or default.max_characters),
            characters_reserved_per_url=int(
                statuses.get("characters_reserved_per_url") or default.characters_reserved_per_url
            ),
            max_media_attachments=int(
                statuses.get("max_media_attachments") or default.max_media_attachments
            ),
            description_limit=int(media.get("description_limit") or default.description_limit),
            supported_mime_types=tuple(media.get("supported_mime_types") or ()),
            image_size_limit=int(media.get("image_size_limit") or default.image_size_limit),
            video_size_limit=int(media.get("video_size_limit") or default.video_size_limit),
        )

    def length(self, text: str, spoiler_text: str = "") -> int:
        """How many characters Mastodon counts for a status: user-perceived characters, each
        link as ``characters_reserved_per_url``, remote mentions without their domain, the
        content warning included."""
        counted = url_regex.sub(lambda m: m.group(2) + "x" * self.characters_reserved_per_url, text)
        counted = _REMOTE_MENTION.sub(r"\1@\3", counted)
        return grapheme_count(counted) + grapheme_count(spoiler_text)


def grapheme_count(text: str) -> int:
    return len(_GRAPHEME.findall(text))


@dataclass
class _CachedLimits:
    limits: InstanceLimits
    until: float


_limits_cache: dict[str, _CachedLimits] = {}
_limits_lock = threading.Lock()


def forget_instance_limits() -> None:
    """Drop every cached instance configuration (tests; an instance changed its limits)."""
    with _limits_lock:
        _limits_cache.clear()
        _batch_reads.clear()


# Whether an instance answers ``GET /api/v1/statuses?id[]=`` (Mastodon 4.3 and later), as
# found by asking: cache key -> (answer, until, by time.monotonic()).
_batch_reads: dict[str, tuple[bool, float]] = {}


class MastodonConnector(Connector):
    """One Mastodon account on one instance. Not thread-safe: make one per worker thread."""

    network = "mastodon"
    # Mastodon's published defaults, per account (docs.joinmastodon.org, "Rate limits"):
    # 300 API requests per 5 minutes, 30 media uploads per 30 minutes.
    rate_limits: ClassVar[tuple[RateLimit, ...]] = (
        RateLimit("requests", 300, timedelta(minutes=5)),
        RateLimit("media uploads", 30, timedelta(minutes=30)),
    )
    reads = True  # reads spend the same "requests" as publishing

    def __init__(
        self,
        instance_url: str,
        access_token: str,
        *,
        account_id: str = "",
        visibility: str = "",
        cache_key: str = "",
        timeout: float = 20.0,
        media_timeout: float = 60.0,
        media_poll_interval: float = 1.0,
    ) -> None:
        self.instance_url = normalize_instance_url(instance_url)
        self._access_token = access_token
        self.account_id = account_id
        self.visibility = visibility if visibility in VISIBILITIES else ""
        self.cache_key = cache_key or self.instance_url
        self._timeout = timeout
        self.media_timeout = media_timeout
        self.media_poll_interval = media_poll_interval
        self._api: Mastodon | None = None

    def __repr__(self) -> str:
        return f"<MastodonConnector {self.account_id or '?'} at {self.instance_url}>"

    @classmethod
    def from_credentials(
        cls, credentials: Mapping[str, str], *, cache_key: str = ""
    ) -> MastodonConnector:
        """Build from a channel's decrypted credentials (what ``exchange_code`` returned)."""
        return cls(
            credentials["instance_url"],
            credentials["access_token"],
            account_id=credentials.get("account_id", ""),
            visibility=credentials.get("visibility", ""),
            cache_key=cache_key,
        )

    # -- the connector interface ------------------------------------------------------------

    def cost(self, content: DeliveryContent) -> dict[str, int]:
        if not content.is_write_of_text:
            return {"requests": 1}
        statuses = 1 + len(content.thread) + (1 if content.first_comment else 0)
        media = len(content.media)
        # Each upload is a request, and so is at least one look at its processing.
        return {"requests": statuses + 2 * media, "media uploads": media}

    def validate(self, content: DeliveryContent) -> list[Problem]:
        """Checked against the instance's own limits, read once per channel per
        ``LIMITS_TTL`` (an unauthenticated read; when the instance cannot be reached,
        Mastodon's defaults are used). Publishes nothing."""
        if not content.is_write_of_text:
            return self.action_problems(content)
        limits = self.limits()
        spoiler = _spoiler_of(content)
        visibility = getattr(content, "visibility", "")
        problems = []
        main = _main_text(content)
        problems += _length_problems(limits, "text", main, spoiler, "The text")
        if not main.strip() and not content.media:
            problems.append(Problem("text", "Write some text or attach an image."))
        for number, part in enumerate(content.thread, start=2):
            what = f"Part {number} of the thread"
            problems += _length_problems(limits, "thread", part, spoiler, what)
            if not part.strip():
                problems.append(Problem("thread", f"{what} is empty."))
        problems += _length_problems(
            limits, "first_comment", content.first_comment, spoiler, "The first comment"
        )
        if len(content.media) > limits.max_media_attachments:
            problems.append(
                Problem(
                    "media",
                    f"This Mastodon instance takes up to {limits.max_media_attachments} "
                    f"attachments a post; this one has {len(content.media)}.",
                )
            )
        for media in content.media:
            problems += _media_problems(limits, media)
        if visibility and visibility not in VISIBILITIES:
            problems.append(
                Problem("visibility", f"Visibility must be one of {', '.join(VISIBILITIES)}.")
            )
        if content.link and not content.link.url.startswith(("https://", "http://")):
            problems.append(Problem("link", "The link needs an http(s) address."))
        if content.reply_to is not None and not str(content.reply_to.get("id") or "").strip():
            problems.append(Problem("target", "The answered status has no Mastodon id."))
        return problems

    def action_problems(self, content: DeliveryContent) -> list[Problem]:
        if content.action in ("hide", "unhide"):
            return [
                Problem(
                    "action",
                    "Mastodon has no way to hide someone else's reply to your post: delete "
                    "nothing, but mute, block or report the account on Mastodon instead.",
                )
            ]
        if content.action not in ("like", "delete"):
            return [Problem("action", f"Mastodon cannot {content.action}.")]
        if not str(content.target.get("id") or "").strip():
            return [Problem("target", "The status acted on has no Mastodon id.")]
        return []

    def publish(self, content: DeliveryContent, idempotency_key: str) -> Published:
        problems = self.validate(content)
        if problems:
            raise ConnectorError(" ".join(str(p) for p in problems), permanent=True)

        if not content.is_write_of_text:
            return self._call(lambda api: self._act(api, content))

        def run(api: Mastodon) -> Published:
            media_ids = [self._upload(api, media) for media in content.media]
            main = self._post(
                api, _main_text(content), content, idempotency_key, media_ids=media_ids
            )
            parent = main
            for number, part in enumerate(content.thread, start=2):
                parent = self._post(
                    api, part, content, f"{idempotency_key}#part-{number}", reply_to=parent
                )
            if content.first_comment:
                self._post(
                    api,
                    content.first_comment,
                    content,
                    f"{idempotency_key}#first-comment",
                    reply_to=main,
                )
            return Published(str(main["id"]), str(main.get("url") or main.get("uri") or ""))

        return self._call(run)

    def find_published(
        self, idempotency_key: str, content: DeliveryContent | None = None
    ) -> Published | None:
        """Mastodon cannot look a status up by idempotency key: read the account's own
        top-level statuses of the last ``RECONCILE_WINDOW`` (newest first, at most
        ``RECONCILE_PAGES`` pages) and return the newest whose text is this content's.
        Without the content there is nothing to match: None."""
        if content is None:
            return None
        if not content.is_write_of_text:
            return self._call(lambda api: self._find_act(api, content))
        if content.reply_to is not None:
            return self._call(lambda api: self._find_reply(api, content))
        wanted = _comparable(_main_text(content))
        since = datetime.now(UTC) - RECONCILE_WINDOW

        def run(api: Mastodon) -> Published | None:
            account_id = self._account_id(api)
            page = api.account_statuses(account_id, exclude_reblogs=True, limit=40)
            for _ in range(RECONCILE_PAGES):
                if not page:
                    return None
                for status in page:
                    created = _aware(status.get("created_at"))
                    if created is not None and created < since:
                        return None  # newest first: everything after is older still
                    if status.get("in_reply_to_id") or status.get("reblog"):
                        continue
                    if _comparable(_html_to_text(status.get("content") or "")) == wanted:
                        return Published(
                            str(status["id"]), str(status.get("url") or status.get("uri") or "")
                        )
                if not getattr(page, "_pagination_next", None):
                    return None  # no older page
                page = api.fetch_next(page)
            return None

        return self._call(run)

    def delete(self, remote_id: str) -> None:
        def run(api: Mastodon) -> None:
            # Already gone (404): what was asked for is true.
            with suppress(sdk.MastodonNotFoundError):
                api.status_delete(remote_id)

        self._call(run)

    # -- the inbox's writes ------------------------------------------------------------------

    def _act(self, api: Mastodon, content: DeliveryContent) -> Published:
        problems = self.action_problems(content)
        if problems:
            raise ConnectorError(" ".join(str(p) for p in problems), permanent=True)
        status_id = str(content.target["id"])
        if content.action == "like":
            status = api.status_favourite(status_id)
            return Published(status_id, str(status.get("url") or status.get("uri") or ""))
        with suppress(sdk.MastodonNotFoundError):  # already gone: what was asked for is true
            api.status_delete(status_id)
        return Published(status_id, "")

    def _find_act(self, api: Mastodon, content: DeliveryContent) -> Published | None:
        status_id = str(content.target.get("id") or "")
        try:
            status = api.status(status_id)
        except sdk.MastodonNotFoundError:
            # Deleted: done for a delete; a like of a status that is gone cannot be done.
            return Published(status_id, "") if content.action == "delete" else None
        if content.action == "like" and status.get("favourited"):
            return Published(status_id, str(status.get("url") or status.get("uri") or ""))
        return None

    def _find_reply(self, api: Mastodon, content: DeliveryContent) -> Published | None:
        """Our reply among the answered status's replies (its context's descendants, which
        include direct replies addressed to us), matched by parent, author and text."""
        target = content.reply_to or {}
        parent_id = str(target.get("id") or "")
        wanted = _comparable(_main_text(content))
        account_id = self._account_id(api)
        try:
            context = api.status_context(parent_id)
        except sdk.MastodonNotFoundError:
            return None
        for status in context.get("descendants") or []:
            if str(status.get("in_reply_to_id") or "") != parent_id:
                continue
            if str((status.get("account") or {}).get("id") or "") != account_id:
                continue
            if _comparable(_html_to_text(status.get("content") or "")) == wanted:
                return Published(
                    str(status["id"]), str(status.get("url") or status.get("uri") or "")
                )
        return None

    def check_connection(self) -> AccountInfo:
        def run(api: Mastodon) -> AccountInfo:
            account = api.account_verify_credentials()
            self.account_id = str(account["id"])
            return _account_info(account, self.instance_url)

        return self._call(run)

    # -- reading ----------------------------------------------------------------------------

    INBOX_PAGE_SIZE = 40  # the conversations API's maximum (notifications take 80)
    INBOX_MAX_PAGES = 5

    def read_cost(self) -> dict[str, int]:
        # The least a poll costs: one page of notifications, one of conversations. More pages
        # and the threads of changed conversations are counted after the fact (``spent``).
        return {"requests": 2}

    def fetch_inbox(self, cursor: str, since: datetime) -> InboxPage:
        """Mentions and direct messages after ``cursor`` (``n=<notification id>;c=<status
        id>``: the newest notification and conversation status already read) and not before
        ``since``, oldest first (see the module docstring)."""
        marks = dict(part.split("=", 1) for part in cursor.split(";") if "=" in part)
        last_notification = marks.get("n", "")
        last_direct = marks.get("c", "")

        def run(api: Mastodon) -> InboxPage:
            me = self._account_id(api)
            requests = 0
            items: list[InboxItem] = []
            newest_notification = last_notification
            # Oldest unread first: ``min_id`` gives the page right after it.
            for _ in range(self.INBOX_MAX_PAGES):
                page = _reading(
                    api,
                    partial(
                        api.notifications,
                        types=["mention"],
                        min_id=newest_notification or None,
                        limit=self.INBOX_PAGE_SIZE,
                    ),
                )
                requests += 1
                if not page:
                    break
                for notification in page:
                    if not _newer(str(notification["id"]), last_notification):
                        continue  # already read (an instance that ignores min_id)
                    if _newer(str(notification["id"]), newest_notification):
                        newest_notification = str(notification["id"])
                    status = notification.get("status")
                    if notification.get("type") != "mention" or not status:
                        continue
                    if status.get("visibility") == "direct":
                        continue  # read with its conversation below
                    item = self._status_item(status, me, since)
                    if item is not None:
                        items.append(item)
                if len(page) < self.INBOX_PAGE_SIZE or not last_notification:
                    break  # the first poll reads one page: the backfill limit does the rest
            newest_direct = last_direct
            conversations = _reading(api, partial(api.conversations, limit=self.INBOX_PAGE_SIZE))
            requests += 1
            for conversation in conversations:
                status = conversation.get("last_status")
                if not status or not _newer(str(status["id"]), last_direct):
                    continue
                if _newer(str(status["id"]), newest_direct):
                    newest_direct = str(status["id"])
                thread = [status]
                if _answers_another(status, since):
                    requests += 1
                    thread += _earlier_in_thread(api, status, me, last_direct)
                for found in thread:
                    item = self._status_item(
                        found, me, since, conversation_id=str(conversation["id"])
                    )
                    if item is not None:
                        items.append(item)
            items.sort(key=lambda item: (item.sent_at, item.remote_id))
            return InboxPage(
                items, f"n={newest_notification};c={newest_direct}", {"requests": requests}
            )

        return self._call(run)

    def _status_item(
        self, status: Mapping[str, Any], me: str, since: datetime, conversation_id: str = ""
    ) -> InboxItem | None:
        sent_at = _aware(status.get("created_at"))
        if sent_at is None or sent_at < since:
            return None
        account = status.get("account") or {}
        in_reply_to = str(status.get("in_reply_to_id") or "")
        replies_to_us = str(status.get("in_reply_to_account_id") or "") == me
        reference = {
            "status_id": str(status["id"]),
            "in_reply_to_id": in_reply_to,
            "visibility": str(status.get("visibility") or "public"),
            "acct": str(account.get("acct") or ""),
            "mentions": [str(m.get("acct") or "") for m in status.get("mentions") or []],
        }
        if conversation_id:
            kind, thread_key = ItemKind.DIRECT, f"conversation {conversation_id}"
            reference["conversation_id"] = conversation_id
        elif in_reply_to and replies_to_us:
            kind, thread_key = ItemKind.COMMENT, f"{in_reply_to} {account.get('id')}"
        else:
            kind, thread_key = ItemKind.MENTION, str(status["id"])
        info = _account_info(account, self.instance_url) if account else None
        followers = account.get("followers_count")
        return InboxItem(
            remote_id=str(status["id"]),
            kind=kind,
            thread_key=thread_key,
            author=InboxAuthor(
                remote_id=str(account.get("id") or ""),
                handle=info.handle if info else "",
                display_name=str(account.get("display_name") or ""),
                avatar_url=str(account.get("avatar_static") or account.get("avatar") or ""),
                followers=int(followers) if followers is not None else None,
            ),
            text=_html_to_text(str(status.get("content") or "")).strip(),
            sent_at=sent_at.astimezone(UTC),
            remote_url=str(status.get("url") or status.get("uri") or ""),
            reference=reference,
            parent_remote_id=in_reply_to,
            our_post_remote_id=in_reply_to if replies_to_us else "",
            language=str(status.get("language") or ""),
        )

    # -- measuring --------------------------------------------------------------------------

    # ``GET /api/v1/statuses`` refuses more ids than Mastodon's DEFAULT_STATUSES_LIMIT (20)
    # with a 422 (``Api::V1::StatusesController#check_statuses_limit``; the reference does
    # not say how many it takes).
    METRICS_BATCH = 20
    _AS_COUNTED = (
        "As the channel's instance counts them when read; those made on other servers "
        "count once they reach it."
    )
    measures = True
    metric_table: ClassVar[tuple[MetricInfo, ...]] = (
        MetricInfo("likes", "favourites_count (statuses)", _AS_COUNTED),
        MetricInfo("reposts", "reblogs_count (statuses)", _AS_COUNTED),
        MetricInfo("replies", "replies_count (statuses)", _AS_COUNTED),
        MetricInfo(
            "followers",
            "followers_count (verify_credentials)",
            "Live when read; Socialdesk reads it once a day.",
        ),
    )
    metric_note: ClassVar[str] = (
        "Mastodon's API gives no views, no link clicks and no quote counts for statuses."
    )

    def _batches_reads(self) -> bool | None:
        """Whether this instance reads many statuses in one request (None: not known yet)."""
        with _limits_lock:
            known = _batch_reads.get(self.cache_key)
        if known is None or known[1] <= time.monotonic():
            return None
        return known[0]

    def _remember_batch_reads(self, answer: bool) -> None:
        with _limits_lock:
            _batch_reads[self.cache_key] = (answer, time.monotonic() + LIMITS_TTL.total_seconds())

    def metrics_cost(self, posts: int, followers: bool = False) -> dict[str, int]:
        """Requests: one per 20 statuses where the instance batches, one per status where
        it does not, and, not knowing yet, the worst of the two plus the request that asks."""
        batches = self._batches_reads()
        if batches:
            calls = -(-posts // self.METRICS_BATCH)
        elif batches is None and posts:
            calls = 1 + posts
        else:
            calls = posts
        calls += 1 if followers else 0
        return {"requests": calls} if calls else {}

    def fetch_metrics(self, remote_ids: Sequence[str]) -> dict[str, Metrics]:
        """Favourites, boosts and replies of our statuses (``favourites_count``,
        ``reblogs_count``, ``replies_count`` of the Status entity): 20 a request with ``GET
        /api/v1/statuses?id[]=`` (Mastodon 4.3 and later), else one ``GET
        /api/v1/statuses/:id`` each. An instance without the batched read answers 404 to it
        (no such route); that is remembered for ``LIMITS_TTL``. A status that is gone (404,
        or missing from a batch) is left out."""
        ids = sorted({str(i) for i in remote_ids if str(i).strip()})
        if not ids:
            return {}

        def run(api: Mastodon) -> dict[str, Metrics]:
            found: dict[str, Metrics] = {}
            start = 0
            if self._batches_reads() is not False:
                try:
                    while start < len(ids):
                        chunk = ids[start : start + self.METRICS_BATCH]
                        for status in self._batch_client().statuses(chunk):
                            found[str(status["id"])] = _metrics_of(status)
                        start += len(chunk)
                    self._remember_batch_reads(True)
                    return found
                except sdk.MastodonNotFoundError:
                    self._remember_batch_reads(False)
                except sdk.MastodonRatelimitError as error:
                    # Said with the reset time this client read (``_call`` knows the other's).
                    raise ConnectorError(
                        "Mastodon's rate limit is reached for this account.",
                        retry_after=_retry_after(self._batch_client()),
                        rate_limited=True,
                    ) from error
            for status_id in ids[start:]:
                try:
                    found[status_id] = _metrics_of(api.status(status_id))
                except sdk.MastodonNotFoundError:
                    continue  # deleted: nothing to measure
            return found

        return self._call(run)

    def fetch_followers(self) -> int | None:
        def run(api: Mastodon) -> int | None:
            count = api.account_verify_credentials().get("followers_count")
            return int(count) if count is not None else None

        return self._call(run)

    def _batch_client(self) -> Mastodon:
        """A client for ``GET /api/v1/statuses`` only: Mastodon.py refuses to call it for an
        instance it takes for older than 4.3, and ``_client`` assumes 4.0 without asking;
        whether this instance has it is found by asking instead (``fetch_metrics``)."""
        if getattr(self, "_batch_api", None) is None:
            self._batch_api = Mastodon(
                access_token=self._access_token,
                api_base_url=self.instance_url,
                ratelimit_method="throw",
                request_timeout=self._timeout,
                version_check_mode="none",
                user_agent=CLIENT_NAME,
            )
        return self._batch_api

    # -- instance limits --------------------------------------------------------------------

    def limits(self) -> InstanceLimits:
        """This channel's instance limits: cached, else read from the instance, else the
        defaults (and then not cached, so the next call asks again)."""
        now = time.monotonic()
        with _limits_lock:
            cached = _limits_cache.get(self.cache_key)
        if cached is not None and cached.until > now:
            return cached.limits
        try:
            with _translated_errors(self._client()):
                instance = self._client().instance_v2()
        except ConnectorError:
            return InstanceLimits()
        limits = InstanceLimits.from_instance(instance)
        with _limits_lock:
            _limits_cache[self.cache_key] = _CachedLimits(limits, now + LIMITS_TTL.total_seconds())
        return limits

    # -- calls ------------------------------------------------------------------------------

    def _client(self) -> Mastodon:
        if self._api is None:
            self._api = Mastodon(
                access_token=self._access_token,
                api_base_url=self.instance_url,
                ratelimit_method="throw",  # never sleep in a worker: the engine paces
                request_timeout=self._timeout,
                # Assume Mastodon 4.0 or later (v2 media and instance endpoints) without
                # asking the instance on every connection.
                version_check_mode="created",
                mastodon_version="4.0.0",
                user_agent=CLIENT_NAME,
            )
        return self._api

    def _call(self, action: Callable[[Mastodon], T]) -> T:
        api = self._client()
        with _translated_errors(api):
            return action(api)

    def _account_id(self, api: Mastodon) -> str:
        if not self.account_id:
            self.account_id = str(api.account_verify_credentials()["id"])
        return self.account_id

    def _upload(self, api: Mastodon, media: MediaFile) -> str:
        """Upload one file with its alt text; wait (bounded) until the instance has
        processed it, because a status with unprocessed media is refused."""
        attachment = api.media_post(
            str(media.path),
            mime_type=media.mime_type,
            description=media.alt_text or None,
            file_name=media.path.name,
        )
        deadline = time.monotonic() + self.media_timeout
        while attachment.get("url") is None:
            if time.monotonic() >= deadline:
                raise ConnectorError(
                    f"Mastodon is still processing {media.path.name} after "
                    f"{self.media_timeout:g} seconds."
                )
            time.sleep(self.media_poll_interval)
            attachment = api.media(attachment["id"])
        return str(attachment["id"])

    def _post(
        self,
        api: Mastodon,
        text: str,
        content: DeliveryContent,
        key: str,
        *,
        media_ids: Sequence[str] = (),
        reply_to: Mapping[str, Any] | None = None,
    ) -> Mapping[str, Any]:
        visibility = getattr(content, "visibility", "") or self.visibility or None
        answered = content.reply_to
        if answered is not None and reply_to is None:
            reply_to = answered
            if answered.get("visibility") == "direct":
                visibility = "direct"  # a private exchange stays private
        language = content.language.split("-")[0].lower() if content.language else None
        return api.status_post(
            text,
            in_reply_to_id=reply_to["id"] if reply_to is not None else None,
            media_ids=list(media_ids) or None,
            visibility=visibility,
            spoiler_text=_spoiler_of(content) or None,
            language=language,
            idempotency_key=key,
        )


# -- connecting: the instance's OAuth flow -------------------------------------------------


def normalize_instance_url(instance_url: str) -> str:
    """``bakery.example`` → ``https://bakery.example``; no trailing slash."""
    url = instance_url.strip().rstrip("/")
    if not url.startswith(("https://", "http://")):
        url = "https://" + url
    return url


def _loopback(instance_url: str) -> bool:
    # Plain http is allowed only for an instance on this machine (tests, development).
    return urlsplit(instance_url).hostname in ("127.0.0.1", "localhost", "::1")


def register_app(
    instance_url: str,
    redirect_uri: str,
    *,
    website: str | None = None,
    timeout: float = 20.0,
) -> dict[str, str]:
    """Register Socialdesk on the instance (``POST /api/v1/apps``) with ``SCOPES`` and this
    ``redirect_uri``. Returns ``instance_url``, ``client_id`` and ``client_secret``: keep them
    (encrypted) for ``authorization_url`` and ``exchange_code``; one registration serves every
    account of the instance."""
    url = normalize_instance_url(instance_url)
    with _translated_errors(None):
        try:
            client_id, client_secret = Mastodon.create_app(
                CLIENT_NAME,
                scopes=SCOPES,
                redirect_uris=redirect_uri,
                website=website,
                api_base_url=url,
                request_timeout=timeout,
                user_agent=CLIENT_NAME,
            )
        except (KeyError, TypeError) as error:  # the instance answered without credentials
            raise ConnectorError(
                f"{url} did not register Socialdesk as an app: is it a Mastodon server?",
                permanent=True,
            ) from error
    return {"instance_url": url, "client_id": client_id, "client_secret": client_secret}


def authorization_url(
    app: Mapping[str, str], redirect_uri: str, state: str, *, force_login: bool = False
) -> str:
    """Where to send the person to approve Socialdesk on their instance. ``app`` is what
    ``register_app`` returned; ``state`` is a random value the callback must see again."""
    api = Mastodon(
        client_id=app["client_id"],
        client_secret=app["client_secret"],
        api_base_url=app["instance_url"],
        user_agent=CLIENT_NAME,
    )
    return api.auth_request_url(
        redirect_uris=redirect_uri,
        scopes=SCOPES,
        state=state,
        force_login=force_login,
        skip_server_info=True,  # Mastodon's /oauth/authorize: no request needed
    )


def exchange_code(
    app: Mapping[str, str], redirect_uri: str, code: str, *, timeout: float = 20.0
) -> tuple[dict[str, str], AccountInfo]:
    """Trade the authorization ``code`` the instance redirected back with for an access
    token, and say whose account it opens. Returns the channel's credentials (store them
    encrypted) and the account."""
    url = app["instance_url"]
    api = Mastodon(
        client_id=app["client_id"],
        client_secret=app["client_secret"],
        api_base_url=url,
        request_timeout=timeout,
        ratelimit_method="throw",
        user_agent=CLIENT_NAME,
    )
    with _translated_errors(api):
        try:
            token = api.log_in(
                code=code, redirect_uri=redirect_uri, scopes=SCOPES, allow_http=_loopback(url)
            )
        except sdk.MastodonIllegalArgumentError as error:
            raise ConnectorError(
                f"{url} did not accept the authorization: connect the account again.",
                permanent=True,
            ) from error
        account = api.account_verify_credentials()
    info = _account_info(account, url)
    credentials = {
        "instance_url": url,
        "access_token": token,
        "client_id": app["client_id"],
        "client_secret": app["client_secret"],
        "account_id": info.remote_account_id,
    }
    return credentials, info


# -- text -----------------------------------------------------------------------------------


def _main_text(content: DeliveryContent) -> str:
    """The main status's text: Mastodon makes its own link card from the first link in the
    text, so a link that is not in the text yet is added at the end."""
    if content.reply_to is not None:
        return _with_mentions(content.text, content.reply_to)
    if content.link and content.link.url not in content.text:
        return f"{content.text.rstrip()}\n\n{content.link.url}".strip()
    return content.text


def _with_mentions(text: str, target: Mapping[str, Any]) -> str:
    """A reply's text opening with the mentions Mastodon needs to deliver it: the answered
    status's author and, in a direct conversation, everyone it mentioned (a direct status
    reaches only the accounts it mentions). Those already in the text are not repeated."""
    wanted = [str(target.get("account") or "")]
    if target.get("visibility") == "direct":
        wanted += [str(acct) for acct in target.get("mentions") or []]
    # Never mention ourselves: our account as the instance names it, with and without domain.
    own_account = str(target.get("own_account") or "").lower().removeprefix("@")
    own = {own_account, own_account.split("@")[0]} - {""}
    present = {m.lower() for m in re.findall(r"@([\w.\-]+(?:@[\w.\-]+)?)", text)}
    missing = []
    for acct in wanted:
        acct = acct.removeprefix("@")
        if acct and acct.lower() not in present and acct.lower() not in own:
            missing.append(f"@{acct}")
            present.add(acct.lower())
    return f"{' '.join(missing)} {text}".strip() if missing else text


def _spoiler_of(content: DeliveryContent) -> str:
    return str(getattr(content, "spoiler_text", "") or "")


def _length_problems(
    limits: InstanceLimits, field_name: str, text: str, spoiler: str, what: str
) -> list[Problem]:
    if not text:
        return []
    count = limits.length(text, spoiler)
    if count <= limits.max_characters:
        return []
    extra = " (with the content warning)" if spoiler else ""
    return [
        Problem(
            field_name,
            f"{what} counts {count} characters{extra}; this Mastodon instance allows "
            f"{limits.max_characters}. Remove {count - limits.max_characters} (each link "
            f"counts as {limits.characters_reserved_per_url}).",
        )
    ]


def _media_problems(limits: InstanceLimits, media: MediaFile) -> list[Problem]:
    problems = []
    name = media.path.name
    if limits.supported_mime_types and media.mime_type not in limits.supported_mime_types:
        problems.append(Problem("media", f"{name} is {media.mime_type}; this instance refuses it."))
    try:
        size = media.size
    except OSError:
        problems.append(Problem("media", f"{name} cannot be read."))
    else:
        is_video = media.mime_type.startswith(("video/", "audio/"))
        ceiling = limits.video_size_limit if is_video else limits.image_size_limit
        if size > ceiling:
            problems.append(
                Problem(
                    "media",
                    f"{name} is {size / 1_000_000:.1f} MB; this instance takes files up to "
                    f"{ceiling / 1_000_000:.1f} MB.",
                )
            )
    alt = grapheme_count(media.alt_text)
    if alt > limits.description_limit:
        problems.append(
            Problem(
                "media",
                f"The alt text of {name} has {alt} characters; this instance allows "
                f"{limits.description_limit}.",
            )
        )
    return problems


_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_PARAGRAPH = re.compile(r"</p>\s*<p[^>]*>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


def _html_to_text(content: str) -> str:
    """Mastodon's status HTML back to text: paragraphs and line breaks to newlines, tags
    dropped (a shortened link's hidden parts are kept, so the full address comes back)."""
    text = _PARAGRAPH.sub("\n\n", content)
    text = _BREAK.sub("\n", text)
    return html.unescape(_TAG.sub("", text))


def _comparable(text: str) -> str:
    """Text as it can be compared with what Mastodon gives back: remote mentions without
    their domain (Mastodon shows @name), whitespace folded."""
    text = _REMOTE_MENTION.sub(r"\1@\3", text)
    return _SPACE.sub(" ", text).strip()


def _reading(api: Mastodon, call: Callable[[], T]) -> T:
    """``call()``, except that a token without the inbox's read scopes (one given before
    Socialdesk read the inbox) is said as such: permanent, but not a revoked token, so the
    channel keeps publishing until the person reconnects it. Mastodon answers 403 for both;
    the token is asked whether it still opens the account (Mastodon.py drops the error's
    words on list endpoints, so they cannot tell)."""
    try:
        return call()
    except sdk.MastodonAPIError as error:
        if _status_of(error) != 403:
            raise
        try:
            api.account_verify_credentials()
        except sdk.MastodonAPIError:
            raise error from None  # the token itself no longer works
        raise ConnectorError(
            "This channel's Mastodon token does not let Socialdesk read its mentions and "
            "direct messages (it was given before the inbox existed): reconnect the "
            "channel to let the inbox read them.",
            permanent=True,
        ) from error


def _answers_another(status: Mapping[str, Any], since: datetime) -> bool:
    """Whether a conversation's latest status may have others of the thread before it that
    the inbox wants: it answers another status, and it is within the backfill window."""
    sent_at = _aware(status.get("created_at"))
    return bool(status.get("in_reply_to_id")) and sent_at is not None and sent_at >= since


def _earlier_in_thread(
    api: Mastodon, status: Mapping[str, Any], me: str, mark: str
) -> list[Mapping[str, Any]]:
    """The direct statuses of ``status``'s thread newer than ``mark``, other than ``status``
    itself and our own (see the module docstring). A thread gone meanwhile (404: the status
    was deleted) gives none: the latest status is still taken as it was listed."""
    try:
        context = _reading(api, partial(api.status_context, str(status["id"])))
    except sdk.MastodonNotFoundError:
        return []
    found = []
    for other in [*(context.get("ancestors") or []), *(context.get("descendants") or [])]:
        other_id = str(other.get("id") or "")
        if not other_id or other_id == str(status["id"]) or not _newer(other_id, mark):
            continue
        if str((other.get("account") or {}).get("id") or "") == me:
            continue
        if other.get("visibility") != "direct":
            continue
        found.append(other)
    return found


def _count(value: Any) -> int | None:
    return int(value) if isinstance(value, int | str) and str(value).isdigit() else None


def _metrics_of(status: Mapping[str, Any]) -> Metrics:
    """A status's own counts; Mastodon gives no views, clicks or quotes here."""
    return Metrics(
        likes=_count(status.get("favourites_count")),
        reposts=_count(status.get("reblogs_count")),
        replies=_count(status.get("replies_count")),
    )


def _newer(status_id: str, than: str) -> bool:
    """Mastodon ids are numbers in strings (snowflakes): compare them as numbers."""
    if not than:
        return True
    try:
        return int(status_id) > int(than)
    except ValueError:
        return status_id > than


def _aware(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _account_info(account: Mapping[str, Any], instance_url: str) -> AccountInfo:
    acct = str(account.get("acct") or account.get("username") or "")
    if "@" not in acct:
        domain = urlsplit(str(account.get("url") or instance_url)).hostname or ""
        acct = f"{acct}@{domain}" if domain else acct
    return AccountInfo(str(account["id"]), f"@{acct}", str(account.get("display_name") or ""))


# -- errors ---------------------------------------------------------------------------------


def _status_of(error: sdk.MastodonAPIError) -> int | None:
    # Mastodon.py raises ('Mastodon API returned error', status, reason, error message).
    return error.args[1] if len(error.args) > 1 and isinstance(error.args[1], int) else None


def _message_of(error: sdk.MastodonAPIError) -> str:
    message = error.args[3] if len(error.args) > 3 else None
    return str(message) if message else ""


def _retry_after(api: Mastodon | None) -> datetime | None:
    # Mastodon.py parsed X-RateLimit-Reset (an ISO time on Mastodon) and moved it onto our
    # clock with the response's Date header.
    reset = getattr(api, "ratelimit_reset", None) if api is not None else None
    if reset is None:
        return None
    return datetime.fromtimestamp(float(reset), UTC)


@contextmanager
def _translated_errors(api: Mastodon | None) -> Iterator[None]:
    """Turn what Mastodon.py raises into ConnectorError (see base.ConnectorError)."""
    try:
        yield
    except ConnectorError:
        raise
    except sdk.MastodonRatelimitError as error:
        raise ConnectorError(
            "Mastodon's rate limit is reached for this account.",
            retry_after=_retry_after(api),
            rate_limited=True,
        ) from error
    except sdk.MastodonNetworkError as error:  # timeouts, refused connections, DNS
        raise ConnectorError("The Mastodon instance could not be reached.") from error
    except (sdk.MastodonIllegalArgumentError, sdk.MastodonIOError) as error:
        raise ConnectorError(f"Mastodon cannot take this post: {error}", permanent=True) from error
    except sdk.MastodonServerError as error:
        status = _status_of(error)
        raise ConnectorError(
            f"The Mastodon instance answered {status or 'a server error'}."
        ) from error
    except sdk.MastodonAPIError as error:
        status = _status_of(error)
        detail = _message_of(error)
        if status in (401, 403):
            raise ConnectorError(
                "The Mastodon instance refused the account's access token"
                + (f" ({detail})" if detail else "")
                + ": reconnect the channel.",
                auth_revoked=True,
            ) from error
        if status == 422:
            raise ConnectorError(
                f"Mastodon refused the post: {detail or 'unprocessable'}", permanent=True
            ) from error
        if status is not None and 400 <= status < 500 and status != 408:
            raise ConnectorError(
                f"Mastodon refused the request ({status}): {detail or error}", permanent=True
            ) from error
        raise ConnectorError(
            f"Mastodon gave an answer Socialdesk could not read ({status or error})."
        ) from error
    except sdk.MastodonError as error:
        raise ConnectorError(f"Mastodon failed: {error}") from error
