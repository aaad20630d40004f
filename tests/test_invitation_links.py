"""Invitations that arrive: the link uses the address the person is using (unless SITE_URL
is set), the members page offers it to copy, and says when email only goes to the log."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from socialdesk.workspaces.models import Invitation

pytestmark = pytest.mark.django_db


def invite(client, workspace, email="new.baker@crumb.test", **extra):
    return client.post(
        reverse("member_invite", args=[workspace.slug]),
        {"email": email, "role": "creator"},
        **extra,
    )


def test_the_emailed_link_uses_the_port_the_person_is_on(client, owner, workspace, settings):
    settings.SITE_URL_EXPLICIT = False
    settings.ALLOWED_HOSTS = ["127.0.0.1"]
    client.force_login(owner)

    invite(client, workspace, HTTP_HOST="127.0.0.1:8765")

    token = Invitation.objects.get().token
    assert f"http://127.0.0.1:8765/invitations/{token}/" in mail.outbox[0].body


def test_an_explicit_site_url_wins_over_the_request(client, owner, workspace, settings):
    settings.SITE_URL_EXPLICIT = True
    settings.SITE_URL = "https://social.crumb.example"
    settings.ALLOWED_HOSTS = ["127.0.0.1"]
    client.force_login(owner)

    invite(client, workspace, HTTP_HOST="127.0.0.1:8765")

    assert "https://social.crumb.example/invitations/" in mail.outbox[0].body
    assert "8765" not in mail.outbox[0].body


def test_the_api_builds_the_link_from_the_request_too(
    client, owner, token_for, workspace, settings
):
    settings.SITE_URL_EXPLICIT = False
    settings.ALLOWED_HOSTS = ["localhost"]
    response = client.post(
        f"/api/v1/workspaces/{workspace.slug}/invitations",
        {"email": "api.baker@crumb.test", "role": "creator"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token_for(owner)}",
        HTTP_HOST="localhost:9000",
    )
    assert response.status_code == 201
    assert "http://localhost:9000/invitations/" in mail.outbox[0].body


def test_a_manager_sees_each_pending_link_with_a_copy_button(client, manager, workspace):
    client.force_login(manager)
    invite(client, workspace)
    token = Invitation.objects.get().token

    page = client.get(reverse("members", args=[workspace.slug])).content.decode()

    assert f"/invitations/{token}/" in page  # the no-JS fallback: the link itself
    assert "Copy invitation link" in page


def test_a_creator_never_sees_invitation_links(client, owner, creator, workspace):
    client.force_login(owner)
    invite(client, workspace)
    token = Invitation.objects.get().token
    client.force_login(creator)

    page = client.get(reverse("members", args=[workspace.slug]))

    assert token not in page.content.decode()


def test_an_outsider_cannot_see_the_members_page(client, outsider, workspace):
    client.force_login(outsider)
    assert client.get(reverse("members", args=[workspace.slug])).status_code == 404


def test_the_members_page_says_email_goes_to_the_log(client, owner, workspace, settings):
    settings.EMAIL_TO_CONSOLE = True
    client.force_login(owner)

    page = invite(client, workspace, follow=True).content.decode()

    assert "Email is not set up" in page
    assert "copy the link below" in page


def test_with_email_set_up_the_page_says_it_was_sent(client, owner, workspace, settings):
    settings.EMAIL_TO_CONSOLE = False
    client.force_login(owner)

    page = invite(client, workspace, follow=True).content.decode()

    assert "Invitation sent to new.baker@crumb.test" in page
    assert "Email is not set up" not in page
