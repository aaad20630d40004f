"""Best time to post from a channel's own history (``analytics.best_time``): slots on the
channel's wall clock across DST, recency weighting, thin history falling back to the
workspace's channels on the network, and "not enough history yet"."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta

import pytest

from socialdesk.analytics import best_time
from socialdesk.analytics.models import BestTimes, BestTimeSource, Bucket, MetricSnapshot
from socialdesk.content.models import Post
from socialdesk.networks.models import Channel, Network
from socialdesk.publishing.models import Delivery, DeliveryState

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
# A Monday in December: the 16-week window reaches back over the end of summer time (25 Oct).
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def published(channel: Channel, at: datetime, likes: int, bucket: int = Bucket.H24) -> Delivery:
    post = Post.objects.create(workspace=channel.workspace, text=f"post at {at}")
    delivery = Delivery.objects.create(
        workspace=channel.workspace,
        post=post,
        channel=channel,
        state=DeliveryState.PUBLISHED,
        published_at=at,
    )
    MetricSnapshot.objects.create(
        workspace=channel.workspace,
        delivery=delivery,
        channel=channel,
        published_at=at,
        taken_at=at + timedelta(hours=bucket),
        bucket=bucket,
        likes=likes,
        reposts=None,
    )
    return delivery


def local(day: str, hour: int, zone: zoneinfo.ZoneInfo = BERLIN) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02}:00").replace(tzinfo=zone).astimezone(UTC)


@pytest.fixture
def berlin(workspace) -> Channel:
    return Channel.objects.create(
        workspace=workspace,
        network=Network.MASTODON,
        handle="@crumb@bakers.social",
        time_zone="Europe/Berlin",
    )


def history(channel: Channel, weeks: int = 12) -> None:
    """Every week: Tuesday 18:00 Berlin does well (30 likes), Thursday 09:00 poorly (5)."""
    for week in range(1, weeks + 1):
        tuesday = datetime(2026, 12, 1) - timedelta(weeks=week)
        thursday = tuesday + timedelta(days=2)
        published(channel, local(tuesday.date().isoformat(), 18), likes=30)
        published(channel, local(thursday.date().isoformat(), 9), likes=5)


def test_slots_are_read_on_the_channels_wall_clock_in_summer_and_winter(berlin):
    history(berlin, weeks=12)  # Sept to Nov: half in summer time (UTC+2), half in winter (+1)

    result = best_time.compute(berlin, NOW)

    assert result.source == BestTimeSource.OWN and result.own_posts == 24
    slots = {(s.weekday, s.hour): s for s in result.slots}
    assert set(slots) == {(1, 18), (3, 9)}  # one Tuesday 18:00, one Thursday 09:00, all year
    assert slots[(1, 18)].posts == 12 and slots[(1, 18)].score > 1.5
    assert slots[(3, 9)].score < 0.5
    assert slots[(1, 18)].confidence == "high"  # 12 posts, no spread


def test_the_best_time_is_stored_and_the_next_one_found_across_the_clock_change(berlin):
    history(berlin, weeks=12)

    best = best_time.refresh(berlin, NOW)

    assert best.slots.count() == 2
    [top] = best_time.top_slots(best)
    assert (top.weekday, top.hour) == (1, 18)  # Thursday 09:00 is below typical
    instant, slot = best_time.next_best_time(berlin, NOW, best)
    assert instant == local("2026-12-08", 18) == datetime(2026, 12, 8, 17, tzinfo=UTC)
    # In March, after the clocks go forward, 18:00 in Berlin is 16:00 UTC.
    instant, _ = best_time.next_best_time(berlin, datetime(2027, 3, 29, tzinfo=UTC), best)
    assert instant == datetime(2027, 3, 30, 16, tzinfo=UTC)


def test_recent_weeks_weigh_more_than_old_ones(berlin):
    assert best_time.recency_weight(NOW - timedelta(weeks=8), NOW) == pytest.approx(0.5)
    assert best_time.recency_weight(NOW - timedelta(weeks=16), NOW) == pytest.approx(0.25)
    # Monday 10:00 did well long ago and badly lately: recent weeks pull its score down.
    for week, likes in ((1, 2), (2, 2), (14, 40), (15, 40)):
        day = (datetime(2026, 12, 7) - timedelta(weeks=week)).date().isoformat()
        published(berlin, local(day, 10), likes=likes)
    [slot] = best_time.slots_of(best_time.readings([berlin], NOW))
    readings = best_time.readings([berlin], NOW)
    plain_mean = sum(r.relative for r in readings) / len(readings)
    assert slot.score < plain_mean


def test_a_post_without_a_24_hour_reading_uses_the_nearest_age(berlin):
    delivery = published(berlin, local("2026-11-24", 18), likes=4, bucket=Bucket.H6)
    MetricSnapshot.objects.create(
        workspace=berlin.workspace,
        delivery=delivery,
        channel=berlin,
        published_at=delivery.published_at,
        taken_at=delivery.published_at + timedelta(days=3),
        bucket=Bucket.D3,
        likes=50,
    )
    MetricSnapshot.objects.create(
        workspace=berlin.workspace,
        delivery=delivery,
        channel=berlin,
        published_at=delivery.published_at,
        taken_at=delivery.published_at + timedelta(hours=1),
        bucket=Bucket.H1,
        likes=1,
    )

    [reading] = best_time.readings([berlin], NOW)

    assert reading.engagement == 4  # +6 h is nearer +24 h than +3 d; +1 h is not read


def test_thin_history_falls_back_to_the_workspaces_channels_on_the_network(workspace, berlin):
    sibling = Channel.objects.create(
        workspace=workspace,
        network=Network.MASTODON,
        handle="@cakes@bakers.social",
        time_zone="America/New_York",
    )
    other_network = Channel.objects.create(
        workspace=workspace, network=Network.BLUESKY, handle="crumb.bsky.social"
    )
    for week in range(1, 9):
        day = (datetime(2026, 12, 1) - timedelta(weeks=week)).date().isoformat()
        # The sibling's Tuesday 18:00 on its own (New York) clock does well.
        published(sibling, local(day, 18, zoneinfo.ZoneInfo("America/New_York")), likes=300)
        published(sibling, local(day, 7, zoneinfo.ZoneInfo("America/New_York")), likes=30)
        published(other_network, local(day, 3), likes=10_000)
    published(berlin, local("2026-11-24", 12), likes=3)  # one post of its own: thin

    result = best_time.compute(berlin, NOW)

    assert result.source == BestTimeSource.NETWORK
    assert (result.own_posts, result.posts) == (1, 17)  # the Bluesky channel is not pooled
    best = max(result.slots, key=lambda s: s.score)
    assert (best.weekday, best.hour) == (1, 18)


def test_with_nothing_at_all_it_says_not_enough_history_yet(berlin):
    published(berlin, local("2026-11-24", 12), likes=3)
    published(berlin, NOW - timedelta(weeks=20), likes=3)  # outside the 16 weeks

    best = best_time.refresh(berlin, NOW)

    assert best.source == BestTimeSource.NONE
    assert best.get_source_display() == "not enough history yet"
    assert best.slots.count() == 0
    assert best_time.next_best_time(berlin, NOW, best) is None


def test_the_heartbeat_refreshes_each_channel_once_a_week_and_never_raises(berlin, monkeypatch):
    history(berlin, weeks=4)

    assert best_time.on_heartbeat(NOW) == [berlin.pk]
    assert best_time.on_heartbeat(NOW + timedelta(days=1)) == []
    assert best_time.on_heartbeat(NOW + timedelta(days=8)) == [berlin.pk]

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(best_time, "compute", broken)
    assert best_time.on_heartbeat(NOW + timedelta(days=16)) == []
    assert BestTimes.objects.get(channel=berlin).source == BestTimeSource.NONE


def test_confidence_comes_from_the_count_and_the_spread():
    assert best_time.confidence(1, 1.0, 0.0) == "low"
    assert best_time.confidence(4, 1.0, 0.4) == "high"  # error 0.2
    assert best_time.confidence(4, 1.0, 0.8) == "medium"  # error 0.4
    assert best_time.confidence(3, 1.0, 0.1) == "medium"  # too few for high
    assert best_time.confidence(4, 1.0, 2.4) == "low"  # error 1.2


def test_an_analyst_sees_the_heatmap_as_a_table_with_the_posts_behind_each_slot(
    berlin, analyst, signed_in
):
    history(berlin, weeks=12)
    best_time.refresh(berlin, NOW)

    page = signed_in(analyst).get(f"/w/crumb/analytics/best-times/{berlin.pk}/")

    assert page.status_code == 200
    html = page.content.decode()
    assert '<caption class="visually-hidden">Engagement of @crumb@bakers.social' in html
    assert "Tue 18:00" in html and "12 posts, high confidence" in html
    assert "Next best time" in html
    listing = signed_in(analyst).get("/w/crumb/analytics/best-times/")
    assert "This channel&#x27;s own history" in listing.content.decode()


def test_a_channel_without_history_says_not_enough_history_yet(berlin, owner, signed_in):
    best_time.refresh(berlin, NOW)

    page = signed_in(owner).get(f"/w/crumb/analytics/best-times/{berlin.pk}/")

    assert "Not enough history yet" in page.content.decode()


def test_only_people_who_read_analytics_see_best_times(
    berlin, creator, outsider, other_channel, analyst, signed_in
):
    assert signed_in(creator).get("/w/crumb/analytics/best-times/").status_code == 403
    assert signed_in(outsider).get("/w/crumb/analytics/best-times/").status_code == 404
    other = f"/w/crumb/analytics/best-times/{other_channel.pk}/"
    assert signed_in(analyst).get(other).status_code == 404


def test_the_composer_offers_each_channels_next_best_time(berlin, owner, signed_in):
    history(berlin, weeks=12)
    best = best_time.refresh(berlin, datetime.now(UTC))
    instant, _ = best_time.next_best_time(berlin, datetime.now(UTC), best)

    html = signed_in(owner).get("/w/crumb/posts/new/").content.decode()

    assert "Next best time" in html
    assert f'data-best-time="{instant.isoformat()}"' in html
    assert "Use this time" in html and "analytics/best_time_hint.js" in html


def test_the_composer_has_no_hint_without_history(berlin, owner, signed_in):
    html = signed_in(owner).get("/w/crumb/posts/new/").content.decode()

    assert "data-best-time-hint" not in html


def test_the_calendar_loads_suggested_times_beside_it(berlin, creator, client_user, signed_in):
    history(berlin, weeks=12)
    best_time.refresh(berlin, datetime.now(UTC))

    page = signed_in(creator).get("/w/crumb/calendar/").content.decode()
    assert 'hx-get="/w/crumb/analytics/best-times/suggestions/"' in page
    filtered = signed_in(creator).get("/w/crumb/calendar/", {"channel": berlin.pk})
    assert f"suggestions/?channel={berlin.pk}" in filtered.content.decode()

    fragment = signed_in(creator).get(
        "/w/crumb/analytics/best-times/suggestions/", {"channel": berlin.pk}
    )
    html = fragment.content.decode()
    assert "Suggested times" in html and "@crumb@bakers.social" in html
    assert "Tue " in html and "18:00" in html
    assert "Heatmap" not in html  # a creator schedules but does not read analytics
    quiet = signed_in(client_user).get("/w/crumb/analytics/best-times/suggestions/")
    assert quiet.status_code == 200 and quiet.content == b""


def test_a_best_hour_the_clocks_skip_moves_later_by_the_jump(berlin):
    # Sunday 02:00 in Berlin did well; on 28 March 2027 the clocks jump from 02:00 to 03:00.
    for week in range(1, 9):
        sunday = (datetime(2026, 12, 6) - timedelta(weeks=week)).date().isoformat()
        published(berlin, local(sunday, 2), likes=40)
        published(berlin, local(sunday, 12), likes=4)
    best = best_time.refresh(berlin, NOW)

    instant, slot = best_time.next_best_time(berlin, datetime(2027, 3, 27, 12, tzinfo=UTC), best)

    assert (slot.weekday, slot.hour) == (6, 2)
    assert instant.astimezone(BERLIN).strftime("%d %H:%M") == "28 03:00"


def test_the_heatmap_page_says_when_it_leans_on_the_networks_other_channels(
    workspace, berlin, analyst, signed_in
):
    sibling = Channel.objects.create(
        workspace=workspace, network=Network.MASTODON, handle="@cakes@bakers.social"
    )
    history(sibling, weeks=6)
    best_time.refresh(berlin, NOW)

    html = signed_in(analyst).get(f"/w/crumb/analytics/best-times/{berlin.pk}/").content.decode()

    assert "This channel's history is thin (0 measured posts of its own, 20 needed)" in html
    assert "workspace's channels on Mastodon (12 posts)" in html
