"""API: workflow health (cycle time, time in stage, revisions, turnaround, on-time rate) and
each member's open steps ("my work").

No ``from __future__ import annotations``: ninja reads the parameter types at import time.
"""

from datetime import datetime

from ninja import Field, Query, Router, Schema

from socialdesk.api_support import MemberRequest, Moment, Slug, caller, requires, responses

from . import health

router = Router(tags=["workflow"])


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
