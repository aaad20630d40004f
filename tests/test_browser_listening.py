"""The Listening pages in a real Chromium at desktop and phone sizes, for the owner: the
topic list, a new topic whose query is tried first (a bad one shows the character to fix),
the sources, and the topic page drawing its charts (Chart.js from a JSON block, under the
Content-Security-Policy) beside their tables; nothing wider than the screen; no serious axe
violations. Screenshots go to ``artifacts/screenshots/`` (``listening-*.png``)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from chromium import SIZES, axe_violations, shoot, sign_in
from django.utils import timezone

from socialdesk.listening.matching import Item, store_items
from socialdesk.listening.models import Source, Topic, TopicQuery

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEXTS = [
    "Best croissant in town at {brand} this morning #{tag}",
    "The queue at {brand} was awful, waited forty minutes",
    "{brand} sourdough is lovely, great crust #{tag} #sourdough",
    "Le pain de {brand} est délicieux, merci !",
    "My order from {brand} never arrived, I want a refund",
    "Tried the cinnamon roll at {brand}: fine, a bit sweet",
]


@pytest.fixture
def heard(workspace):
    now = timezone.now()
    found = []
    for name, kind, tag in (("Crumb", "brand", "crumbbakery"), ("Levain", "competitor", "levain")):
        topic = Topic.objects.create(workspace=workspace, name=name, kind=kind)
        TopicQuery.objects.create(
            workspace=workspace, topic=topic, text=f"{name.lower()} OR #{tag}"
        )
    Topic.objects.create(workspace=workspace, name="Sourdough", kind="theme")
    for n in range(90):
        brand = "Crumb" if n % 3 else "Levain"
        found.append(
            Item(
                source_kind=["bluesky", "mastodon", "feed"][n % 3],
                remote_id=f"urn:browser:{n}",
                text=TEXTS[n % len(TEXTS)].format(brand=brand, tag=brand.lower()),
                posted_at=now - timedelta(hours=n * 7),
                author_handle=f"person{n % 7}.example",
                author_name=f"Person {n % 7}",
                engagement=n % 11,
                url=f"https://social.example/{n}",
            )
        )
    store_items(workspace, found)
    Source.objects.create(workspace=workspace, kind="feed", url="https://news.example/feed.xml")
    Source.objects.create(workspace=workspace, kind="inbox")


def open_page(browser, live_server, person, size):
    width, height = SIZES[size]
    context = browser.new_context(
        viewport={"width": width, "height": height}, is_mobile=size == "phone"
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, live_server.url, person.email)
    return context, page, errors, width


def fits(page, width: int) -> None:
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    wide = page.evaluate(
        "(w) => [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect()"
        ".right > w + 1 && !(e.parentElement && e.parentElement.closest('.table-scroll')))"
        ".slice(0, 8).map(e => e.tagName + '.' + e.className)",
        width,
    )
    assert scroll_width <= width, wide


@pytest.mark.parametrize("size", SIZES)
def test_the_topic_page_draws_each_chart_beside_its_table(
    browser, live_server, workspace, owner, heard, size
):
    context, page, errors, width = open_page(browser, live_server, owner, size)
    if size == "desktop":  # on a phone the sidebar is behind the menu button
        page.get_by_role("link", name="Listening").first.click()
        page.wait_for_url("**/listening/")
    else:
        page.goto(f"{live_server.url}/w/crumb/listening/")
    assert page.get_by_role("heading", name="Competitor").is_visible()
    fits(page, width)
    assert axe_violations(page) == []
    shoot(page, f"listening-topics-{size}")
    page.get_by_role("link", name="Crumb", exact=True).click()
    page.wait_for_function("() => window.Chart !== undefined")
    for canvas in ("volume", "sentiment", "share", "words", "hashtags", "authors"):
        assert page.evaluate(
            "(id) => !!window.Chart.getChart(document.getElementById(id))", f"chart-{canvas}"
        ), canvas
    assert page.get_by_role("region", name="Share of voice").get_by_text("Levain").is_visible()
    # The filters are a plain GET form that works with the keyboard.
    page.get_by_label("Sentiment", exact=True).select_option("negative")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**sentiment=negative**")
    page.wait_for_function("() => window.Chart !== undefined")
    stream = page.locator("#stream")
    assert "refund" in stream.inner_text() or "awful" in stream.inner_text()
    fits(page, width)
    assert axe_violations(page) == []
    assert errors == []
    shoot(page, f"listening-topic-{size}")
    context.close()


@pytest.mark.parametrize("size", SIZES)
def test_a_new_topics_query_is_tried_and_a_bad_one_shows_where(
    browser, live_server, workspace, owner, heard, size
):
    context, page, errors, width = open_page(browser, live_server, owner, size)
    page.goto(f"{live_server.url}/w/crumb/listening/topics/new/")
    page.get_by_label("Name").fill("Refunds")
    page.get_by_label("Kind", exact=True).select_option("theme")
    page.get_by_label("First query").fill("refund AND (order")
    page.get_by_role("button", name="Try the query").click()
    page.get_by_text("This query cannot be read.").wait_for()
    assert page.locator(".query-at mark").inner_text() == "("
    fits(page, width)
    assert axe_violations(page) == []
    shoot(page, f"listening-query-error-{size}")
    page.get_by_label("First query").fill("refund OR (never NEAR/2 arrived)")
    page.get_by_role("button", name="Try the query").click()
    page.get_by_text("would have matched").first.wait_for()
    shoot(page, f"listening-query-try-{size}")
    page.get_by_role("button", name="Save topic").click()
    page.wait_for_url("**/edit/")
    assert Topic.objects.filter(name="Refunds").exists()
    fits(page, width)
    assert axe_violations(page) == []
    shoot(page, f"listening-topic-edit-{size}")
    page.goto(f"{live_server.url}/w/crumb/listening/sources/")
    assert page.get_by_text("https://news.example/feed.xml").is_visible()
    fits(page, width)
    assert axe_violations(page) == []
    assert errors == []
    shoot(page, f"listening-sources-{size}")
    context.close()
