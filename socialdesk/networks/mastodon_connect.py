"""Connecting a Mastodon account through its instance's OAuth flow (issue 3, item 9).

1. ``start``: the person names their instance; Socialdesk registers itself there once per
   instance (``MastodonApp``, client secret encrypted) and returns the instance's authorize
   address, carrying a random ``state``. The flow (state, instance, workspace, channel being
   reconnected) is kept in the person's session, so a callback only counts in the browser that
   started it.
2. ``finish``: the instance redirects back with ``code`` and ``state``; the state must be one
   this session started less than ``FLOW_TTL`` ago (each is used once). The code is traded for
   an access token, the account is read (``verify_credentials``), and the channel is created,
   or, when the workspace already has this account, reconnected: same id, same deliveries,
   stored credentials kept unless replaced by a non-empty new value. A reconnected channel's
   paused deliveries go out again, as after a Bluesky reconnect (the engine sends scheduled
   deliveries of connected channels). The instance's limits are read once, so the composer
   knows them.

No PKCE: Mastodon.py's ``auth_request_url`` and ``log_in`` take no code challenge or
verifier, and the authorization code is already bound to the confidential client's secret.

Every error is a ``ValidationError`` keyed ``instance_url`` (the connect form's field) or
``__all__`` (the callback), in words that say what to do; nothing is written on failure.
"""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from mastodon import errors as sdk

from socialdesk import crypto
from socialdesk.workspaces.models import User, Workspace

from . import mastodon
from .base import ConnectorError
from .models import Channel, MastodonApp, Network
from .services import save_renewed

SESSION_KEY = "mastodon_oauth"
FLOW_TTL = timedelta(minutes=10)
MAX_FLOWS = 5  # open flows kept per session (several tabs); the oldest is dropped


def clean_instance_url(raw: str) -> str:
    """``mastodon.social`` or ``https://mastodon.social/`` → ``https://mastodon.social``.

    Only https, only a host (no path, query or login); plain http only for an instance on
    this machine (development and tests)."""
    text = (raw or "").strip()
    if not text:
        raise ValidationError({"instance_url": ["Enter your instance, e.g. mastodon.social."]})
    if "://" not in text:
        text = "https://" + text
    try:
        parts = urlsplit(text)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        host, port, parts = "", None, urlsplit("")
    if (
        not host
        or parts.username
        or parts.password
        or parts.path.strip("/")
        or parts.query
        or parts.fragment
    ):
        raise ValidationError(
            {"instance_url": ["Enter only the instance's address, e.g. mastodon.social."]}
        )
    loopback = _is_loopback(host)
    if parts.scheme == "http" and not loopback:
        raise ValidationError(
            {"instance_url": ["The instance must use https (https://mastodon.social)."]}
        )
    if parts.scheme not in ("http", "https"):
        raise ValidationError({"instance_url": ["Enter an https address, e.g. mastodon.social."]})
    if not loopback and "." not in host:
        raise ValidationError(
            {"instance_url": [f"{host} is not a full host name; e.g. mastodon.social."]}
        )
    netloc = host if ":" not in host else f"[{host}]"
    if port:
        netloc += f":{port}"
    return f"{parts.scheme}://{netloc.lower()}"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def app_for(instance_url: str, redirect_uri: str) -> MastodonApp:
    """This instance's registration, made now when there is none yet."""
    existing = MastodonApp.objects.filter(
        instance_url=instance_url, redirect_uri=redirect_uri
    ).first()
    if existing is not None:
        return existing
    try:
        app = mastodon.register_app(instance_url, redirect_uri, timeout=10.0)
    except ConnectorError as error:
        raise _instance_refusal(instance_url, error) from None
    record = MastodonApp(
        instance_url=instance_url, redirect_uri=redirect_uri, client_id=app["client_id"]
    )
    record.credentials_encrypted = crypto.encrypt_json({"client_secret": app["client_secret"]})
    try:
        with transaction.atomic():
            record.save()
    except IntegrityError:  # registered at the same moment by another request: use that one
        return MastodonApp.objects.get(instance_url=instance_url, redirect_uri=redirect_uri)
    return record


def _instance_refusal(instance_url: str, error: ConnectorError) -> ValidationError:
    # Mastodon.py reports "no connection" and "an answer that is not JSON" alike (a network
    # error); the exception it wrapped tells them apart.
    if _unreachable(error):
        text = f"{instance_url} could not be reached. Check the address, or try again in a moment."
    else:
        text = (
            f"{instance_url} did not answer as a Mastodon server. Check the address (the part "
            "after the second @ of your handle), or try again later if the instance is "
            "having trouble."
        )
    return ValidationError({"instance_url": [text]})


def _unreachable(error: BaseException) -> bool:
    """True when, somewhere in the chain Mastodon.py and the connector wrapped, the
    connection failed or timed out (rather than the instance answering)."""
    return any(isinstance(e, requests.ConnectionError | requests.Timeout) for e in _chain(error))


