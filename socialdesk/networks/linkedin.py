"""LinkedIn organisation pages through the Community Management API (issue 16, item 4).

From LinkedIn's reference on learn.microsoft.com (read on 2026-12-07): the Posts API
(``/linkedin/marketing/community-management/shares/posts-api``), the Images, Documents and
Videos APIs (``.../community-management/shares/images-api``, ``documents-api``,
``videos-api``), the "little text" format (``.../shares/little-text-format``), comments
(``.../shares/comments-api``), organisation access control
(``.../organizations/organization-access-control-by-role``), share statistics
(``.../organizations/share-statistics``), follower counts (``.../organizations/
organization-lookup-api``, ``networkSizes``), OAuth 2 (``/linkedin/shared/authentication/
authorization-code-flow``, ``programmatic-refresh-tokens``) and rate limits
(``/linkedin/shared/api-guide/concepts/rate-limits``).

No official LinkedIn Python SDK is maintained (LinkedIn's ``linkedin-api-python-client`` is a
beta that has not moved in years): httpx through ``networks.http.Api``.

Every call carries ``LinkedIn-Version`` (``VERSION``; LinkedIn keeps a version at least a
year, and refuses a call without one) and ``X-Restli-Protocol-Version: 2.0.0``. URNs are
percent-encoded in paths and query values (``urn%3Ali%3Aorganization%3A1``), while Rest.li's
``List(...)`` keeps its parentheses and commas.

Publishing: the text goes as ``commentary`` in the little text format, whose reserved
characters are escaped with a backslash and whose hashtags become ``{hashtag|\\#|word}``.
Media are uploaded before the post: an image through ``images?action=initializeUpload``
then a PUT of its bytes (2–20 images make a ``multiImage`` post), a PDF through the
Documents API the same way, a video through ``videos?action=initializeUpload``, a PUT of
each part LinkedIn asks for (keeping each part's ``ETag``), ``finalizeUpload``, then polling
``GET /rest/videos/{urn}`` until ``AVAILABLE`` (bounded; ``PROCESSING_FAILED`` is
permanent). The post's URN comes in the 201's ``x-restli-id`` header. The first comment is
a comment of the organisation through ``socialActions/{urn}/comments``.

Exactly once: LinkedIn takes no idempotency key. ``find_published`` reads the organisation's
recent posts (``/rest/posts?q=author``) and matches the commentary, and ``publish`` asks it
first, so a retry after a lost answer, or after a first comment that failed, finds the post
and only finishes what is missing. Accepted as inexact: the same text posted again on
purpose within ``RECONCILE_WINDOW`` is taken for the earlier post.

Inbox: the comments on the organisation's recent posts, and replies to them. Analytics:
``organizationalEntityShareStatistics`` and the follower count from ``networkSizes``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import quote

import httpx

from . import oauth
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
from .http import Api, OutcomeUnknown, json_of, retry_after_header

NETWORK = "linkedin"
LABEL = "LinkedIn"
API = "https://api.linkedin.com/rest"
# The Marketing API version this module was written against (YYYYMM).
VERSION = "202611"
TEXT_MAX = 3000
COMMENT_MAX = 1250  # the Comments API's limit on a comment's text
IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif")
IMAGE_MAX_PIXELS = 36_152_320
IMAGES_MAX = 20
DOCUMENT_TYPES = (
    "application/pdf",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
)
DOCUMENT_MAX_BYTES = 100 * 1024 * 1024
VIDEO_TYPES = ("video/mp4",)
VIDEO_MIN_BYTES = 75 * 1024
VIDEO_MAX_BYTES = 500 * 1024 * 1024
VIDEO_SECONDS = (3.0, 30 * 60.0)
RECONCILE_WINDOW = timedelta(days=2)
UPLOAD_HOSTS = ("linkedin.com", "licdn.com")

ABOUT = NetworkAbout(
    network=NETWORK,
    connect="oauth",
    text_max=TEXT_MAX,
    text_unit="codepoints",
    url_length=0,
    operator_setup=(
        "Create an app at developer.linkedin.com, verify it with the company page it belongs "
        "to, and request the Community Management API product (LinkedIn reviews it). Scopes: "
        "w_organization_social, r_organization_social, rw_organization_admin, "
        "r_organization_admin. Add the redirect URL shown on this page under Auth → "
        "Authorized redirect URLs. Set LINKEDIN_CLIENT_ID and LINKEDIN_CLIENT_SECRET (or "
        "LINKEDIN_CLIENT_SECRET_FILE). Refresh tokens are given only to apps LinkedIn has "
        "approved for them; otherwise the channel asks to be reconnected every 60 days."
    ),
    accounts=(
        "LinkedIn Pages (organisations) on which the person connecting is an administrator; "
        "personal profiles are not connected."
    ),
    tested="Recorded exchanges written from LinkedIn's API reference, served over real HTTP.",
    reads=(
        "Inbox: comments on the page's recent posts (the Comments API), with replies as the "
        "page. Analytics: impressions (views), clicks, likes, comments and reposts per post "
        "from organizationalEntityShareStatistics, and the page's followers; no mentions or "
        "messages (LinkedIn gives pages no API for them)."
    ),
    reference="https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/posts-api",
)

OAUTH = oauth.OAuthSpec(
    authorize_url="https://www.linkedin.com/oauth/v2/authorization",
    token_url="https://www.linkedin.com/oauth/v2/accessToken",  # noqa: S106
    scopes=(
        "w_organization_social",
        "r_organization_social",
        "rw_organization_admin",
        "r_organization_admin",
    ),
    # LinkedIn's PKCE flow is for native apps only; a web app sends its client secret.
    pkce=False,
)

NO_ACCOUNT = (
    "This LinkedIn login is not an administrator of any LinkedIn Page. Ask a page "
    "administrator to give you the Super admin or Content admin role, then connect again."
)


# -- errors ----------------------------------------------------------------------------------


def describe(response: httpx.Response) -> str:
    """LinkedIn's words: ``{"message", "serviceErrorCode", "status"}``."""
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase or f"HTTP {response.status_code}"
    if not isinstance(body, dict):
        return f"HTTP {response.status_code}"
    words = str(body.get("message") or body.get("error_description") or "")
    code = body.get("serviceErrorCode")
    if not words:
        return response.reason_phrase or f"HTTP {response.status_code}"
    return f"{words} (code {code})" if code is not None else words


