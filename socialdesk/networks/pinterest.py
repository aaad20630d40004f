"""Pinterest: pins on a chosen board through the Pinterest API v5 (issue 16, item 5).

From Pinterest's reference at developers.pinterest.com/docs (read on 2026-12-07): the API v5
operations ``pins/create``, ``pins/delete``, ``pins/analytics``, ``boards/list``,
``boards/get``, ``boards/list_pins``, ``media/create``, ``media/get``,
``user_account/get``, ``oauth/token``; the guides ``getting-started/authentication-and-
scopes``, ``reference/rate-limits``, ``content/content-creation/video-uploads`` and
``key-concepts/access-tiers``.

Pinterest publishes no maintained Python SDK for publishing (``pinterest-api-sdk`` covers
ads, not pins, and has not followed v5's pin changes): httpx through ``networks.http.Api``.

One channel is one board: a consent opens the person's boards (``accounts``), one is chosen,
and the credentials carry its ``board_id``. A pin needs media:

- an image is sent inline as ``image_base64`` (with its ``content_type``), so Socialdesk needs
  no public address for its media; 2–5 images go as ``multiple_image_base64`` (a carousel);
- a video is registered (``POST /v5/media``), uploaded to the address Pinterest gives (a
  form POST with the ``upload_parameters`` it lists; no Pinterest token is sent there),
  polled with ``GET /v5/media/{id}`` until ``succeeded`` (``failed`` is permanent), then
  pinned as ``video_id``.

The post's text is the pin's ``description`` (500 characters); a link card gives the pin's
``link`` and ``title`` (100); the first image's alt text is the pin's ``alt_text`` (500).
Pinterest has no comments API: a first comment is refused by ``validate``, and the inbox
reads nothing.

Exactly once: Pinterest takes no idempotency key, but a pin has a private ``note`` only its
owner sees. Socialdesk writes ``socialdesk:<idempotency key>`` there, and ``publish`` and
``find_published`` first read the board's recent pins (``GET /v5/boards/{id}/pins``) for
that note (or, for a pin made elsewhere, the same description), so a retry after a lost
answer finds the pin.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar

import httpx

from . import oauth
from .base import (
    AccountInfo,
    Connector,
    ConnectorError,
    DeliveryContent,
    MediaFile,
    MetricInfo,
    Metrics,
    Problem,
    Published,
    RateLimit,
)
from .catalog import NetworkAbout
from .http import Api, OutcomeUnknown, json_of, retry_after_header

NETWORK = "pinterest"
LABEL = "Pinterest"
API = "https://api.pinterest.com/v5"
DESCRIPTION_MAX = 500
TITLE_MAX = 100
ALT_MAX = 500
LINK_MAX = 2048
IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp", "image/bmp", "image/tiff")
IMAGE_MAX_BYTES = 20 * 1024 * 1024
CAROUSEL = (2, 5)
VIDEO_TYPES = ("video/mp4", "video/quicktime", "video/x-m4v")
VIDEO_MAX_BYTES = 2 * 1024 * 1024 * 1024
VIDEO_SECONDS = (4.0, 15 * 60.0)
UPLOAD_HOSTS = ("amazonaws.com", "pinterest.com", "pinimg.com")
MARKER = "socialdesk:"

ABOUT = NetworkAbout(
    network=NETWORK,
    connect="oauth",
    text_max=DESCRIPTION_MAX,
    text_unit="codepoints",
    url_length=0,
    operator_setup=(
        "Create an app at developers.pinterest.com from a Pinterest business account and "
        "apply for Trial access, then Standard access (Trial pins are visible only to their "
        "creator, and Trial allows 1,000 calls a day). Scopes: boards:read, pins:read, "
        "pins:write, user_accounts:read. Add the redirect URL shown on this page as a "
        "redirect URI of the app. Set PINTEREST_CLIENT_ID and PINTEREST_CLIENT_SECRET (or "
        "PINTEREST_CLIENT_SECRET_FILE). Media are sent inline (base64), so no public address "
        "for Socialdesk's media is needed."
    ),
    accounts=(
        "One board of a Pinterest account (a business account for analytics); each board "
        "is its own channel. Secret boards need the pins:write_secret scope, not asked for."
    ),
    tested="Recorded exchanges written from Pinterest's API v5 reference, served over real HTTP.",
    reads=(
        "Analytics: impressions (views), saves (counted as reposts), pin clicks and outbound "
        "clicks (clicks) per pin from the pin analytics of the last 90 days, and the "
        "account's followers. No inbox: Pinterest's API has no comments or messages."
    ),
    reference="https://developers.pinterest.com/docs/api/v5/pins-create",
)

OAUTH = oauth.OAuthSpec(
    authorize_url="https://www.pinterest.com/oauth/",
    token_url="https://api.pinterest.com/v5/oauth/token",  # noqa: S106
    scopes=("boards:read", "pins:read", "pins:write", "user_accounts:read"),
    pkce=False,  # Pinterest documents no PKCE; the app authenticates with HTTP Basic
    scope_separator=",",
    secret_in="basic",  # noqa: S106
)

NO_ACCOUNT = (
    "This Pinterest account has no board to pin to. Create a board on Pinterest, then "
    "connect again."
)


# -- errors ----------------------------------------------------------------------------------


def describe(response: httpx.Response) -> str:
    """Pinterest's words: ``{"code": 2, "message": "Authentication failed."}``."""
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase or f"HTTP {response.status_code}"
    if isinstance(body, dict) and body.get("message"):
        code = body.get("code")
        return f"{body['message']} (code {code})" if code is not None else str(body["message"])
    return response.reason_phrase or f"HTTP {response.status_code}"


