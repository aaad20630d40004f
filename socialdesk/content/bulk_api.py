"""API: CSV import and export of posts (the same services as the import/export page).

No ``from __future__ import annotations``: ninja reads parameter types at import time.
"""

from datetime import date, timedelta

from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.utils import timezone
from ninja import Field, File, Form, Query, Router, Schema
from ninja.files import UploadedFile

from socialdesk.api_support import (
    ERROR_RESPONSES,
    MemberRequest,
    Slug,
    caller,
    invalid,
    requires,
    responses,
)

from . import bulk

router = Router(tags=["posts"])
MAX_EXPORT_DAYS = 366


class ImportOut(Schema):
    dry_run: bool
    posts: int
    deliveries: int
    scheduled: int
    drafts: int
    post_ids: list[int]


@router.post(
    "/workspaces/{slug}/posts.csv",
    response=responses(ImportOut),
    operation_id="posts_import",
)
@requires("posts.create")
def posts_import(
    request: MemberRequest,
    slug: Slug,
    file: UploadedFile = File(..., description="The CSV file, UTF-8."),  # noqa: B008
    dry_run: bool = Form(False, description="Check every row but write nothing."),  # noqa: B008
) -> dict:
    """Import posts from a CSV file (columns: date, time, time zone, channels, text, media,
    labels, pillar, campaign), all or nothing. Every error is listed with its row and column
    (field ``row 3: time``). Needs posts.create and deliveries.schedule."""
    # A second permission, beyond the declared one: an import schedules what it creates.
    membership = request.membership
    if not membership.can("deliveries.schedule"):
        raise PermissionDenied(
            f"Your role ({membership.get_role_display()}) does not allow deliveries.schedule."
        )
    if file.size is not None and file.size > bulk.MAX_BYTES:
        raise invalid(
            "file", f"The file is larger than {bulk.MAX_BYTES // 1024 // 1024} MB; split it."
        )
    data = file.read(bulk.MAX_BYTES + 1)
    plan = bulk.validate_csv(request.workspace, data)
    if not plan.ok:
        raise bulk.ValidationError(plan.error_dict())
    post_ids: list[int] = []
    if not dry_run:
        post_ids = [p.pk for p in bulk.write_plan(request.workspace, caller(request), plan)]
    return {
        "dry_run": dry_run,
        "posts": plan.posts,
        "deliveries": plan.deliveries,
        "scheduled": plan.scheduled,
        "drafts": plan.drafts,
        "post_ids": post_ids,
    }


class ExportQuery(Schema):
    start: date | None = Field(None, description="First day; default: today.")
    end: date | None = Field(None, description="Last day, included; default: 30 days on.")


CSV_RESPONSE = {
    "responses": {
        "200": {
            "description": "The posts as CSV (UTF-8 with a byte order mark).",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    }
}


@router.get(
    "/workspaces/{slug}/posts.csv",
    response=ERROR_RESPONSES,
    operation_id="posts_export",
    openapi_extra=CSV_RESPONSE,
)
@requires("posts.view")
def posts_export(request: MemberRequest, slug: Slug, query: Query[ExportQuery]) -> HttpResponse:
    """Posts scheduled from ``start`` to ``end`` (both included, days in the workspace's time
    zone; by default the next 30 days) as CSV in the import's columns, at most 366 days at
    once."""
    start = query.start or timezone.localdate(timezone=request.workspace.zone)
    end = query.end or start + timedelta(days=30)
    if end < start:
        raise invalid("end", "The end date is before the start date.")
    if (end - start).days >= MAX_EXPORT_DAYS:
        raise invalid("end", f"Export at most {MAX_EXPORT_DAYS} days at once.")
    text = bulk.export_csv(request.workspace, start, end)
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{slug}-posts.csv"'
    return response
