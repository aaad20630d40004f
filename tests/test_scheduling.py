"""Scheduling services: wall-clock times in the right zone, stored in UTC, refused clearly.

The crumb workspace is in Europe/Paris; its ``channel`` has no zone of its own. Dates are in
2027 so that they are in the future whatever "now" a test passes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from fake_network import FakeConnector
from task_queue import QueuedTask, expected_run_after, queued

from socialdesk.content.services import PostContent, create_post
from socialdesk.networks.models import Channel, ChannelStatus, Network
from socialdesk.publishing import connectors
from socialdesk.publishing.dispatch import run
from socialdesk.publishing.models import Delivery, DeliveryState, DeliveryTransition
from socialdesk.publishing.services import cancel, publish_now, reschedule, schedule, unschedule
from socialdesk.publishing.wallclock import WallClockError, to_utc

S = DeliveryState
BEFORE_AUTUMN_CHANGE = datetime(2027, 10, 20, 10, 0, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def draft(workspace, owner, channel) -> Delivery:
    post = create_post(
        workspace, owner, PostContent(text="Stollen is back", channel_ids=[channel.pk])
    )
    return post.deliveries.get()


@pytest.fixture
def scheduled(post) -> Delivery:
    # Start from an empty history: how the fixture got scheduled is not under test here.
    DeliveryTransition.objects.all().delete()
    return post.deliveries.get()


def Strict() -> FakeConnector:
    """A network with rules: refuses anything longer than 20 characters."""
    return FakeConnector(max_length=20, publishing_allowed=False)  # scheduling never publishes


def tasks_for(delivery: Delivery) -> list[QueuedTask]:
    return queued(delivery.pk)


# --- Time zones and daylight saving -------------------------------------------------------


def test_nine_in_paris_after_the_autumn_change_is_eight_utc_even_when_scheduled_in_summer(
    draft, owner
):
    schedule(draft, datetime(2027, 11, 2, 9, 0), actor=owner, now=BEFORE_AUTUMN_CHANGE)

    draft.refresh_from_db()
    assert draft.state == S.SCHEDULED
    assert draft.scheduled_at == utc(2027, 11, 2, 8, 0)


def test_nine_in_paris_in_summer_is_seven_utc(draft, owner):
    schedule(
        draft,
        datetime(2027, 7, 1, 9, 0),
        actor=owner,
        now=BEFORE_AUTUMN_CHANGE - timedelta(days=180),
    )

    draft.refresh_from_db()
    assert draft.scheduled_at == utc(2027, 7, 1, 7, 0)


def test_a_time_in_the_spring_forward_gap_is_refused_with_the_valid_choices(draft, owner):
    with pytest.raises(WallClockError) as caught:
        schedule(draft, datetime(2027, 3, 28, 2, 30), actor=owner)

    assert caught.value.message_dict == {
        "scheduled_at": [
            "02:30 does not exist on 2027-03-28 in Europe/Paris: the clocks jump from 02:00 "
            "to 03:00. Choose 01:59 (UTC+1) or 03:00 (UTC+2)."
        ]
    }
    assert [c.label for c in caught.value.choices] == ["01:59 (UTC+1)", "03:00 (UTC+2)"]
    assert [c.utc for c in caught.value.choices] == [utc(2027, 3, 28, 0, 59), utc(2027, 3, 28, 1)]
    draft.refresh_from_db()
    assert (draft.state, draft.scheduled_at) == (S.DRAFT, None)


def test_a_gap_in_another_zone_is_found_where_that_zone_jumps():
    with pytest.raises(WallClockError, match="clocks jump from 02:00 to 03:00"):
        to_utc(datetime(2027, 3, 14, 2, 15), ZoneInfo("America/New_York"))


def test_a_half_hour_daylight_saving_jump_offers_the_half_hour_choices():
    with pytest.raises(WallClockError) as caught:
        to_utc(datetime(2027, 10, 3, 2, 10), ZoneInfo("Australia/Lord_Howe"))

    expected = "clocks jump from 02:00 to 02:30. Choose 01:59 (UTC+10:30) or 02:30 (UTC+11)"
    assert expected in str(caught.value)


def test_a_time_that_happens_twice_is_refused_offering_both_readings(draft, owner):
    with pytest.raises(WallClockError) as caught:
        schedule(draft, datetime(2027, 10, 31, 2, 30), actor=owner, now=BEFORE_AUTUMN_CHANGE)

    message = caught.value.message_dict["scheduled_at"][0]
    assert message == (
        "02:30 happens twice on 2027-10-31 in Europe/Paris: the clocks go back. Choose the "
        "earlier 02:30 CEST (UTC+2) or the later 02:30 CET (UTC+1)."
    )
    assert [(c.fold, c.utc) for c in caught.value.choices] == [
        (0, utc(2027, 10, 31, 0, 30)),
        (1, utc(2027, 10, 31, 1, 30)),
    ]
    assert Delivery.objects.get(pk=draft.pk).state == S.DRAFT


def test_a_time_that_happens_twice_is_accepted_with_an_explicit_fold(draft, owner):
    schedule(draft, datetime(2027, 10, 31, 2, 30), actor=owner, fold=1, now=BEFORE_AUTUMN_CHANGE)

    assert Delivery.objects.get(pk=draft.pk).scheduled_at == utc(2027, 10, 31, 1, 30)


def test_a_time_that_happens_twice_is_accepted_with_an_explicit_offset(draft, owner):
    schedule(
        draft, datetime(2027, 10, 31, 2, 30), actor=owner, offset="+02:00", now=BEFORE_AUTUMN_CHANGE
    )

    assert Delivery.objects.get(pk=draft.pk).scheduled_at == utc(2027, 10, 31, 0, 30)


def test_an_offset_that_the_zone_does_not_have_at_that_time_is_refused(draft, owner):
    with pytest.raises(ValidationError) as caught:
        schedule(draft, datetime(2027, 11, 2, 9), actor=owner, offset="+05:00")

    assert caught.value.message_dict == {
        "offset": ["09:00 on 2027-11-02 in Europe/Paris is UTC+1, not UTC+5."]
    }


def test_the_channel_zone_wins_over_the_workspace_zone(draft, owner, channel):
    channel.time_zone = "America/New_York"
    channel.save(update_fields=["time_zone"])

    schedule(draft, datetime(2027, 11, 9, 9, 0), actor=owner)

    # New York has left summer time by 9 November (Paris would give 08:00Z).
    assert Delivery.objects.get(pk=draft.pk).scheduled_at == utc(2027, 11, 9, 14, 0)


def test_a_zone_given_explicitly_wins_over_the_channel_zone(draft, owner, channel):
    channel.time_zone = "America/New_York"
    channel.save(update_fields=["time_zone"])

    schedule(draft, datetime(2027, 11, 2, 9, 0), "Asia/Tokyo", owner)

    assert Delivery.objects.get(pk=draft.pk).scheduled_at == utc(2027, 11, 2, 0, 0)


def test_an_unknown_zone_name_is_refused_naming_the_field(draft, owner):
    with pytest.raises(ValidationError) as caught:
        schedule(draft, datetime(2027, 11, 2, 9), "Europe/Atlantis", owner)

    assert "time_zone" in caught.value.message_dict


# --- Refusals -----------------------------------------------------------------------------


def test_a_time_in_the_past_is_refused_with_the_time_it_is_now(draft, owner):
    with pytest.raises(ValidationError) as caught:
        schedule(draft, datetime(2027, 10, 20, 9, 0), actor=owner, now=BEFORE_AUTUMN_CHANGE)

    assert caught.value.message_dict == {
        "scheduled_at": [
            "2027-10-20 09:00 in Europe/Paris is in the past (it is now 2027-10-20 12:00 "
            "there); choose a later time."
        ]
    }


def test_a_channel_that_needs_reconnecting_cannot_be_scheduled(draft, owner, channel):
    Channel.objects.filter(pk=channel.pk).update(status=ChannelStatus.NEEDS_RECONNECT)

    with pytest.raises(ValidationError) as caught:
        schedule(draft, datetime(2027, 11, 2, 9), actor=owner)

    assert caught.value.message_dict["channel"] == [
        "Public page crumb needs reconnecting: its authorization was revoked or expired."
    ]
    assert Delivery.objects.get(pk=draft.pk).state == S.DRAFT


def test_content_the_network_refuses_is_refused_in_the_networks_words(
    workspace, owner, channel, monkeypatch
):
    monkeypatch.setitem(connectors.REGISTRY, Network.PAGE, lambda channel: Strict())
    post = create_post(
        workspace, owner, PostContent(text="A very long stollen story", channel_ids=[channel.pk])
    )

    with pytest.raises(ValidationError) as caught:
        schedule(post, datetime(2027, 11, 2, 9), actor=owner)

    assert caught.value.message_dict == {
        "text": ["Public page crumb: Is 25 characters; this network allows 20."]
    }


def test_an_unapproved_post_gets_its_time_but_waits_where_approval_is_required(
    draft, owner, workspace
):
    workspace.requires_approval = True
    workspace.save(update_fields=["requires_approval"])

    schedule(draft, datetime(2027, 11, 2, 9), actor=owner)

    draft.refresh_from_db()
    assert (draft.state, draft.scheduled_at) == (S.AWAITING_APPROVAL, utc(2027, 11, 2, 8))
    assert queued(draft.pk) == []  # the engine never sends it: no task is queued


def test_one_refused_channel_leaves_every_delivery_of_the_post_untouched(workspace, owner, channel):
    broken = Channel.objects.create(
        workspace=workspace,
        network=Network.BLUESKY,
        handle="crumb.bsky.social",
        status=ChannelStatus.DISCONNECTED,
    )
    post = create_post(
        workspace, owner, PostContent(text="Stollen", channel_ids=[channel.pk, broken.pk])
    )

    with pytest.raises(ValidationError, match="disconnected"):
        schedule(post, datetime(2027, 11, 2, 9), actor=owner)

    assert set(post.deliveries.values_list("state", flat=True)) == {S.DRAFT}
    assert not DeliveryTransition.objects.exists()


# --- The operations -----------------------------------------------------------------------


def test_scheduling_a_post_schedules_its_deliveries_and_records_who_did_it(
    workspace, owner, channel
):
    second = Channel.objects.create(workspace=workspace, network=Network.PAGE, handle="crumb2")
    post = create_post(
        workspace, owner, PostContent(text="Stollen", channel_ids=[channel.pk, second.pk])
    )

    deliveries = schedule(post, datetime(2027, 11, 2, 9), actor=owner)

    assert len(deliveries) == 2
    assert set(post.deliveries.values_list("state", "scheduled_at")) == {
        (S.SCHEDULED, utc(2027, 11, 2, 8))
    }
    records = DeliveryTransition.objects.filter(delivery__post=post)
    assert [(r.to_state, r.actor, r.reason) for r in records] == [
        (S.SCHEDULED, owner, "scheduled")
    ] * 2


def test_scheduling_queues_a_task_that_wakes_at_the_due_time(
    draft, owner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        schedule(draft, datetime(2027, 11, 2, 9), actor=owner)

    [task] = tasks_for(draft)
    assert task.run_after == expected_run_after(utc(2027, 11, 2, 8))
    assert Delivery.objects.get(pk=draft.pk).enqueued_for == utc(2027, 11, 2, 8)


def test_nothing_is_queued_when_scheduling_is_refused(
    draft, owner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError):
        schedule(draft, datetime(2020, 1, 1, 9), actor=owner)

    assert tasks_for(draft) == []


def test_rescheduling_moves_the_time_and_is_recorded(scheduled, manager):
    reschedule(scheduled, datetime(2027, 12, 24, 7, 30), actor=manager)

    scheduled.refresh_from_db()
    assert (scheduled.state, scheduled.scheduled_at) == (S.SCHEDULED, utc(2027, 12, 24, 6, 30))
    assert DeliveryTransition.objects.get(delivery=scheduled).reason == "rescheduled"


def test_a_draft_cannot_be_rescheduled(draft, owner):
    with pytest.raises(ValidationError, match="is draft"):
        reschedule(draft, datetime(2027, 11, 2, 9), actor=owner)


def test_unscheduling_returns_to_draft_and_the_queued_task_then_does_nothing(
    scheduled, owner, monkeypatch
):
    monkeypatch.setitem(connectors.REGISTRY, Network.PAGE, lambda channel: Strict())

    unschedule(scheduled, owner)

    scheduled.refresh_from_db()
    assert (scheduled.state, scheduled.scheduled_at) == (S.DRAFT, None)
    # The task queued for the old time runs anyway: it finds a draft and publishes nothing.
    assert run(scheduled.pk, "w1", now=datetime(2030, 1, 1, tzinfo=UTC)) == S.DRAFT


def test_cancelling_keeps_the_time_for_the_record(scheduled, owner):
    when = scheduled.scheduled_at

    cancel(scheduled, owner)

    scheduled.refresh_from_db()
    assert (scheduled.state, scheduled.scheduled_at) == (S.CANCELLED, when)


def test_a_published_delivery_cannot_be_scheduled_again(scheduled, owner):
    Delivery.objects.filter(pk=scheduled.pk).update(state=S.PUBLISHED)

    with pytest.raises(ValidationError) as caught:
        schedule(scheduled, datetime(2027, 11, 2, 9), actor=owner)

    assert caught.value.message_dict == {
        "state": ["The delivery to Public page crumb is published; this cannot be done now."]
    }


def test_publish_now_schedules_for_now_and_queues_at_once(
    draft, owner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        [delivery] = publish_now(draft, owner)

    assert delivery.state == S.SCHEDULED
    assert delivery.scheduled_at is not None
    [task] = tasks_for(draft)
    assert task.ready


def test_publish_now_refuses_a_disconnected_channel(draft, owner, channel):
    Channel.objects.filter(pk=channel.pk).update(status=ChannelStatus.DISCONNECTED)

    with pytest.raises(ValidationError, match="disconnected"):
        publish_now(draft, owner)
    assert Delivery.objects.get(pk=draft.pk).state == S.DRAFT


# --- The real connectors' rules -----------------------------------------------------------


@pytest.fixture
def bluesky(workspace) -> Channel:
    channel = Channel(workspace=workspace, network=Network.BLUESKY, handle="crumb.test")
    channel.set_credentials(
        {"handle": "crumb.test", "app_password": "abcd-efgh-ijkl-mnop", "pds_url": ""}
    )
    channel.save()
    return channel


def test_a_bluesky_post_over_300_characters_is_refused_in_blueskys_words(workspace, owner, bluesky):
    post = create_post(workspace, owner, PostContent(text="🥐" * 301, channel_ids=[bluesky.pk]))

    with pytest.raises(ValidationError) as caught:
        schedule(post, datetime(2027, 11, 2, 9), actor=owner)

    assert caught.value.message_dict == {
        "text": ["Bluesky crumb.test: The text has 301 characters; Bluesky allows 300. Remove 1."]
    }


def test_a_bluesky_post_of_300_emoji_is_accepted(workspace, owner, bluesky):
    post = create_post(workspace, owner, PostContent(text="🥐" * 300, channel_ids=[bluesky.pk]))

    [delivery] = schedule(post, datetime(2027, 11, 2, 9), actor=owner)

    assert delivery.state == S.SCHEDULED


def test_a_bluesky_channel_without_credentials_has_no_connector(workspace):
    channel = Channel.objects.create(workspace=workspace, network=Network.BLUESKY, handle="x")

    assert connectors.connector_for(channel) is None


# --- The post editor's scheduling path (content.services) uses the same checks -----------


def test_the_post_editor_refuses_content_the_network_refuses_exactly_as_schedule_does(
    workspace, owner, channel, monkeypatch
):
    from socialdesk.content.models import Post

    monkeypatch.setitem(connectors.REGISTRY, Network.PAGE, lambda channel: Strict())
    later = timezone.now() + timedelta(days=1)
    content = PostContent(
        text="A very long stollen story", channel_ids=[channel.pk], scheduled_at=later
    )

    with pytest.raises(ValidationError) as caught:
        create_post(workspace, owner, content)

    assert caught.value.message_dict == {
        "text": ["Public page crumb: Is 25 characters; this network allows 20."]
    }
    assert not Post.objects.exists()  # nothing half-written


def test_the_post_editor_cannot_schedule_on_a_channel_that_needs_reconnecting(
    draft, owner, channel
):
    from socialdesk.content.services import update_post

    Channel.objects.filter(pk=channel.pk).update(status=ChannelStatus.NEEDS_RECONNECT)
    later = timezone.now() + timedelta(days=1)

    with pytest.raises(ValidationError) as caught:
        update_post(draft.post, owner, PostContent(scheduled_at=later))

    assert "needs reconnecting" in caught.value.message_dict["channel"][0]
    assert Delivery.objects.get(pk=draft.pk).state == S.DRAFT
