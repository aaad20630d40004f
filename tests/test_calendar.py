"""The editorial calendar (issue 5, items 1 and 5): its JSON feed, drag-to-reschedule with
undo, duplicating, free slots, budget warnings, the content mix and campaign budgets."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from api_helpers import call
from django.utils import timezone

from socialdesk.content.models import Campaign, MediaAsset, Pillar
from socialdesk.content.services import PostContent, create_post
from socialdesk.networks.models import Channel, Network
from socialdesk.publishing import planning, queues, services
from socialdesk.publishing.models import Delivery, DeliveryState
from socialdesk.web import calendar as calendar_views

pytestmark = pytest.mark.django_db

S = DeliveryState


def in_days(days: int, hour: int = 10) -> datetime:
    """A wall-clock time ``days`` from today at ``hour`` (naive: the calendar's zone)."""
    return datetime.combine(timezone.localdate() + timedelta(days=days), time(hour))


def scheduled(workspace, owner, channel, text: str, local: datetime, **more) -> Delivery:
    post = create_post(workspace, owner, PostContent(text=text, channel_ids=[channel.pk], **more))
    delivery = post.deliveries.get()
    services.schedule(delivery, local, "Europe/Paris", owner)
    delivery.refresh_from_db()
    return delivery


def feed(client, workspace, start: datetime, end: datetime, **params):
    query = {"start": start.isoformat(), "end": end.isoformat(), **params}
    return client.get(f"/w/{workspace.slug}/calendar/feed/", query)


def month() -> tuple[datetime, datetime]:
    today = in_days(0, 0)
    return today - timedelta(days=3), today + timedelta(days=35)


def test_the_calendar_page_is_in_the_sidebar_and_loads_fullcalendar(
    workspace, client_user, signed_in
):
    response = signed_in(client_user).get(f"/w/{workspace.slug}/calendar/")
    body = response.content.decode()
    assert response.status_code == 200
    assert 'aria-current="page"' in body and ">\n          Calendar" in body
    assert "vendor/fullcalendar.min.js" in body
    assert 'label for="cal-tz"' in body


def test_the_feed_shows_each_delivery_at_its_local_time_in_the_chosen_zone(
    workspace, owner, channel, signed_in
):
    delivery = scheduled(workspace, owner, channel, "Croissants", in_days(5, 9))
    client = signed_in(owner)
    start, end = month()
    body = feed(client, workspace, start, end).json()
    (event,) = [e for e in body["events"] if e["id"] == str(delivery.pk)]
    assert event["start"].endswith("T09:00:00")
    assert event["title"] == "Croissants"
    assert event["extendedProps"]["ch"] == channel.pk
    assert body["channels"][str(channel.pk)]["name"] == str(channel)
    assert (
        body["post_url"]
        .replace("{}", str(delivery.post_id))
        .endswith(f"/posts/{delivery.post_id}/")
    )
    assert event["extendedProps"]["stage"]  # a stage (workflow) or the delivery's state
    assert event["editable"] is True
    new_york = feed(client, workspace, start, end, tz="America/New_York").json()["events"]
    (moved,) = [e for e in new_york if e["id"] == str(delivery.pk)]
    assert moved["start"] != event["start"]  # the same instant, another wall clock


def test_the_feed_filters_on_the_server(workspace, owner, channel, taxonomy, signed_in):
    pillar = taxonomy["pillar"]
    other = Channel.objects.create(workspace=workspace, network=Network.PAGE, handle="crumb2")
    mine = scheduled(workspace, owner, channel, "A", in_days(4), pillar_id=pillar.pk)
    theirs = scheduled(workspace, owner, other, "B", in_days(4))
    client = signed_in(owner)
    start, end = month()

    def ids(**params):
        events = feed(client, workspace, start, end, **params).json()["events"]
        return {int(e["id"]) for e in events if e["extendedProps"]["kind"] == "delivery"}

    assert {mine.pk, theirs.pk} <= ids()
    assert ids(channel=other.pk) == {theirs.pk}
    assert ids(pillar=pillar.pk) == {mine.pk}
    assert ids(state="published") == set()


def test_the_feed_needs_the_same_few_queries_however_many_posts(
    workspace, owner, channel, signed_in, django_assert_max_num_queries
):
    for n in range(12):
        scheduled(workspace, owner, channel, f"Post {n}", in_days(3 + n, 8 + n % 5))
    client = signed_in(owner)
    start, end = month()
    # Session, user, the workspace's two-factor requirement, membership, the deliveries in
    # brief (counts, slots, warnings) and in full, their images, slots, channels; no query
    # per delivery.
    with django_assert_max_num_queries(9):
        response = feed(client, workspace, start, end)
    assert len(response.json()["events"]) >= 12


def test_the_month_grid_gets_a_few_posts_a_day_and_a_count_of_the_rest(
    workspace, owner, channel, signed_in, django_assert_max_num_queries
):
    second = Channel.objects.create(workspace=workspace, network=Network.PAGE, handle="shop")
    busy = [scheduled(workspace, owner, channel, f"Busy {n}", in_days(5, 8 + n)) for n in range(10)]
    calm = [scheduled(workspace, owner, channel, f"Calm {n}", in_days(6, 8 + n)) for n in range(4)]
    # The busy day's first post goes out on a second channel too, on another day.
    services.set_channels(busy[0].post, [channel, second], owner)
    services.schedule(
        busy[0].post.deliveries.get(channel=second), in_days(9), "Europe/Paris", owner
    )
    # Free slots every day at 07:00: none on the full day, one on the calm day.
    queues.set_slots(channel, [(d, time(7)) for d in range(7)])
    client = signed_in(owner)
    start, end = month()

    with django_assert_max_num_queries(12):
        grid = feed(client, workspace, start, end, per_day=4).json()["events"]
    shown = {e["id"]: e for e in grid if e["extendedProps"]["kind"] == "delivery"}
    # The busy day: its first three in time order and "+7 more"; the calm day complete.
    assert set(shown) - {str(busy[0].post.deliveries.get(channel=second).pk)} == {
        str(d.pk) for d in busy[:3] + calm
    }
    assert shown[str(busy[0].pk)]["extendedProps"]["n"] == 2, "also on the other channel"
    (more,) = [e for e in grid if e["extendedProps"]["kind"] == "more"]
    day = busy[0].scheduled_at.astimezone(workspace.zone).date().isoformat()
    assert more["title"] == "+7 more"
    assert more["extendedProps"] == {"kind": "more", "day": day, "hidden": 7, "all": 10}
    assert more["start"] == f"{day}T23:59:59" and more["editable"] is False
    assert more["url"].endswith(f"?view=timeGridDay&date={day}")
    slot_days = {e["start"][:10] for e in grid if e["extendedProps"]["kind"] == "slot"}
    calm_day = calm[0].scheduled_at.astimezone(workspace.zone).date().isoformat()
    assert calm_day in slot_days and day not in slot_days

    # Without per_day (week, day and list views) every delivery comes, and no "more".
    every = feed(client, workspace, start, end, slots=0).json()["events"]
    assert {str(d.pk) for d in busy + calm} <= {e["id"] for e in every}
    assert not [e for e in every if e["extendedProps"]["kind"] == "more"]


def test_each_event_carries_its_posts_first_image_read_in_one_query(
    workspace, owner, channel, signed_in, settings
):
    first = scheduled(workspace, owner, channel, "With images", in_days(3))
    plain = scheduled(workspace, owner, channel, "Without", in_days(4))

    def asset(name: str, thumbnail: str) -> MediaAsset:
        return MediaAsset.objects.create(
            workspace=workspace,
            file=f"w/{name}.png",
            thumbnail=thumbnail,
            kind="image",
            mime_type="image/png",
            size=1,
            checksum=name,
        )

    # Attached in this order: the first one attached is the post's first image.
    first.post.media.add(asset("a", "w/a.thumb.webp"))
    first.post.media.add(asset("b", "w/b.thumb.webp"))
    start, end = month()
    events = {e["id"]: e for e in feed(signed_in(owner), workspace, start, end).json()["events"]}
    assert events[str(first.pk)]["extendedProps"]["thumb"] == f"{settings.MEDIA_URL}w/a.thumb.webp"
    assert events[str(plain.pk)]["extendedProps"]["thumb"] == ""


def test_the_summary_answers_htmx_with_the_fragment_alone(workspace, owner, signed_in):
    start, end = month()
    span = {"start": f"{start:%Y-%m-%dT%H:%M}", "end": f"{end:%Y-%m-%dT%H:%M}"}
    client = signed_in(owner)
    url = f"/w/{workspace.slug}/calendar/summary/"
    fragment = client.get(url, span, headers={"HX-Request": "true"}).content.decode()
    page = client.get(url, span).content.decode()
    assert "Content mix" in fragment and "<html" not in fragment
    assert "<html" in page


def test_the_feed_refuses_a_bad_or_huge_range_with_a_clear_message(workspace, owner, signed_in):
    client = signed_in(owner)
    bad = client.get(f"/w/{workspace.slug}/calendar/feed/", {"start": "soon", "end": "later"})
    assert bad.status_code == 400
    assert "2026-11-21T09:30" in bad.json()["error"]
    start = in_days(0)
    huge = feed(client, workspace, start, start + timedelta(days=400))
    assert huge.status_code == 400 and "at most" in huge.json()["error"]
    zone = feed(client, workspace, start, start + timedelta(days=1), tz="Mars/Olympus")
    assert zone.status_code == 400 and "IANA" in zone.json()["error"]


def test_an_outsider_gets_404_for_every_calendar_address(workspace, outsider, signed_in):
    client = signed_in(outsider)
    for path in ("", "feed/", "summary/", "queues/"):
        assert client.get(f"/w/{workspace.slug}/calendar/{path}").status_code == 404
    assert client.post(f"/w/{workspace.slug}/calendar/move/").status_code == 404


def move(client, workspace, delivery, local: datetime, tz="Europe/Paris"):
    return client.post(
        f"/w/{workspace.slug}/calendar/move/",
        {"delivery": delivery.pk, "start": local.isoformat(), "tz": tz},
        HTTP_ACCEPT="application/json",
    )


def test_dragging_a_post_reschedules_it_and_undo_moves_it_back(
    workspace, owner, creator, channel, signed_in
):
    delivery = scheduled(workspace, owner, channel, "Brioche", in_days(4, 9))
    before = delivery.scheduled_at
    client = signed_in(creator)
    response = move(client, workspace, delivery, in_days(6, 9))
    assert response.status_code == 200, response.content
    delivery.refresh_from_db()
    assert delivery.scheduled_at.astimezone(channel.zone).replace(tzinfo=None) == in_days(6, 9)
    assert delivery.transitions.last().actor == creator
    undo = response.json()["undo"]
    back = client.post(
        f"/w/{workspace.slug}/calendar/move/",
        {**undo, "tz": "Europe/Paris"},
        HTTP_ACCEPT="application/json",
    )
    assert back.status_code == 200
    delivery.refresh_from_db()
    assert delivery.scheduled_at == before


def test_a_refused_move_says_why_and_changes_nothing(workspace, owner, channel, signed_in):
    delivery = scheduled(workspace, owner, channel, "Brioche", in_days(4, 9))
    before = delivery.scheduled_at
    client = signed_in(owner)
    past = move(client, workspace, delivery, in_days(-2, 9))
    assert past.status_code == 400 and "in the past" in past.json()["error"]
    gap = move(client, workspace, delivery, datetime(2030, 3, 31, 2, 30))
    assert gap.status_code == 400 and "does not exist" in gap.json()["error"]
    delivery.refresh_from_db()
    assert delivery.scheduled_at == before


def test_roles_without_scheduling_cannot_move_and_see_events_as_fixed(
    workspace, owner, analyst, channel, signed_in
):
    delivery = scheduled(workspace, owner, channel, "Brioche", in_days(4, 9))
    client = signed_in(analyst)
    assert move(client, workspace, delivery, in_days(5, 9)).status_code == 403
    start, end = month()
    (event,) = feed(client, workspace, start, end).json()["events"]
    assert event["editable"] is False


def test_without_javascript_a_move_is_a_form_post_with_a_message(
    workspace, owner, channel, signed_in
):
    delivery = scheduled(workspace, owner, channel, "Brioche", in_days(4, 9))
    response = signed_in(owner).post(
        f"/w/{workspace.slug}/calendar/move/",
        {"delivery": delivery.pk, "start": in_days(-1, 9).isoformat(), "tz": "Europe/Paris"},
        follow=True,
    )
    assert "in the past" in response.content.decode()


def test_duplicating_copies_the_post_to_another_day_and_channel(
    workspace, owner, channel, taxonomy, signed_in
):
    other = Channel.objects.create(workspace=workspace, network=Network.PAGE, handle="crumb2")
    original = scheduled(
        workspace, owner, channel, "Stollen", in_days(4, 9), pillar_id=taxonomy["pillar"].pk
    )
    response = signed_in(owner).post(
        f"/w/{workspace.slug}/calendar/duplicate/",
        {
            "delivery": original.pk,
            "start": in_days(8, 11).isoformat(),
            "tz": "Europe/Paris",
            "channel": other.pk,
        },
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 200, response.content
    copy = Delivery.objects.get(pk=response.json()["delivery"])
    assert copy.post_id != original.post_id
    assert (copy.channel, copy.state, copy.text) == (other, S.SCHEDULED, "Stollen")
    assert copy.post.pillar == taxonomy["pillar"]
    assert copy.scheduled_at.astimezone(channel.zone).replace(tzinfo=None) == in_days(8, 11)


def test_a_refused_duplicate_creates_nothing(workspace, owner, channel, signed_in):
    original = scheduled(workspace, owner, channel, "Stollen", in_days(4, 9))
    count = Delivery.objects.count()
    response = signed_in(owner).post(
        f"/w/{workspace.slug}/calendar/duplicate/",
        {"delivery": original.pk, "start": in_days(-3, 9).isoformat(), "tz": "Europe/Paris"},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 400
    assert Delivery.objects.count() == count


def test_a_duplicate_keeps_an_exact_instant_and_offers_both_readings_of_a_repeated_hour(
    workspace, owner, channel, signed_in
):
    original = scheduled(workspace, owner, channel, "Stollen", in_days(4, 9))
    client = signed_in(owner)
    url = f"/w/{workspace.slug}/calendar/duplicate/"
    sent = {"delivery": original.pk, "tz": "Europe/Paris", "start": "2030-11-03T06:30:00Z"}

    exact = client.post(url, sent, HTTP_ACCEPT="application/json")
    assert exact.status_code == 200, exact.json()
    copy = Delivery.objects.get(pk=exact.json()["delivery"])
    assert copy.scheduled_at == datetime(2030, 11, 3, 6, 30, tzinfo=UTC)

    twice = {**sent, "start": "2030-10-27T02:30:00"}
    refused = client.post(url, twice, HTTP_ACCEPT="application/json")
    assert refused.status_code == 400 and refused.json()["kind"] == "repeated"
    later = client.post(url, {**twice, "repeated_time": "later"}, HTTP_ACCEPT="application/json")
    copy = Delivery.objects.get(pk=later.json()["delivery"])
    assert copy.scheduled_at == datetime(2030, 10, 27, 1, 30, tzinfo=UTC)


def test_free_queue_slots_are_in_the_feed_and_taken_ones_are_not(
    workspace, owner, channel, signed_in
):
    queues.set_slots(channel, [(d, time(12)) for d in range(7)])
    taken = scheduled(workspace, owner, channel, "Lunch", in_days(3, 12))
    start = in_days(2, 0)
    events = feed(signed_in(owner), workspace, start, start + timedelta(days=3)).json()["events"]
    slots = [e["start"] for e in events if e["extendedProps"]["kind"] == "slot"]
    taken_local = taken.scheduled_at.astimezone(channel.zone).strftime("%Y-%m-%dT%H:%M:%S")
    assert len(slots) == 2 and taken_local not in slots


def test_a_day_over_a_networks_budget_is_warned_about(
    workspace, owner, channel, signed_in, monkeypatch
):
    """The feed asks the scheduling service's ``budget_warnings`` about each busy day (two or
    more posts on one channel) and shows what it says; a lone post is never asked about."""
    asked = []

    def budget_warnings(ch, day):
        asked.append((ch.pk, day))
        return [f"{ch} on {day}: over budget"]

    scheduled(workspace, owner, channel, "A", in_days(5, 9))
    scheduled(workspace, owner, channel, "B", in_days(5, 11))
    scheduled(workspace, owner, channel, "C", in_days(6, 9))
    monkeypatch.setattr(services, "budget_warnings", budget_warnings)
    # The public page declares no budget; pretend it does, to see the feed ask.
    monkeypatch.setattr(calendar_views, "_budgeted_networks", lambda: {"page"})
    start = in_days(4, 0)
    response = feed(signed_in(owner), workspace, start, start + timedelta(days=3))
    busy = in_days(5).date()
    assert asked == [(channel.pk, busy)]
    assert response.json()["warnings"] == [f"{channel} on {busy}: over budget"]


def test_the_content_mix_warns_when_a_pillar_is_off_target_by_more_than_ten_points(
    workspace, owner, channel
):
    behind = Pillar.objects.create(workspace=workspace, name="Behind", target_share=50)
    product = Pillar.objects.create(workspace=workspace, name="Product", target_share=50)
    for n in range(4):
        scheduled(workspace, owner, channel, f"B{n}", in_days(3 + n), pillar_id=behind.pk)
    scheduled(workspace, owner, channel, "P", in_days(9), pillar_id=product.pk)
    start, end = month()
    zone = channel.zone
    mix = planning.content_mix(workspace, start.replace(tzinfo=zone), end.replace(tzinfo=zone))
    shares = {str(s.pillar): (round(s.share), s.target) for s in mix}
    assert shares == {"Behind": (80, 50), "Product": (20, 50)}
    warnings = [s.warning for s in mix if s.warning]
    assert warnings == [
        "Behind: 80 % of this period's posts, 30 points above its 50 % target.",
        "Product: 20 % of this period's posts, 30 points below its 50 % target.",
    ]


def test_the_summary_fragment_shows_mix_and_budgets(workspace, owner, channel, taxonomy, signed_in):
    scheduled(workspace, owner, channel, "A", in_days(3), pillar_id=taxonomy["pillar"].pk)
    start, end = month()
    response = signed_in(owner).get(
        f"/w/{workspace.slug}/calendar/summary/",
        {"start": start.isoformat(), "end": end.isoformat()},
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "Behind the scenes" in body and "100 %" in body and "target 30 %" in body
    assert "Christmas stollen" in body
    assert "<html" not in body


def test_boost_spend_warns_at_80_and_100_percent_of_the_campaign_budget(
    workspace, owner, channel, taxonomy
):
    campaign: Campaign = taxonomy["campaign"]
    campaign.budget = Decimal("100.00")
    campaign.save(update_fields=["budget"])
    delivery = scheduled(workspace, owner, channel, "Boost me", in_days(3), campaign_id=campaign.pk)
    _, status = planning.record_boost(delivery, "50", actor=owner)
    assert status is not None and status.warning == ""
    _, status = planning.record_boost(delivery, "30.00", actor=owner)
    assert status is not None and "80 % used" in status.warning
    _, status = planning.record_boost(delivery, "25", actor=owner)
    assert status is not None
    assert status.warning == (
        "Christmas stollen: boost budget used up — 105.00 spent of 100.00 (105 %)."
    )


def test_boost_spend_must_be_a_positive_amount(workspace, owner, channel, token_for):
    delivery = scheduled(workspace, owner, channel, "Boost me", in_days(3))
    response = call(
        "post",
        f"/api/v1/workspaces/{workspace.slug}/deliveries/{delivery.pk}/boosts",
        token_for(owner),
        json_body={"amount": "-5"},
    )
    assert response.status_code == 422
    with pytest.raises(Exception, match="more than 0"):
        planning.record_boost(delivery, "0")


def test_the_calendar_query_is_served_by_the_workspace_time_index():
    indexes = {tuple(i.fields): i.name for i in Delivery._meta.indexes}
    assert indexes[("workspace", "scheduled_at")] == "delivery_calendar_idx"


def test_utc_instants_are_never_shifted_by_the_browser_zone(workspace, owner, channel, signed_in):
    """The page sends wall-clock times, read in the chosen zone; an instant with ``Z`` (what a
    script or a browser's toISOString sends) is taken as that instant, not as a wall clock."""
    delivery = scheduled(workspace, owner, channel, "Brioche", in_days(4, 9))
    target = in_days(5, 9)
    response = signed_in(owner).post(
        f"/w/{workspace.slug}/calendar/move/",
        {"delivery": delivery.pk, "start": target.isoformat() + ".000Z", "tz": "Europe/Paris"},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 200
    delivery.refresh_from_db()
    assert delivery.scheduled_at == target.replace(tzinfo=UTC)


# 3 November 2030: New York's clocks go back from 02:00 EDT to 01:00 EST, so 01:30 happens
# twice: 05:30 UTC (EDT, UTC-4), then 06:30 UTC (EST, UTC-5).
FALL_BACK = datetime(2030, 11, 3, 1, 30)


def move_in_new_york(client, workspace, delivery, start: str, **more):
    return client.post(
        f"/w/{workspace.slug}/calendar/move/",
        {"delivery": delivery.pk, "start": start, "tz": "America/New_York", **more},
        HTTP_ACCEPT="application/json",
    )


@pytest.mark.parametrize(
    ("start", "stored"),
    [
        ("2030-11-03T06:30:00Z", datetime(2030, 11, 3, 6, 30, tzinfo=UTC)),
        ("2030-11-03T06:30:00+00:00", datetime(2030, 11, 3, 6, 30, tzinfo=UTC)),
        ("2030-11-03T01:30:00-04:00", datetime(2030, 11, 3, 5, 30, tzinfo=UTC)),
    ],
)
def test_a_start_with_z_or_an_offset_is_that_exact_instant(
    workspace, owner, channel, signed_in, start, stored
):
    delivery = scheduled(workspace, owner, channel, "Bagels", in_days(4, 9))
    response = move_in_new_york(signed_in(owner), workspace, delivery, start)
    assert response.status_code == 200, response.content
    delivery.refresh_from_db()
    assert delivery.scheduled_at == stored
    # One way to show a time (the "when" filter): the zone named, here EST or EDT.
    assert response.json()["message"].startswith("Moved to Sun 3 Nov 2030, 01:30 E")


def test_a_move_into_a_repeated_hour_is_refused_with_both_readings(
    workspace, owner, channel, signed_in
):
    delivery = scheduled(workspace, owner, channel, "Bagels", in_days(4, 9))
    before = delivery.scheduled_at
    response = move_in_new_york(signed_in(owner), workspace, delivery, FALL_BACK.isoformat())
    assert response.status_code == 400
    body = response.json()
    assert body["kind"] == "repeated"
    assert "01:30 happens twice on 2030-11-03 in America/New_York" in body["error"]
    assert body["choices"] == [
        {
            "label": "01:30 EDT (UTC-4)",
            "instant": "2030-11-03T01:30:00-04:00",
            "start": "2030-11-03T01:30:00",
            "repeated_time": "earlier",
        },
        {
            "label": "01:30 EST (UTC-5)",
            "instant": "2030-11-03T01:30:00-05:00",
            "start": "2030-11-03T01:30:00",
            "repeated_time": "later",
        },
    ]
    delivery.refresh_from_db()
    assert delivery.scheduled_at == before


@pytest.mark.parametrize(
    ("choice", "stored"),
    [
        ({"repeated_time": "earlier"}, datetime(2030, 11, 3, 5, 30, tzinfo=UTC)),
        ({"repeated_time": "later"}, datetime(2030, 11, 3, 6, 30, tzinfo=UTC)),
        ({"fold": "0"}, datetime(2030, 11, 3, 5, 30, tzinfo=UTC)),
        ({"fold": "1"}, datetime(2030, 11, 3, 6, 30, tzinfo=UTC)),
    ],
)
def test_the_reading_chosen_for_a_repeated_hour_is_the_one_stored(
    workspace, owner, channel, signed_in, choice, stored
):
    delivery = scheduled(workspace, owner, channel, "Bagels", in_days(4, 9))
    client = signed_in(owner)
    response = move_in_new_york(client, workspace, delivery, FALL_BACK.isoformat(), **choice)
    assert response.status_code == 200, response.content
    delivery.refresh_from_db()
    assert delivery.scheduled_at == stored


def test_undo_puts_a_post_back_on_the_later_reading_of_a_repeated_hour(
    workspace, owner, channel, signed_in
):
    delivery = scheduled(workspace, owner, channel, "Bagels", in_days(4, 9))
    client = signed_in(owner)
    move_in_new_york(client, workspace, delivery, FALL_BACK.isoformat(), repeated_time="later")
    moved = move_in_new_york(client, workspace, delivery, "2030-11-04T09:00:00")
    undo = moved.json()["undo"]
    assert json.loads(undo["restore"]) == {str(delivery.pk): "2030-11-03T06:30:00+00:00"}
    back = client.post(f"/w/{workspace.slug}/calendar/move/", undo, HTTP_ACCEPT="application/json")
    assert back.status_code == 200
    delivery.refresh_from_db()
    assert delivery.scheduled_at == datetime(2030, 11, 3, 6, 30, tzinfo=UTC)


def test_a_move_into_the_spring_forward_gap_offers_the_minutes_either_side(
    workspace, owner, channel, signed_in
):
    delivery = scheduled(workspace, owner, channel, "Brioche", in_days(4, 9))
    response = move(signed_in(owner), workspace, delivery, datetime(2030, 3, 31, 2, 30))
    body = response.json()
    assert response.status_code == 400 and body["kind"] == "gap"
    assert body["error"].endswith("Choose 01:59 (UTC+1) or 03:00 (UTC+2).")
    assert [(c["label"], c["instant"]) for c in body["choices"]] == [
        ("01:59 (UTC+1)", "2030-03-31T01:59:00+01:00"),
        ("03:00 (UTC+2)", "2030-03-31T03:00:00+02:00"),
    ]
    taken = move(signed_in(owner), workspace, delivery, datetime(2030, 3, 31, 3, 0))
    assert taken.status_code == 200
    delivery.refresh_from_db()
    assert delivery.scheduled_at == datetime(2030, 3, 31, 1, 0, tzinfo=UTC)


def test_without_javascript_a_refused_repeated_hour_names_both_readings(
    workspace, owner, channel, signed_in
):
    delivery = scheduled(workspace, owner, channel, "Bagels", in_days(4, 9))
    response = signed_in(owner).post(
        f"/w/{workspace.slug}/calendar/move/",
        {"delivery": delivery.pk, "start": FALL_BACK.isoformat(), "tz": "America/New_York"},
        follow=True,
    )
    body = response.content.decode()
    assert "Choose the earlier 01:30 EDT (UTC-4) or the later 01:30 EST (UTC-5)." in body


def test_a_reading_that_is_not_a_choice_is_refused(workspace, owner, channel, signed_in):
    delivery = scheduled(workspace, owner, channel, "Bagels", in_days(4, 9))
    client = signed_in(owner)
    wrong = move_in_new_york(client, workspace, delivery, FALL_BACK.isoformat(), fold="2")
    assert wrong.status_code == 400 and "fold is 0" in wrong.json()["error"]
    odd = move_in_new_york(
        client, workspace, delivery, FALL_BACK.isoformat(), repeated_time="middle"
    )
    assert odd.status_code == 400 and "say earlier or later" in odd.json()["error"]


def test_the_zones_offsets_over_a_period_are_found_to_the_second():
    paris, lord_howe = ZoneInfo("Europe/Paris"), ZoneInfo("Australia/Lord_Howe")
    start, end = datetime(2027, 3, 1, tzinfo=UTC), datetime(2027, 4, 12, tzinfo=UTC)
    assert planning.utc_offsets(paris, start, end) == [
        (datetime(2027, 3, 28, 1, 0, tzinfo=UTC), "+3600 seconds"),
        (end, "+7200 seconds"),
    ]
    # Lord Howe moves by 30 minutes (UTC+11 to +10:30 at 02:00 local on 4 April 2027).
    assert planning.utc_offsets(lord_howe, start, end) == [
        (datetime(2027, 4, 3, 15, 0, tzinfo=UTC), "+39600 seconds"),
        (end, "+37800 seconds"),
    ]
    summer = datetime(2027, 7, 1, tzinfo=UTC)
    assert planning.utc_offsets(paris, summer, summer + timedelta(days=42)) == [
        (summer + timedelta(days=42), "+7200 seconds")
    ]


def test_the_month_grid_counts_days_in_the_workspaces_zone_across_a_clock_change(
    workspace, owner, channel, signed_in
):
    """Paris, 28 March 2027: the clocks go forward at 02:00. Its first minutes (still
    UTC+1) and its last (UTC+2) belong to that day, not to the UTC days around it."""
    day = datetime(2027, 3, 28)
    times = [day.replace(hour=0, minute=30), day.replace(hour=9), day.replace(hour=12)]
    times += [day.replace(hour=18), day.replace(hour=23, minute=30)]
    for n, local in enumerate(times):
        scheduled(workspace, owner, channel, f"Spring {n}", local)
    grid = feed(
        signed_in(owner), workspace, datetime(2027, 3, 1), datetime(2027, 4, 12), per_day=4, slots=0
    ).json()["events"]
    (more,) = [e for e in grid if e["extendedProps"]["kind"] == "more"]
    assert more["extendedProps"]["day"] == "2027-03-28" and more["extendedProps"]["all"] == 5
    shown = [e["start"] for e in grid if e["extendedProps"]["kind"] == "delivery"]
    assert shown == ["2027-03-28T00:30:00", "2027-03-28T09:00:00", "2027-03-28T12:00:00"]
