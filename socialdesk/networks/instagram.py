"""Instagram professional accounts through the Instagram API with Instagram Login (issue 16).

Why this login: Meta recommends the Instagram API with Instagram Login for new apps (it
needs no Facebook Page linked to the account, and since March 2025 it has media insights);
it runs on ``graph.instagram.com``. There is no maintained official Python SDK for it (Meta's
``facebook-business`` SDK is the Marketing API's), so the documented HTTP API is called with
httpx through ``networks.http.Api``, with Meta's error rules (``networks.meta``).

No Instagram server can run here: tested against recorded exchanges written by hand from
Meta's reference (``tests/recordings/instagram/``, served over real HTTP on 127.0.0.1).

Connecting (Business Login for Instagram): the person consents at
``www.instagram.com/oauth/authorize`` (scopes separated by commas; Instagram documents no
PKCE, so none is sent); ``api.instagram.com/oauth/access_token`` trades the code for a
short-lived token (one hour). ``accounts(token)`` trades that for a long-lived token (60 days,
``GET graph.instagram.com/access_token?grant_type=ig_exchange_token``) and reads whose
account it is (``GET /me``). Instagram gives no refresh token: a long-lived token is refreshed
with itself (``GET graph.instagram.com/refresh_access_token?grant_type=ig_refresh_token``,
allowed once it is a day old), which ``build`` does when it has less than ``REFRESH_BEFORE``
left; a refused refresh stores nothing and the channel needs reconnecting once the token
expires.

Publishing, Instagram's own container flow: each image or video becomes a media container
(``POST /{ig-user-id}/media`` with ``image_url``/``video_url``: Instagram fetches the file
itself, so media go out as public addresses of Socialdesk's media library,
``http.public_media_url``);
a carousel (2 to 10 items) is child containers (``is_carousel_item``) then a ``CAROUSEL``
container naming them; a lone video is a reel (``media_type=REELS``). Containers are polled
(``GET /{container-id}?fields=status_code,status``: IN_PROGRESS, FINISHED, ERROR, EXPIRED) for
at most ``media_timeout`` seconds; one that fails processing is a permanent error with
Instagram's words. Then ``POST /{ig-user-id}/media_publish`` and, when there is one, the
first comment (``POST /{media-id}/comments``). Images carry their alt text (``alt_text``,
image containers only: Instagram takes none for reels).

Exactly once, as far as Instagram allows: it has no idempotency key. Creating containers is
harmless to repeat (unpublished containers expire after 24 hours); ``media_publish`` is the
one step that makes a post, so any failure after it was sent whose outcome is unclear (a
timeout, or a 5xx) is ``OutcomeUnknown``, and the engine reconciles with ``find_published``
before any retry: the account's recent media (``GET /{ig-user-id}/media``) matched by their
caption within ``RECONCILE_WINDOW``. A heuristic, said plainly: two posts with the same
caption within the window are indistinguishable. A first comment that fails after the post
went out is retried by the same worker without publishing again (the connector remembers what
it published for each key, and looks for the comment before writing it); a retry in another
process reconciles first, through the engine.

Not done: collaborators (``collaborators`` on a container) need a per-post list that
``DeliveryContent`` does not carry; deleting a post: the Instagram API with Instagram Login
has no delete for media, so ``delete`` says to delete it in the app. Stories are not
published.

Reading: comments on the account's ``INBOX_MEDIA`` most recent posts (``GET /{media-id}/
comments`` with their replies), and the media the account is tagged in (``GET
/{ig-user-id}/tags``) where the app may read it (webhooks, Meta's usual way to hear about
mentions, cannot reach a server that is polled here). Replies (``POST /{comment-id}/
replies``; Instagram threads replies one level deep, so a reply to a reply answers its
top-level comment), hide and unhide (``POST /{comment-id}?hide=``) and delete a comment.
Metrics: ``GET /{media-id}/insights`` with the names the reference lists today; Meta
deprecated ``impressions`` (and ``plays``) in April 2025 in favour of ``views``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import httpx
from django.conf import settings

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
from .http import Api, OutcomeUnknown, json_of, public_media_url

NETWORK = "instagram"
LABEL = "Instagram"
GRAPH_VERSION = meta.GRAPH_VERSION
HOST = "https://graph.instagram.com"
GRAPH = f"{HOST}/{GRAPH_VERSION}"
REFERENCE = "https://developers.facebook.com/docs/instagram-platform/content-publishing/"

# Least privilege: no direct messages (the inbox does not read them), insights for metrics.
SCOPES = (
    "instagram_business_basic",
    "instagram_business_content_publish",
    "instagram_business_manage_comments",
    "instagram_business_manage_insights",
)

OAUTH = oauth.OAuthSpec(
    authorize_url="https://www.instagram.com/oauth/authorize",
    token_url="https://api.instagram.com/oauth/access_token",  # noqa: S106 (an address)
    scopes=SCOPES,
    pkce=False,  # Business Login for Instagram documents no PKCE
    scope_separator=",",
)

NO_ACCOUNT = (
    "This Instagram login opens no professional account. Switch the account to a business or "
    "creator account in the Instagram app, then connect again."
)

ABOUT = NetworkAbout(
    network=NETWORK,
    connect="oauth",
    text_max=2200,
    text_unit="codepoints",
    operator_setup=(
        "Create a Business app on developers.facebook.com, add the Instagram product with "
        "“API setup with Instagram login”, register the redirect address shown here under "
        "Business login settings, and request Advanced Access (App Review) for "
        "instagram_business_basic, instagram_business_content_publish, "
        "instagram_business_manage_comments and "
        "instagram_business_manage_insights. Set INSTAGRAM_CLIENT_ID to the Instagram app ID "
        "and INSTAGRAM_CLIENT_SECRET (or INSTAGRAM_CLIENT_SECRET_FILE) to its secret. "
        "Instagram fetches every photo and video from this server's address (SITE_URL, "
        "under /media/): the server must be reachable from the internet over https."
    ),
    accounts=(
        "Instagram professional accounts (business or creator); no Facebook Page needed. "
        "Personal accounts cannot be published to through the API."
    ),
    tested="Recorded exchanges written from Meta's Instagram Platform reference, served over "
    "real HTTP.",
    reads=(
        "Comments (and their replies) on the account's recent posts and the posts it is tagged "
        "in, into the inbox; replies, hide and delete of comments. Post insights: views, reach, "
        "likes, comments, saves, shares (Meta replaced “impressions” and “plays” with “views” "
        "in 2025), and followers. No direct messages."
    ),
    reference=REFERENCE,
)

# -- Instagram's rules (content publishing guide and IG User Media reference, 2026-12-07) -----

MAX_CAPTION = 2200
MAX_HASHTAGS = 30
MAX_MENTIONS = 20
MAX_CAROUSEL = 10
MIN_CAROUSEL = 2
IMAGE_TYPES = ("image/jpeg",)  # "JPEG is the only image format supported"
VIDEO_TYPES = ("video/mp4", "video/quicktime")
MAX_IMAGE_BYTES = 8 * 1024 * 1024
MIN_RATIO, MAX_RATIO = 4 / 5, 1.91  # width / height, "within a 4:5 to 1.91:1 range"
# Width outside 320–1440 px is scaled by Instagram, not refused: not a problem here.
MAX_REEL_BYTES = 300 * 1024 * 1024
MIN_VIDEO_SECONDS = 3.0
MAX_REEL_SECONDS = 15 * 60.0
MAX_CAROUSEL_VIDEO_SECONDS = 60.0
MAX_CAROUSEL_VIDEO_BYTES = 100 * 1024 * 1024

LONG_LIVED = timedelta(days=60)
REFRESH_BEFORE = timedelta(days=7)
REFRESH_AFTER = timedelta(hours=24)  # Instagram refreshes only tokens at least a day old
RECONCILE_WINDOW = timedelta(days=2)
INBOX_MEDIA = 10  # recent posts whose comments are read
# Instagram error subcode for "the account reached its content publishing limit".
PUBLISHING_LIMIT_SUBCODE = 2207042
_HASHTAG = re.compile(r"(?<!\w)#\w+")
_MENTION = re.compile(r"(?<![\w@])@[\w.]+")


def _limited(response: httpx.Response) -> bool:
    error = meta.error_of(response)
    return meta.limited(response) or error.get("error_subcode") == PUBLISHING_LIMIT_SUBCODE


def _api(access_token: str, **kwargs: Any) -> Api:
    return Api(
        NETWORK,
        LABEL,
        headers={"Authorization": f"Bearer {access_token}"},
        describe=meta.describe,
        reset_at=meta.reset_at,
        revoked=meta.revoked,
        limited=_limited,
        **kwargs,
    )


# -- connecting ---------------------------------------------------------------------------


def _token_call(path: str, params: dict[str, str]) -> dict[str, Any]:
    """A GET on ``graph.instagram.com`` that takes the token as a query parameter (how the
    reference documents the token exchange and refresh); the JSON answer or ConnectorError."""
    api = Api(NETWORK, LABEL, describe=meta.describe, revoked=meta.revoked, limited=_limited)
    try:
        body = json_of(api.call("GET", f"{HOST}/{path}", params=params), LABEL)
    finally:
        api.close()
    if not isinstance(body, dict) or not body.get("access_token"):
        raise ConnectorError("Instagram answered without an access token.", auth_revoked=True)
    return body


def long_lived(short_token: str) -> dict[str, Any]:
    """Trade a short-lived token (one hour) for a long-lived one (60 days)."""
    app = oauth.app_for(NETWORK)
    if app is None:
        raise ConnectorError(oauth.not_configured(NETWORK), permanent=True)
    answer = _token_call(
        "access_token",
        {
            "grant_type": "ig_exchange_token",
            "client_secret": app["client_secret"],
            "access_token": short_token,
        },
    )
    return _expiring(answer)


def _expiring(answer: Mapping[str, Any]) -> dict[str, Any]:
    now = time.time()
    expires_in = answer.get("expires_in")
    seconds = float(expires_in) if isinstance(expires_in, int | float) else LONG_LIVED.seconds
    return {"access_token": str(answer["access_token"]), "expires_at": now + seconds, "since": now}


def refresh_token(credentials: Mapping[str, Any]) -> dict[str, Any]:
    """The stored credentials with a refreshed long-lived token; raises ConnectorError (and
    the caller stores nothing)."""
    answer = _token_call(
        "refresh_access_token",
        {"grant_type": "ig_refresh_token", "access_token": str(credentials["access_token"])},
    )
    return {**credentials, **_expiring(answer)}


def _profile(api: Api) -> dict[str, Any]:
    body = json_of(
        api.call("GET", f"{GRAPH}/me", params={"fields": "user_id,username,name,account_type"}),
        LABEL,
    )
    return body if isinstance(body, dict) else {}


def accounts(token: dict[str, Any]) -> list[oauth.Account]:
    """The professional account the consent opened (Instagram Login opens exactly one), with
    a long-lived token."""
    short = str(token.get("access_token") or "")
    fresh = long_lived(short)
    api = _api(fresh["access_token"])
    try:
        profile = _profile(api)
    finally:
        api.close()
    user_id = str(profile.get("user_id") or profile.get("id") or token.get("user_id") or "")
    username = str(profile.get("username") or "")
    if not user_id or not username:
        return []
    credentials = {**fresh, "ig_user_id": user_id, "username": username}
    info = AccountInfo(user_id, f"@{username}", str(profile.get("name") or username))
    return [oauth.Account(info, credentials)]


def build(credentials: dict[str, Any], store: Callable[[dict[str, Any]], None]) -> Connector | None:
    """The channel's connector, or None without a token and an account id. Refreshes a
    long-lived token with less than ``REFRESH_BEFORE`` left (stored through ``store``)."""
    if not credentials.get("access_token") or not credentials.get("ig_user_id"):
        return None
    return InstagramConnector(credentials, store)


# -- media --------------------------------------------------------------------------------


def _image_size(path: Path) -> tuple[int, int] | None:
    from PIL import Image

    try:
        with Image.open(path) as image:
            return image.size
    except OSError:
        return None


def _video_facts(path: Path) -> tuple[float | None, float | None]:
    """(seconds, width/height) from ffprobe when the server has it; (None, None) otherwise."""
    ffprobe = shutil.which("ffprobe")
    if ffprobe is None:
        return None, None
    command = [
        ffprobe,
        *("-v", "error", "-print_format", "json", "-show_format"),
        *("-show_entries", "stream=width,height", "-select_streams", "v:0"),
        str(path),
    ]
    try:
        done = subprocess.run(command, capture_output=True, timeout=30, check=False)  # noqa: S603
        report = json.loads(done.stdout or b"{}")
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return None, None
    try:
        seconds: float | None = float(report["format"]["duration"])
    except (KeyError, TypeError, ValueError):
        seconds = None
    streams = report.get("streams") or [{}]
    width, height = streams[0].get("width"), streams[0].get("height")
    ratio = (
        width / height if isinstance(width, int) and isinstance(height, int) and height else None
    )
    return seconds, ratio


def media_problems(media: MediaFile) -> list[Problem]:
    """Instagram's rules for one file as a post of its own (an image, or a reel)."""
    return _file_problems(media, in_carousel=False)


