"""Claim, send and sweep, driven one step at a time against a fake network.

``FakeConnector`` (tests/fake_network.py) stands in for a connector (the Bluesky connector is
tested against a real local server in its own tests). It keeps the posts it "created" by
idempotency key, so a test can tell whether anything was posted twice.
"""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import OperationalError, connection
from django.utils import timezone
from fake_network import (
    TIMEOUT_AFTER_WRITING,
    FakeConnector,
    install,
    rate_limited,
    transient,
)
from task_queue import expected_run_after, flush, queued

from socialdesk.content.models import MediaAsset
from socialdesk.content.services import PostContent, create_post
from socialdesk.networks.base import ConnectorError, Problem
from socialdesk.networks.models import Channel, ChannelStatus, Network
from socialdesk.notifications.models import Notification
from socialdesk.publishing import connectors
from socialdesk.publishing.connectors import content_for
from socialdesk.publishing.dispatch import (
    BACKOFF_CAP,
    LEASE,
    MAX_ATTEMPTS,
    SWEEP_GRACE,
    attempt,
    backoff,
    claim,
    run,
    sweep,
)
from socialdesk.publishing.models import Delivery, DeliveryState, DeliveryTransition
from socialdesk.publishing.services import publish_now

S = DeliveryState


@pytest.fixture
def network(monkeypatch) -> FakeConnector:
    return install(monkeypatch)


@pytest.fixture
def due(post) -> Delivery:
    """The bakery's post on its page, due a minute ago."""
    delivery = post.deliveries.get()
    # An empty history and no task in the queue: only what the test does is recorded.
    DeliveryTransition.objects.all().delete()
    flush()
    Delivery.objects.filter(pk=delivery.pk).update(
        scheduled_at=timezone.now() - timedelta(minutes=1), enqueued_for=None
    )
    delivery.refresh_from_db()
    return delivery


@pytest.fixture
def draft_on_page(workspace, owner, channel) -> Delivery:
    post = create_post(workspace, owner, PostContent(text="Stollen", channel_ids=[channel.pk]))
    return post.deliveries.get()


def moves(delivery: Delivery) -> list[tuple[str, str]]:
    return list(
        DeliveryTransition.objects.filter(delivery=delivery).values_list("from_state", "to_state")
    )


# --- The happy path and the claim ---------------------------------------------------------


def test_a_due_delivery_is_published_once_with_its_idempotency_key(due, network):
    assert run(due.pk, "w1") == S.PUBLISHED

    due.refresh_from_db()
    assert network.calls == [due.idempotency_key]
    # Random, not derived from the id: another installation's delivery of the same id on
    # the same account has another key.
    assert re.fullmatch(r"socialdesk-[0-9a-f]{32}", due.idempotency_key)
    assert (due.remote_id, due.remote_url) == ("post-1", "https://network.test/post-1")
    assert due.published_at is not None
    assert (due.attempts, due.lease_expires_at, due.last_error) == (1, None, "")
    assert moves(due) == [(S.SCHEDULED, S.PUBLISHING), (S.PUBLISHING, S.PUBLISHED)]


def test_running_the_same_task_again_publishes_nothing_more(due, network):
    run(due.pk, "w1")
    assert run(due.pk, "w2") == S.PUBLISHED
    assert len(network.calls) == 1


def test_only_one_of_two_workers_claims_a_delivery(due):
    first = claim(due.pk, "w1")
    second = claim(due.pk, "w2")

    assert first is not None and second is None
    due.refresh_from_db()
    assert (due.state, due.claimed_by, due.attempts) == (S.PUBLISHING, "w1", 1)
    assert due.lease_expires_at > timezone.now() + LEASE - timedelta(seconds=5)


def test_a_delivery_is_not_claimed_before_its_time(post):
    delivery = post.deliveries.get()
    assert claim(delivery.pk, "w1") is None
    assert Delivery.objects.get(pk=delivery.pk).state == S.SCHEDULED


