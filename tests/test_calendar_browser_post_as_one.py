"""A post moves as one, in a real Chromium (issue 10, items 5 and 6): at 1280×800 dragging the
page copy of a two-channel post moves the shop copy too, the dates read "Mon 14 Dec" (never
"12/14"), the week view opens at the first queue slot; at 390×844 the calendar opens as a
list and the week view's headers stay apart. Screenshots in artifacts/screenshots/."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from chromium import axe_violations
from test_calendar_browser import bakery, drag, shoot, sign_in  # noqa: F401 - bakery is a fixture

from socialdesk.content.services import PostContent, create_post
from socialdesk.networks.models import Channel
from socialdesk.publishing import services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def two_channels(bakery):  # noqa: F811 - the fixture imported above
    """ "Both shops: new opening hours", on the page and the shop page at 10:00 Paris."""
    shop = Channel.objects.get(handle="crumb-shop")
    post = create_post(
        bakery["workspace"],
        bakery["owner"],
        PostContent(
            title="Opening hours",
            text="Both shops: new opening hours",
            channel_ids=[bakery["page"].pk, shop.pk],
        ),
    )
    day = bakery["day"] + timedelta(days=1)
    services.schedule(post, datetime.combine(day, time(10)), "Europe/Paris", bakery["owner"])
    return {**bakery, "post": post, "shop": shop, "post_day": day}


def test_dragging_one_copy_moves_both_channels_and_dates_read_day_first(
    browser, live_server, two_channels
):
    base = live_server.url
    day = two_channels["post_day"]
    target = day + timedelta(days=1) if day.weekday() != 6 else day - timedelta(days=1)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    sign_in(page, base, two_channels["owner"].email)
    url = f"{base}/w/crumb/calendar/?date={day:%Y-%m-%d}"
    page.goto(url)
    cell = page.locator(f'td[data-date="{day:%Y-%m-%d}"]')
    source = cell.locator(".fc-event", has_text="Opening hours").first
    source.wait_for()
    assert cell.locator(".fc-event", has_text="Opening hours").count() == 2

    drag(page, source, page.locator(f'td[data-date="{target:%Y-%m-%d}"] .fc-daygrid-day-frame'))
    status = page.locator("#cal-status .notice")
    status.wait_for()
    assert status.inner_text().startswith("Moved the post on all 2 channels"), status.inner_text()
    moved = page.locator(f'td[data-date="{target:%Y-%m-%d}"] .fc-event', has_text="Opening hours")
    moved.nth(1).wait_for()
    assert moved.count() == 2
    zone = two_channels["workspace"].zone
    times = {
        d.scheduled_at.astimezone(zone).replace(tzinfo=None)
        for d in two_channels["post"].deliveries.all()
    }
    assert times == {datetime.combine(target, time(10))}
    shoot(page, "calendar-post-moved-desktop")

    # Undo puts both back.
    page.get_by_role("button", name="Undo").click()
    page.locator("#cal-status .notice", has_text="Moved back").wait_for()
    days = {d.scheduled_at.astimezone(zone).date() for d in two_channels["post"].deliveries.all()}
    assert days == {day}

    # The pop-up names the day as the rest of the product does, with the zone.
    page.locator(
        f'td[data-date="{day:%Y-%m-%d}"] .fc-event', has_text="Opening hours"
    ).first.click()
    title = page.locator("#cal-dialog-title").inner_text()
    assert f"{day.day} {day:%b}" in title and "10:00 CE" in title, title
    assert "also on 1 other channel" in page.locator("#cal-dialog-meta").inner_text()
    shoot(page, "calendar-dialog-desktop")
    page.keyboard.press("Escape")

    # The week view: "Mon 14 Dec" headers, opened at the first queue slot (11:30 → 11:00).
    page.get_by_role("button", name="Week", exact=True).click()
    page.locator(".fc-timegrid-event").first.wait_for()
    header = page.locator(".fc-col-header-cell").first.inner_text()
    assert "/" not in header and any(
        m in header
        for m in (
            "Jan",
            "Feb",
            "Mar",
            "Apr",
            "May",
            "Jun",
            "Jul",
            "Aug",
            "Sep",
            "Oct",
            "Nov",
            "Dec",
        )
    ), header
    # Scrolled down to it (as far as a day's end allows): 11:00 in view, midnight not.
    scroller = page.locator(".fc-timegrid-body").evaluate_handle("el => el.closest('.fc-scroller')")
    top, bottom = scroller.evaluate(
        "el => [el.getBoundingClientRect().top, el.getBoundingClientRect().bottom]"
    )
    eleven = page.locator('td.fc-timegrid-slot-label[data-time="11:00:00"]').bounding_box()
    midnight = page.locator('td.fc-timegrid-slot-label[data-time="00:00:00"]').bounding_box()
    assert top <= eleven["y"] < bottom, (top, eleven, bottom)
    assert midnight["y"] < top, "the week view opened at midnight"
    shoot(page, "calendar-week-morning-desktop")
    assert axe_violations(page) == []
    context.close()


def test_on_a_phone_the_calendar_opens_as_a_list_and_the_week_reads(
    browser, live_server, two_channels
):
    base = live_server.url
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    sign_in(page, base, two_channels["owner"].email)
    page.goto(f"{base}/w/crumb/calendar/?date={two_channels['post_day']:%Y-%m-%d}")
    page.locator(".fc-list-event").first.wait_for()
    assert page.locator(".fc-listWeek-view").count() == 1
    shoot(page, "calendar-list-phone")

    page.get_by_role("button", name="Week", exact=True).click()
    page.locator(".fc-timegrid-event").first.wait_for()
    headers = page.locator(".fc-col-header-cell")
    assert headers.count() == 7
    first, second = headers.nth(0).bounding_box(), headers.nth(1).bounding_box()
    assert first["x"] + first["width"] <= second["x"] + 1  # side by side, not run together
    sunday = headers.nth(6)
    sunday.scroll_into_view_if_needed()
    assert sunday.is_visible()
    assert "Sun" in sunday.inner_text()
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways ({width}px)"
    event = page.locator(".fc-timegrid-event").first.bounding_box()
    assert event["width"] >= 70, f"posts are slivers ({event['width']}px)"
    shoot(page, "calendar-week-phone")
    context.close()
