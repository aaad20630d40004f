"""Facebook Pages through Meta's Graph API (issue 16).

No maintained official Python SDK: Meta's own ``facebook-business`` package is the Marketing
API's (ads, not Page posts), and the old ``facebook-sdk`` is unmaintained. The Graph API is
called with httpx through ``networks.http.Api`` and Meta's error rules (``networks.meta``).
Tested against recorded exchanges written from Meta's reference (``tests/recordings/facebook/``).

Connecting: Facebook Login with the operator's app (no PKCE: Meta lists its PKCE flow for
OpenID Connect logins as "still in testing"; the code is traded with the app secret). The
short-lived user token is exchanged for a long-lived one (``grant_type=fb_exchange_token``),
and ``GET /me/accounts`` lists the Pages the person manages, each with its **Page access
token**; a Page token obtained from a long-lived user token does not expire, so there is no
refresh: a token Meta revoked (error 190) pauses the channel until it is reconnected. Only
Pages on which the person may create content (task ``CREATE_CONTENT``) are offered.

Publishing (``/{page-id}/feed``, ``/photos``, ``/videos``; "Pages API: Posts"):
- text, and a link (``link``: Facebook draws the preview);
- one photo: ``POST /{page-id}/photos`` with the file (multipart ``source``) and the text as
  ``caption``; several: each uploaded with ``published=false``, then one ``/feed`` post with
  ``attached_media``. A link with photos goes into the text (a post has one or the other);
- one video: ``POST /{page-id}/videos`` with the file and the text as ``description``. Kept
  simple, said plainly: the non-resumable upload, which Meta takes up to 1 GB (the resumable
  upload for larger files is not built); the Page post is read back from the video's
  ``post_id``;
- thread parts and the first comment: comments of the Page under the post, in order.

Exactly once: Facebook takes no idempotency key. ``find_published`` reads the Page's recent
posts (``/{page-id}/posts``, the last ``RECONCILE_WINDOW``) and matches the text; ``publish``
asks the same before creating anything, so a retry after a lost answer or after a failed
comment finishes what is missing instead of posting twice (and a comment already there, by
the Page with the same text, is not written again). A heuristic, said plainly: a post with the
very same text made by hand on the Page within the window is taken for ours.

Inbox (where granted): comments under the Page's posts of the backfill window (one read per
post), and Messenger conversations (``/{page-id}/conversations?platform=messenger``, with
``pages_messaging``; a Page token without it reads comments only). Replies: a comment under
the comment, or a Messenger message (``messaging_type=RESPONSE``: Meta allows it within 24
hours of the person's last message). Comments can be liked, hidden and unhidden
(``is_hidden``), and our own deleted.

Metrics: reactions, comments and shares from the post's own fields; views from the post
insights metric ``post_media_view`` — Meta deprecated ``post_impressions`` (and the other
impressions metrics) on 15 November 2025 and names ``post_media_view`` as its replacement;
followers from the Page's ``followers_count`` (``page_fans`` went the same day).
"""

from __future__ import annotations

import json
import re
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
from .http import Api, json_of

NETWORK = "facebook"
LABEL = "Facebook"
GRAPH = meta.GRAPH
REFERENCE = "https://developers.facebook.com/docs/pages-api/"

SCOPES = (
    "pages_show_list",
    "pages_manage_posts",
    "pages_read_engagement",
    "pages_manage_engagement",
    "pages_read_user_content",
    "pages_messaging",
    "read_insights",
)

OAUTH = oauth.OAuthSpec(
    authorize_url=f"https://www.facebook.com/{meta.GRAPH_VERSION}/dialog/oauth",
    token_url=f"{GRAPH}/oauth/access_token",
    scopes=SCOPES,
    pkce=False,
    scope_separator=",",
)

TEXT_MAX = 63_206  # the longest Page post Facebook takes
MESSAGE_MAX = 2000  # Messenger Send API: a text message has at most 2,000 characters
# Photos (Graph API "Photo", Creating): "Animated photos are not supported, and a photo must
# be less than 10MB in size"; the formats are those Facebook's Page help lists.
PHOTO_TYPES = ("image/jpeg", "image/png", "image/gif", "image/bmp", "image/tiff")
PHOTO_MAX_BYTES = 10 * 1000 * 1000
# Videos (Graph API "Video Uploading"): the non-resumable upload takes files up to 1 GB.
VIDEO_TYPES = ("video/mp4", "video/quicktime", "video/x-msvideo", "video/x-matroska", "video/webm")
VIDEO_MAX_BYTES = 1024 * 1024 * 1024
PHOTOS_MAX = 10  # Socialdesk's own bound for one multi-photo post (Meta publishes none)

