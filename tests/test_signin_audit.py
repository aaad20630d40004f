"""Sign-ins in the audit log (issue 11): a successful, a failed (wrong password or code) and a
throttled sign-in are audit events in every workspace of the person, with the address and the
browser; an attempt on an email that is no account reaches no workspace."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from socialdesk.workflow.models import AuditEvent
from socialdesk.workspaces import signin
from socialdesk.workspaces.models import Membership
from socialdesk.workspaces.roles import Role
from tests.conftest import PASSWORD

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"
ADDRESS = "198.51.100.7"


def sign_in(client, email: str, password: str):
    return client.post(
        reverse("login"),
        {"username": email, "password": password},
        REMOTE_ADDR=ADDRESS,
        HTTP_USER_AGENT=BROWSER,
    )


@pytest.fixture
def in_two_workspaces(owner, other_workspace):
    Membership.objects.create(workspace=other_workspace, user=owner, role=Role.ANALYST)
    return owner


def test_a_sign_in_and_a_wrong_password_are_in_each_of_her_workspaces(
    client, workspace, other_workspace, in_two_workspaces
):
    owner = in_two_workspaces
    assert sign_in(client, owner.email, "not it").status_code == 200
    assert sign_in(client, owner.email, PASSWORD).status_code == 302
    for place in (workspace, other_workspace):
        failed, succeeded = AuditEvent.objects.filter(workspace=place).order_by("id")
        assert (failed.action, failed.actor, failed.who) == (
            "signin.failed",
            None,
            "sign-in attempt",
        )
        assert (succeeded.action, succeeded.actor) == ("signin.signed_in", owner)
        for event in (failed, succeeded):
            assert (event.target_type, event.target_id) == ("workspaces.user", str(owner.pk))
            assert (event.ip, event.user_agent) == (ADDRESS, BROWSER)
    assert failed.detail == "Wrong password"


def test_a_wrong_code_and_a_throttled_attempt_are_audited_once_a_minute(
    client, workspace, owner, monkeypatch
):
    TOTPDevice.objects.create(user=owner, name="phone", confirmed=True)
    assert sign_in(client, owner.email, PASSWORD).status_code == 302  # on to the code step
    wrong = client.post(
        reverse("signin_code"), {"code": "000000"}, REMOTE_ADDR=ADDRESS, HTTP_USER_AGENT=BROWSER
    )
    assert wrong.status_code == 400
    monkeypatch.setattr(signin, "ACCOUNT_FREE_FAILURES", 1)
    for _ in range(3):
        assert sign_in(client, owner.email, "guess").status_code == 429
    actions = list(
        AuditEvent.objects.filter(workspace=workspace)
        .order_by("id")
        .values_list("action", flat=True)
    )
    # The first guess is counted as a failure and starts the lock; the next two are refused,
    # and a burst of refusals is one line, as in the person's own sign-in log.
    assert actions == ["signin.code_failed", "signin.failed", "signin.throttled"]
    throttled = AuditEvent.objects.get(action="signin.throttled")
    assert throttled.detail == "Refused: too many failed sign-ins"
    assert throttled.ip == ADDRESS


def test_an_email_that_is_no_account_writes_nothing_anywhere(client, workspace, owner):
    page = sign_in(client, "nobody@crumb.test", "guess")
    known = sign_in(client, owner.email, "guess")
    assert not AuditEvent.objects.filter(target_repr__icontains="nobody").exists()
    assert AuditEvent.objects.count() == 1  # the owner's own failed attempt only
    # The page says the same for both, so it tells nobody whether the account exists.
    assert page.status_code == known.status_code == 200
    message = "That email address and password do not match an account."
    assert message in page.content.decode() and message in known.content.decode()


def test_the_audit_page_and_its_csv_show_sign_ins(client, workspace, owner, signed_in):
    sign_in(client, owner.email, "=cmd|' /C calc'!A0")
    sign_in(client, owner.email, PASSWORD)
    page = client.get(reverse("audit_log", args=[workspace.slug]))
    text = page.content.decode()
    assert "signin.failed" in text and "signin.signed_in" in text
    assert ADDRESS in text and BROWSER in text
    export = client.get(reverse("audit_log", args=[workspace.slug]), {"format": "csv"})
    rows = list(csv.DictReader(io.StringIO(export.content.decode())))
    assert [row["action"] for row in rows] == ["signin.failed", "signin.signed_in"]
    assert rows[0]["via"] == "sign-in attempt"
    assert rows[1]["who"] == str(owner)
    assert rows[1]["user agent"] == BROWSER
    assert rows[1]["ip"] == ADDRESS
