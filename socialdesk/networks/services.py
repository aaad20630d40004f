"""Connecting, reconnecting, pausing, resuming and disconnecting channels: the operations the
web UI and the API share. Every status change goes through ``states.move_channel``, which
records who made it and why.

Every operation asks the network first and writes only when it answered yes, so a refused
app password or an unreachable server leaves the channel exactly as it was (and a new channel
is not created at all). Errors are ``ValidationError`` s keyed by the form's field names
(``handle``, ``app_password``, ``pds_url``), carrying the network's own words.

Credentials (app password, session tokens) go only into ``Channel.set_credentials`` (encrypted
at rest); they are never put in a message, a log line or an exception.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, QuerySet, Subquery

from socialdesk.publishing.models import Delivery, DeliveryState
from socialdesk.workspaces.models import User, Workspace

from .base import AccountInfo, ConnectorError
from .bluesky import DEFAULT_PDS, BlueskyConnector
from .models import Channel, ChannelStatus, Network
from .states import ChannelMoveConflict, move_channel

# Delivery states whose last error says something about the channel now.
_ERROR_STATES = (
    DeliveryState.SCHEDULED,
    DeliveryState.WAITING_RETRY,
    DeliveryState.FAILED,
    DeliveryState.UNKNOWN,
)


@dataclass(frozen=True)
class BlueskyLogin:
    """What a person types to connect a Bluesky account."""

    handle: str
    app_password: str
    pds_url: str = DEFAULT_PDS


def channels_of(workspace: Workspace) -> QuerySet[Channel]:
    """The workspace's channels, each annotated with ``last_error``: the latest error of one
    of its deliveries that is still waiting, failed or unsettled (empty when there is none).

    The error is read from the deliveries rather than stored on the channel, because that is
    where the engine records what the network said.
    """
    latest = (
        Delivery.objects.filter(channel=OuterRef("pk"), state__in=_ERROR_STATES)
        .exclude(last_error="")
        .order_by("-updated_at", "-id")
        .values("last_error")[:1]
    )
    return Channel.objects.in_workspace(workspace).annotate(last_error=Subquery(latest))  # type: ignore[attr-defined, no-any-return]


def clean_login(login: BlueskyLogin) -> BlueskyLogin:
    """Normalise the handle (no ``@``, lower case) and the PDS address; refuse what cannot
    work before any network call."""
    errors: dict[str, list[str]] = {}
    handle = login.handle.strip().removeprefix("@").lower()
    if not handle or " " in handle or "." not in handle:
        errors["handle"] = ["Enter the account's full handle, e.g. bakery.bsky.social."]
    pds_url = (login.pds_url or DEFAULT_PDS).strip().rstrip("/")
    parts = urlsplit(pds_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        errors["pds_url"] = ["Enter the server's address, e.g. https://bsky.social."]
    app_password = login.app_password.strip()
    if not app_password:
        errors["app_password"] = [
            "Enter an app password (Bluesky: Settings → Privacy and security → App passwords)."
        ]
    if errors:
        raise ValidationError(errors)
    return BlueskyLogin(handle, app_password, pds_url)


def _refusal(error: ConnectorError, pds_url: str) -> ValidationError:
    """The network's answer, put next to the field the person should change."""
    if error.auth_revoked:
        detail = _network_words(error)
        return ValidationError(
            {
                "app_password": [
                    "Bluesky refused this handle and app password"
                    + (f" ({detail})" if detail else "")
                    + ". Check the handle, or create a new app password and paste it here."
                ]
            }
        )
    if not error.permanent:
        # The engine's "it will be tried again" is true for a delivery, not for this form.
        said = _without_retry_promise(error.message)
        return ValidationError(
            {
                "pds_url": [
                    f"{pds_url} did not answer as a Bluesky server ({said}). Nothing was "
                    "connected: check the address, or send the form again in a moment."
                ]
            }
        )
    return ValidationError({"handle": [error.message]})


