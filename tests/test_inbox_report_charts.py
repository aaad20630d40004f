"""The inbox report per day (inbound by sentiment, median first response), the page's chart
data and tables beside them, and the CSV export of the report."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone
from inbox_service_helpers import answer, inbound

from socialdesk.inbox import numbers
from socialdesk.inbox import service_levels as sl
from socialdesk.inbox.models import Message

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


@pytest.fixture
def week(workspace, channel):
    """Monday: two messages (one negative), answered after 30 and 90 business minutes;
    Tuesday: one positive, unanswered; a late Sunday 23:30 message counts on Sunday."""
    first = inbound(channel, "Where is my order?", paris(2026, 12, 7, 10, 0), who="ana")
    Message.objects.filter(pk=first.pk).update(sentiment="negative")
    answer(first.conversation, "On its way.", paris(2026, 12, 7, 10, 30))
    second = inbound(channel, "Open on Sunday?", paris(2026, 12, 7, 15, 0), who="bob")
    answer(second.conversation, "No, sorry.", paris(2026, 12, 8, 9, 30))  # 2 h 30 of business
    praise = inbound(channel, "Lovely bread!", paris(2026, 12, 8, 11, 0), who="cy")
    Message.objects.filter(pk=praise.pk).update(sentiment="positive")
    inbound(channel, "Late question", paris(2026, 12, 6, 23, 30), who="dee")


def test_the_report_counts_each_local_day(workspace, week):
    report = numbers.inbox_report(
        workspace, paris(2026, 12, 6), paris(2026, 12, 9), now=paris(2026, 12, 9)
    )
    days = {row["day"].isoformat(): row for row in report["per_day"]}
    assert list(days) == ["2026-12-06", "2026-12-07", "2026-12-08"]
    assert days["2026-12-06"]["inbound"] == {"positive": 0, "neutral": 1, "negative": 0}
    assert days["2026-12-07"]["inbound"] == {"positive": 0, "neutral": 1, "negative": 1}
    assert days["2026-12-08"]["inbound"] == {"positive": 1, "neutral": 0, "negative": 0}
    # Monday's two answers took 30 min and 2 h 30 of business time: median (nearest rank) 30.
    assert days["2026-12-07"]["answered"] == 2
    assert days["2026-12-07"]["first_response_median_s"] == 30 * 60
    assert days["2026-12-08"]["first_response_median_s"] is None


def test_the_page_has_a_chart_and_a_table_for_each_series(signed_in, manager, workspace, channel):
    now = timezone.now()
    message = inbound(channel, "Hello?", now - timedelta(days=1), who="ana")
    Message.objects.filter(pk=message.pk).update(sentiment="negative")
    page = signed_in(manager).get(reverse("inbox_report", args=[workspace.slug]), {"period": "7"})
    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="chart-volume"' in html and 'id="report-days-volume"' in html
    assert 'id="chart-first-response"' in html and 'id="report-days-frt"' in html
    assert "vendor/chart.umd.min.js" in html and "inbox/report.js" in html
    start = html.index('id="report-chart-data"')
    data = json.loads(html[html.index(">", start) + 1 : html.index("</script>", start)])
    assert len(data["labels"]) == 7
    negative = next(s for s in data["sentiments"] if s["key"] == "negative")
    assert sum(negative["counts"]) == 1
    assert data["target_minutes"] == 60
    assert "<script>" not in html  # nothing inline to run: the policy allows none


def test_the_csv_export_holds_totals_channels_and_days(signed_in, manager, workspace, channel):
    sl.save_level(workspace, hours=[[["00:00", "24:00"]]] * 7)
    now = timezone.now()
    asked = inbound(channel, "Hello?", now - timedelta(hours=3), who="ana")
    answer(asked.conversation, "Hi!", now - timedelta(hours=2), by=manager)
    response = signed_in(manager).get(
        reverse("inbox_report_csv", args=[workspace.slug]), {"period": "7"}
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment;" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    total = rows[0]
    assert total["section"] == "total" and total["conversations"] == "1"
    assert float(total["first_response_median_s"]) == 3600
    assert any(row["section"] == "channel" for row in rows)
    days = [row for row in rows if row["section"] == "day"]
    assert len(days) == 7
    assert sum(int(row["inbound_neutral"]) for row in days) == 1


@pytest.mark.parametrize("role", ["community_manager", "creator"])
def test_the_csv_needs_the_report_permission(signed_in, members, workspace, role):
    response = signed_in(members[role]).get(reverse("inbox_report_csv", args=[workspace.slug]))
    assert response.status_code in (403, 404)
