"""Connecting an account through a network's OAuth 2 flow with the operator's own app (issue 16:
Instagram, Facebook, Google Business Profile, LinkedIn, TikTok, YouTube, Pinterest, Threads,
X). Mastodon, whose app is registered per instance, has its own flow (``mastodon_connect``).

1. ``start``: the app's client id comes from the environment (``settings.NETWORK_APPS``); a
   network without one cannot be connected, and the page says to ask the administrator. A
   random ``state`` and, where the network supports it, a PKCE verifier (RFC 7636, S256) are
   kept in the person's session with the workspace and the channel being reconnected: the
   callback only counts in the browser that started it, once, within ``FLOW_TTL``.
2. ``take_flow`` + ``exchange``: the network sends the person back with ``code`` and
   ``state``; the code and the verifier are traded for tokens at the network's token address.
3. The network's module lists the accounts the consent opened (``accounts(token)``: a
   Facebook login opens several Pages, a Google login several business locations). One is
   connected at once; several are offered to choose from (``offer``/``take_offer``: the
   tokens wait in the session, encrypted, for ``FLOW_TTL``).
4. ``connect``: the channel is created, or, when the workspace already has this account (or
   the flow reconnects a channel), reconnected: same id, same deliveries, and a stored value
   the new answer leaves empty (a refresh token some networks give only at the first consent)
   is kept.

``refresh`` trades a refresh token for a new access token for the connectors; a refusal means
the channel needs reconnecting, a failure to reach the network changes nothing stored.

Every error is a ``ValidationError`` in words that say what to do; nothing is written on
failure. Tokens never reach a message, a log line or an exception.
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import secrets
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from types import ModuleType
from typing import Any
from urllib.parse import urlencode

import httpx
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from socialdesk import crypto, tls
from socialdesk.workspaces.models import User, Workspace

from . import catalog
from .base import AccountInfo, ConnectorError
from .http import endpoint
from .models import Channel

SESSION_KEY = "network_oauth"
OFFERS_KEY = "network_oauth_offers"
FLOW_TTL = timedelta(minutes=10)
MAX_FLOWS = 5  # open flows kept per session (several tabs); the oldest is dropped
# Refresh an access token this long before it expires, so a call never starts with a dying one.
REFRESH_MARGIN = timedelta(minutes=5)


@dataclass(frozen=True)
class OAuthSpec:
    """How one network runs OAuth 2, from its reference: where people consent, where codes
    become tokens, what to ask for. ``client_id_param``: TikTok calls it ``client_key``.
    ``secret_in``: "body" (most) or "basic" (HTTP Basic, e.g. Pinterest, X). ``extra``:
    more authorize parameters (Google: ``access_type=offline``)."""

    authorize_url: str
    token_url: str
    scopes: Sequence[str]
    pkce: bool = True
    scope_separator: str = " "
    client_id_param: str = "client_id"
    secret_in: str = "body"  # noqa: S105 (where the secret goes, not a secret)
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Account:
    """One account a consent opened: who it is, and the credentials to store for it."""

    info: AccountInfo
    credentials: dict[str, Any]


@dataclass(frozen=True)
class Started:
    authorize_url: str
    state: str


def app_for(network: str) -> dict[str, str] | None:
    """The operator's app on ``network`` (``client_id``, ``client_secret``), or None."""
    app = getattr(settings, "NETWORK_APPS", {}).get(network)
    return app if app and app.get("client_id") else None


def not_configured(network: str) -> str:
    label = catalog.label(network)
    return (
        f"{label} is not set up on this Socialdesk: ask your administrator to configure "
        f"{label} (its app's client id and secret; the README says how)."
    )


def spec_of(network: str) -> tuple[ModuleType, OAuthSpec]:
    module = importlib.import_module(catalog.MODULES[network])
    return module, module.OAUTH


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def start(
    session: Any,
    workspace: Workspace,
    network: str,
    redirect_uri: str,
    *,
    time_zone: str = "",
    channel: Channel | None = None,
    now: float | None = None,
) -> Started:
    """Open a flow in ``session`` and return where to send the person to consent."""
    app = app_for(network)
    if app is None:
        raise ValidationError(not_configured(network))
    _module, spec = spec_of(network)
    state = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64) if spec.pkce else ""
    flows = dict(session.get(SESSION_KEY) or {})
    flows[state] = {
        "network": network,
        "workspace": workspace.slug,
        "time_zone": time_zone,
        "channel_id": channel.pk if channel is not None else None,
        "started": now if now is not None else time.time(),
        "verifier": verifier,
    }
    while len(flows) > MAX_FLOWS:
        del flows[min(flows, key=lambda key: flows[key]["started"])]
    session[SESSION_KEY] = flows
    params = {
        spec.client_id_param: app["client_id"],
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "scope": spec.scope_separator.join(spec.scopes),
        "state": state,
        **spec.extra,
    }
    if spec.pkce:
        params |= {"code_challenge": _challenge(verifier), "code_challenge_method": "S256"}
    return Started(f"{endpoint(network, spec.authorize_url)}?{urlencode(params)}", state)


