"""The web UI in a real Chromium (Playwright, sync API) against pytest-django's live server.

Signs in, writes a post in the editor, finds it in the list and filters the list with htmx,
and saves screenshots of each main page at desktop (1280×800) and phone (390×844) sizes into
``artifacts/screenshots/`` for a person to look at.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from chromium import SIZES, shoot, sign_in
from django.utils import timezone

from socialdesk.content.models import Campaign, Label, Pillar
from socialdesk.content.services import PostContent, create_post
from socialdesk.networks.models import Channel, Network
from socialdesk.workspaces.models import Invitation, Workspace
from socialdesk.workspaces.roles import Role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def bakery(workspace, members, channel) -> dict:
    """The cast's Paris bakery, with a pending invitation, a second workspace, a Bluesky
    channel besides its page, taxonomy and a few posts to look at."""
    owner = members["owner"]
    Workspace.objects.create(name="Hop Scotch Brewery", slug="hop", time_zone="Europe/London")
    Invitation.objects.create(workspace=workspace, email="lea@crumb.test", role=Role.APPROVER)
    bluesky = Channel.objects.create(
        workspace=workspace, network=Network.BLUESKY, handle="crumb.bsky.social"
    )
    today = timezone.localdate()
    label = Label.objects.create(workspace=workspace, name="seasonal", color="#d97706")
    Label.objects.create(workspace=workspace, name="recipe", color="#059669")
    pillar = Pillar.objects.create(workspace=workspace, name="Behind the scenes", color="#7c3aed")
    Pillar.objects.create(workspace=workspace, name="Product", color="#2563eb")
    Campaign.objects.create(
        workspace=workspace,
        name="Christmas stollen",
        starts_on=today,
        ends_on=today + timedelta(days=40),
    )
    soon = timezone.now() + timedelta(days=3)
    create_post(
        workspace,
        owner,
        PostContent(
            text="Our bakers start at 4 am. Here is what the first hour looks like 🥖",
            title="Morning shift reel",
            channel_ids=[channel.pk, bluesky.pk],
            label_ids=[label.pk],
            pillar_id=pillar.pk,
            scheduled_at=soon,
        ),
    )
    create_post(
        workspace,
        owner,
        PostContent(
            text="Idea: a poll about favourite breakfast pastries", channel_ids=[channel.pk]
        ),
    )
    return {"workspace": workspace, "owner": owner}


def test_owner_writes_a_post_finds_it_and_filters_the_list(browser, live_server, bakery):
    base = live_server.url
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()

    page.goto(f"{base}/accounts/login/")
    shoot(page, "login-desktop")
    sign_in(page, base, bakery["owner"].email)

    page.get_by_role("link", name="New post").click()
    page.get_by_label("Text").fill("Stollen is back from Monday. Pre-order in the shop!")
    page.get_by_label("Title").fill("Stollen launch")
    page.get_by_label("Public page · crumb").check()
    year = timezone.now().year + 1
    page.get_by_label("Publish at").fill(f"{year}-01-15T09:00")
    page.get_by_label("seasonal").check()
    page.get_by_label("Pillar").select_option(label="Product")
    assert page.locator("#text-count").inner_text().startswith("51")
    shoot(page, "editor-desktop")
    page.get_by_role("button", name="Create post").click()

    # Saving keeps the author on the post, in the editor, and says what was saved.
    page.wait_for_url(re.compile(rf"{base}/w/crumb/posts/\d+/$"))
    assert page.get_by_role("status").first.inner_text().startswith("Post created and scheduled")
    page.goto(f"{base}/w/crumb/posts/")
    row = page.locator("tr", has_text="Stollen launch")
    assert row.locator(".state-scheduled").count() == 1
    assert "09:00" in row.inner_text()  # 08:00 UTC, shown in Paris time
    from socialdesk.publishing.models import Delivery

    stored = Delivery.objects.get(post__title="Stollen launch")
    assert stored.scheduled_at == datetime(year, 1, 15, 8, 0, tzinfo=UTC)
    shoot(page, "post-list-desktop")

    # Filtering through htmx: the results block is swapped and the URL follows.
    page.get_by_label("State").select_option("draft")
    page.wait_for_url("**/posts/?*state=draft*")
    results = page.locator("#post-results")
    results.get_by_text("Idea: a poll").wait_for()
    assert "Stollen launch" not in results.inner_text()
    page.get_by_label("State").select_option("scheduled")
    results.get_by_text("Stollen launch").wait_for()
    assert "Idea: a poll" not in page.locator("#post-results").inner_text()

    page.goto(f"{base}/w/crumb/members/")
    shoot(page, "members-desktop")
    page.goto(f"{base}/w/crumb/settings/")
    shoot(page, "settings-desktop")
    page.goto(f"{base}/w/crumb/settings/tokens/")
    page.get_by_label("Token name").fill("Nightly export")
    page.get_by_role("button", name="Create token").click()
    assert page.locator("#raw-token").input_value().startswith("sd_")
    shoot(page, "tokens-desktop")
    context.close()


def test_pages_fit_a_phone_screen(browser, live_server, bakery):
    base = live_server.url
    width, height = SIZES["phone"]
    context = browser.new_context(viewport={"width": width, "height": height}, is_mobile=True)
    page = context.new_page()
    page.goto(f"{base}/accounts/login/")
    shoot(page, "login-phone")
    sign_in(page, base, bakery["owner"].email)
    pages = {
        "post-list": "/w/crumb/posts/",
        "editor": "/w/crumb/posts/new/",
        "members": "/w/crumb/members/",
        "settings": "/w/crumb/settings/",
    }
    for name, path in pages.items():
        page.goto(base + path)
        # Nothing may be wider than the screen: no sideways scrolling.
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= width, f"{path} is {scroll_width}px wide"
        shoot(page, f"{name}-phone")
    context.close()
