"""Reports (issue 14, item 7): a chosen set of the Analytics figures for one week or month,
as a page, as a PDF, and as an email with the PDF attached, sent by the worker after each
period ends, in the workspace's time zone.

The figures are ``analytics.reading``'s (and best times', experiments' and the inbox's), so a
report says what the Analytics pages say for the same days. Charts are plain SVG bars drawn
here, with the same figures in a table beside them: WeasyPrint draws SVG itself, and no
chart library is imported in a web request.

Sending is idempotent per period: ``due_sends`` records a ``ReportSend`` row, unique per
(report, period_start), before anything is sent, and ``deliver`` claims that row with a
compare-and-set and a lease. A worker that crashes and restarts finds the row, and sends the
period once. Accepted as inexact: a worker that dies after the mail server accepted the
messages and before the row says "sent" (one UPDATE later) sends them again when its lease
expires; that window is milliseconds long, and a lost report would be worse.
"""

from __future__ import annotations

import base64
import logging
import mimetypes
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django_tasks import task

from socialdesk.networks.models import Channel
from socialdesk.workspaces.models import Membership, User, Workspace
from socialdesk.workspaces.roles import Role, role_can

from . import reading
from .models import (
    BestTimes,
    Experiment,
    ExperimentState,
    Report,
    ReportPeriod,
    ReportSection,
    ReportSend,
    ReportSendState,
)

log = logging.getLogger(__name__)

SECTIONS = [choice.value for choice in ReportSection]
SECTION_LABELS = dict(ReportSection.choices)
MAX_EMAILS = 50
# A scheduled report goes out at this local hour on the day after its period ends.
SEND_HOUR = time(8, 0)
LEASE = timedelta(minutes=10)
MAX_ATTEMPTS = 3
RETRY_AFTER = timedelta(minutes=5)
# A pending send nobody took this long after it was queued: the queue lost it; queue again.
REQUEUE_AFTER = timedelta(minutes=2)
MAX_LOGO_BYTES = 2 * 1024 * 1024
CHART_WIDTH, CHART_HEIGHT = 640, 140


# --- Who sees what ---------------------------------------------------------------------------


def visible_reports(membership: Membership) -> QuerySet[Report]:
    """The reports ``membership`` may read: all of them, or for a client only those shared
    with clients."""
    reports = Report.objects.filter(workspace=membership.workspace)
    if membership.role == Role.CLIENT:
        reports = reports.filter(shared_with_clients=True)
    return reports


# --- Making and changing a report ------------------------------------------------------------


@dataclass
class ReportSpec:
    """What a person chose; checked by ``save_report``."""

    name: str
    sections: list[str]
    period: str = ReportPeriod.WEEKLY
    recipient_ids: list[int] | None = None
    emails: list[str] | None = None
    include_logo: bool = True
    shared_with_clients: bool = False
    scheduled: bool = True


def clean_spec(workspace: Workspace, spec: ReportSpec) -> tuple[dict[str, Any], list[User]]:
    """The fields to store and the member recipients, or ``ValidationError`` naming each bad
    field in words a person can act on."""
    errors: dict[str, list[str]] = {}
    name = (spec.name or "").strip()
    if not name:
        errors["name"] = ["Give the report a name."]
    elif len(name) > 120:
        errors["name"] = ["A name is at most 120 characters."]
    sections: list[str] = []
    for section in spec.sections or []:
        if section not in SECTIONS:
            errors.setdefault("sections", []).append(f"{section!r} is not a section.")
        elif section not in sections:
            sections.append(section)
    if not sections and "sections" not in errors:
        errors["sections"] = ["Choose at least one section."]
    if spec.period not in ReportPeriod.values:
        errors["period"] = ["Choose weekly or monthly."]
    emails: list[str] = []
    for raw in spec.emails or []:
        address = (raw or "").strip().lower()
        if not address:
            continue
        try:
            validate_email(address)
        except ValidationError:
            errors.setdefault("emails", []).append(f"{raw!r} is not an email address.")
            continue
        if address not in emails:
            emails.append(address)
    if len(emails) > MAX_EMAILS:
        errors["emails"] = [f"At most {MAX_EMAILS} addresses."]
    wanted = sorted(set(spec.recipient_ids or []))
    users = list(
        User.objects.filter(pk__in=wanted, memberships__workspace=workspace).order_by("email")
    )
    if len(users) != len(wanted):
        errors["recipient_ids"] = ["Recipients must be members of this workspace."]
    if errors:
        raise ValidationError(errors)
    fields = {
        "name": name,
        "sections": [s for s in SECTIONS if s in sections],
        "period": spec.period,
        "emails": emails,
        "include_logo": spec.include_logo,
        "shared_with_clients": spec.shared_with_clients,
        "scheduled": spec.scheduled,
    }
    return fields, users


