"""X (formerly Twitter) through the X API v2, with httpx (``networks.http.Api``).

X publishes its own Python SDK (``xdk``), but it is a 0.x release generated from the OpenAPI
document that talks through ``requests`` with its own error types: it would need wrapping to
tell a refusal from a lost answer after a write, which is what ``Api.call`` already does for
every network here, for the dozen documented endpoints this module calls.

No X server can run here: tested against recorded exchanges written by hand from docs.x.com
(``tests/recordings/x/``), served over real HTTP to this code.

Connecting: OAuth 2.0 Authorization Code with PKCE (``OAUTH``; consent on x.com, tokens from
``api.x.com/2/oauth2/token`` with HTTP Basic for a confidential client). Access tokens live two
hours; ``offline.access`` gives a refresh token, which X **rotates**: every refresh answers a
new one, stored at once (``store``); a failed refresh stores nothing. A token that expires
within ``oauth.REFRESH_MARGIN`` is refreshed before the call; a 401 with a refresh token in
hand is refreshed once and the call made again (nothing was done by a refused call).

Publishing: ``POST /2/tweets``; thread parts answer the part before
(``reply.in_reply_to_tweet_id``), the first comment answers the main post. Images go through
the one-request upload (``POST /2/media/upload``), GIFs and videos through the chunked one
(``initialize``, ``append`` per 4 MB segment, ``finalize``, then ``STATUS`` polled while X
processes it); alt text through ``POST /2/media/metadata``.

Exactly once: X takes no idempotency key, but it refuses a post whose text repeats one of the
account's recent posts ("duplicate content", a 403). A retry after a transient failure (say a
5xx on part 2 of a thread) therefore meets that refusal for what was already made, and the
connector then finds that post among the account's recent ones (``GET /2/users/:id/tweets``,
younger than ``DUPLICATE_WINDOW``, same text, same parent) and carries on from it. A
duplicate older than that window is the person's own repeat: refused, permanently, in X's
words. ``find_published`` (an outcome unknown after a timeout) reads the same timeline and
matches the text, links left out (X shows them as t.co links), and the parent for a reply.
A heuristic, said plainly: two identical posts made within the window by another tool are
indistinguishable from ours.

Text: X counts weighted characters (``text_length``): 280 at most, a link 23 whatever its
length, code points outside Latin and common punctuation (CJK, most scripts) and each emoji
2. Media (``media_problems``): up to 4 images (JPEG, PNG, WEBP, GIF; 5 MB each) or one GIF
(15 MB) or one video (MP4/MOV, 512 MB), not mixed.

Reading: mentions (``GET /2/users/:id/mentions``) into the inbox, when the app's API access
includes it; X answers 403 ``client-not-enrolled`` otherwise, said as that, not as a revoked
token. Metrics: ``public_metrics`` of our posts (``GET /2/tweets?ids=``, 100 a call) and the
followers of ``GET /2/users/me``. Rate limits: the ``x-rate-limit-*`` headers (reset in epoch
seconds) and, on a daily cap, ``x-user-limit-24hour-reset``.
"""

from __future__ import annotations

import html
import time
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import httpx
import regex

from . import catalog, http, oauth
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

API = "https://api.x.com"
LABEL = "X"
REFERENCE = "https://docs.x.com/x-api/introduction"

OAUTH = oauth.OAuthSpec(
    authorize_url="https://x.com/i/oauth2/authorize",
    token_url=f"{API}/2/oauth2/token",
    scopes=("tweet.read", "tweet.write", "users.read", "offline.access", "media.write"),
    secret_in="basic",  # noqa: S106 (where the secret goes)
)

