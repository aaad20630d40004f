"""Discord channels through a channel webhook, with httpx (``networks.http.Api``).

Discord has no official Python SDK (discord.py is a community library for bots on the
gateway); posting through a webhook is three documented HTTP calls, made here with the same
client as every other network.

No Discord server can run here: tested against recorded exchanges written by hand from
discord.com/developers/docs (``tests/recordings/discord/``), served over real HTTP.

Connecting (a form): the webhook's address from the channel's Integrations settings,
``https://discord.com/api/webhooks/{id}/{token}``. Only its id and token are kept: every call
goes to Discord's own address built from them (never to the host a person typed), so there is
no user-given server to guard. ``connect`` reads the webhook (``GET``, which answers its
channel, server and name) and says what to fix. The token is a secret in the path: errors are
built from Discord's answer only, the httpx exception behind one is dropped, and httpx's own
request log lines are filtered (``_Redact``).

Publishing: ``POST /webhooks/{id}/{token}?wait=true`` (so Discord answers the message), with
``content`` (2,000 characters) and up to 10 files as multipart ``files[n]`` with
``payload_json`` naming each in ``attachments`` with its alt text as ``description``; a whole
request may be 25 MiB. Thread parts follow as further messages. No first comment: a webhook
message has no comments; ``validate`` refuses it. Mentions are switched off
(``allowed_mentions``) so a post never pings @everyone by accident.

Exactly once, as far as Discord allows: an execute takes no idempotency key (no ``nonce`` for
webhooks), and a webhook cannot list its channel's messages. As for Telegram: a timeout after
a send raises ``OutcomeUnknown``, and ``find_published`` **raises** saying Discord cannot be
asked, so the delivery stays "outcome unknown" for a person to look at the channel rather than
risk a second copy; a thread part failing after the first message is out is permanent and
names that message.

Rate limits: a 429 answers ``Retry-After`` (seconds) and a JSON ``retry_after`` (seconds, a
float) with ``global`` when the whole application is limited; the ``X-RateLimit-*`` headers
describe the bucket. Webhooks are limited per webhook, about 5 requests per 2 seconds and 30
messages a minute per channel (not published as numbers; what Discord has answered).

A 401 or a 404 for the webhook ("Unknown Webhook", "Invalid Webhook Token"): the webhook was
deleted or regenerated; the channel needs reconnecting. Delete: ``DELETE
/webhooks/{id}/{token}/messages/{message_id}``. No inbox and no metrics: a webhook reads
nothing (said on the channel).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
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
    Problem,
    Published,
    RateLimit,
)

API = "https://discord.com/api/v10"
LABEL = "Discord"
REFERENCE = "https://discord.com/developers/docs/resources/webhook"

ABOUT = catalog.NetworkAbout(
    network="discord",
    connect="form",
    text_max=2000,
    text_unit="codepoints",
    operator_setup=(
        "Nothing for the operator. Whoever connects a channel creates a webhook in the Discord "
        "channel's settings (Integrations → Webhooks → New Webhook) and pastes its address."
    ),
    accounts="Any Discord text or announcement channel where you may manage webhooks.",
    tested=(
        "Recorded exchanges written by hand from discord.com/developers/docs, served over real "
        "HTTP; no Discord server runs here."
    ),
    reads=(
        "Nothing: a webhook can post and delete its own messages, but read no replies, "
        "reactions or numbers, so Discord channels have no inbox and no metrics."
    ),
    reference=REFERENCE,
)

FORM_FIELDS = (
    catalog.FormField(
        "webhook_url",
        "Webhook address",
        help="In the Discord channel's settings: Integrations → Webhooks → Copy Webhook URL.",
        placeholder="https://discord.com/api/webhooks/…/…",
        secret=True,
    ),
)

TEXT_MAX = 2000
FILES_MAX = 10
REQUEST_MAX = 25 * 1024 * 1024  # a whole message request
ALT_TEXT_MAX = 1024  # an attachment's description
# Not published as numbers; what Discord answers for webhooks (see the module docstring).
MESSAGES_PER_MINUTE = 30

_WEBHOOK = re.compile(
    r"^https://(?:(?:canary|ptb)\.)?discord(?:app)?\.com/api(?:/v\d+)?/webhooks/"
    r"(?P<id>\d{15,25})/(?P<token>[A-Za-z0-9_.-]{20,100})/?$"
)
_TOKEN_IN_PATH = re.compile(r"(/webhooks/\d+/)[A-Za-z0-9_.-]+")
_GONE_CODES = (10015, 50027)  # Unknown Webhook, Invalid Webhook Token


class _Redact(logging.Filter):
    """httpx logs every request with its address; a webhook address carries its token."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            record.args = tuple(
                _TOKEN_IN_PATH.sub(r"\1<token>", str(a)) if "/webhooks/" in str(a) else a
                for a in args
            )
        if isinstance(record.msg, str) and "/webhooks/" in record.msg:
            record.msg = _TOKEN_IN_PATH.sub(r"\1<token>", record.msg)
        return True


