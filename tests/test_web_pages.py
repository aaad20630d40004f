"""Every page of the web UI, for each role: allowed (200), forbidden (403), outsider (404)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.conftest import ROLES

# page name → roles that may open it
PAGES = {
    "post_list": set(ROLES),
    "post_create": {"owner", "manager", "creator"},
    "post_edit": {"owner", "manager", "creator"},
    "post_delete": {"owner", "manager"},
    "members": {"owner", "manager", "creator", "approver", "analyst"},
    "workspace_settings": {"owner"},
    "api_tokens": {"owner", "manager", "creator", "approver", "analyst"},
}
# page name → roles sent elsewhere instead of refused: a member who may read a post but not
# edit it opening a post's address gets its read-only review page.
REDIRECTS = {"post_edit": {"approver", "client", "analyst", "community_manager"}}
CASES = [(page, role) for page in PAGES for role in ROLES]


def url_of(page: str, workspace, post) -> str:
    if page in {"post_edit", "post_delete"}:
        return reverse(page, args=[workspace.slug, post.pk])
    return reverse(page, args=[workspace.slug])


@pytest.mark.parametrize(("page", "role"), CASES)
def test_each_page_answers_each_role_by_its_permission(
    signed_in, person, workspace, post, page, role
):
    response = signed_in(person(role)).get(url_of(page, workspace, post))
    if role in REDIRECTS.get(page, set()):
        assert response.status_code == 302
        assert response["Location"] == reverse("workflow_post", args=[workspace.slug, post.pk])
        return
    expected = 200 if role in PAGES[page] else 403
    assert response.status_code == expected
    if expected == 403:
        assert "Your role does not allow this" in response.content.decode()


@pytest.mark.parametrize("page", list(PAGES))
def test_outsider_gets_a_friendly_404_for_every_page(signed_in, outsider, workspace, post, page):
    response = signed_in(outsider).get(url_of(page, workspace, post))
    assert response.status_code == 404
    body = response.content.decode()
    assert "find that page" in body
    assert "Crumb" not in body  # nothing about the workspace leaks


def test_outsider_cannot_open_a_post_of_their_own_workspace_through_ours(
    signed_in, owner, workspace, other_post
):
    response = signed_in(owner).get(reverse("post_edit", args=[workspace.slug, other_post.pk]))
    assert response.status_code == 404


def test_signed_out_visitor_is_sent_to_sign_in(client, workspace):
    response = client.get(reverse("post_list", args=[workspace.slug]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_navigation_marks_the_current_page_and_greys_what_the_role_lacks(
    signed_in, client_user, workspace
):
    body = signed_in(client_user).get(reverse("post_list", args=[workspace.slug])).content.decode()
    assert 'aria-current="page"' in body
    assert body.count('aria-disabled="true"') >= 2  # Members and Settings for a client
    assert reverse("members", args=[workspace.slug]) not in body


def test_switcher_lists_every_workspace_of_the_user_and_marks_the_current_one(
    signed_in, owner, workspace, other_workspace
):
    from socialdesk.workspaces.models import Membership

    Membership.objects.create(workspace=other_workspace, user=owner, role="analyst")
    body = signed_in(owner).get(reverse("post_list", args=[workspace.slug])).content.decode()
    assert "Rival Rolls" in body
    assert f'href="{reverse("post_list", args=[workspace.slug])}" aria-current="true"' in body


def test_body_carries_the_csrf_token_for_htmx_and_a_skip_link(signed_in, owner, workspace):
    body = signed_in(owner).get(reverse("post_list", args=[workspace.slug])).content.decode()
    assert 'hx-headers=\'{"X-CSRFToken": "' in body
    assert 'href="#main"' in body
    assert 'aria-live="polite"' in body
