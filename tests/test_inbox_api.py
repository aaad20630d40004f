"""The inbox API: list with filters and keyset pages, read with messages, assign, status,
tags/priority/sentiment correction, contacts with history and notes; bad input is a 422."""

from __future__ import annotations

from datetime import timedelta

import pytest
from api_helpers import call
from django.utils import timezone
from inbox_helpers import conversation

from socialdesk.inbox.models import Conversation

pytestmark = pytest.mark.django_db
BASE = "/api/v1/workspaces/crumb/inbox"


@pytest.fixture
def three(workspace, channel):
    now = timezone.now()
    return [
        conversation(workspace, channel, f"p{n}.test", f"question {n}", at=now - timedelta(hours=n))
        for n in range(3)
    ]


def test_the_list_pages_newest_first_and_filters(three, owner, token_for, members):
    token = token_for(owner)
    first = call("get", f"{BASE}/conversations?limit=2", token).json()
    assert [c["id"] for c in first["items"]] == [three[0].pk, three[1].pk]
    second = call("get", f"{BASE}/conversations?limit=2&cursor={first['next_cursor']}", token)
    assert [c["id"] for c in second.json()["items"]] == [three[2].pk]
    assert second.json()["next_cursor"] is None
    Conversation.objects.filter(pk=three[1].pk).update(assignee=owner)
    mine = call("get", f"{BASE}/conversations?assignee=me", token).json()["items"]
    assert [c["id"] for c in mine] == [three[1].pk]


def test_bad_filters_and_cursors_are_422(three, owner, token_for):
    token = token_for(owner)
    for query in ("status=lost", "assignee=someone", "cursor=abc", "limit=0"):
        response = call("get", f"{BASE}/conversations?{query}", token)
        assert response.status_code == 422, query


def test_read_assign_status_and_update(three, owner, members, token_for):
    token = token_for(owner)
    target = three[0]
    read = call("get", f"{BASE}/conversations/{target.pk}", token).json()
    assert read["messages"][0]["text"] == "question 0"
    cm = members["community_manager"]
    assigned = call("post", f"{BASE}/conversations/{target.pk}/assign", token,
                    json_body={"assignee_id": cm.pk})  # fmt: skip
    assert assigned.json()["assignee_id"] == cm.pk
    refused = call("post", f"{BASE}/conversations/{target.pk}/assign", token,
                   json_body={"assignee_id": members["analyst"].pk})  # fmt: skip
    assert refused.status_code == 422
    resolved = call("post", f"{BASE}/conversations/{target.pk}/status", token,
                    json_body={"status": "resolved"})  # fmt: skip
    assert resolved.json()["status"] == "resolved"
    updated = call("patch", f"{BASE}/conversations/{target.pk}", token,
                   json_body={"tags": ["order", "allergy"], "sentiment": "negative"})  # fmt: skip
    body = updated.json()
    assert body["tags"] == ["allergy", "order"]
    assert body["sentiment"] == "negative" and body["sentiment_corrected"] is True


def test_a_community_manager_takes_a_conversation_but_cannot_assign_others(
    three, members, token_for
):
    token = token_for(members["community_manager"])
    taken = call("post", f"{BASE}/conversations/{three[0].pk}/take", token)
    assert taken.json()["assignee_id"] == members["community_manager"].pk
    refused = call("post", f"{BASE}/conversations/{three[0].pk}/assign", token,
                   json_body={"assignee_id": None})  # fmt: skip
    assert refused.status_code == 403


def test_contacts_with_history_and_notes(three, owner, token_for, workspace, channel):
    token = token_for(owner)
    again = conversation(workspace, channel, "p0.test", "me again")
    contact_id = again.contact_id
    listed = call("get", f"{BASE}/contacts?q=p0", token).json()
    assert [c["id"] for c in listed] == [contact_id]
    read = call("get", f"{BASE}/contacts/{contact_id}", token).json()
    assert [c["id"] for c in read["conversations"]] == [again.pk, three[0].pk]
    updated = call("patch", f"{BASE}/contacts/{contact_id}", token,
                   json_body={"notes": "Allergic to nuts."})  # fmt: skip
    assert updated.json()["notes"] == "Allergic to nuts."
