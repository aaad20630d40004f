"""API: reports (issue 14 item 7): list, make, read, change, delete, the PDF, "send now".

Read with ``reports.view``: a client reads only the reports shared with clients (any other
is a 404 to them, as if it did not exist). Made, changed, deleted and sent with
``reports.manage``. A period is the last whole week or month (``period=last``, the default)
or the one so far (``period=current``), in the workspace's time zone.

No ``from __future__ import annotations``: ninja reads the parameter types at import time.
"""

from datetime import date, datetime
from typing import Literal

from django.http import Http404, HttpResponse
from ninja import Field, Query, Router, Schema, Status

from socialdesk.api_support import (
    ERROR_RESPONSES,
    Id,
    MemberRequest,
    Slug,
    Text,
    caller,
    invalid,
    requires,
    responses,
)

from . import reports
from .models import Report, ReportSend

router = Router(tags=["reports"])

Section = Literal["overview", "top_posts", "mix", "best_times", "experiments", "response_times"]
PeriodKind = Literal["weekly", "monthly"]


class ReportIn(Schema):
    name: Text = Field(min_length=1, max_length=120)
    sections: list[Section] = Field(min_length=1, max_length=6)
    period: PeriodKind = "weekly"
    recipient_ids: list[Id] = Field(
        default_factory=list, max_length=200, description="Members who receive it by email."
    )
    emails: list[Text] = Field(
        default_factory=list,
        max_length=reports.MAX_EMAILS,
        description="Other addresses (a client's team).",
    )
    include_logo: bool = True
    shared_with_clients: bool = False
    scheduled: bool = Field(True, description="Emailed at 08:00 after each period ends.")


class ReportPatch(Schema):
    name: Text | None = Field(None, min_length=1, max_length=120)
    sections: list[Section] | None = Field(None, min_length=1, max_length=6)
    period: PeriodKind | None = None
    recipient_ids: list[Id] | None = Field(None, max_length=200)
    emails: list[Text] | None = Field(None, max_length=reports.MAX_EMAILS)
    include_logo: bool | None = None
    shared_with_clients: bool | None = None
    scheduled: bool | None = None


class ReportOut(Schema):
    id: int
    name: str
    sections: list[str]
    period: str
    recipient_ids: list[int]
    emails: list[str]
    include_logo: bool
    shared_with_clients: bool
    scheduled: bool
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_recipient_ids(obj: Report) -> list[int]:
        return sorted(user.pk for user in obj.recipients.all())


class ReportSendOut(Schema):
    id: int
    report_id: int
    period_start: date
    period_end: date
    manual: bool = Field(description="True: sent with send now, not on the schedule.")
    state: str = Field(description="pending, sending, sent, failed.")
    recipients: int
    created_at: datetime
    sent_at: datetime | None


class PeriodQuery(Schema):
    period: Literal["last", "current"] = Field(
        "last", description="last: the last whole period; current: the one so far."
    )


PDF_RESPONSE = {
    "responses": {
        "200": {
            "description": "The report as a PDF.",
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
        }
    }
}


def _loaded(request: MemberRequest, report_id: int) -> Report:
    found = reports.visible_reports(request.membership).filter(pk=report_id).first()
    if found is None:
        raise Http404("No such report.")
    found.workspace = request.workspace
    return found


def _spec(report: Report | None, payload: ReportIn | ReportPatch) -> reports.ReportSpec:
    """The whole recipe: ``payload``'s fields over the report's (a PATCH)."""
    given = payload.dict(exclude_unset=True)
    if report is None:
        return reports.ReportSpec(**given)
    merged = {
        "name": report.name,
        "sections": report.sections,
        "period": report.period,
        "recipient_ids": [user.pk for user in report.recipients.all()],
        "emails": report.emails,
        "include_logo": report.include_logo,
        "shared_with_clients": report.shared_with_clients,
        "scheduled": report.scheduled,
    }
    merged.update({key: value for key, value in given.items() if value is not None})
    return reports.ReportSpec(**merged)


@router.get(
    "/workspaces/{slug}/reports",
    response=responses(list[ReportOut]),
    operation_id="reports_list",
)
@requires("reports.view")
def reports_list(request: MemberRequest, slug: Slug) -> list[Report]:
    """The reports this member may read, by name (a client: those shared with clients)."""
    return list(reports.visible_reports(request.membership).prefetch_related("recipients"))


@router.post(
    "/workspaces/{slug}/reports",
    response=responses(ReportOut, 201),
    operation_id="reports_create",
)
@requires("reports.manage")
def reports_create(request: MemberRequest, slug: Slug, payload: ReportIn) -> Status:
    report = reports.save_report(request.workspace, caller(request), _spec(None, payload))
    return Status(201, report)


@router.get(
    "/workspaces/{slug}/reports/{report_id}",
    response=responses(ReportOut),
    operation_id="reports_read",
)
@requires("reports.view")
def reports_read(request: MemberRequest, slug: Slug, report_id: Id) -> Report:
    return _loaded(request, report_id)


@router.patch(
    "/workspaces/{slug}/reports/{report_id}",
    response=responses(ReportOut),
    operation_id="reports_update",
)
@requires("reports.manage")
def reports_update(
    request: MemberRequest, slug: Slug, report_id: Id, payload: ReportPatch
) -> Report:
    """Change some of a report's fields; the rest stay as they are."""
    report = _loaded(request, report_id)
    return reports.save_report(
        request.workspace, caller(request), _spec(report, payload), report=report
    )


@router.delete(
    "/workspaces/{slug}/reports/{report_id}",
    response=responses(None, 204),
    operation_id="reports_delete",
)
@requires("reports.manage")
def reports_delete(request: MemberRequest, slug: Slug, report_id: Id) -> Status:
    _loaded(request, report_id).delete()
    return Status(204, None)


@router.get(
    "/workspaces/{slug}/reports/{report_id}/pdf",
    response=ERROR_RESPONSES,
    operation_id="reports_pdf",
    openapi_extra=PDF_RESPONSE,
)
@requires("reports.view")
def reports_pdf(
    request: MemberRequest, slug: Slug, report_id: Id, query: Query[PeriodQuery]
) -> HttpResponse:
    """The report for the period as a PDF, made now (about 0.3 s)."""
    report = _loaded(request, report_id)
    if query.period == "current":
        period = reports.current_period(report)
    else:
        period = reports.last_period(report)
    response = HttpResponse(reports.render_pdf(report, period), content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="{reports.pdf_filename(report, period)}"'
    )
    return response


@router.post(
    "/workspaces/{slug}/reports/{report_id}/send",
    response=responses(ReportSendOut, 202),
    operation_id="reports_send",
)
@requires("reports.manage")
def reports_send(request: MemberRequest, slug: Slug, report_id: Id) -> Status:
    """Send the last whole period's report now to its recipients, through the worker (202:
    the send is recorded and queued; read its state in the report's sends)."""
    report = _loaded(request, report_id)
    if not reports.recipients(report):
        raise invalid("recipient_ids", "Nobody to send it to: choose members or add addresses.")
    send: ReportSend = reports.send_now(report)
    return Status(202, send)