def take_flow(
    session: Any, network: str, state: str, *, now: float | None = None
) -> dict[str, Any]:
    """The flow ``state`` names, removed from the session (a state is good once)."""
    flows = dict(session.get(SESSION_KEY) or {})
    flow = flows.pop(state, None) if state else None
    session[SESSION_KEY] = flows
    label = catalog.label(network)
    if flow is None or flow.get("network") != network:
        raise ValidationError(
            f"This answer from {label} does not belong to a connection started in this "
            "browser, or it was already used. Start connecting again from the Channels page."
        )
    if (now if now is not None else time.time()) - float(flow["started"]) > FLOW_TTL.seconds:
        raise ValidationError(
            f"The connection to {label} took longer than {FLOW_TTL.seconds // 60} minutes and "
            "expired. Start connecting again."
        )
    return dict(flow)


def _token_request(network: str, data: dict[str, str]) -> dict[str, Any]:
    """POST to the network's token address; the JSON answer, or ``ConnectorError``."""
    app = app_for(network)
    if app is None:
        raise ConnectorError(not_configured(network), permanent=True)
    _module, spec = spec_of(network)
    label = catalog.label(network)
    auth: tuple[str, str] | None = None
    if spec.secret_in == "basic":  # noqa: S105
        auth = (app["client_id"], app["client_secret"])
    else:
        data = {spec.client_id_param: app["client_id"], **data}
        if app["client_secret"]:
            data["client_secret"] = app["client_secret"]
    try:
        with httpx.Client(
            timeout=20.0, trust_env=False, verify=tls.client_context(trust_env=False)
        ) as client:
            response = client.post(
                endpoint(network, spec.token_url),
                data=data,
                auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT,
            )
    except httpx.HTTPError as error:
        raise ConnectorError(f"{label} could not be reached; try again in a moment.") from error
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code >= 500 or not isinstance(body, dict):
        raise ConnectorError(f"{label} answered with an error ({response.status_code}).")
    if response.status_code >= 400 or "access_token" not in body:
        words = body.get("error_description") or body.get("error") or body.get("message") or ""
        if isinstance(words, dict):  # Meta: {"error": {"message": ...}}
            words = words.get("message", "")
        raise ConnectorError(
            f"{label} refused the authorization" + (f" ({str(words)[:200]})" if words else ""),
            auth_revoked=True,
        )
    return body


def _with_expiry(token: dict[str, Any], now: float) -> dict[str, Any]:
    expires_in = token.get("expires_in")
    if isinstance(expires_in, int | float) and expires_in > 0:
        token = {**token, "expires_at": now + float(expires_in)}
    return token


def exchange(network: str, flow: dict[str, Any], code: str, redirect_uri: str) -> dict[str, Any]:
    """Trade the callback's ``code`` (and the flow's PKCE verifier) for the token answer,
    with ``expires_at`` (epoch seconds) added when the network says when it expires."""
    label = catalog.label(network)
    if not code:
        raise ValidationError(f"{label} sent no authorization code. Start connecting again.")
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if flow.get("verifier"):
        data["code_verifier"] = flow["verifier"]
    try:
        return _with_expiry(_token_request(network, data), time.time())
    except ConnectorError as error:
        if error.auth_revoked:
            raise ValidationError(
                f"{label} did not accept the authorization (it may have expired or been used "
                "already). Nothing was connected; connect again."
            ) from None
        raise ValidationError(
            f"{label} could not be reached or answered with an error. Nothing was connected; "
            "try again in a moment."
        ) from None


def accounts(network: str, token: dict[str, Any]) -> list[Account]:
    """The accounts this consent opened, as the network's module reads them."""
    module, _spec = spec_of(network)
    label = catalog.label(network)
    try:
        found: list[Account] = module.accounts(token)
    except ConnectorError as error:
        raise ValidationError(
            f"{label} accepted the authorization, but reading the accounts failed: "
            f"{error.message} Nothing was connected; try again."
        ) from None
    if not found:
        raise ValidationError(
            module.NO_ACCOUNT
            if hasattr(module, "NO_ACCOUNT")
            else (f"This {label} login opens no account Socialdesk can publish to.")
        )
    return found


def offer(
    session: Any, flow: dict[str, Any], found: Sequence[Account], *, now: float | None = None
) -> str:
    """Keep the accounts a consent opened in the session (encrypted) until one is chosen;
    returns the key ``take_offer`` reads them back with."""
    key = secrets.token_urlsafe(16)
    offers = dict(session.get(OFFERS_KEY) or {})
    sealed = crypto.encrypt_json(
        {"accounts": [{"info": vars(a.info), "credentials": a.credentials} for a in found]}
    )
    offers[key] = {
        "flow": {k: v for k, v in flow.items() if k != "verifier"},
        "sealed": sealed,
        "started": now if now is not None else time.time(),
    }
    while len(offers) > MAX_FLOWS:
        del offers[min(offers, key=lambda k: offers[k]["started"])]
    session[OFFERS_KEY] = offers
    return key