def reset_at(response: httpx.Response) -> datetime | None:
    """LinkedIn's 429 carries no reset header: its limits are daily and reset at midnight
    UTC (the rate-limits page), so that is when to ask again, unless ``Retry-After`` says."""
    now = datetime.now(UTC)
    said = retry_after_header(response, now)
    if said is not None:
        return said
    return (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)


def _revoked(response: httpx.Response) -> bool:
    # 65600/65601/65602: the token is invalid, revoked or expired (answered as 401).
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("serviceErrorCode") in (65600, 65601, 65602)


def client(access_token: str, **kwargs: Any) -> Api:
    return Api(
        NETWORK,
        LABEL,
        headers={
            "Authorization": f"Bearer {access_token}",
            "LinkedIn-Version": VERSION,
            "X-Restli-Protocol-Version": "2.0.0",
        },
        describe=describe,
        reset_at=reset_at,
        revoked=_revoked,
        **kwargs,
    )


def urn_path(urn: str) -> str:
    return quote(urn, safe="")


def urn_list(urns: Sequence[str]) -> str:
    return "List(" + ",".join(quote(u, safe="") for u in urns) + ")"


# -- the little text format ----------------------------------------------------------------

_RESERVED = re.compile(r"([\\|{}@\[\]()<>#*_~])")
_HASHTAG = re.compile(r"(?<![\w&#])#(\w+)")


def little_text(text: str) -> str:
    """``text`` as LinkedIn's little text format: every reserved character escaped, each
    ``#word`` a hashtag template (unescaped, LinkedIn cuts the text at the first one)."""
    out = []
    position = 0
    for match in _HASHTAG.finditer(text):
        out.append(_RESERVED.sub(r"\\\1", text[position : match.start()]))
        out.append("{hashtag|\\#|" + _RESERVED.sub(r"\\\1", match.group(1)) + "}")
        position = match.end()
    out.append(_RESERVED.sub(r"\\\1", text[position:]))
    return "".join(out)


