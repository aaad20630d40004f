"""YouTube: videos and Shorts through the YouTube Data API v3 (issue 16, item 5).

No Google server runs here: tested against exchanges written by hand from Google's reference
(``tests/recordings/youtube/``), served over real HTTP on 127.0.0.1 to this code. Google's
OAuth, errors and token refresh are ``networks.google``'s; no SDK (said there).

Connecting: the channel the Google login opens (``channels.list?mine=true``); its uploads
playlist is stored to reconcile with.

Publishing is one video: the text's first line is its title (YouTube takes 100 characters,
without ``<`` or ``>``), the rest its description (5,000 bytes), public. There is no Shorts
endpoint: YouTube itself makes a vertical or square video of three minutes or less a Short
(``is_short``). The upload is YouTube's resumable protocol: ``POST
/upload/youtube/v3/videos?uploadType=resumable&part=snippet,status`` with the video's
metadata opens a session (its address in ``Location``), then the bytes go in chunks of
``CHUNK`` (a multiple of 256 KiB) by ``PUT`` with ``Content-Range``; YouTube answers ``308``
with the ``Range`` it has until the last chunk, which answers the video. An interrupted chunk
(a timeout, a dropped connection, a 5xx) is resumed by asking the session what it has (an
empty ``PUT`` with ``Content-Range: bytes */N``) and sending from there; the session is kept
in the connector per idempotency key, so a retry of the delivery in the same worker resumes it
too. A finished upload is read again (``videos.list?part=status``, bounded) while YouTube is
processing it; ``failed`` or ``rejected`` fails with YouTube's reason.

Exactly once: the Data API has no idempotency key. ``find_published`` reads the channel's
uploads playlist (newest first, within ``RECONCILE_WINDOW``) and matches title and
description; ``publish`` asks it first too (one quota unit against a whole upload), so a
retry after a failure past the upload (the first comment) never uploads twice. Two identical
videos within the window are indistinguishable. The first comment (``commentThreads.insert``)
is looked for among the video's comments before it is made again.

Quota (the reference's "Quota calculator", read on 2026-12-07): a project has 10,000 units a
day for every method but uploads and searches, and its own bucket of 100 ``videos.insert``
calls a day (earlier versions of the page counted an upload as 1,600 units of the shared
bucket); lists cost 1 unit, inserts, updates and deletes 50. Both reset at midnight Pacific.
They are per Google Cloud project, not per channel: the engine paces each channel to them,
so an installation with many channels may still meet Google's 403 ``quotaExceeded``, which
waits until the reset.

Inbox: comments on our videos (``commentThreads.list?allThreadsRelatedToChannelId=``, with
their replies; a thread with more replies than the list carries is read with
``comments.list?parentId=``), one conversation per comment thread; replies are
``comments.insert`` under the thread. Numbers: ``videos.list?part=statistics`` (views, likes,
comments; YouTube gives no public dislikes since 2021 and no shares) and the channel's
``subscriberCount`` (None when the channel hides it).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import httpx

from . import google, oauth
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
from .http import OutcomeUnknown

NETWORK = "youtube"
LABEL = "YouTube"
SCOPES = [
    "https://www.googleapis.com/auth/youtube.upload",
    # Reading the channel and its comments, commenting, deleting our videos.
    "https://www.googleapis.com/auth/youtube.force-ssl",
]
OAUTH = google.spec(SCOPES)

API = "https://www.googleapis.com/youtube/v3"
UPLOAD_URL = "https://www.googleapis.com/upload/youtube/v3/videos"

TITLE_MAX = 100  # characters
DESCRIPTION_MAX = 5000  # bytes
VIDEO_MAX_BYTES = 256 * 1024**3  # 256 GB
SHORT_MAX_SECONDS = 180
CHUNK = 8 * 256 * 1024  # 2 MiB: chunks must be multiples of 256 KiB
MAX_INTERRUPTIONS = 3  # per publish; then the delivery is retried later, resuming
RECONCILE_WINDOW = timedelta(days=2)
METRICS_BATCH = 50  # ids per videos.list
# The formats YouTube's help lists ("Supported YouTube file formats").
VIDEO_TYPES = (
    "video/mp4",
    "video/quicktime",
    "video/x-msvideo",
    "video/x-ms-wmv",
    "video/mpeg",
    "video/webm",
    "video/3gpp",
    "video/x-flv",
    "application/octet-stream",
)

NO_ACCOUNT = (
    "This Google login has no YouTube channel. Create one on youtube.com (or pick the "
    "channel's Brand Account when Google asks), then connect again."
)

ABOUT = NetworkAbout(
    network=NETWORK,
    connect="oauth",
    text_max=TITLE_MAX + 1 + DESCRIPTION_MAX,
    text_unit="codepoints",
    operator_setup=(
        "In the Google Cloud console: a project with the YouTube Data API v3 enabled, an "
        "OAuth consent screen with the youtube.upload and youtube.force-ssl scopes (Google "
        "verifies apps that ask for them; until then uploads from an unverified project are "
        "private), and an OAuth client of type Web application whose redirect URI is the "
        "address shown on this page. Set YOUTUBE_CLIENT_ID and YOUTUBE_CLIENT_SECRET (or "
        "YOUTUBE_CLIENT_SECRET_FILE). The project's quota (10,000 units and 100 uploads a "
        "day) is shared by every channel of this Socialdesk."
    ),
    accounts=(
        "Any YouTube channel, a personal one or a Brand Account's (chosen on Google's consent "
        "page). Videos over 15 minutes need a verified channel. A vertical or square video "
        "of three minutes or less is shown as a Short."
    ),
    tested=(
        "Recorded exchanges written by hand from the YouTube Data API reference, served "
        "over real HTTP, including an interrupted and resumed upload."
    ),
    reads=(
        "Comments on the channel's videos into the inbox, with replies; views, likes, "
        "comments and subscribers (no dislikes: YouTube hides them)."
    ),
    reference="https://developers.google.com/youtube/v3/docs",
)


def is_short(width: int | None, height: int | None, seconds: float | None) -> bool:
    """Whether YouTube shows such a video as a Short: vertical or square, at most three
    minutes (YouTube decides by itself; there is no Shorts flag in the API)."""
    if not width or not height or seconds is None:
        return False
    return height >= width and seconds <= SHORT_MAX_SECONDS


def title_and_description(text: str) -> tuple[str, str]:
    """The first line is the title, the rest (stripped) the description."""
    first, _, rest = text.strip().partition("\n")
    return first.strip(), rest.strip()


def media_problems(media: MediaFile) -> list[Problem]:
    name = media.path.name
    if not media.mime_type.startswith("video/") and media.mime_type not in VIDEO_TYPES:
        return [Problem("media", f"{name} is {media.mime_type}; YouTube takes videos only.")]
    try:
        size = media.size
    except OSError:
        return [Problem("media", f"{name} cannot be read.")]
    if size > VIDEO_MAX_BYTES:
        return [Problem("media", f"{name} is larger than YouTube's 256 GB.")]
    if size == 0:
        return [Problem("media", f"{name} is empty.")]
    return []


def _channel_account(channel: Mapping[str, Any], credentials: dict[str, Any]) -> oauth.Account:
    snippet = channel.get("snippet") or {}
    channel_id = str(channel.get("id") or "")
    title = str(snippet.get("title") or channel_id)
    handle = str(snippet.get("customUrl") or title)
    uploads = ((channel.get("contentDetails") or {}).get("relatedPlaylists") or {}).get("uploads")
    return oauth.Account(
        AccountInfo(channel_id, handle, title),
        {
            **credentials,
            "channel_id": channel_id,
            "uploads_playlist": str(uploads or _uploads_of(channel_id)),
        },
    )


def _uploads_of(channel_id: str) -> str:
    # A channel's uploads playlist is its id with "UU" for "UC".
    return "UU" + channel_id[2:] if channel_id.startswith("UC") else ""


def accounts(token: dict[str, Any]) -> list[oauth.Account]:
    """The channel the consent opened (Google asks which one when the login has several)."""
    credentials = google.token_credentials(token)
    session = google.Session(NETWORK, LABEL, credentials, lambda fresh: None)
    try:
        body = session.json(
            "GET", f"{API}/channels", params={"part": "snippet,contentDetails", "mine": "true"}
        )
    finally:
        session.close()
    return [
        _channel_account(channel, credentials)
        for channel in (body or {}).get("items") or []
        if isinstance(channel, dict) and channel.get("id")
    ]


def build(
    credentials: dict[str, Any], store: Callable[[dict[str, Any]], None]
) -> YouTubeConnector | None:
    if not credentials.get("refresh_token") or not credentials.get("channel_id"):
        return None
    return YouTubeConnector(credentials, store)


def _comparable(text: str) -> str:
    return " ".join((text or "").split())


def _watch_url(video_id: str) -> str:
    return f"https://www.youtube.com/watch?v={video_id}"


def _count(value: Any) -> int | None:
    return int(value) if isinstance(value, int | str) and str(value).isdigit() else None


class YouTubeConnector(Connector):
    """One YouTube channel. Not thread-safe: one per worker thread."""

    network = NETWORK
    # Per Google Cloud project (see the module docstring): the shared units, and the
    # uploads' own bucket.
    rate_limits: ClassVar[tuple[RateLimit, ...]] = (
        RateLimit("quota", 10_000, timedelta(days=1)),
        RateLimit("uploads", 100, timedelta(days=1)),
    )
    reads = True
    measures = True
    metric_table: ClassVar[tuple[MetricInfo, ...]] = (
        MetricInfo("views", "viewCount (videos.list, statistics)", "Delayed by minutes."),
        MetricInfo("likes", "likeCount (videos.list, statistics)", "Delayed by minutes."),
        MetricInfo("replies", "commentCount (videos.list, statistics)", "Delayed by minutes."),
        MetricInfo(
            "followers",
            "subscriberCount (channels.list, statistics)",
            "Rounded by YouTube to three significant figures; read once a day.",
        ),
    )
    metric_note: ClassVar[str] = (
        "YouTube's Data API gives no dislikes (hidden since 2021), no shares and no link "
        "clicks; watch time and impressions are in the YouTube Analytics API, not read here."
    )

    def __init__(
        self,
        credentials: Mapping[str, Any],
        store: Callable[[dict[str, Any]], None],
        *,
        chunk_size: int = CHUNK,
        poll_interval: float = 5.0,
        poll_timeout: float = 60.0,
        timeout: float | None = None,
    ) -> None:
        if chunk_size % (256 * 1024):
            raise ValueError("YouTube takes chunks in multiples of 256 KiB.")
        options = {"timeout": timeout} if timeout is not None else {}
        self.session = google.Session(NETWORK, LABEL, credentials, store, **options)
        self.channel_id = str(credentials["channel_id"])
        self.uploads = str(credentials.get("uploads_playlist") or _uploads_of(self.channel_id))
        self.chunk_size = chunk_size
        self.poll_interval = poll_interval
        self.poll_timeout = poll_timeout
        # Upload sessions still open, and videos uploaded, by idempotency key (this worker).
        self._sessions: dict[str, str] = {}
        self._uploaded: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"<YouTubeConnector {self.channel_id}>"

    # -- rules ------------------------------------------------------------------------------

    def cost(self, content: DeliveryContent) -> dict[str, int]:
        if content.action == "reply":
            return {"quota": 50}
        # The look for an earlier upload, the status reads, and the first comment.
        quota = 1 + 2 + (51 if content.first_comment else 0)
        return {"uploads": 1, "quota": quota}

    def validate(self, content: DeliveryContent) -> list[Problem]:
        if content.action == "reply":
            wrong = []
            if not content.text.strip():
                wrong.append(Problem("text", "Write the reply."))
            if not str(content.target.get("parent_id") or ""):
                wrong.append(Problem("target", "The answered comment has no YouTube id."))
            return wrong
        if content.action != "post":
            return self.action_problems(content)
        title, description = title_and_description(content.text)
        problems: list[Problem] = []
        if not title:
            problems.append(Problem("text", "Write a first line: it is the video's title."))
        elif len(title) > TITLE_MAX:
            problems.append(
                Problem(
                    "text",
                    f"The first line is the video's title: YouTube takes {TITLE_MAX} "
                    f"characters, it has {len(title)}.",
                )
            )
        size = len(description.encode())
        if size > DESCRIPTION_MAX:
            problems.append(
                Problem(
                    "text",
                    f"The lines after the first are the description: YouTube takes "
                    f"{DESCRIPTION_MAX} bytes, they have {size}.",
                )
            )
        if "<" in content.text or ">" in content.text:
            problems.append(Problem("text", "YouTube refuses < and > in a title or description."))
        videos = list(content.media)
        if len(videos) != 1:
            problems.append(Problem("media", "A YouTube post is one video: attach exactly one."))
        for media in videos:
            problems += media_problems(media)
        if content.thread:
            problems.append(Problem("thread", "A YouTube video has no thread."))
        return problems

    def action_problems(self, content: DeliveryContent) -> list[Problem]:
        return [Problem("action", f"Socialdesk cannot {content.action} on YouTube.")]

    # -- publishing -------------------------------------------------------------------------

    def publish(self, content: DeliveryContent, idempotency_key: str) -> Published:
        problems = self.validate(content)
        if problems:
            raise ConnectorError(" ".join(str(p) for p in problems), permanent=True)
        if content.action == "reply":
            return self._reply(content)
        video_id = self._uploaded.get(idempotency_key)
        already = video_id is not None
        if video_id is None:
            found = self.find_published(idempotency_key, content)
            video_id = found.remote_id if found else None
            already = found is not None
        if video_id is None:
            video = self._upload(content, idempotency_key)
            video_id = str(video["id"])
            self._uploaded[idempotency_key] = video_id
            self._until_processed(video)
        if content.first_comment:
            self._first_comment(video_id, content.first_comment, look_first=already)
        self._uploaded.pop(idempotency_key, None)
        return Published(video_id, _watch_url(video_id))

    def _metadata(self, content: DeliveryContent) -> dict[str, Any]:
        title, description = title_and_description(content.text)
        snippet: dict[str, Any] = {"title": title, "description": description}
        if content.language:
            snippet["defaultLanguage"] = content.language
        return {
            "snippet": snippet,
            "status": {"privacyStatus": "public", "selfDeclaredMadeForKids": False},
        }

    def _upload(self, content: DeliveryContent, key: str) -> dict[str, Any]:
        """Upload the video with the resumable protocol (see the module docstring); returns
        YouTube's video resource."""
        media = content.media[0]
        size = media.size
        session = self._sessions.get(key)
        offset = 0
        if session is None:
            session = self._open_session(content, media, size)
            self._sessions[key] = session
        else:
            done, offset = self._ask_session(session, size)
            if done is not None:
                self._sessions.pop(key, None)
                return done
        interruptions = 0
        with media.path.open("rb") as file:
            while True:
                file.seek(offset)
                chunk = file.read(self.chunk_size)
                if not chunk:  # YouTube has every byte but did not answer the video yet
                    done, offset = self._ask_session(session, size)
                    if done is None:
                        raise ConnectorError("YouTube did not finish the upload; it resumes.")
                    self._sessions.pop(key, None)
                    return done
                end = offset + len(chunk) - 1
                try:
                    response = self.session.call(
                        "PUT",
                        session,
                        accepted=(308,),
                        content=chunk,
                        headers={
                            "Content-Type": media.mime_type,
                            "Content-Range": f"bytes {offset}-{end}/{size}",
                        },
                    )
                except (OutcomeUnknown, ConnectorError) as error:
                    if isinstance(error, ConnectorError) and (
                        error.permanent or error.rate_limited
                    ):
                        raise
                    interruptions += 1
                    if interruptions > MAX_INTERRUPTIONS:
                        raise ConnectorError(
                            f"YouTube's upload was interrupted {interruptions} times; it "
                            "resumes where it stopped when tried again."
                        ) from error
                    done, offset = self._ask_session(session, size)
                    if done is not None:
                        self._sessions.pop(key, None)
                        return done
                    continue
                if response.status_code == 308:
                    offset = _received(response)
                    continue
                self._sessions.pop(key, None)
                return self._video_of(response)

    def _open_session(self, content: DeliveryContent, media: MediaFile, size: int) -> str:
        try:
            response = self.session.call(
                "POST",
                UPLOAD_URL,
                params={"uploadType": "resumable", "part": "snippet,status"},
                json=self._metadata(content),
                headers={
                    "X-Upload-Content-Length": str(size),
                    "X-Upload-Content-Type": media.mime_type,
                },
            )
        except OutcomeUnknown as error:
            # An unanswered session start publishes nothing: no bytes were sent.
            raise ConnectorError(
                "YouTube did not answer when the upload was started; it will be tried again."
            ) from error
        location = response.headers.get("location", "")
        if not location or not self._same_host(location):
            raise ConnectorError("YouTube did not give an upload address; it will be tried again.")
        return location

    def _same_host(self, location: str) -> bool:
        # The bytes (and the token) go only to Google's upload host (or its stand-in in tests).
        given = httpx.URL(self.session.api.url(location))
        expected = httpx.URL(self.session.api.url(UPLOAD_URL))
        return (given.scheme, given.host, given.port) == (
            expected.scheme,
            expected.host,
            expected.port,
        )

    def _ask_session(self, session: str, size: int) -> tuple[dict[str, Any] | None, int]:
        """What the session has: the video when the upload is complete, else the offset to
        send from. A session that expired (404) starts over: raised as transient, with the
        session forgotten by the caller's next attempt."""
        try:
            response = self.session.call(
                "PUT",
                session,
                accepted=(308, 404, 410),
                content=b"",
                headers={"Content-Range": f"bytes */{size}"},
            )
        except OutcomeUnknown as error:
            raise ConnectorError(
                "YouTube did not answer when asked how much of the upload it has; it resumes "
                "when tried again."
            ) from error
        if response.status_code == 308:
            return None, _received(response)
        if response.status_code in (404, 410):
            for key, value in list(self._sessions.items()):
                if value == session:
                    del self._sessions[key]
            raise ConnectorError(
                "YouTube's upload session expired; the upload starts again when tried again."
            )
        return self._video_of(response), size

    def _video_of(self, response: httpx.Response) -> dict[str, Any]:
        try:
            video = response.json()
        except ValueError:
            video = None
        if not isinstance(video, dict) or not video.get("id"):
            raise ConnectorError("YouTube finished the upload without the video's id.")
        return video

    def _until_processed(self, video: Mapping[str, Any]) -> None:
        """Read the video's status while YouTube processes it (at most ``poll_timeout``
        seconds: then it is published, and processing goes on); a failed or rejected upload
        fails with YouTube's reason."""
        status = video.get("status") or {}
        deadline = time.monotonic() + self.poll_timeout
        while status.get("uploadStatus") == "uploaded" and time.monotonic() < deadline:
            time.sleep(self.poll_interval)
            body = self.session.json(
                "GET", f"{API}/videos", params={"part": "status", "id": str(video["id"])}
            )
            items = (body or {}).get("items") or []
            status = (items[0].get("status") or {}) if items else {}
        state = status.get("uploadStatus")
        if state in ("failed", "rejected", "deleted"):
            reason = status.get("failureReason") or status.get("rejectionReason") or state
            raise ConnectorError(
                f"YouTube could not process the video ({state}: {reason}). Check the file "
                "(format, length, rights) and post it again.",
                permanent=True,
            )

    def _first_comment(self, video_id: str, text: str, *, look_first: bool) -> None:
        if look_first and self._find_comment(video_id, text):
            return
        self.session.json(
            "POST",
            f"{API}/commentThreads",
            params={"part": "snippet"},
            json={
                "snippet": {
                    "videoId": video_id,
                    "topLevelComment": {"snippet": {"textOriginal": text}},
                }
            },
        )

    def _find_comment(self, video_id: str, text: str) -> bool:
        body = self.session.json(
            "GET",
            f"{API}/commentThreads",
            params={"part": "snippet", "videoId": video_id, "maxResults": "100"},
        )
        for thread in (body or {}).get("items") or []:
            top = ((thread.get("snippet") or {}).get("topLevelComment") or {}).get("snippet") or {}
            if self._ours(top) and _comparable(str(top.get("textOriginal") or "")) == _comparable(
                text
            ):
                return True
        return False

    def _ours(self, snippet: Mapping[str, Any]) -> bool:
        author = snippet.get("authorChannelId") or {}
        return str(author.get("value") or "") == self.channel_id

    def _reply(self, content: DeliveryContent) -> Published:
        comment = self.session.json(
            "POST",
            f"{API}/comments",
            params={"part": "snippet"},
            json={
                "snippet": {
                    "parentId": str(content.target["parent_id"]),
                    "textOriginal": content.text,
                }
            },
        )
        return self._comment_published(comment or {}, content.target)

    def _comment_published(
        self, comment: Mapping[str, Any], target: Mapping[str, Any]
    ) -> Published:
        comment_id = str(comment.get("id") or "")
        video = str(target.get("video_id") or "")
        url = f"{_watch_url(video)}&lc={comment_id}" if video and comment_id else ""
        return Published(comment_id, url)

    def find_published(
        self, idempotency_key: str, content: DeliveryContent | None = None
    ) -> Published | None:
        """The newest upload of the last ``RECONCILE_WINDOW`` whose title and description
        are this content's; for a reply, our reply under the comment with this text."""
        if content is None:
            return None
        if content.action == "reply":
            return self._find_reply(content)
        title, description = title_and_description(content.text)
        since = datetime.now(UTC) - RECONCILE_WINDOW
        body = self.session.json(
            "GET",
            f"{API}/playlistItems",
            params={"part": "snippet", "playlistId": self.uploads, "maxResults": "50"},
            accepted=(404,),
        )
        for item in (body or {}).get("items") or []:
            snippet = item.get("snippet") or {}
            published = google.parse_time(snippet.get("publishedAt"))
            if published is not None and published < since:
                continue
            same_title = _comparable(str(snippet.get("title") or "")) == _comparable(title)
            same_text = _comparable(str(snippet.get("description") or "")) == _comparable(
                description
            )
            video_id = str((snippet.get("resourceId") or {}).get("videoId") or "")
            if same_title and same_text and video_id:
                return Published(video_id, _watch_url(video_id))
        return None

    def _find_reply(self, content: DeliveryContent) -> Published | None:
        body = self.session.json(
            "GET",
            f"{API}/comments",
            params={
                "part": "snippet",
                "parentId": str(content.target.get("parent_id") or ""),
                "maxResults": "100",
                "textFormat": "plainText",
            },
            accepted=(404,),
        )
        for comment in (body or {}).get("items") or []:
            snippet = comment.get("snippet") or {}
            if self._ours(snippet) and _comparable(
                str(snippet.get("textOriginal") or snippet.get("textDisplay") or "")
            ) == _comparable(content.text):
                return self._comment_published(comment, content.target)
        return None

    def delete(self, remote_id: str) -> None:
        # Already gone (404): what was asked for is true.
        self.session.call("DELETE", f"{API}/videos", params={"id": remote_id}, accepted=(404,))

    def check_connection(self) -> AccountInfo:
        body = self.session.json(
            "GET", f"{API}/channels", params={"part": "snippet", "mine": "true"}
        )
        items = (body or {}).get("items") or []
        if not items:
            raise ConnectorError(NO_ACCOUNT, permanent=True)
        return _channel_account(items[0], {}).info

    # -- reading ----------------------------------------------------------------------------

    INBOX_PAGE_SIZE = 100  # the reference's maximum for commentThreads.list
    INBOX_MAX_PAGES = 3

    def read_cost(self) -> dict[str, int]:
        return {"quota": 1}

    def fetch_inbox(self, cursor: str, since: datetime) -> InboxPage:
        """Comments and replies on the channel's videos published after ``cursor`` (the
        newest already read) and not before ``since``, oldest first; our own are left out."""
        mark = google.parse_time(cursor) if cursor else None
        newest = mark
        items: list[InboxItem] = []
        spent = 0
        token = ""
        for _ in range(self.INBOX_MAX_PAGES):
            params = {
                "part": "snippet,replies",
                "allThreadsRelatedToChannelId": self.channel_id,
                "maxResults": str(self.INBOX_PAGE_SIZE),
                "order": "time",
                "textFormat": "plainText",
            }
            if token:
                params["pageToken"] = token
            body = self.session.json("GET", f"{API}/commentThreads", params=params) or {}
            spent += 1
            older = False
            for thread in body.get("items") or []:
                snippet = thread.get("snippet") or {}
                top = snippet.get("topLevelComment") or {}
                replies = list((thread.get("replies") or {}).get("comments") or [])
                total = _count(snippet.get("totalReplyCount")) or 0
                if total > len(replies):
                    spent += 1
                    replies = self._all_replies(str(thread.get("id") or ""))
                fresh = 0
                for comment, parent in [(top, ""), *[(r, str(thread.get("id"))) for r in replies]]:
                    item = self._comment_item(comment, thread, parent, mark, since)
                    if item is None:
                        continue
                    fresh += 1
                    items.append(item)
                    newest = max(newest, item.sent_at) if newest else item.sent_at
                if not fresh:
                    older = True
            token = str(body.get("nextPageToken") or "")
            if older or not token:
                break
        items.sort(key=lambda item: (item.sent_at, item.remote_id))
        return InboxPage(items, newest.isoformat() if newest else cursor, {"quota": spent})

    def _all_replies(self, thread_id: str) -> list[dict[str, Any]]:
        body = self.session.json(
            "GET",
            f"{API}/comments",
            params={
                "part": "snippet",
                "parentId": thread_id,
                "maxResults": "100",
                "textFormat": "plainText",
            },
        )
        return [c for c in (body or {}).get("items") or [] if isinstance(c, dict)]

    def _comment_item(
        self,
        comment: Mapping[str, Any],
        thread: Mapping[str, Any],
        parent: str,
        mark: datetime | None,
        since: datetime,
    ) -> InboxItem | None:
        snippet = comment.get("snippet") or {}
        sent_at = google.parse_time(snippet.get("publishedAt"))
        if sent_at is None or sent_at < since or (mark is not None and sent_at <= mark):
            return None
        if self._ours(snippet):
            return None
        thread_id = str(thread.get("id") or "")
        video_id = str(snippet.get("videoId") or (thread.get("snippet") or {}).get("videoId") or "")
        comment_id = str(comment.get("id") or "")
        author = str((snippet.get("authorChannelId") or {}).get("value") or "")
        return InboxItem(
            remote_id=comment_id,
            kind=ItemKind.COMMENT,
            thread_key=f"thread {thread_id}",
            author=InboxAuthor(
                remote_id=author or f"name:{snippet.get('authorDisplayName', '')}",
                handle=str(snippet.get("authorDisplayName") or ""),
                display_name=str(snippet.get("authorDisplayName") or ""),
                avatar_url=str(snippet.get("authorProfileImageUrl") or ""),
            ),
            text=str(snippet.get("textOriginal") or snippet.get("textDisplay") or ""),
            sent_at=sent_at,
            remote_url=f"{_watch_url(video_id)}&lc={comment_id}" if video_id else "",
            reference={"comment_id": comment_id, "parent_id": thread_id, "video_id": video_id},
            parent_remote_id=parent,
            our_post_remote_id=video_id,
        )

    # -- measuring --------------------------------------------------------------------------

    def metrics_cost(self, posts: int, followers: bool = False) -> dict[str, int]:
        calls = -(-posts // METRICS_BATCH) + (1 if followers else 0)
        return {"quota": calls} if calls else {}

    def fetch_metrics(self, remote_ids: Sequence[str]) -> dict[str, Metrics]:
        ids = sorted({str(i) for i in remote_ids if str(i).strip()})
        found: dict[str, Metrics] = {}
        for start in range(0, len(ids), METRICS_BATCH):
            body = self.session.json(
                "GET",
                f"{API}/videos",
                params={"part": "statistics", "id": ",".join(ids[start : start + METRICS_BATCH])},
            )
            for video in (body or {}).get("items") or []:
                stats = video.get("statistics") or {}
                found[str(video.get("id"))] = Metrics(
                    views=_count(stats.get("viewCount")),
                    likes=_count(stats.get("likeCount")),
                    replies=_count(stats.get("commentCount")),
                )
        return found

    def fetch_followers(self) -> int | None:
        body = self.session.json(
            "GET", f"{API}/channels", params={"part": "statistics", "mine": "true"}
        )
        items = (body or {}).get("items") or []
        stats = (items[0].get("statistics") or {}) if items else {}
        if stats.get("hiddenSubscriberCount"):
            return None
        return _count(stats.get("subscriberCount"))


def _received(response: httpx.Response) -> int:
    """The offset to send from after a 308: one past the end of its ``Range`` (``bytes=0-N``);
    0 when YouTube has nothing yet (no ``Range``)."""
    value = response.headers.get("range", "")
    _, _, span = value.partition("=")
    _, _, last = span.partition("-")
    return int(last) + 1 if last.strip().isdigit() else 0
