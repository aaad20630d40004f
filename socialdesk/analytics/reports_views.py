"""Pages: reports (issue 14, item 7): the list, a report for a period, its PDF, making,
changing, deleting and "send now".

Read with ``reports.view`` (a client sees only the reports shared with clients, and any other
is a 404 to them); made, changed, sent and deleted with ``reports.manage``. The PDF is made in
the request: WeasyPrint takes about 0.3 s for a report of a few pages.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from socialdesk.ids import parse_id
from socialdesk.web.helpers import apply_errors, enter, render_page
from socialdesk.workspaces.models import Membership, Workspace

from . import reports
from .models import Report, ReportPeriod, ReportSection, ReportSend

PERIOD_CHOICES = [("last", "Last whole period"), ("current", "This period so far")]


class ReportForm(forms.Form):
    name = forms.CharField(max_length=120, label="Name")
    sections = forms.MultipleChoiceField(
        choices=ReportSection.choices,
        widget=forms.CheckboxSelectMultiple,
        label="Sections",
        help_text="Shown in this order.",
    )
    period = forms.ChoiceField(
        choices=ReportPeriod.choices, widget=forms.RadioSelect, label="Period"
    )
    recipients = forms.MultipleChoiceField(
        choices=[],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Members who receive it",
    )
    emails = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=5000,
        label="Other email addresses",
        help_text="A client's team, for example: one address per line.",
    )
    include_logo = forms.BooleanField(
        required=False, label="Show the workspace's logo (its public page's picture)"
    )
    shared_with_clients = forms.BooleanField(
        required=False, label="Shared with clients: client members may read and receive it"
    )
    scheduled = forms.BooleanField(
        required=False,
        label="Send it by email after each period (08:00 the next day, workspace time)",
    )

    def __init__(self, workspace: Workspace, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        people = Membership.objects.filter(workspace=workspace, user__is_active=True)
        self.fields["recipients"].choices = [  # type: ignore[attr-defined]
            (str(m.user_id), f"{m.user.name or m.user.email} ({m.get_role_display()})")
            for m in people.select_related("user").order_by("user__email")
        ]

    def spec(self) -> reports.ReportSpec:
        data = self.cleaned_data
        return reports.ReportSpec(
            name=data["name"],
            sections=list(data["sections"]),
            period=data["period"],
            recipient_ids=[int(pk) for pk in data["recipients"]],
            emails=data["emails"].replace(",", "\n").splitlines(),
            include_logo=data["include_logo"],
            shared_with_clients=data["shared_with_clients"],
            scheduled=data["scheduled"],
        )


def _initial(report: Report | None) -> dict[str, Any]:
    if report is None:
        return {
            "period": ReportPeriod.WEEKLY,
            "sections": [ReportSection.OVERVIEW, ReportSection.TOP_POSTS],
            "include_logo": True,
            "scheduled": True,
        }
    return {
        "name": report.name,
        "sections": report.sections,
        "period": report.period,
        "recipients": [str(pk) for pk in report.recipients.values_list("pk", flat=True)],
        "emails": "\n".join(report.emails),
        "include_logo": report.include_logo,
        "shared_with_clients": report.shared_with_clients,
        "scheduled": report.scheduled,
    }


def _report(membership: Membership, report_id: int) -> Report:
    """The report, if this member may read it; a 404 otherwise (a client does not learn that
    an unshared report exists)."""
    pk = parse_id(report_id)
    found = reports.visible_reports(membership).select_related("workspace")
    report = found.filter(pk=pk).first() if pk is not None else None
    if report is None:
        raise Http404("No such report.")
    return report


@login_required
@require_GET
def report_list(request: HttpRequest, slug: str) -> HttpResponse:
    membership = enter(request, slug, "reports.view")
    rows = []
    for report in reports.visible_reports(membership).prefetch_related("recipients"):
        last = ReportSend.objects.filter(report=report).order_by("-created_at", "-id").first()
        names = [reports.SECTION_LABELS[s] for s in report.sections if s in reports.SECTION_LABELS]
        rows.append({"report": report, "last": last, "sections": names})
    return render_page(
        request,
        "analytics/reports/list.html",
        {
            "rows": rows,
            "can_manage": membership.can("reports.manage"),
            "show_tabs": membership.can("analytics.view"),
        },
    )


def _form_page(request: HttpRequest, membership: Membership, report: Report | None) -> HttpResponse:
    workspace = membership.workspace
    if request.method == "POST":
        form = ReportForm(workspace, request.POST)
        if form.is_valid():
            try:
                saved = reports.save_report(workspace, request.user, form.spec(), report)  # type: ignore[arg-type]
            except ValidationError as error:
                apply_errors(form, error, {"recipient_ids": "recipients"})
            else:
                messages.success(request, f"Report “{saved.name}” saved.")
                return redirect("report_detail", workspace.slug, saved.pk)
        status = 400
    else:
        form = ReportForm(workspace, initial=_initial(report))
        status = 200
    return render_page(
        request,
        "analytics/reports/form.html",
        {"form": form, "report": report, "show_tabs": True},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def report_create(request: HttpRequest, slug: str) -> HttpResponse:
    membership = enter(request, slug, "reports.manage")
    return _form_page(request, membership, None)


@login_required
@require_http_methods(["GET", "POST"])
def report_edit(request: HttpRequest, slug: str, report_id: int) -> HttpResponse:
    membership = enter(request, slug, "reports.manage")
    return _form_page(request, membership, _report(membership, report_id))


@login_required
@require_http_methods(["GET", "POST"])
def report_delete(request: HttpRequest, slug: str, report_id: int) -> HttpResponse:
    membership = enter(request, slug, "reports.manage")
    report = _report(membership, report_id)
    if request.method == "POST":
        name = report.name
        report.delete()
        messages.success(request, f"Report “{name}” deleted.")
        return redirect("report_list", slug)
    return render_page(
        request, "analytics/reports/delete.html", {"report": report, "show_tabs": True}
    )


def _period(request: HttpRequest, report: Report) -> Any:
    """The period asked for: the last whole one (default) or the one so far; anything else
    is a 400 through ``ValidationError``."""
    chosen = request.GET.get("period", "last")
    if chosen == "current":
        return reports.current_period(report)
    if chosen == "last":
        return reports.last_period(report)
    raise ValidationError("Choose the last whole period or this period so far.")


@login_required
@require_GET
def report_detail(request: HttpRequest, slug: str, report_id: int) -> HttpResponse:
    membership = enter(request, slug, "reports.view")
    report = _report(membership, report_id)
    try:
        period = _period(request, report)
    except ValidationError as error:
        return HttpResponse(error.messages[0], status=400, content_type="text/plain")
    values = reports.context(report, period)
    values.update(
        {
            "chosen_period": request.GET.get("period", "last"),
            "period_choices": PERIOD_CHOICES,
            "can_manage": membership.can("reports.manage"),
            "show_tabs": membership.can("analytics.view"),
            "sends": list(ReportSend.objects.filter(report=report)[:10]),
            "recipients": reports.recipients(report),
        }
    )
    return render_page(request, "analytics/reports/detail.html", values)


@login_required
@require_GET
def report_pdf(request: HttpRequest, slug: str, report_id: int) -> HttpResponse:
    membership = enter(request, slug, "reports.view")
    report = _report(membership, report_id)
    try:
        period = _period(request, report)
    except ValidationError as error:
        return HttpResponse(error.messages[0], status=400, content_type="text/plain")
    pdf = reports.render_pdf(report, period)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="{reports.pdf_filename(report, period)}"'
    )
    return response


@login_required
@require_POST
def report_send(request: HttpRequest, slug: str, report_id: int) -> HttpResponse:
    membership = enter(request, slug, "reports.manage")
    report = _report(membership, report_id)
    if not reports.recipients(report):
        messages.error(request, "Nobody to send it to: choose members or add email addresses.")
    else:
        send = reports.send_now(report)
        messages.success(
            request,
            f"Sending the report for {reports.period_label(report, reports.last_period(report))}"
            f" (send {send.pk}); the worker sends it within seconds.",
        )
    return redirect("report_detail", slug, report.pk)
