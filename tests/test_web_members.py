"""Members page: invitations end to end, changing roles, removing, revoking."""

from __future__ import annotations

import re

from django.core import mail
from django.urls import reverse

from socialdesk.workspaces.models import ApiToken, Invitation, Membership, User
from socialdesk.workspaces.roles import Role
from tests.conftest import PASSWORD


def invite(client, workspace, email: str, role: str):
    return client.post(
        reverse("member_invite", args=[workspace.slug]), {"email": email, "role": role}
    )


def test_invitation_flow_from_email_to_a_new_member_with_the_role(
    client, signed_in, manager, workspace
):
    response = invite(signed_in(manager), workspace, "Greta@Crumb.test", "approver")
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["greta@crumb.test"]
    link = re.search(r"https?://\S+/invitations/(\S+)/", mail.outbox[0].body)
    assert link is not None
    path = reverse("accept_invitation", args=[link.group(1)])

    client.logout()
    page = client.get(path)
    assert "Create your account" in page.content.decode()
    assert "greta@crumb.test" in page.content.decode()
    response = client.post(path, {"name": "Greta", "password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("post_list", args=[workspace.slug])
    greta = User.objects.get(email="greta@crumb.test")
    assert greta.check_password(PASSWORD)
    assert Membership.objects.get(workspace=workspace, user=greta).role == Role.APPROVER
    assert client.get(response["Location"]).status_code == 200  # signed in already


def test_account_form_on_an_invitation_shows_errors_and_creates_nobody(client, workspace, owner):
    invitation = Invitation.objects.create(
        workspace=workspace, email="new@crumb.test", role="creator"
    )
    response = client.post(
        reverse("accept_invitation", args=[invitation.token]),
        {"password1": PASSWORD, "password2": "something else"},
    )
    assert response.status_code == 400
    assert "The two passwords differ." in response.content.decode()
    assert not User.objects.filter(email="new@crumb.test").exists()


def test_an_existing_user_is_asked_to_sign_in_then_joins_with_one_click(
    client, signed_in, outsider, workspace
):
    invitation = Invitation.objects.create(
        workspace=workspace, email=outsider.email, role="analyst"
    )
    path = reverse("accept_invitation", args=[invitation.token])
    page = client.get(path)
    assert f"{reverse('login')}?next={path}" in page.content.decode()
    client = signed_in(outsider)
    assert "Join Crumb &amp; Co" in client.get(path).content.decode()
    response = client.post(path)
    assert response.status_code == 302
    assert Membership.objects.get(workspace=workspace, user=outsider).role == Role.ANALYST


def test_a_used_invitation_cannot_be_used_again(client, signed_in, outsider, workspace):
    invitation = Invitation.objects.create(
        workspace=workspace, email=outsider.email, role="analyst"
    )
    path = reverse("accept_invitation", args=[invitation.token])
    signed_in(outsider).post(path)
    again = client.post(path)
    assert again.status_code == 410
    assert "can no longer be used" in again.content.decode()


def test_unknown_invitation_token_is_not_found(client, db):
    assert client.get(reverse("accept_invitation", args=["nope"])).status_code == 404


def test_inviting_an_existing_member_shows_the_error_next_to_the_email(
    signed_in, owner, creator, workspace
):
    response = invite(signed_in(owner), workspace, creator.email, "creator")
    assert response.status_code == 400
    assert "already a member" in response.content.decode()
    assert 'id="id_email_error"' in response.content.decode()
    assert not Invitation.objects.exists()
    assert mail.outbox == []


def test_creator_cannot_invite(signed_in, creator, workspace):
    response = invite(signed_in(creator), workspace, "x@crumb.test", "creator")
    assert response.status_code == 403
    assert not Invitation.objects.exists()


def test_manager_cannot_invite_an_owner(signed_in, manager, workspace):
    response = invite(signed_in(manager), workspace, "boss@crumb.test", "owner")
    assert response.status_code == 400
    assert not Invitation.objects.exists()


def test_members_page_lists_members_pending_invitations_and_role_descriptions(
    signed_in, owner, workspace
):
    Invitation.objects.create(workspace=workspace, email="pending@crumb.test", role="client")
    body = signed_in(owner).get(reverse("members", args=[workspace.slug])).content.decode()
    assert "analyst@crumb.test" in body
    assert "pending@crumb.test" in body
    assert "Reads posts, deliveries and numbers; changes nothing." in body


def test_manager_changes_a_creators_role(signed_in, manager, creator, workspace):
    membership = Membership.objects.get(workspace=workspace, user=creator)
    response = signed_in(manager).post(
        reverse("member_role", args=[workspace.slug, membership.pk]),
        {f"m{membership.pk}-role": "approver"},
    )
    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.role == Role.APPROVER


def test_manager_cannot_promote_themself_to_owner(signed_in, manager, workspace):
    membership = Membership.objects.get(workspace=workspace, user=manager)
    response = signed_in(manager).post(
        reverse("member_role", args=[workspace.slug, membership.pk]),
        {f"m{membership.pk}-role": "owner"},
    )
    assert response.status_code == 403
    membership.refresh_from_db()
    assert membership.role == Role.MANAGER


def test_manager_cannot_change_or_remove_an_owner(signed_in, manager, owner, workspace):
    target = Membership.objects.get(workspace=workspace, user=owner)
    client = signed_in(manager)
    role = client.post(
        reverse("member_role", args=[workspace.slug, target.pk]), {f"m{target.pk}-role": "client"}
    )
    remove = client.post(reverse("member_remove", args=[workspace.slug, target.pk]))
    assert (role.status_code, remove.status_code) == (403, 403)
    assert Membership.objects.get(pk=target.pk).role == Role.OWNER


def test_the_last_owner_keeps_their_role_and_is_told_why(signed_in, owner, workspace):
    target = Membership.objects.get(workspace=workspace, user=owner)
    response = signed_in(owner).post(
        reverse("member_role", args=[workspace.slug, target.pk]),
        {f"m{target.pk}-role": "manager"},
        follow=True,
    )
    assert "A workspace needs an owner" in response.content.decode()
    target.refresh_from_db()
    assert target.role == Role.OWNER


def test_removing_a_member_asks_first_then_removes_them_and_their_tokens(
    signed_in, owner, analyst, workspace
):
    ApiToken.issue(workspace, analyst, "export")
    target = Membership.objects.get(workspace=workspace, user=analyst)
    url = reverse("member_remove", args=[workspace.slug, target.pk])
    client = signed_in(owner)
    assert "Remove Analyst?" in client.get(url).content.decode()
    assert Membership.objects.filter(pk=target.pk).exists()
    client.post(url)
    assert not Membership.objects.filter(pk=target.pk).exists()
    assert not ApiToken.objects.filter(user=analyst).exists()


def test_revoking_an_invitation_kills_its_link(client, signed_in, owner, workspace):
    invitation = Invitation.objects.create(
        workspace=workspace, email="late@crumb.test", role="client"
    )
    signed_in(owner).post(reverse("invitation_revoke", args=[workspace.slug, invitation.pk]))
    assert not Invitation.objects.filter(pk=invitation.pk).exists()
    client.logout()
    assert client.get(reverse("accept_invitation", args=[invitation.token])).status_code == 404


def test_invitations_of_another_workspace_cannot_be_revoked(
    signed_in, owner, workspace, other_workspace
):
    theirs = Invitation.objects.create(
        workspace=other_workspace, email="x@rival.test", role="client"
    )
    response = signed_in(owner).post(reverse("invitation_revoke", args=[workspace.slug, theirs.pk]))
    assert response.status_code == 404
    assert Invitation.objects.filter(pk=theirs.pk).exists()
