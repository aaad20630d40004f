"""API: channels. Credentials never pass through the API (connecting is the UI's job)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from django.db.models import QuerySet
from ninja import Field, Router, Schema, Status

from socialdesk.api_support import Id, MemberRequest, Slug, Text, caller, requires, responses
from socialdesk.workspaces.access import get_in_workspace
from socialdesk.workspaces.services import save_owned

from . import services
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
