"""``GET /health``: 200 when the database is reachable and migrated, 503 with the reason."""

from datetime import timedelta

from django.db import OperationalError, connection
from django.utils import timezone

from socialdesk import health
from socialdesk.publishing.models import Delivery, DeliveryState, WorkerHeartbeat


def test_health_is_ok_when_the_database_is_migrated_and_a_worker_runs(client, db):
    WorkerHeartbeat.objects.create(worker_id="w1", hostname="oven", pid=42)
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["reasons"]) == ("ok", [])
    assert body["migrations"] == {"pending": 0}
    assert body["database"]["ok"] is True


def test_a_stopped_worker_makes_health_degraded_but_still_200(client, db):
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["worker"] == {"alive": False, "last_seen": None, "seconds_ago": None}
    assert body["status"] == "degraded"
    assert body["reasons"] == ["worker: no worker is running"]


def test_posts_later_than_the_threshold_make_health_degraded_with_the_reason(
    client, post, channel, settings
):
    WorkerHeartbeat.objects.create(worker_id="w1", hostname="oven", pid=42)  # alive, stuck
    delivery = post.deliveries.get()
    Delivery.objects.filter(pk=delivery.pk).update(
        state=DeliveryState.SCHEDULED, scheduled_at=timezone.now() - timedelta(seconds=200)
    )
    assert client.get("/health").json()["status"] == "ok"  # 200 s: not late yet

    settings.PUBLISHING_LATE_SECONDS = 120
    body = client.get("/health").json()
    assert body["status"] == "degraded"
    assert body["reasons"] == ["publishing: 1 due post not sent, the oldest 3 min late"]


def test_a_live_worker_shows_when_it_was_last_seen(client, db):
    WorkerHeartbeat.objects.create(worker_id="w1", hostname="oven", pid=42)
    worker = client.get("/health").json()["worker"]
    assert worker["alive"] is True
    assert worker["seconds_ago"] < 5
    assert worker["hostname"] == "oven"


def test_a_stale_heartbeat_counts_as_a_stopped_worker(client, db, settings):
    long_ago = timezone.now() - timedelta(seconds=settings.WORKER_HEARTBEAT_STALE_SECONDS + 5)
    WorkerHeartbeat.objects.create(worker_id="w1", hostname="oven", pid=42, seen_at=long_ago)
    assert client.get("/health").json()["worker"]["alive"] is False


def test_health_counts_failed_unknown_and_overdue_deliveries(client, post, channel):
    delivery = post.deliveries.get()
    Delivery.objects.filter(pk=delivery.pk).update(
        scheduled_at=timezone.now() - timedelta(minutes=10)
    )
    deliveries = client.get("/health").json()["deliveries"]
    assert deliveries["due"] == 1
    assert 590 < deliveries["oldest_due_lag_seconds"] < 700
    assert deliveries["failed"] == 0

    Delivery.objects.filter(pk=delivery.pk).update(state=DeliveryState.FAILED)
    deliveries = client.get("/health").json()["deliveries"]
    assert deliveries == {"failed": 1, "unknown": 0, "due": 0, "oldest_due_lag_seconds": None}


def test_health_needs_only_a_handful_of_queries(client, db, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        assert client.get("/health").status_code == 200


def test_pending_migrations_make_health_503_and_say_what_to_run(client, db, monkeypatch):
    monkeypatch.setattr(health, "pending_migrations", lambda: ["content.0099_croissants"])
    response = client.get("/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert "1 not applied (content.0099_croissants)" in body["reason"]
    assert "socialdesk migrate" in body["reason"]


def test_an_unreachable_database_makes_health_503_with_the_reason(client, db, monkeypatch):
    def refuse() -> None:
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "ensure_connection", refuse)
    response = client.get("/health")
    monkeypatch.undo()
    assert response.status_code == 503
    assert "unreachable" in response.json()["reason"]
    assert "connection refused" in response.json()["reason"]
