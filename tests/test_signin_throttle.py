"""Sign-in throttling (issue 11, item 3): per account and per address, a growing delay that
expires, a clear message, and each person's log of their sign-ins."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from socialdesk.workspaces import signin
from socialdesk.workspaces.models import SignInEvent, SignInThrottle
from tests.conftest import PASSWORD

HOME = "127.0.0.1"
ELSEWHERE = "203.0.113.9"


class Clock:
    """The throttle's clock, moved by tests instead of sleeping."""

    def __init__(self) -> None:
        self.now = timezone.now()

    def __call__(self):
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(signin, "now", fake)
    return fake


def sign_in(client, email: str, password: str, address: str = HOME):
    return client.post(
        reverse("login"), {"username": email, "password": password}, REMOTE_ADDR=address
    )


def test_twenty_wrong_passwords_are_throttled_with_a_clear_message(client, owner, clock):
    statuses = [sign_in(client, owner.email, f"guess-{n}").status_code for n in range(20)]
    assert statuses[:4] == [200] * 4  # the first four are ordinary wrong passwords
    assert statuses[4:] == [429] * 16
    page = sign_in(client, owner.email, "guess-21").content.decode()
    assert "Too many failed sign-ins for this account. Try again in 1 minute" in page
    assert "or reset your password" in page
    # Refused attempts are not checked and do not lengthen the delay: five counted.
    assert SignInThrottle.objects.get(key=f"account:{owner.email}").failures == 5


def test_the_right_password_is_refused_while_throttled_and_accepted_after_the_delay(
    client, owner, clock
):
    for n in range(20):
        sign_in(client, owner.email, f"guess-{n}")
    refused = sign_in(client, owner.email, PASSWORD)
    assert refused.status_code == 429
    assert "_auth_user_id" not in client.session

    clock.advance(seconds=61)
    accepted = sign_in(client, owner.email, PASSWORD)
    assert accepted.status_code == 302
    assert client.session["_auth_user_id"] == str(owner.pk)
    # Success clears the account's count, so a later typo is an ordinary wrong password.
    assert not SignInThrottle.objects.filter(key=f"account:{owner.email}").exists()


def test_the_delay_grows_with_each_failure_after_a_lock_and_is_capped(client, owner, clock):
    for n in range(5):
        sign_in(client, owner.email, f"guess-{n}")
    delays = []
    for n in range(6):
        clock.advance(minutes=16)  # past any lock
        response = sign_in(client, owner.email, f"again-{n}")
        assert response.status_code == 429
        delays.append(signin.check(owner.email, HOME).minutes)
    assert delays == [2, 4, 8, 15, 15, 15]
    assert "Try again in 2 minutes" not in response.content.decode()
    assert "Try again in 15 minutes" in response.content.decode()


def test_the_count_is_forgotten_after_a_quiet_day(client, owner, clock):
    for n in range(4):
        sign_in(client, owner.email, f"guess-{n}")
    clock.advance(days=1, seconds=1)
    assert sign_in(client, owner.email, "one-more").status_code == 200
    assert SignInThrottle.objects.get(key=f"account:{owner.email}").failures == 1


def test_another_address_is_throttled_separately(client, owner, manager, creator, clock):
    # Twenty failures from HOME, spread over accounts no one owns: the address is locked…
    for n in range(20):
        sign_in(client, f"guess{n % 4}@crumb.test", "guess", address=HOME)
    from_home = sign_in(client, manager.email, PASSWORD, address=HOME)
    assert from_home.status_code == 429
    assert "Too many failed sign-ins from your network address" in from_home.content.decode()
    # …another address is not, and signs in as usual.
    assert sign_in(client, manager.email, PASSWORD, address=ELSEWHERE).status_code == 302


def test_a_locked_account_is_locked_from_every_address_but_other_accounts_are_not(
    client, owner, manager, clock
):
    for n in range(20):
        sign_in(client, owner.email, f"guess-{n}", address=HOME)
    assert sign_in(client, owner.email, PASSWORD, address=ELSEWHERE).status_code == 429
    # Refused attempts do not count against the address either: five failures are not twenty.
    assert sign_in(client, manager.email, PASSWORD, address=HOME).status_code == 302


def test_a_password_reset_lifts_the_accounts_lock(client, owner, clock):
    for n in range(5):
        sign_in(client, owner.email, f"guess-{n}", address=ELSEWHERE)
    assert signin.check(owner.email, HOME) is not None
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    uid = urlsafe_base64_encode(force_bytes(owner.pk))
    token = default_token_generator.make_token(owner)
    form_page = client.get(reverse("password_reset_confirm", args=[uid, token]), follow=True)
    new_password = "a brand new long password 42"
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": new_password, "new_password2": new_password},
    )
    assert done.status_code == 302
    assert signin.check(owner.email, HOME) is None
    assert sign_in(client, owner.email, new_password).status_code == 302


def test_sign_ins_and_failures_are_in_the_persons_log_on_their_account_page(client, owner, clock):
    sign_in(client, owner.email, "wrong", address=ELSEWHERE)
    clock.advance(seconds=5)
    sign_in(client, owner.email, PASSWORD)
    kinds = list(SignInEvent.objects.filter(user=owner).values_list("kind", "ip"))
    assert kinds == [("signed_in", HOME), ("failed", ELSEWHERE)]
    page = client.get(reverse("account")).content.decode()
    assert "Recent sign-ins" in page
    assert "Wrong password" in page and ELSEWHERE in page


def test_a_burst_of_refused_attempts_writes_one_log_line(client, owner, clock):
    for n in range(25):
        sign_in(client, owner.email, f"guess-{n}")
    kinds = list(SignInEvent.objects.filter(user=owner).values_list("kind", flat=True))
    assert kinds.count("failed") == 5
    assert kinds.count("throttled") == 1


def test_unknown_emails_are_throttled_by_address_and_logged_for_nobody(client, db, clock):
    for n in range(20):
        sign_in(client, f"nobody{n}@example.test", "guess")
    assert sign_in(client, "nobody@example.test", "guess").status_code == 429
    assert not SignInEvent.objects.exists()


def test_an_email_longer_than_any_account_is_counted_by_address_only(client, db, clock):
    # Its key would not fit the counter's column (a 500 on PostgreSQL); it names no account.
    response = sign_in(client, "x" * 300 + "@example.test", "guess")
    assert response.status_code == 200
    assert list(SignInThrottle.objects.values_list("key", flat=True)) == [f"address:{HOME}"]
