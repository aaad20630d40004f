"""Approval as a fact publishing reads (issue 9, item 3): the workflow writes the approved
version, the engine checks it at schedule and send time, a held post resumes once approved,
and one decision tells each person once."""

from __future__ import annotations

import ast
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from socialdesk.content.models import Label
from socialdesk.content.services import PostContent, create_post, update_post
from socialdesk.notifications.models import Notification
from socialdesk.publishing import checks
from socialdesk.publishing import services as publishing
from socialdesk.publishing.dispatch import run, sweep
from socialdesk.publishing.models import DeliveryState
from socialdesk.review.services import client_decide, create_link
from socialdesk.workflow import services as workflow
from socialdesk.workflow.approvals import decide

S = DeliveryState
SOURCE = Path(__file__).resolve().parent.parent / "socialdesk"


def stage(workspace, key):
    return next(s for s in workflow.stages(workspace) if s.key == key)


@pytest.fixture
def in_approval(workspace, creator, channel):
    post = create_post(
        workspace, creator, PostContent(text="Rye on Friday", channel_ids=[channel.pk])
    )
    workflow.move(post, stage(workspace, "approval"), user=creator, check=False)
    return post


def require_approval(workspace):
    workspace.requires_approval = True
    workspace.save(update_fields=["requires_approval"])


def test_an_approval_writes_the_approved_version_that_publishing_reads(
    workspace, creator, approver, in_approval
):
    require_approval(workspace)
    assert in_approval.approved_version is None and not checks.is_approved(in_approval)

    decide(in_approval, "approve", user=approver)

    in_approval.refresh_from_db()
    assert in_approval.approved_version == in_approval.latest_version
    assert checks.is_approved(in_approval)


def test_an_edit_leaves_the_fact_on_the_old_version_so_the_post_waits_again(
    workspace, creator, approver, in_approval
):
    require_approval(workspace)
    decide(in_approval, "approve", user=approver)
    due = timezone.now() + timedelta(days=2)
    publishing.schedule(in_approval, due, actor=creator)
    delivery = in_approval.deliveries.get()
    delivery.refresh_from_db()
    assert delivery.state == S.SCHEDULED

    update_post(in_approval, creator, PostContent(text="Rye on Saturday"))

    in_approval.refresh_from_db()
    assert in_approval.approved_version.number == 1
    assert in_approval.latest_version.number == 2
    delivery.refresh_from_db()
    assert (delivery.state, delivery.scheduled_at) == (S.AWAITING_APPROVAL, due)
    with pytest.raises(ValidationError) as refused:
        publishing.publish_now(in_approval, actor=creator)
    assert refused.value.message_dict["approval"] == [checks.APPROVAL_MISSING]


def test_an_unapproved_post_gets_its_time_but_waits_for_approval(
    workspace, creator, approver, in_approval
):
    require_approval(workspace)
    due = timezone.now() + timedelta(days=2)

    done = publishing.schedule(in_approval, due, actor=creator)

    delivery = in_approval.deliveries.get()
    delivery.refresh_from_db()
    assert (delivery.state, delivery.scheduled_at) == (S.AWAITING_APPROVAL, due)
    assert delivery.get_state_display() == "Waiting for approval"
    assert done.warnings[0].startswith("This post is not approved yet")
    assert run(delivery.pk, "w1", now=due + timedelta(seconds=1)) == S.AWAITING_APPROVAL

    decide(in_approval, "approve", user=approver)

    delivery.refresh_from_db()
    assert (delivery.state, delivery.scheduled_at) == (S.SCHEDULED, due)


def test_a_workspace_without_approvers_publishes_directly(workspace, owner, channel):
    workspace.memberships.filter(role__in=["approver", "client"]).delete()
    require_approval(workspace)
    assert not workspace.approval_gate
    post = create_post(workspace, owner, PostContent(text="Solo", channel_ids=[channel.pk]))

    publishing.schedule(post, timezone.now() + timedelta(days=1), actor=owner)

    assert post.deliveries.get().state == S.SCHEDULED


def test_new_workspaces_require_approval(db):
    from socialdesk.workspaces.models import Workspace

    assert Workspace.objects.create(name="New", slug="new").requires_approval