def test_a_delivery_moved_to_a_later_time_is_not_sent_at_the_old_time(due, network):
    Delivery.objects.filter(pk=due.pk).update(scheduled_at=timezone.now() + timedelta(hours=1))

    assert run(due.pk, "w1") == S.SCHEDULED
    assert network.calls == []


# --- Failures -----------------------------------------------------------------------------


def test_a_transient_failure_waits_to_retry_with_backoff_and_is_requeued(
    due, network, django_capture_on_commit_callbacks
):
    network.script = [ConnectorError("502 Bad Gateway")]
    before = timezone.now()

    with django_capture_on_commit_callbacks(execute=True):
        assert run(due.pk, "w1") == S.WAITING_RETRY

    due.refresh_from_db()
    assert due.last_error == "502 Bad Gateway"
    assert before + timedelta(seconds=15) <= due.retry_at <= timezone.now() + timedelta(seconds=30)
    assert [t.run_after for t in queued(due.pk)] == [expected_run_after(due.retry_at)]
    # Not before its retry time…
    assert run(due.pk, "w1", now=due.retry_at - timedelta(seconds=1)) == S.WAITING_RETRY
    # …and then it goes out.
    assert run(due.pk, "w1", now=due.retry_at) == S.PUBLISHED
    # Both attempts carried the same key, so the network can never create it twice.
    assert network.calls == [due.idempotency_key] * 2


def test_backoff_grows_exponentially_with_jitter_and_a_ceiling():
    assert all(timedelta(seconds=15) <= backoff(1) <= timedelta(seconds=30) for _ in range(50))
    assert all(timedelta(seconds=60) <= backoff(3) <= timedelta(seconds=120) for _ in range(50))
    assert all(BACKOFF_CAP / 2 <= backoff(30) <= BACKOFF_CAP for _ in range(50))
    assert len({backoff(2) for _ in range(20)}) > 1


def test_a_rate_limited_attempt_waits_for_the_reset_and_a_backoff_on_top(due, network):
    before = timezone.now()
    reset = before + timedelta(seconds=600)
    network.script = [ConnectorError("429 Too Many Requests", retry_after=reset)]

    run(due.pk, "w1")

    due.refresh_from_db()
    assert due.state == S.WAITING_RETRY
    assert reset + timedelta(seconds=15) <= due.retry_at <= reset + timedelta(seconds=31)


def test_a_rate_limit_whose_reset_has_passed_still_waits_a_backoff(due, network):
    network.script = [rate_limited(timezone.now() - timedelta(minutes=5))]
    before = timezone.now()

    run(due.pk, "w1")

    due.refresh_from_db()
    assert due.state == S.WAITING_RETRY
    assert due.retry_at >= before + timedelta(seconds=15)  # not at once
    # Not before its retry time, however often the queue runs it.
    assert run(due.pk, "w1", now=due.retry_at - timedelta(seconds=1)) == S.WAITING_RETRY
    assert len(network.calls) == 1


def test_rate_limits_count_no_attempt_so_a_busy_account_never_fails_a_delivery(due, network):
    past = timezone.now() - timedelta(seconds=1)
    network.script = [rate_limited(past) for _ in range(MAX_ATTEMPTS * 2)]

    state = run(due.pk, "w1")
    while state == S.WAITING_RETRY:
        state = run(due.pk, "w1", now=Delivery.objects.get(pk=due.pk).retry_at)

    due.refresh_from_db()
    assert state == S.PUBLISHED
    assert len(network.calls) == MAX_ATTEMPTS * 2 + 1
    assert due.attempts == 1  # only the call that went through counts
    assert len(network.posts) == 1
    assert "not counted as an attempt" in due.transitions.filter(to_state=S.WAITING_RETRY)[0].reason


