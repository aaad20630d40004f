"""TikTok: videos through the Content Posting API (issue 16, item 5).

From TikTok's reference at developers.tiktok.com/doc (read on 2026-12-07):
``content-posting-api-get-started``, ``content-posting-api-reference-query-creator-info``,
``content-posting-api-reference-direct-post``, ``content-posting-api-reference-upload-video``
(the inbox draft), ``content-posting-api-media-transfer-guide``,
``content-posting-api-reference-get-video-status``, ``tiktok-api-v2-error-handling``,
``display-api-get-started`` (``/v2/video/list/``, ``/v2/video/query/``),
``tiktok-api-v2-get-user-info``, ``oauth-user-access-token-management``, ``login-kit-web``
and ``tiktok-api-scopes``.

TikTok publishes no Python SDK: httpx through ``networks.http.Api``.

Publishing a video, as the account allows (``post_mode`` in the credentials, from the scopes
the person granted):

- ``direct`` (``video.publish``): ``creator_info/query`` first (which privacy levels the
  creator offers, the longest video they may post, whether they can post now), then
  ``video/init`` with ``post_info`` (title, privacy level) and ``source_info`` FILE_UPLOAD,
  the file PUT to ``upload_url`` in chunks with ``Content-Range`` (the media transfer
  guide's rules: 5–64 MB chunks, one chunk under 5 MB, the last one up to 128 MB), then
  ``status/fetch`` until ``PUBLISH_COMPLETE`` (``FAILED`` is permanent, with TikTok's
  ``fail_reason``). The post's id (``publicaly_available_post_id``, spelled so by TikTok)
  comes only after moderation; until then, and for a private post, the delivery's remote id
  is the ``publish_id`` and its URL is empty.
- ``inbox`` (only ``video.upload``, or an unaudited app whose direct posts TikTok refuses):
  ``inbox/video/init`` and the same upload; the video lands in the creator's TikTok inbox as a
  draft (``SEND_TO_USER_INBOX``) that they finish in the app. The delivery is then published
  with the ``publish_id`` as its remote id and **no URL**: the post does not exist until the
  creator posts it.

Photo posts need ``PULL_FROM_URL`` from a domain verified with TikTok, so they are refused.
TikTok has no comments API for apps (no first comment, no inbox), and no delete.

Exactly once: TikTok takes no idempotency key. Each ``publish_id`` is stored with the
channel's credentials under the delivery's key (``pending``) as soon as ``init`` answers,
before any byte is sent: a retry, or ``find_published``, asks ``status/fetch`` for it. A
video has no post until its upload completes, so a lost answer to ``init`` is simply tried
again; a lost answer to the last chunk, or processing that outlasts the wait, is an unknown
outcome, settled later by the stored ``publish_id`` (or, failing that, by the account's
recent videos matched by title).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
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
from .http import Api, OutcomeUnknown, json_of

NETWORK = "tiktok"
LABEL = "TikTok"
API = "https://open.tiktokapis.com/v2"
TITLE_MAX = 2200  # UTF-16 code units (the direct post reference)
VIDEO_TYPES = ("video/mp4", "video/webm", "video/quicktime")
VIDEO_MAX_BYTES = 4 * 1024 * 1024 * 1024
CHUNK = 10 * 1024 * 1024  # within the media transfer guide's 5–64 MB
CHUNK_MIN = 5 * 1024 * 1024
PENDING_KEPT = 20  # publish ids remembered per channel
REVOKED_CODES = frozenset(
    {"access_token_invalid", "scope_not_authorized", "scope_permission_missed"}
)
LIMITED_CODES = frozenset(
    {"rate_limit_exceeded", "spam_risk_too_many_posts", "spam_risk_too_many_pending_share"}
)
# A creator's daily cap is counted over a rolling day: wait an hour before asking again.
DAILY_CAP_WAIT = timedelta(hours=1)
# Direct posts refused because the app is not audited: the draft in the inbox still works.
UNAUDITED = "unaudited_client_can_only_post_to_private_accounts"

ABOUT = NetworkAbout(
    network=NETWORK,
    connect="oauth",
    text_max=TITLE_MAX,
    text_unit="codepoints",
    url_length=0,
    operator_setup=(
        "Create an app at developers.tiktok.com, add Login Kit and the Content Posting API "
        "(with Direct Post enabled to post directly), and submit it for review: until TikTok "
        "audits it, direct posts are private, and Socialdesk sends drafts to the creator's "
        "inbox instead. Scopes: user.info.basic, user.info.profile, user.info.stats, "
        "video.publish, video.upload, video.list. Add the redirect URL shown on this page "
        "under Login Kit → Redirect URI. Set TIKTOK_CLIENT_ID (the client key) and "
        "TIKTOK_CLIENT_SECRET (or TIKTOK_CLIENT_SECRET_FILE)."
    ),
    accounts="Any TikTok account (personal, creator or business) that can post videos.",
    tested="Recorded exchanges written from TikTok's API reference, served over real HTTP.",
    reads=(
        "Analytics: views, likes, comments and shares per public video (/v2/video/query/) "
        "and the account's followers (/v2/user/info/). No inbox: TikTok's public API gives "
        "apps no comments or messages. A draft sent to the inbox has no numbers until the "
        "creator posts it."
    ),
    reference="https://developers.tiktok.com/doc/content-posting-api-reference-direct-post",
)

OAUTH = oauth.OAuthSpec(
    authorize_url="https://www.tiktok.com/v2/auth/authorize/",
    token_url="https://open.tiktokapis.com/v2/oauth/token/",  # noqa: S106
    scopes=(
        "user.info.basic",
        "user.info.profile",
        "user.info.stats",
        "video.publish",
        "video.upload",
        "video.list",
    ),
    # Login Kit for Web sends the client secret; PKCE is for desktop and mobile apps.
    pkce=False,
    scope_separator=",",
    client_id_param="client_key",
)

NO_ACCOUNT = "TikTok did not say which account was connected. Connect again."


# -- errors ----------------------------------------------------------------------------------


def error_of(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def describe(response: httpx.Response) -> str:
    """TikTok's words: ``{"error": {"code", "message", "log_id"}}``."""
    error = error_of(response)
    code = str(error.get("code") or "")
    words = (
        str(error.get("message") or "") or response.reason_phrase or f"HTTP {response.status_code}"
    )
    return f"{words} ({code})" if code and code != "ok" else words


