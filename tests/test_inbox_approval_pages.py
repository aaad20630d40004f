"""Reply approval in the inbox pages: the setting on the inbox settings page, a waiting reply
shown as "awaiting approval" to everyone, Approve / Edit & approve / Reject for approvers only
(plain form posts), the "waiting for approval" list and count, and the rejection's note for
its author."""

from __future__ import annotations

import pytest
from django.urls import reverse
from inbox_answer_helpers import page_question

from socialdesk.inbox import answering
from socialdesk.inbox.models import AnswerSettings, ApprovalState, ReplyApproval
from socialdesk.notifications.models import Notification
from socialdesk.publishing.dispatch import run
from socialdesk.publishing.models import Delivery, DeliveryState

pytestmark = pytest.mark.django_db


@pytest.fixture
def community_manager(members):
    return members["community_manager"]


@pytest.fixture
def question(workspace, channel):
    return page_question(workspace, channel)


@pytest.fixture
def waiting(workspace, owner, community_manager, question):
    """A community manager's reply, held for approval."""
    answering.set_approval_roles(workspace, owner, ["community_manager"])
    conversation, _ = question
    reply = answering.reply(conversation, community_manager, "Yes!! every day")
    return conversation, reply, ReplyApproval.objects.get(message=reply)


def page_of(client, workspace, conversation, **query):
    return client.get(
        reverse("inbox_conversation", args=[workspace.slug, conversation.pk]), query
    ).content.decode()


def action(name, workspace, conversation, approval):
    return reverse(name, args=[workspace.slug, conversation.pk, approval.pk])


# --- The setting --------------------------------------------------------------------------


def test_a_manager_chooses_whose_replies_wait_on_the_settings_page(signed_in, manager, workspace):
    client = signed_in(manager)
    url = reverse("inbox_service_settings", args=[workspace.slug])
    page = client.get(url).content.decode()
    assert "Whose replies wait for approval" in page
    assert 'value="community_manager"' in page and 'value="creator"' in page
    assert 'value="owner"' not in page  # an approver cannot be made to wait

    saved = client.post(url, {"section": "approval", "approval_roles": ["community_manager"]})

    assert saved.status_code == 302
    assert AnswerSettings.objects.get(workspace=workspace).approval_roles == ["community_manager"]
    assert 'value="community_manager" checked' in client.get(url).content.decode()
    client.post(url, {"section": "approval"})  # nothing ticked: nobody waits
    assert AnswerSettings.objects.get(workspace=workspace).approval_roles == []


def test_a_role_that_approves_cannot_be_listed_and_the_page_says_why(signed_in, manager, workspace):
    url = reverse("inbox_service_settings", args=[workspace.slug])
    refused = signed_in(manager).post(url, {"section": "approval", "approval_roles": ["manager"]})
    assert refused.status_code == 400
    assert "Not a role whose replies can wait for approval: manager" in refused.content.decode()
    assert "manager" not in answering.approval_roles_of(workspace)


def test_a_community_manager_cannot_change_the_setting(signed_in, community_manager, workspace):
    url = reverse("inbox_service_settings", args=[workspace.slug])
    response = signed_in(community_manager).post(
        url, {"section": "approval", "approval_roles": ["creator"]}
    )
    assert response.status_code in (403, 404)
    assert not AnswerSettings.objects.filter(workspace=workspace).exists()


# --- The conversation pane ----------------------------------------------------------------


def test_a_waiting_reply_shows_as_awaiting_approval_to_everyone_and_buttons_to_approvers(
    signed_in, workspace, manager, community_manager, waiting
):
    conversation, reply, approval = waiting
    client = signed_in(community_manager)
    author_view = page_of(client, workspace, conversation)
    assert "Yes!! every day" in author_view and "Awaiting approval" in author_view
    assert action("inbox_reply_approve", workspace, conversation, approval) not in author_view
    assert "repl" not in author_view.split("<h1>Inbox</h1>")[1].split("</div>")[0]

    approver_view = page_of(signed_in(manager), workspace, conversation)
    assert "Awaiting approval" in approver_view
    assert action("inbox_reply_approve", workspace, conversation, approval) in approver_view
    assert action("inbox_reply_reject", workspace, conversation, approval) in approver_view
    assert "1 reply waiting for approval" in approver_view


def test_an_approver_approves_and_the_reply_goes_out(
    signed_in, workspace, manager, community_manager, waiting
):
    conversation, reply, approval = waiting
    response = signed_in(manager).post(
        action("inbox_reply_approve", workspace, conversation, approval), {"keep_status": "new"}
    )
    assert response.status_code == 302
    assert response["Location"].endswith(f"/{conversation.pk}/?status=new")
    approval.refresh_from_db()
    reply.refresh_from_db()
    assert approval.state == ApprovalState.APPROVED and not approval.edited
    assert approval.decided_by == manager
    assert run(reply.delivery_id, "test-worker") == DeliveryState.PUBLISHED
    assert "Approved by Manager" in page_of(signed_in(manager), workspace, conversation)


