"""The metrics API: a post's snapshots per delivery and a channel's days, read by analysts
and above, with null for what a network does not give (``analytics.metrics_api``)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from api_helpers import call
from django.utils import timezone

from socialdesk.analytics.models import Bucket, ChannelDay, MetricSchedule, MetricSnapshot
from socialdesk.publishing.models import Delivery, DeliveryState


@pytest.fixture
def measured(workspace, post, channel) -> Delivery:
    """The bakery's post, published on its page 30 hours ago, read at +1 h and (late) +24 h."""
    delivery = post.deliveries.get()
    published_at = timezone.now() - timedelta(hours=30)
    Delivery.objects.filter(pk=delivery.pk).update(
        state=DeliveryState.PUBLISHED, published_at=published_at, remote_id="entry-1"
    )
    for bucket, age, likes in (
        (Bucket.H1, timedelta(hours=1, minutes=2), 3),
        (Bucket.H24, timedelta(hours=30), None),
    ):
        MetricSnapshot.objects.create(
            workspace=workspace,
            delivery=delivery,
            channel=channel,
            published_at=published_at,
            taken_at=published_at + age,
            bucket=bucket,
            likes=likes,
        )
    MetricSchedule.objects.create(
        workspace=workspace,
        delivery=delivery,
        channel=channel,
        published_at=published_at,
        next_bucket=Bucket.D3,
        due_at=published_at + timedelta(hours=72),
    )
    return delivery


def test_an_analyst_reads_a_posts_snapshots_with_their_real_age(post, measured, analyst, token_for):
    response = call("GET", f"/workspaces/crumb/posts/{post.pk}/metrics", token_for(analyst))

    assert response.status_code == 200, response.content
    [delivery] = response.json()["deliveries"]
    assert delivery["delivery_id"] == measured.pk
    assert delivery["network"]["network"] == "page"
    assert "counted by Socialdesk itself" in delivery["network"]["note"]
    first, late = delivery["snapshots"]
    assert (first["bucket"], first["bucket_hours"], first["likes"]) == ("+1 h", 1, 3)
    assert first["views"] is None  # not given: null, never 0
    assert late["bucket"] == "+24 h" and late["age_hours"] == 30.0 and late["late_hours"] == 6.0
    assert late["likes"] is None
    assert delivery["next_snapshot_at"] is not None


def test_a_post_not_yet_measured_has_its_deliveries_and_no_snapshots(post, owner, token_for):
    response = call("GET", f"/workspaces/crumb/posts/{post.pk}/metrics", token_for(owner))

    assert response.status_code == 200
    [delivery] = response.json()["deliveries"]
    assert delivery["snapshots"] == [] and delivery["next_snapshot_at"] is None


@pytest.mark.parametrize("role", ["creator", "approver", "client", "community_manager"])
def test_roles_without_analytics_are_refused(role, post, person, token_for):
    response = call("GET", f"/workspaces/crumb/posts/{post.pk}/metrics", token_for(person(role)))

    assert response.status_code == 403


def test_an_outsider_is_told_the_workspace_does_not_exist(post, channel, outsider, token_for):
    token = token_for(outsider)
    assert call("GET", f"/workspaces/crumb/posts/{post.pk}/metrics", token).status_code == 404
    assert call("GET", f"/workspaces/crumb/channels/{channel.pk}/days", token).status_code == 404


def test_another_workspaces_post_is_not_found(other_post, owner, token_for):
    response = call("GET", f"/workspaces/crumb/posts/{other_post.pk}/metrics", token_for(owner))

    assert response.status_code == 404


def test_a_channels_days_in_a_range_with_what_its_network_gives(
    workspace, channel, manager, token_for
):
    for offset, followers in ((0, None), (1, None), (40, None)):
        ChannelDay.objects.create(
            workspace=workspace,
            channel=channel,
            day=date(2026, 12, 7) - timedelta(days=offset),
            followers=followers,
            posts=offset % 3,
        )

    response = call(
        "GET",
        f"/workspaces/crumb/channels/{channel.pk}/days?from=2026-12-01&to=2026-12-07",
        token_for(manager),
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["time_zone"] == "Europe/Paris"
    # The page counts its own views and short-link clicks (tests/test_page_metrics.py).
    assert [g["metric"] for g in body["network"]["gives"]] == ["views", "clicks"]
    assert [(d["day"], d["followers"], d["posts"]) for d in body["days"]] == [
        ("2026-12-06", None, 1),
        ("2026-12-07", None, 0),
    ]


def test_a_backwards_or_too_long_range_is_refused_clearly(channel, owner, token_for):
    token = token_for(owner)
    url = f"/workspaces/crumb/channels/{channel.pk}/days"

    backwards = call("GET", f"{url}?from=2026-12-07&to=2026-12-01", token)
    too_long = call("GET", f"{url}?from=2020-01-01&to=2026-12-01", token)
    year_one = call("GET", f"{url}?to=0001-01-02", token)

    assert backwards.status_code == too_long.status_code == 422
    assert "at most 400 days" in str(backwards.json())
    assert year_one.status_code == 200
