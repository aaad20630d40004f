"""Comments on post versions: threads, @mentions that notify, resolve/reopen, and the
internal/external split (a client member never reads an internal comment)."""

from __future__ import annotations

import pytest
from api_helpers import call
from django.core.exceptions import ValidationError

from socialdesk.content.services import PostContent, update_post
from socialdesk.notifications.models import Notification
from socialdesk.review import services
from socialdesk.review.models import Comment
from socialdesk.workspaces.models import Membership

pytestmark = pytest.mark.django_db


def membership(user):
    return Membership.objects.get(user=user)


def comment(post, user, body, **kwargs):
    return services.add_comment(post, body, author=user, membership=membership(user), **kwargs)


def test_a_team_comment_is_internal_by_default_and_points_at_the_current_version(post, creator):
    made = comment(post, creator, "Can we say 'from 7 am'?")
    assert made.internal is True
    assert made.version == post.latest_version
    update_post(post, creator, PostContent(text="Fresh sourdough from 7 am 🍞"))
    later = comment(post, creator, "Done.")
    assert later.version.number == 2 and made.version.number == 1


def test_mentions_by_email_handle_and_name_notify_those_members_only(
    post, creator, approver, manager, owner
):
    made = comment(post, creator, "@approver please check; also @Manager.")
    assert set(made.mentions.all()) == {approver, manager}
    told = Notification.objects.filter(event="comment.mention")
    assert sorted(n.recipient.email for n in told) == sorted([manager.email, approver.email])
    assert not told.filter(recipient=owner).exists()
    assert not told.filter(recipient=creator).exists()  # nobody is told about themself


def test_a_mention_by_full_email_works_and_an_email_in_the_text_is_not_a_mention(
    post, creator, approver, owner
):
    made = comment(post, creator, f"cc @{approver.email} — write to {owner.email} for prices")
    assert list(made.mentions.all()) == [approver]


def test_a_handle_two_members_share_mentions_nobody(post, creator, approver, analyst):
    approver.name = "Sam Jones"
    approver.save()
    analyst.name = "Sam Lee"
    analyst.save()
    made = comment(post, creator, "@sam have a look")
    assert list(made.mentions.all()) == []
    assert not Notification.objects.filter(event="comment.mention").exists()


def test_an_internal_comment_does_not_notify_a_client_member_who_cannot_read_it(
    post, creator, client_user
):
    made = comment(post, creator, "@client will hate this")
    assert list(made.mentions.all()) == []
    shared = comment(post, creator, "@client what do you think?", internal=False)
    assert list(shared.mentions.all()) == [client_user]
    assert Notification.objects.filter(recipient=client_user, event="comment.mention").count() == 1


def test_a_reply_joins_the_thread_and_tells_the_earlier_writers(post, creator, approver):
    first = comment(post, approver, "The price is missing.")
    reply = comment(post, creator, "Added it.", parent_id=first.pk)
    again = comment(post, approver, "Thanks!", parent_id=reply.pk)
    assert reply.parent == first and again.parent == first  # one level of threading
    assert Notification.objects.filter(recipient=approver, event="comment.reply").count() == 1
    assert Notification.objects.filter(recipient=creator, event="comment.reply").count() == 1
    threads = services.threads(services.visible_comments(post, internal=True))
    assert [(root.pk, [r.pk for r in replies]) for root, replies in threads] == [
        (first.pk, [reply.pk, again.pk])
    ]


def test_a_reply_to_an_internal_comment_stays_internal(post, creator, approver):
    first = comment(post, approver, "Legal must see this.")
    reply = comment(post, creator, "Sent.", parent_id=first.pk, internal=False)
    assert reply.internal is True


def test_a_client_member_writes_external_comments_and_cannot_answer_internal_ones(
    post, creator, client_user
):
    internal = comment(post, creator, "Between us: the photo is dark.")
    made = comment(post, client_user, "Looks lovely", internal=True)
    assert made.internal is False
    with pytest.raises(ValidationError) as caught:
        comment(post, client_user, "What photo?", parent_id=internal.pk)
    assert "parent_id" in caught.value.message_dict


def test_an_empty_or_oversized_comment_is_refused_with_what_to_fix(post, creator):
    with pytest.raises(ValidationError) as caught:
        comment(post, creator, "   ")
    assert "empty" in caught.value.message_dict["body"][0]
    with pytest.raises(ValidationError):
        comment(post, creator, "x" * 5001)
    assert not Comment.objects.exists()


