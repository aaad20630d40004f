"""Two-factor sign-in (issue 11, item 3): an authenticator app and recovery codes, set up on
one's account page, asked after the password, required by a workspace; API tokens unaffected.

Codes are real TOTP codes computed here with django-otp's own ``TOTP`` from the device's
secret, at a time the ``phone`` fixture moves (no sleeping).
"""

from __future__ import annotations

import re
import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from socialdesk.workspaces import two_factor
from socialdesk.workspaces.models import ApiToken, SignInEvent, Workspace
from tests.conftest import PASSWORD


class Phone:
    """The authenticator app, and the server's TOTP clock, at the same moment."""

    def __init__(self) -> None:
        self.now = float(int(time.time()) // 30 * 30 + 5)

    def code(self, device: TOTPDevice) -> str:
        device.refresh_from_db()
        totp = TOTP(device.bin_key, device.step, device.t0, device.digits)
        totp.time = self.now
        return f"{totp.token():0{device.digits}d}"

    def next_code(self, device: TOTPDevice) -> str:
        """A code from the next 30 seconds: a code works once."""
        self.now += 30
        return self.code(device)


@pytest.fixture
def phone(monkeypatch) -> Phone:
    fake = Phone()
    monkeypatch.setattr(
        "django_otp.plugins.otp_totp.models.time", SimpleNamespace(time=lambda: fake.now)
    )
    return fake


def turn_on(user, phone: Phone) -> tuple[TOTPDevice, list[str]]:
    device = two_factor.pending_app_device(user)
    codes = two_factor.confirm_app(user, device, phone.code(device))
    assert codes is not None
    device.refresh_from_db()
    return device, codes


def password_step(client, user, **extra):
    return client.post(reverse("login"), {"username": user.email, "password": PASSWORD}, **extra)


# --- Turning it on and off ----------------------------------------------------------------


def test_a_person_turns_two_factor_on_from_their_account_page(signed_in, owner, phone):
    client = signed_in(owner)
    account = client.get(reverse("account")).content.decode()
    assert "Set up two-factor sign-in" in account

    setup = client.get(reverse("two_factor_setup"))
    page = setup.content.decode()
    device = TOTPDevice.objects.get(user=owner, confirmed=False)
    assert "<svg" in page  # the QR code
    assert "otpauth://totp/Socialdesk" in page
    assert two_factor.secret_text(device) in page

    done = client.post(reverse("two_factor_setup"), {"code": phone.code(device)})
    assert done.status_code == 200
    assert "no-store" in done["Cache-Control"]
    codes = re.findall(r"<li>([a-z2-7]{4}-[a-z2-7]{4})</li>", done.content.decode())
    assert len(codes) == 10
    assert two_factor.has_two_factor(owner)
    assert two_factor.recovery_codes_left(owner) == 10
    assert client.session["otp_device_id"] == device.persistent_id
    assert SignInEvent.objects.filter(user=owner, kind="two_factor_on").exists()
    assert "On" in client.get(reverse("account")).content.decode()


def test_a_wrong_code_does_not_turn_two_factor_on(signed_in, owner, phone):
    client = signed_in(owner)
    client.get(reverse("two_factor_setup"))
    response = client.post(reverse("two_factor_setup"), {"code": "000000"})
    assert response.status_code == 400
    assert "That code is not right" in response.content.decode()
    assert not two_factor.has_two_factor(owner)


def test_reloading_the_setup_page_keeps_the_same_secret(signed_in, owner, phone):
    client = signed_in(owner)
    client.get(reverse("two_factor_setup"))
    client.get(reverse("two_factor_setup"))
    assert TOTPDevice.objects.filter(user=owner).count() == 1


def test_turning_it_off_needs_a_fresh_code(signed_in, owner, phone, settings):
    # django-otp also slows down a device after a wrong code (1 s, then 2 s, …); this test
    # does not wait, so that throttle is off here.
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    device, _ = turn_on(owner, phone)
    client = signed_in(owner)
    refused = client.post(reverse("two_factor_disable"), {"code": "123456"})
    assert refused.status_code == 400
    assert "two-factor sign-in stays on" in refused.content.decode()
    assert two_factor.has_two_factor(owner)

    done = client.post(reverse("two_factor_disable"), {"code": phone.next_code(device)})
    assert done.status_code == 302
    assert not two_factor.has_two_factor(owner)
    assert two_factor.recovery_codes_left(owner) == 0
    assert SignInEvent.objects.filter(user=owner, kind="two_factor_off").exists()


def test_the_code_that_turned_it_on_cannot_be_used_again(signed_in, owner, phone):
    device, _ = turn_on(owner, phone)
    client = signed_in(owner)
    reused = client.post(reverse("two_factor_disable"), {"code": phone.code(device)})
    assert reused.status_code == 400
    assert two_factor.has_two_factor(owner)


# --- Signing in ---------------------------------------------------------------------------


def test_signing_in_asks_for_the_code_after_the_password(client, owner, phone):
    device, _ = turn_on(owner, phone)
    first = password_step(client, owner)
    assert first.status_code == 302
    assert first["Location"] == reverse("signin_code")
    assert "_auth_user_id" not in client.session
    # The workspace pages are still closed between the two steps.
    assert client.get(reverse("post_list", args=["crumb"])).status_code == 302

    page = client.get(reverse("signin_code")).content.decode()
    assert "Enter your code" in page and owner.email in page
    done = client.post(reverse("signin_code"), {"code": phone.next_code(device)})
    assert done.status_code == 302
    assert client.session["_auth_user_id"] == str(owner.pk)
    assert client.session["otp_device_id"] == device.persistent_id
    assert SignInEvent.objects.filter(user=owner, kind="signed_in").count() == 1


def test_a_wrong_code_is_refused_and_counts_as_a_failed_sign_in(client, owner, phone):
    turn_on(owner, phone)
    password_step(client, owner)
    response = client.post(reverse("signin_code"), {"code": "000000"})
    assert response.status_code == 400
    assert "That code is not right" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert SignInEvent.objects.filter(user=owner, kind="code_failed").count() == 1


def test_wrong_codes_are_throttled_like_wrong_passwords(client, owner, phone):
    turn_on(owner, phone)
    password_step(client, owner)
    statuses = [
        client.post(reverse("signin_code"), {"code": f"00000{n}"}).status_code for n in range(6)
    ]
    assert statuses == [400, 400, 400, 400, 429, 429]
    assert (
        "Too many failed sign-ins for this account"
        in client.post(reverse("signin_code"), {"code": "111111"}).content.decode()
    )


def test_a_recovery_code_signs_in_once_and_is_used_up(client, owner, phone):
    _, codes = turn_on(owner, phone)
    password_step(client, owner)
    done = client.post(reverse("signin_code"), {"code": codes[3].upper()}, follow=True)
    assert client.session["_auth_user_id"] == str(owner.pk)
    assert "recovery code; 9 left" in done.content.decode()
    assert two_factor.recovery_codes_left(owner) == 9
    assert not StaticToken.objects.filter(token=codes[3].replace("-", "")).exists()
    assert SignInEvent.objects.filter(user=owner, kind="recovery_code_used").exists()

    client.post(reverse("logout"))
    password_step(client, owner)
    again = client.post(reverse("signin_code"), {"code": codes[3]})
    assert again.status_code == 400
    assert "_auth_user_id" not in client.session


def test_the_code_page_without_a_password_first_sends_to_sign_in(client, owner, phone):
    turn_on(owner, phone)
    response = client.get(reverse("signin_code"))
    assert response.status_code == 302
    assert response["Location"] == reverse("login")


def test_the_password_steps_note_expires_after_ten_minutes(client, owner, phone, monkeypatch):
    device, _ = turn_on(owner, phone)
    password_step(client, owner)
    from socialdesk.workspaces import signin

    later = signin.now() + timedelta(minutes=11)
    monkeypatch.setattr(signin, "now", lambda: later)
    response = client.post(reverse("signin_code"), {"code": phone.next_code(device)})
    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert "_auth_user_id" not in client.session


def test_new_recovery_codes_replace_the_old_ones(client, owner, phone):
    device, old = turn_on(owner, phone)
    password_step(client, owner)
    client.post(reverse("signin_code"), {"code": phone.next_code(device)})
    response = client.post(reverse("recovery_codes_renew"))
    new = re.findall(r"<li>([a-z2-7]{4}-[a-z2-7]{4})</li>", response.content.decode())
    assert len(new) == 10 and not set(new) & set(old)
    assert two_factor.recovery_codes_left(owner) == 10


# --- A workspace that requires it ---------------------------------------------------------


@pytest.fixture
def strict_workspace(workspace) -> Workspace:
    Workspace.objects.filter(pk=workspace.pk).update(requires_two_factor=True)
    workspace.refresh_from_db()
    return workspace


def test_a_member_without_two_factor_is_sent_to_set_it_up(signed_in, creator, strict_workspace):
    client = signed_in(creator)
    response = client.get(reverse("post_list", args=["crumb"]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("two_factor_setup"))
    assert "next=%2Fw%2Fcrumb%2Fposts%2F" in response["Location"]
    setup = client.get(response["Location"]).content.decode()
    assert "This workspace requires two-factor sign-in" in setup


def test_htmx_requests_are_sent_to_set_up_with_hx_redirect(signed_in, creator, strict_workspace):
    client = signed_in(creator)
    response = client.get(reverse("post_list", args=["crumb"]), headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith(reverse("two_factor_setup"))


def test_after_setting_up_the_member_enters_the_workspace(
    signed_in, creator, strict_workspace, phone
):
    client = signed_in(creator)
    client.get(reverse("two_factor_setup"))
    device = TOTPDevice.objects.get(user=creator)
    next_url = reverse("post_list", args=["crumb"])
    done = client.post(reverse("two_factor_setup"), {"code": phone.code(device), "next": next_url})
    assert f'href="{next_url}"' in done.content.decode()
    assert client.get(next_url).status_code == 200


def test_a_member_with_two_factor_but_an_unverified_session_enters_a_code(
    signed_in, creator, strict_workspace, phone
):
    device, _ = turn_on(creator, phone)
    client = signed_in(creator)  # force_login: no second factor in this session
    response = client.get(reverse("post_list", args=["crumb"]))
    assert response["Location"].startswith(reverse("signin_code"))
    done = client.post(
        reverse("signin_code"),
        {"code": phone.next_code(device), "next": reverse("post_list", args=["crumb"])},
    )
    assert done["Location"] == reverse("post_list", args=["crumb"])
    assert client.get(reverse("post_list", args=["crumb"])).status_code == 200


def test_other_workspaces_and_outsiders_are_unaffected(
    signed_in, outsider, creator, strict_workspace
):
    assert signed_in(outsider).get(reverse("post_list", args=["rival"])).status_code == 200
    # An outsider gets the same 404 as for any workspace they are not in, not a setup page.
    assert signed_in(outsider).get(reverse("post_list", args=["crumb"])).status_code == 404
    # The account page stays open to the member who has not set it up yet.
    assert signed_in(creator).get(reverse("account")).status_code == 200


def test_an_api_token_works_without_a_second_factor_and_shows_its_last_use(
    client, signed_in, creator, strict_workspace, token_for, phone
):
    raw = token_for(creator)
    response = client.get("/api/v1/workspaces/crumb/posts", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 200
    token = ApiToken.objects.get(user=creator)
    assert token.last_used_at is not None

    device, _ = turn_on(creator, phone)
    browser = signed_in(creator)
    password_step(browser, creator)
    browser.post(reverse("signin_code"), {"code": phone.next_code(device)})
    page = browser.get(reverse("api_tokens", args=["crumb"])).content.decode()
    assert "used" in page and "ago" in page and "never used" not in page


def test_an_owner_must_use_two_factor_before_requiring_it(signed_in, owner, workspace, phone):
    client = signed_in(owner)
    form = {
        "name": workspace.name,
        "time_zone": workspace.time_zone,
        "late_window_minutes": 360,
        "requires_two_factor": "on",
    }
    refused = client.post(reverse("workspace_settings", args=["crumb"]), form)
    assert refused.status_code == 400
    assert "Turn on two-factor sign-in for your own account first" in refused.content.decode()
    workspace.refresh_from_db()
    assert not workspace.requires_two_factor

    device, _ = turn_on(owner, phone)
    password_step(client, owner)
    client.post(reverse("signin_code"), {"code": phone.next_code(device)})
    saved = client.post(reverse("workspace_settings", args=["crumb"]), form)
    assert saved.status_code == 302
    workspace.refresh_from_db()
    assert workspace.requires_two_factor


def test_the_api_sets_the_requirement_under_the_same_rule(
    client, owner, workspace, token_for, phone
):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token_for(owner)}"}
    url = "/api/v1/workspaces/crumb"
    body = '{"requires_two_factor": true}'
    refused = client.patch(url, body, content_type="application/json", **headers)
    assert refused.status_code == 422
    assert "Turn on two-factor sign-in for your own account first" in refused.content.decode()
    turn_on(owner, phone)
    done = client.patch(url, body, content_type="application/json", **headers)
    assert done.status_code == 200
    assert done.json()["requires_two_factor"] is True


def test_a_manager_cannot_require_two_factor(signed_in, manager, workspace):
    response = signed_in(manager).get(reverse("workspace_settings", args=["crumb"]))
    assert response.status_code == 403
