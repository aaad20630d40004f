"""Reminders for steps due tomorrow and overdue steps (issue 4, item 9).

``send_reminders(now)`` runs from the worker's periodic loop. It is idempotent per step, kind
and day (``ReminderSent``), so running it every minute sends each reminder once a day.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from socialdesk.workspaces.models import User, Workspace

from . import services
from .approvals import eligible_approvers
from .models import ReminderSent, StageVisit

logger = logging.getLogger("socialdesk.workflow")


def _people(visit: StageVisit) -> list[User]:
    if visit.assignee_id:
        return [visit.assignee]  # type: ignore[list-item]
    if visit.stage.is_approval:
        return eligible_approvers(visit.stage, visit.post)
    from socialdesk.notifications.services import people_with_role

    return people_with_role(Workspace(pk=visit.workspace_id), visit.stage.owner_role)


def send_reminders(now: datetime | None = None) -> int:
    """Notify the people of open steps due tomorrow (in the workspace's zone) and of overdue
    ones; returns how many reminders went out."""
    from socialdesk.notifications.services import notify

    now = now or timezone.now()
    workspace_ids = set(
        StageVisit.objects.filter(left_at=None)
        .exclude(due_at=None)
        .values_list("workspace_id", flat=True)
    )
    sent = 0
    for workspace in Workspace.objects.filter(pk__in=workspace_ids):
        services.refresh_deadlines(workspace)
        today = now.astimezone(workspace.zone).date()
        tomorrow_ends = datetime.combine(
            today + timedelta(days=2), datetime.min.time(), tzinfo=workspace.zone
        )
        open_visits = StageVisit.objects.filter(
            workspace=workspace, left_at=None, due_at__lt=tomorrow_ends
        ).select_related("post", "stage", "assignee")
        for visit in open_visits:
            assert visit.due_at is not None
            overdue = visit.due_at < now
            due_day = visit.due_at.astimezone(workspace.zone).date()
            if not overdue and due_day != today + timedelta(days=1):
                continue  # due later today: neither tomorrow nor overdue yet
            kind = "overdue" if overdue else "due_tomorrow"
            try:
                with transaction.atomic():
                    ReminderSent.objects.create(visit=visit, kind=kind, day=today)
            except IntegrityError:
                continue  # already reminded today
            event = "step.overdue" if overdue else "step.due_tomorrow"
            when = "is overdue" if overdue else "is due tomorrow"
            notify(
                workspace,
                _people(visit),
                event,
                f"{visit.stage} of “{visit.post}” {when}",
                url=f"/w/{workspace.slug}/posts/{visit.post_id}/",
                target=visit.post,
            )
            sent += 1
    return sent


# The worker's heartbeat calls ``on_heartbeat`` every few seconds; reminders are per day, so
# checking every ten minutes is plenty. Per process: two sweepers never run at once anyway.
EVERY = timedelta(minutes=10)
_last_run: datetime | None = None


def on_heartbeat(now: datetime | None = None) -> int:
    """Send due reminders at most every ``EVERY``; never raises (the loop must go on)."""
    global _last_run
    now = now or timezone.now()
    if _last_run is not None and now - _last_run < EVERY:
        return 0
    _last_run = now
    try:
        return send_reminders(now)
    except Exception:
        logger.exception("Workflow reminders failed; trying again in ten minutes")
        return 0