def test_transient_failures_ask_the_network_before_giving_up(due, network, owner):
    network.script = [ConnectorError(f"503 number {n}") for n in range(1, 10)]

    state = run(due.pk, "w1")
    while state in (S.WAITING_RETRY, S.UNKNOWN):
        state = run(due.pk, "w1", now=Delivery.objects.get(pk=due.pk).retry_at)

    due.refresh_from_db()
    assert state == S.FAILED
    assert len(network.calls) == MAX_ATTEMPTS
    assert moves(due)[-2:] == [(S.PUBLISHING, S.UNKNOWN), (S.UNKNOWN, S.FAILED)]
    assert due.transitions.last().reason == f"gave up after {MAX_ATTEMPTS} attempts"
    # What happened last, and what a person can do; no promise of another try.
    assert due.last_error.startswith(
        f"Not published: {MAX_ATTEMPTS} attempts failed (the last: 503 number {MAX_ATTEMPTS})."
    )
    assert "was asked since and does not have the post" in due.last_error
    assert "schedule it again" in due.last_error
    notice = Notification.objects.get(recipient=owner, event="delivery.failed")
    assert notice.body == due.last_error
    assert "tried again" not in notice.body


def test_a_post_written_by_an_attempt_whose_answer_was_lost_is_found_not_failed(due, network):
    # The first attempt wrote the post and lost its answer, as did every later one: the
    # connector could only say "could not be reached". The last failure is checked first.
    def written_but_answer_lost():
        network._create(due.idempotency_key)
        return transient("Bluesky could not be reached.")

    lost = transient("Bluesky could not be reached.")
    network.script = [written_but_answer_lost] + [lost] * (MAX_ATTEMPTS - 1)

    state = run(due.pk, "w1")
    while state in (S.WAITING_RETRY, S.UNKNOWN):
        state = run(due.pk, "w1", now=Delivery.objects.get(pk=due.pk).retry_at)

    due.refresh_from_db()
    assert state == S.PUBLISHED
    assert (due.remote_id, due.remote_url) == ("post-1", "https://network.test/post-1")
    assert len(network.posts) == 1
    assert due.last_error == ""
    assert not Notification.objects.filter(event="delivery.failed").exists()


def test_a_permanent_failure_fails_with_the_networks_own_message(due, network):
    network.script = [
        ConnectorError("Record/text must not be longer than 300 graphemes", permanent=True)
    ]

    assert run(due.pk, "w1") == S.FAILED

    due.refresh_from_db()
    assert due.last_error == "Record/text must not be longer than 300 graphemes"
    assert len(network.calls) == 1


def test_a_revoked_authorization_pauses_the_delivery_until_the_channel_is_reconnected(
    due, network, channel, django_capture_on_commit_callbacks
):
    network.script = [ConnectorError("Token has been revoked", auth_revoked=True)]

    assert run(due.pk, "w1") == S.SCHEDULED

    due.refresh_from_db()
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.NEEDS_RECONNECT
    assert (due.attempts, due.lease_expires_at) == (0, None)
    assert "Token has been revoked" in due.last_error
    # While the channel needs reconnecting, the sweeper leaves it alone…
    assert due.pk not in sweep(timezone.now() + SWEEP_GRACE * 2).enqueued
    # …and once it is reconnected, the delivery goes out.
    Channel.objects.filter(pk=channel.pk).update(status=ChannelStatus.CONNECTED)
    with django_capture_on_commit_callbacks(execute=True):
        assert due.pk in sweep(timezone.now() + SWEEP_GRACE * 2).enqueued
    assert run(due.pk, "w1") == S.PUBLISHED
    assert len(network.calls) == 2


# --- Outcome unknown ----------------------------------------------------------------------


def test_a_crash_after_the_network_created_the_post_is_reconciled_not_resent(due, network):
    network.script = [TIMEOUT_AFTER_WRITING]

    assert run(due.pk, "w1") == S.UNKNOWN
    assert Delivery.objects.get(pk=due.pk).last_error == "TimeoutError: read timed out"

    assert run(due.pk, "w2") == S.PUBLISHED
    due.refresh_from_db()
    assert due.remote_id == "post-1"
    assert len(network.calls) == 1
    assert len(network.posts) == 1
    assert moves(due)[-1] == (S.UNKNOWN, S.PUBLISHED)


