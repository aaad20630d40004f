"""Bearer tokens, scopes, last use, and the web UI's session with CSRF."""

from __future__ import annotations

from datetime import timedelta

from api_helpers import call
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client
from django.utils import timezone

from socialdesk.workspaces.models import ApiToken


def test_a_request_without_credentials_gets_a_401_problem(workspace):
    response = call("get", "/workspaces/crumb")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["title"] == "Not signed in"


def test_an_unknown_token_is_refused(workspace):
    assert call("get", "/workspaces/crumb", "sd_not-a-real-token").status_code == 401


def test_a_token_of_a_removed_user_stops_working(owner, token_for):
    raw = token_for(owner)
    owner.is_active = False
    owner.save(update_fields=["is_active"])
    assert call("get", "/workspaces/crumb", raw).status_code == 401


def test_a_token_acts_as_its_user_in_its_workspace(owner, token_for):
    response = call("get", "/workspaces/crumb", token_for(owner))
    assert response.status_code == 200
    assert response.json()["role"] == "owner"


def test_a_token_does_not_work_in_another_workspace_of_its_user(owner, other_workspace, token_for):
    raw = token_for(owner)
    other_workspace.memberships.create(user=owner, role="owner")
    assert call("get", "/workspaces/rival", raw).status_code == 404
    listed = call("get", "/workspaces", raw).json()
    assert [w["slug"] for w in listed] == ["crumb"]


def test_a_read_token_reads_but_cannot_write(owner, token_for):
    raw = token_for(owner, scopes=["read"])
    assert call("get", "/workspaces/crumb/posts", raw).status_code == 200
    response = call("post", "/workspaces/crumb/labels", raw, json_body={"name": "new"})
    assert response.status_code == 403
    assert "scope does not allow taxonomy.manage" in response.json()["detail"]


def test_last_used_at_is_written_at_most_once_a_minute(owner, token_for):
    raw = token_for(owner)
    token = ApiToken.objects.get(token_hash=ApiToken.hash(raw))
    assert token.last_used_at is None
    call("get", "/workspaces/crumb", raw)
    token.refresh_from_db()
    first = token.last_used_at
    assert first is not None
    call("get", "/workspaces/crumb", raw)
    token.refresh_from_db()
    assert token.last_used_at == first
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first - timedelta(minutes=2))
    call("get", "/workspaces/crumb", raw)
    token.refresh_from_db()
    assert token.last_used_at > first - timedelta(seconds=1)
    assert token.last_used_at <= timezone.now()


def test_the_raw_token_is_shown_once_and_then_works(creator, token_for):
    response = call(
        "post", "/workspaces/crumb/tokens", token_for(creator), json_body={"name": "export"}
    )
    assert response.status_code == 201
    raw = response.json()["token"]
    assert raw.startswith("sd_")
    listed = call("get", "/workspaces/crumb/tokens", raw).json()
    assert "token" not in listed[0]
    assert {t["name"] for t in listed} == {"export", "test"}


def test_someone_elses_token_cannot_be_deleted(owner, creator, token_for):
    raw = token_for(creator)
    others = ApiToken.objects.get(token_hash=ApiToken.hash(token_for(owner)))
    assert call("delete", f"/workspaces/crumb/tokens/{others.pk}", raw).status_code == 404
    assert ApiToken.objects.filter(pk=others.pk).exists()


def test_the_web_session_works_and_needs_csrf_for_writes(owner, signed_in):
    browser = signed_in(owner)
    assert browser.get("/api/v1/workspaces/crumb").status_code == 200
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(owner)
    refused = strict.post(
        "/api/v1/workspaces/crumb/labels", {"name": "x"}, content_type="application/json"
    )
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    # The UI's pages set this cookie; a test sets it directly.
    secret = _get_new_csrf_string()
    strict.cookies["csrftoken"] = secret
    accepted = strict.post(
        "/api/v1/workspaces/crumb/labels",
        {"name": "x"},
        content_type="application/json",
        headers={"X-CSRFToken": secret},
    )
    assert accepted.status_code == 201


def test_the_openapi_document_and_docs_are_served(client):
    document = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/workspaces/{slug}/posts" in document["paths"]
    assert client.get("/api/v1/docs").status_code == 200
