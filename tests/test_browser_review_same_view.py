"""The approver's review page in a real Chromium: an image post on two channels, at desktop
and phone sizes, with no JavaScript error (the panel's htmx attributes once threw one), the
image and its alt text, the zone-named times and the diff; screenshots in
``artifacts/screenshots/review-same-view-*.png``."""

from __future__ import annotations

from datetime import timedelta

import pytest
from chromium import SHOTS, axe_violations
from conftest import PASSWORD
from django.utils import timezone
from test_review_same_view import ALT, image_post  # noqa: F401 - the fixture

from socialdesk.review.links import token_for as link_token
from socialdesk.review.services import create_link

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = {"desktop": (1280, 800), "phone": (390, 844)}


def watch_errors(page) -> list[str]:
    """JavaScript errors the page throws or logs, gathered as they happen."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return errors


def test_the_approver_page_shows_the_post_as_the_client_sees_it(
    browser,
    live_server,
    approver,
    image_post,  # noqa: F811
):
    for size, (width, height) in SIZES.items():
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        errors = watch_errors(page)
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Email address").fill(approver.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()

        page.goto(f"{live_server.url}/w/crumb/workflow/posts/{image_post.pk}/")
        page.wait_for_load_state("networkidle")
        review = page.locator(".post-review")
        assert review.locator(".preview").count() == 2
        images = review.locator(f'img[alt="{ALT}"]')
        assert images.count() == 2
        assert images.first.evaluate("img => img.complete && img.naturalWidth > 0")
        text = review.inner_text()
        assert "Tue 14 Dec, 09:00 (America/New_York)" in text
        assert "Tue 14 Dec, 09:00 (Europe/Paris)" in text
        assert review.locator("ins", has_text="and rye").count() == 1
        assert page.get_by_role("button", name="Approve").is_visible()
        assert page.get_by_role("button", name="Request changes").is_visible()
        assert errors == []
        if size == "desktop":
            assert axe_violations(page) == []
        page.screenshot(path=str(SHOTS / f"review-same-view-{size}.png"), full_page=True)
        if size == "phone":
            # Deciding goes through htmx and swaps the panel; that once threw (hx-include).
            page.locator("#wf-comment").type("Say rye bread, not rye")
            page.get_by_role("button", name="Request changes").click()
            page.locator(".wf-decisions").wait_for()
            assert "requested changes on v2" in page.locator(".wf-decisions").inner_text()
        assert errors == []
        context.close()


def test_the_client_page_shows_the_same_partial(browser, live_server, owner, image_post):  # noqa: F811
    link = create_link(
        image_post.workspace,
        owner,
        "Acme",
        expires_at=timezone.now() + timedelta(days=7),
        post_ids=[image_post.pk],
    )
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors = watch_errors(page)
    page.goto(f"{live_server.url}/review/{link_token(link)}/")
    review = page.locator(".post-review")
    assert review.locator(f'img[alt="{ALT}"]').count() == 2
    assert "Tue 14 Dec, 09:00 (America/New_York)" in review.inner_text()
    assert review.locator("ins", has_text="and rye").count() == 1
    assert errors == []
    page.screenshot(path=str(SHOTS / "review-same-view-client-desktop.png"), full_page=True)
    context.close()