def _named(media: MediaFile) -> str:
    """How people know the file: its alt text when it has one (the stored name is a
    checksum), else its name."""
    alt = " ".join(media.alt_text.split())
    if alt:
        return f"“{alt[:40]}…”" if len(alt) > 40 else f"“{alt}”"
    return media.path.name


def _file_problems(media: MediaFile, *, in_carousel: bool) -> list[Problem]:
    name = _named(media)
    try:
        size = media.size
    except OSError:
        return [Problem("media", f"{name} cannot be read.")]
    if media.mime_type in IMAGE_TYPES:
        return _image_problems(media, name, size)
    if media.mime_type in VIDEO_TYPES:
        return _video_problems(media, name, size, in_carousel)
    return [
        Problem(
            "media",
            f"{name} is a {_kind(media.mime_type)} file; Instagram takes JPEG images (save it "
            "as a .jpg) and MP4 or MOV videos.",
        )
    ]


def _kind(mime_type: str) -> str:
    """``image/png`` → "PNG"."""
    return mime_type.rpartition("/")[2].upper() or mime_type


def _image_problems(media: MediaFile, name: str, size: int) -> list[Problem]:
    problems = []
    if size > MAX_IMAGE_BYTES:
        problems.append(
            Problem(
                "media",
                f"{name} is {size / 1_048_576:.1f} MB; Instagram takes images up to 8 MB.",
            )
        )
    dimensions = _image_size(media.path)
    if dimensions is None:
        problems.append(Problem("media", f"{name} cannot be read as an image."))
    else:
        width, height = dimensions
        ratio = width / height if height else 0
        if not MIN_RATIO - 0.005 <= ratio <= MAX_RATIO + 0.005:
            problems.append(
                Problem(
                    "media",
                    f"{name} is {width}×{height}; Instagram takes images from 4:5 (portrait) "
                    "to 1.91:1 (landscape): crop it.",
                )
            )
    return problems


