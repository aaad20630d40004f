"""The calendar and the queue page in a real Chromium (issue 5, "Done when"): drag a post to
another day, reload and see it moved (and undo it); add a post to the queue and see the slot
filled; screenshots at 1280×800 and 390×844; axe-core finds no serious or critical problem.
"""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta

import pytest
from chromium import SIZES, axe_violations, shoot, sign_in
from django.utils import timezone

from socialdesk.content.models import Campaign, Label, Pillar
from socialdesk.content.services import PostContent, create_post
from socialdesk.networks.models import Channel, Network
from socialdesk.publishing import queues, services
from socialdesk.publishing.models import Delivery

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def bakery(workspace, owner) -> dict:
    """The cast's Paris bakery with two channels, pillars with targets, a campaign with a
    budget, posts over the coming days and weekday slots on the public page."""
    page = Channel.objects.create(workspace=workspace, network=Network.PAGE, handle="crumb")
    shop = Channel.objects.create(workspace=workspace, network=Network.PAGE, handle="crumb-shop")
    behind = Pillar.objects.create(
        workspace=workspace, name="Behind the scenes", color="#7c3aed", target_share=40
    )
    product = Pillar.objects.create(
        workspace=workspace, name="Product", color="#2563eb", target_share=60
    )
    Label.objects.create(workspace=workspace, name="seasonal", color="#d97706")
    today = timezone.localdate()
    Campaign.objects.create(
        workspace=workspace,
        name="Christmas stollen",
        starts_on=today,
        ends_on=today + timedelta(days=40),
        budget=200,
    )
    day = today + timedelta(days=3)
    texts = [
        ("Our bakers start at 4 am 🥖", behind, page, 0, 8),
        ("Stollen is back: pre-order now", product, page, 0, 17),
        ("Rye on Fridays", product, shop, 1, 9),
        ("Meet Gus, our sourdough starter", behind, shop, 2, 12),
        ("Croissant masterclass on Saturday", product, page, 5, 10),
    ]
    for text, pillar, channel, offset, hour in texts:
        post = create_post(
            workspace,
            owner,
            PostContent(text=text, channel_ids=[channel.pk], pillar_id=pillar.pk),
        )
        local = datetime.combine(day + timedelta(days=offset), time(hour))
        services.schedule(post, local, actor=owner)
    queues.set_slots(page, [(d, time(11, 30)) for d in range(5)])
    create_post(
        workspace,
        owner,
        PostContent(text="Evergreen: how to store bread", channel_ids=[page.pk]),
    )
    return {"workspace": workspace, "owner": owner, "page": page, "day": day}


def drag(page, source, target) -> None:
    """FullCalendar drags on pointer events: press, move in steps, release (both ends must
    be inside the viewport, where the mouse can reach)."""
    source.scroll_into_view_if_needed()
    box = source.bounding_box()
    goal = target.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + 5, box["y"] + box["height"] / 2 + 5, steps=3)
    page.mouse.move(goal["x"] + goal["width"] / 2, goal["y"] + goal["height"] / 2, steps=12)
    page.mouse.up()


def test_drag_a_post_to_another_day_reload_and_see_it_moved(browser, live_server, bakery):
    base = live_server.url
    day = bakery["day"]
    # The target day: the next one, or the previous one when the day ends the grid's week.
    target = day + timedelta(days=1) if day.weekday() != 6 else day - timedelta(days=1)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    sign_in(page, base, bakery["owner"].email, lands_on="/w/crumb/**")
    url = f"{base}/w/crumb/calendar/?date={day:%Y-%m-%d}"
    page.goto(url)
    assert page.get_by_role("link", name="Calendar").get_attribute("aria-current") == "page"
    source = page.locator(f'td[data-date="{day:%Y-%m-%d}"] .fc-event', has_text="Stollen is back")
    source.wait_for()
    page.locator("#cal-summary .mix").first.wait_for()
    shoot(page, "calendar-desktop")
    problems = axe_violations(page)
    assert problems == [], json.dumps(problems, indent=1)

    drag(page, source, page.locator(f'td[data-date="{target:%Y-%m-%d}"] .fc-daygrid-day-frame'))
    status = page.locator("#cal-status .notice")
    status.wait_for()
    assert status.inner_text().startswith("Moved to"), status.inner_text()

    page.goto(url)
    moved = page.locator(f'td[data-date="{target:%Y-%m-%d}"] .fc-event', has_text="Stollen is back")
    moved.wait_for()
    delivery = Delivery.objects.get(post__text__startswith="Stollen is back")
    local = delivery.scheduled_at.astimezone(bakery["workspace"].zone)
    assert (local.date(), local.time()) == (target, time(17))

    # Undo puts it back on its first day.
    drag(page, moved, page.locator(f'td[data-date="{day:%Y-%m-%d}"] .fc-daygrid-day-frame'))
    page.get_by_role("button", name="Undo").click()
    page.locator("#cal-status .notice", has_text="Moved back").wait_for()
    delivery.refresh_from_db()
    assert delivery.scheduled_at.astimezone(bakery["workspace"].zone).date() == target

    # The week view and the post dialog, for the record.
    page.get_by_role("button", name="Week").click()
    page.locator(".fc-timegrid-event").first.wait_for()
    shoot(page, "calendar-week-desktop")
    context.close()


