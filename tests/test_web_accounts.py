"""Signing in and out, password reset, the home page, workspace settings and API tokens."""

from __future__ import annotations

import re
from datetime import timedelta

from django.core import mail
from django.urls import reverse

from socialdesk.workspaces.models import ApiToken, Membership, Workspace
from tests.conftest import PASSWORD, make_user


def test_login_page_signs_in_with_email_and_password(client, owner, workspace):
    assert "Sign in" in client.get(reverse("login")).content.decode()
    response = client.post(reverse("login"), {"username": owner.email, "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("home"))["Location"] == reverse("workspace", args=["crumb"])


def test_a_wrong_password_is_refused_with_a_message(client, owner):
    response = client.post(reverse("login"), {"username": owner.email, "password": "nope"})
    assert response.status_code == 200
    assert "do not match an account" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_sign_out_is_a_post(signed_in, owner):
    client = signed_in(owner)
    assert client.get(reverse("logout")).status_code == 405
    assert client.post(reverse("logout")).status_code == 302
    assert "_auth_user_id" not in client.session


def test_password_reset_sends_a_working_link(client, owner, settings):
    settings.SITE_URL = "https://desk.example"
    response = client.post(reverse("password_reset"), {"email": owner.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [owner.email]
    assert message.subject == "Reset your Socialdesk password"
    link = re.search(r"https://desk\.example(/accounts/reset/\S+/)", message.body)
    assert link is not None
    form = client.get(link.group(1), follow=True)
    assert "Choose a new password" in form.content.decode()
    client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "a brand new pass 42", "new_password2": "a brand new pass 42"},
    )
    owner.refresh_from_db()
    assert owner.check_password("a brand new pass 42")


def test_a_person_without_a_workspace_is_asked_to_create_one(client, db):
    newcomer = make_user("new@example.test")
    client.force_login(newcomer)
    page = client.get(reverse("home"))
    assert "Create your first workspace" in page.content.decode()
    response = client.post(
        reverse("workspace_create"),
        {"name": "Hop Scotch", "slug": "", "time_zone": "Europe/Berlin"},
    )
    assert response["Location"] == reverse("post_list", args=["hop-scotch"])
    workspace = Workspace.objects.get(slug="hop-scotch")
    assert workspace.time_zone == "Europe/Berlin"
    assert Membership.objects.get(workspace=workspace, user=newcomer).role == "owner"


def test_a_taken_workspace_address_is_refused_next_to_the_field(signed_in, owner, workspace):
    response = signed_in(owner).post(
        reverse("workspace_create"), {"name": "Crumb", "slug": "crumb", "time_zone": "UTC"}
    )
    assert response.status_code == 400
    assert "is taken" in response.content.decode()
    assert Workspace.objects.filter(slug="crumb").count() == 1


def test_owner_saves_workspace_settings(signed_in, owner, workspace):
    response = signed_in(owner).post(
        reverse("workspace_settings", args=[workspace.slug]),
        {
            "name": "Crumb & Co Bakery",
            "time_zone": "Europe/Lisbon",
            "late_window_minutes": "120",
            "requires_approval": "on",
        },
    )
    assert response.status_code == 302
    workspace.refresh_from_db()
    assert workspace.name == "Crumb & Co Bakery"
    assert workspace.time_zone == "Europe/Lisbon"
    assert workspace.late_window == timedelta(hours=2)
    assert workspace.requires_approval is True


def test_bad_settings_are_refused_and_nothing_changes(signed_in, owner, workspace):
    response = signed_in(owner).post(
        reverse("workspace_settings", args=[workspace.slug]),
        {"name": "", "time_zone": "Mars/Olympus", "late_window_minutes": "0"},
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert 'id="id_name_error"' in body and 'id="id_time_zone_error"' in body
    workspace.refresh_from_db()
    assert (workspace.name, workspace.time_zone) == ("Crumb & Co", "Europe/Paris")


def test_manager_cannot_change_workspace_settings(signed_in, manager, workspace):
    response = signed_in(manager).post(
        reverse("workspace_settings", args=[workspace.slug]),
        {"name": "Mine now", "time_zone": "UTC", "late_window_minutes": "60"},
    )
    assert response.status_code == 403
    workspace.refresh_from_db()
    assert workspace.name == "Crumb & Co"


def test_a_new_api_token_is_shown_once_and_works_as_its_hash(signed_in, creator, workspace):
    client = signed_in(creator)
    url = reverse("api_tokens", args=[workspace.slug])
    response = client.post(url, {"name": "Nightly export", "scope": "read"})
    raw = re.search(r'value="(sd_[^"]+)"', response.content.decode()).group(1)
    token = ApiToken.objects.get(name="Nightly export")
    assert token.token_hash == ApiToken.hash(raw)
    assert token.scopes == ["read"]
    assert response["Cache-Control"] == "no-store"
    again = client.get(url).content.decode()
    assert raw not in again
    assert token.hint in again


def test_tokens_page_lists_only_ones_own_tokens_and_revokes_them(
    signed_in, creator, analyst, workspace
):
    mine, _ = ApiToken.issue(workspace, creator, "Mine")
    theirs, _ = ApiToken.issue(workspace, analyst, "Theirs")
    client = signed_in(creator)
    body = client.get(reverse("api_tokens", args=[workspace.slug])).content.decode()
    assert "Mine" in body and "Theirs" not in body
    other = client.post(reverse("api_token_revoke", args=[workspace.slug, theirs.pk]))
    assert other.status_code == 404
    client.post(reverse("api_token_revoke", args=[workspace.slug, mine.pk]))
    assert list(ApiToken.objects.all()) == [theirs]
