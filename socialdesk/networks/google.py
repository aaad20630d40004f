"""What Google's APIs share, for Google Business Profile and YouTube (issue 16): Google's OAuth
2 flow, how Google says what went wrong, and an account's session that keeps its hour-long
access token fresh.

From Google's reference (developers.google.com/identity/protocols/oauth2/web-server and
/oauth2/native-app for PKCE; cloud.google.com/apis/design/errors; the YouTube Data API's
"Errors" page and "Quota usage" page; the Business Profile APIs' "Usage limits"), read on
2026-12-07:

- Consent at ``accounts.google.com/o/oauth2/v2/auth``; codes and refresh tokens are traded at
  ``oauth2.googleapis.com/token``. A refresh token is given only with ``access_type=offline``,
  and again on a later consent only with ``prompt=consent`` (otherwise a reconnect answers
  without one, and ``oauth.connect`` keeps the stored one). PKCE (S256) is supported.
- Access tokens last an hour (``expires_in`` 3599). The session refreshes one that expires
  within ``oauth.REFRESH_MARGIN`` before a call, and once more on a 401 (a token revoked or
  expired early), storing the fresh credentials through ``store``. A refresh Google refuses
  (``invalid_grant``: the person removed the app's access, changed the password with Gmail
  scopes, or the token went unused for six months) means the channel needs reconnecting; a
  refresh that could not be made changes nothing stored. The refresh token itself is never
  dropped: ``oauth.refresh`` keeps the stored one when the answer has none.
- Errors are ``{"error": {"code", "message", "status", "errors": [{"message", "domain",
  "reason"}]}}``. 401 (``UNAUTHENTICATED``): the token is not valid. 403 with reason
  ``rateLimitExceeded`` or ``userRateLimitExceeded``: too many calls for now; with
  ``quotaExceeded`` or ``dailyLimitExceeded``: the project's daily quota is spent until
  midnight Pacific time, when Google resets it. 429 (``RESOURCE_EXHAUSTED``): too many calls
  (the Business Profile APIs count queries per minute). 5xx: transient.

No SDK: google-api-python-client (in maintenance mode) builds clients from discovery
documents and the Business Profile v4 API (local posts, reviews) is not in the public
discovery directory; it runs on httplib2, outside the ``networks.http.Api`` that turns every
answer and timeout into the engine's decisions (``OutcomeUnknown`` after a write) and points
the official addresses at the recorded exchanges in the tests; and what the connectors use
is a handful of documented JSON calls plus the resumable upload protocol.
"""

from __future__ import annotations

import re
import threading
import time
import zoneinfo
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from . import oauth
from .base import ConnectorError
from .http import Api, retry_after_header

AUTHORIZE_URL = "https://accounts.google.com/o/oauth2/v2/auth"
TOKEN_URL = "https://oauth2.googleapis.com/token"  # noqa: S105 (an address, not a secret)
# ``prompt=consent``: Google gives a refresh token again on a reconnect.
OFFLINE = {"access_type": "offline", "prompt": "consent", "include_granted_scopes": "true"}

PACIFIC = zoneinfo.ZoneInfo("America/Los_Angeles")
SHORT_LIMITS = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "rateLimitExceededUnreg"})
DAILY_LIMITS = frozenset({"quotaExceeded", "dailyLimitExceeded", "dailyLimitExceededUnreg"})
# A short limit that says nothing about when: Google counts these per minute (or per 100 s).
SHORT_WAIT = timedelta(minutes=1)
_FRACTION = re.compile(r"(\.\d+)")


def spec(scopes: list[str]) -> oauth.OAuthSpec:
    """Google's OAuth 2 flow for these scopes, with a refresh token and PKCE."""
    return oauth.OAuthSpec(
        authorize_url=AUTHORIZE_URL, token_url=TOKEN_URL, scopes=scopes, pkce=True, extra=OFFLINE
    )


def error_of(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def reasons(response: httpx.Response) -> set[str]:
    """The ``reason`` of each entry of ``error.errors`` (``quotaExceeded``, ``badRequest``…)."""
    entries = error_of(response).get("errors")
    return {
        str(entry.get("reason"))
        for entry in (entries if isinstance(entries, list) else [])
        if isinstance(entry, dict) and entry.get("reason")
    }


def describe(response: httpx.Response) -> str:
    """Google's own words, with the first reason it gives (``quotaExceeded``)."""
    error = error_of(response)
    words = str(error.get("message") or "")
    if not words:
        return response.reason_phrase or f"HTTP {response.status_code}"
    found = sorted(reasons(response))
    return f"{words} ({found[0]})" if found else words


def limited(response: httpx.Response) -> bool:
    error = error_of(response)
    if error.get("status") == "RESOURCE_EXHAUSTED":
        return True
    return response.status_code == 403 and bool(reasons(response) & (SHORT_LIMITS | DAILY_LIMITS))


def next_pacific_midnight(now: datetime) -> datetime:
    """When Google's daily quotas reset: the next midnight in Pacific time, in UTC."""
    local = now.astimezone(PACIFIC)
    tomorrow = (local + timedelta(days=1)).date()
    return datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=PACIFIC).astimezone(UTC)


