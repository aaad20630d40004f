"""What Meta's Graph APIs (Instagram, Facebook Pages, Threads) share: the version in every
path, how they say what went wrong, and how they say "too many calls".

From Meta's reference (developers.facebook.com/docs/graph-api/guides/error-handling and
/docs/graph-api/overview/rate-limiting, read on 2026-12-07): an error is
``{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}``. Code 190 is an
access token that expired or was revoked (also code 102, a session that is no longer valid);
codes 4, 17, 32 and 613 and the business-use-case codes 80001–80014 are rate limits, often
answered with HTTP 400 or 403 rather than 429. How long to wait is in the usage headers
(``X-Business-Use-Case-Usage``, ``X-App-Usage``, ``X-Ad-Account-Usage``): the business one
carries ``estimated_time_to_regain_access`` in minutes. Code 2, 1 and HTTP 5xx are transient.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from .http import Api, retry_after_header

GRAPH_VERSION = "v24.0"
GRAPH = f"https://graph.facebook.com/{GRAPH_VERSION}"

REVOKED_CODES = frozenset({102, 190})
LIMIT_CODES = frozenset({4, 17, 32, 613, *range(80001, 80015)})
# When the usage headers do not say how long: Meta's platform limit is counted per hour.
DEFAULT_WAIT = timedelta(minutes=15)


def error_of(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def describe(response: httpx.Response) -> str:
    """Meta's own words: the message, and the user-facing title/message when it gives one."""
    error = error_of(response)
    words = error.get("error_user_msg") or error.get("message") or ""
    if not words:
        return response.reason_phrase or f"HTTP {response.status_code}"
    code = error.get("code")
    return f"{words} (code {code})" if code is not None else str(words)


def revoked(response: httpx.Response) -> bool:
    return error_of(response).get("code") in REVOKED_CODES


def limited(response: httpx.Response) -> bool:
    return error_of(response).get("code") in LIMIT_CODES


def reset_at(response: httpx.Response) -> datetime | None:
    """When a rate-limited call may be made again, from the usage headers (minutes), else
    ``Retry-After``, else ``DEFAULT_WAIT`` from now."""
    now = datetime.now(UTC)
    minutes = 0
    raw = response.headers.get("x-business-use-case-usage", "")
    if raw:
        try:
            usage = json.loads(raw)
        except ValueError:
            usage = {}
        for entries in usage.values() if isinstance(usage, dict) else ():
            for entry in entries if isinstance(entries, list) else ():
                if not isinstance(entry, dict):
                    continue
                wait = entry.get("estimated_time_to_regain_access")
                if isinstance(wait, int | float):
                    minutes = max(minutes, int(wait))
    if minutes:
        return now + timedelta(minutes=minutes)
    return retry_after_header(response, now) or now + DEFAULT_WAIT


def graph_api(network: str, label: str, access_token: str, **kwargs: Any) -> Api:
    """A Graph API client for one account's token (sent as a Bearer header, never in a URL
    that could be logged)."""
    return Api(
        network,
        label,
        headers={"Authorization": f"Bearer {access_token}"},
        describe=describe,
        reset_at=reset_at,
        revoked=revoked,
        limited=limited,
        **kwargs,
    )
