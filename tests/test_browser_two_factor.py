"""Signing in with an authenticator app in a real Chromium (1280×800): the password page, the
code page, the landing page, then the account page with the sign-in just made; axe on each."""

from __future__ import annotations

import re
import time

import pytest
from chromium import SHOTS, axe_violations
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from socialdesk.workspaces import two_factor
from socialdesk.workspaces.models import Membership, Workspace
from tests.conftest import PASSWORD, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def shoot(page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"two-factor-{name}-desktop.png"), full_page=True)


def test_signing_in_with_an_authenticator_app_in_chromium(browser, live_server, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    workspace = Workspace.objects.create(
        name="Crumb & Co", slug="crumb", time_zone="Europe/Paris", requires_two_factor=True
    )
    owner = make_user("olivia@crumb.test", name="Olivia Owner")
    Membership.objects.create(workspace=workspace, user=owner, role="owner")
    # The app was set up earlier: a confirmed device whose codes we compute like the phone.
    device = TOTPDevice.objects.create(user=owner, name="Authenticator app", confirmed=True)
    two_factor.new_recovery_codes(owner)

    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email address").fill(owner.email)
    page.get_by_label("Password").fill(PASSWORD)
    assert axe_violations(page) == []
    shoot(page, "1-password")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()

    assert page.url.endswith("/accounts/login/code/")
    assert page.get_by_role("heading", name="Enter your code").is_visible()
    code_field = page.get_by_label("Code")
    assert code_field.get_attribute("autocomplete") == "one-time-code"
    assert page.evaluate("document.activeElement.name") == "code"
    totp = TOTP(device.bin_key)
    totp.time = time.time()
    code_field.fill(f"{totp.token():06d}")
    assert axe_violations(page) == []
    shoot(page, "2-code")
    page.get_by_role("button", name="Verify and sign in").click()
    page.wait_for_url(re.compile(r".*/w/crumb/$"))

    # Landed in the workspace that requires two-factor sign-in, not sent to set it up.
    assert page.url.endswith("/w/crumb/")
    assert axe_violations(page) == []
    shoot(page, "3-landing")

    page.get_by_role("link", name="Your account").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Your account").is_visible()
    assert page.locator(".signin-signed_in").count() == 1
    assert axe_violations(page) == []
    shoot(page, "4-account")
    context.close()
