"""A workspace page reads the signed-in person with their membership (workspaces.backends):
one query fewer, and every check Django makes on a session still made."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import PASSWORD, make_user


def user_queries(captured: CaptureQueriesContext) -> list[str]:
    """Queries that read the users table on its own (not joined to a membership)."""
    return [
        q["sql"]
        for q in captured.captured_queries
        if q["sql"].startswith('SELECT "workspaces_user"."id"') and "membership" not in q["sql"]
    ]


def test_a_workspace_page_reads_the_person_with_their_membership(workspace, owner, signed_in):
    client = signed_in(owner)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(f"/w/{workspace.slug}/posts/")
    assert response.status_code == 200
    assert response.context["user"].pk == owner.pk
    assert user_queries(captured) == []


def test_a_page_outside_workspaces_still_reads_the_person(owner, signed_in):
    with CaptureQueriesContext(connection) as captured:
        response = signed_in(owner).get("/")
    assert response.status_code in (200, 302)
    assert len(user_queries(captured)) == 1


def test_a_changed_password_still_signs_the_old_session_out(workspace, owner, signed_in):
    client = signed_in(owner)
    assert client.get(f"/w/{workspace.slug}/posts/").status_code == 200
    owner.set_password(PASSWORD + "-new")
    owner.save()
    response = client.get(f"/w/{workspace.slug}/posts/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_deactivated_person_is_signed_out(workspace, owner, signed_in):
    client = signed_in(owner)
    owner.is_active = False
    owner.save()
    response = client.get(f"/w/{workspace.slug}/posts/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_someone_elses_workspace_is_still_not_found_for_a_signed_in_person(
    workspace, other_workspace, signed_in
):
    stranger = make_user("stranger@elsewhere.test")
    client = signed_in(stranger)
    response = client.get(f"/w/{workspace.slug}/posts/")
    assert response.status_code == 404
    assert response.wsgi_request.user.is_authenticated


def test_a_signed_out_visitor_is_sent_to_sign_in(workspace, client):
    response = client.get(f"/w/{workspace.slug}/posts/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