RECONCILE_WINDOW = timedelta(days=1)
INBOX_POSTS = 25  # recent posts whose comments one inbox read looks at
METRICS_BATCH = 50  # ids per ``GET /?ids=`` (Meta's limit for a multi-id read)
NO_ACCOUNT = (
    "This Facebook login manages no Page on which it may publish. Sign in as someone with "
    'full control of the Page (or the task "create content"), and allow Socialdesk every '
    "Page it asks about."
)

ABOUT = NetworkAbout(
    network=NETWORK,
    connect="oauth",
    text_max=TEXT_MAX,
    text_unit="codepoints",
    operator_setup=(
        "Create an app of type Business on developers.facebook.com, add Facebook Login for "
        "Business, and enter the redirect address shown on this page as a valid OAuth "
        "redirect URI. Ask for App Review of " + ", ".join(SCOPES) + " (pages_messaging and "
        "read_insights only when the inbox's messages and the views are wanted). Set "
        "FACEBOOK_CLIENT_ID (the app id) and FACEBOOK_CLIENT_SECRET (or "
        "FACEBOOK_CLIENT_SECRET_FILE)."
    ),
    accounts=(
        "Facebook Pages that the person signing in can create content on; not personal "
        "profiles or groups. One login can open several Pages: choose one per channel."
    ),
    tested=(
        "Recorded exchanges written by hand from Meta's Graph API reference (Pages API, "
        "Page Insights, Messenger Platform), served over real HTTP; never against Facebook."
    ),
    reads=(
        "Comments under the Page's recent posts, and Messenger messages where pages_messaging "
        "is granted. Metrics: reactions, comments, shares, views (post_media_view: Meta "
        "retired post_impressions on 15 November 2025) and followers (followers_count; "
        "page_fans was retired the same day). Insights need a Page with 100 likes or more."
    ),
    reference=REFERENCE,
)


def accounts(token: Mapping[str, Any]) -> list[oauth.Account]:
    """The Pages the consent opened, each with its Page access token (see the docstring)."""
    app = oauth.app_for(NETWORK) or {}
    exchange = Api(NETWORK, LABEL, describe=meta.describe, revoked=meta.revoked)
    try:
        answer = exchange.call(
            "GET",
            f"{GRAPH}/oauth/access_token",
            params={
                "grant_type": "fb_exchange_token",
                "client_id": app.get("client_id", ""),
                "client_secret": app.get("client_secret", ""),
                "fb_exchange_token": str(token.get("access_token") or ""),
            },
        )
        user_token = str(json_of(answer, LABEL).get("access_token") or "")
    finally:
        exchange.close()
    if not user_token:
        raise ConnectorError("Facebook gave no long-lived token.", auth_revoked=True)
    api = meta.graph_api(NETWORK, LABEL, user_token)
    found: list[oauth.Account] = []
    try:
        url: str | None = f"{GRAPH}/me/accounts"
        params: dict[str, Any] | None = {
            "fields": "id,name,username,access_token,tasks",
            "limit": 100,
        }
        for _page in range(5):  # at most 500 Pages
            if url is None:
                break
            body = json_of(api.call("GET", url, params=params), LABEL)
            for page in body.get("data") or []:
                tasks = page.get("tasks") or []
                if "CREATE_CONTENT" not in tasks or not page.get("access_token"):
                    continue
                name = str(page.get("name") or page["id"])
                info = AccountInfo(str(page["id"]), name, name)
                found.append(
                    oauth.Account(
                        info,
                        {
                            "access_token": page["access_token"],
                            "page_id": str(page["id"]),
                            "username": str(page.get("username") or ""),
                            "messaging": "MESSAGING" in tasks,
                        },
                    )
                )
            url = (body.get("paging") or {}).get("next")
            params = None  # the next address carries them
    finally:
        api.close()
    return found


