"""API: channels, and the networks they are on. Credentials pass through the API only to
connect a form network (``networks_connect``), stored encrypted and never returned; a network
whose consent happens on its own pages is connected in a browser."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.urls import reverse
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError

from socialdesk.api_support import Id, MemberRequest, Slug, Text, caller, requires, responses
from socialdesk.workspaces.access import get_in_workspace
from socialdesk.workspaces.models import validate_time_zone
from socialdesk.workspaces.services import save_owned

from . import catalog, connect_views, oauth, services
from .base import ConnectorError
from .http import OutcomeUnknown
from .models import Channel

router = Router(tags=["channels"])

NetworkName = Literal[
    "page",
    "bluesky",
    "mastodon",
    "instagram",
    "facebook",
    "google_business",
    "linkedin",
    "tiktok",
    "youtube",
    "pinterest",
    "threads",
    "x",
    "matrix",
    "nostr",
    "wordpress",
    "telegram",
    "discord",
]


class ChannelOut(Schema):
    id: int
    network: str
    handle: str
    display_name: str
    remote_account_id: str
    time_zone: str = Field(description="Empty: the workspace's time zone.")
    status: str
    account_connected: bool = Field(
        description="False when no account's credentials are stored: nothing is sent to it."
    )
    status_text: str = Field(description="The status as the Channels page shows it.")
    created_at: datetime

    @staticmethod
    def resolve_account_connected(channel: Channel) -> bool:
        return channel.has_account and channel.status != "example"


class ChannelIn(Schema):
    network: NetworkName
    handle: Text = Field(min_length=1, max_length=200)
    display_name: Text = Field("", max_length=200)
    remote_account_id: Text = Field("", max_length=300)
    time_zone: Text = Field("", max_length=64, description="An IANA name; empty: workspace's.")


class ChannelPatch(Schema):
    handle: Text | None = Field(None, min_length=1, max_length=200)
    display_name: Text | None = Field(None, max_length=200)
    remote_account_id: Text | None = Field(None, max_length=300)
    time_zone: Text | None = Field(None, max_length=64)


@router.get(
    "/workspaces/{slug}/channels",
    response=responses(list[ChannelOut]),
    operation_id="channels_list",
)
@requires("channels.view")
def channels_list(request: MemberRequest, slug: Slug) -> QuerySet[Channel]:
    return Channel.objects.in_workspace(request.workspace)  # type: ignore[return-value]


@router.post(
    "/workspaces/{slug}/channels",
    response=responses(ChannelOut, 201),
    operation_id="channels_create",
)
@requires("channels.manage")
def channels_create(request: MemberRequest, slug: Slug, payload: ChannelIn) -> Status:
    """Add a channel; one account appears once per workspace."""
    channel = Channel(workspace=request.workspace, **payload.dict())
    return Status(201, save_owned(channel))


@router.get(
    "/workspaces/{slug}/channels/{channel_id}",
    response=responses(ChannelOut),
    operation_id="channels_read",
)
@requires("channels.view")
def channels_read(request: MemberRequest, slug: Slug, channel_id: Id) -> Channel:
    return get_in_workspace(Channel, request.workspace, pk=channel_id)


@router.patch(
    "/workspaces/{slug}/channels/{channel_id}",
    response=responses(ChannelOut),
    operation_id="channels_update",
)
@requires("channels.manage")
def channels_update(
    request: MemberRequest, slug: Slug, channel_id: Id, payload: ChannelPatch
) -> Channel:
    channel = get_in_workspace(Channel, request.workspace, pk=channel_id)
    changes = payload.dict(exclude_none=True)
    for name, value in changes.items():
        setattr(channel, name, value)
    return save_owned(channel, fields=list(changes))


@router.delete(
    "/workspaces/{slug}/channels/{channel_id}",
    response=responses(None, 204),
    operation_id="channels_delete",
)
@requires("channels.manage")
def channels_delete(request: MemberRequest, slug: Slug, channel_id: Id) -> Status:
    """Remove a channel and its deliveries (the posts stay)."""
    get_in_workspace(Channel, request.workspace, pk=channel_id).delete()
    return Status(204, None)


@router.post(
    "/workspaces/{slug}/channels/{channel_id}/pause",
    response=responses(ChannelOut),
    operation_id="channels_pause",
)
@requires("channels.manage")
def channels_pause(request: MemberRequest, slug: Slug, channel_id: Id) -> Channel:
    """Hold publishing: scheduled deliveries wait until the channel is resumed, and those
    later than the workspace's late window by then are missed. Pausing a paused channel
    changes nothing; one that needs reconnecting or is disconnected cannot be paused."""
    channel = get_in_workspace(Channel, request.workspace, pk=channel_id)
    return services.pause(channel, by=caller(request))


@router.post(
    "/workspaces/{slug}/channels/{channel_id}/resume",
    response=responses(ChannelOut),
    operation_id="channels_resume",
)
@requires("channels.manage")
def channels_resume(request: MemberRequest, slug: Slug, channel_id: Id) -> Channel:
    """Publish to a paused channel again; resuming a connected channel changes nothing."""
    channel = get_in_workspace(Channel, request.workspace, pk=channel_id)
    return services.resume(channel, by=caller(request))


class ConnectionCheckOut(Schema):
    ok: bool
    message: str
    status: str


@router.post(
    "/workspaces/{slug}/channels/{channel_id}/check",
    response=responses(ConnectionCheckOut),
    operation_id="channels_check",
)
@requires("channels.manage")
def channels_check(request: MemberRequest, slug: Slug, channel_id: Id) -> dict[str, object]:
    """Ask the network whose account the stored credentials open (nothing is posted). A
    refusal of the credentials marks the channel as needing reconnecting."""
    channel = get_in_workspace(Channel, request.workspace, pk=channel_id)
    result = services.check_connection(channel, by=caller(request))
    return {"ok": result.ok, "message": result.message, "status": channel.status}


# --- The networks and connecting them (issue 16) -------------------------------------------


class NetworkFieldOut(Schema):
    name: str
    label: str
    help: str
    secret: bool
    required: bool


class NetworkOut(Schema):
    network: str
    label: str
    connect: str = Field(
        description="oauth: a person consents on the network's page (``connect_page``); form: "
        "``fields`` are sent to networks_connect; app_password, instance_oauth, none: the "
        "Channels page's own forms."
    )
    configured: bool = Field(description="False: the operator has not set up the network's app.")
    connect_page: str
    text_max: int
    text_unit: str
    url_length: int
    accounts: str
    operator_setup: str
    reads: str
    tested: str
    reference: str
    fields: list[NetworkFieldOut]


def _network_out(request: MemberRequest, about: catalog.NetworkAbout) -> dict[str, Any]:
    module = catalog.module(about.network)
    page = (
        reverse("network_connect", args=[request.workspace.slug, about.network])
        if about.network not in connect_views.OWN_FLOWS
        else reverse("channel_list", args=[request.workspace.slug])
    )
    return {
        **{name: getattr(about, name) for name in NetworkOut.model_fields if hasattr(about, name)},
        "label": catalog.label(about.network),
        "configured": about.connect != "oauth" or oauth.app_for(about.network) is not None,
        "connect_page": request.build_absolute_uri(page),
        "fields": [vars(f) for f in getattr(module, "FORM_FIELDS", ())],
    }


@router.get(
    "/workspaces/{slug}/networks",
    response=responses(list[NetworkOut]),
    operation_id="networks_list",
)
@requires("channels.view")
def networks_list(request: MemberRequest, slug: Slug) -> list[dict[str, Any]]:
    """Every network Socialdesk publishes to: how it connects, whether the operator set up
    its app, its text rules, and what it reads."""
    return [_network_out(request, about) for about in catalog.built()]


class NetworkConnectIn(Schema):
    fields: dict[str, Text] = Field(
        default_factory=dict, description="A form network's fields (networks_list says which)."
    )
    time_zone: Text = Field("", max_length=64, description="An IANA name; empty: workspace's.")
    channel_id: int | None = Field(None, description="A channel of this network to reconnect.")


class NetworkConnectOut(Schema):
    connected: bool
    connect_page: str = Field(description="Where a person finishes connecting, in a browser.")
    message: str
    channel: ChannelOut | None = None


@router.post(
    "/workspaces/{slug}/networks/{network}/connect",
    response=responses(NetworkConnectOut),
    operation_id="networks_connect",
)
@requires("channels.manage")
def networks_connect(
    request: MemberRequest, slug: Slug, network: NetworkName, payload: NetworkConnectIn
) -> dict[str, Any]:
    """Connect a form network (Matrix, Nostr, WordPress, Telegram, Discord) from its fields,
    or, for a network whose consent happens on its own pages (OAuth), say where a person
    does it: the consent needs a browser, so nothing is connected here. Credentials sent here
    are stored encrypted and never returned."""
    about = catalog.about(network)
    if about is None:
        raise HttpError(404, "Socialdesk does not connect this network yet.")
    out = _network_out(request, about)
    if about.connect != "form":
        message = (
            f"{out['label']} connects in a browser: open connect_page and follow it."
            if out["configured"]
            else oauth.not_configured(network)
        )
        return {"connected": False, "connect_page": out["connect_page"], "message": message}
    channel = None
    if payload.channel_id is not None:
        channel = get_in_workspace(Channel, request.workspace, pk=payload.channel_id)
        if channel.network != network:
            raise HttpError(404, f"That channel is not a {out['label']} channel.")
    module = catalog.module(network)
    names = {f.name for f in getattr(module, "FORM_FIELDS", ())}
    unknown = sorted(set(payload.fields) - names)
    if unknown:
        raise ValidationError({name: ["This network has no such field."] for name in unknown})
    missing = {
        f.name: [f"Enter the {f.label.lower()}."]
        for f in getattr(module, "FORM_FIELDS", ())
        if f.required and not payload.fields.get(f.name, "").strip()
    }
    if missing:
        raise ValidationError(missing)
    if payload.time_zone:
        validate_time_zone(payload.time_zone)
    try:
        account = module.connect(dict(payload.fields))  # type: ignore[union-attr]
    except (ConnectorError, OutcomeUnknown) as error:
        # A module's connect should say it in a ValidationError; never a 500 if one does not.
        raise ValidationError(f"{out['label']}: {error}") from None
    flow = {
        "network": network,
        "time_zone": payload.time_zone,
        "channel_id": channel.pk if channel is not None else None,
    }
    connected = oauth.connect(request.workspace, flow, account, by=caller(request))
    return {
        "connected": True,
        "connect_page": out["connect_page"],
        "message": f"{connected.handle} is connected.",
        "channel": connected,
    }
