"""API: a workspace's inbox service level (business hours, holidays, targets, retention), and
a contact's personal data (export, erasure).

No ``from __future__ import annotations``: ninja reads the parameter types at import time.
"""

from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.utils import timezone
from ninja import Field, Query, Router, Schema

from socialdesk.api_support import (
    Id,
    MemberRequest,
    Moment,
    Slug,
    Text,
    caller,
    requires,
    responses,
)
from socialdesk.networks.models import Channel
from socialdesk.workspaces.access import get_in_workspace

from . import numbers, retention, service_levels
from .models import Contact, ServiceLevel

router = Router(tags=["inbox service"])

HHMM = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")


class ServiceLevelOut(Schema):
    time_zone: str
    hours: list[list[list[str]]] = Field(
        description="Seven weekdays, Monday first; each a list of [start, end] local times."
    )
    holidays: list[str]
    first_response_minutes: int
    resolution_hours: int
    retention_days: int | None


class ServiceLevelIn(Schema):
    hours: list[list[list[Text]]] | None = Field(
        None, max_length=7, description='e.g. [[["09:00", "17:00"]], …] Monday first.'
    )
    holidays: list[Text] | None = Field(None, max_length=400, description="ISO dates.")
    first_response_minutes: int | None = Field(None, ge=1, le=43200)
    resolution_hours: int | None = Field(None, ge=1, le=8760)
    retention_days: int | None = Field(
        None, ge=1, le=3650, description="Delete resolved conversations after this many days."
    )
    keep_for_ever: bool = Field(False, description="true: no retention period.")


def level_out(level: ServiceLevel) -> dict[str, Any]:
    return {
        "time_zone": level.workspace.time_zone,
        "hours": level.hours,
        "holidays": level.holidays,
        "first_response_minutes": int(level.first_response_target / timedelta(minutes=1)),
        "resolution_hours": int(level.resolution_target / timedelta(hours=1)),
        "retention_days": level.retention_days,
    }


@router.get(
    "/workspaces/{slug}/inbox/service-level",
    response=responses(ServiceLevelOut),
    operation_id="inbox_service_level_read",
)
@requires("inbox_settings.view")
def service_level_read(request: MemberRequest, slug: Slug) -> dict:
    """Business hours in the workspace's zone, holidays, targets and retention."""
    return level_out(service_levels.level_of(request.workspace))


@router.put(
    "/workspaces/{slug}/inbox/service-level",
    response=responses(ServiceLevelOut),
    operation_id="inbox_service_level_update",
)
@requires("inbox_settings.manage")
def service_level_update(request: MemberRequest, slug: Slug, payload: ServiceLevelIn) -> dict:
    """Change what is given; the rest stays. Times are checked (no overlaps, end after start)."""
    retention_days: Any = ...
    if payload.keep_for_ever:
        retention_days = None
    elif payload.retention_days is not None:
        retention_days = payload.retention_days
    level = service_levels.save_level(
        request.workspace,
        hours=payload.hours,
        holidays=payload.holidays,
        first_response_minutes=payload.first_response_minutes,
        resolution_hours=payload.resolution_hours,
        retention_days=retention_days,
    )
    return level_out(level)


class ContactErasedOut(Schema):
    id: int
    display_name: str
    erased: bool


@router.get(
    "/workspaces/{slug}/inbox/contacts/{contact_id}/personal-data",
    response=responses(dict),
    operation_id="inbox_contact_export",
)
@requires("contacts.export")
def contact_export(request: MemberRequest, slug: Slug, contact_id: Id) -> HttpResponse:
    """Everything the workspace holds about a contact, as JSON (audit-logged)."""
    contact = get_in_workspace(Contact, request.workspace, pk=contact_id)
    body = retention.export_contact(request.workspace, contact, by=caller(request))
    response = HttpResponse(body, content_type="application/json")
    response["Content-Disposition"] = (
        f'attachment; filename="contact-{request.workspace.slug}-{contact.pk}.json"'
    )
    response["Cache-Control"] = "no-store"
    return response


@router.post(
    "/workspaces/{slug}/inbox/contacts/{contact_id}/erase",
    response=responses(ContactErasedOut),
    operation_id="inbox_contact_erase",
)
@requires("contacts.erase")
def contact_erase(request: MemberRequest, slug: Slug, contact_id: Id) -> Contact:
    """Erase a contact: names and what they wrote go; the threads keep their shape."""
    contact = get_in_workspace(Contact, request.workspace, pk=contact_id)
    return retention.erase_contact(request.workspace, contact, by=caller(request))


class ReportQuery(Schema):
    start: Moment | None = Field(
        None, description="From this instant (with its UTC offset); default 30 days before end."
    )
    end: Moment | None = Field(
        None,
        description="Until this instant, excluded (at most 400 days after start); default now.",
    )
    channel_id: Id | None = None


@router.get(
    "/workspaces/{slug}/inbox/report",
    response=responses(dict),
    operation_id="inbox_report",
)
@requires("inbox_reports.view")
def inbox_report(request: MemberRequest, slug: Slug, filters: Query[ReportQuery]) -> dict:
    """First response and resolution times (business seconds: median, p90), SLA hit rate,
    replies per person, volume by kind and sentiment, per channel and per person, for the
    conversations started in [start, end)."""
    end = filters.end or timezone.now()
    start = filters.start or end - timedelta(days=30)
    if end <= start or end - start > timedelta(days=400):
        raise ValidationError({"end": ["Give an end after the start, at most 400 days later."]})
    if filters.channel_id is not None:
        get_in_workspace(Channel, request.workspace, pk=filters.channel_id)
    return numbers.inbox_report(request.workspace, start, end, channel_id=filters.channel_id)