def revoked(response: httpx.Response) -> bool:
    return error_of(response).get("code") in REVOKED_CODES


def limited(response: httpx.Response) -> bool:
    return error_of(response).get("code") in LIMITED_CODES


def reset_at(response: httpx.Response) -> datetime | None:
    """TikTok's limits are per minute per token (``rate_limit_exceeded``: a minute from now)
    and per creator per day (``spam_risk_too_many_posts``: ``DAILY_CAP_WAIT``)."""
    now = datetime.now(UTC)
    if error_of(response).get("code") == "rate_limit_exceeded":
        return now + timedelta(minutes=1)
    return now + DAILY_CAP_WAIT


def client(access_token: str, **kwargs: Any) -> Api:
    return Api(
        NETWORK,
        LABEL,
        headers={"Authorization": f"Bearer {access_token}"},
        describe=describe,
        reset_at=reset_at,
        revoked=revoked,
        limited=limited,
        **kwargs,
    )


def data_of(response: httpx.Response) -> dict[str, Any]:
    """The ``data`` of an answer whose ``error.code`` is ``ok``; any other code, even with a
    200, is TikTok refusing (permanent, in its words)."""
    body = json_of(response, LABEL)
    error = body.get("error") if isinstance(body, dict) else None
    code = str((error or {}).get("code") or "ok")
    if code != "ok":
        raise ConnectorError(f"TikTok said: {describe(response)}.", permanent=True)
    data = body.get("data") if isinstance(body, dict) else None
    return data if isinstance(data, dict) else {}


# -- connecting ----------------------------------------------------------------------------


def _mode(scope: str) -> str:
    granted = {s.strip() for s in scope.replace(" ", ",").split(",")}
    return "direct" if "video.publish" in granted else "inbox"


def accounts(token: dict[str, Any]) -> list[oauth.Account]:
    """The one account that consented: its profile, and how it can post (its scopes)."""
    api = client(str(token["access_token"]))
    try:
        user = (
            data_of(
                api.call(
                    "GET",
                    f"{API}/user/info/?fields=open_id,union_id,avatar_url,display_name,username",
                )
            ).get("user")
            or {}
        )
    finally:
        api.close()
    open_id = str(user.get("open_id") or token.get("open_id") or "")
    if not open_id:
        return []
    username = str(user.get("username") or "")
    credentials = {
        "access_token": token["access_token"],
        "refresh_token": token.get("refresh_token", ""),
        "expires_at": token.get("expires_at"),
        "open_id": open_id,
        "username": username,
        "post_mode": _mode(str(token.get("scope") or "")),
    }
    name = str(user.get("display_name") or username or open_id)
    return [oauth.Account(AccountInfo(open_id, username or name, name), credentials)]


