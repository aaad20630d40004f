"""The Analytics pages (``analytics.views``): who sees them, what they show when there is
nothing yet, the CSV beside every chart, and a clear 400 for a bad query, never a 500."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from reading_helpers import followers, published

from socialdesk.content.models import Campaign, Pillar
from socialdesk.networks.models import Channel, Network

pytestmark = pytest.mark.django_db

PAGES = ("analytics_overview", "analytics_posts", "analytics_mix")


@pytest.fixture
def sky(workspace) -> Channel:
    return Channel.objects.create(workspace=workspace, network=Network.BLUESKY, handle="crumb.sky")


@pytest.fixture
def measured(workspace, sky):
    now = timezone.now()
    pillar = Pillar.objects.create(workspace=workspace, name="Bread", target_share=70)
    Campaign.objects.create(
        workspace=workspace,
        name="Winter",
        starts_on=(now - timedelta(days=60)).date(),
        ends_on=(now + timedelta(days=30)).date(),
    )
    for n in range(6):
        published(sky, now - timedelta(days=100 + n), {24: {"likes": n}}, title=f"old {n}")
    published(
        sky, now - timedelta(days=3), {24: {"likes": 9, "reposts": 1}}, title="=Star", pillar=pillar
    )
    published(sky, now - timedelta(days=40), {24: {"likes": 2}}, title="Before")
    followers(sky, (now - timedelta(days=60)).date(), 100)
    followers(sky, now.date(), 130)


def url(name, workspace, **query):
    address = reverse(name, args=[workspace.slug])
    if query:
        address += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return address


@pytest.mark.parametrize("name", PAGES)
@pytest.mark.parametrize("role", ["owner", "manager", "analyst"])
def test_owners_managers_and_analysts_read_every_analytics_page(
    name, role, person, signed_in, workspace, measured
):
    response = signed_in(person(role)).get(url(name, workspace))
    assert response.status_code == 200
    assert 'aria-current="page"' in response.content.decode()


@pytest.mark.parametrize("name", PAGES)
@pytest.mark.parametrize("role", ["creator", "approver", "client", "community_manager"])
def test_other_roles_are_refused(name, role, person, signed_in, workspace):
    assert signed_in(person(role)).get(url(name, workspace)).status_code == 403


@pytest.mark.parametrize("name", PAGES)
def test_an_outsider_finds_nothing(name, outsider, signed_in, workspace):
    assert signed_in(outsider).get(url(name, workspace)).status_code == 404


def test_the_sidebar_shows_analytics_only_to_those_who_may_read_it(person, signed_in, workspace):
    home = reverse("post_list", args=[workspace.slug])
    target = reverse("analytics_overview", args=[workspace.slug])
    assert f'href="{target}"' in signed_in(person("analyst")).get(home).content.decode()
    # A client's sidebar leads to the reports shared with them, not to Analytics.
    assert f'href="{target}"' not in signed_in(person("client")).get(home).content.decode()


def test_the_overview_compares_with_the_previous_period_and_draws_its_chart_from_json(
    owner, signed_in, workspace, measured
):
    html = signed_in(owner).get(url("analytics_overview", workspace)).content.decode()
    assert "Posts published" in html and "=Star" in html
    assert "÷ followers on the day each post was published" in html
    [block] = re.findall(r'<script id="chart-daily" type="application/json">(.*?)</script>', html)
    chart = json.loads(block)
    assert chart["type"] == "line" and len(chart["labels"]) == 28
    assert sum(chart["datasets"][0]["data"]) == 10
    assert "<script>" not in html  # no inline script (CSP)


def test_an_empty_workspace_says_not_enough_data(owner, signed_in, workspace):
    html = signed_in(owner).get(url("analytics_overview", workspace)).content.decode()
    assert "Not enough data to compare yet" in html
    html = signed_in(owner).get(url("analytics_posts", workspace)).content.decode()
    assert "No measured post matches" in html
    html = signed_in(owner).get(url("analytics_mix", workspace)).content.decode()
    assert "No campaign runs in this period" in html


def test_the_ranking_shows_each_post_against_its_benchmark(owner, signed_in, workspace, measured):
    html = (
        signed_in(owner)
        .get(url("analytics_posts", workspace, days=90, metric="likes"))
        .content.decode()
    )
    assert html.index("=Star") < html.index("Before")
    assert "top quartile" in html  # 9 likes against 0..5 at +24 h


def test_every_table_exports_as_csv_with_text_cells_made_safe(
    owner, signed_in, workspace, measured
):
    client = signed_in(owner)
    response = client.get(url("analytics_posts", workspace, days=90, export="csv"))
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:2] == ["post", "channel"]
    assert rows[1][0] == "'=Star"  # never a formula in a spreadsheet
    for export in ("daily", "rates", "top"):
        response = client.get(url("analytics_overview", workspace, export=export))
        assert response["Content-Type"].startswith("text/csv"), export
    for export in ("pillars", "campaigns"):
        response = client.get(url("analytics_mix", workspace, export=export))
        rows = list(csv.reader(io.StringIO(response.content.decode())))
        assert len(rows) >= 2, export


def test_campaigns_say_there_is_no_click_data_yet(owner, signed_in, workspace, measured):
    html = signed_in(owner).get(url("analytics_mix", workspace)).content.decode()
    assert "Winter" in html and "No click data yet" in html


@pytest.mark.parametrize(
    "name, query, message",
    [
        ("analytics_overview", {"days": "13"}, "Select a valid choice"),
        ("analytics_overview", {"days": "custom"}, "Give the first and the last day"),
        ("analytics_overview", {"first": "2026-13-01", "last": "2026-12-01"}, "Enter a valid date"),
        ("analytics_mix", {"first": "2026-12-01", "last": "2026-11-01"}, "before the first"),
        ("analytics_posts", {"metric": "followers"}, "Select a valid choice"),
        ("analytics_posts", {"age": "5"}, "Select a valid choice"),
        ("analytics_posts", {"page": "0"}, "greater than or equal to 1"),
        ("analytics_posts", {"page": "abc"}, "Enter a whole number"),
        ("analytics_posts", {"channel": "999999"}, "Select a valid choice"),
        ("analytics_posts", {"first": "2020-01-01", "last": "2026-01-01"}, "at most 400 days"),
        ("analytics_overview", {"first": "0001-01-01", "last": "0001-01-02"}, "A day is between"),
        ("analytics_mix", {"first": "9999-12-30", "last": "9999-12-31"}, "A day is between"),
    ],
)
def test_a_bad_query_is_a_clear_400(name, query, message, owner, signed_in, workspace):
    response = signed_in(owner).get(url(name, workspace, **query))
    assert response.status_code == 400
    html = response.content.decode()
    assert 'role="alert"' in html and message in html


def test_another_workspaces_channel_cannot_be_asked_for(owner, signed_in, workspace, other_channel):
    response = signed_in(owner).get(url("analytics_posts", workspace, channel=other_channel.pk))
    assert response.status_code == 400
