"""Google Business Profile: local posts on a business location, its reviews in the inbox, and
its daily performance numbers (issue 16, item 3).

No Google server runs here: tested against exchanges written by hand from Google's reference
(``tests/recordings/google_business/``), served over real HTTP on 127.0.0.1 to this code.
Google's OAuth, errors and token refresh are ``networks.google``'s; no SDK (said there).

Connecting: one Google login manages accounts (``mybusinessaccountmanagement.googleapis.com
/v1/accounts``: a personal account, location groups, organisations), each with locations
(``mybusinessbusinessinformation.googleapis.com/v1/{account}/locations``). Every location is
one channel; a login that manages several offers the choose page. The channel stores the
location's v4 name (``accounts/1/locations/2``: the local posts' and reviews' parent) and its
v1 name (``locations/2``: the Performance API's).

Local posts (``mybusiness.googleapis.com/v4/{account}/{location}/localPosts``): the post's
``summary`` is the text (at most 1,500 characters); ``topicType`` is ``STANDARD`` (an update),
``EVENT`` (with a title and a schedule) or ``OFFER`` (an event with a coupon code, a redeem
address and terms); a ``callToAction`` button (``BOOK``, ``ORDER``, ``SHOP``, ``LEARN_MORE``,
``SIGN_UP`` with an address, ``CALL`` with the location's phone); and at most one photo, which
Google fetches from a public address (``media[].sourceUrl``): Socialdesk gives its own
``SITE_URL`` + ``MEDIA_URL`` address of the file, so **the operator must serve Socialdesk's
media at a public https address** (``SITE_URL``), as for Instagram. Socialdesk's post model has
no fields for the topic, event, offer or button yet: ``GoogleBusinessContent`` carries them,
and ``publishing.connectors.content_for`` fills it from what a post has (an update whose
button is ``LEARN_MORE`` to the text's first link). A new post may answer ``state:
PROCESSING``: it is read again (bounded) until ``LIVE``; ``REJECTED`` (Google's content policy)
fails with Google's words.

Exactly once: the v4 API has no idempotency key or request id. ``find_published`` reads the
location's recent local posts and matches the summary (whitespace folded) within
``RECONCILE_WINDOW``; two identical posts in that window are indistinguishable.

Inbox: the location's reviews (``{location}/reviews``, newest change first) are inbox items of
kind ``comment`` (the closest ``ItemKind``: public words about the business that the owner
answers in public, under them; a "review" kind with its stars would say it better), one
conversation per review, the stars at the start of the text. Google gives no stable id for a
reviewer (a name and a photo only). A review edited after it was read is not read again (the
inbox is idempotent by remote id). A reply is ``PUT {review}/reply``, which replaces the
owner's reply: doing it twice is one reply.

Numbers: Google retired the per-post insights of local posts (the v4 ``reportInsights``) with
the Business Profile Performance API, which gives a location's daily totals only
(``fetchMultiDailyMetricsTimeSeries``: impressions on Search and Maps, calls, website clicks,
direction requests). So ``measures`` is False (no post has numbers of its own), and
``fetch_location_metrics`` reads a location's totals for a period, mapped to views and
clicks, for a channel-level report.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import urlsplit

from django.conf import settings

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
from .http import public_media_url

NETWORK = "google_business"
LABEL = "Google Business Profile"
SCOPES = ["https://www.googleapis.com/auth/business.manage"]
OAUTH = google.spec(SCOPES)

ACCOUNTS_API = "https://mybusinessaccountmanagement.googleapis.com/v1"
INFO_API = "https://mybusinessbusinessinformation.googleapis.com/v1"
POSTS_API = "https://mybusiness.googleapis.com/v4"
PERFORMANCE_API = "https://businessprofileperformance.googleapis.com/v1"

TEXT_MAX = 1500
REPLY_MAX_BYTES = 4096  # a review reply's comment, in bytes
TOPICS = ("STANDARD", "EVENT", "OFFER")
ACTIONS = ("BOOK", "ORDER", "SHOP", "LEARN_MORE", "SIGN_UP", "CALL")
PHOTO_TYPES = ("image/jpeg", "image/png")
PHOTO_MIN_BYTES = 10 * 1024
PHOTO_MAX_BYTES = 5 * 1024 * 1024
RECONCILE_WINDOW = timedelta(days=2)
LOCATION_READ_MASK = "name,title,storefrontAddress"
STARS = {"ONE": 1, "TWO": 2, "THREE": 3, "FOUR": 4, "FIVE": 5}
VIEW_METRICS = (
    "BUSINESS_IMPRESSIONS_DESKTOP_MAPS",
    "BUSINESS_IMPRESSIONS_DESKTOP_SEARCH",
    "BUSINESS_IMPRESSIONS_MOBILE_MAPS",
    "BUSINESS_IMPRESSIONS_MOBILE_SEARCH",
)
CLICK_METRICS = ("WEBSITE_CLICKS", "CALL_CLICKS", "BUSINESS_DIRECTION_REQUESTS")
_LINK = re.compile(r"https?://[^\s<>\"]+")
_SPACE = re.compile(r"\s+")

NO_ACCOUNT = (
    "This Google login manages no Business Profile location. Sign in with the Google account "
    "that owns or manages the business on business.google.com, then connect again."
)

ABOUT = NetworkAbout(
    network=NETWORK,
    connect="oauth",
    text_max=TEXT_MAX,
    text_unit="codepoints",
    operator_setup=(
        "In the Google Cloud console: a project with the My Business Account Management, My "
        "Business Business Information, Google My Business (v4) and Business Profile "
        "Performance APIs enabled (Google grants Business Profile API access on request: "
        "the GBP API contact form), an OAuth consent screen with the business.manage scope, "
        "and an OAuth client of type Web application whose redirect URI is the address shown "
        "on this page. Set GOOGLE_BUSINESS_CLIENT_ID and GOOGLE_BUSINESS_CLIENT_SECRET (or "
        "GOOGLE_BUSINESS_CLIENT_SECRET_FILE). Photos: Google fetches them from SITE_URL, so "
        "Socialdesk's /media/ must be reachable from the internet over https."
    ),
    accounts=(
        "Verified Business Profile locations the Google account owns or manages; each "
        "location is one channel."
    ),
    tested=(
        "Recorded exchanges written by hand from Google's Business Profile API reference, "
        "served over real HTTP."
    ),
    reads=(
        "Reviews into the inbox, with replies. No per-post numbers: Google retired local "
        "post insights; the Performance API gives the location's daily impressions, calls "
        "and website clicks."
    ),
    reference="https://developers.google.com/my-business/reference/rest",
)


@dataclass(frozen=True)
class GoogleBusinessContent(DeliveryContent):
    """``DeliveryContent`` with what only a local post has: its ``topic`` (``TOPICS``), the
    button (``action_type`` of ``ACTIONS`` and its ``action_url``), and for an event or an
    offer its title and schedule (times as the business's wall clock) and the offer's
    coupon, redeem address and terms."""

    topic: str = "STANDARD"
    action_type: str = ""
    action_url: str = ""
    event_title: str = ""
    event_start: datetime | None = None
    event_end: datetime | None = None
    coupon_code: str = ""
    redeem_url: str = ""
    terms: str = ""


def first_link(text: str) -> str:
    found = _LINK.search(text or "")
    return found.group(0).rstrip(".,;:!?)") if found else ""


def content_from(fields: Mapping[str, Any]) -> GoogleBusinessContent:
    """A post's content as a local post: an update whose button is ``LEARN_MORE`` to the
    text's first link (the post model has no topic, event, offer or button of its own)."""
    link = first_link(str(fields.get("text") or ""))
    return GoogleBusinessContent(
        **fields, action_type="LEARN_MORE" if link else "", action_url=link
    )


def _business(content: DeliveryContent) -> GoogleBusinessContent:
    if isinstance(content, GoogleBusinessContent):
        return content
    return content_from(
        {
            "text": content.text,
            "media": content.media,
            "link": content.link,
            "thread": content.thread,
            "first_comment": content.first_comment,
            "language": content.language,
            "action": content.action,
            "target": content.target,
        }
    )


def _site_is_public() -> bool:
    parts = urlsplit(str(settings.SITE_URL))
    host = parts.hostname or ""
    return parts.scheme == "https" and host not in ("localhost", "127.0.0.1", "::1")


def media_problems(media: MediaFile) -> list[Problem]:
    """A local post's photo: JPEG or PNG, 10 KB to 5 MB (Google's photo guidelines)."""
    name = media.path.name
    if media.mime_type not in PHOTO_TYPES:
        return [
            Problem(
                "media",
                f"{name} is {media.mime_type}; a Google Business Profile post takes one JPEG or "
                "PNG photo.",
            )
        ]
    try:
        size = media.size
    except OSError:
        return [Problem("media", f"{name} cannot be read.")]
    if size < PHOTO_MIN_BYTES or size > PHOTO_MAX_BYTES:
        return [
            Problem(
                "media",
                f"{name} is {size / 1024:.0f} KB; Google takes photos from 10 KB to 5 MB.",
            )
        ]
    return []


def accounts(token: dict[str, Any]) -> list[oauth.Account]:
    """Every location of every account the login manages, each with its credentials."""
    credentials = google.token_credentials(token)
    session = google.Session(NETWORK, LABEL, credentials, lambda fresh: None)
    found: list[oauth.Account] = []
    try:
        for account in _pages(session, f"{ACCOUNTS_API}/accounts", "accounts", {}):
            account_name = str(account.get("name") or "")
            if not account_name:
                continue
            params = {"readMask": LOCATION_READ_MASK, "pageSize": "100"}
            url = f"{INFO_API}/{account_name}/locations"
            for location in _pages(session, url, "locations", params):
                location_id = str(location.get("name") or "")  # locations/2
                if not location_id:
                    continue
                title = str(location.get("title") or location_id)
                info = AccountInfo(location_id, _handle(title, location), title)
                found.append(
                    oauth.Account(
                        info,
                        {
                            **credentials,
                            "account_name": account_name,
                            "location_id": location_id,
                            "location_name": f"{account_name}/{location_id}",
                            "title": title,
                        },
                    )
                )
    finally:
        session.close()
    return found


def _handle(title: str, location: Mapping[str, Any]) -> str:
    """How the channel is named: the business's title and its town, so two branches of one
    bakery read apart."""
    address = location.get("storefrontAddress") or {}
    town = str(address.get("locality") or "") if isinstance(address, dict) else ""
    return f"{title} ({town})" if town else title


def _pages(
    session: google.Session, url: str, key: str, params: Mapping[str, str], limit: int = 20
) -> list[dict[str, Any]]:
    """Every item of a listed collection, following ``nextPageToken`` (at most ``limit``
    pages)."""
    found: list[dict[str, Any]] = []
    token = ""
    for _ in range(limit):
        query = {**params, **({"pageToken": token} if token else {})}
        body = session.json("GET", url, params=query) or {}
        found += [item for item in body.get(key) or [] if isinstance(item, dict)]
        token = str(body.get("nextPageToken") or "")
        if not token:
            break
    return found


def build(
    credentials: dict[str, Any], store: Callable[[dict[str, Any]], None]
) -> GoogleBusinessConnector | None:
    if not credentials.get("refresh_token") or not credentials.get("location_name"):
        return None
    return GoogleBusinessConnector(credentials, store)


def _comparable(text: str) -> str:
    return _SPACE.sub(" ", text or "").strip()


def _date(value: datetime) -> dict[str, int]:
    return {"year": value.year, "month": value.month, "day": value.day}


def _time(value: datetime) -> dict[str, int]:
    return {"hours": value.hour, "minutes": value.minute, "seconds": 0, "nanos": 0}


class GoogleBusinessConnector(Connector):
    """One Business Profile location. Not thread-safe: one per worker thread."""

    network = NETWORK
    # Google's Business Profile "Usage limits" page: 300 queries per minute per project for
    # the APIs, and at most 10 edits per minute to one location.
    rate_limits: ClassVar[tuple[RateLimit, ...]] = (
        RateLimit("requests", 300, timedelta(minutes=1)),
        RateLimit("location edits", 10, timedelta(minutes=1)),
    )
    reads = True
    measures = False
    metric_table: ClassVar[tuple[MetricInfo, ...]] = (
        MetricInfo(
            "views",
            "BUSINESS_IMPRESSIONS_* (Performance API, the location's daily totals)",
            "Daily; Google's numbers for a day settle a few days later.",
        ),
        MetricInfo(
            "clicks",
            "WEBSITE_CLICKS + CALL_CLICKS + BUSINESS_DIRECTION_REQUESTS (Performance API)",
            "Daily; Google's numbers for a day settle a few days later.",
        ),
    )
    metric_note: ClassVar[str] = (
        "Local posts have no numbers of their own any more: Google retired local post "
        "insights. The Business Profile Performance API gives the location's daily "
        "impressions, calls, website clicks and direction requests; no likes, no followers."
    )

    def __init__(
        self,
        credentials: Mapping[str, Any],
        store: Callable[[dict[str, Any]], None],
        *,
        poll_interval: float = 1.0,
        poll_timeout: float = 30.0,
        timeout: float | None = None,
    ) -> None:
        options = {"timeout": timeout} if timeout is not None else {}
        self.session = google.Session(NETWORK, LABEL, credentials, store, **options)
        self.location_name = str(credentials["location_name"])  # accounts/1/locations/2
        self.location_id = str(
            credentials.get("location_id") or self.location_name.split("/", 2)[-1]
        )
        self.poll_interval = poll_interval
        self.poll_timeout = poll_timeout

    def __repr__(self) -> str:
        return f"<GoogleBusinessConnector {self.location_name}>"

    # -- rules ------------------------------------------------------------------------------

    def cost(self, content: DeliveryContent) -> dict[str, int]:
        # The create, and at least one read of a post Google is still processing.
        return {"requests": 2, "location edits": 1}

    def validate(self, content: DeliveryContent) -> list[Problem]:
        if content.action == "reply":
            return self._reply_problems(content)
        if content.action != "post":
            return self.action_problems(content)
        post = _business(content)
        problems: list[Problem] = []
        if len(post.text) > TEXT_MAX:
            problems.append(
                Problem(
                    "text",
                    f"The text has {len(post.text)} characters; a Google Business Profile "
                    f"post takes {TEXT_MAX}. Remove {len(post.text) - TEXT_MAX}.",
                )
            )
        if post.topic not in TOPICS:
            problems.append(Problem("topic", f"The post type must be one of {', '.join(TOPICS)}."))
        if post.topic == "STANDARD" and not post.text.strip():
            problems.append(Problem("text", "Write the update's text."))
        if post.topic in ("EVENT", "OFFER"):
            what = "event" if post.topic == "EVENT" else "offer"
            if not post.event_title.strip():
                problems.append(Problem("event", f"Give the {what} a title."))
            if post.event_start is None or post.event_end is None:
                problems.append(Problem("event", f"Give the {what} a start and an end."))
            elif post.event_end < post.event_start:
                problems.append(Problem("event", f"The {what} ends before it starts."))
        if post.thread:
            problems.append(Problem("thread", "A Google Business Profile post has no thread."))
        if post.first_comment:
            problems.append(
                Problem("first_comment", "Google Business Profile posts have no comments.")
            )
        problems += self._button_problems(post)
        if len(post.media) > 1:
            problems.append(
                Problem("media", "A Google Business Profile post takes one photo; keep one.")
            )
        for media in post.media[:1]:
            problems += media_problems(media)
            if public_media_url(media.path) is None:
                problems.append(Problem("media", f"{media.path.name} is not in the media library."))
            elif not _site_is_public():
                problems.append(
                    Problem(
                        "media",
                        "Google fetches the photo from this Socialdesk's address "
                        f"({settings.SITE_URL}), which is not a public https address: ask "
                        "your administrator to set SITE_URL, or post without the photo.",
                    )
                )
        return problems

    def _button_problems(self, post: GoogleBusinessContent) -> list[Problem]:
        if not post.action_type:
            return []
        if post.action_type not in ACTIONS:
            return [Problem("button", f"The button must be one of {', '.join(ACTIONS)}.")]
        if post.action_type == "CALL":
            return []  # Google calls the location's own phone number
        if not post.action_url.startswith(("https://", "http://")):
            return [Problem("button", "The button needs an http(s) address.")]
        return []

    def _reply_problems(self, content: DeliveryContent) -> list[Problem]:
        problems = []
        if not content.text.strip():
            problems.append(Problem("text", "Write the reply."))
        size = len(content.text.encode())
        if size > REPLY_MAX_BYTES:
            problems.append(
                Problem(
                    "text",
                    f"The reply is {size} bytes; Google takes {REPLY_MAX_BYTES} (accented "
                    "letters and emoji count two to four).",
                )
            )
        if not str(content.target.get("review_name") or ""):
            problems.append(Problem("target", "The answered review has no Google name."))
        return problems

    def action_problems(self, content: DeliveryContent) -> list[Problem]:
        return [
            Problem(
                "action",
                f"Socialdesk cannot {content.action} on Google Business Profile: reviews can "
                "only be answered (or reported on business.google.com).",
            )
        ]

    # -- publishing -------------------------------------------------------------------------

    def publish(self, content: DeliveryContent, idempotency_key: str) -> Published:
        problems = self.validate(content)
        if problems:
            raise ConnectorError(" ".join(str(p) for p in problems), permanent=True)
        if content.action == "reply":
            return self._reply(content)
        post = _business(content)
        created = self.session.json(
            "POST", f"{POSTS_API}/{self.location_name}/localPosts", json=self._body(post)
        )
        created = self._until_processed(created or {})
        return self._published(created)

    def _body(self, post: GoogleBusinessContent) -> dict[str, Any]:
        body: dict[str, Any] = {"topicType": post.topic, "summary": post.text}
        if post.language:
            body["languageCode"] = post.language
        if post.action_type:
            button = {"actionType": post.action_type}
            if post.action_type != "CALL":
                button["url"] = post.action_url
            body["callToAction"] = button
        if post.topic in ("EVENT", "OFFER") and post.event_start and post.event_end:
            body["event"] = {
                "title": post.event_title,
                "schedule": {
                    "startDate": _date(post.event_start),
                    "startTime": _time(post.event_start),
                    "endDate": _date(post.event_end),
                    "endTime": _time(post.event_end),
                },
            }
        if post.topic == "OFFER":
            offer = {
                "couponCode": post.coupon_code,
                "redeemOnlineUrl": post.redeem_url,
                "termsConditions": post.terms,
            }
            body["offer"] = {k: v for k, v in offer.items() if v}
        if post.media:
            body["media"] = [
                {"mediaFormat": "PHOTO", "sourceUrl": public_media_url(post.media[0].path)}
            ]
        return body

    def _until_processed(self, post: Mapping[str, Any]) -> Mapping[str, Any]:
        """Read a post Google is still processing again until it is live (at most
        ``poll_timeout`` seconds: then it is published, and goes live by itself)."""
        deadline = time.monotonic() + self.poll_timeout
        while (
            post.get("state") == "PROCESSING" and post.get("name") and time.monotonic() < deadline
        ):
            time.sleep(self.poll_interval)
            post = self.session.json("GET", f"{POSTS_API}/{post['name']}") or post
        if post.get("state") == "REJECTED":
            raise ConnectorError(
                "Google rejected the post for its content policy (state REJECTED): change "
                "the text, photo or button and post it again.",
                permanent=True,
            )
        return post

    def _published(self, post: Mapping[str, Any]) -> Published:
        name = str(post.get("name") or "")
        if not name:
            raise ConnectorError("Google answered without the post's name.")
        return Published(name, str(post.get("searchUrl") or ""))

    def _reply(self, content: DeliveryContent) -> Published:
        review = str(content.target["review_name"])
        self.session.json("PUT", f"{POSTS_API}/{review}/reply", json={"comment": content.text})
        return Published(f"{review}/reply", "")

    def find_published(
        self, idempotency_key: str, content: DeliveryContent | None = None
    ) -> Published | None:
        """The location's newest local post of the last ``RECONCILE_WINDOW`` whose summary
        is this content's text; for a reply, the review's reply when it is this text."""
        if content is None:
            return None
        if content.action == "reply":
            review = str(content.target.get("review_name") or "")
            found = self.session.json("GET", f"{POSTS_API}/{review}", accepted=(404,)) or {}
            reply = found.get("reviewReply") or {}
            if _comparable(str(reply.get("comment") or "")) == _comparable(content.text):
                return Published(f"{review}/reply", "")
            return None
        wanted = _comparable(content.text)
        since = datetime.now(UTC) - RECONCILE_WINDOW
        body = self.session.json(
            "GET", f"{POSTS_API}/{self.location_name}/localPosts", params={"pageSize": "100"}
        )
        for post in (body or {}).get("localPosts") or []:
            created = google.parse_time(post.get("createTime"))
            if created is not None and created < since:
                continue
            if _comparable(str(post.get("summary") or "")) == wanted:
                return self._published(post)
        return None

    def delete(self, remote_id: str) -> None:
        # Already gone (404): what was asked for is true.
        self.session.call("DELETE", f"{POSTS_API}/{remote_id}", accepted=(404,))

    def check_connection(self) -> AccountInfo:
        location = self.session.json(
            "GET", f"{INFO_API}/{self.location_id}", params={"readMask": LOCATION_READ_MASK}
        )
        title = str((location or {}).get("title") or self.location_id)
        return AccountInfo(self.location_id, _handle(title, location or {}), title)

    # -- reading ----------------------------------------------------------------------------

    REVIEW_PAGE_SIZE = 50  # the reference's maximum
    REVIEW_MAX_PAGES = 5

    def read_cost(self) -> dict[str, int]:
        return {"requests": 1}

    def fetch_inbox(self, cursor: str, since: datetime) -> InboxPage:
        """Reviews changed after ``cursor`` (the newest ``updateTime`` already read) and not
        before ``since``, oldest first (see the module docstring)."""
        mark = google.parse_time(cursor) if cursor else None
        newest = mark
        items: list[InboxItem] = []
        token = ""
        requests = 0
        for _ in range(self.REVIEW_MAX_PAGES):
            params = {"pageSize": str(self.REVIEW_PAGE_SIZE), "orderBy": "updateTime desc"}
            if token:
                params["pageToken"] = token
            body = self.session.json(
                "GET", f"{POSTS_API}/{self.location_name}/reviews", params=params
            )
            requests += 1
            older = False
            for review in (body or {}).get("reviews") or []:
                changed = google.parse_time(review.get("updateTime")) or google.parse_time(
                    review.get("createTime")
                )
                if changed is None or (mark is not None and changed <= mark) or changed < since:
                    older = True
                    continue
                newest = max(newest, changed) if newest else changed
                items.append(self._review_item(review, changed))
            token = str((body or {}).get("nextPageToken") or "")
            if older or not token:
                break
        items.sort(key=lambda item: (item.sent_at, item.remote_id))
        return InboxPage(items, newest.isoformat() if newest else cursor, {"requests": requests})

    def _review_item(self, review: Mapping[str, Any], changed: datetime) -> InboxItem:
        review_id = str(review.get("reviewId") or str(review.get("name", "")).rsplit("/", 1)[-1])
        reviewer = review.get("reviewer") or {}
        anonymous = bool(reviewer.get("isAnonymous"))
        name = "" if anonymous else str(reviewer.get("displayName") or "")
        stars = STARS.get(str(review.get("starRating") or ""))
        comment = str(review.get("comment") or "").strip()
        rating = f"{'★' * stars}{'☆' * (5 - stars)} ({stars}/5)" if stars else ""
        text = " — ".join(part for part in (rating, comment) if part) or "(a rating only)"
        return InboxItem(
            remote_id=review_id,
            kind=ItemKind.COMMENT,
            thread_key=f"review {review_id}",
            author=InboxAuthor(
                # Google gives reviewers no id: the name is what there is.
                remote_id=f"reviewer:{name or 'anonymous'}",
                handle=name,
                display_name=name or "A Google user",
                avatar_url=str(reviewer.get("profilePhotoUrl") or ""),
            ),
            text=text,
            sent_at=google.parse_time(review.get("createTime")) or changed,
            reference={
                "review_name": str(review.get("name") or ""),
                "review_id": review_id,
                "star_rating": str(review.get("starRating") or ""),
                "answered": bool(review.get("reviewReply")),
            },
        )

    # -- numbers ----------------------------------------------------------------------------

    def fetch_location_metrics(self, start: date, end: date) -> Metrics:
        """The location's totals from ``start`` to ``end`` (both days included): views are
        the impressions on Search and Maps, clicks the website clicks, calls and direction
        requests. None where Google gave no series."""
        params: list[tuple[str, str | int]] = [
            ("dailyMetrics", metric) for metric in (*VIEW_METRICS, *CLICK_METRICS)
        ]
        params += [
            ("dailyRange.start_date.year", start.year),
            ("dailyRange.start_date.month", start.month),
            ("dailyRange.start_date.day", start.day),
            ("dailyRange.end_date.year", end.year),
            ("dailyRange.end_date.month", end.month),
            ("dailyRange.end_date.day", end.day),
        ]
        body = self.session.json(
            "GET",
            f"{PERFORMANCE_API}/{self.location_id}:fetchMultiDailyMetricsTimeSeries",
            params=params,
        )
        totals = _metric_totals(body or {})
        return Metrics(views=_sum(totals, VIEW_METRICS), clicks=_sum(totals, CLICK_METRICS))


def _metric_totals(body: Mapping[str, Any]) -> dict[str, int]:
    """``{metric: total}`` of a ``fetchMultiDailyMetricsTimeSeries`` answer; a day without a
    value counts 0 (Google leaves ``value`` out for zero)."""
    totals: dict[str, int] = {}
    for multi in body.get("multiDailyMetricTimeSeries") or []:
        for series in multi.get("dailyMetricTimeSeries") or []:
            metric = str(series.get("dailyMetric") or "")
            values = ((series.get("timeSeries") or {}).get("datedValues")) or []
            total = 0
            for point in values:
                total += _count(point.get("value")) or 0
            if metric:
                totals[metric] = totals.get(metric, 0) + total
    return totals


def _count(value: Any) -> int | None:
    # int64 values come as strings ("120").
    return int(value) if isinstance(value, int | str) and str(value).isdigit() else None


def _sum(totals: Mapping[str, int], metrics: Sequence[str]) -> int | None:
    given = [totals[m] for m in metrics if m in totals]
    return sum(given) if given else None
