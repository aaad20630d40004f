"""The shop's signed conversion report (``conversions``): a plain view, not an API operation,
because its caller is a shop's server holding the workspace's conversion secret, not a member
with a token. Answers in the API's problem-details format."""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from socialdesk.api_support import problem
from socialdesk.workspaces.models import Workspace

from . import conversions
from .links import settings_for


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