def reset_at(response: httpx.Response) -> datetime | None:
    """``Retry-After``, else ``X-RateLimit-Reset`` (seconds to wait, or an epoch time when it
    is that large), else None: the engine's backoff."""
    now = datetime.now(UTC)
    said = retry_after_header(response, now)
    if said is not None:
        return said
    raw = response.headers.get("x-ratelimit-reset", "").strip()
    try:
        value = float(raw)
    except ValueError:
        return None
    if value > 1_000_000_000:
        return datetime.fromtimestamp(value, UTC)
    return now + timedelta(seconds=value)


def client(access_token: str, **kwargs: Any) -> Api:
    return Api(
        NETWORK,
        LABEL,
        headers={"Authorization": f"Bearer {access_token}"},
        describe=describe,
        reset_at=reset_at,
        **kwargs,
    )


# -- connecting ----------------------------------------------------------------------------


def accounts(token: dict[str, Any]) -> list[oauth.Account]:
    """One account per board of the person (``GET /v5/boards``, every page)."""
    api = client(str(token["access_token"]))
    try:
        user = json_of(api.call("GET", f"{API}/user_account"), LABEL)
        boards: list[dict[str, Any]] = []
        bookmark = ""
        for _page in range(10):
            query = "page_size=100" + (f"&bookmark={bookmark}" if bookmark else "")
            answer = json_of(api.call("GET", f"{API}/boards?{query}"), LABEL)
            boards.extend(b for b in answer.get("items") or [] if isinstance(b, dict))
            bookmark = str(answer.get("bookmark") or "")
            if not bookmark:
                break
    finally:
        api.close()
    username = str(user.get("username") or "")
    found = []
    for board in boards:
        if board.get("privacy") == "SECRET":
            continue  # pins:write_secret is not asked for
        name = str(board.get("name") or board["id"])
        credentials = {
            "access_token": token["access_token"],
            "refresh_token": token.get("refresh_token", ""),
            "expires_at": token.get("expires_at"),
            "board_id": str(board["id"]),
            "username": username,
        }
        handle = f"{username}/{name}" if username else name
        found.append(oauth.Account(AccountInfo(str(board["id"]), handle, name), credentials))
    return found


def build(credentials: dict[str, Any], store: Callable[[dict[str, Any]], None]) -> Connector | None:
    if not credentials.get("access_token") or not credentials.get("board_id"):
        return None
    return PinterestConnector(credentials, store)


# -- media rules -----------------------------------------------------------------------------


