"""The workflow pages in a real Chromium, on the demo workspace: board (with a refused move
and its failing items), a post's panel, My work, health and the audit log, each saved at
desktop and phone sizes into ``artifacts/screenshots/``."""

from __future__ import annotations

import pytest
from chromium import SHOTS, axe_violations

from socialdesk.content.services import PostContent, create_post
from socialdesk.demo import DEMO_PASSWORD, build_demo
from socialdesk.workflow import services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = {"desktop": (1280, 800), "phone": (390, 844)}


def shoot(page, name: str, size: str) -> None:
    page.screenshot(path=str(SHOTS / f"workflow-{name}-{size}.png"), full_page=True)


def sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


@pytest.fixture
def demo(transactional_db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    built = build_demo()
    workspace = built.workspace
    creator = built.users["creator"]
    # A draft whose link lacks UTM parameters: moving it on is refused.
    post = create_post(
        workspace,
        creator,
        PostContent(title="Rye launch", text="Rye is back! https://crumb.example/rye"),
    )
    draft = next(s for s in services.stages(workspace) if s.key == "draft")
    services.move(post, draft, user=creator)
    return {"demo": built, "post": post}


def review_id(demo) -> int:
    workspace = demo["demo"].workspace
    return next(s.pk for s in services.stages(workspace) if s.key == "review")


def test_workflow_pages_in_chromium(browser, live_server, demo):
    base = live_server.url
    post = demo["post"]
    for size, (width, height) in SIZES.items():
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        sign_in(page, base, "manager@crumb.example")

        page.goto(f"{base}/w/crumb/workflow/")
        assert page.locator(".wf-column").count() == 6
        shoot(page, "board", size)
        if size == "desktop":
            assert axe_violations(page) == []
            card = page.locator(".wf-card", has_text="Rye launch")
            assert card.get_by_label("Move “Rye launch” to").input_value() == str(review_id(demo))
            card.get_by_role("button", name="Move").click()
            page.locator(".wf-refused").wait_for()
            assert "lacks utm_source" in page.locator(".wf-refused").inner_text()
            shoot(page, "board-refused", size)

        page.goto(f"{base}/w/crumb/workflow/posts/{post.pk}/")
        page.locator("#wf-panel").wait_for()
        assert "Every link carries UTM parameters" in page.locator("#wf-panel").inner_text()
        shoot(page, "post", size)

        page.goto(f"{base}/w/crumb/workflow/health/")
        assert page.locator(".wf-figure").count() == 6
        shoot(page, "health", size)

        page.goto(f"{base}/w/crumb/workflow/audit/")
        shoot(page, "audit", size)
        context.close()

        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        sign_in(page, base, "creator@crumb.example")
        page.goto(f"{base}/w/crumb/workflow/my-work/")
        assert page.get_by_text("Rye launch").count() >= 1
        shoot(page, "my-work", size)
        context.close()
