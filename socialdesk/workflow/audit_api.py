"""API: the audit log, as pages of JSON or as CSV. ``audit_events`` and ``audit_csv`` serve the
audit page too.

No ``from __future__ import annotations``: ninja reads the parameter types at import time.
"""

import csv
import io
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse
from ninja import Field, Query, Router, Schema

from socialdesk.api_support import (
    CURSOR_DESCRIPTION,
    LIMIT_DESCRIPTION,
    Id,
    MemberRequest,
    Moment,
    Slug,
    Text,
    invalid,
    paginate,
    requires,
    responses,
)
from socialdesk.csv_cells import safe_row

from .models import AuditEvent

router = Router(tags=["workflow"])


class AuditOut(Schema):
    id: int
    created_at: datetime
    action: str
    actor_id: int | None
    who: str
    via: str
    target_type: str
    target_id: str
    target: str = Field(alias="target_repr")
    detail: str
    ip: str | None
    user_agent: str


class AuditPage(Schema):
    items: list[AuditOut]
    next_cursor: str | None


class AuditFilters(Schema):
    action: Text | None = Field(
        None, max_length=60, description="Exact action, or a prefix ending in '.'."
    )
    actor_id: Id | None = None
    from_: Moment | None = Field(None, alias="from")
    to: Moment | None = None
    cursor: str | None = Field(None, max_length=200, description=CURSOR_DESCRIPTION)
    limit: int = Field(50, ge=1, le=100, description=LIMIT_DESCRIPTION)


def audit_events(workspace: Any, filters: Any) -> QuerySet[AuditEvent]:
    if filters.from_ and filters.to and filters.to <= filters.from_:
        raise invalid("to", "'to' must be later than 'from'.")
    events = AuditEvent.objects.filter(workspace=workspace).select_related("actor")
    if filters.action:
        if filters.action.endswith("."):
            events = events.filter(action__startswith=filters.action)
        else:
            events = events.filter(action=filters.action)
    if filters.actor_id:
        events = events.filter(actor_id=filters.actor_id)
    if filters.from_:
        events = events.filter(created_at__gte=filters.from_)
    if filters.to:
        events = events.filter(created_at__lt=filters.to)
    return events


@router.get(
    "/workspaces/{slug}/audit",
    response=responses(AuditPage),
    operation_id="audit_list",
)
@requires("audit.view")
def audit_list(request: MemberRequest, slug: Slug, filters: Query[AuditFilters]) -> dict:
    """Every state change, approval, override and client action, newest first."""
    return paginate(audit_events(request.workspace, filters), filters.cursor, filters.limit)


CSV_COLUMNS = [
    "time (UTC)",
    "action",
    "who",
    "via",
    "target",
    "target id",
    "detail",
    "ip",
    "user agent",
]


def audit_csv(events: QuerySet[AuditEvent]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for event in events.order_by("created_at", "id").iterator(chunk_size=500):
        # Names, details and user agents are typed by people: none may start a formula.
        writer.writerow(
            safe_row(
                [
                    event.created_at.isoformat(),
                    event.action,
                    str(event.actor) if event.actor_id else "",
                    event.via,
                    event.target_repr,
                    f"{event.target_type}:{event.target_id}" if event.target_type else "",
                    event.detail,
                    event.ip or "",
                    event.user_agent,
                ]
            )
        )
    return buffer.getvalue()


class ExportFilters(Schema):
    action: Text | None = Field(None, max_length=60)
    actor_id: Id | None = None
    from_: Moment | None = Field(None, alias="from")
    to: Moment | None = None


@router.get(
    "/workspaces/{slug}/audit/export",
    operation_id="audit_export",
    openapi_extra={
        # Integer codes, as django-ninja keys its own: a "200" string beside its 200 would be a
        # duplicate key in the JSON document (Swagger UI then shows no operation at all).
        "responses": {
            200: {
                "description": "The matching events as CSV, oldest first.",
                "content": {"text/csv": {"schema": {"type": "string"}}},
            },
            **{
                status: {
                    "description": title,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}
                    },
                }
                for status, title in [
                    (401, "Unauthorized"),
                    (403, "Forbidden"),
                    (404, "Not Found"),
                    (422, "Unprocessable Entity"),
                ]
            },
        },
    },
)
@requires("audit.view")
def audit_export(request: MemberRequest, slug: Slug, filters: Query[ExportFilters]) -> HttpResponse:
    """The audit log as CSV (same filters as the list)."""
    body = audit_csv(audit_events(request.workspace, filters))
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-{slug}.csv"'
    return response
