"""The inbox page: the list with filters, the conversation, the contact; every basic action
as a plain form post (no JavaScript), the live refresh's "nothing changed", presence."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from inbox_helpers import conversation, inbound

from socialdesk.inbox.models import (
    ConversationStatus,
    Direction,
    Note,
    SavedReply,
    Sentiment,
)
from socialdesk.publishing.dispatch import run
from socialdesk.workspaces.models import User
from socialdesk.workspaces.roles import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def community_manager(workspace, members) -> User:
    return members["community_manager"]


@pytest.fixture
def two(workspace, channel):
    now = timezone.now()
    older = conversation(
        workspace, channel, "ada.example", "Do you bake on Sundays?", at=now - timedelta(hours=2)
    )
    newer = conversation(
        workspace,
        channel,
        "bob.example",
        "My order arrived squashed!",
        at=now - timedelta(minutes=5),
        sentiment=Sentiment.NEGATIVE,
    )
    return older, newer


def url(name, workspace, *args):
    return reverse(name, args=[workspace.slug, *args])


def test_the_list_shows_the_newest_first_with_the_last_message(signed_in, owner, workspace, two):
    older, newer = two
    page = signed_in(owner).get(url("inbox", workspace))
    assert page.status_code == 200
    html = page.content.decode()
    assert html.index("My order arrived squashed!") < html.index("Do you bake on Sundays?")
    assert 'class="nav-badge"' in html and ">2<" in html  # the sidebar's "Inbox 2"


def test_filters_narrow_the_list_and_a_bad_value_is_ignored(signed_in, owner, workspace, two):
    client = signed_in(owner)
    negative = client.get(url("inbox", workspace), {"sentiment": "negative"}).content.decode()
    assert "My order arrived" in negative and "Sundays" not in negative
    bad = client.get(url("inbox", workspace), {"sentiment": "furious", "tag": "x'--"})
    assert bad.status_code == 200
    assert "Sundays" in bad.content.decode()


def test_a_conversation_shows_its_messages_contact_history_and_reply_box(
    signed_in, community_manager, workspace, channel, two
):
    older, newer = two
    again = conversation(workspace, channel, "ada.example", "And on Mondays?")
    page = signed_in(community_manager).get(url("inbox_conversation", workspace, again.pk))
    html = page.content.decode()
    assert page.status_code == 200
    assert "And on Mondays?" in html
    assert 'id="reply-text"' in html
    # Ada's earlier conversation is in her history.
    assert url("inbox_conversation", workspace, older.pk) in html


def test_reply_without_javascript_records_the_answer_and_makes_it_pending(
    signed_in, community_manager, workspace, two
):
    _, newer = two
    response = signed_in(community_manager).post(
        url("inbox_reply", workspace, newer.pk),
        {"text": "So sorry! A new cake is on its way.", "keep_status": "new"},
    )
    assert response.status_code == 302
    assert response["Location"].endswith(f"/inbox/{newer.pk}/?status=new")
    sent = newer.messages.get(direction=Direction.OUTBOUND)
    assert sent.text == "So sorry! A new cake is on its way."
    assert sent.author_user == community_manager
    # The engine sends it (the page emails the asker); sent, the conversation is pending.
    assert run(sent.delivery_id, "test-worker") == "published"
    newer.refresh_from_db()
    assert newer.status == ConversationStatus.PENDING


def test_an_empty_reply_is_refused_and_nothing_is_sent(signed_in, owner, workspace, two):
    _, newer = two
    response = signed_in(owner).post(url("inbox_reply", workspace, newer.pk), {"text": "   "})
    assert response.status_code == 400
    assert "Write a reply" in response.content.decode()
    assert not newer.messages.filter(direction=Direction.OUTBOUND).exists()


def test_a_saved_reply_fills_in_its_variables_when_the_box_is_empty(
    signed_in, owner, workspace, two
):
    _, newer = two
    saved = SavedReply.objects.create(
        workspace=workspace, name="Sorry", text="Hello {first_name}, we are on it."
    )
    signed_in(owner).post(url("inbox_reply", workspace, newer.pk), {"saved_reply": saved.pk})
    assert newer.messages.get(direction=Direction.OUTBOUND).text == "Hello Bob, we are on it."


def test_someone_elses_reply_meanwhile_stops_mine_with_a_clear_message(
    signed_in, owner, manager, workspace, two
):
    _, newer = two
    seen = newer.messages.get().pk
    signed_in(manager).post(url("inbox_reply", workspace, newer.pk), {"text": "On it."})
    response = signed_in(owner).post(
        url("inbox_reply", workspace, newer.pk),
        {"text": "Sorry about that!", "seen_message_id": seen},
    )
    assert response.status_code == 400
    assert "Manager has answered meanwhile" in response.content.decode()
    assert "Sorry about that!" in response.content.decode()  # kept in the box
    assert newer.messages.filter(direction=Direction.OUTBOUND).count() == 1


def test_assign_to_me_resolve_and_reopen_are_plain_forms(
    signed_in, community_manager, workspace, two
):
    _, newer = two
    client = signed_in(community_manager)
    client.post(url("inbox_assign", workspace, newer.pk), {"assignee": "me"})
    newer.refresh_from_db()
    assert newer.assignee == community_manager
    client.post(url("inbox_status", workspace, newer.pk), {"status": "resolved"})
    newer.refresh_from_db()
    assert newer.status == ConversationStatus.RESOLVED
    client.post(url("inbox_status", workspace, newer.pk), {"status": "new"})
    newer.refresh_from_db()
    assert newer.status == ConversationStatus.NEW


def test_only_managers_assign_others_and_only_to_people_who_answer(
    signed_in, community_manager, manager, analyst, workspace, two
):
    _, newer = two
    refused = signed_in(community_manager).post(
        url("inbox_assign", workspace, newer.pk), {"assignee": manager.pk}
    )
    assert refused.status_code == 403
    client = signed_in(manager)
    client.post(url("inbox_assign", workspace, newer.pk), {"assignee": analyst.pk})
    newer.refresh_from_db()
    assert newer.assignee is None  # an analyst does not answer the inbox
    client.post(url("inbox_assign", workspace, newer.pk), {"assignee": community_manager.pk})
    newer.refresh_from_db()
    assert newer.assignee == community_manager


def test_an_analyst_reads_but_cannot_act(signed_in, analyst, workspace, two):
    _, newer = two
    client = signed_in(analyst)
    page = client.get(url("inbox_conversation", workspace, newer.pk)).content.decode()
    assert "My order arrived" in page and 'id="reply-text"' not in page
    assert client.post(url("inbox_reply", workspace, newer.pk), {"text": "hi"}).status_code == 403
    assert (
        client.post(url("inbox_status", workspace, newer.pk), {"status": "resolved"}).status_code
        == 403
    )


@pytest.mark.parametrize("role", [Role.CLIENT, Role.APPROVER])
def test_roles_without_the_inbox_get_403(signed_in, members, workspace, role, two):
    assert signed_in(members[role]).get(url("inbox", workspace)).status_code == 403


def test_an_outsider_does_not_learn_the_inbox_exists(signed_in, outsider, workspace, two):
    _, newer = two
    client = signed_in(outsider)
    assert client.get(url("inbox", workspace)).status_code == 404
    assert client.get(url("inbox_conversation", workspace, newer.pk)).status_code == 404
    assert client.post(url("inbox_reply", workspace, newer.pk), {"text": "x"}).status_code == 404


def test_another_workspaces_conversation_is_404(
    signed_in, outsider, other_workspace, other_channel, workspace, two
):
    _, newer = two
    client = signed_in(outsider)
    response = client.get(url("inbox_conversation", other_workspace, newer.pk))
    assert response.status_code == 404


def test_notes_on_the_conversation_and_the_contact(signed_in, owner, workspace, two):
    _, newer = two
    client = signed_in(owner)
    client.post(url("inbox_note", workspace, newer.pk), {"text": "Refund approved by Hugo."})
    client.post(url("inbox_contact_notes", workspace, newer.pk), {"notes": "Orders every Friday."})
    assert Note.objects.get(conversation=newer).text == "Refund approved by Hugo."
    newer.contact.refresh_from_db()
    assert newer.contact.notes == "Orders every Friday."
    page = client.get(url("inbox_conversation", workspace, newer.pk)).content.decode()
    assert "Refund approved by Hugo." in page and "Orders every Friday." in page


def test_the_live_refresh_answers_204_when_nothing_changed_and_the_list_when_it_did(
    signed_in, owner, workspace, two
):
    client = signed_in(owner)
    page = client.get(url("inbox", workspace)).content.decode()
    poll = page.split('hx-get="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    quiet = client.get(poll, HTTP_HX_REQUEST="true")
    assert quiet.status_code == 204
    assert quiet["ETag"]
    older, _ = two
    inbound(older, "Hello again?")
    changed = client.get(poll, HTTP_HX_REQUEST="true")
    assert changed.status_code == 200
    html = changed.content.decode()
    assert "Hello again?" in html
    assert 'id="inbox-badge" class="nav-badge" hx-swap-oob="true"' in html


def test_presence_shows_who_is_viewing_and_typing(signed_in, owner, manager, workspace, two):
    _, newer = two
    signed_in(manager).post(
        url("inbox_presence", workspace, newer.pk), {"typing": "1"}, HTTP_HX_REQUEST="true"
    )
    answer = signed_in(owner).post(
        url("inbox_presence", workspace, newer.pk), {"typing": "0"}, HTTP_HX_REQUEST="true"
    )
    assert "Manager is typing a reply" in answer.content.decode()
    page = signed_in(owner).get(url("inbox_conversation", workspace, newer.pk)).content.decode()
    assert "Manager is typing a reply" in page


def test_older_conversations_are_a_page_away(signed_in, owner, workspace, channel):
    now = timezone.now()
    for n in range(55):
        conversation(
            workspace, channel, f"p{n}.example", f"message {n}", at=now - timedelta(minutes=n)
        )
    client = signed_in(owner)
    first = client.get(url("inbox", workspace)).content.decode()
    assert "message 0<" in first and "message 54<" not in first
    cursor = first.split("cursor=", 1)[1].split('"', 1)[0]
    second = client.get(url("inbox", workspace) + "?cursor=" + cursor).content.decode()
    assert "message 54<" in second and "message 0<" not in second
    garbled = client.get(url("inbox", workspace), {"cursor": "not-a-cursor"})
    assert garbled.status_code == 200
