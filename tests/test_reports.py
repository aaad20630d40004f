"""Reports (issue 14, item 7): making them, their periods, the figures, who sees them, the
PDF, the email, and the worker's scheduled sends (once per period, whatever restarts)."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from reading_helpers import published

from socialdesk.analytics import reports
from socialdesk.analytics.models import Report, ReportSend, ReportSendState
from socialdesk.networks.models import Channel, Network
from socialdesk.workspaces.models import Membership, User

SCREENSHOTS = Path(__file__).resolve().parent.parent / "artifacts" / "screenshots"
# Monday 7 December 2026, 09:00 in Paris: last week is 30 Nov – 6 Dec.
MONDAY = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


@pytest.fixture
def sky(workspace) -> Channel:
    return Channel.objects.create(workspace=workspace, network=Network.BLUESKY, handle="crumb.sky")


@pytest.fixture
def owner(members) -> User:
    return members["owner"]


def weekly(workspace, owner, members, **changes) -> Report:
    spec = reports.ReportSpec(
        name=changes.pop("name", "Weekly bakery report"),
        sections=changes.pop("sections", list(reports.SECTIONS)),
        recipient_ids=changes.pop("recipient_ids", [members["manager"].pk]),
        emails=changes.pop("emails", ["Client@Example.org"]),
        **changes,
    )
    report = reports.save_report(workspace, owner, spec)
    # Made on Monday 30 November: the week of 30 Nov – 6 Dec is its first.
    Report.objects.filter(pk=report.pk).update(created_at=datetime(2026, 11, 30, 12, tzinfo=UTC))
    report.refresh_from_db()
    return report


@pytest.fixture
def measured(sky):
    """Three posts published last week (30 Nov – 6 Dec 2026) and one the week before."""
    for day, likes in ((1, 40), (3, 12), (5, 25)):
        published(
            sky,
            datetime(2026, 11, 30, 9, tzinfo=UTC) + timedelta(days=day),
            {24: {"likes": likes, "reposts": 2, "replies": 1, "quotes": 0}},
            title=f"Croissant day {day}",
        )
    published(sky, datetime(2026, 11, 25, 9, tzinfo=UTC), {24: {"likes": 5, "reposts": 0}})


# --- Making a report -------------------------------------------------------------------------


def test_a_report_keeps_its_sections_in_the_pages_order_and_its_addresses_cleaned(
    workspace, owner, members
):
    report = weekly(
        workspace,
        owner,
        members,
        sections=["best_times", "overview", "overview"],
        emails=[" Client@Example.org ", "client@example.org", ""],
    )
    assert report.sections == ["overview", "best_times"]
    assert report.emails == ["client@example.org"]
    assert list(report.recipients.all()) == [members["manager"]]
    assert report.created_by == owner


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "  "}, "name"),
        ({"sections": []}, "sections"),
        ({"sections": ["gossip"]}, "sections"),
        ({"period": "daily"}, "period"),
        ({"emails": ["not an address"]}, "emails"),
    ],
)
def test_a_bad_report_is_refused_whole_and_nothing_is_written(
    workspace, owner, members, changes, field
):
    with pytest.raises(ValidationError) as refused:
        weekly(workspace, owner, members, **changes)
    assert field in refused.value.message_dict
    assert not Report.objects.exists()


def test_recipients_must_be_members_of_the_workspace(workspace, owner, members, outsider):
    with pytest.raises(ValidationError) as refused:
        weekly(workspace, owner, members, recipient_ids=[outsider.pk])
    assert "recipient_ids" in refused.value.message_dict


def test_a_client_sees_only_the_reports_shared_with_clients(workspace, owner, members):
    shared = weekly(workspace, owner, members, name="For the client", shared_with_clients=True)
    weekly(workspace, owner, members, name="Internal")
    client = Membership.objects.get(workspace=workspace, user=members["client"])
    analyst = Membership.objects.get(workspace=workspace, user=members["analyst"])
    assert list(reports.visible_reports(client)) == [shared]
    assert reports.visible_reports(analyst).count() == 2


# --- Periods ---------------------------------------------------------------------------------


def test_periods_are_whole_local_weeks_and_months(workspace, owner, members):
    report = weekly(workspace, owner, members)
    last = reports.last_period(report, MONDAY)
    assert (last.first, last.last) == (date(2026, 11, 30), date(2026, 12, 6))
    assert last.start.utcoffset() == timedelta(hours=1)  # Paris, in winter
    assert reports.period_label(report, last) == "30 Nov – 6 Dec 2026"
    report.period = "monthly"
    month = reports.last_period(report, MONDAY)
    assert (month.first, month.last, month.days) == (date(2026, 11, 1), date(2026, 11, 30), 30)
    assert reports.period_label(report, month) == "November 2026"
    # Sunday 23:30 in Paris is still last week's Sunday: the week is not over yet.
    sunday_night = datetime(2026, 12, 6, 22, 30, tzinfo=UTC)
    assert reports.last_period(report.__class__(workspace=workspace), sunday_night).first == (
        date(2026, 11, 23)
    )


# --- The figures, the page and the PDF -------------------------------------------------------


def test_the_figures_are_the_analytics_pages_figures_for_the_period(
    workspace, owner, members, measured
):
    report = weekly(workspace, owner, members)
    found = reports.figures(report, reports.last_period(report, MONDAY), MONDAY)
    overview = found["overview"]
    assert overview["current"]["posts"] == 3
    assert overview["current"]["engagement"] == 40 + 12 + 25 + 3 * 3
    assert overview["previous"]["engagement"] == 5
    assert [r["title"] for r in overview["top_posts"]] == [
        "Croissant day 1",
        "Croissant day 5",
        "Croissant day 3",
    ]
    assert len(found["daily_chart"]["bars"]) == 7
    assert found["daily_chart"]["top"] == 43  # 1 Dec: 40 likes + 2 reposts + 1 reply
    assert found["sections"] == reports.SECTIONS


def test_bars_scale_to_the_largest_value_and_draw_nothing_for_zero():
    chart = reports.bars([0, 5, 10], ["a", "b", "c"])
    heights = [b["height"] for b in chart["bars"]]
    assert heights[0] == 0 and heights[2] == chart["plot"] and heights[1] == chart["plot"] / 2
    assert reports.bars([], [])["bars"] == []


def test_the_pdf_is_a_pdf_and_its_first_page_reads_as_the_report(
    workspace, owner, members, measured, tmp_path
):
    report = weekly(workspace, owner, members)
    period = reports.last_period(report, MONDAY)
    pdf = reports.render_pdf(report, period, MONDAY)
    assert pdf.startswith(b"%PDF-")
    if not shutil.which("pdftoppm"):
        pytest.skip("pdftoppm is missing: apt-get install poppler-utils")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    source = tmp_path / "report.pdf"
    source.write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile"]
        + [str(source), str(SCREENSHOTS / "report-service-page-1")],
        check=True,
        capture_output=True,
        timeout=60,
    )
    pages = subprocess.run(
        ["pdftotext", "-layout", str(source), "-"],
        check=True,
        capture_output=True,
        timeout=60,
        text=True,
    ).stdout
    assert "Weekly bakery report" in pages
    assert "30 Nov – 6 Dec 2026" in pages
    assert "Croissant day 1" in pages
    assert (SCREENSHOTS / "report-service-page-1.png").stat().st_size > 10_000


# --- Sending ---------------------------------------------------------------------------------


def test_the_email_is_html_with_the_pdf_attached_one_message_per_person(
    workspace, owner, members, measured
):
    report = weekly(workspace, owner, members)
    period = reports.last_period(report, MONDAY)
    assert reports.send_email(report, period, MONDAY) == 2
    assert sorted(m.to[0] for m in mail.outbox) == ["client@example.org", "manager@crumb.test"]
    message = mail.outbox[0]
    assert message.subject == "Weekly bakery report — Crumb & Co, 30 Nov – 6 Dec 2026"
    html, kind = message.alternatives[0]
    assert kind == "text/html"
    assert "<style" not in html and 'style="' in html  # CSS inlined for mail programs
    assert "Croissant day 1" in html
    assert "<svg" not in html  # mail programs do not draw SVG: the tables carry the figures
    name, content, mimetype = message.attachments[0]
    assert (name, mimetype) == ("weekly-bakery-report-2026-11-30.pdf", "application/pdf")
    assert content.startswith(b"%PDF-")


def test_a_client_receives_an_unshared_report_only_once_it_is_shared(workspace, owner, members):
    report = weekly(workspace, owner, members, recipient_ids=[members["client"].pk], emails=[])
    assert reports.recipients(report) == []
    Report.objects.filter(pk=report.pk).update(shared_with_clients=True)
    report.refresh_from_db()
    assert reports.recipients(report) == ["client@crumb.test"]


def test_a_recipient_who_left_the_workspace_is_not_sent_it(workspace, owner, members):
    report = weekly(workspace, owner, members, emails=[])
    Membership.objects.filter(workspace=workspace, user=members["manager"]).delete()
    assert reports.recipients(report) == []


def test_the_worker_sends_each_period_once_even_when_it_restarts(
    workspace, owner, members, measured
):
    weekly(workspace, owner, members)
    sunday = datetime(2026, 12, 6, 12, tzinfo=UTC)
    assert reports.due_sends(sunday) == []  # the week is not over
    early = datetime(2026, 12, 7, 6, 59, tzinfo=UTC)  # 07:59 in Paris
    assert reports.due_sends(early) == []
    [send_id] = reports.due_sends(MONDAY)
    # The beat runs again (another worker, or after a restart): nothing new.
    assert reports.due_sends(MONDAY + timedelta(minutes=1)) == []
    assert reports.deliver(send_id, MONDAY) == ReportSendState.SENT
    assert len(mail.outbox) == 2
    # The task queued twice, or a worker restarting: the send is done, nothing more goes out.
    assert reports.deliver(send_id, MONDAY + timedelta(hours=1)) == ReportSendState.SENT
    assert reports.due_sends(MONDAY + timedelta(days=1)) == []
    assert len(mail.outbox) == 2
    send = ReportSend.objects.get()
    assert (send.period_start, send.period_end, send.recipients) == (
        date(2026, 11, 30),
        date(2026, 12, 6),
        2,
    )
    # The next Monday, the next week.
    [next_id] = reports.due_sends(MONDAY + timedelta(days=7))
    assert ReportSend.objects.get(pk=next_id).period_start == date(2026, 12, 7)


def test_a_worker_that_died_while_sending_leaves_it_to_the_next_after_its_lease(
    workspace, owner, members
):
    report = weekly(workspace, owner, members)
    [send_id] = reports.due_sends(MONDAY)
    assert reports.claim(send_id, MONDAY)  # a worker took it, then died
    assert reports.deliver(send_id, MONDAY + timedelta(minutes=1)) == ReportSendState.SENDING
    assert mail.outbox == []
    assert reports.unfinished(MONDAY + timedelta(minutes=1)) == []
    later = MONDAY + reports.LEASE + timedelta(seconds=1)
    assert reports.unfinished(later) == [send_id]
    assert reports.deliver(send_id, later) == ReportSendState.SENT
    assert len(mail.outbox) == 2
    assert ReportSend.objects.get(pk=send_id).attempts == 2
    assert report.sends.count() == 1


def test_a_failed_send_is_tried_again_then_marked_failed(workspace, owner, members, monkeypatch):
    weekly(workspace, owner, members)
    [send_id] = reports.due_sends(MONDAY)

    def broken(*args, **kwargs):
        raise ConnectionRefusedError("the mail server is down")

    monkeypatch.setattr(reports, "send_email", broken)
    at = MONDAY
    for _ in range(reports.MAX_ATTEMPTS - 1):
        assert reports.deliver(send_id, at) == ReportSendState.PENDING
        at += reports.RETRY_AFTER + timedelta(seconds=1)
    assert reports.deliver(send_id, at) == ReportSendState.FAILED
    send = ReportSend.objects.get(pk=send_id)
    assert "mail server is down" in send.error
    assert reports.unfinished(at + timedelta(hours=1)) == []


def test_a_report_made_mid_week_does_not_mail_last_week(workspace, owner, members):
    report = weekly(workspace, owner, members)
    Report.objects.filter(pk=report.pk).update(created_at=datetime(2026, 12, 7, 7, tzinfo=UTC))
    assert reports.due_sends(MONDAY) == []
    assert reports.due_sends(MONDAY + timedelta(days=7)) != []


def test_an_unscheduled_report_is_never_sent_by_the_worker(workspace, owner, members):
    weekly(workspace, owner, members, scheduled=False)
    assert reports.due_sends(MONDAY) == []


def test_send_now_sends_the_last_period_beside_the_scheduled_one(
    workspace, owner, members, django_capture_on_commit_callbacks
):
    report = weekly(workspace, owner, members)
    [scheduled] = reports.due_sends(MONDAY)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        manual = reports.send_now(report)
    assert len(callbacks) == 1  # the task is queued once the send is recorded
    assert manual.manual and manual.pk != scheduled
    assert reports.deliver(manual.pk) == ReportSendState.SENT


def test_the_heartbeat_queues_due_sends_and_never_raises(workspace, owner, members, monkeypatch):
    weekly(workspace, owner, members)
    monkeypatch.setattr(reports, "_last_heartbeat", None)
    queued = reports.on_heartbeat(MONDAY)
    assert len(queued) == 1
    # Within the minute, the beat does nothing.
    assert reports.on_heartbeat(MONDAY + timedelta(seconds=5)) == []

    def broken(now):
        raise RuntimeError("database gone")

    monkeypatch.setattr(reports, "due_sends", broken)
    assert reports.on_heartbeat(MONDAY + timedelta(minutes=2)) == []


def test_the_email_links_to_the_report_page(workspace, owner, members, settings):
    settings.SITE_URL = "https://desk.crumb.test"
    report = weekly(workspace, owner, members, emails=[])
    reports.send_email(report, reports.last_period(report, MONDAY), MONDAY)
    html = mail.outbox[0].alternatives[0][0]
    path = reverse("report_detail", args=[workspace.slug, report.pk])
    assert f"https://desk.crumb.test{path}" in html


def test_the_logo_is_the_public_pages_picture_inline(workspace, owner, members, settings, tmp_path):
    from django.core.files.base import ContentFile

    from socialdesk.page.models import PageProfile

    settings.MEDIA_ROOT = tmp_path
    report = weekly(workspace, owner, members)
    assert reports.logo_data_uri(report) == ""
    profile = PageProfile.objects.create(workspace=workspace, changed_at=timezone.now())
    profile.avatar.save("crumb.png", ContentFile(b"\x89PNG\r\n\x1a\nfake"))
    assert reports.logo_data_uri(report).startswith("data:image/png;base64,")
    # Drawn inline: rendering fetches nothing (a broken picture is left out, not fatal).
    assert reports.render_pdf(report, reports.last_period(report, MONDAY), MONDAY)[:5] == b"%PDF-"
    report.include_logo = False
    assert reports.logo_data_uri(report) == ""
