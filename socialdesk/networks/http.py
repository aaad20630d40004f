"""Calling a network's documented HTTP API with httpx, for the networks that have no maintained
Python SDK (issue 16: Meta's Graph APIs, Google, LinkedIn, TikTok, Pinterest, X, Telegram,
Discord, WordPress).

Each network answers errors in its own shape, so a connector gives ``Api`` two small functions:
``describe(response)``, the network's own words for a refusal, and ``reset_at(response)``, when
a 429 (or a network's own "too many calls" code) says it may be asked again. ``Api.call`` turns
every answer into what the engine acts on (``base.ConnectorError``):

- 2xx: the response;
- 401 (and whatever ``revoked(response)`` recognises, e.g. Meta's error code 190): the
  authorization is revoked, the channel needs reconnecting;
- 429 (and whatever ``limited(response)`` recognises, e.g. Meta's codes 4, 17, 32, 613):
  rate limited until ``reset_at``; a reset already past still waits the engine's backoff;
- 408, 5xx, a refused connection: transient, tried again;
- any other 4xx: permanent, with the network's words;
- a timeout or a broken connection *after* a write was sent: ``OutcomeUnknown`` (not a
  ``ConnectorError``), so the engine asks the network (``find_published``) before any retry
  instead of risking a second post.

Never logs or raises a credential: tokens travel in headers, and an error message is built
from the network's answer, never from the request.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from django.conf import settings

from socialdesk import tls

from .base import ConnectorError

# Long enough for a slow upload's answer, short enough that a worker is not held for minutes.
TIMEOUT = httpx.Timeout(30.0, connect=10.0)
# Methods that change nothing on the network: a timeout on one of them can simply be retried.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class OutcomeUnknown(Exception):
    """A write was sent and no answer came back (timeout, dropped connection): the post may
    exist. Deliberately not a ``ConnectorError``: the engine marks the delivery ``unknown`` and
    reconciles it with ``find_published`` before anything is sent again."""


def endpoint(network: str, url: str) -> str:
    """``url`` (a network's official address), or the same path on the server that
    ``settings.NETWORK_URL_OVERRIDES[network]`` names: the recorded exchanges on loopback in
    the tests, a network's sandbox for an operator."""
    override = getattr(settings, "NETWORK_URL_OVERRIDES", {}).get(network)
    if not override:
        return url
    parsed = httpx.URL(url)
    base = httpx.URL(override)
    return str(parsed.copy_with(scheme=base.scheme, host=base.host, port=base.port))


def retry_after_header(response: httpx.Response, now: datetime | None = None) -> datetime | None:
    """The standard ``Retry-After`` header (seconds or an HTTP date) as an aware UTC time."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    now = now or datetime.now(UTC)
    if value.isdigit():
        return now + timedelta(seconds=int(value))
    try:
        return parsedate_to_datetime(value).astimezone(UTC)
    except (TypeError, ValueError):
        return None


def epoch_header(response: httpx.Response, name: str) -> datetime | None:
    """A reset time given as seconds since the epoch (X's ``x-rate-limit-reset``)."""
    value = response.headers.get(name, "").strip()
    try:
        return datetime.fromtimestamp(int(float(value)), UTC) if value else None
    except (ValueError, OverflowError):
        return None


def _no(response: httpx.Response) -> bool:
    return False


def _plain_words(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase or f"HTTP {response.status_code}"
    if isinstance(body, dict):
        for key in ("message", "error_description", "error", "detail", "description"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value
            if isinstance(value, dict) and isinstance(value.get("message"), str):
                return str(value["message"])
    return response.reason_phrase or f"HTTP {response.status_code}"


class Api:
    """One account's client for one network's HTTP API (see the module docstring).

    ``label`` names the network in messages ("Instagram said: …"). ``headers`` are sent with
    every call (the ``Authorization`` header with the account's token). ``transport`` lets a
    test hand in its own (the recorded exchanges are served over real HTTP instead, so tests
    rarely need it)."""

    def __init__(
        self,
        network: str,
        label: str,
        *,
        headers: Mapping[str, str] | None = None,
        describe: Callable[[httpx.Response], str] = _plain_words,
        reset_at: Callable[[httpx.Response], datetime | None] = retry_after_header,
        revoked: Callable[[httpx.Response], bool] = _no,
        limited: Callable[[httpx.Response], bool] = _no,
        timeout: httpx.Timeout | float = TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.network = network
        self.label = label
        self.describe = describe
        self.reset_at = reset_at
        self.revoked = revoked
        self.limited = limited
        self.client = httpx.Client(
            headers=dict(headers or {}),
            timeout=timeout,
            trust_env=False,
            verify=tls.client_context(trust_env=False),
            transport=transport,
            follow_redirects=False,
        )

    def url(self, url: str) -> str:
        return endpoint(self.network, url)

    def set_header(self, name: str, value: str) -> None:
        """Change a header for the following calls (a refreshed token)."""
        self.client.headers[name] = value

    def call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One request to ``url`` (an official address; see ``endpoint``); the answer, or the
        ``ConnectorError``/``OutcomeUnknown`` the module docstring describes."""
        method = method.upper()
        try:
            response = self.client.request(method, self.url(url), **kwargs)
        except httpx.ConnectError as error:
            raise ConnectorError(
                f"{self.label} could not be reached ({type(error).__name__}); "
                "it will be tried again."
            ) from error
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as error:
            if method in SAFE_METHODS or isinstance(error, httpx.ConnectTimeout):
                raise ConnectorError(
                    f"{self.label} did not answer in time; it will be tried again."
                ) from error
            raise OutcomeUnknown(
                f"{self.label} did not answer after the request was sent "
                f"({type(error).__name__}); whether it was done is checked before any retry."
            ) from error
        self.raise_for(response)
        return response

    def raise_for(self, response: httpx.Response) -> None:
        """Raise what ``response`` means when it is not a success (see the module docstring)."""
        status = response.status_code
        if status < 300 and not self.revoked(response) and not self.limited(response):
            return
        words = self.describe(response)
        said = f"{self.label} said: {words}" if words else f"{self.label} answered {status}"
        if status == 401 or self.revoked(response):
            raise ConnectorError(
                f"{said}. The authorization is no longer valid: reconnect the channel.",
                auth_revoked=True,
            )
        if status == 429 or self.limited(response):
            reset = self.reset_at(response)
            raise ConnectorError(
                f"{said} (rate limit reached); it will be tried again after the reset.",
                retry_after=reset,
                rate_limited=True,
            )
        if status == 408 or status >= 500:
            raise ConnectorError(f"{said}; it will be tried again.")
        if status in (300, 301, 302, 303, 307, 308):
            raise ConnectorError(f"{said} (an unexpected redirect).", permanent=True)
        raise ConnectorError(f"{said}.", permanent=True)

    def close(self) -> None:
        self.client.close()


def json_of(response: httpx.Response, label: str) -> Any:
    """The JSON body of a success, or a transient error saying the answer was not JSON (a
    proxy's HTML page in front of the API)."""
    try:
        return response.json()
    except ValueError as error:
        raise ConnectorError(
            f"{label} answered with something that is not JSON; it will be tried again."
        ) from error


def public_media_url(path: Path) -> str | None:
    """Where a network's servers fetch one of Socialdesk's media files (Instagram, Threads and
    Google Business Profile take media only by address): ``MEDIA_PUBLIC_URL`` (a CDN or the
    web server in front of the media folder) when set, else ``SITE_URL`` + ``MEDIA_URL``,
    plus the file's name under ``MEDIA_ROOT``; None for a file outside the media library.
    Files are named by their checksum, so an address tells nothing about other files."""
    try:
        name = Path(path).resolve().relative_to(Path(settings.MEDIA_ROOT).resolve()).as_posix()
    except (ValueError, OSError):
        return None
    base = str(getattr(settings, "MEDIA_PUBLIC_URL", "") or "").rstrip("/")
    if not base:
        base = f"{settings.SITE_URL}{settings.MEDIA_URL}".rstrip("/")
    return f"{base}/{quote(name)}"
