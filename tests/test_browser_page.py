"""The public page in a real Chromium at phone (390×844) and desktop (1280×800) sizes.

Saves ``artifacts/screenshots/page-phone.png`` and ``page-desktop.png`` for a person to look
at, and checks what a visitor relies on: the brand, the buttons, the posts with their images
and alt text, the pager, and a visible keyboard focus.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from chromium import SHOTS
from django.utils import timezone
from page_helpers import image, publish

from socialdesk.page.models import PageEntry, PageLink, PageProfile
from socialdesk.workspaces.models import Workspace

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = {"phone": (390, 844), "desktop": (1280, 800)}


@pytest.fixture
def bakery_page(workspace, owner, channel, settings, tmp_path) -> Workspace:
    """The cast's bakery, under its full name, with a filled public page."""
    settings.MEDIA_ROOT = tmp_path
    workspace.name = "Crumb & Co Bakery"
    workspace.save(update_fields=["name"])
    page = channel
    PageProfile.objects.create(
        workspace=workspace,
        bio="Sourdough, viennoiserie and very good coffee in Paris 11e. "
        "Open 7:30–19:00, closed on Mondays.",
    )
    for position, label in enumerate(
        ["Join the Croissant Club", "Order a celebration cake", "Workshops and events"]
    ):
        PageLink.objects.create(
            workspace=workspace,
            label=label,
            url=f"https://crumb.example/{position}",
            position=position,
        )
    texts = [
        "Our country sourdough is out of the oven and still crackling. 48-hour ferment, "
        "stone-baked, best with salted butter. #sourdough",
        "Meet Margaux, who shapes every baguette you've bought from us this year. Her "
        'secret? "Cold hands and no rushing." #team',
        "Bread-scoring workshop #2 is on Saturday at 3 pm. Eight places, flour and coffee "
        "included. Sign up: https://crumb.example/workshops #workshop",
    ]
    for number in range(9):
        publish(page, owner, f"From the archive, bake number {number + 1}.")
    for text in texts:
        publish(page, owner, text)
    photos = [
        image(page, owner, "A golden croissant, cut in half to show its layers", "#c2410c"),
        image(page, owner, "A tray of pains au chocolat on the counter", "#92400e"),
    ]
    publish(
        page,
        owner,
        "Fresh out of the oven right now: croissants and pains au chocolat, still warm. "
        "Come and get one before 11! #viennoiserie",
        media=photos,
    )
    # Spread the posts over the last days, newest last written.
    now = timezone.now()
    for age, entry in enumerate(PageEntry.objects.order_by("-id")):
        PageEntry.objects.filter(pk=entry.pk).update(published_at=now - timedelta(hours=7 * age))
    return workspace


def test_the_public_page_looks_right_on_a_phone_and_a_desktop(browser, live_server, bakery_page):
    SHOTS.mkdir(parents=True, exist_ok=True)
    for name, (width, height) in SIZES.items():
        page = browser.new_page(viewport={"width": width, "height": height})
        response = page.goto(f"{live_server.url}/@crumb")
        assert response is not None and response.status == 200

        assert page.locator("h1").inner_text() == "Crumb & Co Bakery"
        buttons = page.get_by_role("navigation", name="Links").get_by_role("link")
        assert buttons.count() == 3
        assert "utm_medium=link_in_bio" in (buttons.first.get_attribute("href") or "")
        assert page.get_by_role("main").count() == 1
        assert page.locator("article").count() == 10
        first = page.locator("article").first
        assert "Fresh out of the oven" in first.inner_text()
        alts = [img.get_attribute("alt") for img in first.locator("img").all()]
        assert alts == [
            "A golden croissant, cut in half to show its layers",
            "A tray of pains au chocolat on the counter",
        ]
        assert page.evaluate("document.querySelector('article img').naturalWidth") > 0
        assert page.get_by_role("navigation", name="Pages").is_visible()
        # Nothing is wider than the screen.
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path=str(SHOTS / f"page-{name}.png"), full_page=name == "phone")

        # Keyboard: the skip link comes first and takes you to the posts.
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Skip to posts"
        page.keyboard.press("Tab")
        outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert outline == "solid"
        if name == "phone":
            page.screenshot(path=str(SHOTS / "page-phone-focus.png"))
        page.close()


def test_the_older_posts_link_and_a_hashtag_lead_to_the_right_posts(
    browser, live_server, bakery_page
):
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{live_server.url}/@crumb")

    page.get_by_role("link", name="Older posts →").click()
    assert "Page 2 of 2" in page.locator(".pager").inner_text()
    assert page.locator("article").count() == 3

    page.goto(f"{live_server.url}/@crumb")
    page.get_by_role("link", name="#sourdough").first.click()
    assert page.locator("article").count() == 1
    assert "Posts tagged #sourdough" in page.locator("h2").text_content()
    page.close()
