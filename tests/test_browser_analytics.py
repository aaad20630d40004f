"""The Analytics pages in a real Chromium at desktop and phone sizes, for an analyst: the
overview and the ranked posts draw their charts (Chart.js, from JSON blocks, under the
Content-Security-Policy), each beside its table; nothing is wider than the screen (tables
scroll inside their box); no serious axe violations. Screenshots go to
``artifacts/screenshots/`` (``analytics-*.png``)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from chromium import SIZES, axe_violations, shoot, sign_in
from django.utils import timezone
from reading_helpers import followers, published

from socialdesk.content.models import Campaign, Pillar
from socialdesk.networks.models import Channel, Network

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def measured(workspace):
    sky = Channel.objects.create(workspace=workspace, network=Network.BLUESKY, handle="crumb.sky")
    toot = Channel.objects.create(workspace=workspace, network=Network.MASTODON, handle="crumb@m")
    bread = Pillar.objects.create(workspace=workspace, name="Bread", target_share=60)
    team = Pillar.objects.create(workspace=workspace, name="Team", target_share=40)
    now = timezone.now()
    Campaign.objects.create(
        workspace=workspace,
        name="Winter loaves",
        starts_on=(now - timedelta(days=40)).date(),
        ends_on=(now + timedelta(days=20)).date(),
    )
    for n in range(40):
        channel = sky if n % 3 else toot
        at = now - timedelta(days=n * 1.4, hours=n % 5)
        likes = 5 + (n * 7) % 23
        published(
            channel,
            at,
            {24: {"likes": likes, "reposts": likes // 4, "replies": n % 4}},
            title=f"Sourdough day {n}: crust, crumb and the morning queue",
            pillar=bread if n % 4 else team,
        )
    for n in range(80):
        followers(sky, (now - timedelta(days=80 - n)).date(), 1200 + 4 * n)


def open_page(browser, live_server, analyst, size):
    width, height = SIZES[size]
    context = browser.new_context(
        viewport={"width": width, "height": height}, is_mobile=size == "phone"
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, live_server.url, analyst.email)
    return context, page, errors, width


def wider_than(page, width: int) -> list[str]:
    """The elements that reach past the screen's right edge (outside a scrolling table box),
    to say what to fix."""
    return page.evaluate(
        "(w) => [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect()"
        ".right > w + 1 && !(e.parentElement && e.parentElement.closest('.an-scroll')))"
        ".slice(0, 8).map(e => e.tagName + '.' + e.className)",
        width,
    )


def chart_drawn(page, chart_id: str) -> bool:
    """True when Chart.js has drawn on the canvas fed by the JSON block ``chart_id``."""
    return page.evaluate(
        "(id) => { const c = document.querySelector(`canvas[data-chart='${id}']`);"
        " return !!(window.Chart && c && window.Chart.getChart(c)); }",
        chart_id,
    )


@pytest.mark.parametrize("size", SIZES)
def test_the_overview_draws_its_chart_beside_its_table(
    browser, live_server, workspace, analyst, measured, size
):
    context, page, errors, width = open_page(browser, live_server, analyst, size)
    page.goto(f"{live_server.url}/w/crumb/analytics/")
    page.wait_for_function("() => window.Chart !== undefined")
    assert chart_drawn(page, "chart-daily")
    assert page.get_by_role("heading", name="Engagement by day of publication").is_visible()
    table = page.get_by_role("region", name="Engagement by day, table")
    assert table.get_by_role("table").count() == 1
    assert page.get_by_text("Posts published").is_visible()
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, wider_than(page, width)
    assert axe_violations(page) == []
    assert errors == []
    shoot(page, f"analytics-overview-{size}")
    context.close()


@pytest.mark.parametrize("size", SIZES)
def test_the_ranking_marks_posts_against_their_benchmark_with_a_chart(
    browser, live_server, workspace, analyst, measured, size
):
    context, page, errors, width = open_page(browser, live_server, analyst, size)
    page.goto(f"{live_server.url}/w/crumb/analytics/posts/?days=90&metric=likes")
    page.wait_for_function("() => window.Chart !== undefined")
    assert chart_drawn(page, "chart-rank")
    rows = page.get_by_role("region", name="Ranked posts, table").get_by_role("row")
    assert rows.count() == 26  # the header and 25 posts
    assert page.get_by_text("top quartile").first.is_visible()
    # The filters work with the keyboard and a plain GET: pick a network, submit.
    page.get_by_label("Network").select_option("mastodon")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**network=mastodon**")
    assert "crumb@m" in page.get_by_role("region", name="Ranked posts, table").inner_text()
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, wider_than(page, width)
    assert axe_violations(page) == []
    assert errors == []
    shoot(page, f"analytics-posts-{size}")
    page.goto(f"{live_server.url}/w/crumb/analytics/mix/?days=90")
    assert chart_drawn(page, "chart-pillars") or page.wait_for_function(
        "() => window.Chart && window.Chart.getChart(document.querySelector('canvas'))"
    )
    assert axe_violations(page) == []
    shoot(page, f"analytics-mix-{size}")
    context.close()