def peek_offer(
    session: Any, key: str, *, now: float | None = None
) -> tuple[dict[str, Any], list[Account]]:
    """The flow and the accounts kept under ``key``, left in place (the choosing page)."""
    kept = (session.get(OFFERS_KEY) or {}).get(key)
    if (
        kept is None
        or (now if now is not None else time.time()) - kept["started"] > FLOW_TTL.seconds
    ):
        raise ValidationError(
            "This choice expired or was already made. Start connecting again from the "
            "Channels page."
        )
    opened = crypto.decrypt_json(kept["sealed"])["accounts"]
    return dict(kept["flow"]), [Account(AccountInfo(**a["info"]), a["credentials"]) for a in opened]


def take_offer(
    session: Any, key: str, *, now: float | None = None
) -> tuple[dict[str, Any], list[Account]]:
    """As ``peek_offer``, and forget the offer (an account is chosen once)."""
    flow, found = peek_offer(session, key, now=now)
    offers = dict(session.get(OFFERS_KEY) or {})
    offers.pop(key, None)
    session[OFFERS_KEY] = offers
    return flow, found


def connect(
    workspace: Workspace, flow: dict[str, Any], account: Account, *, by: User | None = None
) -> Channel:
    """Create the channel, or reconnect the one the flow names or that has this account."""
    from .services import save_renewed

    network = flow["network"]
    label = catalog.label(network)
    info = account.info
    channels = Channel.objects.in_workspace(workspace).filter(network=network)  # type: ignore[attr-defined]
    existing = None
    if flow.get("channel_id") is not None:
        existing = channels.filter(pk=flow["channel_id"]).first()
        if existing is not None and existing.remote_account_id not in ("", info.remote_account_id):
            raise ValidationError(
                f"You approved {info.handle}, not {existing.handle}: sign in to {label} as "
                f"{existing.handle}, or connect {info.handle} as a channel of its own."
            )
    if existing is None:
        existing = channels.filter(remote_account_id=info.remote_account_id).first()
    with transaction.atomic():
        if existing is not None:
            kept = existing.credentials
            existing.set_credentials(
                {**kept, **{k: v for k, v in account.credentials.items() if v}}
            )
            existing.remote_account_id = info.remote_account_id
            existing.display_name = info.display_name[:200] or existing.display_name
            return save_renewed(
                existing,
                ["credentials_encrypted", "remote_account_id", "display_name"],
                f"reconnected through {label}",
                by,
            )
        if channels.filter(handle=info.handle[:200]).exists():
            raise ValidationError(
                f"This workspace already has a {label} channel named {info.handle}."
            )
        channel = Channel(
            workspace=workspace,
            network=network,
            handle=info.handle[:200],
            display_name=info.display_name[:200],
            remote_account_id=info.remote_account_id,
            time_zone=flow.get("time_zone") or "",
        )
        channel.set_credentials(account.credentials)
        channel.save()
        return channel


def needs_refresh(credentials: Mapping[str, Any], now: float | None = None) -> bool:
    """True when the stored access token expires within ``REFRESH_MARGIN`` and can be
    refreshed."""
    expires_at = credentials.get("expires_at")
    if not credentials.get("refresh_token") or not isinstance(expires_at, int | float):
        return False
    return float(expires_at) - (now if now is not None else time.time()) < REFRESH_MARGIN.seconds


# Networks that rotate refresh tokens (X) refuse an old one once it was used: two send threads
# of one worker refreshing the same channel at once would see the second refused and mark the
# channel as needing reconnection. So refreshes are made one at a time, and a thread that comes
# with a refresh token that was just rotated away gets what the first one got.
_refresh_lock = threading.Lock()
_refreshed: dict[str, tuple[float, dict[str, Any]]] = {}
REFRESHED_KEPT = 300.0  # seconds a refresh's answer is handed to latecomers


def refresh(network: str, credentials: Mapping[str, Any]) -> dict[str, Any]:
    """New credentials from the refresh token: the stored ones with the new access token
    (and the new refresh token, when the network rotates it; the old one is kept when the
    answer has none). Raises ``ConnectorError``: ``auth_revoked`` when the network refused
    the refresh token, transient when it could not be asked; either way the caller stores
    nothing."""
    refresh_token = credentials.get("refresh_token")
    if not refresh_token:
        raise ConnectorError(
            f"{catalog.label(network)} gave no refresh token: reconnect the channel.",
            auth_revoked=True,
        )
    key = hashlib.sha256(f"{network}:{refresh_token}".encode()).hexdigest()
    with _refresh_lock:
        now = time.time()
        for old in [k for k, (at, _) in _refreshed.items() if now - at > REFRESHED_KEPT]:
            del _refreshed[old]
        if key in _refreshed:
            return {**credentials, **_refreshed[key][1]}
        answer = _with_expiry(
            _token_request(
                network, {"grant_type": "refresh_token", "refresh_token": refresh_token}
            ),
            now,
        )
        fresh = {
            k: v
            for k, v in answer.items()
            if k in ("access_token", "refresh_token", "expires_at") and v
        }
        if fresh.get("refresh_token", refresh_token) != refresh_token:
            _refreshed[key] = (now, fresh)  # rotated: the old one is spent
    return {**credentials, **fresh}