def build(credentials: dict[str, Any], store: Callable[[dict[str, Any]], None]) -> Connector | None:
    if not credentials.get("access_token") or not credentials.get("open_id"):
        return None
    return TikTokConnector(credentials, store)


# -- media rules -----------------------------------------------------------------------------


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def text_length(text: str) -> int:
    """How TikTok counts a caption (UTF-16 code units: an emoji counts two); the composer's
    counter uses it."""
    return utf16_length(text)


def media_problems(media: MediaFile) -> list[Problem]:
    """One file against the Content Posting API's video rules."""
    name = media.path.name
    if media.mime_type.startswith("image/"):
        return [
            Problem(
                "media",
                f"{name} is an image; Socialdesk posts videos to TikTok (photo posts need "
                "media on a domain verified with TikTok).",
            )
        ]
    if media.mime_type not in VIDEO_TYPES:
        return [
            Problem("media", f"{name} is {media.mime_type}; TikTok takes MP4, WebM or MOV videos.")
        ]
    try:
        size = media.size
    except OSError:
        return [Problem("media", f"{name} cannot be read.")]
    problems = []
    if size > VIDEO_MAX_BYTES:
        problems.append(
            Problem("media", f"{name} is {size / 1e9:.1f} GB; TikTok takes videos up to 4 GB.")
        )
    from socialdesk.content.media import probe_video

    facts = probe_video(str(media.path))
    if facts is not None:
        if facts.duration is not None and facts.duration > 600:
            problems.append(
                Problem(
                    "media",
                    f"{name} lasts {facts.duration:.0f} seconds; TikTok takes videos up to "
                    "10 minutes.",
                )
            )
        for side in (facts.width, facts.height):
            if side is not None and not 360 <= side <= 4096:
                problems.append(
                    Problem(
                        "media",
                        f"{name} is {facts.width}×{facts.height}; TikTok takes 360 to 4096 "
                        "pixels a side.",
                    )
                )
                break
    return problems


# -- the connector -------------------------------------------------------------------------