logging.getLogger("httpx").addFilter(_Redact())


def _body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _words(response: httpx.Response) -> str:
    body = _body(response)
    words = str(body.get("message") or response.reason_phrase or response.status_code)
    errors = body.get("errors")
    if isinstance(errors, dict):  # {"content": {"_errors": [{"message": ...}]}}
        found = re.findall(r'"message": "([^"]+)"', json.dumps(errors))
        if found:
            words = f"{words} ({'; '.join(found[:3])})"
    return words


def _retry_after(response: httpx.Response) -> datetime | None:
    """The JSON ``retry_after`` (a float, the more precise), else the header."""
    seconds = _body(response).get("retry_after")
    if isinstance(seconds, int | float):
        return datetime.now(UTC) + timedelta(seconds=float(seconds))
    value = response.headers.get("retry-after", "").strip()
    try:
        return datetime.now(UTC) + timedelta(seconds=float(value)) if value else None
    except ValueError:
        return http.retry_after_header(response)


def _gone(response: httpx.Response) -> bool:
    if response.status_code == 404 and _body(response).get("code") in _GONE_CODES:
        return True
    return response.status_code == 401


def _parse(url: str) -> tuple[str, str] | None:
    found = _WEBHOOK.match(url.strip())
    return (found["id"], found["token"]) if found else None


def media_problems(media: MediaFile) -> list[Problem]:
    """Discord takes any file type; what it refuses is size (a message request is 25 MiB at
    most) and an alt text longer than an attachment's description may be."""
    name = media.path.name
    try:
        size = media.size
    except OSError:
        return [Problem("media", f"{name} cannot be read.")]
    problems = []
    if size > REQUEST_MAX:
        problems.append(
            Problem("media", f"{name} is {size / 1_048_576:.1f} MB; Discord takes 25 MB a message.")
        )
    if len(media.alt_text) > ALT_TEXT_MAX:
        problems.append(
            Problem(
                "media",
                f"The alt text of {name} has {len(media.alt_text)} characters; Discord allows "
                f"{ALT_TEXT_MAX}.",
            )
        )
    return problems


