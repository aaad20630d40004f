"""The workflow through the REST API: same rules, same messages (item 12)."""

from __future__ import annotations

import pytest
from api_helpers import call
from workflow_helpers import stage

from socialdesk.content.services import PostContent, create_post
from socialdesk.workflow import services


@pytest.fixture
def draft(workspace, creator, channel):
    post = create_post(
        workspace, creator, PostContent(text="Rye https://crumb.test/rye", channel_ids=[channel.pk])
    )
    services.move(post, stage(workspace, "draft"), user=creator)
    return post


def test_a_refused_move_answers_422_naming_each_failing_item(workspace, creator, draft, token_for):
    response = call(
        "post",
        f"/workspaces/crumb/posts/{draft.pk}/workflow/move",
        token_for(creator),
        {"stage_id": stage(workspace, "review").pk},
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {
            "field": "checklist",
            "message": "Draft: Every link carries UTM parameters: https://crumb.test/rye lacks "
            "utm_source, utm_medium, utm_campaign.",
        }
    ]


def test_an_override_through_the_api_needs_a_reason_and_shows_in_the_audit_log(
    workspace, manager, draft, token_for
):
    token = token_for(manager)
    url = f"/workspaces/crumb/posts/{draft.pk}/workflow/override"
    review = stage(workspace, "review").pk
    empty = call("post", url, token, {"stage_id": review, "reason": "  "})
    assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "reason"
    done = call("post", url, token, {"stage_id": review, "reason": "Shortener adds UTM"})
    assert done.status_code == 200 and done.json()["stage"]["key"] == "review"
    events = call("get", "/workspaces/crumb/audit?action=override", token).json()["items"]
    assert len(events) == 1 and "Shortener adds UTM" in events[0]["detail"]
    export = call("get", "/workspaces/crumb/audit/export?action=override", token)
    assert export["Content-Type"].startswith("text/csv")
    assert "Shortener adds UTM" in export.content.decode()


def test_decisions_through_the_api(workspace, creator, approver, channel, token_for):
    post = create_post(workspace, creator, PostContent(text="Rye", channel_ids=[channel.pk]))
    services.move(post, stage(workspace, "approval"), user=creator, check=False)
    url = f"/workspaces/crumb/posts/{post.pk}/decisions"
    own = call("post", url, token_for(creator), {"decision": "approve"})
    assert own.status_code == 403  # a creator holds no approvals.decide
    no_comment = call("post", url, token_for(approver), {"decision": "request_changes"})
    assert no_comment.status_code == 422
    made = call("post", url, token_for(approver), {"decision": "approve"})
    assert made.status_code == 201 and made.json()["version"] == 1
    state = call("get", f"/workspaces/crumb/posts/{post.pk}/workflow", token_for(creator)).json()
    assert state["stage"]["key"] == "ready"
    assert state["approvals"][0]["met"] is True


def test_brand_voice_settings_and_check(manager, token_for):
    token = token_for(manager)
    updated = call(
        "patch",
        "/workspaces/crumb/workflow/settings",
        token,
        {"banned_phrases": ["best in town"], "hashtag_min": 3, "hashtag_max": 1},
    )
    assert updated.status_code == 422  # max below min
    call("patch", "/workspaces/crumb/workflow/settings", token, {"banned_phrases": ["cheapest"]})
    checked = call(
        "post", "/workspaces/crumb/workflow/voice-check", token, {"text": "The cheapest rye"}
    ).json()
    assert checked["problems"] == ["Remove “cheapest”: it is on the banned list."]


def test_stages_can_be_configured(workspace, manager, approver, token_for):
    token = token_for(manager)
    created = call(
        "post",
        "/workspaces/crumb/stages",
        token,
        {
            "name": "Legal check",
            "kind": "approval",
            "checks": ["approved"],
            "approver_ids": [approver.pk],
            "approval_rule": "all",
        },
    )
    assert created.status_code == 201
    assert created.json()["approver_ids"] == [approver.pk]
    bad = call("patch", f"/workspaces/crumb/stages/{created.json()['id']}", token, {"kind": "work"})
    assert bad.status_code == 422  # a work stage cannot hold the "approved" check
    deleted = call("delete", f"/workspaces/crumb/stages/{created.json()['id']}", token)
    assert deleted.status_code == 204
