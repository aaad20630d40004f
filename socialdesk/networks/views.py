"""The Channels page: the workspace's accounts, connecting Bluesky, reconnecting, disconnecting.

Thin function views: authorize with ``web.helpers.enter`` (``channels.view`` to see,
``channels.manage`` to change; 404 for outsiders, 403 for other roles), parse with a form,
call ``networks.services``, render. Every action is a plain form post.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from socialdesk.web.helpers import apply_errors, enter
from socialdesk.workspaces.access import get_in_workspace
from socialdesk.workspaces.models import Membership

from . import services
from .bluesky import DEFAULT_PDS
from .forms import ConnectBlueskyForm, ReconnectBlueskyForm
from .models import Channel, ChannelStatus, Network


def _list_page(
    request: HttpRequest,
    membership: Membership,
    form: ConnectBlueskyForm | None = None,
    status: int = 200,
) -> HttpResponse:
    can_manage = membership.can("channels.manage")
    context = {
        "channels": services.channels_of(membership.workspace),
        "can_manage": can_manage,
        "connect_form": (form or ConnectBlueskyForm()) if can_manage else None,
    }
    return render(request, "networks/channel_list.html", context, status=status)


@login_required
def channel_list(request: HttpRequest, slug: str) -> HttpResponse:
    membership = enter(request, slug, "channels.view")
    return _list_page(request, membership)


@login_required
@require_POST
def bluesky_connect(request: HttpRequest, slug: str) -> HttpResponse:
    membership = enter(request, slug, "channels.manage")
    form = ConnectBlueskyForm(request.POST)
    if form.is_valid():
        try:
            channel = services.connect_bluesky(
                membership.workspace, form.login(), form.cleaned_data["time_zone"]
            )
        except ValidationError as exc:
            apply_errors(form, exc, {})
        else:
            messages.success(request, f"{channel.handle} is connected. You can publish to it now.")
            return redirect("channel_list", slug=slug)
    return _list_page(request, membership, form, status=400)


def _bluesky_channel(membership: Membership, channel_id: int) -> Channel:
    channel = get_in_workspace(Channel, membership.workspace, pk=channel_id)
    if channel.network != Network.BLUESKY:
        raise Http404("Only Bluesky channels connect with an app password.")
    return channel


@login_required
@require_http_methods(["GET", "POST"])
def channel_reconnect(request: HttpRequest, slug: str, channel_id: int) -> HttpResponse:
    """A new app password for a channel that needs one (or that a person disconnected)."""
    membership = enter(request, slug, "channels.manage")
    channel = _bluesky_channel(membership, channel_id)
    stored_pds = channel.credentials.get("pds_url") or DEFAULT_PDS
    form = ReconnectBlueskyForm(request.POST or None, initial={"pds_url": stored_pds})
    if request.method == "POST" and form.is_valid():
        try:
            services.reconnect_bluesky(
                channel, form.cleaned_data["app_password"], form.cleaned_data["pds_url"]
            )
        except ValidationError as exc:
            apply_errors(form, exc, {})
        else:
            messages.success(request, f"{channel.handle} is connected again.")
            return redirect("channel_list", slug=slug)
    status = 400 if form.errors else 200
    context = {"channel": channel, "form": form}
    return render(request, "networks/channel_reconnect.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def channel_disconnect(request: HttpRequest, slug: str, channel_id: int) -> HttpResponse:
    """Ask first (GET), disconnect on POST."""
    membership = enter(request, slug, "channels.manage")
    channel = get_in_workspace(Channel, membership.workspace, pk=channel_id)
    if request.method == "POST":
        if channel.status != ChannelStatus.DISCONNECTED:
            services.disconnect(channel)
        messages.success(request, f"{channel.handle} is disconnected.")
        return redirect("channel_list", slug=slug)
    context = {"channel": channel, "pending": services.pending_deliveries(channel)}
    return render(request, "networks/channel_disconnect.html", context)