def test_resolving_a_reply_resolves_its_thread_and_it_can_be_reopened(post, creator, approver):
    first = comment(post, approver, "Typo in 'sourdough'?")
    reply = comment(post, creator, "No, it is right.", parent_id=first.pk)
    root = services.set_resolved(reply, approver)
    assert root.pk == first.pk and root.is_resolved and root.resolved_by == approver
    services.set_resolved(first, approver, resolved=False)
    first.refresh_from_db()
    assert not first.is_resolved


# --- Web ----------------------------------------------------------------------------------


def test_the_versions_page_shows_the_comments_and_a_client_member_sees_only_shared_ones(
    post, creator, signed_in, client_user, approver
):
    comment(post, creator, "INTERNAL-NOTE about margins")
    comment(post, creator, "SHARED-NOTE for the client", internal=False)
    url = f"/w/crumb/posts/{post.pk}/versions/"
    team_page = signed_in(approver).get(url).content.decode()
    assert "INTERNAL-NOTE" in team_page and "SHARED-NOTE" in team_page
    client_page = signed_in(client_user).get(url).content.decode()
    assert "SHARED-NOTE" in client_page
    assert "INTERNAL-NOTE" not in client_page


def test_posting_a_comment_with_htmx_answers_the_panel_and_without_redirects(
    post, creator, signed_in
):
    web = signed_in(creator)
    url = f"/w/crumb/posts/{post.pk}/comments/"
    response = web.post(url, {"body": "Shorter, please", "internal": "on"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert 'id="comments"' in response.content.decode()
    assert "Shorter, please" in response.content.decode()
    plain = web.post(url, {"body": "And warmer", "internal": "on"})
    assert plain.status_code == 302
    assert Comment.objects.count() == 2
    bad = web.post(url, {"body": ""}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 400
    assert "field-errors" in bad.content.decode()


def test_resolve_through_the_page(post, creator, approver, signed_in):
    first = comment(post, creator, "Check the hours")
    response = signed_in(approver).post(
        f"/w/crumb/comments/{first.pk}/resolve/", {"resolved": "1"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert "Reopen" in response.content.decode()
    first.refresh_from_db()
    assert first.is_resolved


def test_an_analyst_reads_comments_but_cannot_write_and_an_outsider_gets_404(
    post, analyst, outsider, signed_in, client
):
    url = f"/w/crumb/posts/{post.pk}/comments/"
    assert signed_in(analyst).get(url).status_code == 200
    assert client.post(url, {"body": "hi"}).status_code == 403
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    assert client.get(f"/w/crumb/posts/{post.pk}/versions/").status_code == 404


# --- API ----------------------------------------------------------------------------------


def test_the_api_creates_lists_and_resolves_comments(post, creator, approver, token_for):
    path = f"/workspaces/crumb/posts/{post.pk}/comments"
    made = call("post", path, token_for(creator), {"body": "@approver ready for you"})
    assert made.status_code == 201, made.content
    body = made.json()
    assert body["internal"] is True and body["version"] == 1
    assert body["mention_ids"] == [approver.pk]
    listed = call("get", path, token_for(approver)).json()
    assert [c["id"] for c in listed] == [body["id"]]
    resolved = call(
        "post", f"/workspaces/crumb/comments/{body['id']}/resolve", token_for(approver), {}
    )
    assert resolved.status_code == 200 and resolved.json()["resolved_at"]


def test_the_api_gives_a_client_member_only_shared_comments(post, creator, client_user, token_for):
    comment(post, creator, "internal only")
    shared = comment(post, creator, "for everyone", internal=False)
    listed = call("get", f"/workspaces/crumb/posts/{post.pk}/comments", token_for(client_user))
    assert [c["id"] for c in listed.json()] == [shared.pk]


def test_the_api_refuses_a_reply_to_a_comment_of_another_post_with_422(
    post, creator, token_for, workspace, channel
):
    from socialdesk.content.services import create_post

    other = create_post(workspace, creator, PostContent(text="Rye", channel_ids=[channel.pk]))
    elsewhere = comment(other, creator, "on the rye post")
    response = call(
        "post",
        f"/workspaces/crumb/posts/{post.pk}/comments",
        token_for(creator),
        {"body": "reply", "parent_id": elsewhere.pk},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "parent_id"
