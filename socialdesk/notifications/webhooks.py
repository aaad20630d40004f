"""Outgoing webhooks: the body, its signature, and one attempt to send it.

Every request carries ``X-Socialdesk-Timestamp`` (Unix seconds at sending) and
``X-Socialdesk-Signature: sha256=<hex>``, the HMAC-SHA256 with the webhook's secret over
``<timestamp>.<raw body>``. Signing the timestamp with the body lets a receiver refuse a
replayed request: it recomputes the HMAC and rejects a timestamp more than a few minutes
old (``verify`` below is the reference implementation, used by the tests).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

from socialdesk import guarded_fetch
from socialdesk.workspaces.models import User, Workspace

from .models import Webhook

SIGNATURE_HEADER = "X-Socialdesk-Signature"
TIMESTAMP_HEADER = "X-Socialdesk-Timestamp"
EVENT_HEADER = "X-Socialdesk-Event"
TIMEOUT_SECONDS = 10.0
TOLERANCE_SECONDS = 300


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def validate_url(url: str) -> str:
    """An absolute http(s) URL with a host that Socialdesk may send to, or ValidationError
    naming the ``url`` field.

    Addresses inside this server's network (``127.0.0.1``, ``localhost``, ``10.0.0.1``,
    ``127.1`` …) and credentials in the address are refused here already, so nobody saves
    a webhook that could never be sent; names are resolved and checked again at each send.
    """
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError for a port that is not a number
    except ValueError:
        raise ValidationError({"url": ["This is not a valid URL."]}) from None
    if parts.scheme not in {"http", "https"}:
        raise ValidationError({"url": ["Use an http:// or https:// address."]})
    if not parts.hostname:
        raise ValidationError(
            {"url": ["The address needs a host name, e.g. https://example.com/hook."]}
        )
    if port == 0 or len(url) > 500 or any(ch.isspace() for ch in url):
        raise ValidationError(
            {"url": ["This is not a valid URL (at most 500 characters, no spaces)."]}
        )
    try:
        guarded_fetch.check(url, resolve_names=False)
    except (guarded_fetch.FetchRefused, guarded_fetch.FetchFailed) as refusal:
        raise ValidationError({"url": [str(refusal)]}) from None
    return url


def absolute(url: str) -> str:
    if url.startswith("/"):
        return settings.SITE_URL + url
    return url


def build_body(
    hook: Webhook,
    workspace: Workspace,
    event: str,
    title: str,
    *,
    body: str = "",
    url: str = "",
    actor: User | None = None,
    data: dict | None = None,
) -> str:
    """The JSON text sent to ``hook`` for one event (fixed once, so retries send the same);
    ``data``, when the event has its own shape (a lead), is added as ``data``."""
    link = absolute(url)
    if hook.slack_compatible:
        lines = [title, body, f"<{link}|Open in Socialdesk>" if link else ""]
        return json.dumps({"text": "\n".join(line for line in lines if line)})
    from .services import EVENTS

    payload: dict[str, object] = {
        "event": event,
        "label": EVENTS.get(event, event),
        "workspace": {"slug": workspace.slug, "name": workspace.name},
        "title": title,
        "body": body,
        "url": link,
        "actor": actor.display_name if actor is not None else None,
        "created_at": int(time.time()),
    }
    if data is not None:
        payload["data"] = data
    return json.dumps(payload, default=str)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(
    secret: str, body: bytes, signature: str, timestamp: str, now: float | None = None
) -> bool:
    """What a receiver does: a fresh timestamp and a matching signature (constant time)."""
    try:
        moment = int(timestamp)
    except ValueError:
        return False
    if abs((now if now is not None else time.time()) - moment) > TOLERANCE_SECONDS:
        return False
    return hmac.compare_digest(sign(secret, moment, body), signature)


@dataclass
class Outcome:
    ok: bool
    status: int | None
    message: str
    permanent: bool = False


def send(hook: Webhook, event: str, body: str, timeout: float = TIMEOUT_SECONDS) -> Outcome:
    """POST ``body`` to ``hook`` once, through the guarded fetch. Never raises: the outcome
    says what happened.

    An address the guarded fetch refuses is a permanent failure (sending again changes
    nothing until an operator allows it), reported with the refusal's reason and never a
    socket error. A 4xx answer other than 408/429 is permanent too (the receiver refuses
    this request and will refuse it again); timeouts, connection errors and 5xx are worth
    retrying. Redirects are not followed: a signed request goes to the address the
    workspace chose, and a 3xx is reported as the answer.
    """
    raw = body.encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Socialdesk-Webhook/1",
        EVENT_HEADER: event,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(hook.secret, timestamp, raw),
    }
    try:
        answer = guarded_fetch.fetch(
            "POST",
            hook.url,
            content=raw,
            headers=headers,
            timeout=timeout,
            max_redirects=0,
            read_body=False,
        )
    except guarded_fetch.FetchRefused as refusal:
        return Outcome(False, None, str(refusal), permanent=True)
    except guarded_fetch.FetchFailed as failure:
        return Outcome(False, None, str(failure))
    status = answer.status
    if 200 <= status < 300:
        return Outcome(True, status, f"HTTP {status}")
    permanent = 400 <= status < 500 and status not in {408, 429}
    return Outcome(False, status, f"HTTP {status}", permanent=permanent)
