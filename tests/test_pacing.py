"""Pacing to the networks' budgets (issue 3, item 7), driven with explicit clocks.

``MeteredNetwork`` stands in for a connector that declares a tiny budget (3 points per
minute, and optionally 5 per day); each publication costs 1 point, or 4 for a post whose
text says "big". It records the engine's clock at every call, so a test can check that no
window ever holds more calls than the budget allows.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from django.db import OperationalError, connection
from django.utils import timezone
from fake_network import FakeConnector, install

from socialdesk.content.services import PostContent, create_post
from socialdesk.networks.base import DeliveryContent, MediaFile, RateLimit
from socialdesk.networks.bluesky import BlueskyConnector
from socialdesk.networks.mastodon import MastodonConnector
from socialdesk.publishing import pacing
from socialdesk.publishing.dispatch import LEASE, run, sweep
from socialdesk.publishing.models import (
    ChannelSpend,
    Delivery,
    DeliveryState,
    DeliveryTransition,
)
from socialdesk.publishing.services import budget_warnings, schedule
from socialdesk.publishing.states import transition

S = DeliveryState
PER_MINUTE = RateLimit("points", 3, timedelta(minutes=1))
PER_DAY = RateLimit("points", 5, timedelta(days=1))


def points(content) -> dict[str, int]:
    return {"points": 4 if "big" in content.text else 1}


@pytest.fixture
def network(monkeypatch) -> FakeConnector:
    return install(monkeypatch, FakeConnector(rate_limits=[PER_MINUTE], cost=points))


@pytest.fixture
def start() -> datetime:
    """A whole minute a little ahead (so that queued tasks keep their exact times): the
    deliveries fall due then, and the tests run the engine at that clock."""
    return timezone.now().replace(second=0, microsecond=0) + timedelta(minutes=10)


def due_deliveries(workspace, owner, channel, count: int, at: datetime, text="Rye") -> list:
    made = []
    for number in range(count):
        post = create_post(
            workspace,
            owner,
            PostContent(
                text=f"{text} {number}",
                channel_ids=[channel.pk],
                scheduled_at=timezone.now() + timedelta(days=1),
            ),
        )
        delivery = post.deliveries.get()
        Delivery.objects.filter(pk=delivery.pk).update(scheduled_at=at, enqueued_for=None)
        made.append(delivery)
    return made


def run_all(network: FakeConnector, deliveries: list, now: datetime) -> list[str]:
    network.clock = now
    return [run(d.pk, "w1", now=now) for d in deliveries]


# --- The engine never exceeds a declared limit --------------------------------------------


@pytest.mark.slow
def test_the_engine_never_calls_the_network_more_than_a_window_allows(
    workspace, owner, channel, network, start
):
    deliveries = due_deliveries(workspace, owner, channel, 8, start)

    for step in range(0, 200, 7):  # every 7 seconds for a little over three minutes
        run_all(network, deliveries, start + timedelta(seconds=step))

    times = sorted(call.at for call in network.log)
    for index, at in enumerate(times):
        in_window = [t for t in times[index:] if t < at + PER_MINUTE.window]
        assert len(in_window) <= PER_MINUTE.points, (
            f"{len(in_window)} calls in the minute from {at}"
        )
    assert sorted(network.calls) == sorted(d.idempotency_key for d in deliveries)
    assert set(Delivery.objects.values_list("state", flat=True)) == {S.PUBLISHED}


def test_the_first_three_go_out_and_the_fourth_waits_untouched_by_the_network(
    workspace, owner, channel, network, start
):
    deliveries = due_deliveries(workspace, owner, channel, 4, start)

    assert run_all(network, deliveries, start) == [S.PUBLISHED] * 3 + [S.SCHEDULED]

    assert len(network.calls) == 3
    paced = Delivery.objects.get(pk=deliveries[3].pk)
    assert (paced.scheduled_at, paced.attempts) == (start, 0)
    assert paced.enqueued_for == start + timedelta(minutes=1)
    record = DeliveryTransition.objects.filter(delivery=paced).latest("id")
    until = (start + timedelta(minutes=1)).astimezone(channel.zone)
    assert (record.from_state, record.to_state) == (S.SCHEDULED, S.SCHEDULED)
    assert record.reason == (
        f"paced: Public page's 3 points per minute budget for this account is spent until "
        f"{until:%H:%M} ({channel.zone.key})"
    )
    assert paced.last_error == record.reason


def test_a_deferred_delivery_goes_out_when_the_window_has_room_exactly_once(
    workspace, owner, channel, network, start
):
    deliveries = due_deliveries(workspace, owner, channel, 4, start)
    run_all(network, deliveries, start)
    fourth = deliveries[3]

    network.clock = start + timedelta(seconds=59)
    assert run(fourth.pk, "w1", now=network.clock) == S.SCHEDULED
    network.clock = start + timedelta(minutes=1)
    assert run(fourth.pk, "w1", now=network.clock) == S.PUBLISHED
    assert run(fourth.pk, "w2", now=network.clock) == S.PUBLISHED

    assert network.calls.count(fourth.idempotency_key) == 1
    assert network.log[-1].idempotency_key == fourth.idempotency_key
    assert network.log[-1].at == start + timedelta(minutes=1)


def test_a_retry_that_finds_the_budget_spent_waits_for_room_with_its_retry_moved(
    workspace, owner, channel, network, start
):
    deliveries = due_deliveries(workspace, owner, channel, 4, start)
    retrying = deliveries[3]
    transition(retrying, S.PUBLISHING, "claimed", "system: test")
    transition(retrying, S.WAITING_RETRY, "503", "system: test", retry_at=start)
    run_all(network, deliveries[:3], start)

    assert run(retrying.pk, "w1", now=start + timedelta(seconds=10)) == S.WAITING_RETRY

    retrying.refresh_from_db()
    assert retrying.retry_at == start + timedelta(minutes=1)
    assert retrying.last_error.startswith("paced: Public page's 3 points per minute budget")
    assert len(network.calls) == 3
    network.clock = start + timedelta(minutes=1)
    assert run(retrying.pk, "w1", now=network.clock) == S.PUBLISHED


def test_every_declared_window_is_respected_and_the_longest_wait_wins(
    workspace, owner, channel, network, start, monkeypatch
):
    monkeypatch.setattr(network, "rate_limits", (PER_MINUTE, PER_DAY))
    deliveries = due_deliveries(workspace, owner, channel, 6, start)

    for minute in range(5):
        run_all(network, deliveries, start + timedelta(minutes=minute))

    assert len(network.calls) == 5
    sixth = Delivery.objects.get(state=S.SCHEDULED)
    assert sixth.enqueued_for == start + timedelta(days=1)
    assert "5 points per day budget" in sixth.last_error


def test_a_post_that_costs_more_than_a_whole_window_fails_without_a_network_call(
    workspace, owner, channel, network, start
):
    (big,) = due_deliveries(workspace, owner, channel, 1, start, text="big")

    assert run_all(network, [big], start) == [S.FAILED]

    big.refresh_from_db()
    assert network.calls == []
    assert "costs more than Public page's 3 points per minute budget" in big.last_error


def test_old_spend_is_forgotten_once_it_is_outside_every_window(
    workspace, owner, channel, network, start
):
    first, second = due_deliveries(workspace, owner, channel, 2, start)
    run_all(network, [first], start)
    Delivery.objects.filter(pk=second.pk).update(scheduled_at=start + timedelta(minutes=3))

    run_all(network, [second], start + timedelta(minutes=3))

    assert list(ChannelSpend.objects.values_list("delivery_id", "points")) == [(second.pk, 1)]


def test_a_connector_that_declares_no_budget_is_not_paced(
    workspace, owner, channel, network, start, monkeypatch
):
    monkeypatch.setattr(network, "rate_limits", ())
    deliveries = due_deliveries(workspace, owner, channel, 5, start)

    assert run_all(network, deliveries, start) == [S.PUBLISHED] * 5
    assert not ChannelSpend.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_workers_racing_on_one_channel_never_spend_past_its_budget(
    workspace, owner, channel, network, start
):
    deliveries = due_deliveries(workspace, owner, channel, 6, start)
    network.clock = start
    workers = 6
    barrier = threading.Barrier(workers)

    def race(delivery: Delivery, worker_id: str) -> None:
        try:
            barrier.wait()
            run(delivery.pk, worker_id, now=start)
        except OperationalError:
            pass  # SQLite may refuse a concurrent writer outright: that delivery waits
        finally:
            connection.close()

    threads = [threading.Thread(target=race, args=(d, f"w{n}")) for n, d in enumerate(deliveries)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(network.calls) <= PER_MINUTE.points
    assert pacing.spent(channel.pk, PER_MINUTE, start) >= len(network.calls)
    # On SQLite a worker may be refused its write after its network call; the delivery then
    # stays in flight until its lease runs out and is reconciled, never sent again.
    later = start + LEASE + timedelta(seconds=1)
    sweep(now=later)
    for delivery in Delivery.objects.filter(state=S.UNKNOWN):
        run(delivery.pk, "after-the-race", now=later)
    published = Delivery.objects.filter(state=S.PUBLISHED).count()
    assert published == len(network.calls)
    assert len(set(network.calls)) == len(network.calls)


# --- The declared limits match the networks' published numbers ----------------------------


def test_bluesky_declares_5000_points_an_hour_and_35000_a_day_and_a_create_costs_3():
    assert BlueskyConnector.rate_limits == (
        RateLimit("write points", 5_000, timedelta(hours=1)),
        RateLimit("write points", 35_000, timedelta(days=1)),
    )
    connector = BlueskyConnector("crumb.test", "app-password")
    assert connector.cost(DeliveryContent(text="Rye")) == {"write points": 3}
    assert connector.cost(DeliveryContent(text="Rye", thread=["2"], first_comment="c")) == {
        "write points": 9
    }


def test_mastodon_declares_300_requests_in_5_minutes_and_30_uploads_in_30_minutes(tmp_path):
    assert MastodonConnector.rate_limits == (
        RateLimit("requests", 300, timedelta(minutes=5)),
        RateLimit("media uploads", 30, timedelta(minutes=30)),
    )
    connector = MastodonConnector("https://masto.test", "token")
    image = MediaFile(tmp_path / "rye.jpg", "image/jpeg", "a loaf")
    cost = connector.cost(DeliveryContent(text="Rye", media=[image, image]))
    assert cost["media uploads"] == 2
    assert cost["requests"] >= 3


def test_budgets_are_described_in_words_people_read():
    assert (
        pacing.budget_text("Bluesky", BlueskyConnector.rate_limits[0])
        == "Bluesky's 5,000 write points per hour budget"
    )
    assert (
        pacing.budget_text("Mastodon", MastodonConnector.rate_limits[0])
        == "Mastodon's 300 requests per 5 minutes budget"
    )


# --- Scheduling warns when a day's plan would exceed a budget ------------------------------


def schedule_posts(workspace, owner, channel, count: int, first: datetime, gap: timedelta):
    results = []
    for number in range(count):
        post = create_post(
            workspace, owner, PostContent(text=f"Loaf {number}", channel_ids=[channel.pk])
        )
        results.append(schedule(post, first + gap * number, actor=owner))
    return results


def test_scheduling_a_fourth_post_in_one_minute_warns_naming_channel_day_and_budget(
    workspace, owner, channel, network
):
    day = (timezone.now() + timedelta(days=3)).date()
    nine = datetime(day.year, day.month, day.day, 9, 0)

    results = schedule_posts(workspace, owner, channel, 4, nine, timedelta(seconds=10))

    assert [r.warnings for r in results[:3]] == [[], [], []]
    (warning,) = results[3].warnings
    assert str(channel) in warning
    assert f"{day:%A %d %B %Y}" in warning
    assert "in the minute from 09:00" in warning
    assert "spend 4 points, more than Public page's 3 points per minute budget" in warning
    assert all(d.state == S.SCHEDULED for d in results[3])  # a warning, not a refusal


def test_a_day_over_its_daily_budget_warns_even_when_every_minute_fits(
    workspace, owner, channel, network, monkeypatch
):
    monkeypatch.setattr(network, "rate_limits", (PER_MINUTE, PER_DAY))
    day = (timezone.now() + timedelta(days=3)).date()
    eight = datetime(day.year, day.month, day.day, 8, 0)
    schedule_posts(workspace, owner, channel, 6, eight, timedelta(hours=1))

    (warning,) = budget_warnings(channel, day)

    assert warning.startswith(f"{channel} on {day:%A %d %B %Y}: the posts planned spend 6 points")
    assert "Public page's 5 points per day budget" in warning
    assert budget_warnings(channel, day + timedelta(days=1)) == []


def test_a_plan_within_every_budget_gives_no_warning(workspace, owner, channel, network):
    day = (timezone.now() + timedelta(days=3)).date()
    nine = datetime(day.year, day.month, day.day, 9, 0)

    results = schedule_posts(workspace, owner, channel, 4, nine, timedelta(minutes=1))

    assert [r.warnings for r in results] == [[], [], [], []]
    assert budget_warnings(channel, day) == []
