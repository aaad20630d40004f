"""API: one post's way through the workflow: its stage, lane, deadline and checklist; moving
it (or overriding failing checks), ticking manual items, assigning a stage; and the approvers'
decisions on it.

No ``from __future__ import annotations``: ninja reads the parameter types at import time.
"""

from datetime import datetime
from typing import Any, Literal

from django.db.models import QuerySet
from ninja import Field, Router, Schema, Status

from socialdesk.api_support import (
    Id,
    MemberRequest,
    Slug,
    Text,
    caller,
    invalid,
    requires,
    responses,
)
from socialdesk.content.models import Post
from socialdesk.workspaces.access import get_in_workspace
from socialdesk.workspaces.models import User

from . import services
from .approvals import approval_state, decide
from .models import Decision, Stage
from .stages_api import StageOut

router = Router(tags=["workflow"])


class ItemOut(Schema):
    key: str
    label: str
    ok: bool
    manual: bool
    problems: list[str]


class DecisionOut(Schema):
    id: int
    version: int
    stage_id: int
    decision: str
    comment: str
    user_id: int | None
    via: str
    created_at: datetime

    @staticmethod
    def resolve_version(obj: Decision) -> int:
        return obj.version.number


class ApprovalOut(Schema):
    stage_id: int
    met: bool
    summary: str


class WorkflowOut(Schema):
    post_id: int
    stage: StageOut
    lane: str
    lane_reasons: list[str]
    entered_at: datetime
    due_at: datetime | None
    compressed: bool = Field(description="The deadline is compressed: planned closer than usual.")
    assignee_id: int | None
    checklist: list[ItemOut]
    next_stage_id: int | None
    approvals: list[ApprovalOut]
    path: list[int] = Field(description="The ids of the stages this post goes through.")


def _workflow_out(post: Post) -> dict[str, Any]:
    wf = services.workflow_of(post)
    visit = services.current_visit(post)
    following = services.next_stage(post, wf)
    path = services.path_for(post, wf.lane)
    return {
        "post_id": post.pk,
        "stage": wf.stage,
        "lane": wf.lane,
        "lane_reasons": wf.lane_reasons,
        "entered_at": wf.entered_at,
        "due_at": visit.due_at if visit else None,
        "compressed": bool(visit and visit.compressed),
        "assignee_id": visit.assignee_id if visit else None,
        "checklist": [vars(item) for item in services.checklist(post, wf.stage)],
        "next_stage_id": following.pk if following else None,
        "approvals": [
            {"stage_id": s.pk, "met": (st := approval_state(post, s)).met, "summary": st.summary}
            for s in path
            if s.is_approval
        ],
        "path": [s.pk for s in path],
    }


def _post(request: MemberRequest, post_id: int) -> Post:
    return get_in_workspace(Post, request.workspace, pk=post_id)


def _stage(request: MemberRequest, stage_id: int) -> Stage:
    try:
        return Stage.objects.get(workspace=request.workspace, pk=stage_id)
    except Stage.DoesNotExist:
        raise invalid("stage_id", "No such stage in this workspace.") from None


@router.get(
    "/workspaces/{slug}/posts/{post_id}/workflow",
    response=responses(WorkflowOut),
    operation_id="post_workflow_read",
)
@requires("workflow.view")
def post_workflow_read(request: MemberRequest, slug: Slug, post_id: Id) -> dict:
    """The post's stage, lane and why, deadline, assignee, checklist and approvals."""
    post = _post(request, post_id)
    return _workflow_out(post)


class MoveIn(Schema):
    stage_id: Id


class OverrideIn(Schema):
    stage_id: Id
    reason: Text = Field(max_length=2000, description="Why the checklist is overridden.")


@router.post(
    "/workspaces/{slug}/posts/{post_id}/workflow/move",
    response=responses(WorkflowOut),
    operation_id="post_workflow_move",
)
@requires("workflow.move")
def post_workflow_move(request: MemberRequest, slug: Slug, post_id: Id, payload: MoveIn) -> dict:
    """Move the post to a stage; moving forward needs the checklists left behind to pass
    (a refusal lists every failing item under ``checklist``)."""
    post = _post(request, post_id)
    target = _stage(request, payload.stage_id)
    services.move(post, target, user=caller(request), request=request)
    return _workflow_out(post)


