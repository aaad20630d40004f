"""Telegram channels through the Bot API, with httpx (``networks.http.Api``).

Telegram has no official Python SDK (python-telegram-bot and aiogram are community projects,
both asyncio frameworks for bots that answer people); a channel post is a handful of plain
HTTPS calls (``https://api.telegram.org/bot<token>/<method>``), made here with the same client
as every other network.

No Telegram server can run here: tested against recorded exchanges written by hand from
core.telegram.org/bots/api (``tests/recordings/telegram/``), served over real HTTP.

The bot token is in the path of every address, so no address is ever put into a message, an
exception or a log line: errors are built from Telegram's answer (its ``description``), the
httpx exception behind an error is dropped from the chain, and the module filters httpx's own
request log lines (``_Redact``), which name the address.

Connecting (a form): the bot's token from @BotFather and the channel (``@name``, or the
``-100…`` id of a private one). ``connect`` asks Telegram who the bot is (``getMe``), which
chat the channel is (``getChat``: it must be a channel) and what the bot may do there
(``getChatMember``: an administrator allowed to post messages), and says what to fix.

Publishing: text alone with ``sendMessage`` (4,096 characters, sent as plain text: no parse
mode); one photo with ``sendPhoto`` or one video with ``sendVideo``, the text as its caption
(1,024 characters); 2 to 10 photos and videos as an album with ``sendMediaGroup``, the caption
on the first. Telegram shows no alt text: it is not sent. Thread parts follow as messages
replying to the one before. **No first comment**: a channel has comments only through a
linked discussion group, where the bot would have to post as itself; ``validate`` refuses it.

Exactly once, as far as Telegram allows: the Bot API takes no idempotency key and cannot list
a channel's messages (a bot sees only the updates it receives, not history). So:
- a timeout after a send raises ``OutcomeUnknown``, and ``find_published`` cannot tell either:
  it **raises**, saying so, rather than answering None (which would make the engine send
  again, possibly a second copy). The delivery stays "outcome unknown" with those words for a
  person to look at the channel; nothing is sent twice;
- once the first message is out, a failure of a later one (a thread part) is made permanent
  and names the published message: retrying the whole delivery would repeat it.

Errors: ``{"ok": false, "error_code", "description", "parameters": {"retry_after"}}``. 429
waits ``retry_after`` seconds; 401 (a revoked token) and 403 (the bot was kicked or left) and
a 400 saying the chat is gone or the bot lost its rights mean the channel needs reconnecting.

Reading: none. The Bot API has no inbox for a channel (comments live in the discussion group)
and no per-message numbers (views show only in the apps); followers are the channel's
subscribers (``getChatMemberCount``). Delete: ``deleteMessage`` (every message of an album).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import httpx
from django.core.exceptions import ValidationError

from . import catalog, http, oauth
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

API = "https://api.telegram.org"
LABEL = "Telegram"
REFERENCE = "https://core.telegram.org/bots/api"

ABOUT = catalog.NetworkAbout(
    network="telegram",
    connect="form",
    text_max=4096,
    text_unit="codepoints",
    operator_setup=(
        "Nothing for the operator. Whoever connects a channel creates a bot with @BotFather, "
        "adds it to the channel as an administrator allowed to post messages, and pastes its "
        "token here."
    ),
    accounts="Telegram channels, public (@name) or private (-100… id); not groups.",
    tested=(
        "Recorded exchanges written by hand from core.telegram.org/bots/api, served over real "
        "HTTP; no Telegram server runs here."
    ),
    reads=(
        "No inbox: the Bot API cannot read a channel's comments (they live in its discussion "
        "group) or its history. No per-post numbers (views show only in Telegram's apps); "
        "subscribers are read as followers."
    ),
    reference=REFERENCE,
)

FORM_FIELDS = (
    catalog.FormField(
        "bot_token",
        "Bot token",
        help="From @BotFather: /newbot, then copy the token it gives.",
        placeholder="123456789:AAF…",
        secret=True,
    ),
    catalog.FormField(
        "chat",  # not "channel": the connect page's "channel" names a channel to reconnect
        "Channel",
        help="@name of a public channel, or the -100… id of a private one.",
        placeholder="@crumbbakery",
    ),
)

TEXT_MAX = 4096
CAPTION_MAX = 1024
ALBUM_MIN, ALBUM_MAX = 2, 10
PHOTO_TYPES = ("image/jpeg", "image/png", "image/webp")
VIDEO_TYPES = ("video/mp4",)
PHOTO_MAX = 10 * 1024 * 1024  # sendPhoto
UPLOAD_MAX = 50 * 1024 * 1024  # any other file a bot uploads
# "No more than 20 messages per minute in the same group" (Bots FAQ); channels are counted
# the same way. An album counts as one message per item.
MESSAGES_PER_MINUTE = 20

_TOKEN = re.compile(r"^\d{5,}:[A-Za-z0-9_-]{30,}$")
_CHANNEL = re.compile(r"^(@[A-Za-z][A-Za-z0-9_]{3,31}|-100\d{5,})$")
_TOKEN_IN_PATH = re.compile(r"/bot\d+:[A-Za-z0-9_-]+")
# Telegram's words when the channel is gone or the bot may no longer post there.
_LOST = (
    "chat not found",
    "bot was kicked",
    "bot is not a member",
    "need administrator rights",
    "not enough rights",
    "have no rights to send",
)


class _Redact(logging.Filter):
    """httpx logs every request with its address; a Telegram address carries the bot token."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = tuple(
                _TOKEN_IN_PATH.sub("/bot<token>", str(a)) if "/bot" in str(a) else a
                for a in (record.args if isinstance(record.args, tuple) else (record.args,))
            )
        if isinstance(record.msg, str) and "/bot" in record.msg:
            record.msg = _TOKEN_IN_PATH.sub("/bot<token>", record.msg)
        return True


