"""Queues and slots (issue 5, item 4): weekly slots in the channel's zone, "add to queue"
takes the next free one, reorder, pause, evergreen posts come back; the queue page and API.

Every test injects ``now`` (a Monday in 2030 unless said otherwise), so nothing depends on
the clock or on timing.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from api_helpers import call
from django.core.exceptions import ValidationError

from socialdesk.content.services import PostContent, create_post
from socialdesk.networks.models import Channel, ChannelStatus, Network
from socialdesk.publishing import queues, services
from socialdesk.publishing.models import Delivery, DeliveryState, QueueEntry, Slot

pytestmark = pytest.mark.django_db

S = DeliveryState
NOW = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)  # Monday 09:00 in Paris


def draft(workspace, owner, channel, text: str) -> Delivery:
    post = create_post(workspace, owner, PostContent(text=text, channel_ids=[channel.pk]))
    return post.deliveries.get()


def paris(at: datetime) -> str:
    return at.astimezone(services.zone_named("Europe/Paris")).strftime("%a %Y-%m-%d %H:%M")  # type: ignore[arg-type]


@pytest.fixture
def slots(channel):
    """Weekdays at 10:00 and 15:00, Paris time (the channel uses the workspace's zone)."""
    return queues.set_slots(channel, [(d, time(h)) for d in range(5) for h in (10, 15)])


def test_slot_occurrences_keep_their_wall_clock_time_across_daylight_saving(channel):
    queues.set_slots(channel, [(6, time(9, 0))])  # Sundays 09:00 Paris
    after = datetime(2026, 10, 17, tzinfo=UTC)
    found = list(queues.occurrences(channel, after, after + timedelta(days=14)))
    # Summer time (UTC+2) on the 18th, winter time (UTC+1) from the 25th: 09:00 local both.
    assert found == [
        datetime(2026, 10, 18, 7, 0, tzinfo=UTC),
        datetime(2026, 10, 25, 8, 0, tzinfo=UTC),
    ]


def test_a_slot_inside_the_spring_forward_gap_moves_later_by_the_jump_that_day(channel):
    queues.set_slots(channel, [(6, time(2, 30))])  # 02:30 does not exist on 2026-03-29
    after = datetime(2026, 3, 21, tzinfo=UTC)
    found = list(queues.occurrences(channel, after, after + timedelta(days=16)))
    assert [paris(at) for at in found] == [
        "Sun 2026-03-22 02:30",
        "Sun 2026-03-29 03:30",  # clocks jump from 02:00 to 03:00: an hour later, not skipped
        "Sun 2026-04-05 02:30",
    ]


def test_a_slot_in_the_repeated_hour_goes_out_once_at_the_earlier_reading(channel):
    queues.set_slots(channel, [(6, time(2, 30))])  # 02:30 happens twice on 2026-10-25
    after = datetime(2026, 10, 24, tzinfo=UTC)
    found = list(queues.occurrences(channel, after, after + timedelta(days=2)))
    assert found == [datetime(2026, 10, 25, 0, 30, tzinfo=UTC)]  # 02:30 CEST (UTC+2)


def test_a_moved_slot_comes_after_a_slot_it_overtakes(channel):
    queues.set_slots(channel, [(6, time(2, 30)), (6, time(3, 15))])
    after = datetime(2026, 3, 28, tzinfo=UTC)
    found = list(queues.occurrences(channel, after, after + timedelta(days=2)))
    assert [paris(at) for at in found] == ["Sun 2026-03-29 03:15", "Sun 2026-03-29 03:30"]


def test_the_clock_notes_say_what_the_rule_did_to_each_slot(channel):
    queues.set_slots(channel, [(6, time(2, 30)), (6, time(9, 0))])
    after = datetime(2026, 3, 1, tzinfo=UTC)
    assert queues.clock_notes(channel, after, after + timedelta(days=300)) == [
        "02:30 does not exist on Sun 29 Mar 2026 (clocks jump from 02:00 to 03:00): this slot "
        "goes out at 03:30.",
        "02:30 happens twice on Sun 25 Oct 2026 (clocks go back): this slot takes the earlier "
        "one, 02:30 CEST (UTC+2).",
    ]


def test_add_to_queue_takes_the_next_free_slot_in_order(workspace, owner, channel, slots):
    first = draft(workspace, owner, channel, "Rye")
    second = draft(workspace, owner, channel, "Spelt")
    queues.add_to_queue(first, owner, now=NOW)
    queues.add_to_queue(second, owner, now=NOW)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.state == second.state == S.SCHEDULED
    assert paris(first.scheduled_at) == "Mon 2030-01-07 10:00"
    assert paris(second.scheduled_at) == "Mon 2030-01-07 15:00"
    assert first.transitions.last().actor == owner


def test_a_slot_already_taken_by_a_scheduled_post_is_skipped(workspace, owner, channel, slots):
    other = draft(workspace, owner, channel, "Planned by hand")
    services.schedule(other, datetime(2030, 1, 7, 10, 0), actor=owner, now=NOW)
    queued = draft(workspace, owner, channel, "Queued")
    queues.add_to_queue(queued, owner, now=NOW)
    queued.refresh_from_db()
    assert paris(queued.scheduled_at) == "Mon 2030-01-07 15:00"


def test_reordering_deals_the_slot_times_out_again(workspace, owner, channel, slots):
    a, b, c = (draft(workspace, owner, channel, t) for t in ("A", "B", "C"))
    for d in (a, b, c):
        queues.add_to_queue(d, owner, now=NOW)
    queues.reorder(channel, [c.pk, a.pk, b.pk], owner, now=NOW)
    for d in (a, b, c):
        d.refresh_from_db()
    assert [paris(d.scheduled_at) for d in (c, a, b)] == [
        "Mon 2030-01-07 10:00",
        "Mon 2030-01-07 15:00",
        "Tue 2030-01-08 10:00",
    ]


def test_reorder_must_list_every_waiting_post_once(workspace, owner, channel, slots):
    a, b = draft(workspace, owner, channel, "A"), draft(workspace, owner, channel, "B")
    queues.add_to_queue(a, owner, now=NOW)
    queues.add_to_queue(b, owner, now=NOW)
    with pytest.raises(ValidationError) as caught:
        queues.reorder(channel, [a.pk, a.pk], owner, now=NOW)
    assert "exactly once" in caught.value.message_dict["delivery_ids"][0]


def test_pausing_turns_queued_posts_into_waiting_drafts_and_resuming_gives_slots_back(
    workspace, owner, channel, slots
):
    a = draft(workspace, owner, channel, "A")
    queues.add_to_queue(a, owner, now=NOW)
    queues.set_paused(channel, True, owner, now=NOW)
    a.refresh_from_db()
    assert (a.state, a.scheduled_at) == (S.DRAFT, None)
    assert QueueEntry.objects.filter(delivery=a).exists()
    queues.set_paused(channel, False, owner, now=NOW)
    a.refresh_from_db()
    assert paris(a.scheduled_at) == "Mon 2030-01-07 10:00"


def test_without_slots_a_queued_post_waits_and_the_person_is_told(workspace, owner, channel):
    a = draft(workspace, owner, channel, "A")
    _, result = queues.add_to_queue(a, owner, now=NOW)
    a.refresh_from_db()
    assert a.state == S.DRAFT
    assert any("no free slot" in w for w in result.warnings)


def test_a_published_delivery_cannot_be_queued(workspace, owner, channel, slots):
    a = draft(workspace, owner, channel, "A")
    Delivery.objects.filter(pk=a.pk).update(state=S.PUBLISHED)
    a.refresh_from_db()
    with pytest.raises(ValidationError) as caught:
        queues.add_to_queue(a, owner, now=NOW)
    assert "only drafts and scheduled" in caught.value.messages[0]


def test_a_post_the_scheduling_service_refuses_is_not_queued_quietly(
    workspace, owner, channel, slots
):
    Channel.objects.filter(pk=channel.pk).update(status=ChannelStatus.DISCONNECTED)
    a = draft(workspace, owner, channel, "Nowhere to go")
    with pytest.raises(ValidationError) as caught:
        queues.add_to_queue(a, owner, now=NOW)
    assert "channel" in caught.value.message_dict


def test_an_unapproved_post_takes_its_slot_and_waits_for_approval(workspace, owner, channel, slots):
    workspace.requires_approval = True
    workspace.save(update_fields=["requires_approval"])
    a = draft(workspace, owner, channel, "Needs approval")
    queues.add_to_queue(a, owner, now=NOW)
    a.refresh_from_db()
    assert a.state == S.AWAITING_APPROVAL
    assert paris(a.scheduled_at) == "Mon 2030-01-07 10:00"


def test_an_evergreen_post_returns_after_its_interval_with_the_next_variant(
    workspace, owner, channel, slots
):
    a = draft(workspace, owner, channel, "Our sourdough starter is 12 years old")
    queues.add_to_queue(
        a, owner, evergreen=True, interval_days=30, variants=["Meet Gus, our starter"], now=NOW
    )
    published_at = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)
    Delivery.objects.filter(pk=a.pk).update(state=S.PUBLISHED, published_at=published_at)

    result = queues.refill(channel, owner, now=NOW + timedelta(hours=2))
    (copy,) = result.entries
    assert copy.delivery.post_id != a.post_id
    assert copy.delivery.text == "Meet Gus, our starter"
    assert copy.delivery.scheduled_at >= published_at + timedelta(days=30)
    assert paris(copy.delivery.scheduled_at) == "Wed 2030-02-06 10:00"  # 09:00 UTC + 30 d
    # Only once: refilling again does not copy it a second time.
    queues.refill(channel, owner, now=NOW + timedelta(hours=3))
    assert QueueEntry.objects.filter(channel=channel).count() == 2

    # The copy rotates back to the first wording next time.
    Delivery.objects.filter(pk=copy.delivery_id).update(state=S.PUBLISHED, published_at=NOW)
    (third,) = queues.refill(channel, owner, now=NOW + timedelta(hours=4)).entries
    assert third.delivery.text == "Our sourdough starter is 12 years old"


