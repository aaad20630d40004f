"""The Redis queue (django-tasks-rq) carries the publishing engine's tasks end to end.

These run in CI's third pass (``scripts/test.sh``: ``SOCIALDESK_TASKS_BACKEND=redis``, the
local Redis on 127.0.0.1:6379, a database of the suite's own that every test empties first);
the first two passes use the database queue and leave them out (see conftest.py).
``socialdesk worker --batch`` runs rq's real worker and scheduler in this process (no fork
per task), so a stub network registered here is the one the task calls.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from fake_network import FakeConnector, install
from task_queue import expected_run_after, queued

from socialdesk.content.services import PostContent, create_post
from socialdesk.publishing.models import Delivery, DeliveryState, WorkerHeartbeat
from socialdesk.publishing.services import publish_now
from socialdesk.publishing.tasks import publish_delivery

pytestmark = pytest.mark.redis_queue  # SOCIALDESK_TASKS_BACKEND=redis: scripts/test.sh, third pass
S = DeliveryState


@pytest.fixture
def network(monkeypatch) -> FakeConnector:
    return install(monkeypatch)


@pytest.fixture
def draft(workspace, owner, channel) -> Delivery:
    post = create_post(workspace, owner, PostContent(text="Stollen", channel_ids=[channel.pk]))
    return post.deliveries.get()


def test_the_settings_choose_django_tasks_rq(settings):
    assert settings.TASKS["default"]["BACKEND"] == "django_tasks_rq.RQBackend"
    assert "django_rq" in settings.INSTALLED_APPS


def test_a_post_scheduled_for_later_waits_in_rqs_scheduler_not_in_the_queue(
    draft, owner, django_capture_on_commit_callbacks
):
    from socialdesk.publishing.services import schedule

    when = timezone.now() + timedelta(days=1)
    with django_capture_on_commit_callbacks(execute=True):
        schedule(draft, when.astimezone(draft.channel.zone).replace(tzinfo=None), actor=owner)

    [task] = queued(draft.pk)
    assert not task.ready
    assert task.run_after == expected_run_after(Delivery.objects.get(pk=draft.pk).scheduled_at)


@pytest.mark.django_db(transaction=True)
def test_the_worker_runs_a_queued_task_and_publishes_the_delivery_once(draft, owner, network):
    publish_now(draft, owner)  # committed: the task reaches Redis on commit
    [task] = queued(draft.pk)
    assert task.ready

    call_command("worker", "--batch", "--worker-id", "oven-rq-1")

    draft.refresh_from_db()
    assert draft.state == S.PUBLISHED
    assert network.calls == [draft.idempotency_key]
    assert [t.status for t in queued(draft.pk)] == ["SUCCESSFUL"]
    assert not WorkerHeartbeat.objects.exists()  # removed when the worker stopped


@pytest.mark.django_db(transaction=True)
def test_rqs_scheduler_hands_a_task_whose_time_has_come_to_the_worker(draft, owner, network):
    due = timezone.now() - timedelta(seconds=2)
    Delivery.objects.filter(pk=draft.pk).update(state=S.SCHEDULED, scheduled_at=due)
    publish_delivery.using(run_after=due).enqueue(draft.pk)
    [task] = queued(draft.pk)
    assert not task.ready  # in rq's scheduled registry until its scheduler moves it

    call_command("worker", "--batch", "--worker-id", "oven-rq-2")

    draft.refresh_from_db()
    assert draft.state == S.PUBLISHED
    assert len(network.calls) == 1


@pytest.mark.django_db(transaction=True)
def test_running_the_same_task_twice_through_redis_publishes_once(draft, owner, network):
    publish_now(draft, owner)
    publish_delivery.enqueue(draft.pk)  # a duplicate, as a sweep racing the queue makes

    call_command("worker", "--batch", "--worker-id", "oven-rq-3")

    draft.refresh_from_db()
    assert draft.state == S.PUBLISHED
    assert len(network.calls) == 1
    assert sorted(t.status for t in queued(draft.pk)) == ["SUCCESSFUL", "SUCCESSFUL"]


def test_worker_threads_are_refused_with_redis():
    from django.core.exceptions import ImproperlyConfigured

    from socialdesk.worker import run_worker

    with pytest.raises(ImproperlyConfigured, match="more `socialdesk worker` processes"):
        run_worker(threads=4, batch=True)
