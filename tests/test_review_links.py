"""Client review links: a client without an account sees the posts on the link as they will
look on each network, approves, asks for changes and comments; every action is audited with
the link. Tampered, expired, revoked or unknown links answer the same 404 and leak nothing;
internal comments never appear on a link's page."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from api_helpers import call
from django.core.exceptions import ValidationError
from django.utils import timezone

from socialdesk.content.services import PostContent, create_post
from socialdesk.notifications.models import Notification
from socialdesk.review import services
from socialdesk.review.links import open_link, token_for
from socialdesk.review.models import Comment, ReviewLink
from socialdesk.workflow.models import AuditEvent, Decision
from socialdesk.workspaces.models import Membership

pytestmark = pytest.mark.django_db


def make_link(workspace, by, posts, **kwargs):
    kwargs.setdefault("expires_at", timezone.now() + timedelta(days=7))
    return services.create_link(
        workspace, by, "Acme legal", post_ids=[p.pk for p in posts], **kwargs
    )


def url(link):
    return f"/review/{token_for(link)}/"


@pytest.fixture
def link(workspace, manager, post):
    return make_link(workspace, manager, [post])


def test_the_client_page_shows_each_post_as_it_will_look_on_its_networks(client, link, post):
    response = client.get(url(link))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Fresh sourdough at 7" in page
    assert "preview-page" in page  # the public page's styled preview
    assert "Acme legal" in page
    assert 'class="sidebar' not in page  # no app chrome for a client
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cache-Control"] == "no-store"


def test_internal_comments_never_appear_on_the_client_page(client, link, post, creator):
    creator_membership = Membership.objects.get(user=creator)
    first = services.add_comment(
        post, "INTERNAL-SECRET margin talk", author=creator, membership=creator_membership
    )
    services.add_comment(
        post,
        "INTERNAL-REPLY still secret",
        author=creator,
        membership=creator_membership,
        parent_id=first.pk,
    )
    services.add_comment(
        post,
        "SHARED-HELLO dear client",
        author=creator,
        membership=creator_membership,
        internal=False,
    )
    page = client.get(url(link)).content.decode()
    assert "SHARED-HELLO" in page
    assert "INTERNAL" not in page
    # Nor after the client's own comment re-renders the page with an error.
    bad = client.post(f"{url(link)}posts/{post.pk}/comment/", {"body": ""})
    assert bad.status_code == 400
    assert "INTERNAL" not in bad.content.decode()


def without_csrf(content: bytes) -> str:
    # Each page carries a freshly masked CSRF token; everything else must be identical.
    return re.sub(r'"X-CSRFToken": "[^"]*"', "", content.decode())


def assert_same_404(client, path, reference):
    response = client.get(path)
    assert response.status_code == 404
    assert without_csrf(response.content) == without_csrf(reference)


def test_tampered_expired_revoked_and_unknown_links_answer_the_same_404(
    client, workspace, manager, post
):
    reference = client.get("/review/nothing-here/").content
    good = make_link(workspace, manager, [post])
    token = token_for(good)
    assert client.get(f"/review/{token}/").status_code == 200
    # Tampered: one character of the signature or of the payload changed.
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert_same_404(client, f"/review/{flipped}/", reference)
    payload_changed = ("x" if token[0] != "x" else "y") + token[1:]
    assert_same_404(client, f"/review/{payload_changed}/", reference)
    # A well-signed token for a link that does not exist.
    ghost = ReviewLink(pk=good.pk + 1000, nonce="whatever")
    assert_same_404(client, f"/review/{token_for(ghost)}/", reference)
    # Expired.
    ReviewLink.objects.filter(pk=good.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert_same_404(client, f"/review/{token}/", reference)
    # Revoked (and not expired).
    ReviewLink.objects.filter(pk=good.pk).update(expires_at=timezone.now() + timedelta(days=1))
    assert client.get(f"/review/{token}/").status_code == 200
    services.revoke_link(good, manager)
    assert_same_404(client, f"/review/{token}/", reference)
    # The action URLs too, and they change nothing.
    for action in ("decide", "comment"):
        response = client.post(
            f"/review/{token}/posts/{post.pk}/{action}/",
            {"decision": "approve", "body": "hi"},
        )
        assert response.status_code == 404
        assert without_csrf(response.content) == without_csrf(reference)
    assert not Comment.objects.exists()
    assert not Decision.objects.exists()


def test_a_token_from_another_signing_salt_or_key_is_refused(workspace, manager, post, settings):
    link = make_link(workspace, manager, [post])
    token = token_for(link)
    settings.SECRET_KEY = "another-secret-key-" + "x" * 40
    with pytest.raises(Exception) as caught:
        open_link(token)
    assert caught.type.__name__ == "Http404"


def test_a_post_outside_the_link_is_404_on_the_link(client, link, workspace, creator, channel):
    other = create_post(
        workspace, creator, PostContent(text="Secret launch", channel_ids=[channel.pk])
    )
    assert "Secret launch" not in client.get(url(link)).content.decode()
    response = client.post(f"{url(link)}posts/{other.pk}/comment/", {"body": "I see you"})
    assert response.status_code == 404
    assert not Comment.objects.exists()


def test_a_client_comment_is_external_audited_with_the_link_and_tells_the_team(
    client, link, post, owner, manager
):
    response = client.post(
        f"{url(link)}posts/{post.pk}/comment/",
        {"body": "Could it say 'from 7 am'?"},
        REMOTE_ADDR="203.0.113.9",
        HTTP_USER_AGENT="ClientBrowser/1.0",
    )
    assert response.status_code == 302
    made = Comment.objects.get()
    assert made.internal is False and made.author is None and made.review_link == link
    assert made.who == "Acme legal (client)"
    event = AuditEvent.objects.get(action="review.client_comment")
    assert event.via == f"review link #{link.pk} (Acme legal)"
    assert event.ip == "203.0.113.9" and event.user_agent == "ClientBrowser/1.0"
    told = Notification.objects.filter(event="review.client_action")
    assert {n.recipient for n in told} >= {owner, manager}
    # The team sees it on the post's page; the client sees it on the link.
    assert "from 7 am" in client.get(url(link)).content.decode()


def test_the_client_approves_through_the_link_and_the_decision_is_audited(client, link, post):
    response = client.post(
        f"{url(link)}posts/{post.pk}/decide/", {"decision": "approve"}, REMOTE_ADDR="198.51.100.4"
    )
    assert response.status_code == 302, response.content.decode()[:500]
    decision = Decision.objects.get()
    assert decision.decision == "approve" and decision.user is None
    assert decision.review_link_id == link.pk
    assert decision.version == post.latest_version
    event = AuditEvent.objects.get(action="approval.approve")
    assert event.via == f"review link #{link.pk} (Acme legal)"
    assert event.ip == "198.51.100.4"


def test_requesting_changes_needs_a_comment_and_records_nothing_without_one(client, link, post):
    response = client.post(
        f"{url(link)}posts/{post.pk}/decide/", {"decision": "request_changes", "comment": " "}
    )
    assert response.status_code == 400
    assert "comment is required" in response.content.decode()
    assert not Decision.objects.exists()
    ok = client.post(
        f"{url(link)}posts/{post.pk}/decide/",
        {"decision": "request_changes", "comment": "Say 'sourdough loaf'."},
    )
    assert ok.status_code == 302
    assert Decision.objects.get().comment == "Say 'sourdough loaf'."


def test_a_link_has_a_comment_budget_per_hour(link, post):
    now = timezone.now()
    for number in range(services.LINK_COMMENTS_PER_HOUR):
        services.add_comment(post, f"note {number}", link=link, now=now)
    with pytest.raises(ValidationError) as caught:
        services.add_comment(post, "one too many", link=link, now=now)
    assert "wait" in caught.value.message_dict["body"][0]
    # An hour later the client may write again.
    services.add_comment(post, "next day", link=link, now=now + timedelta(hours=1, seconds=1))


def test_a_date_range_link_shows_the_posts_scheduled_in_those_workspace_days(
    workspace, manager, creator, channel, post
):
    when = post.deliveries.get().scheduled_at.astimezone(workspace.zone).date()
    unscheduled = create_post(
        workspace, creator, PostContent(text="Draft", channel_ids=[channel.pk])
    )
    ranged = services.create_link(
        workspace,
        manager,
        "This week",
        expires_at=timezone.now() + timedelta(days=3),
        starts_on=when,
        ends_on=when,
    )
    assert list(services.link_posts(ranged)) == [post]
    earlier = services.create_link(
        workspace,
        manager,
        "Last week",
        expires_at=timezone.now() + timedelta(days=3),
        starts_on=when - timedelta(days=7),
        ends_on=when - timedelta(days=1),
    )
    assert list(services.link_posts(earlier)) == []
    assert unscheduled not in services.link_posts(ranged)


def test_creating_a_link_checks_every_field_at_once(workspace, manager, other_post):
    with pytest.raises(ValidationError) as caught:
        services.create_link(
            workspace,
            manager,
            "",
            expires_at=timezone.now() - timedelta(minutes=1),
            post_ids=[other_post.pk],
        )
    errors = caught.value.message_dict
    assert set(errors) == {"name", "expires_at", "post_ids"}
    with pytest.raises(ValidationError) as caught:
        services.create_link(
            workspace,
            manager,
            "Range",
            expires_at=timezone.now() + timedelta(days=1),
            starts_on=date(2030, 5, 2),
            ends_on=date(2030, 5, 1),
        )
    assert "ends_on" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        services.create_link(
            workspace, manager, "Nothing", expires_at=timezone.now() + timedelta(days=1)
        )
    assert "post_ids" in caught.value.message_dict
    assert not ReviewLink.objects.exists()


def test_creating_and_revoking_are_audited(workspace, manager, post):
    link = make_link(workspace, manager, [post])
    services.revoke_link(link, manager)
    services.revoke_link(link, manager)  # twice is harmless
    actions = list(AuditEvent.objects.order_by("id").values_list("action", "actor_id"))
    assert actions == [("review_link.create", manager.pk), ("review_link.revoke", manager.pk)]


# --- The team's page ----------------------------------------------------------------------


def test_a_manager_creates_a_link_on_the_page_and_copies_its_address(
    workspace, manager, post, signed_in
):
    web = signed_in(manager)
    expires = (timezone.localdate() + timedelta(days=10)).isoformat()
    response = web.post(
        "/w/crumb/review-links/", {"name": "Acme legal", "posts": [post.pk], "expires_on": expires}
    )
    assert response.status_code == 302
    link = ReviewLink.objects.get()
    assert link.name == "Acme legal" and list(link.posts.all()) == [post]
    page = web.get("/w/crumb/review-links/").content.decode()
    assert token_for(link) in page
    revoke = web.post(f"/w/crumb/review-links/{link.pk}/revoke/")
    assert revoke.status_code == 302
    assert token_for(link) not in web.get("/w/crumb/review-links/").content.decode()


def test_the_link_form_names_what_to_fix(manager, signed_in):
    response = signed_in(manager).post("/w/crumb/review-links/", {"name": "X", "expires_on": ""})
    assert response.status_code == 400
    assert "field-errors" in response.content.decode()


@pytest.mark.parametrize("role", ["creator", "client", "analyst"])
def test_roles_without_the_permission_cannot_manage_links(role, person, signed_in, post):
    web = signed_in(person(role))
    assert web.post("/w/crumb/review-links/", {"name": "x"}).status_code == 403


def test_an_outsider_cannot_see_the_links_page(outsider, signed_in, link):
    assert signed_in(outsider).get("/w/crumb/review-links/").status_code == 404


# --- API ----------------------------------------------------------------------------------


def test_the_api_creates_lists_and_revokes_links_and_the_url_opens(
    client, manager, post, token_for
):
    token = token_for(manager)
    made = call(
        "post",
        "/workspaces/crumb/review-links",
        token,
        {
            "name": "Acme legal",
            "post_ids": [post.pk],
            "expires_at": (timezone.now() + timedelta(days=2)).isoformat(),
        },
    )
    assert made.status_code == 201, made.content
    body = made.json()
    assert body["status"] == "open" and body["post_ids"] == [post.pk]
    path = body["url"].split("testserver", 1)[1]
    assert client.get(path).status_code == 200
    listed = call("get", "/workspaces/crumb/review-links", token).json()
    assert [item["id"] for item in listed] == [body["id"]]
    revoked = call("post", f"/workspaces/crumb/review-links/{body['id']}/revoke", token)
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    assert revoked.json()["url"] is None
    assert client.get(path).status_code == 404


def test_the_api_refuses_a_link_without_posts_or_range_with_422(manager, token_for):
    response = call(
        "post",
        "/workspaces/crumb/review-links",
        token_for(manager),
        {"name": "Empty", "expires_at": (timezone.now() + timedelta(days=2)).isoformat()},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "post_ids"


def test_a_link_whose_chosen_posts_were_all_deleted_answers_the_same_404(
    client, workspace, manager, post
):
    reference = client.get("/review/nothing-here/").content
    link = make_link(workspace, manager, [post])
    assert client.get(url(link)).status_code == 200
    post.delete()
    assert_same_404(client, url(link), reference)
    assert "Acme legal" not in client.get(url(link)).content.decode()