logging.getLogger("httpx").addFilter(_Redact())


def _units(text: str) -> int:
    """Telegram counts a text's length in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def _body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _words(response: httpx.Response) -> str:
    body = _body(response)
    return str(body.get("description") or response.reason_phrase or response.status_code)


def _retry_after(response: httpx.Response) -> datetime | None:
    seconds = (_body(response).get("parameters") or {}).get("retry_after")
    if isinstance(seconds, int | float):
        return datetime.now(UTC) + timedelta(seconds=float(seconds))
    return http.retry_after_header(response)


def _lost(response: httpx.Response) -> bool:
    if response.status_code == 403:
        return True
    if response.status_code != 400:
        return False
    words = _words(response).lower()
    return any(sign in words for sign in _LOST)


def _kind(media: MediaFile) -> str:
    return "video" if media.mime_type.startswith("video/") else "photo"


def media_problems(media: MediaFile) -> list[Problem]:
    """What the Bot API refuses in one file: photos JPEG/PNG/WEBP up to 10 MB, videos MP4 up
    to 50 MB (a bot's upload limit)."""
    name = media.path.name
    if media.mime_type not in (*PHOTO_TYPES, *VIDEO_TYPES):
        return [
            Problem(
                "media",
                f"{name} is {media.mime_type}; a Telegram channel post takes JPEG, PNG or WEBP "
                "photos and MP4 videos.",
            )
        ]
    ceiling = PHOTO_MAX if _kind(media) == "photo" else UPLOAD_MAX
    try:
        size = media.size
    except OSError:
        return [Problem("media", f"{name} cannot be read.")]
    if size > ceiling:
        return [
            Problem(
                "media",
                f"{name} is {size / 1_048_576:.1f} MB; a bot may send "
                f"{_kind(media)}s up to {ceiling // 1_048_576} MB.",
            )
        ]
    return []


class TelegramConnector(Connector):
    """One channel, posted to by one bot (see the module docstring)."""

    network = "telegram"
    rate_limits: ClassVar[tuple[RateLimit, ...]] = (
        RateLimit("messages", MESSAGES_PER_MINUTE, timedelta(minutes=1)),
    )
    measures = True
    metric_table = (
        MetricInfo("followers", "getChatMemberCount (the channel's subscribers)", "live"),
    )
    metric_note = (
        "Telegram's Bot API gives no numbers for a channel's messages: views, reactions and "
        "forwards show only in Telegram's apps."
    )

    def __init__(
        self,
        credentials: Mapping[str, Any],
        *,
        timeout: httpx.Timeout | float = http.TIMEOUT,
    ) -> None:
        self.token = str(credentials["bot_token"])
        self.chat_id = str(credentials["chat_id"])
        self.username = str(credentials.get("chat_username") or "").lstrip("@")
        self.api = http.Api(
            "telegram",
            LABEL,
            describe=_words,
            reset_at=_retry_after,
            revoked=_lost,
            timeout=timeout,
        )

    def __repr__(self) -> str:  # never the token
        return f"TelegramConnector(chat_id={self.chat_id!r})"

    def _call(self, method: str, **kwargs: Any) -> Any:
        """One Bot API method; its ``result``. Errors carry Telegram's words only: the
        httpx exception behind them (which holds the address, and so the token) is dropped."""
        try:
            response = self.api.call("POST", f"{API}/bot{self.token}/{method}", **kwargs)
        except (ConnectorError, http.OutcomeUnknown) as error:
            error.__cause__ = None
            error.__suppress_context__ = True
            raise error from None
        body = http.json_of(response, LABEL)
        if not isinstance(body, dict) or not body.get("ok"):
            raise ConnectorError(f"Telegram said: {body.get('description', 'not ok')}.")
        return body.get("result")

    # -- the interface ----------------------------------------------------------------------

    def cost(self, content: DeliveryContent) -> dict[str, int]:
        if content.action == "delete":
            return {}
        first = len(content.media) if len(content.media) >= ALBUM_MIN else 1
        return {"messages": first + len(content.thread)}

    def action_problems(self, content: DeliveryContent) -> list[Problem]:
        if content.action == "delete" and str(content.target.get("id") or "").strip():
            return []
        return [
            Problem(
                "action",
                f"Socialdesk cannot {content.action} on a Telegram channel: the Bot API gives "
                "it no comments to answer.",
            )
        ]

    def validate(self, content: DeliveryContent) -> list[Problem]:
        if not content.is_write_of_text or content.action == "reply":
            return self.action_problems(content)
        problems: list[Problem] = []
        text = _main_text(content)
        if not text.strip() and not content.media:
            problems.append(Problem("text", "Write some text or attach a photo or video."))
        if content.media:
            if _units(text) > CAPTION_MAX:
                problems.append(
                    Problem(
                        "text",
                        f"With a photo or video, Telegram takes a caption of {CAPTION_MAX:,} "
                        f"characters; this one has {_units(text):,}. Shorten it, or move the "
                        "rest into a thread part.",
                    )
                )
        elif _units(text) > TEXT_MAX:
            problems.append(
                Problem(
                    "text",
                    f"Telegram takes {TEXT_MAX:,} characters a message; this one has "
                    f"{_units(text):,}.",
                )
            )
        for number, part in enumerate(content.thread, start=2):
            if not part.strip():
                problems.append(Problem("thread", f"Part {number} of the thread is empty."))
            elif _units(part) > TEXT_MAX:
                problems.append(
                    Problem(
                        "thread",
                        f"Part {number} of the thread has {_units(part):,} of Telegram's "
                        f"{TEXT_MAX:,} characters.",
                    )
                )
        if content.first_comment:
            problems.append(
                Problem(
                    "first_comment",
                    "A Telegram channel has comments only through its linked discussion group, "
                    "where Socialdesk does not post: remove the first comment, or make it a "
                    "thread part.",
                )
            )
        if len(content.media) > ALBUM_MAX:
            problems.append(
                Problem(
                    "media",
                    f"Telegram takes up to {ALBUM_MAX} photos and videos a post; this one has "
                    f"{len(content.media)}.",
                )
            )
        for media in content.media:
            problems += media_problems(media)
        return problems

    def publish(self, content: DeliveryContent, idempotency_key: str) -> Published:
        problems = self.validate(content)
        if problems:
            raise ConnectorError(" ".join(str(p) for p in problems), permanent=True)
        if content.action == "delete":
            self.delete(str(content.target["id"]))
            return Published(str(content.target["id"]), "")
        ids = self._send_first(content)
        published = Published(",".join(ids), self.url_of(ids[0]))
        previous = ids[0]
        for number, part in enumerate(content.thread, start=2):
            try:
                previous = self._send_text(part, reply_to=previous)
            except (ConnectorError, http.OutcomeUnknown) as error:
                # The post is out: sending the delivery again would repeat it.
                words = getattr(error, "message", str(error))
                raise ConnectorError(
                    f"The post is published ({published.remote_url}), but part {number} of "
                    f"the thread was not: {words} It is not sent again, so that the post is "
                    "not repeated: send the rest in Telegram.",
                    permanent=True,
                ) from None
        return published

    def _send_first(self, content: DeliveryContent) -> list[str]:
        text = _main_text(content)
        media = list(content.media)
        if not media:
            return [self._send_text(text)]
        if len(media) == 1:
            item = media[0]
            kind = _kind(item)
            data = {"chat_id": self.chat_id}
            if text:
                data["caption"] = text
            if kind == "video":
                data["supports_streaming"] = "true"
            files = {kind: (item.path.name, item.path.read_bytes(), item.mime_type)}
            method = "sendVideo" if kind == "video" else "sendPhoto"
            message = self._call(method, data=data, files=files)
            return [str(message["message_id"])]
        album = []
        files = {}
        for index, item in enumerate(media):
            entry: dict[str, Any] = {"type": _kind(item), "media": f"attach://file{index}"}
            if index == 0 and text:
                entry["caption"] = text
            album.append(entry)
            files[f"file{index}"] = (item.path.name, item.path.read_bytes(), item.mime_type)
        data = {"chat_id": self.chat_id, "media": json.dumps(album)}
        messages = self._call("sendMediaGroup", data=data, files=files)
        return [str(m["message_id"]) for m in messages]

    def _send_text(self, text: str, reply_to: str = "") -> str:
        body: dict[str, Any] = {"chat_id": self.chat_id, "text": text}
        if reply_to:
            body["reply_parameters"] = {"message_id": int(reply_to)}
        return str(self._call("sendMessage", json=body)["message_id"])

    def url_of(self, message_id: str) -> str:
        if self.username:
            return f"https://t.me/{self.username}/{message_id}"
        return f"https://t.me/c/{self.chat_id.removeprefix('-100')}/{message_id}"

    def find_published(
        self, idempotency_key: str, content: DeliveryContent | None = None
    ) -> Published | None:
        """Telegram cannot be asked: the Bot API reads no channel history. Raising (never
        None, which would send again) keeps the delivery "outcome unknown" with these words,
        for a person to look at the channel."""
        if content is not None and content.action == "delete":
            return None  # deleting again is harmless
        raise ConnectorError(
            "Telegram's Bot API cannot list a channel's messages, so Socialdesk cannot tell "
            "whether this one went out. Look at the channel: it is not sent again on its own.",
            permanent=True,
        )

    def delete(self, remote_id: str) -> None:
        for message_id in remote_id.split(","):
            try:
                self._call(
                    "deleteMessage", json={"chat_id": self.chat_id, "message_id": int(message_id)}
                )
            except ConnectorError as error:
                if "message to delete not found" not in error.message.lower():
                    raise

    def check_connection(self) -> AccountInfo:
        chat = self._call("getChat", json={"chat_id": self.chat_id})
        return _info(chat)

    # -- measuring --------------------------------------------------------------------------

    def metrics_cost(self, posts: int, followers: bool = False) -> dict[str, int]:
        return {}

    def fetch_metrics(self, remote_ids: Sequence[str]) -> dict[str, Metrics]:
        """Nothing per message: each post is there with no numbers (None, never 0)."""
        return {str(remote_id): Metrics() for remote_id in remote_ids}

    def fetch_followers(self) -> int | None:
        count = self._call("getChatMemberCount", json={"chat_id": self.chat_id})
        return int(count) if isinstance(count, int) else None


def _main_text(content: DeliveryContent) -> str:
    text = content.text
    if content.link and content.link.url not in text:
        text = f"{text}\n\n{content.link.url}" if text.strip() else content.link.url
    return text


def _info(chat: Mapping[str, Any]) -> AccountInfo:
    username = str(chat.get("username") or "")
    title = str(chat.get("title") or username or chat.get("id"))
    return AccountInfo(str(chat["id"]), f"@{username}" if username else title, title)


# -- connecting -----------------------------------------------------------------------------


def connect(values: dict[str, str]) -> oauth.Account:
    """Check the bot token and the channel with Telegram; the account to store, or a
    ``ValidationError`` saying what to fix (nothing is stored on failure)."""
    token = values.get("bot_token", "").strip()
    channel = values.get("chat", "").strip()
    if channel.startswith("https://t.me/"):
        channel = "@" + channel.removeprefix("https://t.me/").strip("/")
    if not _TOKEN.match(token):
        raise ValidationError(
            {"bot_token": ["This is not a bot token: copy the whole token @BotFather gave."]}
        )
    if not _CHANNEL.match(channel):
        raise ValidationError(
            {"chat": ["Give the channel as @name, or the -100… id of a private channel."]}
        )
    probe = TelegramConnector({"bot_token": token, "chat_id": channel}, timeout=20.0)
    try:
        try:
            bot = probe._call("getMe")
        except ConnectorError as error:
            if error.auth_revoked or error.permanent:
                raise ValidationError(
                    {
                        "bot_token": [
                            "Telegram does not know this bot token: copy it again from "
                            "@BotFather (or /revoke made a new one)."
                        ]
                    }
                ) from None
            raise ValidationError(f"Telegram could not be reached: {error.message}") from None
        try:
            chat = probe._call("getChat", json={"chat_id": channel})
            member = probe._call(
                "getChatMember", json={"chat_id": chat["id"], "user_id": bot["id"]}
            )
        except ConnectorError as error:
            if error.permanent:
                raise ValidationError(
                    {
                        "chat": [
                            f"Telegram cannot find this channel for the bot ({error.message}) "
                            "Add the bot to the channel as an administrator, then connect "
                            "again."
                        ]
                    }
                ) from None
            raise ValidationError(f"Telegram could not be reached: {error.message}") from None
    finally:
        probe.api.close()
    if chat.get("type") != "channel":
        raise ValidationError(
            {"chat": ["This is a group, not a channel: Socialdesk posts to channels."]}
        )
    allowed = member.get("status") == "creator" or (
        member.get("status") == "administrator" and member.get("can_post_messages")
    )
    if not allowed:
        raise ValidationError(
            {
                "chat": [
                    f"@{bot.get('username', 'the bot')} is not an administrator allowed to "
                    "post messages in this channel: in the channel's settings, make it an "
                    "administrator with “Post messages”, then connect again."
                ]
            }
        )
    credentials = {
        "bot_token": token,
        "chat_id": str(chat["id"]),
        "chat_username": str(chat.get("username") or ""),
        "bot_username": str(bot.get("username") or ""),
    }
    return oauth.Account(_info(chat), credentials)


def build(
    credentials: dict[str, Any], store: Callable[[dict[str, Any]], None]
) -> TelegramConnector | None:
    """Bot tokens do not expire: ``store`` is never needed."""
    if not credentials.get("bot_token") or not credentials.get("chat_id"):
        return None
    return TelegramConnector(credentials)