def _video_problems(media: MediaFile, name: str, size: int, in_carousel: bool) -> list[Problem]:
    problems = []
    limit = MAX_CAROUSEL_VIDEO_BYTES if in_carousel else MAX_REEL_BYTES
    longest = MAX_CAROUSEL_VIDEO_SECONDS if in_carousel else MAX_REEL_SECONDS
    what = "a video in a carousel" if in_carousel else "a reel"
    if size > limit:
        problems.append(
            Problem(
                "media",
                f"{name} is {size / 1_048_576:.0f} MB; Instagram takes {what} up to "
                f"{limit // 1_048_576} MB.",
            )
        )
    seconds, _ratio = _video_facts(media.path)
    if seconds is not None and not MIN_VIDEO_SECONDS <= seconds <= longest:
        problems.append(
            Problem(
                "media",
                f"{name} lasts {seconds:.1f} s; Instagram takes {what} from 3 seconds to "
                + ("60 seconds." if in_carousel else "15 minutes."),
            )
        )
    return problems


def _site_hint() -> str:
    host = httpx.URL(settings.SITE_URL).host
    if host in ("localhost", "127.0.0.1", "::1") or host.endswith((".local", ".localhost")):
        return (
            f" Instagram fetches media from {settings.SITE_URL}, which is not reachable from "
            "the internet: set SITE_URL to the server's public address."
        )
    return ""