ABOUT = catalog.NetworkAbout(
    network="x",
    connect="oauth",
    text_max=280,
    # X weighs characters: ``text_length`` on the server, the composer's "weighted" counter
    # (content/static/content/composer.js ``xWeigh``) in the browser, links at 23 in both.
    text_unit="weighted",
    url_length=23,
    operator_setup=(
        "In the X Developer Console (console.x.com), create an app in a project, turn on "
        "OAuth 2.0 as a Web App (a confidential client), add the callback address shown on "
        "this page, and give it read and write permissions (scopes tweet.read, tweet.write, "
        "users.read, offline.access, media.write). Buy API credits: X sells pay-per-usage "
        "access, charged per post created (more for a post with a link) and per post read. "
        "Set X_CLIENT_ID and X_CLIENT_SECRET (or X_CLIENT_SECRET_FILE)."
    ),
    accounts="Any X account that signs in and approves the app.",
    tested=(
        "Recorded exchanges written by hand from docs.x.com (API v2), served over real HTTP; "
        "no X server runs here."
    ),
    reads=(
        "Mentions and replies into the inbox, when the app's API access includes the mentions "
        "timeline: pay-per-usage and the paid legacy plans (Basic, Pro) do; the legacy Free "
        "plan does not (X answers client-not-enrolled, shown on the channel) and caps posting "
        "at 17 posts a day per user. Likes, reposts, replies, quotes and views "
        "(impression_count) per post; followers. Every post read is charged by X."
    ),
    reference=REFERENCE,
)

NO_ACCOUNT = "This X login did not let Socialdesk read its account. Connect again."

# X's limits per user (docs.x.com/x-api/fundamentals/rate-limits, read on 2026-12-07).
POSTS_PER_15_MIN = 100  # POST /2/tweets
MENTION_READS_PER_15_MIN = 300  # GET /2/users/:id/mentions
LOOKUPS_PER_15_MIN = 900  # GET /2/tweets, /2/users/:id/tweets, /2/users/me
LIKES_PER_15_MIN, LIKES_PER_DAY = 50, 1000  # POST /2/users/:id/likes

TEXT_MAX = 280
URL_WEIGHT = 23
ALT_TEXT_MAX = 1000
IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")
GIF_TYPE = "image/gif"
VIDEO_TYPES = ("video/mp4", "video/quicktime")
IMAGE_MAX = 5 * 1024 * 1024
GIF_MAX = 15 * 1024 * 1024
VIDEO_MAX = 512 * 1024 * 1024
IMAGES_MAX = 4
CHUNK = 4 * 1024 * 1024  # append segments (X takes up to 5 MB each)
DUPLICATE_WINDOW = timedelta(hours=12)
RECONCILE_WINDOW = timedelta(days=2)
METRICS_BATCH = 100
INBOX_PAGES = 3  # of 100 mentions each, per poll

# -- X's weighted count (twitter-text 3 configuration, as docs.x.com "Counting characters") --

# Code points in these ranges weigh 1, every other 2 (the configuration's weights 100/200).
_LIGHT = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))
_GRAPHEME = regex.compile(r"\X")
_EMOJI = regex.compile(r"\p{Extended_Pictographic}|\p{Regional_Indicator}|\u20e3")
# Links X shortens to 23: with a scheme, or a bare domain with a common top-level domain.
_URL = regex.compile(
    r"(?i)(?<![\w@.])(?:https?://[^\s<>\"]+|(?:www\.)?(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+"
    r"(?:com|org|net|io|co|dev|app|shop|info|biz|me|uk|de|fr|es|it|nl|eu|us|ca|au|jp)"
    r"\b(?:/[^\s<>\"]*)?)"
)
_TRAILING = ".,!?;:'\")]}"


def _weight(text: str) -> int:
    total = 0
    for grapheme in _GRAPHEME.findall(text):
        if _EMOJI.search(grapheme):
            total += 2
            continue
        for char in grapheme:
            point = ord(char)
            total += 1 if any(low <= point <= high for low, high in _LIGHT) else 2
    return total


