"""WordPress blog posts, on the WordPress REST API with httpx (``networks.http.Api``).

Why no SDK: WordPress has no official Python client; its REST API is documented at
developer.wordpress.org/rest-api and is the supported way in. Tested against a real
WordPress (Debian's package, PHP's built-in server, MariaDB) on 127.0.0.1
(``tests/peers_open.py``).

Connecting (a form): the site's address (checked with ``guarded_fetch``), a user name and an
Application Password (Users → Profile → Application Passwords; WordPress 5.6 and later, over
https unless the site is a local one). The user must be allowed to publish posts and upload
files (an Author or above). Calls go to ``/?rest_route=/wp/v2/…``, which works whether or
not the site has "pretty" permalinks.

A post: the first line of the text is its title and the rest its content (paragraphs; the
thread's parts follow as more paragraphs, since a blog post has no thread); the first image is
the featured image (uploaded to ``/media`` with its alt text), the others are placed in the
content with theirs; the first comment is a comment under the post by the same user. Tags and
category: ``WordPressContent.tags`` become tags and ``category`` the category (each found by
name, or created): the post's labels and pillar are the natural source, once
``publishing.connectors.content_for`` passes them (it does not yet: see ``WordPressContent``).

Exactly once: WordPress has no idempotency key, and post meta needs a plugin to be written
through the API. The post's slug carries the key instead: ``<title words>-sd<digest of the
key>``. Before creating, ``publish`` asks for a post with that slug (any status: a draft or a
scheduled one counts), and so does ``find_published``. WordPress would make a second post's
slug unique by suffixing ``-2``, which is why the check comes first.

Deleting moves the post to the trash (``DELETE /posts/{id}``, not ``force``): it disappears
from the site and its feeds at once and the site's owner can still restore it for 30 days
(WordPress renames a trashed post's slug, so the key is free again).

Reading: comments by others on the site's posts (``/comments``, ``after`` the last read) into
the inbox. Analytics: comments per post (``X-WP-Total``); WordPress core counts no views or
likes (Jetpack and analytics plugins do, outside this API), and a blog has no followers.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import httpx
from django.core.exceptions import ValidationError
from django.utils.text import slugify

from socialdesk import guarded_fetch

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
from .catalog import FormField, NetworkAbout
from .http import Api, json_of

ABOUT = NetworkAbout(
    network="wordpress",
    connect="form",
    text_max=100000,  # WordPress sets no length; a title is the first line
    operator_setup="Nothing to register: each site connects with its own Application Password.",
    accounts=(
        "A self-hosted WordPress 5.6 or later (or WordPress.com Business) with the REST API "
        "on, and a user who may publish posts and upload files (Author or above)."
    ),
    tested="Against a real WordPress (Debian's package, MariaDB) on 127.0.0.1 in the test suite.",
    reads=(
        "Comments of others into the inbox; comments per post. WordPress itself counts no "
        "views or likes (plugins such as Jetpack do, outside its API) and has no followers."
    ),
    reference="https://developer.wordpress.org/rest-api/reference/",
)

FORM_FIELDS = (
    FormField(
        "site_url",
        "Site address",
        help="The blog's address, e.g. https://blog.example.org.",
        placeholder="https://blog.example.org",
    ),
    FormField("username", "User name", help="The WordPress user who publishes."),
    FormField(
        "app_password",
        "Application Password",
        help="Users → Profile → Application Passwords in the site's admin: name it "
        "Socialdesk, and paste what WordPress shows once.",
        secret=True,
    ),
)

IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
MAX_UPLOAD = 64 * 1024 * 1024  # PHP's upload_max_filesize decides; this is a common ceiling
SLUG_MARK = "-sd"
INBOX_PAGE = 100
INBOX_PAGES = 5
# Time zones run from UTC-12 to UTC+14: a site's local date is within this of its GMT date.
TIME_ZONE_SLACK = timedelta(hours=14)


@dataclass(frozen=True)
class WordPressContent(DeliveryContent):
    """``DeliveryContent`` with what a blog post has besides: tag names (the post's labels)
    and a category name (its pillar), filled by ``publishing.connectors.content_for``."""

    tags: tuple[str, ...] = ()
    category: str = ""


def _words(response: httpx.Response) -> str:
    """WordPress errors are ``{"code": "rest_…", "message": "…", "data": {"status": …}}``."""
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase or f"HTTP {response.status_code}"
    if isinstance(body, dict) and body.get("message"):
        message = re.sub(r"<[^>]+>", "", html.unescape(str(body["message"])))
        return f"{message} ({body.get('code') or response.status_code})"
    return response.reason_phrase or f"HTTP {response.status_code}"


def _revoked(response: httpx.Response) -> bool:
    if response.status_code not in (401, 403):
        return False
    try:
        code = str(response.json().get("code") or "")
    except (ValueError, AttributeError):
        return False
    return code in (
        "incorrect_password",
        "invalid_username",
        "invalid_email",
        "application_passwords_disabled",
        "rest_not_logged_in",
    )


def normalize_site(url: str) -> str:
    return url.strip().rstrip("/")


def slug_for(idempotency_key: str, title: str) -> str:
    words = slugify(title)[:60].strip("-") or "post"
    return f"{words}{SLUG_MARK}{hashlib.sha256(idempotency_key.encode()).hexdigest()[:12]}"


def title_and_body(text: str) -> tuple[str, str]:
    lines = text.strip().split("\n", 1)
    return lines[0].strip(), (lines[1].strip() if len(lines) > 1 else "")


def paragraphs(text: str) -> str:
    out = []
    for paragraph in re.split(r"\n\s*\n", text.strip()):
        if paragraph.strip():
            escaped = html.escape(paragraph.strip(), quote=False).replace("\n", "<br>\n")
            out.append(f"<!-- wp:paragraph -->\n<p>{escaped}</p>\n<!-- /wp:paragraph -->")
    return "\n\n".join(out)


def _image_block(media: Mapping[str, Any]) -> str:
    url = html.escape(str(media.get("source_url") or ""))
    alt = html.escape(str(media.get("alt_text") or ""))
    return (
        f'<!-- wp:image {{"id":{int(media["id"])}}} -->\n<figure class="wp-block-image">'
        f'<img src="{url}" alt="{alt}" class="wp-image-{int(media["id"])}"/></figure>\n'
        "<!-- /wp:image -->"
    )


class WordPressConnector(Connector):
    """One WordPress user on one site."""

    network = "wordpress"
    # WordPress core has no API rate limit; hosts put their own in front (429 with
    # Retry-After, which ``Api`` reads). Socialdesk paces itself gently.
    rate_limits: ClassVar[tuple[RateLimit, ...]] = (
        RateLimit("requests", 120, timedelta(minutes=1)),
    )
    reads = True
    measures = True
    metric_table: ClassVar[tuple[MetricInfo, ...]] = (
        MetricInfo("replies", "approved comments of the post (X-WP-Total of /comments)", "Live."),
    )
    metric_note: ClassVar[str] = (
        "WordPress itself counts no views, likes or shares (plugins such as Jetpack do, "
        "outside its REST API), and a blog has no followers."
    )

    def __init__(
        self,
        site_url: str,
        username: str,
        app_password: str,
        *,
        user_id: str = "",
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.site_url = normalize_site(site_url)
        self.username = username
        self.user_id = user_id
        self._guarded = False
        basic = base64.b64encode(f"{username}:{app_password}".encode()).decode()
        self.api = Api(
            "wordpress",
            "WordPress",
            headers={"Authorization": f"Basic {basic}"},
            describe=_words,
            revoked=_revoked,
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"<WordPressConnector {self.username} at {self.site_url}>"

    def _call(self, method: str, route: str, **kwargs: Any) -> httpx.Response:
        if not self._guarded:
            try:
                guarded_fetch.check(self.site_url)
            except (guarded_fetch.FetchRefused, guarded_fetch.FetchFailed) as error:
                raise ConnectorError(
                    f"The site address is refused: {error}", permanent=True
                ) from None
            self._guarded = True
        params = dict(kwargs.pop("params", None) or {})
        params["rest_route"] = route
        return self.api.call(method, self.site_url + "/", params=params, **kwargs)

    def _json(self, method: str, route: str, **kwargs: Any) -> Any:
        return json_of(self._call(method, route, **kwargs), "WordPress")

    # -- the connector interface ------------------------------------------------------------

    def cost(self, content: DeliveryContent) -> dict[str, int]:
        tags = len(getattr(content, "tags", ())) + bool(getattr(content, "category", ""))
        calls = 2 + 2 * len(content.media) + tags + bool(content.first_comment)
        return {"requests": calls}

    def validate(self, content: DeliveryContent) -> list[Problem]:
        if content.action != "post":
            return self.action_problems(content)
        problems = []
        title, _ = title_and_body(content.text)
        if not title:
            problems.append(Problem("text", "Write a title on the first line of the text."))
        elif len(title) > 200:
            problems.append(
                Problem("text", "The first line becomes the title: keep it under 200 characters.")
            )
        for media in content.media:
            problems += media_problems(media)
        return problems

    def publish(self, content: DeliveryContent, idempotency_key: str) -> Published:
        problems = self.validate(content)
        if problems:
            raise ConnectorError(" ".join(str(p) for p in problems), permanent=True)
        title, body = title_and_body(content.text)
        slug = slug_for(idempotency_key, title)
        post = self._by_slug(slug)
        if post is None:
            uploaded = [self._upload(media) for media in content.media]
            blocks = [paragraphs(body)] if body else []
            blocks += [paragraphs(part) for part in content.thread if part.strip()]
            blocks += [_image_block(media) for media in uploaded[1:]]
            fields: dict[str, Any] = {
                "title": title,
                "content": "\n\n".join(blocks),
                "status": "publish",
                "slug": slug,
            }
            if uploaded:
                fields["featured_media"] = int(uploaded[0]["id"])
            tags = [self._term("tags", name) for name in getattr(content, "tags", ())]
            if tags:
                fields["tags"] = tags
            category = getattr(content, "category", "")
            if category:
                fields["categories"] = [self._term("categories", category)]
            post = self._json("POST", "/wp/v2/posts", json=fields)
        if content.first_comment.strip():
            self._comment_once(int(post["id"]), content.first_comment)
        return Published(str(post["id"]), str(post.get("link") or ""))

    def _by_slug(self, slug: str) -> dict[str, Any] | None:
        try:
            found = self._json(
                "GET",
                "/wp/v2/posts",
                params={
                    "slug": slug,
                    "status": "publish,future,draft,pending,private",
                    "context": "edit",
                },
            )
        except ConnectorError as error:
            # WordPress answers a wrong Application Password as if no one had signed in, and
            # for no one the statuses above are an "invalid parameter": ask who we are, which
            # says 401 then (the authorization is no longer valid).
            if "rest_invalid_param" in error.message:
                self.check_connection()
            raise
        return found[0] if isinstance(found, list) and found else None

    def _upload(self, media: MediaFile) -> dict[str, Any]:
        try:
            data = media.path.read_bytes()
        except OSError as error:
            raise ConnectorError(
                f"The image {media.path.name} cannot be read: {error.strerror}.", permanent=True
            ) from None
        uploaded = self._json(
            "POST",
            "/wp/v2/media",
            files={"file": (media.path.name, data, media.mime_type)},
            data={"alt_text": media.alt_text},
        )
        if not isinstance(uploaded, dict) or "id" not in uploaded:
            raise ConnectorError("WordPress did not say where the image went.")
        return uploaded

    def _term(self, taxonomy: str, name: str) -> int:
        """The id of the tag or category called ``name`` (any case), created when missing."""
        for term in self._json(
            "GET", f"/wp/v2/{taxonomy}", params={"search": name, "per_page": 100}
        ):
            if html.unescape(str(term.get("name") or "")).casefold() == name.casefold():
                return int(term["id"])
        try:
            return int(self._json("POST", f"/wp/v2/{taxonomy}", json={"name": name})["id"])
        except ConnectorError as error:
            # Created meanwhile by someone else: WordPress names the existing one.
            if "term_exists" in error.message:
                return self._term(taxonomy, name)
            raise

    def _comment_once(self, post_id: int, text: str) -> None:
        me = self._me()
        mine = self._json(
            "GET",
            "/wp/v2/comments",
            params={"post": post_id, "author": me, "context": "edit", "status": "all"},
        )
        wanted = " ".join(text.split())
        for comment in mine:
            raw = (comment.get("content") or {}).get("raw") or ""
            if " ".join(str(raw).split()) == wanted:
                return
        self._json("POST", "/wp/v2/comments", json={"post": post_id, "content": text})

    def find_published(
        self, idempotency_key: str, content: DeliveryContent | None = None
    ) -> Published | None:
        """The post whose slug carries this key. The slug's words come from the title, so
        the content is needed to rebuild it; without it, the post is looked for by the key's
        mark among the newest posts."""
        mark = slug_for(idempotency_key, "x").split(SLUG_MARK)[-1]
        if content is not None:
            post = self._by_slug(slug_for(idempotency_key, title_and_body(content.text)[0]))
            return Published(str(post["id"]), str(post.get("link") or "")) if post else None
        recent = self._json(
            "GET",
            "/wp/v2/posts",
            params={"per_page": 100, "status": "publish,future,draft", "context": "edit"},
        )
        for post in recent:
            if str(post.get("slug") or "").endswith(SLUG_MARK + mark):
                return Published(str(post["id"]), str(post.get("link") or ""))
        return None

    def delete(self, remote_id: str) -> None:
        try:
            self._call("DELETE", f"/wp/v2/posts/{int(remote_id)}")
        except ConnectorError as error:
            # Already gone, or already in the trash: what was asked for is true.
            if "rest_post_invalid_id" in error.message or "rest_already_trashed" in error.message:
                return
            raise

    def check_connection(self) -> AccountInfo:
        me = self._json("GET", "/wp/v2/users/me", params={"context": "edit"})
        self.user_id = str(me["id"])
        return AccountInfo(
            str(me["id"]), str(me.get("username") or self.username), str(me.get("name") or "")
        )

    def _me(self) -> str:
        if not self.user_id:
            self.check_connection()
        return self.user_id

    # -- reading ----------------------------------------------------------------------------

    def read_cost(self) -> dict[str, int]:
        return {"requests": 1}

    def fetch_inbox(self, cursor: str, since: datetime) -> InboxPage:
        """Comments of others on the site after ``cursor`` (``<date_gmt>|<id>`` of the newest
        already read), oldest first. WordPress compares ``after`` with the comment's date in
        the site's own time zone, which the API does not say: it is asked from
        ``TIME_ZONE_SLACK`` earlier, and what was already read (or is older than ``since``)
        is left out here by its GMT date and id."""
        last_date, _, last_id = cursor.partition("|")
        floor = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
        start = max(last_date, floor)
        after = (datetime.fromisoformat(start) - TIME_ZONE_SLACK).strftime("%Y-%m-%dT%H:%M:%S")
        me = self._me()
        items: list[InboxItem] = []
        calls = 0
        newest = cursor
        for page in range(1, INBOX_PAGES + 1):
            response = self._call(
                "GET",
                "/wp/v2/comments",
                params={
                    "after": after,
                    "orderby": "date_gmt",
                    "order": "asc",
                    "per_page": INBOX_PAGE,
                    "page": page,
                    "author_exclude": me,
                },
            )
            calls += 1
            comments = json_of(response, "WordPress")
            for comment in comments:
                date = str(comment.get("date_gmt") or "")
                if date < floor:
                    continue
                if last_date and (date, int(comment["id"])) <= (last_date, int(last_id or 0)):
                    continue
                items.append(self._item(comment))
                newest = f"{date}|{comment['id']}"
            if page >= int(response.headers.get("x-wp-totalpages") or 1):
                break
        return InboxPage(items, newest, {"requests": calls})

    def _item(self, comment: Mapping[str, Any]) -> InboxItem:
        text = re.sub(
            r"<[^>]+>", "", html.unescape(str((comment.get("content") or {}).get("rendered") or ""))
        )
        post = str(comment.get("post") or "")
        parent = str(comment.get("parent") or "0")
        avatars = comment.get("author_avatar_urls") or {}
        return InboxItem(
            remote_id=str(comment["id"]),
            kind=ItemKind.COMMENT,
            thread_key=f"post {post}",
            author=InboxAuthor(
                remote_id=str(comment.get("author") or "") or str(comment.get("author_name") or ""),
                handle=str(comment.get("author_name") or ""),
                display_name=str(comment.get("author_name") or ""),
                avatar_url=str(avatars.get("96") or ""),
            ),
            text=text.strip(),
            sent_at=datetime.fromisoformat(str(comment["date_gmt"])).replace(tzinfo=UTC),
            remote_url=str(comment.get("link") or ""),
            reference={"post": post, "comment_id": str(comment["id"]), "parent": parent},
            parent_remote_id=parent if parent != "0" else post,
            our_post_remote_id=post,
        )

    # -- measuring --------------------------------------------------------------------------

    def metrics_cost(self, posts: int, followers: bool = False) -> dict[str, int]:
        return {"requests": posts + 1} if posts else {}

    def fetch_metrics(self, remote_ids: Sequence[str]) -> dict[str, Metrics]:
        ids = sorted({str(i) for i in remote_ids if str(i).isdigit()})
        if not ids:
            return {}
        # Which of them the site still shows (a trashed or deleted post is left out).
        shown = self._json(
            "GET", "/wp/v2/posts", params={"include": ",".join(ids), "per_page": 100}
        )
        found = {}
        for remote_id in sorted({str(post["id"]) for post in shown} & set(ids)):
            response = self._call(
                "GET", "/wp/v2/comments", params={"post": remote_id, "per_page": 1}
            )
            found[remote_id] = Metrics(replies=int(response.headers.get("x-wp-total") or 0))
        return found

    def fetch_followers(self) -> int | None:
        return None  # a blog has no followers


def media_problems(media: MediaFile) -> list[Problem]:
    problems = []
    if media.mime_type not in IMAGE_TYPES:
        problems.append(
            Problem("media", f"{media.path.name}: Socialdesk sends JPEG, PNG, GIF or WebP images.")
        )
    try:
        if media.size > MAX_UPLOAD:
            problems.append(Problem("media", f"{media.path.name} is over 64 MB."))
    except OSError:
        problems.append(Problem("media", f"{media.path.name} cannot be read."))
    return problems


def connect(values: dict[str, str], transport: httpx.BaseTransport | None = None) -> oauth.Account:
    site = normalize_site(values.get("site_url", ""))
    try:
        guarded_fetch.check(site)
    except (guarded_fetch.FetchRefused, guarded_fetch.FetchFailed) as error:
        raise ValidationError({"site_url": [str(error)]}) from None
    username = values.get("username", "").strip()
    password = values.get("app_password", "").strip()
    connector = WordPressConnector(site, username, password, transport=transport)
    try:
        me = connector._json("GET", "/wp/v2/users/me", params={"context": "edit"})
    except ConnectorError as error:
        field = "app_password" if error.auth_revoked else "site_url"
        raise ValidationError({field: [error.message]}) from None
    finally:
        connector.api.close()
    if not isinstance(me, dict) or "id" not in me:
        raise ValidationError({"site_url": ["This address does not answer like a WordPress site."]})
    capabilities = me.get("capabilities") or {}
    if not (capabilities.get("publish_posts") and capabilities.get("upload_files")):
        raise ValidationError(
            {
                "username": [
                    f"{username} may not publish posts and upload files: make the user an "
                    "Author (or above) on the site."
                ]
            }
        )
    return oauth.Account(
        info=AccountInfo(str(me["id"]), str(me.get("username") or username), site),
        credentials={
            "site_url": site,
            "username": username,
            "app_password": password,
            "user_id": str(me["id"]),
        },
    )


def build(credentials: dict[str, Any], store: Callable[[dict[str, Any]], None]) -> Connector | None:
    if not all(credentials.get(k) for k in ("site_url", "username", "app_password")):
        return None
    return WordPressConnector(
        credentials["site_url"],
        credentials["username"],
        credentials["app_password"],
        user_id=str(credentials.get("user_id") or ""),
    )
