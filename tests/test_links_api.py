"""API of short links, clicks and conversions (issue 14): what an analyst reads, what only
owners and managers change, and the secret shown once."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from api_helpers import call
from django.test import Client
from django.utils import timezone
from page_helpers import make_due, scheduled_post

from socialdesk.analytics.conversions import sign
from socialdesk.analytics.models import Click, LinkSettings, ShortLink
from socialdesk.publishing import dispatch

BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 Safari/605.1.15"


@pytest.fixture
def links(channel, owner) -> list[ShortLink]:
    """A published post with two links: the first clicked by two people, the second once."""
    delivery = scheduled_post(channel, owner, "https://crumb.test/a and https://crumb.test/b")
    dispatch.run(make_due(delivery).pk, "test-worker")
    first, second = ShortLink.objects.filter(delivery=delivery).order_by("source_url")
    for address, link in (("198.51.100.1", first), ("198.51.100.2", first), ("x", second)):
        Client(REMOTE_ADDR=address).get(f"/l/{link.code}", HTTP_USER_AGENT=BROWSER)
    return [first, second]


def test_an_analyst_reads_a_posts_links_with_their_clicks(links, analyst, token_for):
    post_id = links[0].post_id
    response = call("get", f"/workspaces/crumb/short-links?post_id={post_id}", token_for(analyst))

    assert response.status_code == 200, response.content
    items = sorted(response.json()["items"], key=lambda item: item["source_url"])
    assert [(i["source_url"], i["clicks"], i["visitors"]) for i in items] == [
        ("https://crumb.test/a", 2, 2),
        ("https://crumb.test/b", 1, 1),
    ]
    assert items[0]["url"].endswith(f"/l/{links[0].code}")
    assert "utm_source=page" in items[0]["target_url"]
    assert response.json()["next_cursor"] is None


def test_links_of_a_delivery_and_of_nothing(links, analyst, token_for):
    token = token_for(analyst)
    mine = call("get", f"/workspaces/crumb/short-links?delivery_id={links[0].delivery_id}", token)
    other = call(
        "get", f"/workspaces/crumb/short-links?delivery_id={links[0].delivery_id + 99}", token
    )
    assert len(mine.json()["items"]) == 2
    assert other.json()["items"] == []


def test_clicks_by_day_and_by_link(links, analyst, token_for):
    token = token_for(analyst)
    Click.objects.filter(link=links[1]).update(at=timezone.now() - timedelta(days=3))

    by_day = call("get", "/workspaces/crumb/clicks/by-day", token).json()
    by_link = call("get", "/workspaces/crumb/clicks/by-link", token).json()
    one_link = call("get", f"/workspaces/crumb/clicks/by-day?link_id={links[1].pk}", token).json()

    today = timezone.now().date()
    assert by_day == [
        {"day": str(today - timedelta(days=3)), "clicks": 1, "visitors": 1},
        {"day": str(today), "clicks": 2, "visitors": 2},
    ]
    assert [(row["code"], row["clicks"]) for row in by_link] == [
        (links[0].code, 2),
        (links[1].code, 1),
    ]
    assert [row["clicks"] for row in one_link] == [1]


def test_a_period_that_ends_before_it_starts_is_refused(links, analyst, token_for):
    response = call(
        "get",
        "/workspaces/crumb/clicks/by-day?since=2026-12-07&until=2026-12-01",
        token_for(analyst),
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "since"


def test_the_secret_is_shown_once_and_signs_reports_listed_after(links, owner, analyst, token_for):
    made = call("post", "/workspaces/crumb/conversion-secret", token_for(owner))
    assert made.status_code == 200
    secret = made.json()["secret"]
    assert made.json()["conversion_endpoint"].endswith("/hooks/conversions/crumb")

    read = call("get", "/workspaces/crumb/link-settings", token_for(analyst)).json()
    assert read["has_conversion_secret"] is True
    assert secret not in json.dumps(read)

    body = json.dumps(
        {"click": Click.objects.first().token, "value": 12, "currency": "eur", "order_id": 7}
    ).encode()
    posted = Client().post(
        "/hooks/conversions/crumb",
        body,
        content_type="application/json",
        HTTP_X_SOCIALDESK_SIGNATURE=sign(secret, body),
    )
    assert posted.status_code == 201, posted.content
    listed = call("get", "/workspaces/crumb/conversions", token_for(analyst)).json()["items"]
    assert [(c["order_id"], c["value"], c["currency"], c["attributed"]) for c in listed] == [
        ("7", "12.00", "EUR", True)
    ]
    assert listed[0]["post_id"] == links[0].post_id


def test_a_manager_turns_short_links_off_and_sets_the_window(workspace, manager, token_for):
    response = call(
        "patch",
        "/workspaces/crumb/link-settings",
        token_for(manager),
        json_body={"short_links": False, "conversion_window_days": 7},
    )
    assert response.status_code == 200
    row = LinkSettings.objects.get(workspace=workspace)
    assert (row.short_links, row.conversion_window_days) == (False, 7)


def test_a_window_out_of_range_is_refused(workspace, owner, token_for):
    response = call(
        "patch",
        "/workspaces/crumb/link-settings",
        token_for(owner),
        json_body={"conversion_window_days": 0},
    )
    assert response.status_code == 422
    assert not LinkSettings.objects.exists()


@pytest.mark.parametrize("role", ["creator", "approver", "client", "community_manager"])
def test_roles_without_analytics_read_nothing(links, person, token_for, role):
    response = call("get", "/workspaces/crumb/short-links", token_for(person(role)))
    assert response.status_code == 403


def test_an_analyst_cannot_rotate_the_secret(analyst, token_for):
    assert (
        call("post", "/workspaces/crumb/conversion-secret", token_for(analyst)).status_code == 403
    )


def test_an_outsider_sees_no_workspace(links, outsider, token_for):
    assert call("get", "/workspaces/crumb/short-links", token_for(outsider)).status_code == 404