class TikTokConnector(Connector):
    """One TikTok account."""

    network = NETWORK
    # The direct post and upload references: 6 init requests a minute per token; TikTok's
    # posting guidance: about 15 posts a day per creator through all apps together.
    rate_limits: ClassVar[tuple[RateLimit, ...]] = (
        RateLimit("posts", 15, timedelta(days=1)),
        RateLimit("inits", 6, timedelta(minutes=1)),
    )
    # /v2/video/list/, /v2/video/query/ and /v2/user/info/: 600 requests a minute each.
    read_limits: ClassVar[tuple[RateLimit, ...]] = (RateLimit("reads", 600, timedelta(minutes=1)),)
    measures = True
    metric_table: ClassVar[tuple[MetricInfo, ...]] = (
        MetricInfo("views", "view_count (/v2/video/query/)", "current"),
        MetricInfo("likes", "like_count (/v2/video/query/)", "current"),
        MetricInfo("replies", "comment_count (/v2/video/query/)", "current"),
        MetricInfo("reposts", "share_count (/v2/video/query/)", "current"),
        MetricInfo("followers", "follower_count (/v2/user/info/, user.info.stats)", "current"),
    )
    metric_note = (
        "TikTok gives no clicks or quotes; a video still in moderation, a private one and an "
        "inbox draft have no numbers."
    )

    def __init__(
        self,
        credentials: Mapping[str, Any],
        store: Callable[[dict[str, Any]], None] = lambda fresh: None,
        *,
        media_timeout: float = 120.0,
        timeout: float = 30.0,
        poll_interval: float = 5.0,
        chunk_size: int = CHUNK,
        chunk_min: int = CHUNK_MIN,
    ) -> None:
        self.credentials = dict(credentials)
        self.store = store
        self.open_id = str(credentials["open_id"])
        self.media_timeout = media_timeout
        self.timeout = timeout  # seconds for one call (tests shorten it)
        self.poll_interval = poll_interval
        self.chunk_size = chunk_size
        self.chunk_min = chunk_min
        self._api: Api | None = None

    def __repr__(self) -> str:
        return f"<TikTokConnector {self.open_id}>"

    def api(self) -> Api:
        """The client, with the access token (24 hours) refreshed first when it is about to
        expire (stored at once; a failed refresh stores nothing and raises)."""
        if oauth.needs_refresh(self.credentials):
            fresh = oauth.refresh(NETWORK, self.credentials)
            self._keep(fresh)
            if self._api is not None:
                self._api.set_header("Authorization", f"Bearer {fresh['access_token']}")
        if self._api is None:
            self._api = client(str(self.credentials["access_token"]), timeout=self.timeout)
        return self._api

    def _keep(self, fresh: dict[str, Any]) -> None:
        self.store(fresh)
        self.credentials = fresh

    def _post(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return data_of(self.api().call("POST", f"{API}/{path}", json=dict(body)))

    # -- rules -----------------------------------------------------------------------------

    def cost(self, content: DeliveryContent) -> dict[str, int]:
        return {"posts": 1, "inits": 1}

    def validate(self, content: DeliveryContent) -> list[Problem]:
        if content.action != "post":
            return [Problem("action", "TikTok's API gives apps no comments or replies.")]
        problems = []
        length = utf16_length(content.text)
        if length > TITLE_MAX:
            problems.append(
                Problem(
                    "text",
                    f"The caption has {length} characters; TikTok takes up to {TITLE_MAX}. "
                    f"Shorten it by {length - TITLE_MAX}.",
                )
            )
        if content.thread:
            problems.append(Problem("thread", "TikTok has no threads: a video has one caption."))
        if content.first_comment:
            problems.append(
                Problem(
                    "first_comment",
                    "TikTok's API cannot comment: remove the first comment for this channel.",
                )
            )
        if content.link is not None:
            problems.append(
                Problem(
                    "link", "TikTok shows no link cards: remove the link card for this channel."
                )
            )
        if len(content.media) != 1:
            problems.append(Problem("media", "A TikTok post is one video: attach exactly one."))
        for media in content.media:
            problems.extend(media_problems(media))
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
        if len(content.media) != 1 or content.media[0].mime_type not in VIDEO_TYPES:
            raise ConnectorError("A TikTok post is one video (MP4, WebM or MOV).", permanent=True)
        earlier = self._pending().get(idempotency_key)
        if earlier:
            found = self._settle(str(earlier["publish_id"]), str(earlier.get("mode", "direct")))
            if found is not None:
                self._forget(idempotency_key)
                return found
            # FAILED earlier: nothing was posted, so post again below.
        video = content.media[0]
        mode = str(self.credentials.get("post_mode") or "direct")
        source = _source_info(video.size, self.chunk_size, self.chunk_min)
        started: dict[str, Any] = {}
        if mode == "direct":
            try:
                started = self._init_direct(content, source)
            except _Unaudited:
                mode = "inbox"
        if mode == "inbox":
            started = self._init("post/publish/inbox/video/init/", {"source_info": source})
        publish_id = str(started["publish_id"])
        self._remember(idempotency_key, publish_id, mode)
        self._upload(str(started["upload_url"]), video, source)
        found = self._wait(publish_id, mode)
        self._forget(idempotency_key)
        return found

    def _init_direct(self, content: DeliveryContent, source: Mapping[str, Any]) -> dict[str, Any]:
        creator = self._post("post/publish/creator_info/query/", {})
        options = [str(o) for o in creator.get("privacy_level_options") or []]
        wanted = str(self.credentials.get("privacy_level") or "PUBLIC_TO_EVERYONE")
        privacy = wanted if wanted in options else ("SELF_ONLY" if "SELF_ONLY" in options else "")
        if not privacy:
            raise ConnectorError(
                "TikTok offers this account no privacy level to post with.", permanent=True
            )
        longest = creator.get("max_video_post_duration_sec")
        if isinstance(longest, int):
            from socialdesk.content.media import probe_video

            facts = probe_video(str(content.media[0].path))
            if facts is not None and facts.duration is not None and facts.duration > longest:
                raise ConnectorError(
                    f"This TikTok account may post videos up to {longest} seconds; the video "
                    f"lasts {facts.duration:.0f}.",
                    permanent=True,
                )
        post_info = {
            "title": content.text,
            "privacy_level": privacy,
            "disable_comment": bool(creator.get("comment_disabled")),
            "disable_duet": bool(creator.get("duet_disabled")),
            "disable_stitch": bool(creator.get("stitch_disabled")),
        }
        try:
            return self._init(
                "post/publish/video/init/", {"post_info": post_info, "source_info": dict(source)}
            )
        except ConnectorError as error:
            if UNAUDITED in error.message:
                raise _Unaudited from error
            raise

    def _init(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        try:
            return self._post(path, body)
        except OutcomeUnknown as error:
            # Nothing is posted before the upload completes: simply try again.
            raise ConnectorError("TikTok did not answer the start of the upload.") from error

    def _upload(self, upload_url: str, video: MediaFile, source: Mapping[str, Any]) -> None:
        """PUT the file in the chunks ``source`` announced, in order, read from disk one
        chunk at a time (a video may be gigabytes)."""
        if not _tiktok_host(upload_url):
            raise ConnectorError(
                "TikTok gave an upload address that is not its own.", permanent=True
            )
        size = int(source["video_size"])
        chunk, count = int(source["chunk_size"]), int(source["total_chunk_count"])
        # The upload address carries its own token: TikTok's bearer token is not sent there.
        uploader = Api(
            NETWORK,
            LABEL,
            describe=describe,
            revoked=revoked,
            limited=limited,
            timeout=self.timeout,
        )
        try:
            opened = video.path.open("rb")
        except OSError as error:
            uploader.close()
            raise ConnectorError(f"{video.path.name} cannot be read.", permanent=True) from error
        try:
            for number in range(count):
                first = number * chunk
                last = size - 1 if number == count - 1 else first + chunk - 1
                try:
                    uploader.call(
                        "PUT",
                        upload_url,
                        content=_piece(opened, first, last),
                        headers={
                            "Content-Type": video.mime_type,
                            "Content-Range": f"bytes {first}-{last}/{size}",
                        },
                    )
                except OutcomeUnknown as error:
                    if number < count - 1:
                        raise ConnectorError(
                            "TikTok did not answer a part of the upload."
                        ) from error
                    raise
        finally:
            opened.close()
            uploader.close()

    def _status(self, publish_id: str) -> dict[str, Any]:
        return self._post("post/publish/status/fetch/", {"publish_id": publish_id})

    def _settle(self, publish_id: str, mode: str) -> Published | None:
        """What an earlier publish id came to: the post, None when it FAILED, or a transient
        error while TikTok is still at it."""
        status = self._status(publish_id)
        done = self._done(publish_id, mode, status)
        if done is not None:
            return done
        if status.get("status") == "FAILED":
            return None
        raise ConnectorError(
            f"TikTok is still processing the video ({status.get('status', 'unknown')}); it is "
            "asked again later."
        )

    def _done(self, publish_id: str, mode: str, status: Mapping[str, Any]) -> Published | None:
        state = status.get("status")
        if state == "SEND_TO_USER_INBOX":
            return Published(publish_id, "")
        if state == "PUBLISH_COMPLETE":
            ids = (
                status.get("publicaly_available_post_id")
                or status.get("publicly_available_post_id")
                or []
            )
            if ids:
                return Published(str(ids[0]), self.video_url(str(ids[0])))
            return Published(publish_id, "")
        return None

    def _wait(self, publish_id: str, mode: str) -> Published:
        deadline = time.monotonic() + self.media_timeout
        while True:
            status = self._status(publish_id)
            done = self._done(publish_id, mode, status)
            if done is not None:
                return done
            if status.get("status") == "FAILED":
                reason = str(status.get("fail_reason") or "no reason given")
                raise ConnectorError(
                    f"TikTok could not publish the video: {reason}.", permanent=True
                )
            if time.monotonic() >= deadline:
                raise OutcomeUnknown(
                    f"TikTok was still processing the video after {self.media_timeout:g} seconds; "
                    "whether it is posted is asked again later."
                )
            time.sleep(self.poll_interval)

    def video_url(self, video_id: str) -> str:
        username = str(self.credentials.get("username") or "")
        return f"https://www.tiktok.com/@{username}/video/{video_id}" if username else ""

    # -- remembered publish ids ------------------------------------------------------------

    def _pending(self) -> dict[str, Any]:
        pending = self.credentials.get("pending")
        return dict(pending) if isinstance(pending, dict) else {}

    def _remember(self, key: str, publish_id: str, mode: str) -> None:
        pending = self._pending()
        pending[key] = {"publish_id": publish_id, "mode": mode}
        while len(pending) > PENDING_KEPT:
            pending.pop(next(iter(pending)))
        self._keep({**self.credentials, "pending": pending})

    def _forget(self, key: str) -> None:
        pending = self._pending()
        if pending.pop(key, None) is not None:
            self._keep({**self.credentials, "pending": pending})

    def find_published(
        self, idempotency_key: str, content: DeliveryContent | None = None
    ) -> Published | None:
        earlier = self._pending().get(idempotency_key)
        if earlier:
            return self._settle(str(earlier["publish_id"]), str(earlier.get("mode", "direct")))
        if content is None or not content.text.strip():
            return None
        wanted = " ".join(content.text.split())
        answer = data_of(
            self.api().call(
                "POST",
                f"{API}/video/list/?fields=id,title,video_description,create_time,share_url",
                json={"max_count": 20},
            )
        )
        since = (datetime.now(UTC) - timedelta(days=2)).timestamp()
        for video in answer.get("videos") or []:
            said = " ".join(str(video.get("video_description") or video.get("title") or "").split())
            made = video.get("create_time") or 0
            if said == wanted and isinstance(made, int | float) and made >= since:
                video_id = str(video["id"])
                return Published(video_id, str(video.get("share_url") or self.video_url(video_id)))
        return None

    def delete(self, remote_id: str) -> None:
        raise ConnectorError(
            "TikTok's API cannot delete a video: delete it in the TikTok app.", permanent=True
        )

    def check_connection(self) -> AccountInfo:
        user = (
            data_of(
                self.api().call("GET", f"{API}/user/info/?fields=open_id,display_name,username")
            ).get("user")
            or {}
        )
        username = str(user.get("username") or self.credentials.get("username") or "")
        name = str(user.get("display_name") or username)
        return AccountInfo(str(user.get("open_id") or self.open_id), username or name, name)

    # -- metrics ---------------------------------------------------------------------------

    def metrics_cost(self, posts: int, followers: bool = False) -> dict[str, int]:
        return {"reads": -(-posts // 20) + (1 if followers else 0)}

    def fetch_metrics(self, remote_ids: Sequence[str]) -> dict[str, Metrics]:
        # A publish id (``v_pub_…``, an inbox draft or a post still in moderation) is no video.
        ids = [r for r in remote_ids if r.isdigit()]
        found = {}
        for start in range(0, len(ids), 20):
            batch = ids[start : start + 20]
            answer = data_of(
                self.api().call(
                    "POST",
                    f"{API}/video/query/?fields=id,view_count,like_count,comment_count,share_count",
                    json={"filters": {"video_ids": batch}},
                )
            )
            for video in answer.get("videos") or []:
                video_id = str(video.get("id", ""))
                if video_id in batch:
                    found[video_id] = Metrics(
                        views=_count(video.get("view_count")),
                        likes=_count(video.get("like_count")),
                        replies=_count(video.get("comment_count")),
                        reposts=_count(video.get("share_count")),
                    )
        return found

    def fetch_followers(self) -> int | None:
        user = (
            data_of(self.api().call("GET", f"{API}/user/info/?fields=follower_count")).get("user")
            or {}
        )
        return _count(user.get("follower_count"))


def _piece(opened: Any, first: int, last: int) -> bytes:
    opened.seek(first)
    return bytes(opened.read(last - first + 1))


def _tiktok_host(url: str) -> bool:
    parsed = httpx.URL(url)
    host = parsed.host or ""
    return parsed.scheme == "https" and (
        host == "tiktokapis.com" or host.endswith(".tiktokapis.com")
    )


class _Unaudited(Exception):
    """TikTok refused a direct post because the app is not audited yet."""


def _source_info(size: int, chunk: int, minimum: int = CHUNK_MIN) -> dict[str, Any]:
    """FILE_UPLOAD's sizes by the media transfer guide: a file under 5 MB (or one chunk) in
    one piece; otherwise ``size // chunk`` chunks, the last taking the remainder."""
    if size < minimum or size <= chunk:
        return {
            "source": "FILE_UPLOAD",
            "video_size": size,
            "chunk_size": size,
            "total_chunk_count": 1,
        }
    return {
        "source": "FILE_UPLOAD",
        "video_size": size,
        "chunk_size": chunk,
        "total_chunk_count": size // chunk,
    }


def _count(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) else None