def _comparable(text: str) -> str:
    return " ".join(text.split())


def _parse_time(value: Any) -> datetime | None:
    """Instagram's timestamps (``2026-12-07T10:00:00+0000``) as aware UTC datetimes."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        try:
            return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z").astimezone(UTC)
        except ValueError:
            return None


# -- the connector --------------------------------------------------------------------------


class InstagramConnector(Connector):
    """One Instagram professional account. Not thread-safe: one per worker thread (the
    engine keeps one per thread and channel)."""

    network = NETWORK
    # Content publishing limit (IG User Content Publishing Limit reference): 100 API-published
    # posts per rolling 24 hours (a carousel counts as one). Meta's platform limit for
    # Instagram Login apps is counted per app and account over an hour; 200 calls an hour is
    # the conservative figure its rate-limiting page gives for a small account.
    rate_limits: ClassVar[tuple[RateLimit, ...]] = (
        RateLimit("posts", 100, timedelta(hours=24)),
        RateLimit("calls", 200, timedelta(hours=1)),
    )
    reads = True
    measures = True
    metric_table: ClassVar[tuple[MetricInfo, ...]] = (
        MetricInfo("views", "views (media insights)", "about 48 hours behind at most"),
        MetricInfo("likes", "likes (media insights)", "near real time"),
        MetricInfo("replies", "comments (media insights)", "near real time"),
        MetricInfo("reposts", "shares (media insights)", "near real time"),
        MetricInfo("followers", "followers_count (IG User)", "near real time"),
    )
    metric_note = (
        "Instagram gives no link clicks or quotes for a post. Reach, saves and total "
        "interactions are read too but not charted. Meta retired “impressions” and “plays” in "
        "2025: “views” replaces both."
    )

    def __init__(
        self,
        credentials: Mapping[str, Any],
        store: Callable[[dict[str, Any]], None] | None = None,
        *,
        media_timeout: float = 120.0,
        poll_interval: float = 5.0,
    ) -> None:
        self.credentials = dict(credentials)
        self.store = store
        self.ig_user_id = str(credentials["ig_user_id"])
        self.username = str(credentials.get("username") or "")
        self.media_timeout = media_timeout
        self.poll_interval = poll_interval
        self._api: Api | None = None
        self._lock = threading.Lock()
        # What this connector already did per idempotency key: the container it made and the
        # post it published, so a retry resumes instead of publishing again.
        self._containers: dict[str, tuple[str, float]] = {}
        self._published: dict[str, Published] = {}

    def __repr__(self) -> str:
        return f"<InstagramConnector {self.ig_user_id}>"

    # -- token --------------------------------------------------------------------------

    def api(self) -> Api:
        """The client, after refreshing a token that expires within ``REFRESH_BEFORE``."""
        with self._lock:
            self._refresh_if_due()
            if self._api is None:
                self._api = _api(str(self.credentials["access_token"]))
            return self._api

    def _refresh_if_due(self) -> None:
        expires_at = self.credentials.get("expires_at")
        if not isinstance(expires_at, int | float):
            return
        now = time.time()
        if expires_at - now > REFRESH_BEFORE.total_seconds():
            return
        since = self.credentials.get("since")
        if isinstance(since, int | float) and now - since < REFRESH_AFTER.total_seconds():
            return  # too young to refresh; Instagram would refuse
        try:
            fresh = refresh_token(self.credentials)
        except ConnectorError:
            if expires_at > now:
                return  # still valid: use it, try the refresh again next time
            raise
        self.credentials = fresh
        if self._api is not None:
            self._api.set_header("Authorization", f"Bearer {fresh['access_token']}")
        if self.store is not None:
            self.store(fresh)

    def _get(self, path: str, **params: Any) -> Any:
        return json_of(self.api().call("GET", f"{GRAPH}/{path}", params=params), LABEL)

    def _post(self, path: str, data: Mapping[str, Any]) -> Any:
        return json_of(self.api().call("POST", f"{GRAPH}/{path}", data=dict(data)), LABEL)

    # -- rules --------------------------------------------------------------------------

    def cost(self, content: DeliveryContent) -> dict[str, int]:
        if not content.is_write_of_text or content.reply_to is not None:
            return {"calls": 1}
        items = len(content.media)
        containers = items + (1 if items > 1 else 0)
        # Each container is made and looked at; then the limit, the publish, the permalink,
        # and for a first comment a look for it (a retry) and the comment.
        calls = 2 * containers + 3 + (2 if content.first_comment else 0)
        return {"posts": 1, "calls": calls}

    def validate(self, content: DeliveryContent) -> list[Problem]:
        if not content.is_write_of_text:
            return self.action_problems(content)
        if content.reply_to is not None:
            return self._reply_problems(content)
        problems = _caption_problems("text", content.text, "The caption")
        if content.first_comment:
            problems += _caption_problems(
                "first_comment", content.first_comment, "The first comment"
            )
        if content.thread:
            problems.append(
                Problem(
                    "thread",
                    "Instagram has no threads: put everything in the caption, or use the first "
                    "comment.",
                )
            )
        media = list(content.media)
        if not media:
            problems.append(Problem("media", "Instagram posts need a photo or a video."))
        if len(media) > MAX_CAROUSEL:
            problems.append(
                Problem(
                    "media",
                    f"An Instagram carousel takes up to {MAX_CAROUSEL} photos or videos; this "
                    f"post has {len(media)}.",
                )
            )
        in_carousel = len(media) >= MIN_CAROUSEL
        for item in media:
            problems += _file_problems(item, in_carousel=in_carousel)
            if public_media_url(item.path) is None:
                problems.append(
                    Problem(
                        "media",
                        f"{_named(item)} is not in the media library, so Instagram cannot "
                        "fetch it.",
                    )
                )
        return problems

    def _reply_problems(self, content: DeliveryContent) -> list[Problem]:
        target = content.target
        problems = _caption_problems("text", content.text, "The reply")
        if not content.text.strip():
            problems.append(Problem("text", "Write the reply."))
        if target.get("mention"):
            problems.append(
                Problem(
                    "target",
                    "Instagram lets you answer a post you are tagged in only in the app.",
                )
            )
        elif not _comment_id(target):
            problems.append(Problem("target", "The answered comment has no Instagram id."))
        return problems

    def action_problems(self, content: DeliveryContent) -> list[Problem]:
        if content.action == "like":
            return [Problem("action", "Instagram's API cannot like a comment: like it in the app.")]
        if content.action not in ("hide", "unhide", "delete"):
            return [Problem("action", f"Instagram cannot {content.action}.")]
        if content.target.get("mention"):
            return [Problem("target", "A post you are tagged in is not yours to hide or delete.")]
        if not _comment_id(content.target):
            return [Problem("target", "The comment has no Instagram id.")]
        return []

    # -- publishing ---------------------------------------------------------------------

    def publish(self, content: DeliveryContent, idempotency_key: str) -> Published:
        problems = self.validate(content)
        if problems:
            raise ConnectorError(" ".join(str(p) for p in problems), permanent=True)
        if not content.is_write_of_text:
            return self._act(content)
        if content.reply_to is not None:
            return self._reply(content)
        published = self._published.get(idempotency_key)
        if published is None:
            self._check_quota()
            creation_id = self._container_for(content, idempotency_key)
            published = self._publish_container(creation_id)
            self._published[idempotency_key] = published
            self._containers.pop(idempotency_key, None)
        if content.first_comment:
            self._first_comment(published.remote_id, content.first_comment)
        return published

    def _check_quota(self) -> None:
        """Refuse early when the account used its publishing limit (saves making containers
        Instagram would not publish)."""
        body = self._get(f"{self.ig_user_id}/content_publishing_limit", fields="quota_usage,config")
        data = body.get("data") if isinstance(body, dict) else None
        if not data:
            return
        entry = data[0] if isinstance(data[0], dict) else {}
        config = entry.get("config") or {}
        total = config.get("quota_total")
        used = entry.get("quota_usage")
        if isinstance(total, int) and isinstance(used, int) and used >= total:
            window = config.get("quota_duration") or 86400
            raise ConnectorError(
                f"Instagram's limit of {total} posts a day through the API is used up "
                f"({used} in the last {int(window) // 3600} hours); it will be tried again later.",
                retry_after=datetime.now(UTC) + timedelta(hours=1),
            )

    def _container_for(self, content: DeliveryContent, key: str) -> str:
        """The container to publish: made now, or the one a previous attempt made (within
        its 24 hours)."""
        kept = self._containers.get(key)
        if kept is not None and time.time() - kept[1] < 23 * 3600:
            return kept[0]
        media = list(content.media)
        if len(media) == 1:
            creation_id = self._item_container(media[0], caption=content.text)
        else:
            children = [self._item_container(item, carousel=True) for item in media]
            for child in children:
                self._wait_finished(child)
            creation_id = self._make(
                {
                    "media_type": "CAROUSEL",
                    "children": ",".join(children),
                    "caption": content.text,
                }
            )
        self._wait_finished(creation_id)
        self._containers[key] = (creation_id, time.time())
        return creation_id

    def _item_container(
        self, media: MediaFile, *, caption: str = "", carousel: bool = False
    ) -> str:
        url = public_media_url(media.path)
        data: dict[str, Any] = {}
        if media.mime_type in IMAGE_TYPES:
            data["image_url"] = url
            if media.alt_text.strip():
                data["alt_text"] = media.alt_text.strip()
        else:
            data["media_type"] = "VIDEO" if carousel else "REELS"
            data["video_url"] = url
        if carousel:
            data["is_carousel_item"] = "true"
        else:
            data["caption"] = caption
        return self._make(data)

    def _make(self, data: dict[str, Any]) -> str:
        try:
            body = self._post(f"{self.ig_user_id}/media", data)
        except OutcomeUnknown as error:
            # A container is not a post: making another is harmless.
            raise ConnectorError(
                "Instagram did not answer while preparing the media; it will be tried again."
            ) from error
        except ConnectorError as error:
            if error.permanent and not error.auth_revoked:
                raise ConnectorError(error.message + _site_hint(), permanent=True) from None
            raise
        creation_id = str(body.get("id") or "") if isinstance(body, dict) else ""
        if not creation_id:
            raise ConnectorError("Instagram made a media container without an id.")
        return creation_id

    def _wait_finished(self, creation_id: str) -> None:
        """Poll the container until FINISHED, for at most ``media_timeout`` seconds."""
        deadline = time.monotonic() + self.media_timeout
        while True:
            body = self._get(creation_id, fields="status_code,status")
            state = str(body.get("status_code") or "") if isinstance(body, dict) else ""
            if state in ("FINISHED", "PUBLISHED"):
                return
            if state in ("ERROR", "EXPIRED"):
                said = str(body.get("status") or "") if isinstance(body, dict) else ""
                what = "expired before it was published" if state == "EXPIRED" else "failed"
                raise ConnectorError(
                    f"Instagram could not process the media: the container {what}"
                    + (f" ({said})" if said else "")
                    + "."
                    + (_site_hint() if state == "ERROR" else ""),
                    permanent=True,
                )
            if time.monotonic() + self.poll_interval > deadline:
                raise ConnectorError(
                    "Instagram is still processing the media; it will be tried again."
                )
            time.sleep(self.poll_interval)

    def _publish_container(self, creation_id: str) -> Published:
        try:
            body = self._post(f"{self.ig_user_id}/media_publish", {"creation_id": creation_id})
        except ConnectorError as error:
            if error.permanent or error.rate_limited:
                raise
            # A 5xx after the publish was sent: the post may exist.
            raise OutcomeUnknown(
                f"{error.message} Whether Instagram published it is checked before any retry."
            ) from error
        media_id = str(body.get("id") or "") if isinstance(body, dict) else ""
        if not media_id:
            raise OutcomeUnknown("Instagram answered the publish without the post's id.")
        return Published(media_id, self._permalink(media_id))

    def _permalink(self, media_id: str) -> str:
        try:
            body = self._get(media_id, fields="permalink")
        except ConnectorError:
            return ""  # the post is out; its address is a nicety
        return str(body.get("permalink") or "") if isinstance(body, dict) else ""

    def _first_comment(self, media_id: str, text: str) -> None:
        if self._our_comment(f"{media_id}/comments", text) is not None:
            return
        try:
            self._post(f"{media_id}/comments", {"message": text})
        except OutcomeUnknown as error:
            raise ConnectorError(
                "Instagram did not answer while adding the first comment; it will be tried "
                "again (the post is published)."
            ) from error

    def _our_comment(self, path: str, text: str) -> str | None:
        """The id of our comment with this text under ``path`` (comments or replies)."""
        body = self._get(path, fields="id,text,username", limit=50)
        wanted = _comparable(text)
        for comment in (body.get("data") or []) if isinstance(body, dict) else []:
            if not isinstance(comment, dict):
                continue
            mine = not self.username or comment.get("username") == self.username
            if mine and _comparable(str(comment.get("text") or "")) == wanted:
                return str(comment.get("id") or "")
        return None

    def _reply(self, content: DeliveryContent) -> Published:
        comment_id = _comment_id(content.target, top_level=True)
        body = self._post(f"{comment_id}/replies", {"message": content.text})
        reply_id = str(body.get("id") or "") if isinstance(body, dict) else ""
        return Published(reply_id, "")

    def _act(self, content: DeliveryContent) -> Published:
        comment_id = _comment_id(content.target)
        if content.action == "delete":
            try:
                self.api().call("DELETE", f"{GRAPH}/{comment_id}")
            except ConnectorError as error:
                if not _gone(error):
                    raise
            return Published(comment_id, "")
        hide = "true" if content.action == "hide" else "false"
        self._post(comment_id, {"hide": hide})
        return Published(comment_id, "")

    def find_published(
        self, idempotency_key: str, content: DeliveryContent | None = None
    ) -> Published | None:
        """Instagram has no idempotency keys: the account's recent posts of the last
        ``RECONCILE_WINDOW`` (newest first) whose caption is this content's; for a reply, our
        reply with its text under the comment; for a hide, whether the comment is hidden."""
        if idempotency_key in self._published:
            return self._published[idempotency_key]
        if content is None:
            return None
        if not content.is_write_of_text:
            return self._find_act(content)
        if content.reply_to is not None:
            comment_id = _comment_id(content.target, top_level=True)
            found = self._our_comment(f"{comment_id}/replies", content.text)
            return Published(found, "") if found else None
        wanted = _comparable(content.text)
        since = datetime.now(UTC) - RECONCILE_WINDOW
        body = self._get(
            f"{self.ig_user_id}/media", fields="id,caption,timestamp,permalink", limit=25
        )
        for item in (body.get("data") or []) if isinstance(body, dict) else []:
            posted = _parse_time(item.get("timestamp"))
            if posted is not None and posted < since:
                return None
            if _comparable(str(item.get("caption") or "")) == wanted:
                return Published(str(item["id"]), str(item.get("permalink") or ""))
        return None

    def _find_act(self, content: DeliveryContent) -> Published | None:
        comment_id = _comment_id(content.target)
        try:
            body = self._get(comment_id, fields="id,hidden")
        except ConnectorError as error:
            if _gone(error):
                return Published(comment_id, "") if content.action == "delete" else None
            raise
        if content.action == "delete":
            return None
        hidden = bool(body.get("hidden")) if isinstance(body, dict) else False
        return Published(comment_id, "") if hidden == (content.action == "hide") else None

    def delete(self, remote_id: str) -> None:
        raise ConnectorError(
            "Instagram's API cannot delete a post: delete it in the Instagram app (the post's "
            "“…” menu, then Delete).",
            permanent=True,
        )

    def check_connection(self) -> AccountInfo:
        profile = _profile(self.api())
        username = str(profile.get("username") or self.username)
        return AccountInfo(
            str(profile.get("user_id") or self.ig_user_id),
            f"@{username}",
            str(profile.get("name") or username),
        )

    # -- reading ------------------------------------------------------------------------

    def read_cost(self) -> dict[str, int]:
        return {"calls": 2}

    def fetch_inbox(self, cursor: str, since: datetime) -> InboxPage:
        """Comments on the ``INBOX_MEDIA`` latest posts and posts the account is tagged in,
        made at or after the cursor (the newest time already read) and not before ``since``.
        Items of the cursor's own second come again; the inbox keeps them once by id."""
        after = _parse_time(cursor) or since
        after = max(after, since)
        spent = 1
        body = self._get(
            f"{self.ig_user_id}/media",
            fields="id,timestamp,permalink,comments_count",
            limit=INBOX_MEDIA,
        )
        items: list[InboxItem] = []
        for media in (body.get("data") or []) if isinstance(body, dict) else []:
            if not media.get("comments_count"):
                continue
            spent += 1
            items += self._comments_of(media, after)
        spent += 1
        items += self._mentions(after)
        items.sort(key=lambda item: item.sent_at)
        newest = max((item.sent_at for item in items), default=after)
        return InboxPage(items, newest.isoformat(), {"calls": spent})

    def _comments_of(self, media: Mapping[str, Any], after: datetime) -> list[InboxItem]:
        media_id = str(media["id"])
        fields = (
            "id,text,timestamp,username,from,hidden,"
            "replies{id,text,timestamp,username,from,parent_id}"
        )
        body = self._get(f"{media_id}/comments", fields=fields, limit=50)
        found = []
        for comment in (body.get("data") or []) if isinstance(body, dict) else []:
            found.append(self._comment_item(comment, media, parent=""))
            replies = (comment.get("replies") or {}).get("data") or []
            for reply in replies:
                found.append(self._comment_item(reply, media, parent=str(comment["id"])))
        return [item for item in found if item is not None and item.sent_at >= after]

    def _comment_item(
        self, comment: Mapping[str, Any], media: Mapping[str, Any], parent: str
    ) -> InboxItem | None:
        author = comment.get("from") or {}
        username = str(comment.get("username") or author.get("username") or "")
        if username and username == self.username:
            return None  # ours: the engine recorded it when it wrote it
        sent = _parse_time(comment.get("timestamp"))
        if sent is None:
            return None
        media_id = str(media["id"])
        author_id = str(author.get("id") or username)
        return InboxItem(
            remote_id=str(comment["id"]),
            kind=ItemKind.COMMENT,
            thread_key=f"comments:{media_id}:{author_id}",
            author=InboxAuthor(author_id, f"@{username}" if username else "", username),
            text=str(comment.get("text") or ""),
            sent_at=sent,
            remote_url=str(media.get("permalink") or ""),
            reference={
                "id": str(comment["id"]),
                "reply_to": parent or str(comment["id"]),
                "media_id": media_id,
            },
            parent_remote_id=parent,
            our_post_remote_id=media_id,
        )

    def _mentions(self, after: datetime) -> list[InboxItem]:
        """Posts by others the account is tagged in. Where the app may not read them (Meta
        documents the edge for Facebook Login), the inbox goes on with the comments."""
        try:
            body = self._get(
                f"{self.ig_user_id}/tags",
                fields="id,caption,timestamp,permalink,username",
                limit=25,
            )
        except ConnectorError as error:
            if error.permanent and not error.auth_revoked:
                return []
            raise
        found = []
        for media in (body.get("data") or []) if isinstance(body, dict) else []:
            sent = _parse_time(media.get("timestamp"))
            if sent is None or sent < after:
                continue
            username = str(media.get("username") or "")
            found.append(
                InboxItem(
                    remote_id=str(media["id"]),
                    kind=ItemKind.MENTION,
                    thread_key=f"mention:{media['id']}",
                    author=InboxAuthor(username, f"@{username}" if username else "", username),
                    text=str(media.get("caption") or ""),
                    sent_at=sent,
                    remote_url=str(media.get("permalink") or ""),
                    reference={"id": str(media["id"]), "mention": True},
                )
            )
        return found

    # -- measuring ----------------------------------------------------------------------

    def metrics_cost(self, posts: int, followers: bool = False) -> dict[str, int]:
        return {"calls": posts + (1 if followers else 0)}

    def fetch_metrics(self, remote_ids: Sequence[str]) -> dict[str, Metrics]:
        found: dict[str, Metrics] = {}
        for remote_id in remote_ids:
            try:
                body = self._get(
                    f"{remote_id}/insights",
                    metric="views,reach,likes,comments,saved,shares,total_interactions",
                )
            except ConnectorError as error:
                if _gone(error):
                    continue  # deleted in the app: left out
                raise
            values = _insight_values(body)
            found[str(remote_id)] = Metrics(
                likes=values.get("likes"),
                reposts=values.get("shares"),
                replies=values.get("comments"),
                views=values.get("views"),
            )
        return found

    def fetch_followers(self) -> int | None:
        body = self._get("me", fields="followers_count")
        count = body.get("followers_count") if isinstance(body, dict) else None
        return int(count) if isinstance(count, int) else None


