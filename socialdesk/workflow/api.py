"""API: stages, a post's workflow (move, override, ticks, assignments), decisions, workflow
settings and brand voice, the audit log and workflow health.

No ``from __future__ import annotations``: ninja reads the parameter types at import time.
"""

import csv
import io
from datetime import datetime
from typing import Any, Literal

from django.db.models import QuerySet
from django.http import HttpResponse
from ninja import Field, Query, Router, Schema, Status

from socialdesk.api_support import (
    CURSOR_DESCRIPTION,
    LIMIT_DESCRIPTION,
    Id,
    MemberRequest,
    Moment,
    Slug,
    Text,
    caller,
    invalid,
    paginate,
    requires,
    responses,
)
from socialdesk.content.models import Post
from socialdesk.workspaces.access import get_in_workspace
from socialdesk.workspaces.models import User
from socialdesk.workspaces.roles import Role

from . import health, services, voice
from .approvals import approval_state, decide
from .models import (
    ApprovalRule,
    AuditEvent,
    CampaignRisk,
    Decision,
    RequiredText,
    Stage,
    StageKind,
    StageLanes,
)

router = Router(tags=["workflow"])

CheckKey = Literal["text_present", "alt_text", "utm", "network_rules", "brand_voice", "approved"]
Item = Field(max_length=200)
Days = Field(ge=-3650, le=3650)


# --- Stages -----------------------------------------------------------------------------------


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


# --- A post's workflow ------------------------------------------------------------------------


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
    """Tick or untick a manual checklist item."""
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


# --- Settings: lanes and brand voice ------------------------------------------------------------


class RequiredTextIO(Schema):
    text: Text = Field(min_length=1, max_length=300)
    campaign_id: Id | None = None
    label_id: Id | None = None


class SettingsOut(Schema):
    allow_self_approval: bool
    risky_labels: list[str]
    risky_keywords: list[str]
    rapid_response_roles: list[str]
    regulated_campaign_ids: list[int]
    banned_phrases: list[str]
    required_texts: list[RequiredTextIO]
    hashtag_min: int
    hashtag_max: int | None
    length_bounds: dict[str, list[int | None]]
    max_reading_grade: int | None


Phrase = Field(max_length=200)


class SettingsPatch(Schema):
    allow_self_approval: bool | None = None
    risky_labels: list[Text] | None = Field(None, max_length=100)
    risky_keywords: list[Text] | None = Field(None, max_length=200)
    rapid_response_roles: list[Role] | None = None
    regulated_campaign_ids: list[Id] | None = Field(None, max_length=200)
    banned_phrases: list[Text] | None = Field(None, max_length=500)
    required_texts: list[RequiredTextIO] | None = Field(None, max_length=100)
    hashtag_min: int | None = Field(None, ge=0, le=100)
    hashtag_max: int | None = Field(None, ge=0, le=100)
    length_bounds: dict[str, list[int | None]] | None = Field(None, max_length=30)
    max_reading_grade: int | None = Field(None, ge=1, le=20)


def _settings_out(workspace: Any) -> dict[str, Any]:
    settings = services.settings_for(workspace)
    return {
        **{f: getattr(settings, f) for f in SETTINGS_FIELDS},
        "regulated_campaign_ids": sorted(
            CampaignRisk.objects.filter(campaign__workspace=workspace, regulated=True).values_list(
                "campaign_id", flat=True
            )
        ),
        "required_texts": list(
            RequiredText.objects.filter(workspace=workspace).values(
                "text", "campaign_id", "label_id"
            )
        ),
    }


SETTINGS_FIELDS = [
    "allow_self_approval",
    "risky_labels",
    "risky_keywords",
    "rapid_response_roles",
    "banned_phrases",
    "hashtag_min",
    "hashtag_max",
    "length_bounds",
    "max_reading_grade",
]


@router.get(
    "/workspaces/{slug}/workflow/settings",
    response=responses(SettingsOut),
    operation_id="workflow_settings_read",
)
@requires("workflow.view")
def workflow_settings_read(request: MemberRequest, slug: Slug) -> dict:
    """Lane rules (what makes a post high-risk), self-approval, and the brand voice rules."""
    return _settings_out(request.workspace)


@router.patch(
    "/workspaces/{slug}/workflow/settings",
    response=responses(SettingsOut),
    operation_id="workflow_settings_update",
)
@requires("workflow.manage")
def workflow_settings_update(request: MemberRequest, slug: Slug, payload: SettingsPatch) -> dict:
    from . import settings_service

    settings_service.update_settings(
        request.workspace, caller(request), payload.dict(exclude_unset=True)
    )
    return _settings_out(request.workspace)


class VoiceCheckIn(Schema):
    text: Text = Field(max_length=10_000)
    post_id: Id | None = Field(None, description="Check as this post's text (its rules apply).")


class VoiceCheckOut(Schema):
    problems: list[str]
    reading_grade: float


@router.post(
    "/workspaces/{slug}/workflow/voice-check",
    response=responses(VoiceCheckOut),
    operation_id="workflow_voice_check",
)
@requires("workflow.view")
def workflow_voice_check(request: MemberRequest, slug: Slug, payload: VoiceCheckIn) -> dict:
    """Brand voice problems of a text, for example while it is being written."""
    settings = services.settings_for(request.workspace)
    if payload.post_id is not None:
        post = get_in_workspace(Post, request.workspace, pk=payload.post_id)
        problems = voice.post_problems(post, settings, text=payload.text)
    else:
        problems = voice.text_problems(settings, payload.text)
    return {"problems": problems, "reading_grade": voice.reading_grade(payload.text)}


