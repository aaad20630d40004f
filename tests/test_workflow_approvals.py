"""Approvals bound to versions, self-approval, and the publishing engine's check (item 5)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from socialdesk.content.models import Label
from socialdesk.content.services import PostContent, create_post, update_post
from socialdesk.publishing import services as publishing
from socialdesk.workflow import services
from socialdesk.workflow.approvals import decide, is_approved
from socialdesk.workflow.models import AuditEvent, Decision


def stage(workspace, key):
    return next(s for s in services.stages(workspace) if s.key == key)


@pytest.fixture
def requires_approval(workspace):
    workspace.requires_approval = True
    workspace.save(update_fields=["requires_approval"])
    return workspace


@pytest.fixture
def in_approval(workspace, creator, channel):
    """A fast-lane post by the creator, waiting in the approval stage."""
    post = create_post(
        workspace,
        creator,
        PostContent(text="Rye on Friday", channel_ids=[channel.pk]),
    )
    services.move(post, stage(workspace, "approval"), user=creator, check=False)
    return post


def test_an_approval_moves_the_post_on_and_is_audited(workspace, approver, in_approval):
    decide(in_approval, "approve", user=approver)
    assert services.workflow_of(in_approval).stage.key == "ready"
    event = AuditEvent.objects.get(action="approval.approve")
    assert event.actor == approver and "version 1" in event.detail


def test_request_changes_needs_a_comment_and_sends_the_post_back(approver, in_approval):
    with pytest.raises(ValidationError) as missing:
        decide(in_approval, "request_changes", comment=" ", user=approver)
    assert "comment" in missing.value.message_dict
    decide(in_approval, "request_changes", comment="Say which Friday", user=approver)
    assert services.workflow_of(in_approval).stage.key == "draft"


def test_a_creator_cannot_approve_their_own_post(workspace, creator, in_approval):
    stage(workspace, "approval").approvers.add(creator)
    with pytest.raises(PermissionDenied, match="someone else must approve"):
        decide(in_approval, "approve", user=creator)
    settings = services.settings_for(workspace)
    settings.allow_self_approval = True
    settings.save()
    decide(in_approval, "approve", user=creator)
    assert services.workflow_of(in_approval).stage.key == "ready"


def test_a_member_who_is_not_an_approver_cannot_decide(analyst, client_user, in_approval):
    for person in (analyst, client_user):
        with pytest.raises(PermissionDenied):
            decide(in_approval, "approve", user=person)


def test_an_approval_does_not_survive_a_content_edit(
    requires_approval, creator, approver, in_approval
):
    decide(in_approval, "approve", user=approver)
    assert is_approved(in_approval)
    update_post(in_approval, creator, PostContent(text="Rye on Saturday"))
    assert not is_approved(in_approval)
    assert services.workflow_of(in_approval).stage.key == "approval"
    assert AuditEvent.objects.filter(action="approval.reset").exists()


def test_an_approval_survives_a_time_only_change(requires_approval, creator, approver, in_approval):
    decide(in_approval, "approve", user=approver)
    later = timezone.now() + timedelta(days=5)
    update_post(in_approval, creator, PostContent(scheduled_at=later))
    assert is_approved(in_approval)
    assert services.workflow_of(in_approval).stage.key == "ready"


def test_the_all_rule_waits_for_every_named_approver(workspace, approver, manager, in_approval):
    approval = stage(workspace, "approval")
    approval.approval_rule = "all"
    approval.save()
    approval.approvers.set([approver, manager])
    decide(in_approval, "approve", user=approver)
    assert services.workflow_of(in_approval).stage.key == "approval"
    decide(in_approval, "approve", user=manager)
    assert services.workflow_of(in_approval).stage.key == "ready"


def test_the_strict_lane_needs_the_client_too(
    requires_approval, workspace, creator, approver, channel
):
    legal = Label.objects.create(workspace=workspace, name="legal")
    post = create_post(
        workspace,
        creator,
        PostContent(text="Terms", channel_ids=[channel.pk], label_ids=[legal.pk]),
    )
    services.move(post, stage(workspace, "approval"), user=creator, check=False)
    decide(post, "approve", user=approver)
    assert services.workflow_of(post).stage.key == "client-approval"
    assert not is_approved(post)

    class Link:  # what the review app hands over: a model row with a pk and a name
        pk = 12

        def __str__(self):
            return "Acme legal"

    decide(post, "approve", review_link=Link())
    assert is_approved(post)
    assert services.workflow_of(post).stage.key == "ready"
    decision = Decision.objects.get(review_link_id=12)
    assert decision.via == "review link #12 (Acme legal)"
    assert AuditEvent.objects.filter(via="review link #12 (Acme legal)").exists()


def test_publishing_holds_an_unapproved_post_when_required(
    requires_approval, creator, approver, in_approval
):
    delivery = in_approval.deliveries.get()
    publishing.schedule(delivery, timezone.now() + timedelta(days=3), actor=creator)
    delivery.refresh_from_db()
    assert delivery.state == "awaiting_approval"
    with pytest.raises(ValidationError) as refused:
        publishing.publish_now(delivery, actor=creator)
    assert "approval" in refused.value.message_dict
    decide(in_approval, "approve", user=approver)
    delivery.refresh_from_db()
    assert delivery.state == "scheduled"
    publishing.schedule(delivery, timezone.now() + timedelta(days=3), actor=creator)
