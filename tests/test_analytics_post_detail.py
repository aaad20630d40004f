"""One post's analytics (``analytics.post_detail``): reached from Posts ranked, its readings
over age against the channel's 6-month benchmark as a chart, a table and a CSV, its short
links' clicks and conversions; who may read it, and a clear 400 for a bad query."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from reading_helpers import published

from socialdesk.analytics.models import Click, Conversion, ShortLink
from socialdesk.networks.models import Channel, Network
from socialdesk.publishing.models import Delivery

pytestmark = pytest.mark.django_db


@pytest.fixture
def sky(workspace) -> Channel:
    return Channel.objects.create(workspace=workspace, network=Network.BLUESKY, handle="crumb.sky")


@pytest.fixture
def star(sky) -> Delivery:
    """A post read at +1 h and +24 h, with five posts of the months before as its benchmark."""
    now = timezone.now()
    for n in range(6):
        published(sky, now - timedelta(days=100 + n), {24: {"likes": n}}, title=f"old {n}")
    return published(
        sky,
        now - timedelta(days=3),
        {1: {"likes": 2}, 24: {"likes": 9, "reposts": 1}},
        title="=Star loaf",
    )


def detail(workspace, delivery, **query) -> str:
    address = reverse("analytics_post_detail", args=[workspace.slug, delivery.pk])
    if query:
        address += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return address


def with_clicks(delivery: Delivery, clicks: int) -> ShortLink:
    link = ShortLink.objects.create(
        workspace=delivery.workspace,
        delivery=delivery,
        post=delivery.post,
        channel=delivery.channel,
        source_url="https://crumb.test/order",
        target_url="https://crumb.test/order?utm_source=bluesky",
        code=f"c{delivery.pk:07d}",
    )
    for n in range(clicks):
        Click.objects.create(
            workspace=delivery.workspace,
            link=link,
            at=timezone.now(),
            visitor=f"v{n}",
            token=f"t{delivery.pk}-{n}",
        )
    return link


def test_a_ranked_posts_row_links_to_its_analytics(owner, signed_in, workspace, star):
    ranking = signed_in(owner).get(reverse("analytics_posts", args=[workspace.slug]))

    assert f'href="{detail(workspace, star)}"' in ranking.content.decode()


def test_the_detail_shows_each_reading_against_its_benchmark_as_chart_and_table(
    owner, signed_in, workspace, star
):
    response = signed_in(owner).get(detail(workspace, star))

    assert response.status_code == 200
    page = response.content.decode()
    assert "=Star loaf" in page
    found = re.search(r'<script id="chart-post" type="application/json">(.*?)</script>', page)
    assert found is not None, "the chart's data is a JSON block, not inline script"
    chart = json.loads(found.group(1))
    assert chart["labels"] == ["+1 h", "+24 h"]
    assert chart["datasets"][0] == {"label": "Engagement, this post", "data": [2, 10]}
    assert chart["datasets"][1] == {"label": "Channel median (6 months)", "data": [None, 2]}
    # At +24 h: 10 (likes + reposts) against 0..5 of the six earlier posts: top quartile.
    assert "top quartile" in page
    assert "no history" in page, "at +1 h no earlier post was read: no benchmark"


def test_the_readings_export_as_csv_one_row_per_age(owner, signed_in, workspace, star):
    response = signed_in(owner).get(detail(workspace, star, metric="likes", export="csv"))

    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    header = rows[0]
    assert header[:4] == ["age", "age_hours", "taken_at", "late_hours"]
    assert "likes" in header and "benchmark_median" in header and header[-1] == "position"
    assert [row[0] for row in rows[1:]] == ["1 h", "24 h"]
    assert rows[2][header.index("benchmark_median")] == "2"
    assert rows[2][-1] == "top quartile"


def test_clicks_and_conversions_of_its_short_links_are_shown(owner, signed_in, workspace, star):
    link = with_clicks(star, 3)
    Conversion.objects.create(
        workspace=workspace,
        click=link.clicks.first(),
        link=link,
        order_id="A-1",
        value=Decimal("24.50"),
        currency="EUR",
        attributed=True,
        window_days=30,
    )

    page = signed_in(owner).get(detail(workspace, star)).content.decode()

    assert "/l/" + link.code in page
    assert "24.50 EUR" in page
    assert re.search(r"Short-link clicks</span>\s*<span[^>]*>3</span>", page)
    assert re.search(r"Conversions</span>\s*<span[^>]*>1</span>", page)


def test_a_post_without_a_short_link_says_so_rather_than_zero(owner, signed_in, workspace, star):
    page = signed_in(owner).get(detail(workspace, star)).content.decode()

    assert "this post has no short link" in page


def test_a_page_post_is_compared_by_views_by_default(owner, signed_in, workspace, channel):
    delivery = published(
        channel, timezone.now() - timedelta(days=2), {1: {"views": 4, "clicks": 1}}, title="Rye"
    )

    page = signed_in(owner).get(detail(workspace, delivery)).content.decode()

    assert '<option value="views" selected>' in page
    assert "Likes</th>" not in page, "the page gives no likes: no column for them"


@pytest.mark.parametrize("role", ["owner", "manager", "analyst"])
def test_those_who_read_analytics_read_a_posts_detail(role, person, signed_in, workspace, star):
    assert signed_in(person(role)).get(detail(workspace, star)).status_code == 200


@pytest.mark.parametrize("role", ["creator", "approver", "client", "community_manager"])
def test_other_roles_are_refused(role, person, signed_in, workspace, star):
    assert signed_in(person(role)).get(detail(workspace, star)).status_code == 403


def test_an_outsider_finds_nothing(outsider, signed_in, workspace, star):
    assert signed_in(outsider).get(detail(workspace, star)).status_code == 404


def test_another_workspaces_delivery_is_not_found(owner, signed_in, workspace, other_channel):
    theirs = published(other_channel, timezone.now() - timedelta(days=1), {1: {"views": 1}})

    response = signed_in(owner).get(detail(workspace, theirs))

    assert response.status_code == 404


def test_a_bad_metric_is_a_clear_400(owner, signed_in, workspace, star):
    response = signed_in(owner).get(detail(workspace, star, metric="shares"))

    assert response.status_code == 400
    assert "This cannot be shown" in response.content.decode()


def test_a_post_not_read_yet_says_when_its_first_reading_comes(owner, signed_in, workspace, sky):
    fresh = published(sky, timezone.now() - timedelta(minutes=5), {})

    page = signed_in(owner).get(detail(workspace, fresh)).content.decode()

    assert "No reading yet" in page
