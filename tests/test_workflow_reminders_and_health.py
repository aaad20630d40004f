"""Reminders for due and overdue steps (item 9) and workflow health figures (item 11)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from workflow_helpers import stage

from socialdesk.content.services import PostContent, create_post
from socialdesk.notifications.models import Notification
from socialdesk.publishing.models import Delivery, DeliveryState
from socialdesk.workflow import health, services
from socialdesk.workflow.models import StageVisit
from socialdesk.workflow.reminders import send_reminders

NOW = datetime(2030, 3, 4, 8, 0, tzinfo=UTC)


@pytest.fixture
def planned(workspace, creator, channel):
    """A post in Draft, assigned to the creator, due (14 days before publishing) tomorrow."""
    post = create_post(workspace, creator, PostContent(text="Rye", channel_ids=[channel.pk]))
    Delivery.objects.filter(post=post).update(scheduled_at=NOW + timedelta(days=15))
    services.workflow_of(post, now=NOW - timedelta(days=60))
    services.move(post, stage(workspace, "draft"), user=creator, now=NOW - timedelta(days=30))
    services.assign(post, stage(workspace, "draft"), creator, creator)
    return post


def test_a_step_due_tomorrow_is_reminded_once_a_day(planned, creator):
    assert send_reminders(NOW) == 1
    assert send_reminders(NOW + timedelta(hours=3)) == 0
    notification = Notification.objects.get(recipient=creator)
    assert notification.event == "step.due_tomorrow"
    assert "Draft of “Rye” is due tomorrow" in notification.title


def test_an_overdue_step_is_reminded_each_day(planned, creator):
    later = NOW + timedelta(days=2)
    assert send_reminders(later) == 1
    assert send_reminders(later + timedelta(days=1)) == 1
    assert send_reminders(later + timedelta(days=1, hours=1)) == 0
    events = set(Notification.objects.filter(recipient=creator).values_list("event", flat=True))
    assert events == {"step.overdue"}


def test_health_figures_come_from_the_history(workspace, creator, approver, channel):
    start = NOW - timedelta(days=40)
    for n, days in enumerate([10, 20, 30]):
        post = create_post(workspace, creator, PostContent(text=f"P{n}", channel_ids=[channel.pk]))
        wf = services.workflow_of(post, now=start)
        wf.created_at = start
        wf.save(update_fields=["created_at"])
        StageVisit.objects.filter(post=post).update(entered_at=start)
        services.move(
            post,
            stage(workspace, "approval"),
            user=creator,
            check=False,
            now=start + timedelta(days=days - 2),
        )
        services.move(
            post,
            stage(workspace, "ready"),
            user=creator,
            check=False,
            now=start + timedelta(days=days - 1),
        )
        Delivery.objects.filter(post=post).update(
            state=DeliveryState.PUBLISHED, published_at=start + timedelta(days=days)
        )
    figures = health.figures(workspace, NOW - timedelta(days=60), NOW)
    assert figures["published_posts"] == 3
    assert figures["cycle_median_hours"] == 20 * 24
    assert figures["cycle_p90_hours"] == 30 * 24
    assert figures["approval_turnaround_hours"] == 24
    assert figures["revisions_per_post"] == 1
    idea = next(row for row in figures["time_in_stage"] if row["stage"] == "Idea")
    assert idea["visits"] == 3 and idea["average_hours"] == 18 * 24
