"""Stages, the definition of done, overrides and lanes (issue 4, items 1, 2 and 4)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from socialdesk.content.models import Campaign, Label
from socialdesk.content.services import PostContent, create_post
from socialdesk.workflow import services
from socialdesk.workflow.models import AuditEvent, CampaignRisk, Lane, StageVisit


def stage(workspace, key):
    return next(s for s in services.stages(workspace) if s.key == key)


@pytest.fixture
def draft_post(workspace, creator, channel):
    post = create_post(
        workspace,
        creator,
        PostContent(
            text="New rye loaf, see https://crumb.test/rye",
            channel_ids=[channel.pk],
            scheduled_at=timezone.now() + timedelta(days=60),
        ),
    )
    services.move(post, stage(workspace, "draft"), user=creator)
    return post


def test_every_workspace_gets_the_default_stages(workspace):
    keys = [s.key for s in services.stages(workspace)]
    assert keys == ["idea", "draft", "review", "approval", "client-approval", "ready"]


def test_a_post_from_before_the_workflow_starts_in_the_first_stage(post):
    wf = services.workflow_of(post)
    assert wf.stage.key == "idea"
    assert StageVisit.objects.filter(post=post, left_at=None).count() == 1


def test_a_failing_checklist_blocks_the_move_and_names_the_item(workspace, creator, draft_post):
    with pytest.raises(services.MoveRefused) as refused:
        services.move(draft_post, stage(workspace, "review"), user=creator)
    messages = refused.value.message_dict["checklist"]
    assert messages == [
        "Draft: Every link carries UTM parameters: https://crumb.test/rye lacks utm_source, "
        "utm_medium, utm_campaign."
    ]
    assert services.workflow_of(draft_post).stage.key == "draft"


def test_a_passing_checklist_lets_the_post_move_and_records_it(workspace, creator, channel):
    post = create_post(workspace, creator, PostContent(text="Rye", channel_ids=[channel.pk]))
    services.move(post, stage(workspace, "draft"), user=creator)
    services.move(post, stage(workspace, "review"), user=creator)
    assert services.workflow_of(post).stage.key == "review"
    moves = AuditEvent.objects.filter(action="post.stage_moved", target_id=str(post.pk))
    assert [e.detail for e in moves.order_by("id")] == ["Idea → Draft", "Draft → Review"]


def test_manual_items_must_be_ticked(workspace, creator, manager, channel):
    post = create_post(workspace, creator, PostContent(text="Rye", channel_ids=[channel.pk]))
    review = stage(workspace, "review")
    services.move(post, review, user=creator)
    with pytest.raises(services.MoveRefused) as refused:
        services.move(post, stage(workspace, "approval"), user=manager)
    assert refused.value.message_dict["checklist"] == ["Review: Copy proofread: Not ticked yet."]
    services.tick(post, review, "Copy proofread", True, manager)
    services.move(post, stage(workspace, "approval"), user=manager)
    assert services.workflow_of(post).stage.key == "approval"


def test_an_override_needs_a_reason_and_is_audited(workspace, manager, draft_post):
    review = stage(workspace, "review")
    with pytest.raises(ValidationError) as missing:
        services.move(draft_post, review, user=manager, override_reason="  ")
    assert "reason" in missing.value.message_dict
    services.move(draft_post, review, user=manager, override_reason="Client sent the link")
    event = AuditEvent.objects.get(action="override")
    assert event.actor == manager
    assert "Client sent the link" in event.detail
    assert "lacks utm_source" in event.detail
    left = StageVisit.objects.get(post=draft_post, stage__key="draft")
    assert left.overridden


def test_a_creator_cannot_override(workspace, creator, draft_post):
    with pytest.raises(PermissionDenied):
        services.move(draft_post, stage(workspace, "review"), user=creator, override_reason="x")


def test_moving_back_needs_no_checklist(workspace, creator, draft_post):
    services.move(draft_post, stage(workspace, "idea"), user=creator)
    assert services.workflow_of(draft_post).stage.key == "idea"


def test_posts_planned_closer_than_the_cycle_get_compressed_deadlines(workspace, creator):
    now = timezone.now()
    far = create_post(workspace, creator, PostContent(text="far"))
    services.workflow_of(far)
    path = services.path_for(far, Lane.FAST)
    approval = stage(workspace, "approval")
    publish = now + timedelta(days=70)
    due, compressed = services.deadline(approval, path, now, publish)
    assert (due, compressed) == (publish - timedelta(days=7), False)
    soon = now + timedelta(days=14)
    due, compressed = services.deadline(approval, path, now, soon)
    assert compressed
    assert due == soon - timedelta(days=7) * (14 / 56)


def test_risky_labels_keywords_and_regulated_campaigns_take_the_strict_lane(
    workspace, creator, taxonomy
):
    legal = Label.objects.create(workspace=workspace, name="Legal")
    by_label = create_post(workspace, creator, PostContent(text="Hi", label_ids=[legal.pk]))
    assert services.lane_for(by_label) == (Lane.STRICT, ["Label “Legal” is high-risk."])
    by_word = create_post(workspace, creator, PostContent(text="Our bread cures colds"))
    assert services.lane_for(by_word) == (
        Lane.STRICT,
        ["Mentions “cures” (a health or financial claim)."],
    )
    campaign: Campaign = taxonomy["campaign"]
    CampaignRisk.objects.create(campaign=campaign, regulated=True)
    by_campaign = create_post(workspace, creator, PostContent(text="Hi", campaign_id=campaign.pk))
    assert services.lane_for(by_campaign)[1] == ["Campaign “Christmas stollen” is regulated."]
    plain = create_post(workspace, creator, PostContent(text="Secure your loaf"))
    assert services.lane_for(plain) == (Lane.FAST, [])
    strict_keys = [s.key for s in services.path_for(by_label, Lane.STRICT)]
    fast_keys = [s.key for s in services.path_for(plain, Lane.FAST)]
    assert "client-approval" in strict_keys and "client-approval" not in fast_keys


def test_a_rapid_response_role_skips_approval_in_the_fast_lane(workspace, creator):
    settings = services.settings_for(workspace)
    settings.rapid_response_roles = ["creator"]
    settings.save()
    post = create_post(workspace, creator, PostContent(text="We are open today"))
    keys = [s.key for s in services.path_for(post, Lane.FAST)]
    assert keys == ["idea", "draft", "review", "ready"]
