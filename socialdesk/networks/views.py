"""The Channels page: the workspace's accounts, connecting Bluesky (app password) and Mastodon
(the instance's OAuth flow, ``mastodon_connect``), reconnecting, pausing and resuming,
disconnecting, and each channel's recent status history.

Thin function views: authorize with ``web.helpers.enter`` (``channels.view`` to see,
``channels.manage`` to change; 404 for outsiders, 403 for other roles), parse with a form,
call ``networks.services``, render. Every action is a plain form post.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from socialdesk.web.helpers import apply_errors, enter
from socialdesk.workspaces.access import get_in_workspace
from socialdesk.workspaces.models import Membership

from . import mastodon_connect as oauth_flow
from . import services
from .bluesky import DEFAULT_PDS
from .forms import ConnectBlueskyForm, ConnectMastodonForm, ReconnectBlueskyForm
from .metrics import all_network_metrics
from .models import Channel, ChannelTransition, Network

# How many status moves the Channels page shows per channel.
HISTORY_SHOWN = 5


def _list_page(
    request: HttpRequest,
    membership: Membership,
    form: ConnectBlueskyForm | None = None,
    status: int = 200,
    mastodon_form: ConnectMastodonForm | None = None,
) -> HttpResponse:
    can_manage = membership.can("channels.manage")
    recent = ChannelTransition.objects.select_related("actor").order_by("-at", "-id")
    channels = services.channels_of(membership.workspace).prefetch_related(
        Prefetch("transitions", queryset=recent[:HISTORY_SHOWN], to_attr="recent_moves")
    )
    context = {
        "channels": channels,
        "can_manage": can_manage,
        "connect_form": (form or ConnectBlueskyForm()) if can_manage else None,
        "mastodon_form": (mastodon_form or ConnectMastodonForm()) if can_manage else None,
        "network_metrics": all_network_metrics(),
        "more_networks": _more_networks() if can_manage else [],
    }
    return render(request, "networks/channel_list.html", context, status=status)


def _more_networks() -> list[dict[str, str]]:
    """The networks of issue 16 that are built, each linking to its connect page."""
    from . import catalog

    return [
        {"network": a.network, "label": catalog.label(a.network)}
        for a in catalog.built()
        if a.network not in ("page", "bluesky", "mastodon")
    ]


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
                membership.workspace,
                form.login(),
                form.cleaned_data["time_zone"],
                by=request.user,  # type: ignore[arg-type]
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
                channel,
                form.cleaned_data["app_password"],
                form.cleaned_data["pds_url"],
                by=request.user,  # type: ignore[arg-type]
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
        services.disconnect(channel, by=request.user)  # type: ignore[arg-type]
        messages.success(request, f"{channel.handle} is disconnected.")
        return redirect("channel_list", slug=slug)
    context = {"channel": channel, "pending": services.pending_deliveries(channel)}
    return render(request, "networks/channel_disconnect.html", context)


@login_required
@require_POST
def channel_check(request: HttpRequest, slug: str, channel_id: int) -> HttpResponse:
    """Ask the network whether the stored credentials still open the account; say what it
    answered (``services.check_connection``)."""
    membership = enter(request, slug, "channels.manage")
    channel = get_in_workspace(Channel, membership.workspace, pk=channel_id)
    result = services.check_connection(channel, by=request.user)  # type: ignore[arg-type]
    (messages.success if result.ok else messages.error)(request, result.message)
    return redirect("channel_list", slug=slug)


@login_required
@require_POST
def channel_pause(request: HttpRequest, slug: str, channel_id: int) -> HttpResponse:
    """Hold publishing on a channel; its scheduled posts wait (``services.pause``)."""
    membership = enter(request, slug, "channels.manage")
    channel = get_in_workspace(Channel, membership.workspace, pk=channel_id)
    try:
        services.pause(channel, by=request.user)  # type: ignore[arg-type]
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            f"{channel.handle} is paused. Its scheduled posts wait until you resume it.",
        )
    return redirect("channel_list", slug=slug)


@login_required
@require_POST
def channel_resume(request: HttpRequest, slug: str, channel_id: int) -> HttpResponse:
    """Publish to a paused channel again (``services.resume``)."""
    membership = enter(request, slug, "channels.manage")
    channel = get_in_workspace(Channel, membership.workspace, pk=channel_id)
    try:
        services.resume(channel, by=request.user)  # type: ignore[arg-type]
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            f"{channel.handle} is publishing again. Posts that waited go out within a minute, "
            "except those later than the workspace's late window.",
        )
    return redirect("channel_list", slug=slug)


def _mastodon_redirect_uri(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("mastodon_callback"))


@login_required
@require_POST
def mastodon_connect(request: HttpRequest, slug: str) -> HttpResponse:
    """Start the instance's OAuth flow: register there (once) and send the person to approve.

    With ``channel`` (a Mastodon channel's id) the flow reconnects that channel."""
    membership = enter(request, slug, "channels.manage")
    form = ConnectMastodonForm(request.POST)
    channel = None
    channel_id = request.POST.get("channel", "")
    if channel_id:
        if not channel_id.isdigit():
            raise Http404("No such channel.")
        channel = get_in_workspace(Channel, membership.workspace, pk=int(channel_id))
        if channel.network != Network.MASTODON:
            raise Http404("Only Mastodon channels connect through Mastodon.")
    if form.is_valid():
        try:
            started = oauth_flow.start(
                request.session,
                membership.workspace,
                form.cleaned_data["instance_url"],
                _mastodon_redirect_uri(request),
                time_zone=form.cleaned_data["time_zone"],
                channel=channel,
                now=timezone.now(),
            )
        except ValidationError as exc:
            apply_errors(form, exc, {})
        else:
            return redirect(started.authorize_url)
    return _list_page(request, membership, status=400, mastodon_form=form)


@login_required
def mastodon_callback(request: HttpRequest) -> HttpResponse:
    """Where the instance sends the person back: ``code`` and ``state``, or ``error``."""
    try:
        flow = oauth_flow.take_flow(
            request.session, request.GET.get("state", ""), now=timezone.now()
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("home")
    slug = flow["workspace"]
    membership = enter(request, slug, "channels.manage")
    error = request.GET.get("error", "")
    if error:
        if error == "access_denied":
            text = (
                f"You did not allow Socialdesk on {flow['instance_url']}, so nothing was "
                "connected. Connect again when you are ready."
            )
        else:
            # The instance's own words; a query parameter, so shown as text and cut short.
            detail = request.GET.get("error_description", "") or error
            text = f"{flow['instance_url']} refused the connection: {detail[:200]}"
        messages.error(request, text)
        return redirect("channel_list", slug=slug)
    try:
        channel = oauth_flow.finish(
            membership.workspace,
            flow,
            request.GET.get("code", ""),
            _mastodon_redirect_uri(request),
            by=request.user,  # type: ignore[arg-type]
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"{channel.handle} is connected. You can publish to it now.")
    return redirect("channel_list", slug=slug)
