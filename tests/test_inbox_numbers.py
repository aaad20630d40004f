"""The inbox report: business-hour times, percentiles, SLA hit rate, replies, volume, per
channel and per person; its API and its page."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from api_helpers import call
from inbox_service_helpers import answer, inbound

from socialdesk.inbox import numbers, status
from socialdesk.networks.models import Channel, Network

PARIS = ZoneInfo("Europe/Paris")


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


NOW = paris(2026, 12, 8, 12)  # Tuesday noon


@pytest.fixture
def week(workspace, channel, creator, manager):
    """Monday 7 and Tuesday 8 December 2026, default hours (Mon–Fri 09–17, 1 h, 24 h)."""
    bluesky = Channel.objects.create(workspace=workspace, network=Network.BLUESKY, handle="crumb")
    a = inbound(channel, "Open Sunday?", paris(2026, 12, 7, 10), who="a").conversation
    a.assignee = creator
    a.save(update_fields=["assignee"])
    answer(a, "Yes, 8 to 13", paris(2026, 12, 7, 10, 30), by=creator)
    status.resolve(a, paris(2026, 12, 8, 10))
    b = inbound(channel, "Order late", paris(2026, 12, 7, 16, 30), who="b").conversation
    b.assignee = manager
    b.sentiment = "negative"
    b.save(update_fields=["assignee", "sentiment"])
    answer(b, "On its way", paris(2026, 12, 8, 9, 45), by=manager)
    auto = answer(b, "(automatic) We got your message", paris(2026, 12, 8, 9, 46))
    auto.automatic = True
    auto.save(update_fields=["automatic"])
    inbound(channel, "Gluten?", paris(2026, 12, 7, 11), who="c", kind="question")
    inbound(bluesky, "Love it", paris(2026, 12, 8, 11, 30), who="d", kind="mention")
    spam = inbound(channel, "followers cheap", paris(2026, 12, 7, 12), who="e").conversation
    spam.spam = True
    spam.save(update_fields=["spam"])
    return {"bluesky": bluesky}


def test_percentiles_by_nearest_rank():
    assert numbers.percentile([], 0.5) is None
    assert numbers.percentile([5.0], 0.9) == 5.0
    assert numbers.percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.0
    assert numbers.percentile([float(n) for n in range(1, 11)], 0.9) == 9.0


def test_the_report_counts_business_time_and_the_service_level(workspace, channel, week):
    report = numbers.inbox_report(workspace, paris(2026, 12, 7), paris(2026, 12, 9), now=NOW)
    totals = report["totals"]
    assert totals["conversations"] == 4  # spam left out
    assert totals["answered"] == 2 and totals["resolved"] == 1
    # a: 30 min; b: 16:30→17:00 plus 09:00→09:45 = 75 min (the night does not count).
    assert totals["first_response_median_s"] == 1800
    assert totals["first_response_p90_s"] == 4500
    # a: Monday 10–17 and Tuesday 9–10: 8 business hours.
    assert totals["resolution_median_s"] == 8 * 3600
    # Hit: a. Missed: b (75 min), c (unanswered since Monday). d is still within its hour.
    assert totals["sla_counted"] == 3 and totals["sla_hit_rate"] == pytest.approx(1 / 3, abs=1e-3)
    assert report["volume_by_kind"] == {"comment": 2, "mention": 1, "question": 1}
    assert report["volume_by_sentiment"] == {"negative": 1, "neutral": 3}
    replies = {row["name"]: row["replies"] for row in report["replies_per_person"]}
    assert replies == {"Creator": 1, "Manager": 1, "automatic": 1}


def test_per_channel_and_per_person(workspace, channel, creator, manager, week):
    report = numbers.inbox_report(workspace, paris(2026, 12, 7), paris(2026, 12, 9), now=NOW)
    channels = {row["id"]: row for row in report["per_channel"]}
    assert channels[channel.pk]["conversations"] == 3
    assert channels[week["bluesky"].pk]["conversations"] == 1
    assert channels[week["bluesky"].pk]["sla_hit_rate"] is None  # nothing counted yet
    people = {row["name"]: row for row in report["per_person"]}
    assert people["Creator"]["first_response_median_s"] == 1800
    assert people["Creator"]["sla_hit_rate"] == 1.0
    assert people["Manager"]["sla_hit_rate"] == 0.0
    assert people["unassigned"]["conversations"] == 2


def test_one_channel_only(workspace, channel, week):
    report = numbers.inbox_report(
        workspace, paris(2026, 12, 7), paris(2026, 12, 9), channel_id=week["bluesky"].pk, now=NOW
    )
    assert report["totals"]["conversations"] == 1
    assert report["replies_per_person"] == []


def test_the_period_bounds_what_is_counted(workspace, channel, week):
    report = numbers.inbox_report(workspace, paris(2026, 12, 8), paris(2026, 12, 9), now=NOW)
    assert report["totals"]["conversations"] == 1  # only Tuesday's mention


def test_durations_read_as_people_say_them():
    assert numbers.duration(None) == "—"
    assert numbers.duration(1800) == "30 min"
    assert numbers.duration(4.5 * 3600) == "4.5 h"
    assert numbers.duration(50 * 3600) == "2.1 days"


# --- API and page -----------------------------------------------------------------------------


def report_path(workspace, start="2026-12-07T00:00:00+01:00", end="2026-12-09T00:00:00+01:00"):
    return f"/workspaces/{workspace.slug}/inbox/report?start={start}&end={end}".replace("+", "%2B")


def test_an_analyst_reads_the_report_through_the_api(workspace, channel, analyst, token_for, week):
    response = call("get", report_path(workspace), token_for(analyst))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["totals"]["conversations"] == 4
    assert body["volume_by_kind"]["question"] == 1


def test_a_bad_period_is_a_clear_422(workspace, analyst, token_for):
    token = token_for(analyst)
    backwards = report_path(workspace, "2026-12-09T00:00:00+01:00", "2026-12-07T00:00:00+01:00")
    response = call("get", backwards, token)
    assert response.status_code == 422 and "after the start" in response.content.decode()
    naive = report_path(workspace, "2026-12-07T00:00:00", "2026-12-09T00:00:00")
    assert call("get", naive, token).status_code == 422


def test_a_channel_of_another_workspace_is_not_found(workspace, analyst, token_for, other_channel):
    path = report_path(workspace) + f"&channel_id={other_channel.pk}"
    assert call("get", path, token_for(analyst)).status_code == 404


def test_creators_and_outsiders_do_not_read_the_report(workspace, creator, outsider, token_for):
    assert call("get", report_path(workspace), token_for(creator)).status_code == 403
    assert call("get", report_path(workspace), token_for(outsider)).status_code == 404


def test_the_report_page_shows_the_table(workspace, channel, manager, signed_in, week):
    response = signed_in(manager).get(f"/w/{workspace.slug}/inbox/report/?period=90")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Inbox report" in page and "All conversations" in page and "Per person" in page
    assert 'id="report-times"' in page and "Replies per person" in page
    # A bad period or channel falls back, never a 500.
    assert (
        signed_in(manager)
        .get(f"/w/{workspace.slug}/inbox/report/?period=x&channel=99999999999999999999")
        .status_code
        == 200
    )


def test_the_report_page_is_not_for_creators(workspace, creator, signed_in):
    response = signed_in(creator).get(f"/w/{workspace.slug}/inbox/report/")
    assert response.status_code == 403


def test_the_report_over_recent_days_counts_recent_conversations(workspace, channel, owner):
    from django.utils import timezone

    inbound(channel, "hello", timezone.now() - timedelta(hours=2))
    report = numbers.inbox_report(
        workspace, timezone.now() - timedelta(days=1), timezone.now() + timedelta(minutes=1)
    )
    assert report["totals"]["conversations"] == 1