_TEMPLATE = re.compile(r"\{hashtag\|\\?#\|([^}]*)\}")


def plain_text(commentary: str) -> str:
    """The little text LinkedIn gives back, as people read it."""
    text = _TEMPLATE.sub(lambda m: "#" + m.group(1), commentary)
    return re.sub(r"\\(.)", r"\1", text)


def _comparable(text: str) -> str:
    return " ".join(plain_text(text).split()).casefold()


# -- connecting ----------------------------------------------------------------------------


def accounts(token: dict[str, Any]) -> list[oauth.Account]:
    """The LinkedIn Pages the person administers (``organizationAcls``), named by a batch
    read of the organisations."""
    api = client(str(token["access_token"]))
    try:
        acls = json_of(
            api.call(
                "GET",
                f"{API}/organizationAcls?q=roleAssignee&role=ADMINISTRATOR&state=APPROVED"
                "&count=100",
            ),
            LABEL,
        )
        urns = []
        for element in acls.get("elements") or []:
            urn = str(element.get("organization") or element.get("organizationTarget") or "")
            if urn.startswith("urn:li:organization:") and urn not in urns:
                urns.append(urn)
        if not urns:
            return []
        ids = [u.rsplit(":", 1)[1] for u in urns]
        named = json_of(
            api.call("GET", f"{API}/organizations?ids=List({','.join(ids)})"), LABEL
        ).get("results", {})
    finally:
        api.close()
    found = []
    for urn, number in zip(urns, ids, strict=True):
        organization = named.get(number) or {}
        name = str(organization.get("localizedName") or f"Page {number}")
        vanity = str(organization.get("vanityName") or number)
        credentials = {
            "access_token": token["access_token"],
            "refresh_token": token.get("refresh_token", ""),
            "expires_at": token.get("expires_at"),
            "organization_urn": urn,
        }
        found.append(oauth.Account(AccountInfo(urn, vanity, name), credentials))
    return found


def build(credentials: dict[str, Any], store: Callable[[dict[str, Any]], None]) -> Connector | None:
    if not credentials.get("access_token") or not credentials.get("organization_urn"):
        return None
    return LinkedInConnector(credentials, store)


# -- media rules -----------------------------------------------------------------------------


def _kind(media: MediaFile) -> str:
    if media.mime_type in IMAGE_TYPES:
        return "image"
    if media.mime_type in VIDEO_TYPES:
        return "video"
    if media.mime_type in DOCUMENT_TYPES:
        return "document"
    return ""


def media_problems(media: MediaFile) -> list[Problem]:
    """One file against LinkedIn's rules (the Images, Videos and Documents APIs)."""
    name = media.path.name
    kind = _kind(media)
    if not kind:
        return [
            Problem(
                "media",
                f"{name} is {media.mime_type}; LinkedIn takes JPEG, PNG or GIF images, MP4 "
                "videos, and PDF, PowerPoint or Word documents.",
            )
        ]
    try:
        size = media.size
    except OSError:
        return [Problem("media", f"{name} cannot be read.")]
    problems = []
    if kind == "image":
        try:
            from PIL import Image

            with Image.open(media.path) as image:
                pixels = image.width * image.height
        except Exception:  # noqa: BLE001 - a file Pillow cannot open is said as such
            return [Problem("media", f"{name} is not an image LinkedIn can read.")]
        if pixels > IMAGE_MAX_PIXELS:
            problems.append(
                Problem(
                    "media",
                    f"{name} has {pixels:,} pixels; LinkedIn takes images up to "
                    f"{IMAGE_MAX_PIXELS:,} pixels. Make it smaller.",
                )
            )
    elif kind == "document":
        if size > DOCUMENT_MAX_BYTES:
            problems.append(
                Problem(
                    "media",
                    f"{name} is {size / 1e6:.1f} MB; LinkedIn takes documents up to 100 MB.",
                )
            )
    else:
        if not VIDEO_MIN_BYTES <= size <= VIDEO_MAX_BYTES:
            problems.append(
                Problem(
                    "media",
                    f"{name} is {size / 1e6:.1f} MB; LinkedIn takes videos from 75 KB to 500 MB.",
                )
            )
        from socialdesk.content.media import probe_video

        facts = probe_video(str(media.path))
        low, high = VIDEO_SECONDS
        if facts is not None and facts.duration is not None and not low <= facts.duration <= high:
            problems.append(
                Problem(
                    "media",
                    f"{name} lasts {facts.duration:.0f} seconds; LinkedIn takes videos from 3 "
                    "seconds to 30 minutes.",
                )
            )
    return problems


