"""Matrix announcement rooms, on the Client-Server API with httpx (``networks.http.Api``).

Why no SDK: ``matrix-nio``, the maintained Python client, is asyncio-only and brings its own
HTTP stack, end-to-end encryption machinery and event models; Socialdesk's workers are
synchronous and need seven plain endpoints (login, whoami, join check, send, upload, messages,
redact), whose errors ``Api`` already turns into the engine's decisions. Tested against a real
Synapse homeserver on 127.0.0.1 (``tests/peers_open.py``).

Connecting (a form): the homeserver's address (checked with ``guarded_fetch``), an access token
or a user name and password (logged in once with ``m.login.password``: the token is stored,
the password never), and the room (an alias ``#room:server`` or an id ``!id:server``) the
account must already have joined, with the power to post in it.

Exactly once: ``PUT /rooms/{room}/send/m.room.message/{txnId}`` is idempotent per access token
and transaction id. The transaction ids derive from the delivery's idempotency key
(``sd-<digest>`` for the announcement, ``…-p2`` for thread parts, ``…-m1`` for images,
``…-c`` for the first comment), so a retry returns the events already sent instead of sending
again. Synapse remembers transaction ids for about 30 minutes; beyond that ``find_published``
(which the engine calls before retrying an unknown outcome) reads the room backwards and
matches ``unsigned.transaction_id``, which the homeserver gives back to the sender's token,
or, for events sent from another token, the text.

Shapes: the text goes as ``m.text`` with ``formatted_body`` (HTML: paragraphs, line breaks and
links); each image is uploaded (``POST /_matrix/media/v3/upload``) then sent as ``m.image``
with its alt text as ``body``; thread parts are ``m.thread`` relations under the announcement
(each a reply to the part before, with the fallback for older clients); the first comment is a
reply (``m.in_reply_to``). Deleting redacts the announcement and the events sent with it.

Reading: ``fetch_inbox`` reads the room forwards from the stored pagination token: messages of
other people (replies to ours are comments, others mentions). Analytics: only the room's
joined members, as followers; Matrix has no views, likes or reach for messages.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import quote

import httpx
from django.core.exceptions import ValidationError

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
from .http import Api, json_of, retry_after_header

ABOUT = NetworkAbout(
    network="matrix",
    connect="form",
    # The spec sets no length; a whole event must stay under 65,536 bytes (body and HTML
    # together), so the text is held to a size that always fits.
    text_max=20000,
    operator_setup="Nothing to register: each channel connects with its own Matrix account.",
    accounts=(
        "Any Matrix account on any homeserver, in a room it has joined and may post in "
        "(an announcement room, where others may only read or reply, works best)."
    ),
    tested="Against a real Synapse homeserver on 127.0.0.1 in the test suite.",
    reads=(
        "Replies and messages of others in the room into the inbox; the room's joined members "
        "as followers. Matrix gives no views, likes or reach."
    ),
    reference="https://spec.matrix.org/latest/client-server-api/",
)

FORM_FIELDS = (
    FormField(
        "homeserver",
        "Homeserver address",
        help="Where the account lives, e.g. https://matrix.example.org.",
        placeholder="https://matrix.example.org",
    ),
    FormField(
        "room",
        "Room",
        help="The room's alias (#news:example.org) or id (!abc:example.org). The account "
        "must have joined it.",
        placeholder="#news:example.org",
    ),
    FormField(
        "access_token",
        "Access token",
        help="From your client (Element: Settings, Help & About). Or leave it empty and give "
        "the user name and password below: Socialdesk logs in once and keeps only the token.",
        secret=True,
        required=False,
    ),
    FormField("user", "User name", placeholder="@news:example.org", required=False),
    FormField("password", "Password", secret=True, required=False),
)

# What Synapse accepts by default (``max_upload_size``: 50M); a homeserver may take less.
MAX_UPLOAD = 50 * 1024 * 1024
IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
RECONCILE_PAGES = 5  # of 100 events: the announcement sent in the last ~500 events is found
INBOX_PAGES = 5
PAGE = 100
HTML = "org.matrix.custom.html"
_LINK = re.compile(r"https?://[^\s<>\"']+")


def _words(response: httpx.Response) -> str:
    """Matrix errors are ``{"errcode": "M_…", "error": "…"}``."""
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase or f"HTTP {response.status_code}"
    if isinstance(body, dict) and (body.get("error") or body.get("errcode")):
        return f"{body.get('error') or ''} ({body.get('errcode') or response.status_code})"
    return response.reason_phrase or f"HTTP {response.status_code}"


def _reset_at(response: httpx.Response) -> datetime | None:
    """``M_LIMIT_EXCEEDED`` says ``retry_after_ms`` in its body; newer servers also send
    ``Retry-After``."""
    header = retry_after_header(response)
    if header is not None:
        return header
    try:
        waited = response.json().get("retry_after_ms")
    except (ValueError, AttributeError):
        return None
    if isinstance(waited, int | float):
        return datetime.now(UTC) + timedelta(milliseconds=float(waited))
    return None


def _revoked(response: httpx.Response) -> bool:
    if response.status_code not in (401, 403):
        return False
    try:
        code = response.json().get("errcode")
    except (ValueError, AttributeError):
        return False
    return code in ("M_UNKNOWN_TOKEN", "M_MISSING_TOKEN", "M_USER_DEACTIVATED")


def normalize_homeserver(url: str) -> str:
    return url.strip().rstrip("/")


def _guard(url: str) -> None:
    """A user-typed address is only called once ``guarded_fetch`` admits it."""
    try:
        guarded_fetch.check(url)
    except (guarded_fetch.FetchRefused, guarded_fetch.FetchFailed) as error:
        raise ConnectorError(
            f"The homeserver address is refused: {error}", permanent=True
        ) from None


def _q(value: str) -> str:
    return quote(value, safe="")


def txn_base(idempotency_key: str) -> str:
    """The transaction id of an announcement: stable per delivery, opaque, URL-safe."""
    return "sd-" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]


def to_html(text: str) -> str:
    """Paragraphs, line breaks and links of plain text as Matrix's HTML subset."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    out = []
    for paragraph in paragraphs:
        escaped = html.escape(paragraph, quote=False)
        linked = _LINK.sub(
            lambda m: f'<a href="{html.escape(m.group(0))}">{m.group(0)}</a>', escaped
        )
        out.append("<p>" + linked.replace("\n", "<br>") + "</p>")
    return "".join(out)


