"""The home page and the compact phone header in a real Chromium, on the demo workspace, at
1280×800 and 390×844; screenshots into ``artifacts/screenshots/``."""

from __future__ import annotations

import pytest
from chromium import SHOTS

from socialdesk.demo import DEMO_PASSWORD, SLUG, build_demo

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(transactional_db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return build_demo()


def sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/w/{SLUG}/")


def shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)


def test_the_owner_lands_on_home_and_sees_what_needs_them(browser, live_server, demo):
    page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    sign_in(page, live_server.url, "owner@crumb.example")
    shoot(page, "home-desktop")

    assert page.get_by_role("heading", name="Needs you").is_visible()
    assert page.get_by_role("heading", name="Coming up").is_visible()
    assert page.locator(".nav-wide").is_visible()
    assert not page.get_by_text("Menu", exact=True).is_visible()
    shoot(page, "home-desktop")

    page.goto(f"{live_server.url}/w/{SLUG}/channels/")
    assert page.get_by_text("Example — no account connected").first.is_visible()
    shoot(page, "channels-desktop")


def test_the_phone_header_is_compact_and_its_menu_works_by_keyboard(browser, live_server, demo):
    page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    sign_in(page, live_server.url, "owner@crumb.example")

    header = page.locator("header.sidebar").bounding_box()
    assert header is not None and header["height"] <= 64
    assert not page.locator(".nav-wide").is_visible()
    shoot(page, "home-phone")

    menu = page.locator("details.nav-menu summary")
    menu.focus()
    page.keyboard.press("Enter")
    calendar = page.locator("details.nav-menu").get_by_role("link", name="Calendar")
    calendar.wait_for()
    shoot(page, "home-phone-menu")
    page.keyboard.press("Escape")
    assert not calendar.is_visible()

    menu.click()
    calendar.click()
    page.wait_for_url(f"{live_server.url}/w/{SLUG}/calendar/**")
    header = page.locator("header.sidebar").bounding_box()
    assert header is not None and header["height"] <= 64


def test_the_favicon_is_served(browser, live_server, demo):
    page = browser.new_context().new_page()
    response = page.goto(f"{live_server.url}/favicon.ico")
    assert response is not None and response.status == 200
    assert response.headers["content-type"] == "image/x-icon"
