"""Workflow health figures for a period, and people's open steps.

Every figure is a database aggregate (Count, Avg, or an ordered OFFSET pick for percentiles,
which SQLite has no function for), so the page stays fast with years of history.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Min, Q, QuerySet
from django.utils import timezone

from socialdesk.content.models import Post
from socialdesk.workspaces.models import User, Workspace

from . import services
from .models import PostWorkflow, StageKind, StageVisit

DEFAULT_PERIOD = timedelta(days=90)


def period(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    end = end or timezone.now()
    start = start or end - DEFAULT_PERIOD
    if end <= start:
        raise ValidationError({"to": ["The end of the period must be after its start."]})
    return start, end


def _hours(value: timedelta | float | None) -> float | None:
    if value is None:
        return None
    if not isinstance(value, timedelta):  # some backends answer microseconds
        value = timedelta(microseconds=float(value))
    return round(value.total_seconds() / 3600, 1)


def _duration(later: str, earlier: str) -> ExpressionWrapper:
    return ExpressionWrapper(F(later) - F(earlier), output_field=DurationField())


def percentile(queryset: QuerySet, field: str, share: float, count: int) -> Any:
    """Nearest-rank percentile of ``field``: one ordered query with OFFSET."""
    if count == 0:
        return None
    rank = max(math.ceil(share * count) - 1, 0)
    return queryset.order_by(field).values_list(field, flat=True)[rank]


def figures(workspace: Workspace, start: datetime, end: datetime) -> dict[str, Any]:
    # Cycle time: from entering the workflow (idea) to the first delivery going out.
    cycles = (
        PostWorkflow.objects.filter(workspace=workspace)
        .annotate(published=Min("post__deliveries__published_at"))
        .filter(published__gte=start, published__lt=end)
        .annotate(cycle=_duration("published", "created_at"))
    )
    published = cycles.count()
    visits = StageVisit.objects.filter(workspace=workspace, left_at__gte=start, left_at__lt=end)
    per_stage = (
        visits.values("stage_id", "stage__name", "stage__position")
        .annotate(visits=Count("id"), average=Avg(_duration("left_at", "entered_at")))
        .order_by("stage__position", "stage_id")
    )
    post_ids = cycles.values("post_id")
    revisions = (
        Post.objects.filter(pk__in=post_ids)
        .annotate(revisions=Count("versions"))
        .aggregate(average=Avg("revisions"))["average"]
    )
    turnaround = visits.filter(stage__kind__in=[StageKind.APPROVAL, StageKind.CLIENT_APPROVAL])
    turnaround_avg = turnaround.aggregate(average=Avg(_duration("left_at", "entered_at")))
    due = visits.exclude(due_at=None).aggregate(
        total=Count("id"), on_time=Count("id", filter=Q(left_at__lte=F("due_at")))
    )
    cutoff = min(end, timezone.now())
    overdue = (
        StageVisit.objects.filter(workspace=workspace, due_at__gte=start, due_at__lt=cutoff)
        .filter(Q(left_at=None) | Q(left_at__gt=F("due_at")))
        .values("assignee_id", "assignee__name", "assignee__email")
        .annotate(overdue=Count("id"))
        .order_by("-overdue", "assignee__email")
    )
    return {
        "start": start,
        "end": end,
        "published_posts": published,
        "cycle_median_hours": _hours(percentile(cycles, "cycle", 0.5, published)),
        "cycle_p90_hours": _hours(percentile(cycles, "cycle", 0.9, published)),
        "time_in_stage": [
            {
                "stage_id": row["stage_id"],
                "stage": row["stage__name"],
                "visits": row["visits"],
                "average_hours": _hours(row["average"]),
            }
            for row in per_stage
        ],
        "revisions_per_post": round(revisions, 1) if revisions is not None else None,
        "approval_turnaround_hours": _hours(turnaround_avg["average"]),
        "on_time_rate": round(due["on_time"] / due["total"], 3) if due["total"] else None,
        "overdue_by_member": [
            {
                "user_id": row["assignee_id"],
                "member": row["assignee__name"] or row["assignee__email"] or "Unassigned",
                "overdue": row["overdue"],
            }
            for row in overdue
        ],
    }


def steps(workspace: Workspace, user: User | None, now: datetime | None = None) -> list[dict]:
    """Open steps (a user's, or everybody's), soonest deadline first, as plain dicts."""
    now = now or timezone.now()
    services.refresh_deadlines(workspace)
    rows = []
    for visit in services.open_steps(workspace, user):
        rows.append(
            {
                "post_id": visit.post_id,
                "post": str(visit.post),
                "stage_id": visit.stage_id,
                "stage": visit.stage.name,
                "entered_at": visit.entered_at,
                "due_at": visit.due_at,
                "compressed": visit.compressed,
                "overdue": visit.due_at is not None and visit.due_at < now,
                "assignee_id": visit.assignee_id,
                "assignee": visit.assignee,
            }
        )
    return rows
