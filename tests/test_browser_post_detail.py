"""One post's analytics in a real Chromium at desktop and phone sizes, for an analyst: reached
from its row in Posts ranked, it draws its readings over age (Chart.js from a JSON block,
under the Content-Security-Policy) beside their table, fits the screen, and has no serious
axe violations. Screenshots: ``artifacts/screenshots/analytics-post-*.png``."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from chromium import SIZES, axe_violations, shoot, sign_in
from django.utils import timezone
from reading_helpers import published

from socialdesk.analytics.models import Click, Conversion, ShortLink
from socialdesk.networks.models import Channel, Network

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def star(workspace):
    sky = Channel.objects.create(workspace=workspace, network=Network.BLUESKY, handle="crumb.sky")
    now = timezone.now()
    for n in range(12):
        likes = 4 + (n * 5) % 17
        published(
            sky,
            now - timedelta(days=60 + n * 3),
            {
                1: {"likes": likes // 3, "reposts": 0, "replies": 0, "quotes": 0},
                24: {"likes": likes, "reposts": likes // 4, "replies": n % 3, "quotes": 0},
                168: {"likes": likes + 2, "reposts": likes // 4, "replies": n % 3, "quotes": 0},
            },
            title=f"Older loaf {n}",
        )
    delivery = published(
        sky,
        now - timedelta(days=9),
        {
            1: {"likes": 6, "reposts": 1, "replies": 0, "quotes": 0},
            6: {"likes": 14, "reposts": 3, "replies": 2, "quotes": 0},
            24: {"likes": 21, "reposts": 5, "replies": 3, "quotes": 1},
            72: {"likes": 24, "reposts": 5, "replies": 4, "quotes": 1},
            168: {"likes": 25, "reposts": 6, "replies": 4, "quotes": 1},
        },
        title="Christmas stollen: pre-orders open, pick up from 12 December",
    )
    link = ShortLink.objects.create(
        workspace=workspace,
        delivery=delivery,
        post=delivery.post,
        channel=sky,
        source_url="https://crumb.example/stollen",
        target_url="https://crumb.example/stollen?utm_source=bluesky",
        code="Stollen1",
    )
    for n in range(7):
        Click.objects.create(
            workspace=workspace, link=link, at=now, visitor=f"v{n}", token=f"tok-{n}"
        )
    Conversion.objects.create(
        workspace=workspace,
        click=link.clicks.first(),
        link=link,
        order_id="A-7",
        value=Decimal("32.00"),
        currency="EUR",
        attributed=True,
        window_days=30,
    )
    return delivery


@pytest.mark.parametrize("size", SIZES)
def test_a_posts_analytics_draws_its_readings_beside_their_table(
    browser, live_server, workspace, analyst, star, size
):
    width, height = SIZES[size]
    context = browser.new_context(
        viewport={"width": width, "height": height}, is_mobile=size == "phone"
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, live_server.url, analyst.email)
    page.goto(f"{live_server.url}/w/crumb/analytics/posts/?days=28")
    page.get_by_role("link", name="Christmas stollen").first.click()
    page.wait_for_url(f"**/analytics/posts/{star.pk}/")
    page.wait_for_function(
        "() => window.Chart && window.Chart.getChart("
        "document.querySelector(\"canvas[data-chart='chart-post']\"))"
    )
    rows = page.get_by_role("region", name="Readings, table").get_by_role("row")
    assert rows.count() == 6  # the header and five ages
    assert page.get_by_text("32.00 EUR").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert axe_violations(page) == []
    assert errors == []
    shoot(page, f"analytics-post-{size}")
    context.close()