def media_problems(media: MediaFile) -> list[Problem]:
    """One file against Pinterest's pin media rules."""
    name = media.path.name
    is_image = media.mime_type in IMAGE_TYPES
    if not is_image and media.mime_type not in VIDEO_TYPES:
        return [
            Problem(
                "media",
                f"{name} is {media.mime_type}; Pinterest takes JPEG, PNG, WebP, BMP or TIFF "
                "images and MP4, MOV or M4V videos.",
            )
        ]
    try:
        size = media.size
    except OSError:
        return [Problem("media", f"{name} cannot be read.")]
    problems = []
    if is_image and size > IMAGE_MAX_BYTES:
        problems.append(
            Problem("media", f"{name} is {size / 1e6:.1f} MB; Pinterest takes images up to 20 MB.")
        )
    if not is_image:
        if size > VIDEO_MAX_BYTES:
            problems.append(
                Problem(
                    "media", f"{name} is {size / 1e9:.1f} GB; Pinterest takes videos up to 2 GB."
                )
            )
        from socialdesk.content.media import probe_video

        facts = probe_video(str(media.path))
        low, high = VIDEO_SECONDS
        if facts is not None and facts.duration is not None and not low <= facts.duration <= high:
            problems.append(
                Problem(
                    "media",
                    f"{name} lasts {facts.duration:.0f} seconds; Pinterest takes videos from 4 "
                    "seconds to 15 minutes.",
                )
            )
    if len(media.alt_text) > ALT_MAX:
        problems.append(
            Problem(
                "media",
                f"The alt text of {name} has {len(media.alt_text)} characters; Pinterest "
                f"takes up to {ALT_MAX}.",
            )
        )
    return problems


# -- the connector -------------------------------------------------------------------------


