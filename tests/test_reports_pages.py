"""The report pages and API (issue 14 item 7): who reads, who changes, clear refusals, the
PDF download, send now, the Analytics tabs, and the demo's weekly report."""

from __future__ import annotations

import pytest
from api_helpers import call
from django.urls import reverse

from socialdesk.analytics import reports
from socialdesk.analytics.models import Report, ReportSend

READERS = ["owner", "manager", "analyst"]
MANAGERS = ["owner", "manager"]


@pytest.fixture
def shared(workspace, members) -> Report:
    spec = reports.ReportSpec(
        name="For the client",
        sections=["overview", "top_posts", "mix"],
        recipient_ids=[members["client"].pk],
        shared_with_clients=True,
    )
    return reports.save_report(workspace, members["owner"], spec)


@pytest.fixture
def internal(workspace, members) -> Report:
    spec = reports.ReportSpec(
        name="Internal", sections=["best_times", "experiments", "response_times"]
    )
    return reports.save_report(workspace, members["owner"], spec)


def page(name, workspace, *args):
    return reverse(name, args=[workspace.slug, *args])


@pytest.mark.parametrize("role", READERS)
def test_owners_managers_and_analysts_read_every_report(
    role, person, signed_in, workspace, shared, internal
):
    client = signed_in(person(role))
    listing = client.get(page("report_list", workspace)).content.decode()
    assert "For the client" in listing and "Internal" in listing
    for report in (shared, internal):
        assert client.get(page("report_detail", workspace, report.pk)).status_code == 200


def test_a_client_reads_only_what_is_shared_and_never_learns_of_the_rest(
    person, signed_in, workspace, shared, internal
):
    client = signed_in(person("client"))
    listing = client.get(page("report_list", workspace)).content.decode()
    assert "For the client" in listing and "Internal" not in listing
    assert 'aria-label="Analytics views"' not in listing  # tabs to pages a client cannot read
    assert client.get(page("report_detail", workspace, shared.pk)).status_code == 200
    assert client.get(page("report_detail", workspace, internal.pk)).status_code == 404
    assert client.get(page("report_pdf", workspace, internal.pk)).status_code == 404
    assert client.get(page("report_edit", workspace, shared.pk)).status_code == 403
    home = client.get(page("post_list", workspace)).content.decode()
    assert page("report_list", workspace) in home  # a client's way in: the sidebar


@pytest.mark.parametrize("role", ["creator", "approver", "community_manager"])
def test_other_roles_are_refused(role, person, signed_in, workspace, shared):
    client = signed_in(person(role))
    assert client.get(page("report_list", workspace)).status_code == 403
    assert client.get(page("report_detail", workspace, shared.pk)).status_code == 403


def test_an_outsider_finds_nothing(outsider, signed_in, workspace, shared):
    client = signed_in(outsider)
    assert client.get(page("report_list", workspace)).status_code == 404
    assert client.get(page("report_detail", workspace, shared.pk)).status_code == 404


def test_an_analyst_reads_but_cannot_change_or_send(person, signed_in, workspace, shared):
    client = signed_in(person("analyst"))
    html = client.get(page("report_detail", workspace, shared.pk)).content.decode()
    assert "Send now" not in html
    assert client.post(page("report_send", workspace, shared.pk)).status_code == 403
    assert client.post(page("report_delete", workspace, shared.pk)).status_code == 403