class DiscordConnector(Connector):
    """One Discord channel, posted to through one webhook (see the module docstring)."""

    network = "discord"
    rate_limits: ClassVar[tuple[RateLimit, ...]] = (
        RateLimit("messages", MESSAGES_PER_MINUTE, timedelta(minutes=1)),
    )

    def __init__(
        self,
        credentials: Mapping[str, Any],
        *,
        timeout: httpx.Timeout | float = http.TIMEOUT,
    ) -> None:
        parsed = _parse(str(credentials["webhook_url"]))
        if parsed is None:
            raise ValueError("not a Discord webhook address")
        self.webhook_id, self.token = parsed
        self.guild_id = str(credentials.get("guild_id") or "")
        self.channel_id = str(credentials.get("channel_id") or "")
        self.api = http.Api(
            "discord",
            LABEL,
            describe=_words,
            reset_at=_retry_after,
            revoked=_gone,
            timeout=timeout,
        )

    def __repr__(self) -> str:  # never the token
        return f"DiscordConnector(webhook_id={self.webhook_id!r})"

    def _call(self, method: str, suffix: str = "", **kwargs: Any) -> httpx.Response:
        """One call to this webhook's address; errors carry Discord's words only (the httpx
        exception behind them holds the address, and so the token: dropped)."""
        url = f"{API}/webhooks/{self.webhook_id}/{self.token}{suffix}"
        try:
            return self.api.call(method, url, **kwargs)
        except (ConnectorError, http.OutcomeUnknown) as error:
            error.__cause__ = None
            error.__suppress_context__ = True
            raise error from None

    # -- the interface ----------------------------------------------------------------------

    def cost(self, content: DeliveryContent) -> dict[str, int]:
        if content.action == "delete":
            return {}
        return {"messages": 1 + len(content.thread)}

    def action_problems(self, content: DeliveryContent) -> list[Problem]:
        if content.action == "delete" and str(content.target.get("id") or "").strip():
            return []
        return [
            Problem(
                "action",
                f"Socialdesk cannot {content.action} on Discord: a webhook reads no replies.",
            )
        ]

    def validate(self, content: DeliveryContent) -> list[Problem]:
        if not content.is_write_of_text or content.action == "reply":
            return self.action_problems(content)
        problems: list[Problem] = []
        text = _main_text(content)
        if not text.strip() and not content.media:
            problems.append(Problem("text", "Write some text or attach a file."))
        if len(text) > TEXT_MAX:
            problems.append(
                Problem(
                    "text",
                    f"Discord takes {TEXT_MAX:,} characters a message; this one has "
                    f"{len(text):,}. Move the rest into a thread part.",
                )
            )
        for number, part in enumerate(content.thread, start=2):
            if not part.strip():
                problems.append(Problem("thread", f"Part {number} of the thread is empty."))
            elif len(part) > TEXT_MAX:
                problems.append(
                    Problem(
                        "thread",
                        f"Part {number} of the thread has {len(part):,} of Discord's "
                        f"{TEXT_MAX:,} characters.",
                    )
                )
        if content.first_comment:
            problems.append(
                Problem(
                    "first_comment",
                    "A Discord webhook message has no comments: remove the first comment, or "
                    "make it a thread part.",
                )
            )
        if len(content.media) > FILES_MAX:
            problems.append(
                Problem(
                    "media",
                    f"Discord takes up to {FILES_MAX} files a message; this one has "
                    f"{len(content.media)}.",
                )
            )
        for media in content.media:
            problems += media_problems(media)
        try:
            total = sum(media.size for media in content.media)
        except OSError:
            total = 0  # said per file above
        if total > REQUEST_MAX and len(content.media) > 1:
            problems.append(
                Problem(
                    "media",
                    f"The files add up to {total / 1_048_576:.1f} MB; Discord takes 25 MB a "
                    "message.",
                )
            )
        return problems

    def publish(self, content: DeliveryContent, idempotency_key: str) -> Published:
        problems = self.validate(content)
        if problems:
            raise ConnectorError(" ".join(str(p) for p in problems), permanent=True)
        if content.action == "delete":
            self.delete(str(content.target["id"]))
            return Published(str(content.target["id"]), "")
        first = self._send(_main_text(content), content.media)
        published = Published(first, self.url_of(first))
        for number, part in enumerate(content.thread, start=2):
            try:
                self._send(part, ())
            except (ConnectorError, http.OutcomeUnknown) as error:
                # The post is out: sending the delivery again would repeat it.
                words = getattr(error, "message", str(error))
                raise ConnectorError(
                    f"The post is published ({published.remote_url}), but part {number} of "
                    f"the thread was not: {words} It is not sent again, so that the post is "
                    "not repeated: send the rest in Discord.",
                    permanent=True,
                ) from None
        return published

    def _send(self, text: str, media: Any) -> str:
        payload: dict[str, Any] = {"content": text, "allowed_mentions": {"parse": []}}
        params = {"wait": "true"}
        if not media:
            response = self._call("POST", params=params, json=payload)
        else:
            payload["attachments"] = [
                {"id": index, "filename": item.path.name, "description": item.alt_text}
                if item.alt_text
                else {"id": index, "filename": item.path.name}
                for index, item in enumerate(media)
            ]
            files = {
                f"files[{index}]": (item.path.name, item.path.read_bytes(), item.mime_type)
                for index, item in enumerate(media)
            }
            response = self._call(
                "POST", params=params, data={"payload_json": json.dumps(payload)}, files=files
            )
        message_id = str(http.json_of(response, LABEL).get("id") or "")
        if not message_id:
            raise ConnectorError("Discord answered without the message's id.", permanent=True)
        if not self.channel_id:
            self.channel_id = str(http.json_of(response, LABEL).get("channel_id") or "")
        return message_id

    def url_of(self, message_id: str) -> str:
        if not self.guild_id or not self.channel_id:
            return ""
        return f"https://discord.com/channels/{self.guild_id}/{self.channel_id}/{message_id}"

    def find_published(
        self, idempotency_key: str, content: DeliveryContent | None = None
    ) -> Published | None:
        """Discord cannot be asked: a webhook lists no messages, and an execute carries no
        key. Raising (never None, which would send again) keeps the delivery "outcome
        unknown" with these words, for a person to look at the channel."""
        if content is not None and content.action == "delete":
            return None  # deleting again is harmless
        raise ConnectorError(
            "A Discord webhook cannot list the channel's messages, so Socialdesk cannot tell "
            "whether this one went out. Look at the channel: it is not sent again on its own.",
            permanent=True,
        )

    def delete(self, remote_id: str) -> None:
        try:
            self._call("DELETE", f"/messages/{remote_id}")
        except ConnectorError as error:
            if "unknown message" not in error.message.lower():
                raise  # 10008 Unknown Message: already gone, which is what was asked

    def check_connection(self) -> AccountInfo:
        return _info(http.json_of(self._call("GET"), LABEL))


