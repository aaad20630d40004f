"""The crisis page, the banner on every workspace page, and the crisis API (issue 15, item 6).

Each turn of the switch asks for a confirmation on a page of its own (plain forms, no
JavaScript); a refusal is a clear message and a 400, never a half-written pause.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from api_helpers import call
from django.urls import reverse
from django.utils import timezone

from socialdesk.content.models import Post
from socialdesk.publishing import crisis
from socialdesk.publishing.models import CrisisPause, Delivery, DeliveryState

S = DeliveryState


def due_post(workspace, owner, channel, text: str = "Rye is back") -> Delivery:
    post = Post.objects.create(workspace=workspace, author=owner, text=text)
    return Delivery.objects.create(
        workspace=workspace,
        post=post,
        channel=channel,
        state=S.SCHEDULED,
        scheduled_at=timezone.now() - timedelta(seconds=5),
    )


def url(name: str, workspace) -> str:
    return reverse(name, args=[workspace.slug])


def test_turning_it_on_asks_for_a_reason_then_a_confirmation(workspace, owner, signed_in):
    client = signed_in(owner)
    page = client.get(url("crisis", workspace))
    assert page.status_code == 200 and b"Turn the switch on" in page.content

    asked = client.post(url("crisis_start", workspace), {"reason": "A recall of the rye"})
    assert asked.status_code == 200 and b"Yes, pause every scheduled post" in asked.content
    assert not CrisisPause.objects.exists()  # nothing until confirmed

    done = client.post(
        url("crisis_start", workspace), {"reason": "A recall of the rye", "confirm": "yes"}
    )
    assert done.status_code == 302
    pause = CrisisPause.objects.get()
    assert pause.started_by == owner and pause.reason == "A recall of the rye"


def test_an_empty_reason_is_refused_with_a_message(workspace, owner, signed_in):
    response = signed_in(owner).post(
        url("crisis_start", workspace), {"reason": " ", "confirm": "yes"}
    )
    assert response.status_code == 400
    assert b"Say why" in response.content
    assert not CrisisPause.objects.exists()


def test_the_banner_shows_on_every_workspace_page_while_it_is_on(
    workspace, owner, client_user, signed_in
):
    client = signed_in(client_user)
    assert b"crisis-banner" not in client.get(url("post_list", workspace)).content
    crisis.start(workspace, owner, "A recall of the rye")
    for name in ("post_list", "calendar", "workspace", "crisis"):
        page = client.get(url(name, workspace))
        assert page.status_code == 200, name
        assert b"crisis-banner" in page.content and b"A recall of the rye" in page.content, name


def test_a_creator_sees_the_page_but_cannot_flip_the_switch(workspace, creator, signed_in):
    client = signed_in(creator)
    page = client.get(url("crisis", workspace))
    assert page.status_code == 200 and b"Only owners and managers" in page.content
    response = client.post(url("crisis_start", workspace), {"reason": "x", "confirm": "yes"})
    assert response.status_code == 403
    assert not CrisisPause.objects.exists()


def test_an_outsider_is_told_the_workspace_does_not_exist(workspace, outsider, signed_in):
    client = signed_in(outsider)
    assert client.get(url("crisis", workspace)).status_code == 404
    assert client.post(url("crisis_end", workspace), {"confirm": "yes"}).status_code == 404


def test_turning_it_off_lists_what_came_due_then_each_can_be_decided(
    workspace, owner, channel, signed_in
):
    client = signed_in(owner)
    crisis.start(workspace, owner, "A recall")
    held = due_post(workspace, owner, channel, "Rye special")
    other = due_post(workspace, owner, channel, "Seeded loaf")

    asked = client.post(url("crisis_end", workspace))
    assert asked.status_code == 200 and b"Rye special" in asked.content
    assert crisis.current(workspace) is not None  # not yet

    assert client.post(url("crisis_end", workspace), {"confirm": "yes"}).status_code == 302
    page = client.get(url("crisis", workspace))
    assert b"2 posts came due while it was on" in page.content
    assert b"Send all now" in page.content

    cancelled = client.post(
        url("crisis_decide", workspace), {"action": "cancel", "delivery": str(held.pk)}
    )
    assert cancelled.status_code == 302
    assert Delivery.objects.get(pk=held.pk).state == S.CANCELLED
    when = (timezone.now() + timedelta(days=1)).astimezone(workspace.zone)
    moved = client.post(
        url("crisis_decide", workspace),
        {"action": "reschedule", "all": "yes", "when": when.strftime("%Y-%m-%dT%H:%M")},
    )
    assert moved.status_code == 302
    assert Delivery.objects.get(pk=other.pk).scheduled_at > timezone.now()
    assert crisis.holding(workspace) is None
    assert b"crisis-banner" not in client.get(url("post_list", workspace)).content


@pytest.mark.parametrize(
    "data",
    [
        {"action": "explode", "all": "yes"},
        {"action": "resume"},
        {"action": "resume", "delivery": "not-a-number"},
        {"action": "reschedule", "all": "yes", "when": "tomorrow-ish"},
        {"action": "reschedule", "all": "yes", "when": "2001-01-01T09:00"},
        {"action": "cancel", "delivery": "999999"},
    ],
)
def test_a_bad_decision_is_refused_with_a_message_and_changes_nothing(
    workspace, owner, channel, signed_in, data
):
    crisis.start(workspace, owner, "A recall")
    held = due_post(workspace, owner, channel)
    crisis.end(workspace, owner)

    response = signed_in(owner).post(url("crisis_decide", workspace), data)

    assert response.status_code == 400
    assert b"notice-error" in response.content
    assert Delivery.objects.get(pk=held.pk).state == S.SCHEDULED


# --- The API -------------------------------------------------------------------------------


def test_the_api_turns_it_on_and_off_lists_and_resumes(workspace, owner, channel, token_for):
    token = token_for(owner)
    base = f"/api/v1/workspaces/{workspace.slug}/crisis"
    assert call("get", base, token).json()["on"] is False

    started = call("post", f"{base}/start", token, json_body={"reason": "A recall"})
    assert started.status_code == 201 and started.json()["started_by"] == owner.email
    again = call("post", f"{base}/start", token, json_body={"reason": "Again"})
    assert again.status_code == 422
    held = due_post(workspace, owner, channel)
    status = call("get", base, token).json()
    assert status["on"] is True and status["held_count"] == 1

    assert call("post", f"{base}/held/resume", token, json_body={"all": True}).status_code == 422
    assert call("post", f"{base}/end", token).status_code == 200
    [item] = call("get", f"{base}/held", token).json()["items"]
    assert item["delivery_id"] == held.pk

    both = call(
        "post", f"{base}/held/cancel", token, json_body={"all": True, "delivery_ids": [held.pk]}
    )
    assert both.status_code == 422
    resumed = call("post", f"{base}/held/resume", token, json_body={"delivery_ids": [held.pk]})
    assert resumed.status_code == 200 and resumed.json()["items"][0]["state"] == "scheduled"
    assert call("get", base, token).json() == {
        "on": False,
        "holding": False,
        "held_count": 0,
        "pause": None,
    }


def test_the_api_refuses_an_empty_reason(workspace, owner, token_for):
    token = token_for(owner)
    response = call(
        "post", f"/api/v1/workspaces/{workspace.slug}/crisis/start", token, json_body={"reason": ""}
    )
    assert response.status_code == 422
    assert not CrisisPause.objects.exists()
