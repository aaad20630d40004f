"""The connect pages of the networks of issue 16 (``networks.catalog``): one page per network
saying what the operator registers and which accounts work, then either the network's OAuth
flow (``networks.oauth``) or a form of the fields its module lists, and, when one consent
opens several accounts, a page to choose one.

Thin views: authorize with ``web.helpers.enter`` (``channels.manage``), call ``oauth`` or the
module's ``connect``, render. The callback lives outside any workspace, like Mastodon's: the
network redirects to one fixed address, and the workspace is in the flow the session keeps.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from socialdesk.web.helpers import apply_errors, enter, time_zone_choices
from socialdesk.workspaces.access import get_in_workspace
from socialdesk.workspaces.models import Membership

from . import catalog, oauth
from .base import ConnectorError
from .http import OutcomeUnknown
from .models import Channel

# Connected on the Channels page itself, by their older flows.
OWN_FLOWS = ("page", "bluesky", "mastodon")


def _about(network: str) -> catalog.NetworkAbout:
    about = catalog.about(network) if network not in OWN_FLOWS else None
    if about is None:
        raise Http404("Socialdesk does not connect this network.")
    return about


def _redirect_uri(request: HttpRequest, network: str) -> str:
    return request.build_absolute_uri(reverse("network_callback", args=[network]))


class ConnectForm(forms.Form):
    """The fields a ``form`` network asks for, and the channel's time zone."""

    def __init__(self, about: catalog.NetworkAbout, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        module = catalog.module(about.network)
        for spec in getattr(module, "FORM_FIELDS", ()):
            widget: forms.Widget
            attrs = {"autocomplete": "off", "spellcheck": "false"}
            if spec.placeholder:
                attrs["placeholder"] = spec.placeholder
            if spec.secret:
                widget = forms.PasswordInput(render_value=False, attrs=attrs)
            else:
                widget = forms.TextInput(attrs=attrs)
            self.fields[spec.name] = forms.CharField(
                label=spec.label,
                help_text=spec.help,
                required=spec.required,
                max_length=2000,
                widget=widget,
                error_messages={"required": f"Enter the {spec.label.lower()}."},
            )
        self.fields["time_zone"] = forms.ChoiceField(
            label="Time zone",
            required=False,
            choices=[("", "The workspace's time zone"), *time_zone_choices()],
        )


def _page(
    request: HttpRequest,
    membership: Membership,
    about: catalog.NetworkAbout,
    form: ConnectForm | None = None,
    status: int = 200,
) -> HttpResponse:
    configured = about.connect != "oauth" or oauth.app_for(about.network) is not None
    context = {
        "about": about,
        "label": catalog.label(about.network),
        "configured": configured,
        "not_configured": oauth.not_configured(about.network) if not configured else "",
        "form": form or ConnectForm(about),
        "callback": _redirect_uri(request, about.network) if about.connect == "oauth" else "",
        "reconnect": request.GET.get("channel", ""),
    }
    return render(request, "networks/connect.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def connect_page(request: HttpRequest, slug: str, network: str) -> HttpResponse:
    """GET: the network's connect page. POST: start its OAuth flow, or connect from the form."""
    membership = enter(request, slug, "channels.manage")
    about = _about(network)
    if request.method == "GET":
        return _page(request, membership, about)
    form = ConnectForm(about, request.POST)
    channel = None
    if channel_id := request.POST.get("channel", ""):
        if not channel_id.isdigit():
            raise Http404("No such channel.")
        channel = get_in_workspace(Channel, membership.workspace, pk=int(channel_id))
        if channel.network != network:
            raise Http404(f"That channel is not a {catalog.label(network)} channel.")
    if not form.is_valid():
        return _page(request, membership, about, form, status=400)
    time_zone = form.cleaned_data["time_zone"]
    try:
        if about.connect == "oauth":
            started = oauth.start(
                request.session,
                membership.workspace,
                network,
                _redirect_uri(request, network),
                time_zone=time_zone,
                channel=channel,
            )
            return redirect(started.authorize_url)
        module = catalog.module(network)
        values = {k: v for k, v in form.cleaned_data.items() if k != "time_zone"}
        account = module.connect(values)  # type: ignore[union-attr]
        flow = {
            "network": network,
            "time_zone": time_zone,
            "channel_id": channel.pk if channel is not None else None,
        }
        connected = oauth.connect(membership.workspace, flow, account, by=request.user)  # type: ignore[arg-type]
    except ValidationError as exc:
        apply_errors(form, exc, {})
        return _page(request, membership, about, form, status=400)
    except (ConnectorError, OutcomeUnknown) as exc:
        # A module's connect should say it in a ValidationError; never a 500 if one does not.
        apply_errors(form, ValidationError(f"{catalog.label(network)}: {exc}"), {})
        return _page(request, membership, about, form, status=400)
    messages.success(request, f"{connected.handle} is connected. You can publish to it now.")
    return redirect("channel_list", slug=slug)


@login_required
def network_callback(request: HttpRequest, network: str) -> HttpResponse:
    """Where the network sends the person back: ``code`` and ``state``, or ``error``."""
    label = catalog.label(network)
    try:
        flow = oauth.take_flow(request.session, network, request.GET.get("state", ""))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("home")
    slug = flow["workspace"]
    membership = enter(request, slug, "channels.manage")
    error = request.GET.get("error", "")
    if error:
        if error in ("access_denied", "user_denied", "user_cancelled_authorize"):
            text = (
                f"You did not allow Socialdesk on {label}, so nothing was connected. Connect "
                "again when you are ready."
            )
        else:
            # The network's own words; a query parameter, so shown as text and cut short.
            detail = request.GET.get("error_description", "") or error
            text = f"{label} refused the connection: {detail[:200]}"
        messages.error(request, text)
        return redirect("channel_list", slug=slug)
    try:
        token = oauth.exchange(
            network, flow, request.GET.get("code", ""), _redirect_uri(request, network)
        )
        found = oauth.accounts(network, token)
        if len(found) > 1:
            key = oauth.offer(request.session, flow, found)
            return redirect("network_choose", slug=slug, key=key)
        channel = oauth.connect(membership.workspace, flow, found[0], by=request.user)  # type: ignore[arg-type]
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("channel_list", slug=slug)
    messages.success(request, f"{channel.handle} is connected. You can publish to it now.")
    return redirect("channel_list", slug=slug)


@login_required
@require_http_methods(["GET", "POST"])
def network_choose(request: HttpRequest, slug: str, key: str) -> HttpResponse:
    """One consent opened several accounts (Pages, locations, boards): choose the one to
    connect."""
    membership = enter(request, slug, "channels.manage")
    try:
        flow, found = oauth.peek_offer(request.session, key)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("channel_list", slug=slug)
    if flow.get("workspace") != membership.workspace.slug:
        raise Http404("No such choice in this workspace.")
    label = catalog.label(flow["network"])
    error = ""
    if request.method == "POST":
        picked = request.POST.get("account", "")
        if picked.isdigit() and int(picked) < len(found):
            oauth.take_offer(request.session, key)
            try:
                channel = oauth.connect(
                    membership.workspace,
                    flow,
                    found[int(picked)],
                    by=request.user,  # type: ignore[arg-type]
                )
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
                return redirect("channel_list", slug=slug)
            messages.success(request, f"{channel.handle} is connected. You can publish to it now.")
            return redirect("channel_list", slug=slug)
        error = "Choose one of the accounts."
    context = {
        "label": label,
        "accounts": [a.info for a in found],
        "error": error,
        "network": flow["network"],
    }
    return render(request, "networks/choose.html", context, status=400 if error else 200)