def text_length(text: str) -> int:
    """How many characters X counts for ``text`` (of ``TEXT_MAX``): NFC-normalised, each link
    ``URL_WEIGHT``, each emoji 2, CJK and most non-Latin scripts 2 a code point, the rest 1.
    Links are found as X's own parser finds most (with a scheme, or a bare domain with a
    common top-level domain); a bare domain with a rare one counts as typed."""
    text = unicodedata.normalize("NFC", text)
    total = 0
    position = 0
    for match in _URL.finditer(text):
        link = match.group(0)
        kept = link.rstrip(_TRAILING)
        total += _weight(text[position : match.start()]) + URL_WEIGHT
        position = match.start() + len(kept)
    return total + _weight(text[position:])


# -- media rules ----------------------------------------------------------------------------


def _kind(media: MediaFile) -> str:
    if media.mime_type == GIF_TYPE:
        return "gif"
    if media.mime_type.startswith("video/"):
        return "video"
    return "image"


def media_problems(media: MediaFile) -> list[Problem]:
    """What X refuses in this one file (docs.x.com media best practices): the type, the size,
    the alt text's length."""
    name = media.path.name
    allowed = (*IMAGE_TYPES, GIF_TYPE, *VIDEO_TYPES)
    if media.mime_type not in allowed:
        return [
            Problem("media", f"{name} is {media.mime_type}; X takes JPEG, PNG, WEBP, GIF, MP4.")
        ]
    problems = []
    ceiling = {"image": IMAGE_MAX, "gif": GIF_MAX, "video": VIDEO_MAX}[_kind(media)]
    try:
        size = media.size
    except OSError:
        problems.append(Problem("media", f"{name} cannot be read."))
    else:
        if size > ceiling:
            problems.append(
                Problem(
                    "media",
                    f"{name} is {size / 1_048_576:.1f} MB; X takes "
                    f"{_kind(media)}s up to {ceiling // 1_048_576} MB.",
                )
            )
    if len(media.alt_text) > ALT_TEXT_MAX:
        problems.append(
            Problem(
                "media",
                f"The alt text of {name} has {len(media.alt_text)} characters; X allows "
                f"{ALT_TEXT_MAX}.",
            )
        )
    return problems


def _mix_problems(media: Sequence[MediaFile]) -> list[Problem]:
    kinds = [_kind(m) for m in media]
    if not kinds:
        return []
    if ("video" in kinds or "gif" in kinds) and len(kinds) > 1:
        return [Problem("media", "X takes one video or one GIF a post, alone: remove the others.")]
    if len(kinds) > IMAGES_MAX:
        return [
            Problem(
                "media", f"X takes up to {IMAGES_MAX} images a post; this one has {len(kinds)}."
            )
        ]
    return []


# -- answers --------------------------------------------------------------------------------


def _body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _words(response: httpx.Response) -> str:
    """X's own words: a problem's ``detail`` (RFC 7807), else its ``title``, else the first
    of ``errors``; ``client-not-enrolled`` said as what it means."""
    body = _body(response)
    if body.get("reason") == "client-not-enrolled" or "client-not-enrolled" in str(
        body.get("type", "")
    ):
        return "this app's X API access does not include this endpoint (client-not-enrolled)"
    errors = body.get("errors")
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
    for value in (body.get("detail"), first.get("message"), body.get("title")):
        if isinstance(value, str) and value:
            return value
    return response.reason_phrase or f"HTTP {response.status_code}"


def _reset_at(response: httpx.Response) -> datetime | None:
    """When X may be asked again: the daily cap's reset when that cap is spent, else the
    15-minute window's (both epoch seconds)."""
    if response.headers.get("x-user-limit-24hour-remaining", "").strip() == "0":
        daily = http.epoch_header(response, "x-user-limit-24hour-reset")
        if daily is not None:
            return daily
    return http.epoch_header(response, "x-rate-limit-reset") or http.retry_after_header(response)