def _comparable(text: str) -> str:
    return " ".join(text.split())


class MatrixConnector(Connector):
    """One Matrix account posting in one room."""

    network = "matrix"
    # Synapse's default ``rc_message``: 0.2 messages a second sustained, bursts of 10
    # (https://element-hq.github.io/synapse/latest/usage/configuration/config_documentation.html#rc_message);
    # another homeserver may differ and then answers M_LIMIT_EXCEEDED with its own wait.
    rate_limits: ClassVar[tuple[RateLimit, ...]] = (
        RateLimit("messages", 10, timedelta(seconds=50)),
    )
    reads = True
    measures = True
    metric_table: ClassVar[tuple[MetricInfo, ...]] = (
        MetricInfo(
            "followers",
            "joined members of the room (GET /rooms/{roomId}/joined_members)",
            "Live when read.",
        ),
    )
    metric_note: ClassVar[str] = (
        "Matrix gives no views, likes or reach for a message: only the room's members."
    )

    def __init__(
        self,
        homeserver: str,
        access_token: str,
        room_id: str,
        *,
        user_id: str = "",
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.homeserver = normalize_homeserver(homeserver)
        self.room_id = room_id
        self.user_id = user_id
        self._guarded = False
        self.api = Api(
            "matrix",
            "The Matrix homeserver",
            headers={"Authorization": f"Bearer {access_token}"} if access_token else {},
            describe=_words,
            reset_at=_reset_at,
            revoked=_revoked,
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"<MatrixConnector {self.user_id or '?'} in {self.room_id}>"

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        if not self._guarded:
            _guard(self.homeserver)
            self._guarded = True
        return self.api.call(method, self.homeserver + path, **kwargs)

    def _room(self, rest: str) -> str:
        return f"/_matrix/client/v3/rooms/{_q(self.room_id)}{rest}"

    # -- the connector interface ------------------------------------------------------------

    def cost(self, content: DeliveryContent) -> dict[str, int]:
        events = 1 + len(content.thread) + len(content.media) + bool(content.first_comment)
        return {"messages": events}

    def validate(self, content: DeliveryContent) -> list[Problem]:
        if content.action != "post":
            return self.action_problems(content)
        problems = []
        if not content.text.strip() and not content.media:
            problems.append(Problem("text", "Write some text or attach an image."))
        for name, text in (("text", content.text), ("first_comment", content.first_comment)):
            if len(text) > ABOUT.text_max:
                problems.append(
                    Problem(name, f"Matrix messages are kept under {ABOUT.text_max} characters.")
                )
        for number, part in enumerate(content.thread, start=2):
            if not part.strip():
                problems.append(Problem("thread", f"Part {number} of the thread is empty."))
            elif len(part) > ABOUT.text_max:
                problems.append(Problem("thread", f"Part {number} is too long."))
        for media in content.media:
            problems += media_problems(media)
        return problems

    def publish(self, content: DeliveryContent, idempotency_key: str) -> Published:
        problems = self.validate(content)
        if problems:
            raise ConnectorError(" ".join(str(p) for p in problems), permanent=True)
        base = txn_base(idempotency_key)
        main_id = self._send(base, _text_event(content.text)) if content.text.strip() else ""
        for number, media in enumerate(content.media, start=1):
            uri = self._upload(media)
            event_id = self._send(f"{base}-m{number}", _image_event(media, uri))
            main_id = main_id or event_id  # an image-only post lives at its first image
        parent = main_id
        for number, part in enumerate(content.thread, start=2):
            event = _text_event(part)
            event["m.relates_to"] = {
                "rel_type": "m.thread",
                "event_id": main_id,
                "is_falling_back": True,
                "m.in_reply_to": {"event_id": parent},
            }
            parent = self._send(f"{base}-p{number}", event)
        if content.first_comment.strip():
            comment = _text_event(content.first_comment)
            comment["m.relates_to"] = {"m.in_reply_to": {"event_id": main_id}}
            self._send(f"{base}-c", comment)
        return Published(main_id, self.event_url(main_id))

    def event_url(self, event_id: str) -> str:
        return f"https://matrix.to/#/{_q(self.room_id)}/{_q(event_id)}"

    def _send(self, txn_id: str, event: Mapping[str, Any]) -> str:
        path = self._room(f"/send/m.room.message/{_q(txn_id)}")
        answer = json_of(self._call("PUT", path, json=event), "The Matrix homeserver")
        return str(answer["event_id"])

    def _upload(self, media: MediaFile) -> str:
        try:
            data = media.path.read_bytes()
        except OSError as error:
            raise ConnectorError(
                f"The image {media.path.name} cannot be read: {error.strerror}.", permanent=True
            ) from None
        answer = json_of(
            self._call(
                "POST",
                "/_matrix/media/v3/upload",
                params={"filename": media.path.name},
                content=data,
                headers={"Content-Type": media.mime_type},
            ),
            "The Matrix homeserver",
        )
        return str(answer["content_uri"])

    def _events(
        self, direction: str, start: str = "", limit: int = PAGE, senders: Sequence[str] = ()
    ) -> dict[str, Any]:
        event_filter: dict[str, Any] = {"types": ["m.room.message"]}
        if senders:
            event_filter["senders"] = list(senders)
        params = {"dir": direction, "limit": str(limit), "filter": json.dumps(event_filter)}
        if start:
            params["from"] = start
        answer = json_of(self._call("GET", self._room("/messages"), params=params), "Matrix")
        return answer if isinstance(answer, dict) else {}

    def _our_events(self, pages: int = RECONCILE_PAGES) -> list[dict[str, Any]]:
        """Our own recent messages in the room, newest first."""
        me = self._me()
        found: list[dict[str, Any]] = []
        token = ""
        for _ in range(pages):
            page = self._events("b", token, senders=[me])
            found += [e for e in page.get("chunk") or [] if e.get("sender") == me]
            token = str(page.get("end") or "")
            if not token:
                break
        return found

    def find_published(
        self, idempotency_key: str, content: DeliveryContent | None = None
    ) -> Published | None:
        """The announcement whose transaction id is this key's (the homeserver gives it back
        to our token), else one of ours whose text is this content's."""
        base = txn_base(idempotency_key)
        wanted_txn = base if (content is None or content.text.strip()) else f"{base}-m1"
        wanted_text = _comparable(content.text) if content and content.text.strip() else ""
        by_text = None
        for event in self._our_events():
            if "m.relates_to" in (event.get("content") or {}):
                continue
            if (event.get("unsigned") or {}).get("transaction_id") == wanted_txn:
                return Published(str(event["event_id"]), self.event_url(str(event["event_id"])))
            body = str((event.get("content") or {}).get("body") or "")
            if wanted_text and by_text is None and _comparable(body) == wanted_text:
                by_text = Published(str(event["event_id"]), self.event_url(str(event["event_id"])))
        return by_text

    def delete(self, remote_id: str) -> None:
        """Redact the announcement, and the events sent with it (its images, thread parts and
        first comment: those whose transaction id shares its prefix, or that relate to it)."""
        targets = [remote_id]
        try:
            event = json_of(
                self._call("GET", self._room(f"/event/{_q(remote_id)}")), "The Matrix homeserver"
            )
        except ConnectorError as error:
            if "M_NOT_FOUND" in error.message:
                return
            raise
        txn = str((event.get("unsigned") or {}).get("transaction_id") or "")
        prefix = re.sub(r"-m\d+$", "", txn) if txn.startswith("sd-") else ""
        for other in self._our_events(pages=2):
            other_id = str(other.get("event_id") or "")
            if other_id == remote_id or not other.get("content"):
                continue
            other_txn = str((other.get("unsigned") or {}).get("transaction_id") or "")
            relates = other["content"].get("m.relates_to") or {}
            related = relates.get("event_id") == remote_id or (
                (relates.get("m.in_reply_to") or {}).get("event_id") == remote_id
            )
            if related or (prefix and other_txn.startswith(prefix)):
                targets.append(other_id)
        for target in targets:
            path = self._room(f"/redact/{_q(target)}/{_q('sd-redact-' + target)}")
            self._call("PUT", path, json={"reason": "Deleted from Socialdesk"})

    def check_connection(self) -> AccountInfo:
        me = self._me()
        rooms = json_of(self._call("GET", "/_matrix/client/v3/joined_rooms"), "Matrix")
        if self.room_id not in (rooms.get("joined_rooms") or []):
            raise ConnectorError(
                f"{me} is no longer in the room {self.room_id}: join it again, or reconnect "
                "the channel with another room.",
                permanent=True,
            )
        return AccountInfo(me, me, "")

    def _me(self) -> str:
        if not self.user_id:
            answer = json_of(self._call("GET", "/_matrix/client/v3/account/whoami"), "Matrix")
            self.user_id = str(answer["user_id"])
        return self.user_id

    # -- reading ----------------------------------------------------------------------------

    def read_cost(self) -> dict[str, int]:
        return {"reads": 1}

    def fetch_inbox(self, cursor: str, since: datetime) -> InboxPage:
        """Messages of others in the room after ``cursor`` (a pagination token; empty the
        first time: the last page is read backwards and the newest position kept)."""
        me = self._me()
        events: list[dict[str, Any]] = []
        reads = 0
        if not cursor:
            page = self._events("b", limit=PAGE)
            reads += 1
            events = list(reversed(page.get("chunk") or []))
            # The first answer's ``start`` is "now": reading forwards from it gets what follows.
            cursor = str(page.get("start") or "")
        else:
            for _ in range(INBOX_PAGES):
                page = self._events("f", cursor)
                reads += 1
                chunk = page.get("chunk") or []
                events += chunk
                if page.get("end"):
                    cursor = str(page["end"])
                if not chunk or not page.get("end"):
                    break
        items = []
        for event in events:
            item = self._item(event, me, since)
            if item is not None:
                items.append(item)
        return InboxPage(items, cursor, {"reads": reads})

    def _item(self, event: Mapping[str, Any], me: str, since: datetime) -> InboxItem | None:
        content = event.get("content") or {}
        sender = str(event.get("sender") or "")
        if event.get("type") != "m.room.message" or sender == me or not content.get("body"):
            return None
        sent_at = datetime.fromtimestamp(int(event.get("origin_server_ts") or 0) / 1000, UTC)
        if sent_at < since:
            return None
        relates = content.get("m.relates_to") or {}
        parent = str((relates.get("m.in_reply_to") or {}).get("event_id") or "")
        root = str(relates.get("event_id") or "") if relates.get("rel_type") == "m.thread" else ""
        answered = root or parent
        text = _without_reply_fallback(str(content["body"]))
        return InboxItem(
            remote_id=str(event["event_id"]),
            kind=ItemKind.COMMENT if answered else ItemKind.MENTION,
            thread_key=answered or str(event["event_id"]),
            author=InboxAuthor(remote_id=sender, handle=sender),
            text=text,
            sent_at=sent_at,
            remote_url=self.event_url(str(event["event_id"])),
            reference={"event_id": str(event["event_id"]), "room_id": self.room_id},
            parent_remote_id=parent or root,
            our_post_remote_id=answered,
        )

    # -- measuring --------------------------------------------------------------------------

    def metrics_cost(self, posts: int, followers: bool = False) -> dict[str, int]:
        return {"reads": 1} if followers else {}

    def fetch_metrics(self, remote_ids: Sequence[str]) -> dict[str, Metrics]:
        # Matrix counts nothing per message: every metric is "not given".
        return {str(remote_id): Metrics() for remote_id in remote_ids}

    def fetch_followers(self) -> int | None:
        answer = json_of(self._call("GET", self._room("/joined_members")), "Matrix")
        joined = answer.get("joined") or {}
        return max(0, len(joined) - (1 if self._me() in joined else 0))


def _without_reply_fallback(body: str) -> str:
    """A reply's body may open with the quoted message (lines starting with ``> ``)."""
    lines = body.split("\n")
    while lines and lines[0].startswith(">"):
        lines.pop(0)
    while lines and not lines[0].strip():
        lines.pop(0)
    return "\n".join(lines).strip() or body.strip()


def _text_event(text: str) -> dict[str, Any]:
    return {"msgtype": "m.text", "body": text, "format": HTML, "formatted_body": to_html(text)}


def _image_event(media: MediaFile, uri: str) -> dict[str, Any]:
    return {
        "msgtype": "m.image",
        # Clients show ``body`` to people who cannot see the image (the file's name when it
        # has no description).
        "body": media.alt_text or media.path.name,
        "filename": media.path.name,
        "url": uri,
        "info": {"mimetype": media.mime_type, "size": media.size},
    }


def media_problems(media: MediaFile) -> list[Problem]:
    problems = []
    if media.mime_type not in IMAGE_TYPES:
        problems.append(
            Problem("media", f"{media.path.name}: Socialdesk sends JPEG, PNG, GIF or WebP here.")
        )
    try:
        size = media.size
    except OSError:
        return [*problems, Problem("media", f"{media.path.name} cannot be read.")]
    if size > MAX_UPLOAD:
        problems.append(
            Problem("media", f"{media.path.name} is over 50 MB, the usual homeserver limit.")
        )
    return problems


# -- connecting -------------------------------------------------------------------------------


def connect(values: dict[str, str], transport: httpx.BaseTransport | None = None) -> oauth.Account:
    homeserver = normalize_homeserver(values.get("homeserver", ""))
    try:
        guarded_fetch.check(homeserver)
    except (guarded_fetch.FetchRefused, guarded_fetch.FetchFailed) as error:
        raise ValidationError({"homeserver": [str(error)]}) from None
    token = values.get("access_token", "").strip()
    room = values.get("room", "").strip()
    # Room ids of room version 12 have no server part (``!<hash>``); aliases always do.
    if not (room.startswith("!") and len(room) > 1) and not (room.startswith("#") and ":" in room):
        raise ValidationError(
            {"room": ["Give the room's alias (#news:example.org) or id (!abc:example.org)."]}
        )
    probe = MatrixConnector(homeserver, token, "", transport=transport)
    try:
        if not token:
            token = _login(probe, values)
            probe.api.set_header("Authorization", f"Bearer {token}")
        try:
            me = probe._me()
        except ConnectorError as error:
            raise ValidationError(
                {"access_token": [f"The homeserver refused this access token: {error.message}"]}
            ) from None
        room_id = room
        if room.startswith("#"):
            try:
                found = json_of(
                    probe._call("GET", f"/_matrix/client/v3/directory/room/{_q(room)}"), "Matrix"
                )
            except ConnectorError as error:
                raise ValidationError(
                    {"room": [f"The room {room} was not found: {error.message}"]}
                ) from None
            room_id = str(found["room_id"])
        probe.room_id = room_id
        try:
            probe.check_connection()
        except ConnectorError as error:
            raise ValidationError(
                {"room": [f"{me} has not joined {room}: join it first, then connect again."]}
            ) from error
        _check_power(probe, me, room)
    except ConnectorError as error:
        raise ValidationError({"homeserver": [error.message]}) from None
    finally:
        probe.api.close()
    return oauth.Account(
        info=AccountInfo(remote_account_id=f"{me} {room_id}", handle=me, display_name=room),
        credentials={
            "homeserver": homeserver,
            "access_token": token,
            "room_id": room_id,
            "room": room,
            "user_id": me,
        },
    )


def _login(probe: MatrixConnector, values: Mapping[str, str]) -> str:
    user = values.get("user", "").strip()
    password = values.get("password", "")
    if not user or not password:
        raise ValidationError(
            {"access_token": ["Give an access token, or the user name and the password."]}
        )
    body = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": user},
        "password": password,
        "initial_device_display_name": "Socialdesk",
    }
    try:
        answer = json_of(probe._call("POST", "/_matrix/client/v3/login", json=body), "Matrix")
    except ConnectorError as error:
        raise ValidationError(
            {"password": [f"The homeserver refused this user name and password: {error.message}"]}
        ) from None
    return str(answer["access_token"])


def _check_power(probe: MatrixConnector, me: str, room: str) -> None:
    try:
        levels = json_of(probe._call("GET", probe._room("/state/m.room.power_levels/")), "Matrix")
    except ConnectorError:
        return  # no power levels readable: the homeserver will say so at the first message
    mine = (levels.get("users") or {}).get(me, levels.get("users_default", 0))
    needed = (levels.get("events") or {}).get("m.room.message", levels.get("events_default", 0))
    if int(mine) < int(needed):
        raise ValidationError(
            {"room": [f"{me} may not post in {room} (power {mine}, {needed} needed)."]}
        )


def build(credentials: dict[str, Any], store: Callable[[dict[str, Any]], None]) -> Connector | None:
    if not all(credentials.get(k) for k in ("homeserver", "access_token", "room_id")):
        return None
    return MatrixConnector(
        credentials["homeserver"],
        credentials["access_token"],
        credentials["room_id"],
        user_id=str(credentials.get("user_id") or ""),
    )