# -- the connector -------------------------------------------------------------------------


class LinkedInConnector(Connector):
    """One LinkedIn Page, with the token of one of its administrators."""

    network = NETWORK
    # The rate-limits page publishes no fixed figures (each app sees its own in the developer
    # portal, and daily limits reset at midnight UTC); the Share API's documented member limit
    # was 150 shares a day, which posts and comments are counted against here.
    rate_limits: ClassVar[tuple[RateLimit, ...]] = (RateLimit("posts", 150, timedelta(days=1)),)
    # LinkedIn states no read figure either: this is Socialdesk's own daily budget per page,
    # well under what the developer portal shows for a Community Management app.
    read_limits: ClassVar[tuple[RateLimit, ...]] = (RateLimit("reads", 5000, timedelta(days=1)),)
    reads = True
    measures = True
    metric_table: ClassVar[tuple[MetricInfo, ...]] = (
        MetricInfo(
            "views", "impressionCount (organizationalEntityShareStatistics)", "about a day behind"
        ),
        MetricInfo(
            "clicks", "clickCount (organizationalEntityShareStatistics)", "about a day behind"
        ),
        MetricInfo(
            "likes", "likeCount (organizationalEntityShareStatistics)", "about a day behind"
        ),
        MetricInfo(
            "replies", "commentCount (organizationalEntityShareStatistics)", "about a day behind"
        ),
        MetricInfo(
            "reposts", "shareCount (organizationalEntityShareStatistics)", "about a day behind"
        ),
        MetricInfo(
            "followers", "firstDegreeSize (networkSizes, COMPANY_FOLLOWED_BY_MEMBER)", "current"
        ),
    )
    metric_note = "LinkedIn gives no quote count; unique impressions and engagement are not kept."

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
        self.organization = str(credentials["organization_urn"])
        self.media_timeout = media_timeout
        self.timeout = timeout  # seconds for one call (tests shorten it)
        self.poll_interval = poll_interval
        self._api: Api | None = None

    def __repr__(self) -> str:
        return f"<LinkedInConnector {self.organization}>"

    # -- plumbing --------------------------------------------------------------------------

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
        return {"posts": 1 + (1 if content.first_comment else 0)}

    def validate(self, content: DeliveryContent) -> list[Problem]:
        if content.action == "reply":
            if not content.text.strip():
                return [Problem("text", "Write the reply.")]
            if len(content.text) > COMMENT_MAX:
                return [
                    Problem("text", f"A LinkedIn comment takes up to {COMMENT_MAX} characters.")
                ]
            return []
        if content.action != "post":
            return self.action_problems(content)
        problems = []
        if len(content.text) > TEXT_MAX:
            problems.append(
                Problem(
                    "text",
                    f"The text has {len(content.text)} characters; LinkedIn takes up to "
                    f"{TEXT_MAX}. Shorten it by {len(content.text) - TEXT_MAX}.",
                )
            )
        if not content.text.strip():
            # LinkedIn takes a post of media alone, but its text is how a lost answer is
            # found again (no idempotency key): Socialdesk asks for some.
            problems.append(Problem("text", "Write the post's text."))
        if content.thread:
            problems.append(
                Problem(
                    "thread",
                    "LinkedIn has no threads: put the parts in one post, or use a first comment.",
                )
            )
        if len(content.first_comment) > COMMENT_MAX:
            problems.append(
                Problem(
                    "first_comment", f"A LinkedIn comment takes up to {COMMENT_MAX} characters."
                )
            )
        kinds = [_kind(m) for m in content.media]
        for media in content.media:
            problems.extend(media_problems(media))
        if kinds and len(set(kinds)) > 1:
            problems.append(
                Problem(
                    "media", "A LinkedIn post has images, or one video, or one document: not a mix."
                )
            )
        elif kinds and kinds[0] in ("video", "document") and len(kinds) > 1:
            problems.append(Problem("media", f"A LinkedIn post takes one {kinds[0]}."))
        elif kinds.count("image") > IMAGES_MAX:
            problems.append(
                Problem(
                    "media",
                    f"A LinkedIn post takes up to {IMAGES_MAX} images; "
                    f"remove {len(kinds) - IMAGES_MAX}.",
                )
            )
        if content.link is not None and content.media:
            problems.append(Problem("link", "A LinkedIn post has a link card or media, not both."))
        return problems

    # -- publishing ------------------------------------------------------------------------

    def publish(self, content: DeliveryContent, idempotency_key: str) -> Published:
        try:
            return self._publish(content, idempotency_key)
        except OSError as error:  # a media file gone from disk since it was checked
            name = str(error.filename).rsplit("/", 1)[-1] if error.filename else "a media file"
            raise ConnectorError(f"{name} cannot be read.", permanent=True) from error

    def _publish(self, content: DeliveryContent, idempotency_key: str) -> Published:
        if content.action == "reply":
            return self._reply(content)
        if content.action != "post":
            raise ConnectorError(self.action_problems(content)[0].message, permanent=True)
        found = self._find_post(content)
        if found is None:
            urn = self._create_post(content)
            has_comment = False
        else:
            urn = found
            has_comment = bool(content.first_comment) and self._has_comment(
                urn, content.first_comment
            )
        if content.first_comment and not has_comment:
            self._comment(urn, content.first_comment)
        return Published(urn, post_url(urn))

    def _create_post(self, content: DeliveryContent) -> str:
        body: dict[str, Any] = {
            "author": self.organization,
            "commentary": little_text(content.text),
            "visibility": "PUBLIC",
            "distribution": {
                "feedDistribution": "MAIN_FEED",
                "targetEntities": [],
                "thirdPartyDistributionChannels": [],
            },
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
        }
        media = list(content.media)
        kinds = [_kind(m) for m in media]
        if kinds and kinds[0] == "image" and len(media) > 1:
            images = [
                {"id": self._upload(m, "images"), "altText": m.alt_text[:4086]} for m in media
            ]
            body["content"] = {"multiImage": {"images": images}}
        elif kinds and kinds[0] == "image":
            body["content"] = {
                "media": {
                    "id": self._upload(media[0], "images"),
                    "altText": media[0].alt_text[:4086],
                }
            }
        elif kinds and kinds[0] == "document":
            body["content"] = {
                "media": {
                    "id": self._upload(media[0], "documents"),
                    "title": (media[0].alt_text or media[0].path.stem)[:400],
                }
            }
        elif kinds and kinds[0] == "video":
            body["content"] = {
                "media": {
                    "id": self._upload_video(media[0]),
                    "title": (media[0].alt_text or media[0].path.stem)[:400],
                }
            }
        elif content.link is not None:
            article: dict[str, Any] = {"source": content.link.url}
            if content.link.title:
                article["title"] = content.link.title
            if content.link.description:
                article["description"] = content.link.description
            body["content"] = {"article": article}
        response = self.api().call("POST", f"{API}/posts", json=body)
        urn = response.headers.get("x-restli-id", "") or self._find_post(content) or ""
        if not urn:
            # Created (201) but neither said nor found yet: the engine reconciles later.
            raise OutcomeUnknown("LinkedIn created the post but did not say its id.")
        return urn

    def _upload(self, media: MediaFile, kind: str) -> str:
        """An image or a document: initialize, PUT the bytes, the asset's URN. Uploads make no
        post, so a lost answer here is simply tried again."""
        key = "image" if kind == "images" else "document"
        try:
            answer = json_of(
                self.api().call(
                    "POST",
                    f"{API}/{kind}?action=initializeUpload",
                    json={"initializeUploadRequest": {"owner": self.organization}},
                ),
                LABEL,
            )["value"]
            upload_url = _checked_upload_url(str(answer["uploadUrl"]))
            self.api().call(
                "PUT",
                upload_url,
                content=media.path.read_bytes(),
                headers={"Content-Type": "application/octet-stream"},
            )
        except OutcomeUnknown as error:
            raise ConnectorError(
                f"LinkedIn did not answer the upload of {media.path.name}."
            ) from error
        except (KeyError, TypeError) as error:
            raise ConnectorError("LinkedIn's answer to an upload was not understood.") from error
        return str(answer[key])

    def _upload_video(self, media: MediaFile) -> str:
        size = media.size
        try:
            answer = json_of(
                self.api().call(
                    "POST",
                    f"{API}/videos?action=initializeUpload",
                    json={
                        "initializeUploadRequest": {
                            "owner": self.organization,
                            "fileSizeBytes": size,
                            "uploadCaptions": False,
                            "uploadThumbnail": False,
                        }
                    },
                ),
                LABEL,
            )["value"]
            video = str(answer["video"])
            etags = []
            for part in answer["uploadInstructions"]:
                first, last = int(part["firstByte"]), int(part["lastByte"])
                response = self.api().call(
                    "PUT",
                    _checked_upload_url(str(part["uploadUrl"])),
                    content=_piece(media, first, last),
                    headers={"Content-Type": "application/octet-stream"},
                )
                etag = response.headers.get("etag", "")
                if not etag:
                    raise ConnectorError("LinkedIn took a part of the video without an ETag.")
                etags.append(etag)
            self.api().call(
                "POST",
                f"{API}/videos?action=finalizeUpload",
                json={
                    "finalizeUploadRequest": {
                        "video": video,
                        "uploadToken": answer.get("uploadToken", ""),
                        "uploadedPartIds": etags,
                    }
                },
            )
        except OutcomeUnknown as error:
            raise ConnectorError(
                f"LinkedIn did not answer the upload of {media.path.name}."
            ) from error
        except (KeyError, TypeError, ValueError) as error:
            raise ConnectorError(
                "LinkedIn's answer to a video upload was not understood."
            ) from error
        self._wait_for_video(video, media.path.name)
        return video

    def _wait_for_video(self, video: str, name: str) -> None:
        deadline = time.monotonic() + self.media_timeout
        while True:
            answer = self._read(f"videos/{urn_path(video)}")
            status = str(answer.get("status", ""))
            if status == "AVAILABLE":
                return
            if status == "PROCESSING_FAILED":
                reason = str(answer.get("processingFailureReason") or "")
                raise ConnectorError(
                    f"LinkedIn could not process {name}"
                    + (f" ({reason})" if reason else "")
                    + ". Check the video's format (MP4), length and size.",
                    permanent=True,
                )
            if time.monotonic() >= deadline:
                raise ConnectorError(
                    f"LinkedIn is still processing {name} after {self.media_timeout:g} seconds."
                )
            time.sleep(self.poll_interval)

    def _comment(self, urn: str, text: str, parent: str = "") -> str:
        body: dict[str, Any] = {
            "actor": self.organization,
            "object": urn,
            "message": {"text": text},
        }
        if parent:
            body["parentComment"] = parent
        target = parent or urn
        try:
            response = self.api().call(
                "POST", f"{API}/socialActions/{urn_path(target)}/comments", json=body
            )
        except OutcomeUnknown:
            # The post exists; whether the comment does is one read away.
            found = self._comment_by_us(target, text)
            if found:
                return found
            raise ConnectorError(
                "LinkedIn did not answer when the comment was sent, and it is not there."
            ) from None
        answer = response.json() if response.content else {}
        return str(
            response.headers.get("x-restli-id")
            or (answer.get("commentUrn") if isinstance(answer, dict) else "")
            or ""
        )

    def _comments(self, urn: str) -> list[dict[str, Any]]:
        answer = self._read(f"socialActions/{urn_path(urn)}/comments?count=100")
        return [c for c in answer.get("elements") or [] if isinstance(c, dict)]

    def _comment_by_us(self, urn: str, text: str) -> str:
        wanted = _comparable(text)
        for comment in self._comments(urn):
            said = (comment.get("message") or {}).get("text", "")
            if comment.get("actor") == self.organization and _comparable(said) == wanted:
                return str(comment.get("commentUrn") or comment.get("id") or "")
        return ""

    def _has_comment(self, urn: str, text: str) -> bool:
        return bool(self._comment_by_us(urn, text))

    def _reply(self, content: DeliveryContent) -> Published:
        target = content.target
        post, parent = str(target.get("object", "")), _thread_of(target)
        if not post or not parent:
            raise ConnectorError(
                "This reply does not say which LinkedIn comment it answers.", permanent=True
            )
        found = self._comment_by_us(parent, content.text)
        urn = found or self._comment(post, content.text, parent)
        return Published(urn, post_url(post))

    def find_published(
        self, idempotency_key: str, content: DeliveryContent | None = None
    ) -> Published | None:
        if content is None:
            return None
        if content.action == "reply":
            parent = _thread_of(content.target)
            found = self._comment_by_us(parent, content.text) if parent else ""
            return (
                Published(found, post_url(str(content.target.get("object", "")))) if found else None
            )
        urn = self._find_post(content)
        return Published(urn, post_url(urn)) if urn else None

    def _recent_posts(self, count: int = 20) -> list[dict[str, Any]]:
        answer = self._read(
            f"posts?author={urn_path(self.organization)}&q=author&count={count}&sortBy=LAST_MODIFIED"
        )
        return [p for p in answer.get("elements") or [] if isinstance(p, dict)]

    def _find_post(self, content: DeliveryContent) -> str | None:
        """Our recent post with this text (``RECONCILE_WINDOW``), or None."""
        wanted = _comparable(little_text(content.text))
        if not wanted:
            return None
        since = (datetime.now(UTC) - RECONCILE_WINDOW).timestamp() * 1000
        for post in self._recent_posts():
            made = post.get("createdAt") or post.get("publishedAt") or 0
            if isinstance(made, int | float) and made < since:
                continue
            if post.get("lifecycleState", "PUBLISHED") != "PUBLISHED":
                continue
            if _comparable(str(post.get("commentary", ""))) == wanted:
                return str(post["id"])
        return None

    def delete(self, remote_id: str) -> None:
        gone_already(self.api(), "DELETE", f"{API}/posts/{urn_path(remote_id)}")

    def check_connection(self) -> AccountInfo:
        number = self.organization.rsplit(":", 1)[1]
        organization = self._read(f"organizations/{number}")
        return AccountInfo(
            self.organization,
            str(organization.get("vanityName") or number),
            str(organization.get("localizedName") or ""),
        )

    # -- inbox -----------------------------------------------------------------------------

    POSTS_READ = 10  # the recent posts whose comments each read looks at

    def read_cost(self) -> dict[str, int]:
        return {"reads": 1 + self.POSTS_READ}

    def fetch_inbox(self, cursor: str, since: datetime) -> InboxPage:
        after = int(cursor) if cursor.isdigit() else int(since.timestamp() * 1000)
        posts = self._recent_posts(self.POSTS_READ)
        spent = 1
        items = []
        newest = after
        for post in posts:
            urn = str(post.get("id", ""))
            if not urn:
                continue
            spent += 1
            for comment in self._comments(urn):
                actor = str(comment.get("actor") or "")
                created = (comment.get("created") or {}).get("time") or 0
                if actor == self.organization or not isinstance(created, int) or created <= after:
                    continue
                newest = max(newest, created)
                comment_urn = str(comment.get("commentUrn") or comment.get("id") or "")
                parent = str(comment.get("parentComment") or "")
                items.append(
                    InboxItem(
                        remote_id=comment_urn,
                        kind=ItemKind.COMMENT,
                        thread_key=f"{urn}|{actor}",
                        author=InboxAuthor(remote_id=actor, handle=actor.rsplit(":", 1)[-1]),
                        text=str((comment.get("message") or {}).get("text", "")),
                        sent_at=datetime.fromtimestamp(created / 1000, UTC),
                        remote_url=post_url(urn),
                        reference={
                            "object": urn,
                            "comment_urn": comment_urn,
                            "parent_comment": parent,
                        },
                        parent_remote_id=parent,
                        our_post_remote_id=urn,
                    )
                )
        items.sort(key=lambda item: item.sent_at)
        return InboxPage(items, str(newest), {"reads": spent})

    # -- metrics ---------------------------------------------------------------------------

    def metrics_cost(self, posts: int, followers: bool = False) -> dict[str, int]:
        return {"reads": -(-posts // 20) * 2 + (1 if followers else 0)}

    def fetch_metrics(self, remote_ids: Sequence[str]) -> dict[str, Metrics]:
        found: dict[str, Metrics] = {}
        shares = [r for r in remote_ids if r.startswith("urn:li:share:")]
        ugc = [r for r in remote_ids if r.startswith("urn:li:ugcPost:")]
        for param, urns in (("shares", shares), ("ugcPosts", ugc)):
            for start in range(0, len(urns), 20):
                batch = urns[start : start + 20]
                answer = self._read(
                    "organizationalEntityShareStatistics?q=organizationalEntity"
                    f"&organizationalEntity={urn_path(self.organization)}&{param}={urn_list(batch)}"
                )
                for element in answer.get("elements") or []:
                    urn = str(element.get("share") or element.get("ugcPost") or "")
                    stats = element.get("totalShareStatistics") or {}
                    if urn in batch:
                        found[urn] = Metrics(
                            likes=_count(stats.get("likeCount")),
                            reposts=_count(stats.get("shareCount")),
                            replies=_count(stats.get("commentCount")),
                            views=_count(stats.get("impressionCount")),
                            clicks=_count(stats.get("clickCount")),
                        )
        return found

    def fetch_followers(self) -> int | None:
        answer = self._read(
            f"networkSizes/{urn_path(self.organization)}?edgeType=COMPANY_FOLLOWED_BY_MEMBER"
        )
        return _count(answer.get("firstDegreeSize"))


def _piece(media: MediaFile, first: int, last: int) -> bytes:
    """Bytes ``first`` to ``last`` of the file, read alone (a video may be hundreds of MB)."""
    with media.path.open("rb") as opened:
        opened.seek(first)
        return opened.read(last - first + 1)


def _thread_of(target: Mapping[str, Any]) -> str:
    """The comment a reply goes under: LinkedIn keeps two levels, so a reply to a reply goes
    under the top-level comment that one answers."""
    return str(target.get("parent_comment") or target.get("comment_urn") or "")


def _count(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) else None


def gone_already(api: Api, method: str, url: str) -> None:
    """A deletion: done when the network says so, or says there is nothing there (404, 410).
    A lost answer is tried again: deleting twice is harmless."""
    try:
        response = api.client.request(method, api.url(url))
    except httpx.HTTPError as error:
        raise ConnectorError(
            f"{api.label} did not answer the deletion; it will be tried again."
        ) from error
    if response.status_code in (404, 410):
        return
    api.raise_for(response)


def post_url(urn: str) -> str:
    return f"https://www.linkedin.com/feed/update/{urn}/" if urn else ""


def _checked_upload_url(url: str) -> str:
    """An upload address LinkedIn gave: only ever one of LinkedIn's own hosts, over HTTPS."""
    parsed = httpx.URL(url)
    host = parsed.host or ""
    if parsed.scheme != "https" or not any(
        host == h or host.endswith("." + h) for h in UPLOAD_HOSTS
    ):
        raise ConnectorError(
            "LinkedIn gave an upload address that is not LinkedIn's.", permanent=True
        )
    return url
