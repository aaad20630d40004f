"""The notification centre (one's own notifications, email choice) and webhook settings.

Every action is a plain form POST that redirects back; htmx requests get the changed part
of the page instead (the row, or the list and the badge), so it works with and without JS.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from socialdesk.api_support import paginate
from socialdesk.web.helpers import apply_errors, enter, is_partial, render_page
from socialdesk.workspaces.access import get_in_workspace

from . import services
from .forms import PreferenceForm, WebhookForm
from .models import Notification, Webhook

PAGE_SIZE = 30


def _user(request: HttpRequest):  # type: ignore[no-untyped-def]
    return request.user


def _centre(request: HttpRequest, slug: str, form: PreferenceForm | None = None) -> HttpResponse:
    membership = enter(request, slug, "notifications.view")
    workspace, user = membership.workspace, _user(request)
    only_unread = request.GET.get("show") == "unread"
    rows = services.inbox(workspace, user).select_related("actor")
    if only_unread:
        rows = rows.filter(read_at__isnull=True)
    try:
        page = paginate(rows, request.GET.get("cursor") or None, PAGE_SIZE)
    except ValidationError:
        raise Http404("This page of notifications does not exist.") from None
    context = {
        "notifications": page["items"],
        "next_cursor": page["next_cursor"],
        "only_unread": only_unread,
        "unread": services.unread_count(workspace, user),
        "form": form
        or PreferenceForm(initial={"email_mode": services.email_mode_of(workspace, user)}),
        "can_update": membership.can("notifications.update"),
        "is_partial_update": is_partial(request),
    }
    return render_page(
        request,
        "notifications/list.html",
        context,
        partial="notifications/_results.html",
        status=400 if form is not None and form.errors else 200,
    )


@login_required
def notification_list(request: HttpRequest, slug: str) -> HttpResponse:
    return _centre(request, slug)


def _back(request: HttpRequest, slug: str) -> HttpResponse:
    return redirect("notification_list", slug=slug)


@login_required
@require_POST
def notification_read(request: HttpRequest, slug: str, notification_id: int) -> HttpResponse:
    membership = enter(request, slug, "notifications.update")
    try:
        notification = services.mark_read(membership.workspace, _user(request), notification_id)
    except Notification.DoesNotExist:
        raise Http404("No such notification.") from None
    if is_partial(request):
        context = {
            "n": notification,
            "can_update": True,
            "unread": services.unread_count(membership.workspace, _user(request)),
            "oob": True,
        }
        return render(request, "notifications/_row.html", context)
    return _back(request, slug)


@login_required
def notification_open(request: HttpRequest, slug: str, notification_id: int) -> HttpResponse:
    """Follow a notification's link, marking it read on the way."""
    membership = enter(request, slug, "notifications.view")
    try:
        notification = services.mark_read(membership.workspace, _user(request), notification_id)
    except Notification.DoesNotExist:
        raise Http404("No such notification.") from None
    url = notification.url
    # Only local paths: a notification must never become an open redirect.
    if url and url.startswith("/") and url_has_allowed_host_and_scheme(url, allowed_hosts=None):
        return redirect(url)
    return _back(request, slug)


@login_required
@require_POST
def notification_read_all(request: HttpRequest, slug: str) -> HttpResponse:
    membership = enter(request, slug, "notifications.update")
    marked = services.mark_all_read(membership.workspace, _user(request))
    if is_partial(request):
        return _centre(request, slug)
    if marked:
        messages.success(request, f"Marked {marked} notification{'s' if marked != 1 else ''} read.")
    return _back(request, slug)


@login_required
@require_POST
def notification_email(request: HttpRequest, slug: str) -> HttpResponse:
    membership = enter(request, slug, "notifications.update")
    form = PreferenceForm(request.POST)
    if not form.is_valid():
        return _centre(request, slug, form)
    services.set_email_mode(membership.workspace, _user(request), form.cleaned_data["email_mode"])
    messages.success(request, "Your email choice is saved.")
    return _back(request, slug)


# --- Webhook settings --------------------------------------------------------------------------


@login_required
def webhook_list(request: HttpRequest, slug: str) -> HttpResponse:
    """The workspace's webhooks, and a form for a new one (its secret is shown once, here)."""
    membership = enter(request, slug, "webhooks.view")
    can_manage = membership.can("webhooks.manage")
    form = WebhookForm(
        request.POST or None, initial={"events": ["delivery.failed", "delivery.missed"]}
    )
    secret = None
    created = None
    if request.method == "POST":
        if not can_manage:
            enter(request, slug, "webhooks.manage")  # raises PermissionDenied with the reason
        if form.is_valid():
            try:
                created, secret = services.create_webhook(
                    membership.workspace,
                    _user(request),
                    name=form.cleaned_data["name"],
                    url=form.cleaned_data["url"],
                    events=form.cleaned_data["events"],
                    slack_compatible=form.cleaned_data["slack_compatible"],
                )
            except ValidationError as exc:
                apply_errors(form, exc, {})
            else:
                form = WebhookForm(initial={"events": ["delivery.failed", "delivery.missed"]})
    context = {
        "form": form,
        "webhooks": Webhook.objects.in_workspace(membership.workspace),
        "secret": secret,
        "created": created,
        "can_manage": can_manage,
        "events": services.EVENTS,
        "tab": "webhooks",
    }
    response = render(
        request, "notifications/webhooks.html", context, status=400 if form.errors else 200
    )
    if secret:
        response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def webhook_test(request: HttpRequest, slug: str, webhook_id: int) -> HttpResponse:
    membership = enter(request, slug, "webhooks.manage")
    hook = get_in_workspace(Webhook, membership.workspace, pk=webhook_id)
    outcome = services.send_test_event(hook, _user(request))
    if outcome.ok:
        messages.success(request, f"Test sent to “{hook.name}”: {outcome.message}.")
    else:
        messages.error(request, f"The test to “{hook.name}” failed: {outcome.message}")
    return redirect("webhook_list", slug=slug)


@login_required
@require_POST
def webhook_toggle(request: HttpRequest, slug: str, webhook_id: int) -> HttpResponse:
    membership = enter(request, slug, "webhooks.manage")
    hook = get_in_workspace(Webhook, membership.workspace, pk=webhook_id)
    services.update_webhook(hook, is_active=not hook.is_active)
    state = "switched on" if hook.is_active else "paused"
    messages.success(request, f"“{hook.name}” is {state}.")
    return redirect("webhook_list", slug=slug)


@login_required
@require_POST
def webhook_delete(request: HttpRequest, slug: str, webhook_id: int) -> HttpResponse:
    membership = enter(request, slug, "webhooks.manage")
    hook = get_in_workspace(Webhook, membership.workspace, pk=webhook_id)
    hook.delete()
    messages.success(request, f"The webhook “{hook.name}” was deleted.")
    return redirect("webhook_list", slug=slug)
