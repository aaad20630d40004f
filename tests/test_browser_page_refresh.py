"""The public page picks up a newly published post while a person watches, without a reload:
in a real Chromium at phone (390×844) and desktop (1280×800) sizes. The post is published
through the engine (``dispatch.run`` and the page connector), as in production.

Saves ``artifacts/screenshots/page-refresh-phone.png`` and ``page-refresh-desktop.png``.
"""

from __future__ import annotations

import pytest
from chromium import SHOTS
from page_helpers import publish

from socialdesk.networks.models import Channel, Network
from socialdesk.page.models import PageLink, PageProfile
from socialdesk.workspaces.models import Membership, User, Workspace
from socialdesk.workspaces.roles import Role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def watched_page(transactional_db, settings, tmp_path) -> tuple[Channel, User]:
    settings.MEDIA_ROOT = tmp_path
    workspace = Workspace.objects.create(name="Crumb & Co", slug="crumb", time_zone="Europe/Paris")
    owner = User.objects.create_user("camille@crumb.test", "x" * 12, name="Camille")
    Membership.objects.create(workspace=workspace, user=owner, role=Role.OWNER)
    channel = Channel.objects.create(workspace=workspace, network=Network.PAGE, handle="crumb")
    PageProfile.objects.create(workspace=workspace, bio="Sourdough in Paris 11e.")
    PageLink.objects.create(workspace=workspace, label="Order a cake", url="https://crumb.test/")
    publish(channel, owner, "Country sourdough is out of the oven. #sourdough")
    return channel, owner


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_a_post_published_while_someone_watches_appears_without_a_reload(
    browser, live_server, watched_page, size
):
    channel, owner = watched_page
    width, height = {"phone": (390, 844), "desktop": (1280, 800)}[size]
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.goto(f"{live_server.url}/@crumb")
    page.evaluate("window.sameDocument = true")  # gone if the page were reloaded
    assert page.locator("article.post").count() == 1

    publish(channel, owner, "Croissants are warm right now, come before 11! #viennoiserie")
    if size == "desktop":
        # The page's own timer (every 30 s).
        page.get_by_text("Croissants are warm right now").wait_for(timeout=45_000)
    else:
        page.evaluate("document.getElementById('entries').refreshNow()")
        page.get_by_text("Croissants are warm right now").wait_for(timeout=10_000)

    assert page.evaluate("window.sameDocument") is True
    posts = page.locator("article.post")
    assert posts.count() == 2
    assert "Croissants" in posts.first.inner_text()  # newest first
    assert page.locator("[data-refresh-status]").inner_text() == "1 new post"
    assert page.locator("[aria-live=polite][data-refresh-status]").count() == 1
    page.wait_for_timeout(600)  # the new post's short fade-in is over
    page.screenshot(path=str(SHOTS / f"page-refresh-{size}.png"), full_page=True)
    context.close()


def test_the_page_stops_asking_while_the_tab_is_hidden(browser, live_server, watched_page):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if r.url.endswith("/@crumb/posts") else None)
    page.clock.install()
    page.goto(f"{live_server.url}/@crumb")
    page.evaluate(
        "window.tabHidden = true;"
        "Object.defineProperty(document, 'hidden',"
        " {configurable: true, get: () => window.tabHidden});"
        "document.dispatchEvent(new Event('visibilitychange'))"
    )
    page.clock.run_for(95_000)
    page.wait_for_timeout(300)
    assert asked == []
    page.evaluate("window.tabHidden = false; document.dispatchEvent(new Event('visibilitychange'))")
    page.wait_for_timeout(500)
    assert len(asked) == 1  # back in view: one refresh at once
    context.close()