def _main_text(content: DeliveryContent) -> str:
    text = content.text
    if content.link and content.link.url not in text:
        text = f"{text}\n\n{content.link.url}" if text.strip() else content.link.url
    return text


def _info(webhook: Mapping[str, Any]) -> AccountInfo:
    name = str(webhook.get("name") or "Discord webhook")
    return AccountInfo(str(webhook.get("channel_id") or webhook.get("id")), name, name)


# -- connecting -----------------------------------------------------------------------------


def connect(values: dict[str, str]) -> oauth.Account:
    """Check the webhook with Discord; the account to store, or a ``ValidationError`` saying
    what to fix (nothing is stored on failure)."""
    url = values.get("webhook_url", "").strip()
    parsed = _parse(url)
    if parsed is None:
        raise ValidationError(
            {
                "webhook_url": [
                    "This is not a Discord webhook address: in the channel's settings, "
                    "Integrations → Webhooks, use “Copy Webhook URL”."
                ]
            }
        )
    webhook_id, token = parsed
    canonical = f"https://discord.com/api/webhooks/{webhook_id}/{token}"
    probe = DiscordConnector({"webhook_url": canonical}, timeout=20.0)
    try:
        webhook = http.json_of(probe._call("GET"), LABEL)
    except ConnectorError as error:
        if error.permanent:
            raise ValidationError(
                {
                    "webhook_url": [
                        f"Discord does not know this webhook ({error.message}): it was deleted "
                        "or its address was regenerated. Copy the address again."
                    ]
                }
            ) from None
        raise ValidationError(f"Discord could not be reached: {error.message}") from None
    finally:
        probe.api.close()
    if str(webhook.get("type", 1)) != "1" or not webhook.get("channel_id"):
        raise ValidationError(
            {"webhook_url": ["This webhook does not post to a channel Socialdesk can use."]}
        )
    credentials = {
        "webhook_url": canonical,
        "guild_id": str(webhook.get("guild_id") or ""),
        "channel_id": str(webhook["channel_id"]),
        "webhook_name": str(webhook.get("name") or ""),
    }
    return oauth.Account(_info(webhook), credentials)


def build(
    credentials: dict[str, Any], store: Callable[[dict[str, Any]], None]
) -> DiscordConnector | None:
    """Webhooks do not expire: ``store`` is never needed."""
    if not credentials.get("webhook_url") or _parse(str(credentials["webhook_url"])) is None:
        return None
    return DiscordConnector(credentials)