def _chain(error: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _status_of(error: BaseException) -> int | None:
    """The HTTP status of the instance's answer somewhere in the chain, if there was one."""
    for current in _chain(error):
        args = current.args
        if isinstance(current, sdk.MastodonAPIError) and len(args) > 1 and isinstance(args[1], int):
            return args[1]
    return None


@dataclass(frozen=True)
class Started:
    authorize_url: str
    state: str


def start(
    session: Any,
    workspace: Workspace,
    instance_url: str,
    redirect_uri: str,
    *,
    time_zone: str = "",
    channel: Channel | None = None,
    now: datetime,
) -> Started:
    """Register (once) on the instance and open a flow in ``session``; returns where to send
    the person. ``channel``: the Mastodon channel being reconnected."""
    instance_url = clean_instance_url(instance_url)
    app = app_for(instance_url, redirect_uri)
    state = secrets.token_urlsafe(32)
    flows = dict(session.get(SESSION_KEY) or {})
    flows[state] = {
        "workspace": workspace.slug,
        "instance_url": instance_url,
        "time_zone": time_zone,
        "channel_id": channel.pk if channel is not None else None,
        "started": now.timestamp(),
    }
    while len(flows) > MAX_FLOWS:
        oldest = min(flows, key=lambda key: flows[key]["started"])
        del flows[oldest]
    session[SESSION_KEY] = flows
    url = mastodon.authorization_url(app.app, redirect_uri, state)
    return Started(url, state)


def take_flow(session: Any, state: str, *, now: datetime) -> dict[str, Any]:
    """The flow ``state`` names, removed from the session (a state is good once)."""
    flows = dict(session.get(SESSION_KEY) or {})
    flow = flows.pop(state, None) if state else None
    session[SESSION_KEY] = flows
    if flow is None:
        raise ValidationError(
            "This answer from Mastodon does not belong to a connection started in this "
            "browser, or it was already used. Start connecting again from the Channels page."
        )
    if now.timestamp() - float(flow["started"]) > FLOW_TTL.total_seconds():
        minutes = int(FLOW_TTL.total_seconds() // 60)
        raise ValidationError(
            f"The connection to {flow['instance_url']} took longer than {minutes} minutes and "
            "expired. Start connecting again."
        )
    return dict(flow)


def finish(
    workspace: Workspace,
    flow: dict[str, Any],
    code: str,
    redirect_uri: str,
    *,
    by: User | None = None,
) -> Channel:
    """Trade ``code`` for a token and create or reconnect the channel (``save_renewed``: a
    reconnected channel is connected again, a paused one stays paused)."""
    instance_url = flow["instance_url"]
    if not code:
        raise ValidationError(f"{instance_url} sent no authorization code. Start again.")
    record = MastodonApp.objects.filter(
        instance_url=instance_url, redirect_uri=redirect_uri
    ).first()
    if record is None:
        raise ValidationError(f"Socialdesk is not registered on {instance_url}. Start again.")
    try:
        credentials, account = mastodon.exchange_code(record.app, redirect_uri, code, timeout=10.0)
    except ConnectorError as error:
        # Mastodon.py turns every failed token request into one "invalid" error; the status
        # it wrapped says what happened.
        status = _status_of(error)
        transient = _unreachable(error)
        if transient or (status is not None and status >= 500):
            raise ValidationError(
                f"{instance_url} could not be reached or answered with an error. Nothing was "
                "connected; try again in a moment."
            ) from None
        if status == 401:
            # The instance no longer knows this client (app deleted, secret rotated):
            # forget the registration so the next attempt registers again.
            record.delete()
        raise ValidationError(
            f"{instance_url} did not accept the authorization (it may have expired or "
            "been used already). Nothing was connected; connect again."
        ) from None

    channels = Channel.objects.in_workspace(workspace).filter(network=Network.MASTODON)  # type: ignore[attr-defined]
    wanted_id = flow.get("channel_id")
    existing = None
    if wanted_id is not None:
        existing = channels.filter(pk=wanted_id).first()
        if existing is not None and not _same_account(existing, credentials, account.handle):
            raise ValidationError(
                f"You approved {account.handle}, not {existing.handle}: sign in to "
                f"{existing.handle} on {instance_url}, or connect {account.handle} as a "
                "channel of its own."
            )
    if existing is None:
        existing = next(
            (c for c in channels if _same_account(c, credentials, account.handle)), None
        )

    with transaction.atomic():
        if existing is not None:
            stored = existing.credentials
            merged = {**stored, **{k: v for k, v in credentials.items() if v}}
            existing.set_credentials(merged)
            existing.remote_account_id = account.remote_account_id
            existing.display_name = account.display_name[:200] or existing.display_name
            channel = save_renewed(
                existing,
                ["credentials_encrypted", "remote_account_id", "display_name"],
                f"reconnected through {instance_url}",
                by,
            )
        else:
            channel = Channel(
                workspace=workspace,
                network=Network.MASTODON,
                handle=account.handle[:200],
                display_name=account.display_name[:200],
                remote_account_id=account.remote_account_id,
                time_zone=flow.get("time_zone") or "",
            )
            channel.set_credentials(credentials)
            channel.save()
    # Read the instance's limits now (cached per channel); unreachable: defaults, asked later.
    mastodon.MastodonConnector.from_credentials(
        credentials, cache_key=f"channel-{channel.pk}"
    ).limits()
    return channel


def _same_account(channel: Channel, credentials: dict[str, str], handle: str) -> bool:
    stored_instance = channel.credentials.get("instance_url", "")
    if stored_instance and stored_instance != credentials["instance_url"]:
        return False
    if channel.remote_account_id:
        return channel.remote_account_id == credentials["account_id"]
    return channel.handle == handle