def save_report(
    workspace: Workspace, actor: User | None, spec: ReportSpec, report: Report | None = None
) -> Report:
    """Create a report (``report`` None) or change one, all or nothing: a bad field raises
    ``ValidationError`` and nothing is written."""
    fields, users = clean_spec(workspace, spec)
    with transaction.atomic():
        if report is None:
            report = Report.objects.create(workspace=workspace, created_by=actor, **fields)
        else:
            for name, value in fields.items():
                setattr(report, name, value)
            report.save(update_fields=[*fields, "updated_at"])
        report.recipients.set(users)
    return report


# --- Periods ---------------------------------------------------------------------------------


def period_containing(report: Report, day: date) -> reading.Period:
    """The week (Monday to Sunday) or calendar month of ``report`` that contains ``day``."""
    zone = report.workspace.zone
    if report.period == ReportPeriod.MONTHLY:
        first = day.replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        return reading.make_period(zone, first, (following - first).days)
    first = day - timedelta(days=day.weekday())
    return reading.make_period(zone, first, 7)


def last_period(report: Report, now: datetime | None = None) -> reading.Period:
    """The last whole period before today (in the workspace's zone)."""
    now = now or timezone.now()
    today = now.astimezone(report.workspace.zone).date()
    current = period_containing(report, today)
    return period_containing(report, current.first - timedelta(days=1))


def current_period(report: Report, now: datetime | None = None) -> reading.Period:
    """The period that contains today: its figures are not final yet."""
    now = now or timezone.now()
    return period_containing(report, now.astimezone(report.workspace.zone).date())


def period_label(report: Report, period: reading.Period) -> str:
    if report.period == ReportPeriod.MONTHLY:
        return period.first.strftime("%B %Y")
    if period.first.year != period.last.year:
        return f"{period.first:%-d %b %Y} – {period.last:%-d %b %Y}"
    return f"{period.first:%-d %b} – {period.last:%-d %b %Y}"


def send_time(report: Report, period: reading.Period) -> datetime:
    """When the worker sends ``period``: 08:00 local on the day after it ends."""
    return datetime.combine(period.last + timedelta(days=1), SEND_HOUR, tzinfo=period.start.tzinfo)


# --- The figures -----------------------------------------------------------------------------


