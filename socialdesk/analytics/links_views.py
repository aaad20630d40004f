"""The shop's signed conversion report (``conversions``), and Settings → Links.

The report is a plain view, not an API operation, because its caller is a shop's server
holding the workspace's conversion secret, not a member with a token; it answers in the API's
problem-details format. The settings page changes what ``PATCH …/link-settings`` and
``POST …/conversion-secret`` change, with plain form posts (no JavaScript)."""

from __future__ import annotations

import json

from django import forms
from django.conf import settings as django_settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from socialdesk.api_support import problem
from socialdesk.page.feeds import absolute
from socialdesk.web.helpers import enter
from socialdesk.workspaces.models import Workspace

from . import conversions
from .links import settings_for, site_is_public
from .models import LinkSettings


def conversion_out(conversion: conversions.Conversion, created: bool) -> dict[str, object]:
    return {
        "id": conversion.pk,
        "order_id": conversion.order_id,
        "value": str(conversion.value),
        "currency": conversion.currency,
        "attributed": conversion.attributed,
        "window_days": conversion.window_days,
        "post_id": conversion.post_id,
        "channel_id": conversion.channel_id,
        "campaign_id": conversion.campaign_id,
        "created": created,
    }


@csrf_exempt
def conversion_report(request: HttpRequest, slug: str) -> HttpResponse:
    """``POST /hooks/conversions/<slug>``: 201 with the new conversion, 200 with the one
    already recorded for this order, 400 naming the bad field, 401 for a bad signature."""
    if request.method != "POST":
        response = problem(405, "method-not-allowed", "Method not allowed", "POST a report.")
        response["Allow"] = "POST"
        return response
    workspace = Workspace.objects.filter(slug=slug).first()
    if workspace is None:
        return problem(404, "not-found", "Not found", "No workspace has this address.")
    length = str(request.META.get("CONTENT_LENGTH") or "0")
    if not length.isdigit() or int(length) > conversions.MAX_BODY:
        detail = f"A report is at most {conversions.MAX_BODY:,} bytes."
        return problem(413, "too-large", "Request too large", detail)
    body = request.body
    header = request.headers.get(conversions.SIGNATURE_HEADER, "")
    try:
        conversions.check_signature(settings_for(workspace.pk), body, header)
    except conversions.BadSignature as exc:
        return problem(401, "bad-signature", "Bad signature", str(exc))
    try:
        report = conversions.parse(body)
        conversion, created = conversions.record_conversion(workspace, report)
    except conversions.BadReport as exc:
        errors = [{"field": exc.field, "message": exc.message}]
        return problem(400, "invalid-input", "Invalid input", exc.message, errors)
    return HttpResponse(
        json.dumps(conversion_out(conversion, created)),
        status=201 if created else 200,
        content_type="application/json",
    )


# --- Settings → Links: short links on or off, the window, the conversion secret -------------


class LinkSettingsForm(forms.Form):
    short_links = forms.BooleanField(
        label="Use short links",
        required=False,
        help_text="Links in posts go out as this workspace's own short links, which count "
        "clicks. Off: links get their UTM tags only, and clicks are not counted.",
    )
    conversion_window_days = forms.IntegerField(
        label="Conversion window, in days",
        min_value=1,
        max_value=365,
        help_text="A conversion counts for the post whose link was clicked at most this many "
        "days before (the last click). 30 by default.",
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def link_settings(request: HttpRequest, slug: str) -> HttpResponse:
    """Owners and managers (``analytics.manage``). A new conversion secret is shown in the
    answer to the post that made it, once, and never again (the page is not cached)."""
    membership = enter(request, slug, "analytics.manage")
    workspace = membership.workspace
    row = settings_for(workspace.pk)
    action = request.POST.get("action", "") if request.method == "POST" else ""
    form = LinkSettingsForm(
        request.POST if action == "settings" else None,
        initial={
            "short_links": row.short_links,
            "conversion_window_days": row.conversion_window_days,
        },
    )
    secret = ""
    if action == "settings" and form.is_valid():
        with transaction.atomic():
            saved, _ = LinkSettings.objects.get_or_create(workspace=workspace)
            saved.short_links = form.cleaned_data["short_links"]
            saved.conversion_window_days = form.cleaned_data["conversion_window_days"]
            saved.save(update_fields=["short_links", "conversion_window_days"])
        messages.success(request, "Link settings saved.")
        return redirect("link_settings", slug=slug)
    if action == "secret":
        secret = conversions.rotate_secret(workspace)
        row = settings_for(workspace.pk)
    response = render(
        request,
        "analytics/link_settings.html",
        {
            "tab": "links",
            "form": form,
            "row": row,
            "secret": secret,
            "endpoint": absolute(reverse("conversion_report", args=[workspace.slug])),
            "signature_header": conversions.SIGNATURE_HEADER,
            "site_is_public": site_is_public(),
            "site_url": django_settings.SITE_URL,
        },
        status=400 if action == "settings" else 200,
    )
    patch_cache_control(response, no_store=True, private=True)
    return response