def build(
    credentials: Mapping[str, Any], store: Callable[[dict[str, Any]], None]
) -> FacebookConnector | None:
    """A connector for a channel's stored credentials; Page tokens need no refresh, so
    ``store`` is never called."""
    if not credentials.get("access_token") or not credentials.get("page_id"):
        return None
    return FacebookConnector(
        str(credentials["page_id"]),
        str(credentials["access_token"]),
        messaging=bool(credentials.get("messaging", True)),
    )


def media_problems(media: MediaFile) -> list[Problem]:
    """Facebook's rules for one file (formats and sizes from Meta's reference)."""
    name = media.path.name
    try:
        size = media.size
    except OSError:
        return [Problem("media", f"{name} cannot be read.")]
    if media.mime_type.startswith("video/"):
        if media.mime_type not in VIDEO_TYPES:
            return [Problem("media", f"{name} is {media.mime_type}; Facebook takes MP4 or MOV.")]
        if size > VIDEO_MAX_BYTES:
            return [
                Problem(
                    "media",
                    f"{name} is {size / 1_000_000_000:.1f} GB; Socialdesk sends Facebook "
                    "videos up to 1 GB.",
                )
            ]
        return []
    if media.mime_type not in PHOTO_TYPES:
        return [
            Problem(
                "media",
                f"{name} is {media.mime_type}; Facebook takes JPEG, PNG, GIF, BMP or TIFF photos.",
            )
        ]
    if size >= PHOTO_MAX_BYTES:
        return [
            Problem(
                "media",
                f"{name} is {size / 1_000_000:.1f} MB; Facebook takes photos under 10 MB: "
                "make it smaller.",
            )
        ]
    if media.mime_type == "image/gif" and _animated(media):
        return [Problem("media", f"{name} is animated; Facebook takes still photos only.")]
    return []


def _animated(media: MediaFile) -> bool:
    try:
        from PIL import Image

        with Image.open(media.path) as image:
            return bool(getattr(image, "is_animated", False))
    except Exception:  # noqa: BLE001 (an unreadable file is Facebook's to judge)
        return False


_SPACE = re.compile(r"\s+")


def _same_text(a: str, b: str) -> bool:
    return _SPACE.sub(" ", a).strip() == _SPACE.sub(" ", b).strip()


def _time(value: Any) -> datetime | None:
    """Graph times look like ``2026-12-07T10:00:00+0000``."""
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


def _gone(error: ConnectorError) -> bool:
    """Meta's "object does not exist" (code 100, subcode 33) or a 404."""
    words = error.message
    return error.permanent and not error.auth_revoked and ("(code 100)" in words or "404" in words)


