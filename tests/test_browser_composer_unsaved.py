"""The composer's "unsaved changes" banner in a real Chromium: it appears only when the page
holds content that differs from what is saved. Saving a post, leaving and coming back shows
no banner; an edit left unsaved does show it (issue 10)."""

from __future__ import annotations

import re

import pytest
from chromium import SHOTS

from socialdesk.content.models import Post
from socialdesk.content.services import PostContent, create_post
from socialdesk.networks.models import Channel, Network
from socialdesk.workspaces.models import Membership, User, Workspace
from socialdesk.workspaces.roles import Role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"
BANNER = "You have unsaved changes"


@pytest.fixture
def bread_post(transactional_db, settings, tmp_path) -> Post:
    settings.MEDIA_ROOT = tmp_path
    workspace = Workspace.objects.create(
        name="Crumb & Co", slug="crumb", time_zone="Europe/Paris", requires_approval=False
    )
    owner = User.objects.create_user("ines@crumb.test", PASSWORD, name="Inès Moreau")
    Membership.objects.create(workspace=workspace, user=owner, role=Role.OWNER)
    channel = Channel.objects.create(workspace=workspace, network=Network.PAGE, handle="crumb")
    return create_post(
        workspace, owner, PostContent(text="Rye loaves on Friday", channel_ids=[channel.pk])
    )


def open_composer(browser, base: str, post: Post):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email address").fill("ines@crumb.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/w/crumb/")
    page.goto(f"{base}/w/crumb/posts/{post.pk}/")
    return context, page


def test_a_saved_post_opened_again_shows_no_unsaved_changes_banner(
    browser, live_server, bread_post
):
    base = live_server.url
    context, page = open_composer(browser, base, bread_post)
    text = page.get_by_label("Text", exact=True)
    text.fill("Rye loaves on Friday and Saturday")
    page.get_by_text(
        re.compile(r"^Saved \d\d:\d\d$")
    ).wait_for()  # the autosaved draft is on the server
    text.fill("Rye loaves on Friday, Saturday and Sunday")
    with page.expect_navigation():  # saving stays on the post
        page.get_by_role("button", name="Save changes").click()  # at once, autosave due
    page.wait_for_timeout(1500)  # anything late from the old page has landed by now

    page.goto(f"{base}/w/crumb/posts/{bread_post.pk}/")
    page.wait_for_timeout(1500)  # the composer's own scripts had time to do anything
    page.goto(f"{base}/w/crumb/posts/")
    page.goto(f"{base}/w/crumb/posts/{bread_post.pk}/")
    page.screenshot(path=str(SHOTS / "composer-saved-no-banner.png"), full_page=True)
    assert page.get_by_text(BANNER).count() == 0
    assert page.locator("[data-autosave-status]").inner_text() == ""
    assert text.input_value() == "Rye loaves on Friday, Saturday and Sunday"
    context.close()


def test_an_edit_left_unsaved_shows_the_banner_when_the_post_is_opened_again(
    browser, live_server, bread_post
):
    base = live_server.url
    context, page = open_composer(browser, base, bread_post)
    page.get_by_label("Text", exact=True).fill("Rye loaves on Friday, half price")
    page.get_by_text(re.compile(r"^Saved \d\d:\d\d$")).wait_for()
    page.goto(f"{base}/w/crumb/posts/")
    page.goto(f"{base}/w/crumb/posts/{bread_post.pk}/")
    page.get_by_text(BANNER).wait_for(timeout=5000)
    assert page.get_by_label("Text", exact=True).input_value() == "Rye loaves on Friday, half price"
    page.screenshot(path=str(SHOTS / "composer-unsaved-banner.png"), full_page=True)
    context.close()


def test_an_edit_typed_back_to_the_saved_text_leaves_no_banner(browser, live_server, bread_post):
    base = live_server.url
    context, page = open_composer(browser, base, bread_post)
    text = page.get_by_label("Text", exact=True)
    text.fill("Rye loaves on Friday!")
    page.get_by_text(re.compile(r"^Saved \d\d:\d\d$")).wait_for()
    text.fill("Rye loaves on Friday")  # back to what is saved
    page.wait_for_timeout(1500)  # the autosave after it has run
    assert page.locator("[data-autosave-status]").inner_text() == ""
    page.goto(f"{base}/w/crumb/posts/")
    page.goto(f"{base}/w/crumb/posts/{bread_post.pk}/")
    assert page.get_by_text(BANNER).count() == 0
    assert not page.evaluate(
        "Object.keys(localStorage).some(k => k.startsWith('socialdesk-composer'))"
    )
    context.close()
