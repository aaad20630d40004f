"""The workflow settings page in a real Chromium on the demo workspace, at desktop and phone
sizes, with axe: the page, a refused brand-voice save, and reordering with the Up button."""

from __future__ import annotations

import chromium
import pytest
from chromium import SIZES, axe_violations, sign_in

from socialdesk.demo import DEMO_PASSWORD, build_demo
from socialdesk.workflow import services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def shoot(page, name: str, size: str) -> None:
    chromium.shoot(page, f"workflow-settings-{name}-{size}")


@pytest.fixture
def demo(transactional_db):
    return build_demo()


def test_workflow_settings_page_in_chromium(browser, live_server, demo):
    base = live_server.url
    for size, (width, height) in SIZES.items():
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        sign_in(page, base, "manager@crumb.example", password=DEMO_PASSWORD, lands_on=None)

        page.goto(f"{base}/w/crumb/workflow/settings/")
        assert page.locator(".wf-stage").count() == len(services.stages(demo.workspace))
        assert axe_violations(page) == []
        # No horizontal scrolling on a phone.
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        shoot(page, "page", size)

        if size == "desktop":
            page.get_by_label("Length per network").fill("mastodon: 400-20")
            page.get_by_role("button", name="Save brand voice").click()
            page.wait_for_load_state()
            assert "the maximum is below the minimum" in page.content()
            assert axe_violations(page) == []
            shoot(page, "voice-error", size)

            page.get_by_role("button", name="Up move Draft earlier").click()
            page.wait_for_load_state()
            names = page.locator(".wf-stage-name").all_inner_texts()
            assert names[:2] == ["Draft", "Idea"]

            page.get_by_role("link", name="Edit Review").click()
            page.wait_for_load_state()
            assert axe_violations(page) == []
            shoot(page, "edit", size)
        context.close()