def test_a_post_held_at_send_time_goes_back_on_schedule_once_approved(
    workspace, creator, approver, in_approval, signed_in
):
    due = timezone.now() + timedelta(days=2)
    publishing.schedule(in_approval, due, actor=creator)
    require_approval(workspace)  # turned on after it was scheduled
    delivery = in_approval.deliveries.get()

    assert run(delivery.pk, "w1", now=due + timedelta(seconds=1)) == S.AWAITING_APPROVAL
    delivery.refresh_from_db()
    assert (delivery.state, delivery.scheduled_at) == (S.AWAITING_APPROVAL, due)
    assert delivery.transitions.last().reason.startswith("held for approval")

    decide(in_approval, "approve", user=approver)

    delivery.refresh_from_db()
    assert (delivery.state, delivery.scheduled_at) == (S.SCHEDULED, due)
    assert delivery.transitions.last().reason == "approved: back on schedule"
    page = signed_in(creator).get(f"/w/{workspace.slug}/posts/{in_approval.pk}/")
    assert "Approved: back on schedule for" in page.content.decode()


def test_a_post_still_unapproved_at_its_time_is_held_as_missed_and_people_are_told(
    workspace, creator, approver, owner, in_approval, django_capture_on_commit_callbacks
):
    require_approval(workspace)
    due = timezone.now() + timedelta(minutes=5)
    publishing.schedule(in_approval, due, actor=creator)
    delivery = in_approval.deliveries.get()

    with django_capture_on_commit_callbacks(execute=True):
        report = sweep(now=due + timedelta(seconds=1))

    delivery.refresh_from_db()
    assert delivery.pk in report.missed and delivery.state == S.MISSED
    assert "still not approved" in delivery.last_error
    for person in (creator, approver, owner):
        assert Notification.objects.filter(recipient=person, event="delivery.missed").exists()


def test_a_fast_lane_post_may_go_out_unapproved_by_the_workspace_s_choice(
    workspace, creator, in_approval
):
    require_approval(workspace)
    workspace.unapproved_at_due = "publish_fast_lane"
    workspace.save(update_fields=["unapproved_at_due"])
    due = timezone.now() + timedelta(minutes=5)
    publishing.schedule(in_approval, due, actor=creator)
    delivery = in_approval.deliveries.get()
    in_approval.refresh_from_db()
    assert in_approval.fast_lane

    sweep(now=due + timedelta(seconds=1))

    delivery.refresh_from_db()
    assert delivery.state == S.SCHEDULED
    assert "by the workspace's choice" in delivery.transitions.last().reason


def test_a_strict_lane_post_is_held_even_when_fast_lane_posts_may_go(workspace, creator, channel):
    require_approval(workspace)
    workspace.unapproved_at_due = "publish_fast_lane"
    workspace.save(update_fields=["unapproved_at_due"])
    legal = Label.objects.create(workspace=workspace, name="legal")
    post = create_post(
        workspace,
        creator,
        PostContent(text="Terms", channel_ids=[channel.pk], label_ids=[legal.pk]),
    )
    workflow.workflow_of(post)
    due = timezone.now() + timedelta(minutes=5)
    publishing.schedule(post, due, actor=creator)

    sweep(now=due + timedelta(seconds=1))

    assert post.deliveries.get().state == S.MISSED


def test_a_label_that_changes_the_lane_withdraws_the_approval(
    workspace, creator, approver, in_approval
):
    require_approval(workspace)
    decide(in_approval, "approve", user=approver)
    legal = Label.objects.create(workspace=workspace, name="legal")
    update_post(in_approval, creator, PostContent(label_ids=[legal.pk]))
    workflow.workflow_of(in_approval)  # brings the lane up to date, as every page does

    in_approval.refresh_from_db()
    assert not checks.is_approved(in_approval)  # the strict lane needs the client too