@router.post(
    "/workspaces/{slug}/posts/{post_id}/workflow/override",
    response=responses(WorkflowOut),
    operation_id="post_workflow_override",
)
@requires("workflow.override")
def post_workflow_override(
    request: MemberRequest, slug: Slug, post_id: Id, payload: OverrideIn
) -> dict:
    """Move the post past failing checklist items, with a written reason (audited)."""
    post = _post(request, post_id)
    target = _stage(request, payload.stage_id)
    services.move(
        post, target, user=caller(request), override_reason=payload.reason, request=request
    )
    return _workflow_out(post)


class SubmitOut(WorkflowOut):
    through: list[int] = Field(
        description="The stages the submit went through: the one the post was in, then each "
        "whose checks passed without anybody acting."
    )
    resubmitted: bool = Field(description="The answer to a change request.")


@router.post(
    "/workspaces/{slug}/posts/{post_id}/submit",
    response=responses(SubmitOut),
    operation_id="post_workflow_submit",
)
@requires("workflow.move")
def post_workflow_submit(request: MemberRequest, slug: Slug, post_id: Id) -> dict:
    """Submit for approval (or resubmit after a change request) in one step: the post moves
    to the first stage where someone else must act (a manual item to tick, by that stage's
    owner role; an approval to give), through every stage whose checks all pass without
    anybody acting. After a change request that is the approval stage that asked, not the
    start. A refusal (422) names every item to fix first under ``checklist``."""
    post = _post(request, post_id)
    plan = services.submit(post, user=caller(request), request=request)
    return {
        **_workflow_out(post),
        "through": [s.pk for s in plan.passed],
        "resubmitted": plan.resubmit is not None,
    }


class TickIn(Schema):
    stage_id: Id
    item: Text = Field(max_length=200)
    done: bool = True


@router.post(
    "/workspaces/{slug}/posts/{post_id}/workflow/ticks",
    response=responses(WorkflowOut),
    operation_id="post_workflow_tick",
)
@requires("workflow.move")
def post_workflow_tick(request: MemberRequest, slug: Slug, post_id: Id, payload: TickIn) -> dict:
    """Tick or untick a manual checklist item. Ticking is for a member with the stage's owner
    role, a manager or an owner, and not for the post's author (unless the workspace allows
    self-approval): 403 otherwise."""
    post = _post(request, post_id)
    stage = _stage(request, payload.stage_id)
    services.tick(post, stage, payload.item, payload.done, caller(request))
    return _workflow_out(post)


class AssignIn(Schema):
    stage_id: Id
    assignee_id: Id | None = Field(None, description="A member; null: nobody.")


@router.post(
    "/workspaces/{slug}/posts/{post_id}/workflow/assignments",
    response=responses(WorkflowOut),
    operation_id="post_workflow_assign",
)
@requires("workflow.move")
def post_workflow_assign(
    request: MemberRequest, slug: Slug, post_id: Id, payload: AssignIn
) -> dict:
    """Make a member responsible for one stage of the post."""
    post = _post(request, post_id)
    stage = _stage(request, payload.stage_id)
    assignee = None
    if payload.assignee_id is not None:
        assignee = User.objects.filter(
            pk=payload.assignee_id, memberships__workspace=request.workspace
        ).first()
        if assignee is None:
            raise invalid("assignee_id", "This person is not a member of the workspace.")
    services.assign(post, stage, assignee, caller(request))
    return _workflow_out(post)


# --- Decisions ----------------------------------------------------------------------------------


class DecisionIn(Schema):
    decision: Literal["approve", "request_changes"]
    comment: Text = Field("", max_length=5000, description="Required to request changes.")


@router.get(
    "/workspaces/{slug}/posts/{post_id}/decisions",
    response=responses(list[DecisionOut]),
    operation_id="decisions_list",
)
@requires("workflow.view")
def decisions_list(request: MemberRequest, slug: Slug, post_id: Id) -> QuerySet:
    post = _post(request, post_id)
    return Decision.objects.filter(post=post).select_related("version")


@router.post(
    "/workspaces/{slug}/posts/{post_id}/decisions",
    response=responses(DecisionOut, 201),
    operation_id="decisions_create",
)
@requires("approvals.decide")
def decisions_create(
    request: MemberRequest, slug: Slug, post_id: Id, payload: DecisionIn
) -> Status:
    """Approve the post's current version, or request changes (with a comment)."""
    post = _post(request, post_id)
    made = decide(
        post, payload.decision, comment=payload.comment, user=caller(request), request=request
    )
    return Status(201, made)