def _insight_values(body: Any) -> dict[str, int]:
    values: dict[str, int] = {}
    for entry in (body.get("data") or []) if isinstance(body, dict) else []:
        name = entry.get("name")
        points = entry.get("values") or []
        value = points[0].get("value") if points and isinstance(points[0], dict) else None
        if value is None:
            value = (entry.get("total_value") or {}).get("value")
        if isinstance(name, str) and isinstance(value, int):
            values[name] = value
    return values


def _comment_id(target: Mapping[str, Any], *, top_level: bool = False) -> str:
    if top_level and target.get("reply_to"):
        return str(target["reply_to"])
    return str(target.get("id") or target.get("remote_id") or "")


def _gone(error: ConnectorError) -> bool:
    """Meta's "object does not exist" (code 100, subcode 33) or a 404."""
    return error.permanent and not error.auth_revoked and "does not exist" in error.message


def _caption_problems(field: str, text: str, what: str) -> list[Problem]:
    problems = []
    if len(text) > MAX_CAPTION:
        problems.append(
            Problem(field, f"{what} has {len(text)} characters; Instagram allows {MAX_CAPTION}.")
        )
    hashtags = len(_HASHTAG.findall(text))
    if hashtags > MAX_HASHTAGS:
        problems.append(
            Problem(field, f"{what} has {hashtags} hashtags; Instagram allows {MAX_HASHTAGS}.")
        )
    mentions = len(_MENTION.findall(text))
    if mentions > MAX_MENTIONS:
        problems.append(
            Problem(field, f"{what} names {mentions} accounts; Instagram allows {MAX_MENTIONS}.")
        )
    return problems