class FacebookConnector(Connector):
    """One Facebook Page, through its Page access token."""

    network = NETWORK
    # Pages are limited per Page by Meta's business use case limit: 4,800 calls × the Page's
    # engaged users per 24 hours ("Rate Limits", Pages). Socialdesk cannot know the engaged
    # users, so it paces as if there were one; the usage headers say the real state on a 429.
    rate_limits: ClassVar[tuple[RateLimit, ...]] = (RateLimit("calls", 4800, timedelta(hours=24)),)
    reads = True
    measures = True
    metric_table: ClassVar[tuple[MetricInfo, ...]] = (
        MetricInfo("likes", "reactions (all kinds), summary.total_count", "live"),
        MetricInfo("replies", "comments, summary.total_count", "live"),
        MetricInfo("reposts", "shares.count", "live"),
        MetricInfo("views", "post insights post_media_view, lifetime", "updated by Meta daily"),
        MetricInfo("followers", "Page followers_count", "live"),
    )
    metric_note = (
        "Facebook retired post_impressions on 15 November 2025; views are post_media_view. "
        "No clicks or quotes. Insights need a Page with 100 likes or more."
    )

    def __init__(
        self,
        page_id: str,
        access_token: str,
        *,
        messaging: bool = True,
        timeout: float | httpx.Timeout | None = None,
    ) -> None:
        self.page_id = page_id
        self.messaging = messaging
        extra: dict[str, Any] = {"timeout": timeout} if timeout is not None else {}
        self.api = meta.graph_api(NETWORK, LABEL, access_token, **extra)

    def __repr__(self) -> str:
        return f"<FacebookConnector page {self.page_id}>"

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return json_of(self.api.call(method, f"{GRAPH}/{path}", **kwargs), LABEL)

    # -- rules ------------------------------------------------------------------------------

    def cost(self, content: DeliveryContent) -> dict[str, int]:
        if not content.is_write_of_text:
            return {"calls": 1}
        if content.action == "reply":
            return {"calls": 2}
        photos = len(content.media) if len(content.media) > 1 else 0
        comments = len(content.thread) + (1 if content.first_comment else 0)
        # The look for an earlier attempt, the post (with its photos) and the comments.
        return {"calls": 2 + photos + comments}

    def action_problems(self, content: DeliveryContent) -> list[Problem]:
        if content.action in ("like", "hide", "unhide", "delete"):
            if not str(content.target.get("id") or ""):
                return [Problem("target", "Say which comment or post this is about.")]
            if content.action in ("hide", "unhide") and content.target.get("kind") == "message":
                return [Problem("action", "Facebook cannot hide a Messenger message.")]
            return []
        return super().action_problems(content)

    def validate(self, content: DeliveryContent) -> list[Problem]:
        if not content.is_write_of_text:
            return self.action_problems(content)
        problems = []
        if len(content.text) > TEXT_MAX:
            problems.append(
                Problem(
                    "text",
                    f"The text has {len(content.text)} characters; Facebook takes {TEXT_MAX}.",
                )
            )
        if content.action == "reply":
            if not str(content.target.get("id") or ""):
                problems.append(Problem("target", "Say which comment or message this answers."))
            if not content.text.strip():
                problems.append(Problem("text", "Write the reply."))
            if content.target.get("kind") == "message" and len(content.text) > MESSAGE_MAX:
                problems.append(
                    Problem(
                        "text",
                        f"A Messenger message has at most {MESSAGE_MAX} characters; this one "
                        f"has {len(content.text)}.",
                    )
                )
            return problems
        if not content.text.strip() and not content.media and content.link is None:
            problems.append(Problem("text", "Write some text, or add a photo, video or link."))
        videos = [m for m in content.media if m.mime_type.startswith("video/")]
        if videos and len(content.media) > 1:
            problems.append(
                Problem(
                    "media",
                    "A Facebook post has one video, or photos, not both: keep the video alone.",
                )
            )
        if len(content.media) > PHOTOS_MAX:
            problems.append(
                Problem(
                    "media",
                    f"Socialdesk sends up to {PHOTOS_MAX} photos in one Facebook post; this "
                    f"one has {len(content.media)}.",
                )
            )
        for media in content.media:
            problems += media_problems(media)
        for number, part in enumerate(content.thread, start=2):
            if not part.strip():
                problems.append(Problem("thread", f"Part {number} of the thread is empty."))
        if content.link and not content.link.url.startswith(("https://", "http://")):
            problems.append(Problem("link", "The link needs an http(s) address."))
        return problems

    # -- publishing -------------------------------------------------------------------------

    def _message(self, content: DeliveryContent) -> str:
        """The post's text; with photos or a video, a link goes into it (one or the other)."""
        text = content.text
        if content.link is not None and content.media and content.link.url not in text:
            text = f"{text}\n\n{content.link.url}".strip()
        return text

    def publish(self, content: DeliveryContent, idempotency_key: str) -> Published:
        action = content.action
        if action == "reply":
            return self._reply(content)
        if action == "like":
            self._json("POST", f"{content.target['id']}/likes")
            return Published(str(content.target["id"]), "")
        if action in ("hide", "unhide"):
            self._json(
                "POST",
                str(content.target["id"]),
                data={"is_hidden": "true" if action == "hide" else "false"},
            )
            return Published(str(content.target["id"]), "")
        if action == "delete":
            self.delete(str(content.target["id"]))
            return Published(str(content.target["id"]), "")
        found = self._find_post(self._message(content))
        if found is None:
            found = self._create(content)
            made_now = True
        else:
            made_now = False
        comments = [*content.thread, *([content.first_comment] if content.first_comment else [])]
        if comments:
            already = [] if made_now else self._own_comments(found.remote_id)
            for text in comments:
                if any(_same_text(text, earlier) for earlier in already):
                    already.remove(next(e for e in already if _same_text(text, e)))
                    continue
                self._json("POST", f"{found.remote_id}/comments", data={"message": text})
        return found

    def _create(self, content: DeliveryContent) -> Published:
        message = self._message(content)
        media = list(content.media)
        if not media:
            data = {"message": message}
            if content.link is not None:
                data["link"] = content.link.url
            post_id = str(self._json("POST", f"{self.page_id}/feed", data=data)["id"])
        elif media[0].mime_type.startswith("video/"):
            video = self._upload("videos", media[0], {"description": message, "published": "true"})
            post_id = self._post_of_video(str(video["id"]))
        elif len(media) == 1:
            photo = self._upload("photos", media[0], {"caption": message, "published": "true"})
            post_id = str(photo.get("post_id") or photo["id"])
        else:
            ids = [str(self._upload("photos", m, {"published": "false"})["id"]) for m in media]
            data = {"message": message}
            for number, photo_id in enumerate(ids):
                data[f"attached_media[{number}]"] = json.dumps({"media_fbid": photo_id})
            post_id = str(self._json("POST", f"{self.page_id}/feed", data=data)["id"])
        return Published(post_id, f"https://www.facebook.com/{post_id}")

    def _upload(self, edge: str, media: MediaFile, data: dict[str, str]) -> Any:
        with media.path.open("rb") as handle:
            files = {"source": (media.path.name, handle, media.mime_type)}
            if media.alt_text and edge == "photos":
                data = {**data, "alt_text_custom": media.alt_text}
            return self._json("POST", f"{self.page_id}/{edge}", data=data, files=files)

    def _post_of_video(self, video_id: str) -> str:
        """The Page post a video upload made (the Video node's ``post_id``); the video's own
        id when Meta does not say yet (it still takes comments and can be deleted)."""
        try:
            video = self._json("GET", video_id, params={"fields": "post_id"})
        except ConnectorError:
            return video_id
        return str(video.get("post_id") or video_id)

    def _own_comments(self, object_id: str) -> list[str]:
        body = self._json(
            "GET",
            f"{object_id}/comments",
            params={"fields": "id,message,from", "filter": "stream", "limit": 100},
        )
        return [
            str(c.get("message") or "")
            for c in body.get("data") or []
            if str((c.get("from") or {}).get("id") or "") == self.page_id
        ]

    def _find_post(self, message: str) -> Published | None:
        since = int((datetime.now(UTC) - RECONCILE_WINDOW).timestamp())
        body = self._json(
            "GET",
            f"{self.page_id}/posts",
            params={
                "fields": "id,message,created_time,permalink_url",
                "since": since,
                "limit": 50,
            },
        )
        for post in body.get("data") or []:
            if _same_text(str(post.get("message") or ""), message):
                post_id = str(post["id"])
                url = str(post.get("permalink_url") or f"https://www.facebook.com/{post_id}")
                return Published(post_id, url)
        return None

    def _reply(self, content: DeliveryContent) -> Published:
        target = content.target
        if target.get("kind") == "message":
            body = self._json(
                "POST",
                f"{self.page_id}/messages",
                json={
                    "recipient": {"id": str(target.get("recipient_id") or "")},
                    "messaging_type": "RESPONSE",
                    "message": {"text": content.text},
                },
            )
            return Published(str(body.get("message_id") or ""), "")
        body = self._json("POST", f"{target['id']}/comments", data={"message": content.text})
        return Published(str(body["id"]), "")

    def find_published(
        self, idempotency_key: str, content: DeliveryContent | None = None
    ) -> Published | None:
        if content is None:
            return None
        if content.action == "post":
            return self._find_post(self._message(content))
        if content.action == "reply":
            return self._find_reply(content)
        if content.action == "delete":
            target = str(content.target.get("id") or "")
            try:
                self._json("GET", target, params={"fields": "id"})
            except ConnectorError as error:
                if _gone(error):
                    return Published(target, "")
                raise
            return None
        return None  # a like, hide or unhide is the same when done twice

    def _find_reply(self, content: DeliveryContent) -> Published | None:
        target = content.target
        if target.get("kind") == "message":
            conversation = str(target.get("conversation_id") or "")
            if not conversation:
                return None
            body = self._json(
                "GET",
                conversation,
                params={"fields": "messages.limit(20){id,message,from,created_time}"},
            )
            for message in (body.get("messages") or {}).get("data") or []:
                mine = str((message.get("from") or {}).get("id") or "") == self.page_id
                if mine and _same_text(str(message.get("message") or ""), content.text):
                    return Published(str(message["id"]), "")
            return None
        body = self._json(
            "GET",
            f"{target['id']}/comments",
            params={"fields": "id,message,from", "filter": "stream", "limit": 100},
        )
        for comment in body.get("data") or []:
            mine = str((comment.get("from") or {}).get("id") or "") == self.page_id
            if mine and _same_text(str(comment.get("message") or ""), content.text):
                return Published(str(comment["id"]), "")
        return None

    def delete(self, remote_id: str) -> None:
        try:
            self._json("DELETE", remote_id)
        except ConnectorError as error:
            if not _gone(error):
                raise

    def check_connection(self) -> AccountInfo:
        page = self._json("GET", self.page_id, params={"fields": "id,name,username"})
        name = str(page.get("name") or self.page_id)
        return AccountInfo(str(page.get("id") or self.page_id), name, name)

    # -- inbox ------------------------------------------------------------------------------

    def read_cost(self) -> dict[str, int]:
        return {"calls": 2 + (1 if self.messaging else 0)}

    def fetch_inbox(self, cursor: str, since: datetime) -> InboxPage:
        """Comments under the Page's posts made since ``since``, and Messenger messages,
        newer than the marks the cursor keeps (``{"comments": ISO, "messages": ISO}``)."""
        try:
            marks = json.loads(cursor) if cursor else {}
        except ValueError:
            marks = {}
        comment_mark = _time(marks.get("comments")) or since
        message_mark = _time(marks.get("messages")) or since
        spent = 0
        items: list[InboxItem] = []
        posts = self._json(
            "GET",
            f"{self.page_id}/posts",
            params={
                "fields": "id,created_time",
                "since": int(since.timestamp()),
                "limit": INBOX_POSTS,
            },
        )
        spent += 1
        for post in posts.get("data") or []:
            post_id = str(post["id"])
            body = self._json(
                "GET",
                f"{post_id}/comments",
                params={
                    "fields": "id,message,created_time,from,parent{id},permalink_url",
                    "filter": "stream",
                    "order": "reverse_chronological",
                    "limit": 100,
                },
            )
            spent += 1
            for comment in body.get("data") or []:
                item = self._comment_item(post_id, comment, comment_mark)
                if item is not None:
                    items.append(item)
        if self.messaging:
            messages, calls = self._messages(message_mark)
            items += messages
            spent += calls
        items.sort(key=lambda item: item.sent_at)
        new_marks = {
            "comments": max(
                [i.sent_at for i in items if i.kind == ItemKind.COMMENT] or [comment_mark]
            ).isoformat(),
            "messages": max(
                [i.sent_at for i in items if i.kind == ItemKind.DIRECT] or [message_mark]
            ).isoformat(),
        }
        return InboxPage(items, json.dumps(new_marks, sort_keys=True), {"calls": spent})

    def _comment_item(
        self, post_id: str, comment: Mapping[str, Any], mark: datetime
    ) -> InboxItem | None:
        sent_at = _time(comment.get("created_time"))
        author = comment.get("from") or {}
        author_id = str(author.get("id") or "")
        if sent_at is None or sent_at <= mark or author_id == self.page_id:
            return None
        parent = str((comment.get("parent") or {}).get("id") or "")
        return InboxItem(
            remote_id=str(comment["id"]),
            kind=ItemKind.COMMENT,
            thread_key=f"{post_id}:{author_id or 'someone'}",
            # Meta gives ``from`` only to a Page token with pages_read_user_content.
            author=InboxAuthor(
                author_id or "unknown",
                str(author.get("name") or ""),
                str(author.get("name") or ""),
            ),
            text=str(comment.get("message") or ""),
            sent_at=sent_at,
            remote_url=str(comment.get("permalink_url") or ""),
            reference={"kind": "comment", "id": str(comment["id"]), "post_id": post_id},
            parent_remote_id=parent,
            our_post_remote_id=post_id,
        )

    def _messages(self, mark: datetime) -> tuple[list[InboxItem], int]:
        """Messenger messages newer than ``mark``; none when the token may not read them
        (a permission error that is not a revoked token or a rate limit)."""
        try:
            body = self._json(
                "GET",
                f"{self.page_id}/conversations",
                params={
                    "platform": "messenger",
                    "fields": "id,updated_time,messages.limit(25){id,message,from,created_time}",
                    "limit": 25,
                },
            )
        except ConnectorError as error:
            if error.auth_revoked or error.rate_limited or not error.permanent:
                raise
            return [], 1
        items = []
        for conversation in body.get("data") or []:
            updated = _time(conversation.get("updated_time"))
            if updated is not None and updated <= mark:
                continue
            conversation_id = str(conversation["id"])
            for message in (conversation.get("messages") or {}).get("data") or []:
                sent_at = _time(message.get("created_time"))
                sender = message.get("from") or {}
                sender_id = str(sender.get("id") or "")
                if sent_at is None or sent_at <= mark or sender_id in ("", self.page_id):
                    continue
                items.append(
                    InboxItem(
                        remote_id=str(message["id"]),
                        kind=ItemKind.DIRECT,
                        thread_key=f"messenger:{conversation_id}",
                        author=InboxAuthor(
                            sender_id, str(sender.get("name") or ""), str(sender.get("name") or "")
                        ),
                        text=str(message.get("message") or ""),
                        sent_at=sent_at,
                        reference={
                            "kind": "message",
                            "id": str(message["id"]),
                            "conversation_id": conversation_id,
                            "recipient_id": sender_id,
                        },
                    )
                )
        return items, 1

    # -- metrics ----------------------------------------------------------------------------

    def metrics_cost(self, posts: int, followers: bool = False) -> dict[str, int]:
        return {"calls": -(-posts // METRICS_BATCH) + (1 if followers else 0)}

    def fetch_metrics(self, remote_ids: Sequence[str]) -> dict[str, Metrics]:
        """Read in batches of ``METRICS_BATCH`` ids (``GET /?ids=``). Meta fails a whole
        batch when one of its posts is gone (code 100): that batch is then read one post at
        a time, and the gone ones are left out."""
        found: dict[str, Metrics] = {}
        ids = [str(i) for i in remote_ids if str(i)]
        for start in range(0, len(ids), METRICS_BATCH):
            batch = ids[start : start + METRICS_BATCH]
            try:
                body = self._metrics_read(batch)
            except ConnectorError as error:
                if not _gone(error) or len(batch) == 1:
                    if _gone(error):
                        continue
                    raise
                body = {}
                for remote_id in batch:
                    try:
                        body |= self._metrics_read([remote_id])
                    except ConnectorError as each:
                        if not _gone(each):
                            raise
            for remote_id in batch:
                post = body.get(remote_id) if isinstance(body, dict) else None
                if isinstance(post, dict):
                    found[remote_id] = _metrics_of(post)
        return found

    def _metrics_read(self, ids: Sequence[str]) -> dict[str, Any]:
        body = self._json(
            "GET",
            "",
            params={
                "ids": ",".join(ids),
                "fields": (
                    "reactions.summary(total_count).limit(0),"
                    "comments.summary(total_count).limit(0),shares,"
                    "insights.metric(post_media_view)"
                ),
            },
        )
        return body if isinstance(body, dict) else {}

    def fetch_followers(self) -> int | None:
        page = self._json("GET", self.page_id, params={"fields": "followers_count"})
        value = page.get("followers_count")
        return int(value) if isinstance(value, int) else None


def _count(value: Any) -> int | None:
    return int(value) if isinstance(value, int) else None


def _metrics_of(post: Mapping[str, Any]) -> Metrics:
    reactions = ((post.get("reactions") or {}).get("summary") or {}).get("total_count")
    comments = ((post.get("comments") or {}).get("summary") or {}).get("total_count")
    shares = post.get("shares")
    # No "shares" field at all means nobody shared it (Meta leaves it out at zero).
    reposts = _count(shares.get("count")) if isinstance(shares, dict) else 0
    views = None
    for metric in (post.get("insights") or {}).get("data") or []:
        if metric.get("name") == "post_media_view":
            values = metric.get("values") or []
            views = _count(values[-1].get("value")) if values else None
    return Metrics(likes=_count(reactions), replies=_count(comments), reposts=reposts, views=views)