# --- Audit log ---------------------------------------------------------------------------------


class AuditOut(Schema):
    id: int
    created_at: datetime
    action: str
    actor_id: int | None
    who: str
    via: str
    target_type: str
    target_id: str
    target: str = Field(alias="target_repr")
    detail: str
    ip: str | None
    user_agent: str


class AuditPage(Schema):
    items: list[AuditOut]
    next_cursor: str | None


class AuditFilters(Schema):
    action: str | None = Field(
        None, max_length=60, description="Exact action, or a prefix ending in '.'."
    )
    actor_id: Id | None = None
    from_: Moment | None = Field(None, alias="from")
    to: Moment | None = None
    cursor: str | None = Field(None, max_length=200, description=CURSOR_DESCRIPTION)
    limit: int = Field(50, ge=1, le=100, description=LIMIT_DESCRIPTION)


def audit_events(workspace: Any, filters: Any) -> QuerySet[AuditEvent]:
    if filters.from_ and filters.to and filters.to <= filters.from_:
        raise invalid("to", "'to' must be later than 'from'.")
    events = AuditEvent.objects.filter(workspace=workspace).select_related("actor")
    if filters.action:
        if filters.action.endswith("."):
            events = events.filter(action__startswith=filters.action)
        else:
            events = events.filter(action=filters.action)
    if filters.actor_id:
        events = events.filter(actor_id=filters.actor_id)
    if filters.from_:
        events = events.filter(created_at__gte=filters.from_)
    if filters.to:
        events = events.filter(created_at__lt=filters.to)
    return events


@router.get(
    "/workspaces/{slug}/audit",
    response=responses(AuditPage),
    operation_id="audit_list",
)
@requires("audit.view")
def audit_list(request: MemberRequest, slug: Slug, filters: Query[AuditFilters]) -> dict:
    """Every state change, approval, override and client action, newest first."""
    return paginate(audit_events(request.workspace, filters), filters.cursor, filters.limit)


CSV_COLUMNS = [
    "time (UTC)",
    "action",
    "who",
    "via",
    "target",
    "target id",
    "detail",
    "ip",
    "user agent",
]


def audit_csv(events: QuerySet[AuditEvent]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for event in events.order_by("created_at", "id").iterator(chunk_size=500):
        writer.writerow(
            [
                event.created_at.isoformat(),
                event.action,
                str(event.actor) if event.actor_id else "",
                event.via,
                event.target_repr,
                f"{event.target_type}:{event.target_id}" if event.target_type else "",
                event.detail,
                event.ip or "",
                event.user_agent,
            ]
        )
    return buffer.getvalue()


class ExportFilters(Schema):
    action: str | None = Field(None, max_length=60)
    actor_id: Id | None = None
    from_: Moment | None = Field(None, alias="from")
    to: Moment | None = None


@router.get(
    "/workspaces/{slug}/audit/export",
    operation_id="audit_export",
    openapi_extra={
        "responses": {
            "200": {
                "description": "The matching events as CSV, oldest first.",
                "content": {"text/csv": {"schema": {"type": "string"}}},
            },
            **{
                str(status): {
                    "description": title,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}
                    },
                }
                for status, title in [
                    (401, "Unauthorized"),
                    (403, "Forbidden"),
                    (404, "Not Found"),
                    (422, "Unprocessable Entity"),
                ]
            },
        },
    },
)
@requires("audit.view")
def audit_export(request: MemberRequest, slug: Slug, filters: Query[ExportFilters]) -> HttpResponse:
    """The audit log as CSV (same filters as the list)."""
    body = audit_csv(audit_events(request.workspace, filters))
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-{slug}.csv"'
    return response


# --- Health and my work --------------------------------------------------------------------------


class HealthFilters(Schema):
    from_: Moment | None = Field(None, alias="from", description="Default: 90 days ago.")
    to: Moment | None = Field(None, description="Default: now.")


class StageTime(Schema):
    stage_id: int
    stage: str
    visits: int
    average_hours: float | None


class MemberOverdue(Schema):
    user_id: int | None
    member: str
    overdue: int


class HealthOut(Schema):
    start: datetime
    end: datetime
    published_posts: int
    cycle_median_hours: float | None
    cycle_p90_hours: float | None
    time_in_stage: list[StageTime]
    revisions_per_post: float | None
    approval_turnaround_hours: float | None
    on_time_rate: float | None = Field(description="Share of steps done by their deadline.")
    overdue_by_member: list[MemberOverdue]


@router.get(
    "/workspaces/{slug}/workflow/health",
    response=responses(HealthOut),
    operation_id="workflow_health",
)
@requires("analytics.view")
def workflow_health(request: MemberRequest, slug: Slug, filters: Query[HealthFilters]) -> dict:
    """Cycle time, time in stage, revisions, approval turnaround, on-time rate and overdue
    steps by member for a period, computed with database aggregates."""
    start, end = health.period(filters.from_, filters.to)
    return health.figures(request.workspace, start, end)


class StepOut(Schema):
    post_id: int
    post: str
    stage_id: int
    stage: str
    entered_at: datetime
    due_at: datetime | None
    compressed: bool
    overdue: bool
    assignee_id: int | None


@router.get(
    "/workspaces/{slug}/my-work",
    response=responses(list[StepOut]),
    operation_id="my_work",
)
@requires("workflow.view")
def my_work(request: MemberRequest, slug: Slug) -> list[dict]:
    """The caller's open steps (assigned to them, or unassigned in a stage their role owns,
    or waiting for their approval), soonest deadline first."""
    return health.steps(request.workspace, caller(request))
