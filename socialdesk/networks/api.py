"""API: channels. Credentials never pass through the API (connecting is the UI's job)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from socialdesk.api_support import Id, Slug, Text, authorize, caller, perm, responses
from socialdesk.workspaces.access import get_in_workspace
from socialdesk.workspaces.services import save_owned

from . import services
from .models import Channel

router = Router(tags=["channels"])

NetworkName = Literal["page", "bluesky", "mastodon"]


class ChannelOut(Schema):
    id: int
    network: str
    handle: str
    display_name: str
    remote_account_id: str
    time_zone: str = Field(description="Empty: the workspace's time zone.")
    status: str
    created_at: datetime


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
    openapi_extra=perm("channels.view"),
)
def channels_list(request: HttpRequest, slug: Slug) -> QuerySet[Channel]:
    membership = authorize(request, slug, "channels.view")
    return Channel.objects.in_workspace(membership.workspace)  # type: ignore[return-value]


@router.post(
    "/workspaces/{slug}/channels",
    response=responses(ChannelOut, 201),
    operation_id="channels_create",
    openapi_extra=perm("channels.manage"),
)
def channels_create(request: HttpRequest, slug: Slug, payload: ChannelIn) -> Status:
    """Add a channel; one account appears once per workspace."""
    membership = authorize(request, slug, "channels.manage")
    channel = Channel(workspace=membership.workspace, **payload.dict())
    return Status(201, save_owned(channel))


@router.get(
    "/workspaces/{slug}/channels/{channel_id}",
    response=responses(ChannelOut),
    operation_id="channels_read",
    openapi_extra=perm("channels.view"),
)
def channels_read(request: HttpRequest, slug: Slug, channel_id: Id) -> Channel:
    membership = authorize(request, slug, "channels.view")
    return get_in_workspace(Channel, membership.workspace, pk=channel_id)


@router.patch(
    "/workspaces/{slug}/channels/{channel_id}",
    response=responses(ChannelOut),
    operation_id="channels_update",
    openapi_extra=perm("channels.manage"),
)
def channels_update(
    request: HttpRequest, slug: Slug, channel_id: Id, payload: ChannelPatch
) -> Channel:
    membership = authorize(request, slug, "channels.manage")
    channel = get_in_workspace(Channel, membership.workspace, pk=channel_id)
    changes = payload.dict(exclude_none=True)
    for name, value in changes.items():
        setattr(channel, name, value)
    return save_owned(channel, fields=list(changes))


@router.delete(
    "/workspaces/{slug}/channels/{channel_id}",
    response=responses(None, 204),
    operation_id="channels_delete",
    openapi_extra=perm("channels.manage"),
)
def channels_delete(request: HttpRequest, slug: Slug, channel_id: Id) -> Status:
    """Remove a channel and its deliveries (the posts stay)."""
    membership = authorize(request, slug, "channels.manage")
    get_in_workspace(Channel, membership.workspace, pk=channel_id).delete()
    return Status(204, None)


@router.post(
    "/workspaces/{slug}/channels/{channel_id}/pause",
    response=responses(ChannelOut),
    operation_id="channels_pause",
    openapi_extra=perm("channels.manage"),
)
def channels_pause(request: HttpRequest, slug: Slug, channel_id: Id) -> Channel:
    """Hold publishing: scheduled deliveries wait until the channel is resumed, and those
    later than the workspace's late window by then are missed. Pausing a paused channel
    changes nothing; one that needs reconnecting or is disconnected cannot be paused."""
    membership = authorize(request, slug, "channels.manage")
    channel = get_in_workspace(Channel, membership.workspace, pk=channel_id)
    return services.pause(channel, by=caller(request))


@router.post(
    "/workspaces/{slug}/channels/{channel_id}/resume",
    response=responses(ChannelOut),
    operation_id="channels_resume",
    openapi_extra=perm("channels.manage"),
)
def channels_resume(request: HttpRequest, slug: Slug, channel_id: Id) -> Channel:
    """Publish to a paused channel again; resuming a connected channel changes nothing."""
    membership = authorize(request, slug, "channels.manage")
    channel = get_in_workspace(Channel, membership.workspace, pk=channel_id)
    return services.resume(channel, by=caller(request))