def reset_at(response: httpx.Response, now: datetime | None = None) -> datetime:
    """When a limited call may be made again: the next midnight Pacific for a spent daily
    quota; else ``Retry-After`` (seconds or a date, which may be past already); else a
    minute from now."""
    now = now or datetime.now(UTC)
    if reasons(response) & DAILY_LIMITS:
        return next_pacific_midnight(now)
    return retry_after_header(response, now) or now + SHORT_WAIT


def google_api(network: str, label: str, access_token: str, **kwargs: Any) -> GoogleApi:
    """A client for one account's token (in a header, never in a URL that could be logged)."""
    return GoogleApi(
        network,
        label,
        headers={"Authorization": f"Bearer {access_token}"},
        describe=describe,
        reset_at=reset_at,
        limited=limited,
        **kwargs,
    )


class GoogleApi(Api):
    """``Api`` that lets a caller take some statuses as answers rather than errors: a 404 on
    a delete (already gone), a 308 from the resumable upload (more bytes wanted)."""

    accepted: frozenset[int] = frozenset()

    def raise_for(self, response: httpx.Response) -> None:
        if response.status_code in self.accepted:
            return
        super().raise_for(response)

    def call_accepting(
        self, accepted: tuple[int, ...], method: str, url: str, **kwargs: Any
    ) -> httpx.Response:
        # Per call, on this client only: a connector and its client serve one thread.
        self.accepted = frozenset(accepted)
        try:
            return self.call(method, url, **kwargs)
        finally:
            self.accepted = frozenset()


class Session:
    """One Google account's calls, with its access token kept fresh (see the module
    docstring). ``store(credentials)`` persists refreshed credentials (encrypted, by
    ``publishing.connectors``); it is called only with credentials that work."""

    def __init__(
        self,
        network: str,
        label: str,
        credentials: Mapping[str, Any],
        store: Callable[[dict[str, Any]], None],
        **api_options: Any,
    ) -> None:
        self.network = network
        self.label = label
        self.credentials = dict(credentials)
        self.store = store
        self.api = google_api(
            network, label, str(self.credentials.get("access_token") or ""), **api_options
        )
        self._lock = threading.Lock()

    def refresh(self) -> None:
        """Trade the refresh token for a new access token and store it; raises
        ``ConnectorError`` (``auth_revoked`` when Google refused it) and stores nothing."""
        with self._lock:
            fresh = oauth.refresh(self.network, self.credentials)
            self.credentials = fresh
            self.api.set_header("Authorization", f"Bearer {fresh['access_token']}")
            self.store(dict(fresh))

    def call(
        self, method: str, url: str, *, accepted: tuple[int, ...] = (), **kwargs: Any
    ) -> httpx.Response:
        """``Api.call`` with a fresh token: refreshed first when it is about to expire (or
        missing), and once more after a 401; a second 401 means the access is gone.
        ``accepted``: statuses returned as answers (see ``GoogleApi``)."""
        if oauth.needs_refresh(self.credentials) or not self.credentials.get("access_token"):
            self.refresh()
        try:
            return self.api.call_accepting(accepted, method, url, **kwargs)
        except ConnectorError as error:
            if not error.auth_revoked or not self.credentials.get("refresh_token"):
                raise
        # A 401 means nothing was done: asking again with a new token is safe, even a write.
        self.refresh()
        return self.api.call_accepting(accepted, method, url, **kwargs)

    def json(self, method: str, url: str, **kwargs: Any) -> Any:
        response = self.call(method, url, **kwargs)
        if response.status_code == 404:  # accepted by the caller: nothing there
            return None
        if not response.content:
            return {}
        try:
            return response.json()
        except ValueError as error:
            raise ConnectorError(
                f"{self.label} answered with something that is not JSON; it will be tried again."
            ) from error

    def close(self) -> None:
        self.api.close()


def expires_at(token: Mapping[str, Any]) -> float | None:
    """When the access token of a token answer expires (``oauth.exchange`` adds it)."""
    value = token.get("expires_at")
    if isinstance(value, int | float):
        return float(value)
    expires_in = token.get("expires_in")
    return time.time() + float(expires_in) if isinstance(expires_in, int | float) else None


def token_credentials(token: Mapping[str, Any]) -> dict[str, Any]:
    """The credentials every Google channel stores from a token answer."""
    return {
        "access_token": str(token.get("access_token") or ""),
        "refresh_token": str(token.get("refresh_token") or ""),
        "expires_at": expires_at(token),
    }


def parse_time(value: Any) -> datetime | None:
    """Google's RFC 3339 timestamps (``2026-12-07T10:00:00.123456Z``) as aware UTC times."""
    if not isinstance(value, str) or not value:
        return None
    # Python 3.11 reads at most six digits of a fraction; Google may send nine.
    value = _FRACTION.sub(lambda m: m.group(1)[:7], value)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
