"""Settings → Links and conversions in a real Chromium: keyboard, screen reader labels (axe),
the secret shown once, a phone's width. Saves ``artifacts/screenshots/link-settings-*.png``."""

from __future__ import annotations

import pytest
from chromium import axe_violations, shoot, sign_in

pytestmark = pytest.mark.browser


def test_an_owner_makes_the_shops_secret_and_turns_short_links_off(browser, live_server, owner):
    base = live_server.url
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    sign_in(page, base, owner.email)
    page.goto(f"{base}/w/crumb/settings/links/")
    assert (
        page.get_by_role("link", name="Links and conversions").get_attribute("aria-current")
        == "page"
    )
    assert page.get_by_label("Use short links").is_checked()
    assert axe_violations(page) == []

    page.get_by_role("button", name="Make a secret").click()
    secret = page.get_by_label("The new conversion secret")
    assert secret.input_value().startswith("sdc_")
    assert axe_violations(page) == []
    shoot(page, "link-settings-desktop")

    # By keyboard: uncheck, then save with Enter on the button.
    page.get_by_label("Use short links").focus()
    page.keyboard.press("Space")
    page.get_by_role("button", name="Save link settings").focus()
    page.keyboard.press("Enter")
    page.get_by_text("Link settings saved.").wait_for()
    assert not page.get_by_label("Use short links").is_checked()
    assert page.get_by_label("The new conversion secret").count() == 0
    context.close()


def test_link_settings_fit_a_phone(browser, live_server, owner):
    base = live_server.url
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    sign_in(page, base, owner.email)
    page.goto(f"{base}/w/crumb/settings/links/")
    shoot(page, "link-settings-phone")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    context.close()
