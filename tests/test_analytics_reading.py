"""The Analytics queries (``analytics.reading``): a period against the one before it, the
ranking with its filters, and each post's benchmark against its channel's six months."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from reading_helpers import followers, published

from socialdesk.analytics import reading
from socialdesk.analytics.models import MetricSnapshot
from socialdesk.content.models import Campaign, Label, Pillar
from socialdesk.networks.models import Channel, Network
from socialdesk.publishing.models import BoostSpend

TODAY = date(2026, 12, 7)


@pytest.fixture
def sky(workspace) -> Channel:
    return Channel.objects.create(workspace=workspace, network=Network.BLUESKY, handle="crumb.sky")


@pytest.fixture
def toot(workspace) -> Channel:
    return Channel.objects.create(workspace=workspace, network=Network.MASTODON, handle="crumb@m")


def at(workspace, day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=workspace.zone)


def period(workspace, **given) -> reading.Period:
    return reading.parse_period(workspace, today=TODAY, **given)


# --- Periods ---------------------------------------------------------------------------------


def test_the_default_period_is_the_last_28_local_days_and_the_previous_is_the_28_before(workspace):
    chosen = period(workspace)
    assert (chosen.first, chosen.last, chosen.days) == (date(2026, 11, 10), TODAY, 28)
    assert chosen.start == datetime(2026, 11, 10, tzinfo=workspace.zone)  # Paris midnight
    before = chosen.previous()
    assert (before.first, before.last) == (date(2026, 10, 13), date(2026, 11, 9))


def test_a_custom_range_includes_both_days(workspace):
    chosen = period(workspace, first="2026-11-01", last="2026-11-30")
    assert chosen.days == 30 and chosen.previous().first == date(2026, 10, 2)


@pytest.mark.parametrize(
    "given, message",
    [
        ({"days": "12"}, "Choose 7, 28 or 90 days"),
        ({"days": "x"}, "Choose 7, 28 or 90 days"),
        ({"first": "2026-11-01"}, "Give both"),
        ({"first": "2026-11-31", "last": "2026-12-01"}, "not a date"),
        ({"first": "2026-12-01", "last": "2026-11-01"}, "before the first"),
        ({"first": "2020-01-01", "last": "2026-11-01"}, "at most 400 days"),
    ],
)
def test_a_bad_period_is_refused_with_a_clear_message(workspace, given, message):
    with pytest.raises(ValidationError) as refused:
        period(workspace, **given)
    assert message in refused.value.messages[0]


# --- Overview --------------------------------------------------------------------------------


def test_the_overview_compares_a_period_with_the_one_before(workspace, sky, toot):
    now = period(workspace)
    # This period: two posts, read at their latest bucket only (the +1 h reading is not added).
    published(
        sky,
        at(workspace, date(2026, 11, 20)),
        {1: {"likes": 1}, 168: {"likes": 10, "reposts": 2, "replies": 1, "quotes": 1}},
        title="Best",
    )
    published(
        toot,
        at(workspace, date(2026, 11, 25)),
        {168: {"likes": 4, "reposts": 1, "replies": 1, "quotes": None}},
    )
    # The previous period: one post.
    published(sky, at(workspace, date(2026, 10, 20)), {168: {"likes": 5}})
    followers(sky, date(2026, 10, 1), 100)
    followers(sky, date(2026, 11, 1), 140)
    followers(sky, date(2026, 12, 5), 200)

    figures = reading.overview(workspace, now)

    current, previous = figures["current"], figures["previous"]
    assert (current["posts"], current["engagement"]) == (2, 20)
    assert (previous["posts"], previous["engagement"]) == (1, 5)
    assert figures["changes"]["posts"] == {"direction": "up", "percent": 100.0}
    assert figures["changes"]["engagement"] == {"direction": "up", "percent": 300.0}
    # Followers: 200 at the end, 140 known before the period began (Nov 1).
    assert current["followers_change"] == 60
    assert previous["followers_change"] == 40  # 140 - 100
    rates = {row["network"]: row for row in current["rates"]}
    assert rates["bluesky"]["rate"] == pytest.approx(14 / 140)  # followers on its day: 140
    assert "÷ followers on the day each post was published" in rates["bluesky"]["formula"]
    assert rates["mastodon"]["rate"] is None  # no follower count read for it
    assert [row["title"] for row in figures["top_posts"]] == [
        "Best",
        figures["top_posts"][1]["title"],
    ]
    assert figures["top_posts"][0]["value"] == 14
    assert figures["enough_data"] is True


def test_an_empty_workspace_says_there_is_not_enough_data(workspace, sky):
    figures = reading.overview(workspace, period(workspace))
    assert figures["enough_data"] is False
    assert figures["changes"]["engagement"] == {"direction": "same", "percent": None}
    assert figures["current"]["followers_change"] is None
    assert figures["top_posts"] == []


def test_another_workspaces_posts_are_never_counted(workspace, other_workspace, sky):
    rival = Channel.objects.create(workspace=other_workspace, network=Network.BLUESKY, handle="r")
    published(rival, at(workspace, date(2026, 11, 20)), {24: {"likes": 99}})
    assert reading.overview(workspace, period(workspace))["current"]["engagement"] == 0


# --- Ranking ---------------------------------------------------------------------------------


def rank(workspace, **given) -> reading.RankingPage:
    return reading.ranking(workspace, reading.RankingFilters(period=period(workspace), **given))


def test_posts_are_ranked_by_a_metric_and_a_missing_metric_comes_last(workspace, sky, toot):
    published(sky, at(workspace, date(2026, 11, 20)), {24: {"likes": 3, "views": None}}, title="a")
    published(toot, at(workspace, date(2026, 11, 21)), {24: {"likes": 9, "views": 50}}, title="b")
    published(toot, at(workspace, date(2026, 11, 22)), {24: {"likes": 1, "views": 70}}, title="c")

    assert [r["title"] for r in rank(workspace, metric="likes").rows] == ["b", "a", "c"]
    assert [r["title"] for r in rank(workspace, metric="likes", ascending=True).rows] == [
        "c",
        "a",
        "b",
    ]
    assert [r["title"] for r in rank(workspace, metric="views").rows] == ["c", "b", "a"]
    assert [r["title"] for r in rank(workspace, metric="views", ascending=True).rows] == [
        "b",
        "c",
        "a",
    ]


def test_the_ranking_filters_narrow_the_posts(workspace, sky, toot, owner, manager):
    pillar = Pillar.objects.create(workspace=workspace, name="Bread", target_share=50)
    campaign = Campaign.objects.create(
        workspace=workspace, name="Xmas", starts_on=date(2026, 11, 1), ends_on=date(2026, 12, 31)
    )
    label = Label.objects.create(workspace=workspace, name="promo")
    day = date(2026, 11, 20)
    one = published(sky, at(workspace, day), {24: {"likes": 1}}, title="pillar", pillar=pillar)
    published(sky, at(workspace, day), {24: {"likes": 2}}, title="campaign", campaign=campaign)
    labelled = published(
        toot, at(workspace, day), {24: {"likes": 3}}, title="label", author=manager
    )
    labelled.post.labels.add(label)
    published(toot, at(workspace, date(2026, 10, 1)), {24: {"likes": 4}}, title="too old")

    def titles(**given):
        return [r["title"] for r in rank(workspace, **given).rows]

    assert titles() == ["label", "campaign", "pillar"]
    assert titles(pillar=pillar.pk) == ["pillar"]
    assert titles(campaign=campaign.pk) == ["campaign"]
    assert titles(label=label.pk) == ["label"]
    assert titles(author=manager.pk) == ["label"]
    assert titles(channel=sky.pk) == ["campaign", "pillar"]
    assert titles(network="mastodon") == ["label"]
    assert titles(age=168) == []  # nobody read at +7 d
    assert one.post.pillar_id == pillar.pk


def test_the_ranking_pages_with_a_bounded_offset(workspace, sky):
    for n in range(reading.PAGE_SIZE + 3):
        published(sky, at(workspace, date(2026, 11, 20), hour=n % 24), {24: {"likes": n}})
    first = rank(workspace, metric="likes")
    second = rank(workspace, metric="likes", page=2)
    assert first.has_next and len(first.rows) == reading.PAGE_SIZE
    assert not second.has_next and [r["value"] for r in second.rows] == [2, 1, 0]


@pytest.mark.parametrize(
    "given",
    [{"metric": "followers"}, {"age": 5}, {"network": "myspace"}, {"page": 0}, {"page": 10_000}],
)
def test_bad_ranking_filters_are_refused(workspace, given):
    with pytest.raises(ValidationError):
        reading.RankingFilters(period=period(workspace), **given)


# --- Benchmarks ------------------------------------------------------------------------------


def test_each_post_is_marked_against_its_channels_six_months_at_the_same_age(
    workspace, sky, toot, django_assert_max_num_queries
):
    # Eight earlier posts on Bluesky at +24 h (likes 1..8) in the six months before November,
    # one older than that (ignored), one at another age (ignored), one on another channel.
    for likes in range(1, 9):
        published(sky, at(workspace, date(2026, 5 + likes % 6, 10)), {24: {"likes": likes}})
    published(sky, at(workspace, date(2026, 4, 30)), {24: {"likes": 1000}})
    published(sky, at(workspace, date(2026, 8, 1)), {168: {"likes": 1000}})
    published(toot, at(workspace, date(2026, 8, 1)), {24: {"likes": 1000}})
    star = published(sky, at(workspace, date(2026, 11, 20)), {24: {"likes": 9}}, title="star")
    flop = published(sky, at(workspace, date(2026, 11, 21)), {24: {"likes": 1}}, title="flop")
    mid = published(sky, at(workspace, date(2026, 11, 22)), {24: {"likes": 5}}, title="mid")
    lone = published(toot, at(workspace, date(2026, 11, 22)), {24: {"likes": 5}}, title="lone")

    # Channels, the page, the stored windows, ONE statement computing the missing ones, and
    # storing them; whatever the page's size.
    with django_assert_max_num_queries(5):
        page = rank(workspace, metric="likes")
    with django_assert_max_num_queries(3):  # the windows are stored now: read, not sorted
        again = rank(workspace, metric="likes")
    assert again.rows == page.rows

    rows = {row["title"]: row for row in page.rows}
    # Nearest rank over 1..8: q1 = 2nd value, median = 4th, q3 = 6th.
    assert rows["star"]["benchmark"] == {"n": 8, "q1": 2, "median": 4, "q3": 6}
    assert rows["star"]["position"] == "top quartile"
    assert rows["flop"]["position"] == "bottom quartile"
    assert rows["mid"]["position"] == "above"
    assert rows["lone"]["benchmark"]["n"] == 1 and rows["lone"]["position"] == "no history"
    assert {star.pk, flop.pk, mid.pk, lone.pk} == {r["delivery_id"] for r in page.rows}


def test_the_benchmark_of_engagement_sums_what_the_network_gives(workspace, sky):
    for n in range(6):
        published(
            sky,
            at(workspace, date(2026, 9, 1 + n)),
            {72: {"likes": n, "reposts": n, "quotes": None}},
        )
    published(sky, at(workspace, date(2026, 11, 20)), {72: {"likes": 3, "reposts": 3}})
    [row] = rank(workspace).rows
    # Engagement 0, 2, 4, 6, 8, 10: q1 = 2, median = 4, q3 = 8 (nearest rank); this post: 6.
    assert row["benchmark"] == {"n": 6, "q1": 2, "median": 4, "q3": 8}
    assert row["position"] == "above"


def test_a_network_without_the_metric_reads_as_no_reading(workspace, sky):
    published(sky, at(workspace, date(2026, 11, 20)), {24: {"likes": 3}})
    [row] = rank(workspace, metric="views").rows
    assert row["value"] is None and row["position"] == "no reading"


# --- Pillars, campaigns, workflow ------------------------------------------------------------


def test_pillars_show_their_share_beside_their_target(workspace, sky):
    bread = Pillar.objects.create(workspace=workspace, name="Bread", target_share=60)
    Pillar.objects.create(workspace=workspace, name="Team", target_share=40)
    day = at(workspace, date(2026, 11, 20))
    published(sky, day, {24: {"likes": 4}}, pillar=bread)
    published(sky, day, {24: {"likes": 2}})
    rows = {row["name"]: row for row in reading.pillars(workspace, period(workspace))}
    assert (rows["Bread"]["share"], rows["Bread"]["gap"], rows["Bread"]["engagement"]) == (
        50.0,
        -10.0,
        4,
    )
    assert (rows["Team"]["posts"], rows["Team"]["gap"]) == (0, -40.0)
    assert rows["No pillar"]["posts"] == 1 and rows["No pillar"]["target_share"] is None


def test_campaigns_count_posts_engagement_and_boost_spend_and_wait_for_click_data(workspace, sky):
    xmas = Campaign.objects.create(
        workspace=workspace,
        name="Xmas",
        starts_on=date(2026, 11, 1),
        ends_on=date(2026, 12, 31),
        budget=Decimal("500"),
    )
    Campaign.objects.create(
        workspace=workspace, name="Easter", starts_on=date(2026, 3, 1), ends_on=date(2026, 4, 30)
    )
    delivery = published(sky, at(workspace, date(2026, 11, 20)), {24: {"likes": 7}}, campaign=xmas)
    BoostSpend.objects.create(
        workspace=workspace, delivery=delivery, amount=Decimal("25.50"), spent_on=date(2026, 11, 21)
    )
    [row] = reading.campaigns(workspace, period(workspace))
    assert (row["name"], row["posts"], row["engagement"], row["spend"]) == (
        "Xmas",
        1,
        7,
        Decimal("25.50"),
    )
    assert row["clicks"] is None and row["conversions"] is None and row["roi"] is None


def test_workflow_figures_come_from_the_workflow_and_the_inbox(workspace):
    figures = reading.workflow_figures(workspace, period(workspace))
    assert figures["published_posts"] == 0 and figures["cycle_median_hours"] is None
    assert figures["conversations"] == 0 and figures["first_response_median_s"] is None


def test_daily_engagement_lists_every_day_of_the_period(workspace, sky):
    published(sky, at(workspace, date(2026, 12, 1), hour=23), {1: {"likes": 2}})
    days = reading.daily_engagement(workspace, period(workspace, days="7"))
    assert [d["day"] for d in days][0] == date(2026, 12, 1) and len(days) == 7
    assert days[0] == {"day": date(2026, 12, 1), "posts": 1, "engagement": 2}


def test_days_are_the_workspaces_local_days_across_a_daylight_saving_change(workspace, sky):
    # Paris leaves summer time on 25 October 2026 at 03:00 (01:00 UTC).
    utc = ZoneInfo("UTC")
    published(sky, datetime(2026, 10, 24, 22, 30, tzinfo=utc), {1: {"likes": 1}})  # 25th, 00:30
    published(sky, datetime(2026, 10, 25, 22, 30, tzinfo=utc), {1: {"likes": 2}})  # 25th, 23:30
    published(sky, datetime(2026, 10, 25, 23, 30, tzinfo=utc), {1: {"likes": 4}})  # 26th, 00:30
    days = reading.daily_engagement(
        workspace, period(workspace, first="2026-10-24", last="2026-10-27")
    )
    assert [(d["day"].day, d["engagement"]) for d in days] == [(24, 0), (25, 3), (26, 4), (27, 0)]


def test_only_each_deliverys_highest_bucket_is_its_latest_reading(workspace, sky):
    delivery = published(
        sky, at(workspace, date(2026, 11, 20)), {1: {"likes": 1}, 24: {"likes": 5}}
    )
    flags = dict(MetricSnapshot.objects.filter(delivery=delivery).values_list("bucket", "latest"))
    assert flags == {1: False, 24: True}


def test_a_stored_benchmark_still_open_to_readings_is_recomputed_after_an_hour(workspace, sky):
    for likes in (1, 2, 3, 4, 5):
        published(sky, at(workspace, date(2026, 10, likes)), {24: {"likes": likes}})
    row = {"channel_id": sky.pk, "bucket": 24, "published_at": at(workspace, date(2026, 11, 20))}
    key = (sky.pk, 24, date(2026, 11, 1))
    first = datetime(2026, 11, 1, 0, 30, tzinfo=workspace.zone)  # before Nov 2 00:00: open
    assert reading.benchmarks(workspace, [row], "likes", now=first)[key]["median"] == 3
    published(sky, at(workspace, date(2026, 10, 30)), {24: {"likes": 100}})
    assert reading.benchmarks(workspace, [row], "likes", now=first)[key]["n"] == 5  # stored
    later = first + reading.BENCHMARK_FRESH
    assert reading.benchmarks(workspace, [row], "likes", now=later)[key]["n"] == 6


def test_campaigns_count_their_short_links_clicks_and_attributed_orders_for_roi(workspace, sky):
    from socialdesk.analytics.models import Click, Conversion, ShortLink

    xmas = Campaign.objects.create(
        workspace=workspace, name="Xmas", starts_on=date(2026, 11, 1), ends_on=date(2026, 12, 31)
    )
    delivery = published(sky, at(workspace, date(2026, 11, 20)), {24: {"likes": 7}}, campaign=xmas)
    BoostSpend.objects.create(
        workspace=workspace, delivery=delivery, amount=Decimal("20.00"), spent_on=date(2026, 11, 21)
    )
    link = ShortLink.objects.create(
        workspace=workspace,
        delivery=delivery,
        post=delivery.post,
        channel=sky,
        campaign=xmas,
        source_url="https://crumb.example/xmas",
        target_url="https://crumb.example/xmas?utm_campaign=xmas",
        code="Xm4sLink",
    )
    clicks = [
        Click.objects.create(
            workspace=workspace, link=link, at=delivery.published_at, visitor="v", token=f"t{n}"
        )
        for n in range(4)
    ]
    for number, (value, currency) in enumerate([("30.00", "EUR"), ("20.00", "EUR"), ("9", "GBP")]):
        Conversion.objects.create(
            workspace=workspace,
            click=clicks[number],
            order_id=f"o{number}",
            value=Decimal(value),
            currency=currency,
            attributed=True,
            link=link,
            post=delivery.post,
            channel=sky,
            campaign=xmas,
            window_days=30,
        )

    [row] = reading.campaigns(workspace, period(workspace))

    # 50 EUR of orders (the GBP one counted, not added) against 20 of boost spend.
    assert (row["clicks"], row["conversions"], row["roi"]) == (4, 3, Decimal("1.5"))