def test_a_manager_makes_a_report_with_the_form(members, signed_in, workspace):
    client = signed_in(members["manager"])
    assert client.get(page("report_create", workspace)).status_code == 200
    response = client.post(
        page("report_create", workspace),
        {
            "name": "Monthly for Inès",
            "sections": ["overview", "experiments"],
            "period": "monthly",
            "recipients": [str(members["client"].pk)],
            "emails": "ines@client.example, team@client.example\nines@client.example",
            "include_logo": "on",
            "shared_with_clients": "on",
            "scheduled": "on",
        },
    )
    report = Report.objects.get()
    assert response.status_code == 302
    assert response["Location"] == page("report_detail", workspace, report.pk)
    assert report.emails == ["ines@client.example", "team@client.example"]
    assert report.period == "monthly" and report.shared_with_clients
    assert list(report.recipients.all()) == [members["client"]]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "", "sections": ["overview"], "period": "weekly"}, "This field is required"),
        ({"name": "X", "period": "weekly"}, "This field is required"),
        ({"name": "X", "sections": ["gossip"], "period": "weekly"}, "not one of the available"),
        ({"name": "X", "sections": ["overview"], "period": "daily"}, "not one of the available"),
        (
            {"name": "X", "sections": ["overview"], "period": "weekly", "emails": "nope"},
            "is not an email address",
        ),
        (
            {"name": "X", "sections": ["overview"], "period": "weekly", "recipients": ["99999"]},
            "not one of the available",
        ),
    ],
)
def test_a_bad_form_says_what_is_wrong_and_writes_nothing(
    members, signed_in, workspace, data, message
):
    response = signed_in(members["owner"]).post(page("report_create", workspace), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Report.objects.exists()


def test_editing_and_deleting_a_report(members, signed_in, workspace, shared):
    client = signed_in(members["owner"])
    form = client.get(page("report_edit", workspace, shared.pk)).content.decode()
    assert 'value="For the client"' in form
    response = client.post(
        page("report_edit", workspace, shared.pk),
        {"name": "Renamed", "sections": ["mix"], "period": "weekly"},
    )
    assert response.status_code == 302
    shared.refresh_from_db()
    assert (shared.name, shared.sections, shared.shared_with_clients) == ("Renamed", ["mix"], False)
    assert client.get(page("report_delete", workspace, shared.pk)).status_code == 200
    client.post(page("report_delete", workspace, shared.pk))
    assert not Report.objects.exists()


def test_the_page_shows_the_chosen_sections_and_refuses_an_unknown_period(
    members, signed_in, workspace, shared
):
    client = signed_in(members["owner"])
    html = client.get(page("report_detail", workspace, shared.pk)).content.decode()
    assert "Overview" in html and "Top posts" in html and "Pillars &amp; campaigns" in html
    assert "Best times to post" not in html
    assert "Engagement by day of publication" in html
    assert '<svg class="rp-chart"' not in html  # nothing measured: the table alone says so
    current = client.get(page("report_detail", workspace, shared.pk) + "?period=current")
    assert "to date, not final" in current.content.decode()
    refused = client.get(page("report_detail", workspace, shared.pk) + "?period=forever")
    assert refused.status_code == 400
    assert client.get(page("report_pdf", workspace, shared.pk) + "?period=x").status_code == 400


def test_the_pdf_downloads_as_an_attachment(members, signed_in, workspace, shared):
    response = signed_in(members["client"]).get(page("report_pdf", workspace, shared.pk))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith('attachment; filename="for-the-client-')
    assert response.content.startswith(b"%PDF-")


def test_send_now_records_a_send_for_the_worker(
    members, signed_in, workspace, shared, internal, django_capture_on_commit_callbacks
):
    client = signed_in(members["manager"])
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client.post(page("report_send", workspace, shared.pk), follow=True)
    assert "the worker sends it within seconds" in response.content.decode()
    assert len(queued) == 1
    assert ReportSend.objects.get().manual
    # Nobody to send the internal report to: said, nothing recorded.
    response = client.post(page("report_send", workspace, internal.pk), follow=True)
    assert "Nobody to send it to" in response.content.decode()
    assert ReportSend.objects.count() == 1


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("best_time_list", "Best times"),
        ("experiment_list", "Experiments"),
        ("report_list", "Reports"),
        ("analytics_overview", "Overview"),
    ],
)
def test_each_analytics_page_marks_its_own_tab(members, signed_in, workspace, name, label):
    html = signed_in(members["owner"]).get(page(name, workspace)).content.decode()
    tabs = html.split('aria-label="Analytics views"')[1].split("</nav>")[0]
    assert tabs.count('aria-current="page"') == 1
    assert f'aria-current="page">{label}</a>' in tabs


def test_a_report_page_marks_the_reports_tab_as_its_section(members, signed_in, workspace, shared):
    html = signed_in(members["owner"]).get(page("report_detail", workspace, shared.pk))
    tabs = html.content.decode().split('aria-label="Analytics views"')[1].split("</nav>")[0]
    assert 'aria-current="true">Reports</a>' in tabs


# --- API -------------------------------------------------------------------------------------


def test_the_api_makes_changes_and_reads_a_report(members, token_for, workspace):
    token = token_for(members["owner"])
    made = call(
        "post",
        f"/api/v1/workspaces/{workspace.slug}/reports",
        token,
        json_body={
            "name": "Weekly",
            "sections": ["overview", "best_times"],
            "recipient_ids": [members["analyst"].pk],
            "emails": ["Team@Client.example"],
        },
    )
    assert made.status_code == 201, made.content
    body = made.json()
    assert body["emails"] == ["team@client.example"]
    assert body["recipient_ids"] == [members["analyst"].pk]
    changed = call(
        "patch",
        f"/api/v1/workspaces/{workspace.slug}/reports/{body['id']}",
        token,
        json_body={"period": "monthly"},
    )
    assert changed.json()["period"] == "monthly"
    assert changed.json()["sections"] == ["overview", "best_times"]  # unchanged
    refused = call(
        "patch",
        f"/api/v1/workspaces/{workspace.slug}/reports/{body['id']}",
        token,
        json_body={"recipient_ids": [999999]},
    )
    assert refused.status_code == 422
    assert refused["Content-Type"] == "application/problem+json"


def test_the_api_hides_unshared_reports_from_a_client(members, token_for, workspace, internal):
    token = token_for(members["client"])
    listed = call("get", f"/api/v1/workspaces/{workspace.slug}/reports", token)
    assert listed.json() == []
    path = f"/api/v1/workspaces/{workspace.slug}/reports/{internal.pk}"
    assert call("get", path, token).status_code == 404
    assert call("get", path + "/pdf", token).status_code == 404


def test_the_api_refuses_send_now_with_nobody_to_send_to(members, token_for, workspace, internal):
    token = token_for(members["owner"])
    path = f"/api/v1/workspaces/{workspace.slug}/reports/{internal.pk}/send"
    response = call("post", path, token)
    assert response.status_code == 422
    assert not ReportSend.objects.exists()


# --- The demo --------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_demo_bakery_has_a_weekly_report_for_its_owner_and_client(db):
    from django.utils import timezone

    from socialdesk.demo import build_demo

    demo = build_demo(now=timezone.now().replace(microsecond=0))
    report = Report.objects.get(workspace=demo.workspace)
    assert report.period == "weekly" and report.shared_with_clients and report.scheduled
    assert report.sections == reports.SECTIONS
    assert sorted(reports.recipients(report)) == sorted(
        [demo.users["owner"].email.lower(), demo.users["client"].email.lower()]
    )
    found = reports.figures(report, reports.last_period(report))
    assert found["overview"]["current"]["posts"] > 0