def test_a_crash_before_the_network_created_the_post_is_retried_after_checking(due, network):
    network.script = [ConnectionResetError("connection reset by peer")]

    assert run(due.pk, "w1") == S.UNKNOWN
    assert run(due.pk, "w2") == S.PUBLISHED

    assert len(network.calls) == 2
    assert len(network.posts) == 1
    assert moves(due) == [
        (S.SCHEDULED, S.PUBLISHING),
        (S.PUBLISHING, S.UNKNOWN),
        (S.UNKNOWN, S.WAITING_RETRY),
        (S.WAITING_RETRY, S.PUBLISHING),
        (S.PUBLISHING, S.PUBLISHED),
    ]


def test_an_unknown_outcome_stays_unknown_while_the_network_cannot_tell(due, network):
    network.script = [TimeoutError("read timed out")]
    run(due.pk, "w1")

    def broken(idempotency_key, content=None):
        raise ConnectorError("503 Service Unavailable")

    network.find_published = broken
    assert run(due.pk, "w2") == S.UNKNOWN

    due.refresh_from_db()
    assert due.retry_at > timezone.now()
    assert due.last_error.startswith("TimeoutError: read timed out\nCould not check the network")
    assert len(network.calls) == 1


def test_an_expired_lease_makes_the_outcome_unknown_instead_of_resending(
    due, network, django_capture_on_commit_callbacks
):
    claim(due.pk, "w1")  # …and the worker is killed before it records anything.
    later = timezone.now() + LEASE + timedelta(seconds=1)

    with django_capture_on_commit_callbacks(execute=True):
        report = sweep(later)

    assert report.expired == [due.pk]
    assert due.pk in report.enqueued
    assert Delivery.objects.get(pk=due.pk).state == S.UNKNOWN
    assert queued(due.pk)
    # The network never got the call, so reconciling finds nothing and it is sent once.
    assert run(due.pk, "w2") == S.PUBLISHED
    assert len(network.posts) == 1


def test_a_slow_worker_that_outlived_its_lease_still_records_its_result(due, network):
    claimed = claim(due.pk, "w1")
    sweep(timezone.now() + LEASE + timedelta(seconds=1))
    assert Delivery.objects.get(pk=due.pk).state == S.UNKNOWN

    assert attempt(claimed, "w1").state == S.PUBLISHED

    assert moves(due)[-1] == (S.UNKNOWN, S.PUBLISHED)
    assert (
        DeliveryTransition.objects.filter(delivery=due)
        .last()
        .reason.startswith("late result of w1")
    )


# --- Checks at send time ------------------------------------------------------------------


def test_approval_required_at_send_time_sends_nothing_and_waits(due, network, workspace):
    workspace.requires_approval = True
    workspace.save(update_fields=["requires_approval"])
    due_at = due.scheduled_at

    assert run(due.pk, "w1") == S.AWAITING_APPROVAL

    assert network.calls == []
    due.refresh_from_db()
    assert due.scheduled_at == due_at  # kept, so approval can put it back on schedule
    assert "the post is not approved" in due.last_error
    assert due.transitions.last().reason.startswith("held for approval")


def test_a_channel_disconnected_since_scheduling_pauses_the_delivery(due, network, channel):
    Channel.objects.filter(pk=channel.pk).update(status=ChannelStatus.DISCONNECTED)

    assert run(due.pk, "w1") == S.SCHEDULED
    assert network.calls == []


def test_content_the_network_now_refuses_fails_with_its_words(due, network):
    network.problems = [Problem("media[0]", "Alt text is missing on image 1.")]

    assert run(due.pk, "w1") == S.FAILED
    assert Delivery.objects.get(pk=due.pk).last_error == "Alt text is missing on image 1."
    assert network.calls == []