def _aware(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


def _comparable(text: str) -> str:
    """Text as X gives it back, made comparable with ours: entities decoded, links left out
    (X shows every link as a t.co link, and a media post ends with one), spaces folded."""
    text = _URL.sub(" ", html.unescape(unicodedata.normalize("NFC", text)))
    return " ".join(text.split())


def _main_text(content: DeliveryContent) -> str:
    """The post's text, with the link card's address added when the text does not carry it
    (X makes its card from the link in the text)."""
    text = content.text
    if content.link and content.link.url not in text:
        text = f"{text}\n\n{content.link.url}" if text.strip() else content.link.url
    return text


def _replied_to(tweet: Mapping[str, Any]) -> str:
    for reference in tweet.get("referenced_tweets") or ():
        if reference.get("type") == "replied_to":
            return str(reference.get("id") or "")
    return ""


def _target_id(content: DeliveryContent) -> str:
    return str(content.target.get("id") or content.target.get("remote_id") or "").strip()


class XConnector(Connector):
    """One X account (see the module docstring)."""

    network = "x"
    rate_limits: ClassVar[tuple[RateLimit, ...]] = (
        RateLimit("posts", POSTS_PER_15_MIN, timedelta(minutes=15)),
        RateLimit("likes", LIKES_PER_15_MIN, timedelta(minutes=15)),
        RateLimit("likes", LIKES_PER_DAY, timedelta(hours=24)),
    )
    read_limits: ClassVar[tuple[RateLimit, ...]] = (
        RateLimit("mention_reads", MENTION_READS_PER_15_MIN, timedelta(minutes=15)),
        RateLimit("lookups", LOOKUPS_PER_15_MIN, timedelta(minutes=15)),
    )
    reads = True
    measures = True
    metric_table = (
        MetricInfo("likes", "public_metrics.like_count (GET /2/tweets)", "live"),
        MetricInfo("reposts", "public_metrics.retweet_count", "live"),
        MetricInfo("replies", "public_metrics.reply_count", "live"),
        MetricInfo("quotes", "public_metrics.quote_count", "live"),
        MetricInfo("views", "public_metrics.impression_count", "live"),
        MetricInfo("followers", "public_metrics.followers_count (GET /2/users/me)", "live"),
    )
    metric_note = (
        "X gives no link clicks in public_metrics (only the post's author in X's own "
        "analytics); every post read is charged by X."
    )

    def __init__(
        self,
        credentials: Mapping[str, Any],
        store: Callable[[dict[str, Any]], None] = lambda fresh: None,
        *,
        poll_max: float = 5.0,
        media_timeout: float = 120.0,
        timeout: httpx.Timeout | float = http.TIMEOUT,
    ) -> None:
        self.credentials = dict(credentials)
        self.store = store
        self.user_id = str(credentials["user_id"])
        self.username = str(credentials.get("username") or "")
        self.poll_max = poll_max
        self.media_timeout = media_timeout
        self.last_status = 0
        self.api = http.Api(
            "x",
            LABEL,
            headers={"Authorization": f"Bearer {credentials['access_token']}"},
            describe=self._describe,
            reset_at=_reset_at,
            timeout=timeout,
        )

    def __repr__(self) -> str:  # never the tokens
        return f"XConnector(user_id={self.user_id!r})"

    def _describe(self, response: httpx.Response) -> str:
        self.last_status = response.status_code
        return _words(response)

    # -- tokens -----------------------------------------------------------------------------

    def _refresh(self) -> None:
        """A new access token (and X's new refresh token), stored before it is used; on a
        failure nothing is stored and the error says whether to reconnect."""
        fresh = oauth.refresh("x", self.credentials)
        self.store(fresh)
        self.credentials = fresh
        self.api.set_header("Authorization", f"Bearer {fresh['access_token']}")

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        if oauth.needs_refresh(self.credentials):
            self._refresh()
        try:
            return self.api.call(method, f"{API}{path}", **kwargs)
        except ConnectorError as error:
            if not error.auth_revoked or not self.credentials.get("refresh_token"):
                raise
        # Refused with a token we believed good (revoked early, or a clock off): one refresh,
        # one more try; X did nothing with the refused call.
        self._refresh()
        return self.api.call(method, f"{API}{path}", **kwargs)

    def _json(self, response: httpx.Response) -> dict[str, Any]:
        body = http.json_of(response, LABEL)
        return body if isinstance(body, dict) else {}

    # -- the interface ----------------------------------------------------------------------

    def cost(self, content: DeliveryContent) -> dict[str, int]:
        if content.action == "like":
            return {"likes": 1}
        if not content.is_write_of_text:
            return {}
        return {"posts": 1 + len(content.thread) + (1 if content.first_comment else 0)}

    def action_problems(self, content: DeliveryContent) -> list[Problem]:
        if content.action not in ("like", "hide", "unhide", "delete"):
            return [Problem("action", f"Socialdesk cannot {content.action} on X.")]
        if not _target_id(content):
            return [Problem("target", "The post acted on has no X id.")]
        return []

    def validate(self, content: DeliveryContent) -> list[Problem]:
        if not content.is_write_of_text:
            return self.action_problems(content)
        problems: list[Problem] = []
        main = _main_text(content)
        if not main.strip() and not content.media:
            problems.append(Problem("text", "Write some text or attach an image."))
        counted = [("text", "The text", main)]
        counted += [
            ("thread", f"Part {n} of the thread", part)
            for n, part in enumerate(content.thread, start=2)
        ]
        if content.first_comment:
            counted.append(("first_comment", "The first comment", content.first_comment))
        for field, what, text in counted:
            length = text_length(text)
            if length > TEXT_MAX:
                problems.append(
                    Problem(field, f"{what} counts {length} of X's {TEXT_MAX} characters.")
                )
            if field == "thread" and not text.strip():
                problems.append(Problem(field, f"{what} is empty."))
        problems += _mix_problems(content.media)
        for media in content.media:
            problems += media_problems(media)
        if content.reply_to is not None and not _target_id(content):
            problems.append(Problem("target", "The answered post has no X id."))
        return problems

    def publish(self, content: DeliveryContent, idempotency_key: str) -> Published:
        problems = self.validate(content)
        if problems:
            raise ConnectorError(" ".join(str(p) for p in problems), permanent=True)
        if not content.is_write_of_text:
            return self._act(content)
        media_ids = [self._upload(media) for media in content.media]
        parent = _target_id(content) if content.reply_to is not None else ""
        main = self._create(_main_text(content), parent, media_ids)
        previous = main
        for part in content.thread:
            previous = self._create(part, previous, [])
        if content.first_comment:
            self._create(content.first_comment, main, [])
        return Published(main, self.url_of(main))

    def url_of(self, tweet_id: str) -> str:
        return f"https://x.com/{self.username or 'i/web'}/status/{tweet_id}"

    def _create(self, text: str, parent: str, media_ids: list[str]) -> str:
        body: dict[str, Any] = {"text": text}
        if parent:
            body["reply"] = {"in_reply_to_tweet_id": parent}
        if media_ids:
            body["media"] = {"media_ids": media_ids}
        try:
            response = self._call("POST", "/2/tweets", json=body)
        except ConnectorError as error:
            if "duplicate content" not in error.message.lower():
                raise
            # Made by an earlier attempt of this delivery (see the module docstring)?
            found = self._find(text, parent, datetime.now(UTC) - DUPLICATE_WINDOW)
            if found is None:
                raise ConnectorError(
                    f"{error.message} X refuses a post that repeats an earlier one of the "
                    "account: change the text.",
                    permanent=True,
                ) from None
            return found
        tweet_id = str((self._json(response).get("data") or {}).get("id") or "")
        if not tweet_id:
            raise ConnectorError("X answered without the new post's id.", permanent=True)
        return tweet_id

    def _find(self, text: str, parent: str, since: datetime) -> str | None:
        """The id of the account's post made since ``since`` with this text (and answering
        ``parent``, or nothing), newest first; None when there is none."""
        wanted = _comparable(text)
        params = {
            "max_results": "100",
            "tweet.fields": "created_at,referenced_tweets",
            "start_time": since.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        body = self._json(self._call("GET", f"/2/users/{self.user_id}/tweets", params=params))
        for tweet in body.get("data") or ():
            if _replied_to(tweet) != parent:
                continue
            if _comparable(str(tweet.get("text") or "")) == wanted:
                return str(tweet["id"])
        return None

    def find_published(
        self, idempotency_key: str, content: DeliveryContent | None = None
    ) -> Published | None:
        """The post this content made, read from the account's posts of the last
        ``RECONCILE_WINDOW`` (text and parent matched; see the module docstring). A like,
        hide, unhide or delete is idempotent on X: None, and doing it again is harmless."""
        if content is None:
            raise ConnectorError(
                "X cannot look a post up without its text; whether it was made is not known.",
            )
        if not content.is_write_of_text:
            return None
        parent = _target_id(content) if content.reply_to is not None else ""
        since = datetime.now(UTC) - RECONCILE_WINDOW
        found = self._find(_main_text(content), parent, since)
        return Published(found, self.url_of(found)) if found else None

    def delete(self, remote_id: str) -> None:
        try:
            self._call("DELETE", f"/2/tweets/{remote_id}")
        except ConnectorError as error:
            if self.last_status != 404 or error.auth_revoked:
                raise
            # Already gone: what was asked for is true.

    def _act(self, content: DeliveryContent) -> Published:
        target = _target_id(content)
        if content.action == "like":
            self._call("POST", f"/2/users/{self.user_id}/likes", json={"tweet_id": target})
        elif content.action in ("hide", "unhide"):
            hidden = content.action == "hide"
            self._call("PUT", f"/2/tweets/{target}/hidden", json={"hidden": hidden})
        else:
            self.delete(target)
        return Published(target, self.url_of(target))

    def check_connection(self) -> AccountInfo:
        data = self._json(self._call("GET", "/2/users/me")).get("data") or {}
        if not data.get("id"):
            raise ConnectorError("X did not say whose account this is.")
        return AccountInfo(str(data["id"]), f"@{data.get('username', '')}", data.get("name", ""))

    # -- media ------------------------------------------------------------------------------

    def _upload(self, media: MediaFile) -> str:
        """Upload one file and wait until X can attach it; its id. Nothing is public yet, so
        a lost answer here is only a transient failure: the retry uploads again."""
        try:
            return self._upload_once(media)
        except http.OutcomeUnknown as error:
            raise ConnectorError(f"{error} Nothing was posted yet.") from None

    def _upload_once(self, media: MediaFile) -> str:
        data = media.path.read_bytes()
        kind = _kind(media)
        name = media.path.name
        if kind == "image":
            response = self._call(
                "POST",
                "/2/media/upload",
                files={"media": (name, data, media.mime_type)},
                data={"media_category": "tweet_image", "media_type": media.mime_type},
            )
            found = self._json(response).get("data") or {}
        else:
            category = "tweet_gif" if kind == "gif" else "tweet_video"
            started = self._call(
                "POST",
                "/2/media/upload/initialize",
                json={
                    "media_type": media.mime_type,
                    "total_bytes": len(data),
                    "media_category": category,
                },
            )
            media_id = str((self._json(started).get("data") or {}).get("id") or "")
            if not media_id:
                raise ConnectorError("X did not start the upload (no media id).")
            for index, offset in enumerate(range(0, len(data), CHUNK)):
                self._call(
                    "POST",
                    f"/2/media/upload/{media_id}/append",
                    files={"media": (name, data[offset : offset + CHUNK], media.mime_type)},
                    data={"segment_index": str(index)},
                )
            found = self._json(self._call("POST", f"/2/media/upload/{media_id}/finalize")).get(
                "data"
            ) or {"id": media_id}
        media_id = str(found.get("id") or "")
        if not media_id:
            raise ConnectorError("X answered the upload without a media id.")
        if found.get("processing_info"):
            self._wait(media_id, found["processing_info"], name)
        if media.alt_text:
            self._call(
                "POST",
                "/2/media/metadata",
                json={"id": media_id, "metadata": {"alt_text": {"text": media.alt_text}}},
            )
        return media_id

    def _wait(self, media_id: str, processing: Mapping[str, Any], name: str) -> None:
        """Poll ``STATUS`` until X has processed the file (``succeeded``), at most
        ``media_timeout`` seconds; ``failed`` is permanent, in X's words."""
        deadline = time.monotonic() + self.media_timeout
        while True:
            state = processing.get("state")
            if state == "succeeded":
                return
            if state == "failed":
                error = processing.get("error") or {}
                words = error.get("message") or error.get("name") or "no reason given"
                raise ConnectorError(
                    f"X could not process {name}: {words}. Use another file.", permanent=True
                )
            if time.monotonic() >= deadline:
                raise ConnectorError(
                    f"X was still processing {name} after {self.media_timeout:.0f} s; "
                    "it will be tried again."
                )
            time.sleep(min(float(processing.get("check_after_secs") or 1), self.poll_max))
            answer = self._call(
                "GET", "/2/media/upload", params={"command": "STATUS", "media_id": media_id}
            )
            processing = (self._json(answer).get("data") or {}).get("processing_info") or {
                "state": "succeeded"
            }

    # -- reading ----------------------------------------------------------------------------

    def read_cost(self) -> dict[str, int]:
        return {"mention_reads": 1}

    def fetch_inbox(self, cursor: str, since: datetime) -> InboxPage:
        """Mentions of the account newer than ``cursor`` (a post id), oldest first; a reply
        to one of our posts is a comment, a quote a quote. Up to ``INBOX_PAGES`` pages."""
        params: dict[str, str] = {
            "max_results": "100",
            "tweet.fields": "created_at,author_id,conversation_id,in_reply_to_user_id,"
            "referenced_tweets,lang",
            "expansions": "author_id",
            "user.fields": "username,name,profile_image_url,public_metrics",
        }
        if cursor:
            params["since_id"] = cursor
        else:
            params["start_time"] = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        tweets: list[dict[str, Any]] = []
        users: dict[str, dict[str, Any]] = {}
        spent = 0
        newest = cursor
        for _ in range(INBOX_PAGES):
            try:
                response = self._call("GET", f"/2/users/{self.user_id}/mentions", params=params)
            except ConnectorError as error:
                if "client-not-enrolled" in error.message:
                    raise ConnectorError(
                        "X does not let this Socialdesk's app read mentions: its API access "
                        "does not include the mentions timeline (the legacy Free plan does "
                        "not). Publishing still works; the operator can change the app's "
                        "access in the X Developer Console.",
                        permanent=True,
                    ) from None
                raise
            spent += 1
            body = self._json(response)
            meta = body.get("meta") or {}
            if not newest or (meta.get("newest_id") and int(meta["newest_id"]) > int(newest)):
                newest = str(meta.get("newest_id") or newest)
            tweets += body.get("data") or []
            for user in (body.get("includes") or {}).get("users") or ():
                users[str(user.get("id"))] = user
            if not meta.get("next_token"):
                break
            params["pagination_token"] = str(meta["next_token"])
        items = [self._item(t, users) for t in tweets if str(t.get("author_id")) != self.user_id]
        items.sort(key=lambda item: int(item.remote_id))
        return InboxPage(items, newest or "", {"mention_reads": spent})

    def _item(self, tweet: Mapping[str, Any], users: Mapping[str, Any]) -> InboxItem:
        author = users.get(str(tweet.get("author_id"))) or {}
        replied = _replied_to(tweet)
        quoted = next(
            (
                str(r.get("id"))
                for r in tweet.get("referenced_tweets") or ()
                if r.get("type") == "quoted"
            ),
            "",
        )
        to_us = str(tweet.get("in_reply_to_user_id") or "") == self.user_id
        if replied and to_us:
            kind, ours = ItemKind.COMMENT, replied
        elif quoted:
            kind, ours = ItemKind.QUOTE, quoted
        else:
            kind, ours = ItemKind.MENTION, ""
        handle = str(author.get("username") or "")
        followers = (author.get("public_metrics") or {}).get("followers_count")
        return InboxItem(
            remote_id=str(tweet["id"]),
            kind=kind,
            thread_key=str(tweet.get("conversation_id") or tweet["id"]),
            author=InboxAuthor(
                remote_id=str(tweet.get("author_id") or ""),
                handle=f"@{handle}" if handle else "",
                display_name=str(author.get("name") or ""),
                avatar_url=str(author.get("profile_image_url") or ""),
                followers=followers if isinstance(followers, int) else None,
            ),
            text=html.unescape(str(tweet.get("text") or "")),
            sent_at=_aware(tweet.get("created_at")) or datetime.now(UTC),
            remote_url=f"https://x.com/{handle or 'i/web'}/status/{tweet['id']}",
            reference={
                "id": str(tweet["id"]),
                "conversation_id": str(tweet.get("conversation_id") or ""),
            },
            parent_remote_id=replied,
            our_post_remote_id=ours,
            language=str(tweet.get("lang") or "")
            if tweet.get("lang") not in ("und", "zxx")
            else "",
        )

    # -- measuring --------------------------------------------------------------------------

    def metrics_cost(self, posts: int, followers: bool = False) -> dict[str, int]:
        return {"lookups": -(-posts // METRICS_BATCH) + (1 if followers else 0)}

    def fetch_metrics(self, remote_ids: Sequence[str]) -> dict[str, Metrics]:
        found: dict[str, Metrics] = {}
        ids = [str(i) for i in remote_ids]
        for start in range(0, len(ids), METRICS_BATCH):
            batch = ids[start : start + METRICS_BATCH]
            params = {"ids": ",".join(batch), "tweet.fields": "public_metrics"}
            body = self._json(self._call("GET", "/2/tweets", params=params))
            # A deleted or hidden post comes back in ``errors``, not in ``data``: left out.
            for tweet in body.get("data") or ():
                numbers = tweet.get("public_metrics") or {}
                found[str(tweet["id"])] = Metrics(
                    likes=numbers.get("like_count"),
                    reposts=numbers.get("retweet_count"),
                    replies=numbers.get("reply_count"),
                    quotes=numbers.get("quote_count"),
                    views=numbers.get("impression_count"),
                )
        return found

    def fetch_followers(self) -> int | None:
        response = self._call("GET", "/2/users/me", params={"user.fields": "public_metrics"})
        numbers = (self._json(response).get("data") or {}).get("public_metrics") or {}
        count = numbers.get("followers_count")
        return int(count) if isinstance(count, int) else None


# -- connecting -----------------------------------------------------------------------------


def accounts(token: dict[str, Any]) -> list[oauth.Account]:
    """The one account a consent opens: ``GET /2/users/me`` with the new token."""
    api = http.Api(
        "x", LABEL, headers={"Authorization": f"Bearer {token['access_token']}"}, describe=_words
    )
    try:
        body = http.json_of(api.call("GET", f"{API}/2/users/me"), LABEL)
    finally:
        api.close()
    data = (body or {}).get("data") or {}
    if not data.get("id"):
        return []
    credentials = {
        "access_token": token["access_token"],
        "refresh_token": token.get("refresh_token", ""),
        "expires_at": token.get("expires_at"),
        "user_id": str(data["id"]),
        "username": str(data.get("username") or ""),
    }
    info = AccountInfo(str(data["id"]), f"@{data.get('username', '')}", str(data.get("name", "")))
    return [oauth.Account(info, credentials)]


def build(
    credentials: dict[str, Any], store: Callable[[dict[str, Any]], None]
) -> XConnector | None:
    if not credentials.get("access_token") or not credentials.get("user_id"):
        return None
    return XConnector(credentials, store)