def _without_retry_promise(message: str) -> str:
    """A connector's message without the promise of a retry that only the engine makes."""
    return message.replace("; it will be tried again", "").rstrip(".")


def _network_words(error: ConnectorError) -> str:
    """The message the server sent with a refusal, if it sent one (never a credential)."""
    response = getattr(error.__cause__, "response", None)
    content = getattr(response, "content", None)
    return str(getattr(content, "message", "") or "")


def _check(login: BlueskyLogin, session: str = "") -> tuple[AccountInfo, BlueskyConnector]:
    connector = BlueskyConnector(
        login.handle, login.app_password, pds_url=login.pds_url, session=session
    )
    try:
        return connector.check_connection(), connector
    except ConnectorError as error:
        raise _refusal(error, login.pds_url) from None


def connect_bluesky(
    workspace: Workspace, login: BlueskyLogin, time_zone: str = "", *, by: User | None = None
) -> Channel:
    """Connect a Bluesky account as a channel of ``workspace``.

    Logs in with the app password (``check_connection``); on success stores the credentials
    and the session encrypted, the account's DID as ``remote_account_id`` and its display name.
    When the workspace already has this account as a channel (same DID or handle), that
    channel is reconnected instead of a second one being made; one that is still connected
    is refused on ``handle``.
    """
    login = clean_login(login)
    existing = (
        Channel.objects.in_workspace(workspace)  # type: ignore[attr-defined]
        .filter(network=Network.BLUESKY, handle=login.handle)
        .first()
    )
    if existing is not None:
        return _reconnect_or_refuse(existing, login, by)
    account, connector = _check(login)
    existing = (
        Channel.objects.in_workspace(workspace)  # type: ignore[attr-defined]
        .filter(network=Network.BLUESKY, remote_account_id=account.remote_account_id)
        .first()
    )
    if existing is not None:
        return _reconnect_or_refuse(existing, login, by)
    channel = Channel(
        workspace=workspace,
        network=Network.BLUESKY,
        handle=account.handle,
        display_name=account.display_name[:200],
        remote_account_id=account.remote_account_id,
        time_zone=time_zone,
    )
    channel.set_credentials(connector.credentials())
    try:
        channel.full_clean(exclude=["workspace"], validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        raise ValidationError(exc.message_dict) from None
    try:
        with transaction.atomic():
            channel.save()
    except IntegrityError:
        raise ValidationError(
            {"handle": [f"{account.handle} is already a channel of this workspace."]}
        ) from None
    return channel


def _reconnect_or_refuse(channel: Channel, login: BlueskyLogin, by: User | None) -> Channel:
    if channel.is_connected:
        raise ValidationError(
            {
                "handle": [
                    f"{channel.handle} is already connected here. To give it a new app "
                    "password, use Reconnect in the channel list."
                ]
            }
        )
    return reconnect_bluesky(channel, login.app_password, login.pds_url, by=by)


def reconnect_bluesky(
    channel: Channel, app_password: str, pds_url: str = "", *, by: User | None = None
) -> Channel:
    """Give a Bluesky channel a new app password (and, for self-hosted accounts, a new PDS
    address), and mark it connected (``save_renewed``: a paused one stays paused).

    The new app password is checked with a fresh login first: a refused one changes nothing.
    A stored session that still works is kept (refreshed if the server renews it); only when
    it no longer works is the fresh login's session stored instead. A stored session or any
    other stored credential is never replaced by an empty one (postiz PR #1884 lost refresh
    tokens that way). The login must open the channel's own account (same DID).
    """
    stored = channel.credentials
    login = clean_login(
        BlueskyLogin(
            channel.handle,
            app_password,
            pds_url or stored.get("pds_url") or DEFAULT_PDS,
        )
    )
    account, fresh = _check(login)
    if channel.remote_account_id and account.remote_account_id != channel.remote_account_id:
        raise ValidationError(
            {
                "app_password": [
                    f"This app password opens {account.handle}, not {channel.handle}: "
                    "connect that account as a channel of its own."
                ]
            }
        )
    session = _working_session(login, stored.get("session", "")) or fresh.session
    credentials = {**stored, **{k: v for k, v in fresh.credentials().items() if v}}
    credentials["session"] = session or stored.get("session", "")
    channel.set_credentials(credentials)
    channel.remote_account_id = account.remote_account_id
    channel.display_name = account.display_name[:200] or channel.display_name
    return save_renewed(
        channel,
        ["credentials_encrypted", "remote_account_id", "display_name"],
        "reconnected with a new app password",
        by,
    )


def save_renewed(
    channel: Channel, fields: list[str], reason: str, actor: User | str | None
) -> Channel:
    """Save a channel's renewed credentials (``fields``, already set on ``channel``).

    A channel that needed reconnecting or was disconnected becomes ``connected`` in the same
    write, so its paused deliveries go out at the next sweep (those still within the late
    window). A paused channel stays paused, because a person chose that and only resuming
    undoes it; a connected one stays connected.
    """
    values: dict[str, Any] = {name: getattr(channel, name) for name in fields}
    for _ in range(2):  # once more if the status changed under us
        if channel.status in (ChannelStatus.CONNECTED, ChannelStatus.PAUSED):
            updated = Channel.objects.filter(pk=channel.pk, status=channel.status).update(**values)
            if updated:
                return channel
        else:
            try:
                return move_channel(channel, ChannelStatus.CONNECTED, reason, actor, **values)
            except ChannelMoveConflict:
                pass
        channel.refresh_from_db(fields=["status"])
    raise ValidationError("The channel changed while it was being reconnected; try again.")


def _working_session(login: BlueskyLogin, session: str) -> str:
    """``session`` (possibly refreshed) when the server still accepts it, else "".

    The connector is given no app password, so a refused session cannot turn into a new
    login here: it fails, and the caller keeps the fresh login's session instead.
    """
    if not session:
        return ""
    probe = BlueskyConnector(login.handle, "", pds_url=login.pds_url, session=session)
    try:
        probe.check_connection()
    # ValueError: the SDK's refusal to log in without a password, when the stored string is
    # not a session at all.
    except (ConnectorError, ValueError):
        return ""
    return probe.session


def disconnect(channel: Channel, *, by: User | None = None) -> Channel:
    """Stop publishing to ``channel`` and forget its secrets (nothing to do when it already
    is disconnected).

    The app password and session tokens are erased (revoke the app password on the network
    too); the handle, the server's address and the DID stay so the channel can be reconnected
    with a new app password, and its posts keep their history. Scheduled deliveries are not
    sent while it is disconnected: scheduling and sending both refuse a disconnected channel.
    """
    if channel.status == ChannelStatus.DISCONNECTED:
        return channel
    stored = channel.credentials
    kept = {key: stored[key] for key in ("handle", "pds_url", "instance_url") if stored.get(key)}
    channel.set_credentials(kept)
    try:
        return move_channel(
            channel,
            ChannelStatus.DISCONNECTED,
            "disconnected; its secrets were erased",
            by,
            credentials_encrypted=channel.credentials_encrypted,
        )
    except ChannelMoveConflict:
        channel.refresh_from_db(fields=["status", "credentials_encrypted"])
        return disconnect(channel, by=by)


def pause(channel: Channel, *, by: User | None = None, reason: str = "") -> Channel:
    """Hold publishing on a connected channel until someone resumes it.

    Its scheduled deliveries keep their times and wait, exactly as for a channel that needs
    reconnecting (``networks.states``); on resume those still within the workspace's late
    window go out, the rest are missed. Pausing a paused channel changes nothing; one that
    needs reconnecting or is disconnected cannot be paused (it is not publishing anyway).
    """
    if channel.status == ChannelStatus.PAUSED:
        return channel
    if channel.status != ChannelStatus.CONNECTED:
        raise ValidationError(
            f"{channel.handle} is {channel.get_status_display().lower()}, so nothing is being "
            "published to it: there is nothing to pause."
        )
    why = f"paused: {reason.strip()}" if reason.strip() else "paused"
    try:
        return move_channel(channel, ChannelStatus.PAUSED, why[:1000], by)
    except ChannelMoveConflict:
        channel.refresh_from_db(fields=["status"])
        return pause(channel, by=by, reason=reason)


def resume(channel: Channel, *, by: User | None = None) -> Channel:
    """Publish to a paused channel again: its waiting deliveries go out at the next sweep,
    except those later than the workspace's late window (``missed``). Resuming a connected
    channel changes nothing; one that needs reconnecting or is disconnected must be
    reconnected instead."""
    if channel.status == ChannelStatus.CONNECTED:
        return channel
    if channel.status != ChannelStatus.PAUSED:
        raise ValidationError(
            f"{channel.handle} is {channel.get_status_display().lower()}: reconnect it instead."
        )
    try:
        return move_channel(channel, ChannelStatus.CONNECTED, "resumed", by)
    except ChannelMoveConflict:
        channel.refresh_from_db(fields=["status"])
        return resume(channel, by=by)


def pending_deliveries(channel: Channel) -> int:
    """How many of the channel's deliveries are still to be sent (shown before disconnecting)."""
    return channel.deliveries.filter(
        state__in=[
            DeliveryState.SCHEDULED,
            DeliveryState.AWAITING_APPROVAL,
            DeliveryState.WAITING_RETRY,
        ]
    ).count()


@dataclass(frozen=True)
class CheckResult:
    """What "Check connection" found, in words for people. ``ok``: the account answered."""

    ok: bool
    message: str


def check_connection(channel: Channel, *, by: User | None = None) -> CheckResult:
    """Ask the network whose account the channel's stored credentials open.

    Nothing is sent to anyone. The public page is always fine; a channel without an account
    says so (no network call). A refusal of the credentials marks the channel as needing
    reconnecting (``states.mark_needs_reconnect``), as the engine would at the next post;
    a channel that needed reconnecting and whose credentials work again becomes connected.
    Any other failure (unreachable, 5xx) changes nothing.
    """
    from socialdesk.publishing.connectors import connector_for

    if channel.network == Network.PAGE:
        return CheckResult(True, "The public page is part of Socialdesk: always connected.")
    if channel.status == ChannelStatus.EXAMPLE:
        return CheckResult(
            False,
            f"{channel.handle} is an example: no {channel.get_network_display()} account "
            "is connected, so nothing is published to it.",
        )
    if channel.status == ChannelStatus.DISCONNECTED or not channel.has_account:
        return CheckResult(
            False,
            f"No {channel.get_network_display()} account is connected to {channel.handle}: "
            "connect one to publish to it.",
        )
    connector = connector_for(channel)
    if connector is None:
        return CheckResult(False, f"Socialdesk cannot talk to {channel.get_network_display()}.")
    try:
        account = connector.check_connection()
    except ConnectorError as error:
        said = _without_retry_promise(error.message)
        if error.auth_revoked:
            from .states import mark_needs_reconnect

            mark_needs_reconnect(channel, said, by)
            return CheckResult(
                False,
                f"{channel.get_network_display()} refused the stored credentials ({said}). "
                "Reconnect the channel; its scheduled posts wait until then.",
            )
        return CheckResult(
            False,
            f"{channel.get_network_display()} did not answer ({said}). Nothing changed; "
            "check again in a moment.",
        )
    if channel.status == ChannelStatus.NEEDS_RECONNECT:
        try:
            move_channel(
                channel, ChannelStatus.CONNECTED, "connection check: the account answered", by
            )
        except ChannelMoveConflict:
            channel.refresh_from_db(fields=["status"])
    where = f" ({account.display_name})" if account.display_name else ""
    paused = (
        " It is paused: resume it to publish." if channel.status == ChannelStatus.PAUSED else ""
    )
    return CheckResult(
        True, f"Connected: the stored credentials open {account.handle}{where}.{paused}"
    )