def test_a_crash_while_checking_the_content_is_retried_because_nothing_was_sent(due, network):
    def crash(content):
        raise KeyError("grapheme table")

    network.validate = crash

    assert run(due.pk, "w1") == S.WAITING_RETRY
    assert network.calls == []
    assert "checking the content failed: KeyError" in Delivery.objects.get(pk=due.pk).last_error


def test_a_network_without_a_connector_fails_with_a_clear_message(due, monkeypatch):
    monkeypatch.delitem(connectors.REGISTRY, Network.PAGE)

    assert run(due.pk, "w1") == S.FAILED
    assert Delivery.objects.get(pk=due.pk).last_error == (
        "Socialdesk cannot publish to Public page yet."
    )


# --- The sweeper --------------------------------------------------------------------------


def test_the_sweeper_queues_a_due_delivery_the_queue_lost(
    due, network, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        report = sweep()

    assert report.enqueued == [due.pk]
    assert len(queued(due.pk)) == 1
    # Swept again at once, it is not queued twice: its task is in the queue now.
    assert sweep().enqueued == []
    assert run(due.pk, "w1") == S.PUBLISHED


def test_the_sweeper_leaves_future_and_in_flight_deliveries_alone(post, due, network):
    future = Delivery.objects.create(
        workspace=post.workspace,
        post=post,
        channel=Channel.objects.create(workspace=post.workspace, network="page", handle="b"),
        state=S.SCHEDULED,
        scheduled_at=timezone.now() + timedelta(hours=1),
    )
    claim(due.pk, "w1")

    report = sweep()

    assert future.pk not in report.enqueued
    assert due.pk not in report.enqueued
    assert report.expired == []


def test_the_sweeper_queues_a_retry_whose_time_has_come(due, network):
    network.script = [ConnectorError("502 Bad Gateway")]
    run(due.pk, "w1")
    retry_at = Delivery.objects.get(pk=due.pk).retry_at

    assert due.pk not in sweep(retry_at - timedelta(seconds=1)).enqueued
    assert due.pk in sweep(retry_at + SWEEP_GRACE).enqueued


def test_a_delivery_later_than_the_late_window_becomes_missed_not_published(due, network):
    Delivery.objects.filter(pk=due.pk).update(scheduled_at=timezone.now() - timedelta(hours=7))

    report = sweep()

    due.refresh_from_db()
    assert report.missed == [due.pk]
    assert due.state == S.MISSED
    assert "more than the workspace's late window allows" in due.last_error
    assert network.calls == []


def test_the_late_window_is_the_workspaces_own(due, network, workspace, other_post):
    workspace.late_window = timedelta(minutes=30)
    workspace.save(update_fields=["late_window"])
    Delivery.objects.filter(pk=due.pk).update(scheduled_at=timezone.now() - timedelta(minutes=45))
    rival = other_post.deliveries.get()
    Delivery.objects.filter(pk=rival.pk).update(
        state=S.SCHEDULED, scheduled_at=timezone.now() - timedelta(minutes=45)
    )

    report = sweep()

    assert report.missed == [due.pk]
    assert Delivery.objects.get(pk=rival.pk).state == S.SCHEDULED


def test_a_task_that_runs_too_late_marks_the_delivery_missed(due, network):
    assert run(due.pk, "w1", now=timezone.now() + timedelta(hours=7)) == S.MISSED
    assert network.calls == []


# --- Through the real queue and with real concurrency -------------------------------------


@pytest.mark.database_queue  # the database queue's worker (test_tasks_redis.py: rq's)
@pytest.mark.django_db(transaction=True)
def test_a_queued_task_run_by_the_database_worker_publishes_the_delivery(
    draft_on_page, owner, network
):
    # Committed for real: the task reaches the queue on commit, as in production, and the
    # worker (which closes its database connections) runs it.
    publish_now(draft_on_page, owner)

    call_command("db_worker", batch=True, interval=0, stdout=StringIO(), stderr=StringIO())

    draft_on_page.refresh_from_db()
    assert draft_on_page.state == S.PUBLISHED
    assert len(network.calls) == 1
    [task] = queued(draft_on_page.pk)
    assert task.status == "SUCCESSFUL"


@pytest.mark.django_db(transaction=True)
def test_workers_racing_for_one_delivery_claim_it_exactly_once(workspace, owner, channel):
    post = create_post(
        workspace,
        owner,
        PostContent(
            text="Race", channel_ids=[channel.pk], scheduled_at=timezone.now() + timedelta(days=1)
        ),
    )
    delivery = post.deliveries.get()
    Delivery.objects.filter(pk=delivery.pk).update(scheduled_at=timezone.now())
    workers = 6
    start = threading.Barrier(workers)
    winners: list[str] = []

    def race(worker_id: str) -> None:
        try:
            start.wait()
            if claim(delivery.pk, worker_id) is not None:
                winners.append(worker_id)
        except OperationalError:
            pass  # SQLite may refuse a concurrent writer outright; that is a loss, not a win
        finally:
            connection.close()

    threads = [threading.Thread(target=race, args=(f"w{n}",)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    delivery.refresh_from_db()
    assert len(winners) == 1
    assert (delivery.state, delivery.claimed_by, delivery.attempts) == (
        S.PUBLISHING,
        winners[0],
        1,
    )
    claims = DeliveryTransition.objects.filter(delivery=delivery, to_state=S.PUBLISHING)
    assert claims.count() == 1


def test_the_content_sent_is_the_deliverys_own_media_else_the_posts(due, workspace):
    def asset(name: str, alt: str) -> MediaAsset:
        return MediaAsset.objects.create(
            workspace=workspace,
            file=f"workspaces/{workspace.pk}/ab/{name}.jpg",
            kind="image",
            mime_type="image/jpeg",
            size=10,
            alt_text=alt,
            checksum=name,
        )

    shared, own = asset("shared", "Loaves on a rack"), asset("own", "A stollen, sliced")
    due.post.media.set([shared])
    Delivery.objects.filter(pk=due.pk).update(first_comment="Order by Friday")
    due.refresh_from_db()

    content = content_for(due)
    assert (content.text, content.first_comment) == ("Fresh sourdough at 7 🍞", "Order by Friday")
    assert [(m.path.name, m.alt_text) for m in content.media] == [
        ("shared.jpg", "Loaves on a rack")
    ]

    due.media_override.set([own])
    assert [m.alt_text for m in content_for(due).media] == ["A stollen, sliced"]


def test_an_unknown_outcome_with_no_connector_to_ask_waits_an_hour_not_every_sweep(
    due, monkeypatch
):
    from socialdesk.publishing.dispatch import reconcile

    monkeypatch.delitem(connectors.REGISTRY, Network.PAGE)
    Delivery.objects.filter(pk=due.pk).update(state=S.UNKNOWN, retry_at=None)
    due.refresh_from_db()
    now = timezone.now()
    reconcile(due, "w1", now=now)
    due.refresh_from_db()
    assert (due.state, due.retry_at) == (S.UNKNOWN, now + timedelta(hours=1))
    assert "reconnected" in due.last_error
    assert due.pk not in sweep(now + timedelta(minutes=5)).enqueued


def test_the_sweeper_does_not_queue_again_a_delivery_whose_task_waits_behind_a_backlog(
    due, network, django_capture_on_commit_callbacks
):
    # Its task was queued and is still waiting its turn (a burst): later than the grace, but
    # not lost, because the queue has not reached it yet.
    with django_capture_on_commit_callbacks(execute=True):
        sweep()
    assert len(queued(due.pk)) == 1
    assert due.pk not in sweep(timezone.now() + SWEEP_GRACE * 3).enqueued
    assert len(queued(due.pk)) == 1
    # A backlog holds it back a bounded time only (the queue may not run in ready order).
    assert due.pk in sweep(timezone.now() + SWEEP_GRACE * 6).enqueued


def test_the_sweeper_queues_a_delivery_whose_task_was_taken_and_lost(
    due, network, django_capture_on_commit_callbacks
):
    # A worker took the task and died before claiming the delivery: nothing for it waits in
    # the queue any more, so the sweeper queues it again once the grace is over.
    Delivery.objects.filter(pk=due.pk).update(enqueued_for=timezone.now() - SWEEP_GRACE * 2)
    assert due.pk in sweep().enqueued


def test_a_task_that_starts_a_moment_early_waits_for_the_due_time(post, network, monkeypatch):
    # rq keeps run_after in whole seconds, so its tasks may start up to a second early.
    from socialdesk.publishing import dispatch

    delivery = post.deliveries.get()
    soon = timezone.now() + timedelta(milliseconds=300)
    Delivery.objects.filter(pk=delivery.pk).update(scheduled_at=soon)
    waited = []

    def wait(seconds):
        waited.append(seconds)
        dispatch.time.sleep(seconds)  # single-threaded: only lets the due time arrive

    monkeypatch.setattr(dispatch, "wait", wait)

    assert run(delivery.pk, "w1") == S.PUBLISHED
    assert len(waited) == 1 and 0 < waited[0] <= 0.3
    assert Delivery.objects.get(pk=delivery.pk).published_at >= soon


def test_a_task_far_too_early_does_not_wait_and_publishes_nothing(post, network, monkeypatch):
    from socialdesk.publishing import dispatch

    delivery = post.deliveries.get()  # due in two days
    monkeypatch.setattr(dispatch, "wait", lambda seconds: pytest.fail("must not wait"))

    assert run(delivery.pk, "w1") == S.SCHEDULED
    assert network.calls == []


def test_one_run_reads_the_delivery_once_and_the_channel_with_it(due, network):
    from django.db import connection as db
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(db) as queries:
        assert run(due.pk, "w1") == S.PUBLISHED
    delivery_reads = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith("SELECT") and 'FROM "publishing_delivery"' in q["sql"]
    ]
    channel_reads = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith("SELECT") and 'FROM "networks_channel"' in q["sql"]
    ]
    assert len(delivery_reads) == 1
    assert channel_reads == []  # loaded with the delivery (select_related)


def test_the_content_sent_carries_language_visibility_and_content_warning(workspace, owner):
    from socialdesk.networks.mastodon import MastodonContent
    from socialdesk.publishing.services import set_delivery_details

    mastodon = Channel.objects.create(
        workspace=workspace, network=Network.MASTODON, handle="@crumb@bakery.example"
    )
    post = create_post(
        workspace,
        owner,
        PostContent(text="Stollen", thread=["Part two"], channel_ids=[mastodon.pk]),
    )
    delivery = post.deliveries.get()
    set_delivery_details(
        delivery, language="de", visibility="unlisted", content_warning="Food, marzipan"
    )

    content = content_for(Delivery.objects.select_related("post", "channel").get(pk=delivery.pk))
    assert isinstance(content, MastodonContent)
    assert (content.language, content.visibility, content.spoiler_text) == (
        "de",
        "unlisted",
        "Food, marzipan",
    )
    assert list(content.thread) == ["Part two"]


def test_delivery_details_are_refused_with_what_to_fix_and_nothing_saved(due):
    from django.core.exceptions import ValidationError

    from socialdesk.publishing.services import set_delivery_details

    with pytest.raises(ValidationError) as caught:
        set_delivery_details(due, language="not a tag!", visibility="everyone")

    assert set(caught.value.message_dict) == {"language", "visibility"}
    assert Delivery.objects.get(pk=due.pk).language == ""