def test_the_worker_heartbeat_brings_a_published_evergreen_post_back_on_its_own(
    workspace, owner, channel, slots, monkeypatch
):
    a = draft(workspace, owner, channel, "Our sourdough starter is 12 years old")
    queues.add_to_queue(a, owner, evergreen=True, interval_days=30, now=NOW)
    Delivery.objects.filter(pk=a.pk).update(state=S.PUBLISHED, published_at=NOW)
    monkeypatch.setattr(queues, "_last_evergreen_run", None)

    assert queues.on_heartbeat(now=NOW + timedelta(hours=1)) == 1
    copy = QueueEntry.objects.exclude(delivery=a).get()
    assert copy.delivery.state == S.SCHEDULED
    assert copy.delivery.scheduled_at >= NOW + timedelta(days=30)
    # A beat soon after does not look again.
    assert queues.on_heartbeat(now=NOW + timedelta(hours=1, minutes=1)) == 0


def test_slots_refuse_a_bad_weekday_or_time(channel):
    with pytest.raises(ValidationError) as caught:
        queues.set_slots(channel, [(7, time(9))])
    assert "weekday" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        queues.parse_slot(1, "25:99")
    assert "09:30" in caught.value.messages[0]


# --- The queue page -----------------------------------------------------------------------


def test_a_creator_adds_a_post_to_the_queue_from_the_page(
    workspace, creator, channel, slots, signed_in
):
    a = draft(workspace, creator, channel, "From the page")
    client = signed_in(creator)
    url = f"/w/{workspace.slug}/calendar/queues/{channel.pk}/"
    response = client.post(url, {"action": "add", "delivery": a.pk}, follow=True)
    assert response.status_code == 200
    a.refresh_from_db()
    assert a.state == S.SCHEDULED
    assert "Added to the queue" in response.content.decode()