def test_a_client_decision_tells_each_person_once(
    workspace, owner, creator, approver, channel, django_capture_on_commit_callbacks
):
    legal = Label.objects.create(workspace=workspace, name="legal")
    post = create_post(
        workspace,
        creator,
        PostContent(text="Terms", channel_ids=[channel.pk], label_ids=[legal.pk]),
    )
    workflow.move(post, stage(workspace, "approval"), user=creator, check=False)
    decide(post, "approve", user=approver)
    link = create_link(
        workspace,
        creator,
        "Acme legal",
        expires_at=timezone.now() + timedelta(days=7),
        post_ids=[post.pk],
    )
    Notification.objects.all().delete()

    with django_capture_on_commit_callbacks(execute=True):
        client_decide(link, post, "approve")

    assert workflow.workflow_of(post).stage.key == "ready"
    for person in (creator, owner):
        told = list(Notification.objects.filter(recipient=person).values_list("event", flat=True))
        assert len(told) == 1, (person, told)
    assert Notification.objects.get(recipient=creator).event == "review.client_action"


def test_publishing_never_imports_the_workflow():
    for path in (SOURCE / "publishing").rglob("*.py"):
        text = path.read_text()
        assert not re.search(r"(from|import)\s+socialdesk\.workflow|from \.\.workflow", text), path


# A delivery's state, its transitions and its task rows are written by publishing alone.
WRITING_METHODS = {"create", "update", "bulk_create", "get_or_create", "update_or_create"}
ENGINE_ONLY = {"transition", "DeliveryTransition", "DBTaskResult", "enqueue_delivery"}


def _chain(node: ast.AST) -> set[str]:
    """The names along ``Delivery.objects.filter(...).update`` or ``post.deliveries.create``."""
    names = set()
    while isinstance(node, ast.Attribute | ast.Call):
        if isinstance(node, ast.Attribute):
            names.add(node.attr)
            node = node.value
        else:
            node = node.func
    if isinstance(node, ast.Name):
        names.add(node.id)
    return names


def _writes(tree: ast.AST) -> list[int]:
    """Lines that write a delivery's state, a transition row or a task row."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            sets_state = any(k.arg == "state" for k in node.keywords)
            on_delivery = bool(_chain(func) & {"Delivery", "deliveries"})
            if name in ENGINE_ONLY or (name in WRITING_METHODS and sets_state and on_delivery):
                lines.append(node.lineno)
        elif isinstance(node, ast.Name) and node.id in {"DBTaskResult", "DeliveryTransition"}:
            lines.append(node.lineno)
    return lines


def test_no_module_outside_publishing_writes_a_delivery_state_transition_or_task():
    offenders = []
    for path in SOURCE.rglob("*.py"):
        relative = path.relative_to(SOURCE)
        if relative.parts[0] == "publishing" or "migrations" in relative.parts:
            continue
        offenders += [f"{relative}:{n}" for n in _writes(ast.parse(path.read_text()))]
    assert offenders == []


def test_the_architecture_check_finds_a_write_when_there_is_one():
    code = (
        "Delivery.objects.filter(pk=1).update(state='draft')\n"
        "transition(d, 'x', 'y')\n"
        "post.deliveries.create(channel=c, state='scheduled')\n"
        "WebhookCall.objects.filter(pk=1).update(state='failed')\n"
    )
    assert sorted(_writes(ast.parse(code))) == [1, 2, 3]


def test_the_strict_lane_needs_every_approver_of_the_stage_the_fast_lane_one(
    workspace, creator, approver, manager, channel
):
    approval = stage(workspace, "approval")
    approval.approvers.set([approver, manager])  # the stage's rule stays "any"
    fast = create_post(workspace, creator, PostContent(text="Rye", channel_ids=[channel.pk]))
    legal = Label.objects.create(workspace=workspace, name="legal")
    strict = create_post(
        workspace,
        creator,
        PostContent(text="Terms", channel_ids=[channel.pk], label_ids=[legal.pk]),
    )
    for post in (fast, strict):
        workflow.move(post, approval, user=creator, check=False)
        decide(post, "approve", user=approver)

    assert workflow.workflow_of(fast).stage.key == "ready"
    assert workflow.workflow_of(strict).stage.key == "approval"  # waits for the manager
    decide(strict, "approve", user=manager)
    assert workflow.workflow_of(strict).stage.key == "client-approval"