def bars(values: list[int | float | None], labels: list[str]) -> dict[str, Any]:
    """A plain SVG bar chart's geometry: one bar per value, scaled to the largest."""
    count = max(len(values), 1)
    top = max([v or 0 for v in values] + [0])
    slot = CHART_WIDTH / count
    width = max(slot * 0.7, 1)
    plot = CHART_HEIGHT - 20
    shapes = []
    for index, (value, label) in enumerate(zip(values, labels, strict=True)):
        height = round(plot * (value or 0) / top, 1) if top else 0
        shapes.append(
            {
                "x": round(index * slot + (slot - width) / 2, 1),
                "y": round(plot - height, 1),
                "width": round(width, 1),
                "height": height,
                "label": label,
                "value": value,
                "text_x": round(index * slot + slot / 2, 1),
            }
        )
    every = max(1, count // 8)
    return {
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "plot": plot,
        "top": top,
        "bars": shapes,
        "ticks": [shape for index, shape in enumerate(shapes) if index % every == 0],
    }


def _best_times(workspace: Workspace, now: datetime) -> list[dict[str, Any]]:
    from . import best_time

    channels = list(Channel.objects.filter(workspace=workspace).select_related("workspace"))
    stored = {
        b.channel_id: b
        for b in BestTimes.objects.filter(channel__in=channels).prefetch_related("slots")
    }
    rows = []
    for channel in channels:
        best = stored.get(channel.pk)
        upcoming = best_time.next_best_time(channel, now, best) if best else None
        rows.append(
            {
                "channel": channel,
                "best": best,
                "top": best_time.top_slots(best),
                "next": best_time.local_label(upcoming[0], channel) if upcoming else "",
            }
        )
    return rows


def _experiments(workspace: Workspace, period: reading.Period) -> list[dict[str, Any]]:
    """Experiments running during the period, or finished in it, with their verdict."""
    from . import experiments

    rows = []
    found = Experiment.objects.filter(workspace=workspace, created_at__lt=period.end).filter(
        Q(finished_at__isnull=True) | Q(finished_at__gte=period.start)
    )
    for experiment in found.select_related("winner")[:20]:
        if experiment.state == ExperimentState.RUNNING:
            text = experiments.verdict(experiment).text
        else:
            text = experiment.verdict or experiment.get_state_display()
        rows.append({"experiment": experiment, "verdict": text})
    return rows


def figures(report: Report, period: reading.Period, now: datetime | None = None) -> dict[str, Any]:
    """Everything the report's chosen sections show for ``period``."""
    now = now or timezone.now()
    workspace = report.workspace
    chosen = set(report.sections)
    found: dict[str, Any] = {"sections": [s for s in SECTIONS if s in chosen]}
    if chosen & {ReportSection.OVERVIEW, ReportSection.TOP_POSTS}:
        overview = reading.overview(workspace, period)
        found["overview"] = overview
        daily = overview["daily"]
        found["daily_chart"] = bars(
            [d["engagement"] for d in daily], [d["day"].strftime("%-d %b") for d in daily]
        )
    if ReportSection.MIX in chosen:
        found["pillars"] = reading.pillars(workspace, period)
        found["campaigns"] = reading.campaigns(workspace, period)
        found["pillar_chart"] = bars(
            [p["share"] for p in found["pillars"]], [p["name"] for p in found["pillars"]]
        )
    if ReportSection.BEST_TIMES in chosen:
        found["best_times"] = _best_times(workspace, now)
    if ReportSection.EXPERIMENTS in chosen:
        found["experiments"] = _experiments(workspace, period)
    if ReportSection.RESPONSE_TIMES in chosen:
        found["flow"] = reading.workflow_figures(workspace, period)
    return found


def logo_data_uri(report: Report) -> str:
    """The workspace's logo (its public page's picture) as a ``data:`` URI, or "" when the
    report leaves it out or the workspace has none. Inline, so that rendering the PDF never
    fetches anything."""
    if not report.include_logo:
        return ""
    from socialdesk.page.models import PageProfile

    profile = PageProfile.objects.filter(workspace=report.workspace).first()
    if profile is None or not profile.avatar:
        return ""
    kind = mimetypes.guess_type(profile.avatar.name)[0] or ""
    if kind not in {"image/png", "image/jpeg", "image/gif", "image/webp"}:
        return ""
    try:
        if profile.avatar.size > MAX_LOGO_BYTES:
            return ""
        with profile.avatar.open("rb") as handle:
            data = handle.read()
    except OSError:
        log.warning("The logo of %s could not be read", report.workspace, exc_info=True)
        return ""
    return f"data:{kind};base64,{base64.b64encode(data).decode()}"


def context(report: Report, period: reading.Period, now: datetime | None = None) -> dict[str, Any]:
    """The template context of the page, the PDF and the email."""
    now = now or timezone.now()
    return {
        "report": report,
        "workspace": report.workspace,
        "period": period,
        "period_label": period_label(report, period),
        "final": period.end <= now,
        "figures": figures(report, period, now),
        "section_labels": SECTION_LABELS,
        "logo": logo_data_uri(report),
        "made_at": now.astimezone(report.workspace.zone),
    }


# --- PDF and email ---------------------------------------------------------------------------


def _stylesheet() -> str:
    found = finders.find("analytics/report_print.css")
    assert found, "analytics/report_print.css is missing"
    return str(found)


def render_pdf(report: Report, period: reading.Period, now: datetime | None = None) -> bytes:
    """The report as a PDF (WeasyPrint, about 0.3 s for a few pages). WeasyPrint is imported
    here, not at module level: its import costs about a second, paid once per process."""
    from weasyprint import CSS, HTML
    from weasyprint.urls import URLFetcher

    html = render_to_string("analytics/reports/pdf.html", context(report, period, now))
    # Everything a report shows is inline (the logo is a data: URI): nothing is fetched.
    fetcher = URLFetcher(allowed_protocols=["data"], timeout=1)
    document = HTML(string=html, base_url=None, url_fetcher=fetcher)
    return bytes(document.write_pdf(stylesheets=[CSS(filename=_stylesheet())]))


def pdf_filename(report: Report, period: reading.Period) -> str:
    safe = "".join(c if c.isalnum() else "-" for c in report.name.lower()).strip("-")[:60]
    return f"{safe or 'report'}-{period.first.isoformat()}.pdf"


def email_body(report: Report, period: reading.Period, now: datetime | None = None) -> str:
    """The HTML email, its CSS inlined (mail programs drop ``<style>``)."""
    import css_inline

    values = context(report, period, now)
    values["report_url"] = absolute_url(
        reverse("report_detail", args=[report.workspace.slug, report.pk])
    )
    html = render_to_string("analytics/reports/email.html", values)
    return str(css_inline.inline(html))


def absolute_url(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def recipients(report: Report) -> list[str]:
    """The addresses to send ``report`` to, checked now, not when it was chosen: members who
    are still active members allowed to read it (a client only when it is shared with
    clients), and the report's outside addresses."""
    allowed = []
    memberships = Membership.objects.filter(
        workspace=report.workspace, user__in=report.recipients.all(), user__is_active=True
    ).select_related("user")
    for membership in memberships:
        if not role_can(membership.role, "reports.view"):
            continue
        if membership.role == Role.CLIENT and not report.shared_with_clients:
            continue
        allowed.append(membership.user.email.lower())
    for address in report.emails:
        if address not in allowed:
            allowed.append(address)
    return allowed


def send_email(report: Report, period: reading.Period, now: datetime | None = None) -> int:
    """Send the report (HTML email, PDF attached) to each recipient, one message each, so
    that a client's address is never shown to another; returns how many were sent."""
    addresses = recipients(report)
    if not addresses:
        return 0
    label = period_label(report, period)
    html = email_body(report, period, now)
    pdf = render_pdf(report, period, now)
    subject = f"{report.name} — {report.workspace.name}, {label}"
    text = (
        f"{report.name} for {report.workspace.name}, {label}.\n\nThe report is attached as a PDF.\n"
    )
    messages = []
    for address in addresses:
        message = EmailMultiAlternatives(subject, text, to=[address])
        message.attach_alternative(html, "text/html")
        message.attach(pdf_filename(report, period), pdf, "application/pdf")
        messages.append(message)
    with get_connection() as connection:
        connection.send_messages(messages)
    return len(messages)


# --- Scheduled and "send now" sends ----------------------------------------------------------


def due_sends(now: datetime) -> list[int]:
    """Record a send for each scheduled report whose last period has ended and whose send
    time has come; returns the new sends' ids. A period that ended before the report was
    made is not sent (making a report mid-week does not mail last week's)."""
    created = []
    for report in Report.objects.filter(scheduled=True).select_related("workspace"):
        period = last_period(report, now)
        if now < send_time(report, period) or period.end <= report.created_at:
            continue
        if ReportSend.objects.filter(
            report=report, period_start=period.first, manual=False
        ).exists():
            continue
        try:
            with transaction.atomic():
                send = ReportSend.objects.create(
                    workspace=report.workspace,
                    report=report,
                    period_start=period.first,
                    period_end=period.last,
                    created_at=now,
                )
        except IntegrityError:  # another sweeper recorded it first
            continue
        created.append(send.pk)
    return created


def send_now(report: Report) -> ReportSend:
    """Send the report's last whole period now, through the worker; returns its send."""
    period = last_period(report)
    send = ReportSend.objects.create(
        workspace=report.workspace,
        report=report,
        period_start=period.first,
        period_end=period.last,
        manual=True,
    )
    transaction.on_commit(partial(_hand_over, send.pk), robust=True)
    return send


def claim(send_id: int, now: datetime) -> bool:
    """Take the send's lease: it is pending, or a worker's lease on it expired."""
    return bool(
        ReportSend.objects.filter(
            pk=send_id, state__in=[ReportSendState.PENDING, ReportSendState.SENDING]
        )
        .filter(Q(sending_until__isnull=True) | Q(sending_until__lte=now))
        .update(
            state=ReportSendState.SENDING,
            sending_until=now + LEASE,
            attempts=F("attempts") + 1,
        )
    )


def deliver(send_id: int, now: datetime | None = None) -> str:
    """Send one recorded send under its lease; returns the send's state afterwards.

    Re-checks at send time who may receive it (``recipients``). A failure leaves it pending
    for another try after ``RETRY_AFTER``, and failed after ``MAX_ATTEMPTS``."""
    now = now or timezone.now()
    if not claim(send_id, now):
        found = ReportSend.objects.filter(pk=send_id).values_list("state", flat=True).first()
        return found or "gone"
    send = ReportSend.objects.select_related("report__workspace").get(pk=send_id)
    report = send.report
    period = reading.make_period(
        report.workspace.zone, send.period_start, (send.period_end - send.period_start).days + 1
    )
    try:
        count = send_email(report, period, now)
    except Exception as exc:
        log.exception("Report send %s failed", send_id)
        state = ReportSendState.FAILED if send.attempts >= MAX_ATTEMPTS else ReportSendState.PENDING
        ReportSend.objects.filter(pk=send_id).update(
            state=state, sending_until=now + RETRY_AFTER, error=str(exc)[:500]
        )
        return str(state)
    ReportSend.objects.filter(pk=send_id).update(
        state=ReportSendState.SENT,
        sending_until=None,
        sent_at=timezone.now(),
        recipients=count,
        error="" if count else "Nobody to send it to.",
    )
    return str(ReportSendState.SENT)


@task()
def send_report(send_id: int) -> str:
    """Send one recorded report send (the worker's side of ``due_sends`` and ``send_now``)."""
    return deliver(send_id)


def _hand_over(send_id: int) -> None:
    send_report.enqueue(send_id)


def unfinished(now: datetime) -> list[int]:
    """Sends the queue lost or a dead worker left: pending and not taken for a while, or
    sending under a lease that expired."""
    return list(
        ReportSend.objects.filter(
            state__in=[ReportSendState.PENDING, ReportSendState.SENDING],
            created_at__lte=now - REQUEUE_AFTER,
        )
        .filter(Q(sending_until__isnull=True) | Q(sending_until__lte=now))
        .values_list("pk", flat=True)[:100]
    )


# The heartbeat beats every few seconds; the reports' queries run at most this often.
HEARTBEAT_EVERY = timedelta(minutes=1)
_last_heartbeat: datetime | None = None


def on_heartbeat(now: datetime | None = None) -> list[int]:
    """Record the sends that are due and queue them, with any the queue lost; returns the
    queued ids. At most once a minute; never raises (the heartbeat loop must go on)."""
    global _last_heartbeat
    now = now or timezone.now()
    if _last_heartbeat is not None and now - _last_heartbeat < HEARTBEAT_EVERY:
        return []
    _last_heartbeat = now
    try:
        queued = due_sends(now) + unfinished(now)
        for send_id in queued:
            transaction.on_commit(partial(_hand_over, send_id), robust=True)
        return queued
    except Exception:
        log.exception("Could not queue the reports due; retrying at a later beat")
        return []


# --- The demo --------------------------------------------------------------------------------


def build_demo(workspace: Workspace, users: dict[Any, User]) -> Report:
    """The demo bakery's weekly report for its owner and its client (shared with clients),
    with every section; called by ``socialdesk.demo.build_demo``."""
    spec = ReportSpec(
        name="Weekly bakery report",
        sections=list(SECTIONS),
        period=ReportPeriod.WEEKLY,
        recipient_ids=[users[Role.OWNER].pk, users[Role.CLIENT].pk],
        shared_with_clients=True,
    )
    return save_report(workspace, users[Role.MANAGER], spec)