def test_the_calendar_on_a_phone_shows_a_list(browser, live_server, bakery):
    base = live_server.url
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    sign_in(page, base, bakery["owner"].email, lands_on="/w/crumb/**")
    page.goto(f"{base}/w/crumb/calendar/?date={bakery['day']:%Y-%m-%d}")
    page.locator(".fc-list-event").first.wait_for()
    page.locator("#cal-summary .mix").first.wait_for()
    shoot(page, "calendar-phone")
    assert axe_violations(page) == []
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways ({width}px)"
    context.close()


def test_add_to_queue_and_see_the_slot_filled(browser, live_server, bakery):
    base = live_server.url
    for size, (width, height) in SIZES.items():
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        sign_in(page, base, bakery["owner"].email, lands_on="/w/crumb/**")
        page.goto(f"{base}/w/crumb/calendar/queues/")
        page.get_by_role("link", name="Public page crumb", exact=False).first.click()
        if size == "desktop":
            first_free = page.locator(".slot-list").last.locator("li").first.inner_text()
            page.get_by_label("Post").select_option(label="Evergreen: how to store bread (draft)")
            page.get_by_label("Evergreen: queue it again after it is published").check()
            page.get_by_role("button", name="Add to queue").click()
            notice = page.get_by_role("status").filter(has_text="Added to the queue")
            notice.wait_for()
            entry = page.locator("#queue-entries li", has_text="how to store bread")
            assert first_free.strip() in entry.inner_text()
            assert "evergreen, every 30 days" in entry.inner_text()
            now_first = page.locator(".slot-list").last.locator("li").first.inner_text()
            assert now_first != first_free  # the slot is filled, the next one is offered
        shoot(page, f"queue-{size}")
        assert axe_violations(page) == []
        context.close()


def test_a_drag_into_a_repeated_hour_snaps_back_and_offers_both_readings(
    browser, live_server, bakery
):
    """Paris' clocks go back on the last Sunday of October: a post at 02:30 on the Saturday,
    dragged to the Sunday, lands on a time shown twice. The page puts it back, says why, and
    offers a button per reading; the later one moves it to 02:30 CET."""
    year = timezone.now().year + 1
    sunday = datetime(year, 10, 31)
    sunday -= timedelta(days=(sunday.weekday() - 6) % 7)
    saturday = sunday - timedelta(days=1)
    post = create_post(
        bakery["workspace"],
        bakery["owner"],
        PostContent(text="Night bake live", channel_ids=[bakery["page"].pk]),
    )
    services.schedule(post, saturday.replace(hour=2, minute=30), actor=bakery["owner"])
    base = live_server.url
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    sign_in(page, base, bakery["owner"].email)
    page.goto(f"{base}/w/crumb/calendar/?date={saturday:%Y-%m-%d}&tz=Europe/Paris")
    source = page.locator(f'td[data-date="{saturday:%Y-%m-%d}"] .fc-event', has_text="Night bake")
    source.wait_for()
    drag(page, source, page.locator(f'td[data-date="{sunday:%Y-%m-%d}"] .fc-daygrid-day-frame'))
    status = page.locator("#cal-status .notice")
    status.wait_for()
    assert "02:30 happens twice on" in status.inner_text()
    later = page.get_by_role("button", name="Move to the later 02:30 CET (UTC+1)")
    assert page.get_by_role("button", name="Move to the earlier 02:30 CEST (UTC+2)").count() == 1
    shoot(page, "calendar-repeated-hour-desktop")
    later.click()
    page.locator("#cal-status .notice", has_text="Moved to").wait_for()
    delivery = post.deliveries.get()
    assert delivery.scheduled_at.isoformat() == f"{sunday:%Y-%m-%d}T01:30:00+00:00"
    context.close()


def test_a_full_day_shows_three_posts_and_a_more_link_that_opens_the_whole_day(
    browser, live_server, bakery
):
    """The month grid gets 3 posts a day and "+N more" from the server; the link opens the
    day view, which loads every post of the day."""
    workspace, owner, day = bakery["workspace"], bakery["owner"], bakery["day"]
    busy = day + timedelta(days=1)
    for hour in range(8, 15):
        post = create_post(
            workspace,
            owner,
            PostContent(text=f"Bake sale, hour {hour}", channel_ids=[bakery["page"].pk]),
        )
        services.schedule(post, datetime.combine(busy, time(hour)), actor=owner)
    # That day now holds 8 posts: "Rye on Fridays" at 9 and the seven above.
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    sign_in(page, live_server.url, owner.email, lands_on="/w/crumb/**")
    page.goto(f"{live_server.url}/w/crumb/calendar/?date={busy:%Y-%m-%d}")
    cell = page.locator(f'td[data-date="{busy:%Y-%m-%d}"]')
    more = cell.locator(".fc-event", has_text="+5 more")
    more.wait_for()
    assert cell.locator(".cal-event-delivery").count() == 3
    shoot(page, "calendar-month-more")
    assert axe_violations(page) == []

    more.click()
    page.locator(".fc-timegrid-event .cal-event-delivery").nth(7).wait_for()
    assert page.locator(".fc-timegrid-event .cal-event-delivery").count() == 8
    assert page.locator(".fc-timegrid-event .cal-event-more").count() == 0
    shoot(page, "calendar-month-more-day")
    context.close()
