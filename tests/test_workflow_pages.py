"""Workflow pages: board, my work, health, audit log and the post panel (items 3, 10, 11)."""

from __future__ import annotations

import csv
import io

import pytest
from workflow_helpers import stage

from socialdesk.content.services import PostContent, create_post
from socialdesk.workflow import services
from socialdesk.workflow.models import AuditEvent


@pytest.fixture
def linked_post(workspace, creator, channel):
    post = create_post(
        workspace, creator, PostContent(text="Rye https://crumb.test/rye", channel_ids=[channel.pk])
    )
    services.move(post, stage(workspace, "draft"), user=creator)
    return post


def test_the_board_shows_each_stage_with_its_posts(signed_in, creator, linked_post):
    response = signed_in(creator).get("/w/crumb/workflow/")
    assert response.status_code == 200
    html = response.content.decode()
    for name in ["Idea", "Draft", "Review", "Approval", "Client approval", "Ready"]:
        assert f">{name}</h2>" in html
    assert "Rye https://crumb.test/rye" in html


def test_the_board_marks_cards_draggable_only_for_those_who_may_move(
    signed_in, workspace, creator, approver, linked_post
):
    """Drag and drop (workflow/board.js) reads where a card may go from the page itself: the
    same stages its Move menu offers. Those who may not move get neither, nor the script."""
    html = signed_in(creator).get("/w/crumb/workflow/").content.decode()
    move_url = f"/w/crumb/workflow/posts/{linked_post.pk}/move/"
    assert f'data-move-url="{move_url}"' in html
    lane = services.PostWorkflow.objects.get(post=linked_post).lane
    path = services.path_for(linked_post, lane)
    targets = " ".join(str(s.pk) for s in path if s.key != "draft")
    assert f'data-targets="{targets}"' in html
    assert f'data-stage="{stage(workspace, "review").pk}"' in html
    assert "workflow/board.js" in html

    html = signed_in(approver).get("/w/crumb/workflow/").content.decode()
    assert "data-move-url" not in html
    assert "workflow/board.js" not in html


def test_a_refused_move_on_the_board_shows_the_failing_items(
    signed_in, workspace, creator, linked_post
):
    review = stage(workspace, "review")
    response = signed_in(creator).post(
        f"/w/crumb/workflow/posts/{linked_post.pk}/move/",
        {"stage": review.pk},
        headers={"HX-Request": "true"},
    )
    html = response.content.decode()
    assert "cannot move" in html
    assert "https://crumb.test/rye lacks utm_source" in html
    assert "Override as a manager" not in html  # a creator may not override
    assert services.workflow_of(linked_post).stage.key == "draft"


def test_a_manager_overrides_from_the_board_with_a_reason(
    signed_in, workspace, manager, linked_post
):
    review = stage(workspace, "review")
    response = signed_in(manager).post(
        f"/w/crumb/workflow/posts/{linked_post.pk}/move/",
        {"stage": review.pk, "override": "1", "reason": "Tracking is added by the shortener"},
    )
    assert response.status_code == 302
    assert services.workflow_of(linked_post).stage.key == "review"
    assert AuditEvent.objects.filter(action="override").count() == 1


def test_the_panel_checks_unsaved_text_against_the_brand_voice(
    signed_in, workspace, creator, linked_post
):
    settings = services.settings_for(workspace)
    settings.banned_phrases = ["best in town"]
    settings.save()
    response = signed_in(creator).post(
        f"/w/crumb/workflow/posts/{linked_post.pk}/panel/",
        {"text": "The best in town rye"},
        headers={"HX-Request": "true"},
    )
    html = response.content.decode()
    assert "Remove “best in town”: it is on the banned list." in html
    assert "Definition of done: Draft" in html


def test_an_approver_decides_from_the_post_page(signed_in, workspace, creator, approver, channel):
    post = create_post(workspace, creator, PostContent(text="Rye", channel_ids=[channel.pk]))
    services.move(post, stage(workspace, "approval"), user=creator, check=False)
    client = signed_in(approver)
    page = client.get(f"/w/crumb/workflow/posts/{post.pk}/").content.decode()
    assert "Request changes" in page
    response = client.post(
        f"/w/crumb/workflow/posts/{post.pk}/decide/", {"decision": "request_changes", "comment": ""}
    )
    assert response.status_code == 302
    assert services.workflow_of(post).stage.key == "approval"  # refused: no comment
    client.post(f"/w/crumb/workflow/posts/{post.pk}/decide/", {"decision": "approve"})
    assert services.workflow_of(post).stage.key == "ready"


def test_my_work_lists_the_steps_of_my_role(signed_in, creator, linked_post):
    html = signed_in(creator).get("/w/crumb/workflow/my-work/").content.decode()
    assert "Rye https://crumb.test/rye" in html
    assert "Draft" in html


def test_the_health_page_answers_for_each_period(signed_in, owner, linked_post):
    client = signed_in(owner)
    for days in ["30", "90", "365", "nonsense"]:
        response = client.get(f"/w/crumb/workflow/health/?days={days}")
        assert response.status_code == 200
        assert "Time in each stage" in response.content.decode()


def test_the_audit_log_filters_and_exports_csv(signed_in, owner, creator, linked_post):
    client = signed_in(owner)
    html = client.get("/w/crumb/workflow/audit/?action=post.stage_moved").content.decode()
    assert "Idea → Draft" in html
    response = client.get(f"/w/crumb/workflow/audit/?actor={creator.pk}&format=csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:3] == ["time (UTC)", "action", "who"]
    assert any(row[1] == "post.stage_moved" and row[6] == "Idea → Draft" for row in rows[1:])
    bad = client.get("/w/crumb/workflow/audit/?from=2026-05-02&to=2026-05-01")
    assert "The end date is before the start date." in bad.content.decode()


def test_roles_and_outsiders(signed_in, creator, analyst, outsider, linked_post):
    assert signed_in(creator).get("/w/crumb/workflow/audit/").status_code == 403
    assert signed_in(analyst).get("/w/crumb/workflow/health/").status_code == 200
    assert signed_in(outsider).get("/w/crumb/workflow/").status_code == 404
    response = signed_in(outsider).get(f"/w/rival/workflow/posts/{linked_post.pk}/")
    assert response.status_code == 404
