"""The demo bakery's analytics history: six months of honest-looking numbers with habits the
analytics pages can find, nothing in the future, nothing invented for what a network does
not give."""

from __future__ import annotations

import statistics
from datetime import timedelta

import pytest
from django.utils import timezone

from socialdesk.analytics import experiments, reports
from socialdesk.analytics.models import (
    ChannelDay,
    Click,
    Conversion,
    Experiment,
    ExperimentState,
    MetricSnapshot,
    Report,
    ShortLink,
)
from socialdesk.networks.models import Network

pytestmark = pytest.mark.slow  # builds the whole demo (once for the module)


@pytest.fixture
def demo(db, module_demo):
    """The demo, built once for the module (conftest's ``module_demo``), and its ``now``."""
    return module_demo, module_demo.now


def test_six_months_of_snapshots_at_ages_reached_and_none_for_what_a_network_does_not_give(demo):
    built, now = demo
    snapshots = MetricSnapshot.objects.filter(workspace=built.workspace).select_related("channel")
    oldest = min(s.published_at for s in snapshots)
    assert now - oldest > timedelta(days=170)
    for snapshot in snapshots:
        assert snapshot.taken_at <= now
        assert snapshot.taken_at - snapshot.published_at >= timedelta(hours=snapshot.bucket)
        assert snapshot.views is None and snapshot.clicks is None
        assert (snapshot.quotes is None) == (snapshot.channel.network == Network.MASTODON)
    assert not snapshots.filter(channel__network=Network.PAGE).exists()


def test_the_pages_and_the_weekly_report_read_the_demos_numbers(demo):
    """Each post's latest reading is marked, as the metrics poll marks it: the pages (and the
    weekly report) read only those."""
    built, now = demo
    snapshots = MetricSnapshot.objects.filter(workspace=built.workspace)
    assert snapshots.filter(latest=True).count() == snapshots.values("delivery").distinct().count()
    report = Report.objects.get(workspace=built.workspace)
    overview = reports.figures(report, reports.last_period(report, now), now)["overview"]
    assert overview["current"]["measured"] > 0 and overview["current"]["engagement"] > 0


def test_the_numbers_carry_the_habits_the_pages_should_find(demo):
    built, _now = demo
    day_one = MetricSnapshot.objects.filter(workspace=built.workspace, bucket=24).select_related(
        "channel__workspace"
    )
    by_slot: dict[str, list[int]] = {"weekend morning": [], "lunchtime": []}
    for snapshot in day_one:
        local = timezone.localtime(snapshot.published_at, snapshot.channel.zone)
        if local.weekday() >= 5 and local.hour < 11:
            by_slot["weekend morning"].append(snapshot.likes)
        elif local.hour == 12:
            by_slot["lunchtime"].append(snapshot.likes)
    assert statistics.median(by_slot["weekend morning"]) > statistics.median(by_slot["lunchtime"])
    bluesky = ChannelDay.objects.filter(
        workspace=built.workspace, channel__network=Network.BLUESKY
    ).order_by("day")
    assert bluesky.count() > 180
    assert bluesky.last().followers > bluesky.first().followers + 500


def test_clicks_follow_the_page_links_and_orders_name_their_click(demo):
    built, now = demo
    links = ShortLink.objects.filter(workspace=built.workspace).select_related("delivery")
    assert links and all(link.delivery.channel.network == Network.PAGE for link in links)
    clicks = Click.objects.filter(workspace=built.workspace).select_related("link__delivery")
    assert clicks.count() > 100
    assert all(c.link.delivery.published_at <= c.at <= now for c in clicks)
    orders = Conversion.objects.filter(workspace=built.workspace).select_related("click")
    assert orders and all(order.attributed and order.click is not None for order in orders)
    assert all(
        order.campaign is not None and "croissant-club" in order.link.source_url for order in orders
    )


def test_one_experiment_is_finished_with_a_verdict_and_one_still_needs_data(demo):
    """The verdicts come from the service's statistics on the demo's own snapshots: the
    croissant post does better first thing than at lunchtime (the demo's slot habit), and the
    Mastodon test has not reached the followers it needs."""
    built, now = demo
    found = Experiment.objects.filter(workspace=built.workspace)
    finished = found.get(state=ExperimentState.FINISHED)
    assert finished.winner is not None and finished.winner.label == "B"
    assert finished.verdict.startswith("B is better than A, 95 % interval +")
    assert finished.finished_at is not None and finished.created_at < finished.finished_at <= now
    running = found.get(state=ExperimentState.RUNNING)
    result = experiments.verdict(running)
    assert not result.ready and result.text.startswith("Not enough data yet: ~")
    for experiment in (finished, running):
        rows = experiments.numbers(experiment)
        assert [row.published for row in rows] == [1, 1]
        assert all(0 < row.successes < row.trials for row in rows)
