"""The Analytics API (``analytics.reading_api``): the overview against the previous period,
and the ranking with each post's benchmark; clear 4xx for a bad query."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from api_helpers import call
from django.utils import timezone
from reading_helpers import published

from socialdesk.networks.models import Channel, Network

pytestmark = pytest.mark.django_db


@pytest.fixture
def sky(workspace) -> Channel:
    return Channel.objects.create(workspace=workspace, network=Network.BLUESKY, handle="crumb.sky")


@pytest.fixture
def measured(workspace, sky):
    now = timezone.now()
    for n in range(6):
        published(sky, now - timedelta(days=120 + n), {24: {"likes": n}}, title=f"old {n}")
    published(sky, now - timedelta(days=3), {24: {"likes": 9}}, title="Star")
    published(sky, now - timedelta(days=35), {24: {"likes": 2}}, title="Before")


def test_an_analyst_reads_the_overview_against_the_previous_period(analyst, token_for, measured):
    response = call("GET", "/workspaces/crumb/analytics/overview", token_for(analyst))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["current"]["posts"] == 1 and body["previous"]["posts"] == 1
    assert body["current"]["engagement"] == 9 and body["previous"]["engagement"] == 2
    assert body["changes"]["engagement"] == {"direction": "up", "percent": 350.0}
    assert body["top_posts"][0]["title"] == "Star"
    assert body["current"]["rates"][0]["formula"].startswith("Bluesky:")
    paris = timezone.now().astimezone(ZoneInfo("Europe/Paris")).date()
    assert body["current"]["period"]["last"] == str(paris)


def test_the_ranking_gives_each_post_its_benchmark(owner, token_for, measured):
    response = call(
        "GET", "/workspaces/crumb/analytics/posts?days=90&metric=likes", token_for(owner)
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["has_next"] is False and body["metric"] == "likes"
    star = body["posts"][0]
    assert star["title"] == "Star" and star["value"] == 9
    # The six old posts and "Before" (32 days earlier: always an earlier month): 0..5 and 2.
    assert star["benchmark"] == {"n": 7, "q1": 1, "median": 2, "q3": 4}
    assert star["position"] == "top quartile"


@pytest.mark.parametrize(
    "query",
    [
        "days=13",
        "from=2026-12-01",
        "from=2026-12-01&to=2026-11-01",
        "from=2026-02-30&to=2026-03-01",
        "metric=followers",
        "age=5",
        "page=0",
        "network=myspace",
        "order=sideways",
        "pillar=99999999999999999999999",
        "from=0001-01-01&to=0001-01-02",
        "days=99999999999999999999999",
    ],
)
def test_a_bad_query_is_refused_with_a_reason(owner, token_for, query):
    response = call("GET", f"/workspaces/crumb/analytics/posts?{query}", token_for(owner))
    assert response.status_code in (400, 422), response.content
    assert response.json()["errors"]


@pytest.mark.parametrize("role", ["creator", "approver", "client", "community_manager"])
def test_roles_without_analytics_are_refused(role, person, token_for, workspace):
    for path in ("overview", "posts"):
        response = call("GET", f"/workspaces/crumb/analytics/{path}", token_for(person(role)))
        assert response.status_code == 403


def test_an_outsider_is_told_the_workspace_does_not_exist(outsider, token_for, workspace):
    response = call("GET", "/workspaces/crumb/analytics/posts", token_for(outsider))
    assert response.status_code == 404