def test_only_managers_change_slots_and_outsiders_see_nothing(
    workspace, creator, manager, outsider, channel, signed_in
):
    url = f"/w/{workspace.slug}/calendar/queues/{channel.pk}/"
    response = signed_in(creator).post(url, {"action": "slot_add", "weekday": 1, "time": "9:00"})
    assert response.status_code == 403
    assert not Slot.objects.exists()
    signed_in(manager).post(url, {"action": "slot_add", "weekday": 1, "time": "09:00"})
    assert Slot.objects.get().time == time(9)
    assert signed_in(outsider).get(url).status_code == 404


def test_the_queue_page_shows_slots_and_queue(workspace, analyst, channel, slots, signed_in):
    response = signed_in(analyst).get(f"/w/{workspace.slug}/calendar/queues/{channel.pk}/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "Monday <strong>10:00</strong>" in body
    assert "Add to queue" not in body  # an analyst changes nothing


def test_the_queue_page_says_the_rule_and_the_coming_days_it_moves_a_slot(
    workspace, analyst, channel, signed_in
):
    queues.set_slots(channel, [(6, time(2, 30))])  # Sundays 02:30, Paris
    response = signed_in(analyst).get(f"/w/{workspace.slug}/calendar/queues/{channel.pk}/")
    body = response.content.decode()
    assert "a slot in the skipped time goes out later by the length of the jump" in body
    assert "Slot times are read in Europe/Paris." in body
    # Both of the coming year's changes (whichever dates they fall on from today).
    assert "(clocks jump from 02:00 to 03:00): this slot goes out at 03:30." in body
    assert "(clocks go back): this slot takes the earlier one, 02:30 CEST (UTC+2)." in body


def test_a_new_york_channel_of_a_paris_workspace_notes_new_yorks_changes(
    workspace, analyst, signed_in
):
    shop = Channel.objects.create(
        workspace=workspace, network=Network.PAGE, handle="nyc", time_zone="America/New_York"
    )
    queues.set_slots(shop, [(6, time(1, 30))])  # 01:30 repeats on New York's fall-back day
    response = signed_in(analyst).get(f"/w/{workspace.slug}/calendar/queues/{shop.pk}/")
    body = response.content.decode()
    assert "this slot takes the earlier one, 01:30 EDT (UTC-4)." in body
    assert "Slot times are read in America/New_York." in body


# --- API parity ---------------------------------------------------------------------------


def test_the_api_sets_slots_adds_reorders_and_pauses(workspace, owner, channel, token_for):
    token = token_for(owner)
    base = f"/api/v1/workspaces/{workspace.slug}/channels/{channel.pk}"
    response = call(
        "put", f"{base}/slots", token, json_body={"slots": [{"weekday": 0, "time": "10:00"}]}
    )
    assert response.status_code == 200, response.content
    assert response.json()["items"] == [{"weekday": 0, "weekday_name": "Monday", "time": "10:00"}]
    a = draft(workspace, owner, channel, "A")
    b = draft(workspace, owner, channel, "B")
    for d in (a, b):
        response = call("post", f"{base}/queue/entries", token, json_body={"delivery_id": d.pk})
        assert response.status_code == 201, response.content
    order = call("put", f"{base}/queue/order", token, json_body={"delivery_ids": [b.pk, a.pk]})
    assert [e["delivery_id"] for e in order.json()["entries"]] == [b.pk, a.pk]
    paused = call("patch", f"{base}/queue", token, json_body={"paused": True}).json()
    assert paused["paused"] is True
    assert all(e["scheduled_at"] is None for e in paused["entries"])


def test_the_api_explains_a_bad_slot(workspace, owner, channel, token_for):
    response = call(
        "put",
        f"/api/v1/workspaces/{workspace.slug}/channels/{channel.pk}/slots",
        token_for(owner),
        json_body={"slots": [{"weekday": 9, "time": "10:00"}]},
    )
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
