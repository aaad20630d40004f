"""The inbox settings and report pages in a real Chromium on the demo bakery, at desktop and
phone sizes, with axe: the pages, a rule tried against history, and a refused save."""

from __future__ import annotations

import chromium
import pytest
from chromium import SIZES, axe_violations, sign_in

from socialdesk.demo import DEMO_PASSWORD, build_demo

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(transactional_db):
    return build_demo()


def test_inbox_settings_and_report_in_chromium(browser, live_server, demo):
    base = live_server.url
    for size, (width, height) in SIZES.items():
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        sign_in(page, base, "manager@crumb.example", password=DEMO_PASSWORD, lands_on=None)

        page.goto(f"{base}/w/crumb/inbox/settings/")
        assert page.get_by_role("heading", name="Business hours and response targets").count()
        assert page.get_by_role("rowheader", name="Allergen questions to Léa").count() == 1
        assert axe_violations(page) == []
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        chromium.shoot(page, f"inbox-settings-{size}")

        if size == "desktop":
            page.get_by_text("Add a rule").click()
            page.get_by_label("Name").fill("Late orders")
            page.get_by_label("Keywords").fill('late OR "two hours" OR froide')
            page.get_by_label("Tag").fill("order-issue")
            page.get_by_role("button", name="Try against the last 30 days").click()
            page.wait_for_load_state()
            status = page.locator("#rule-trial")
            assert "would have matched" in status.inner_text()
            assert axe_violations(page) == []
            chromium.shoot(page, f"inbox-settings-try-{size}")

            page.get_by_label("Tuesday closes at").fill("08:00")
            page.get_by_role("button", name="Save service level").click()
            page.wait_for_load_state()
            assert "Tuesday: 09:00–08:00 ends before it starts" in page.content()
            assert axe_violations(page) == []

        page.goto(f"{base}/w/crumb/inbox/report/?period=90")
        assert page.locator("#report-times tbody tr").count() >= 4
        assert "Hugo Martin" in (page.locator("#report-replies").text_content() or "")
        assert axe_violations(page) == []
        chromium.shoot(page, f"inbox-report-{size}")
        context.close()