class PinterestConnector(Connector):
    """One board of one Pinterest account."""

    network = NETWORK
    # reference/rate-limits: Standard access allows 100 requests a second per user per app
    # across all endpoints, and per-minute limits per category; Trial access 1,000 requests a
    # day per app. The per-second figure is what one account can count on.
    rate_limits: ClassVar[tuple[RateLimit, ...]] = (
        RateLimit("requests", 100, timedelta(seconds=1)),
    )
    measures = True
    metric_table: ClassVar[tuple[MetricInfo, ...]] = (
        MetricInfo("views", "IMPRESSION (pins/analytics, last 90 days)", "about a day behind"),
        MetricInfo("reposts", "SAVE (pins/analytics, last 90 days)", "about a day behind"),
        MetricInfo(
            "clicks",
            "PIN_CLICK + OUTBOUND_CLICK (pins/analytics, last 90 days)",
            "about a day behind",
        ),
        MetricInfo("followers", "follower_count (user_account)", "current"),
    )
    metric_note = (
        "Pinterest gives no likes, comments or quotes through its API; a pin's numbers cover "
        "the last 90 days (the analytics' longest range)."
    )

    def __init__(
        self,
        credentials: Mapping[str, Any],
        store: Callable[[dict[str, Any]], None] = lambda fresh: None,
        *,
        media_timeout: float = 120.0,
        timeout: float = 30.0,
        poll_interval: float = 3.0,
    ) -> None:
        self.credentials = dict(credentials)
        self.store = store
        self.board_id = str(credentials["board_id"])
        self.media_timeout = media_timeout
        self.timeout = timeout  # seconds for one call (tests shorten it)
        self.poll_interval = poll_interval
        self._api: Api | None = None

    def __repr__(self) -> str:
        return f"<PinterestConnector board {self.board_id}>"

    def api(self) -> Api:
        """The client, with the access token refreshed first when it is about to expire
        (stored at once; a failed refresh stores nothing and raises)."""
        if oauth.needs_refresh(self.credentials):
            fresh = oauth.refresh(NETWORK, self.credentials)
            self.store(fresh)
            self.credentials = fresh
            if self._api is not None:
                self._api.set_header("Authorization", f"Bearer {fresh['access_token']}")
        if self._api is None:
            self._api = client(str(self.credentials["access_token"]), timeout=self.timeout)
        return self._api

    def _read(self, path: str) -> Any:
        return json_of(self.api().call("GET", f"{API}/{path}"), LABEL)

    # -- rules -----------------------------------------------------------------------------

    def cost(self, content: DeliveryContent) -> dict[str, int]:
        videos = sum(1 for m in content.media if m.mime_type in VIDEO_TYPES)
        # The look for an earlier pin, the pin; a video: register, one or more polls.
        return {"requests": 2 + videos * 3}

    def validate(self, content: DeliveryContent) -> list[Problem]:
        if content.action != "post":
            return [Problem("action", "Pinterest has no comments or replies through its API.")]
        problems = []
        if len(content.text) > DESCRIPTION_MAX:
            problems.append(
                Problem(
                    "text",
                    f"The description has {len(content.text)} characters; Pinterest takes up "
                    f"to {DESCRIPTION_MAX}. Shorten it by {len(content.text) - DESCRIPTION_MAX}.",
                )
            )
        if content.thread:
            problems.append(
                Problem("thread", "Pinterest has no threads: a pin has one description.")
            )
        if content.first_comment:
            problems.append(
                Problem(
                    "first_comment",
                    "Pinterest's API cannot comment: remove the first comment for this channel.",
                )
            )
        media = list(content.media)
        videos = [m for m in media if m.mime_type in VIDEO_TYPES]
        if not media:
            problems.append(Problem("media", "A pin needs an image or a video: add one."))
        elif videos and len(media) > 1:
            problems.append(Problem("media", "A video pin has one video and nothing else."))
        elif len(media) > CAROUSEL[1]:
            problems.append(
                Problem(
                    "media",
                    f"A pin takes up to {CAROUSEL[1]} images; remove {len(media) - CAROUSEL[1]}.",
                )
            )
        for item in media:
            problems.extend(media_problems(item))
        if content.link is not None:
            if len(content.link.url) > LINK_MAX:
                problems.append(
                    Problem("link", f"Pinterest takes links up to {LINK_MAX} characters.")
                )
            if len(content.link.title) > TITLE_MAX:
                problems.append(
                    Problem(
                        "link",
                        f"The pin's title (the link's title) takes up to {TITLE_MAX} characters.",
                    )
                )
        return problems

    # -- publishing ------------------------------------------------------------------------

    def publish(self, content: DeliveryContent, idempotency_key: str) -> Published:
        try:
            return self._publish(content, idempotency_key)
        except OSError as error:  # a media file gone from disk since it was checked
            name = str(error.filename).rsplit("/", 1)[-1] if error.filename else "a media file"
            raise ConnectorError(f"{name} cannot be read.", permanent=True) from error

    def _publish(self, content: DeliveryContent, idempotency_key: str) -> Published:
        if content.action != "post":
            raise ConnectorError(self.validate(content)[0].message, permanent=True)
        if content.first_comment:
            raise ConnectorError(
                "Pinterest's API cannot comment: remove the first comment for this channel.",
                permanent=True,
            )
        found = self.find_published(idempotency_key, content)
        if found is not None:
            return found
        body: dict[str, Any] = {
            "board_id": self.board_id,
            "description": content.text,
            "note": MARKER + idempotency_key,
            "media_source": self._media_source(content.media),
        }
        if content.media and content.media[0].alt_text:
            body["alt_text"] = content.media[0].alt_text[:ALT_MAX]
        if content.link is not None:
            body["link"] = content.link.url
            if content.link.title:
                body["title"] = content.link.title[:TITLE_MAX]
        pin = json_of(self.api().call("POST", f"{API}/pins", json=body), LABEL)
        return Published(str(pin["id"]), pin_url(str(pin["id"])))

    def _media_source(self, media: Sequence[MediaFile]) -> dict[str, Any]:
        if not media:
            raise ConnectorError("A pin needs an image or a video.", permanent=True)
        if media[0].mime_type in VIDEO_TYPES:
            return {
                "source_type": "video_id",
                "media_id": self._upload_video(media[0]),
                "cover_image_key_frame_time": 0,
            }
        if len(media) == 1:
            return {
                "source_type": "image_base64",
                "content_type": media[0].mime_type,
                "data": _b64(media[0]),
            }
        return {
            "source_type": "multiple_image_base64",
            "items": [{"content_type": m.mime_type, "data": _b64(m)} for m in media],
        }

    def _upload_video(self, media: MediaFile) -> str:
        """Register, upload, wait for ``succeeded``. Nothing here makes a pin, so a lost
        answer is tried again."""
        try:
            registered = json_of(
                self.api().call("POST", f"{API}/media", json={"media_type": "video"}), LABEL
            )
            media_id = str(registered["media_id"])
            upload_url = str(registered["upload_url"])
            fields = {
                str(k): str(v) for k, v in (registered.get("upload_parameters") or {}).items()
            }
            host = httpx.URL(upload_url).host or ""
            if not any(host == h or host.endswith("." + h) for h in UPLOAD_HOSTS):
                raise ConnectorError(
                    "Pinterest gave an upload address that is not its own.", permanent=True
                )
            # The upload address is a storage bucket: no Pinterest token goes there.
            uploader = Api(NETWORK, LABEL, describe=describe, timeout=self.timeout)
            try:
                with media.path.open("rb") as opened:  # streamed, not read whole
                    uploader.call(
                        "POST",
                        upload_url,
                        data=fields,
                        files={"file": (media.path.name, opened, media.mime_type)},
                    )
            finally:
                uploader.close()
        except OutcomeUnknown as error:
            raise ConnectorError(
                f"Pinterest did not answer the upload of {media.path.name}."
            ) from error
        except (KeyError, TypeError) as error:
            raise ConnectorError(
                "Pinterest's answer to a video upload was not understood."
            ) from error
        deadline = time.monotonic() + self.media_timeout
        while True:
            status = str(self._read(f"media/{media_id}").get("status", ""))
            if status == "succeeded":
                return media_id
            if status == "failed":
                raise ConnectorError(
                    f"Pinterest could not process {media.path.name}. Check the video's format "
                    "(MP4, MOV or M4V), length (4 seconds to 15 minutes) and size.",
                    permanent=True,
                )
            if time.monotonic() >= deadline:
                raise ConnectorError(
                    f"Pinterest is still processing {media.path.name} after "
                    f"{self.media_timeout:g} seconds."
                )
            time.sleep(self.poll_interval)

    def find_published(
        self, idempotency_key: str, content: DeliveryContent | None = None
    ) -> Published | None:
        marker = MARKER + idempotency_key
        wanted = " ".join(content.text.split()) if content is not None else None
        answer = self._read(f"boards/{self.board_id}/pins?page_size=25")
        for pin in answer.get("items") or []:
            if not isinstance(pin, dict):
                continue
            said = " ".join(str(pin.get("description") or "").split())
            if pin.get("note") == marker or (
                wanted and not str(pin.get("note") or "").startswith(MARKER) and said == wanted
            ):
                return Published(str(pin["id"]), pin_url(str(pin["id"])))
        return None

    def _unless_gone(self, method: str, path: str) -> Any:
        """A read or a deletion where a 404 means "no such pin": None then, else the
        answer's JSON ({} when it has none). Deleting twice is harmless, so a lost answer is
        simply tried again."""
        api = self.api()
        try:
            response = api.client.request(method, api.url(f"{API}/{path}"))
        except httpx.HTTPError as error:
            raise ConnectorError("Pinterest did not answer; it will be tried again.") from error
        if response.status_code == 404:
            return None
        api.raise_for(response)
        return json_of(response, LABEL) if response.content else {}

    def delete(self, remote_id: str) -> None:
        if self._unless_gone("DELETE", f"pins/{remote_id}") is None:
            return  # already gone

    def check_connection(self) -> AccountInfo:
        board = self._read(f"boards/{self.board_id}")
        owner = str(
            (board.get("owner") or {}).get("username") or self.credentials.get("username", "")
        )
        name = str(board.get("name") or self.board_id)
        return AccountInfo(self.board_id, f"{owner}/{name}" if owner else name, name)

    # -- metrics ---------------------------------------------------------------------------

    METRIC_TYPES = "IMPRESSION,SAVE,PIN_CLICK,OUTBOUND_CLICK"

    def metrics_cost(self, posts: int, followers: bool = False) -> dict[str, int]:
        return {"requests": posts + (1 if followers else 0)}

    def fetch_metrics(self, remote_ids: Sequence[str]) -> dict[str, Metrics]:
        end = datetime.now(UTC).date()
        start = end - timedelta(days=89)
        found = {}
        for pin_id in remote_ids:
            answer = self._unless_gone(
                "GET",
                f"pins/{pin_id}/analytics?start_date={_day(start)}&end_date={_day(end)}"
                f"&metric_types={self.METRIC_TYPES}&app_types=ALL",
            )
            if answer is None:
                continue  # the pin is gone
            summary = (answer.get("all") or {}).get("summary_metrics") or {}
            clicks = [summary.get(k) for k in ("PIN_CLICK", "OUTBOUND_CLICK")]
            known = [int(c) for c in clicks if isinstance(c, int | float)]
            found[pin_id] = Metrics(
                views=_count(summary.get("IMPRESSION")),
                reposts=_count(summary.get("SAVE")),
                clicks=sum(known) if known else None,
            )
        return found

    def fetch_followers(self) -> int | None:
        return _count(self._read("user_account").get("follower_count"))


def _day(day: date) -> str:
    return day.isoformat()


def _count(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) else None


def _b64(media: MediaFile) -> str:
    return base64.b64encode(media.path.read_bytes()).decode("ascii")


def pin_url(pin_id: str) -> str:
    return f"https://www.pinterest.com/pin/{pin_id}/"