def test_edit_and_approve_sends_the_approvers_words_and_keeps_the_authors(
    signed_in, workspace, owner, waiting
):
    conversation, reply, approval = waiting
    signed_in(owner).post(
        action("inbox_reply_approve", workspace, conversation, approval),
        {"text": "Yes, every day from 7 am."},
    )
    approval.refresh_from_db()
    reply.refresh_from_db()
    assert approval.state == ApprovalState.APPROVED and approval.edited
    assert approval.original_text == "Yes!! every day"
    assert reply.text == "Yes, every day from 7 am." and reply.delivery_id is not None


def test_an_empty_edit_is_refused_and_nothing_is_sent(signed_in, workspace, owner, waiting):
    conversation, reply, approval = waiting
    client = signed_in(owner)
    response = client.post(
        action("inbox_reply_approve", workspace, conversation, approval), {"text": "  "}
    )
    assert response.status_code == 302
    approval.refresh_from_db()
    assert approval.state == ApprovalState.AWAITING
    assert Delivery.engine.count() == 0
    assert "An edited reply cannot be empty." in client.get(response["Location"]).content.decode()


def test_a_rejection_needs_a_note_and_its_author_reads_it(
    signed_in, workspace, manager, community_manager, waiting
):
    conversation, reply, approval = waiting
    client = signed_in(manager)
    url = action("inbox_reply_reject", workspace, conversation, approval)
    client.post(url, {"note": ""})
    approval.refresh_from_db()
    assert approval.state == ApprovalState.AWAITING

    client.post(url, {"note": "Say which hours, please."})

    approval.refresh_from_db()
    assert approval.state == ApprovalState.REJECTED and approval.note == "Say which hours, please."
    assert Delivery.engine.count() == 0
    assert Notification.objects.filter(
        event="inbox.reply_rejected", recipient=community_manager
    ).exists()
    author_view = page_of(signed_in(community_manager), workspace, conversation)
    assert "Not approved" in author_view and "Say which hours, please." in author_view


@pytest.mark.parametrize("role", ["community_manager", "creator", "analyst"])
def test_only_approvers_may_approve_or_reject(signed_in, workspace, members, waiting, role):
    conversation, reply, approval = waiting
    client = signed_in(members[role])
    for name, data in (("inbox_reply_approve", {}), ("inbox_reply_reject", {"note": "no"})):
        response = client.post(action(name, workspace, conversation, approval), data)
        assert response.status_code in (403, 404), (role, name)
    approval.refresh_from_db()
    assert approval.state == ApprovalState.AWAITING


def test_an_outsider_cannot_approve(client, other_workspace, waiting, workspace):
    from socialdesk.workspaces.models import Membership, User

    outsider = User.objects.create_user(email="rival@example.test", password=None, name="Rival")
    Membership.objects.create(workspace=other_workspace, user=outsider, role="owner")
    client.force_login(outsider)
    conversation, reply, approval = waiting
    response = client.post(action("inbox_reply_approve", workspace, conversation, approval))
    assert response.status_code in (403, 404)
    approval.refresh_from_db()
    assert approval.state == ApprovalState.AWAITING


def test_a_decided_reply_cannot_be_decided_again(signed_in, workspace, manager, waiting):
    conversation, reply, approval = waiting
    client = signed_in(manager)
    client.post(action("inbox_reply_reject", workspace, conversation, approval), {"note": "No."})
    again = client.post(action("inbox_reply_approve", workspace, conversation, approval))
    assert again.status_code == 302
    approval.refresh_from_db()
    assert approval.state == ApprovalState.REJECTED and Delivery.engine.count() == 0
    assert "not waiting for approval" in client.get(again["Location"]).content.decode()


def test_approvers_find_waiting_replies_in_the_list(
    signed_in, workspace, channel, manager, waiting
):
    conversation, reply, approval = waiting
    other, _ = page_question(workspace, channel, number=2)
    client = signed_in(manager)
    listed = client.get(reverse("inbox", args=[workspace.slug]), {"approval": "awaiting"})
    html = listed.content.decode()
    assert f'id="conv-{conversation.pk}"' in html and f'id="conv-{other.pk}"' not in html
    assert "approval=awaiting" in html  # the live refresh keeps the filter


def test_the_author_is_told_the_reply_waits(
    signed_in, workspace, owner, community_manager, question
):
    answering.set_approval_roles(workspace, owner, ["community_manager"])
    conversation, asked = question
    client = signed_in(community_manager)
    response = client.post(
        reverse("inbox_reply", args=[workspace.slug, conversation.pk]),
        {"text": "Yes, we do.", "seen_message_id": asked.pk},
        follow=True,
    )
    html = response.content.decode()
    assert "Your reply waits for approval by an owner or a manager." in html
    assert "Awaiting approval" in html and Delivery.engine.count() == 0
