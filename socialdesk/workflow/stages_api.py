"""API: a workspace's workflow stages (list, create, read, update, delete).

No ``from __future__ import annotations``: ninja reads the parameter types at import time.
"""

from typing import Literal

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
from socialdesk.workspaces.access import get_in_workspace
from socialdesk.workspaces.roles import Role

from . import services
from .models import ApprovalRule, Stage, StageKind, StageLanes

router = Router(tags=["workflow"])

CheckKey = Literal["text_present", "alt_text", "utm", "network_rules", "brand_voice", "approved"]


class StageOut(Schema):
    id: int
    key: str
    name: str
    position: int
    kind: StageKind
    owner_role: Role
    lanes: StageLanes
    start_days_before: int
    due_days_before: int
    checks: list[str]
    manual_items: list[str]
    approver_ids: list[int]
    approval_rule: ApprovalRule

    @staticmethod
    def resolve_approver_ids(obj: Stage) -> list[int]:
        return sorted(u.pk for u in obj.approvers.all())


class StageIn(Schema):
    name: Text = Field(min_length=1, max_length=60)
    kind: StageKind = StageKind.WORK
    owner_role: Role = Role.CREATOR
    lanes: StageLanes = StageLanes.BOTH
    position: int | None = Field(None, ge=0, le=1000)
    start_days_before: int = Field(0, ge=-3650, le=3650)
    due_days_before: int = Field(0, ge=-3650, le=3650)
    checks: list[CheckKey] = []
    manual_items: list[Text] = Field([], max_length=30)
    approver_ids: list[Id] = Field([], max_length=50)
    approval_rule: ApprovalRule = ApprovalRule.ANY


class StagePatch(Schema):
    name: Text | None = Field(None, min_length=1, max_length=60)
    kind: StageKind | None = None
    owner_role: Role | None = None
    lanes: StageLanes | None = None
    position: int | None = Field(None, ge=0, le=1000)
    start_days_before: int | None = Field(None, ge=-3650, le=3650)
    due_days_before: int | None = Field(None, ge=-3650, le=3650)
    checks: list[CheckKey] | None = None
    manual_items: list[Text] | None = Field(None, max_length=30)
    approver_ids: list[Id] | None = Field(None, max_length=50)
    approval_rule: ApprovalRule | None = None


def _manual(items: list[str]) -> list[str]:
    cleaned = [i.strip() for i in items]
    if any(not i or len(i) > 200 for i in cleaned):
        raise invalid("manual_items", "Each manual item has 1 to 200 characters.")
    return cleaned


@router.get(
    "/workspaces/{slug}/stages",
    response=responses(list[StageOut]),
    operation_id="stages_list",
)
@requires("workflow.view")
def stages_list(request: MemberRequest, slug: Slug) -> list[Stage]:
    """The workspace's stages in order (the default workflow is created on first use)."""
    return services.stages(request.workspace)


@router.post(
    "/workspaces/{slug}/stages",
    response=responses(StageOut, 201),
    operation_id="stages_create",
)
@requires("workflow.manage")
def stages_create(request: MemberRequest, slug: Slug, payload: StageIn) -> Status:
    services.stages(request.workspace)
    data = payload.dict(exclude={"approver_ids"})
    data["manual_items"] = _manual(data["manual_items"])
    stage = Stage(workspace=request.workspace, **data)
    services.save_stage(stage, caller(request), approver_ids=payload.approver_ids)
    return Status(201, stage)


@router.get(
    "/workspaces/{slug}/stages/{stage_id}",
    response=responses(StageOut),
    operation_id="stages_read",
)
@requires("workflow.view")
def stages_read(request: MemberRequest, slug: Slug, stage_id: Id) -> Stage:
    return get_in_workspace(Stage, request.workspace, pk=stage_id)


@router.patch(
    "/workspaces/{slug}/stages/{stage_id}",
    response=responses(StageOut),
    operation_id="stages_update",
)
@requires("workflow.manage")
def stages_update(request: MemberRequest, slug: Slug, stage_id: Id, payload: StagePatch) -> Stage:
    stage = get_in_workspace(Stage, request.workspace, pk=stage_id)
    changes = payload.dict(exclude_unset=True, exclude={"approver_ids"})
    changes = {k: v for k, v in changes.items() if v is not None}
    if "manual_items" in changes:
        changes["manual_items"] = _manual(changes["manual_items"])
    for name, value in changes.items():
        setattr(stage, name, value)
    fields = list(changes) or ["name"]
    services.save_stage(stage, caller(request), approver_ids=payload.approver_ids, fields=fields)
    return stage


@router.delete(
    "/workspaces/{slug}/stages/{stage_id}",
    response=responses(None, 204),
    operation_id="stages_delete",
)
@requires("workflow.manage")
def stages_delete(request: MemberRequest, slug: Slug, stage_id: Id) -> Status:
    """Delete a stage that no post is in."""
    stage = get_in_workspace(Stage, request.workspace, pk=stage_id)
    services.delete_stage(stage, caller(request))
    return Status(204, None)
