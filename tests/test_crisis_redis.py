"""The crisis switch on the Redis queue path (django-tasks-rq): a task whose delivery the
switch holds runs and sends nothing; after the switch is off and the post resumed, the
worker sends it exactly once. Runs in CI's third pass (``SOCIALDESK_TASKS_BACKEND=redis``,
see scripts/test.sh and tests/test_tasks_redis.py); the other passes leave it out.
"""

from __future__ import annotations

import pytest
from django.core.management import call_command
from fake_network import FakeConnector, install
from task_queue import queued

from socialdesk.content.services import PostContent, create_post
from socialdesk.publishing import crisis
from socialdesk.publishing.models import Delivery, DeliveryState
from socialdesk.publishing.services import publish_now

pytestmark = pytest.mark.redis_queue
S = DeliveryState


@pytest.fixture
def network(monkeypatch) -> FakeConnector:
    return install(monkeypatch)


@pytest.mark.django_db(transaction=True)
def test_a_queued_task_sends_nothing_during_a_pause_and_once_after_resume(
    workspace, owner, channel, network
):
    draft = create_post(
        workspace, owner, PostContent(text="Stollen", channel_ids=[channel.pk])
    ).deliveries.get()
    crisis.start(workspace, owner, "A recall of the stollen")
    publish_now(draft, owner)  # committed: its task reaches Redis, ready at once
    [task] = queued(draft.pk)
    assert task.ready

    call_command("worker", "--batch", "--worker-id", "oven-rq-crisis-1")

    assert Delivery.objects.get(pk=draft.pk).state == S.SCHEDULED
    assert network.calls == []
    assert [t.status for t in queued(draft.pk)] == ["SUCCESSFUL"]  # ran, sent nothing

    crisis.end(workspace, owner)
    call_command("worker", "--batch", "--worker-id", "oven-rq-crisis-2")
    assert network.calls == []  # off, but still waiting for a person's decision

    crisis.resume(workspace, owner, [draft.pk])
    call_command("worker", "--batch", "--worker-id", "oven-rq-crisis-3")
    call_command("worker", "--batch", "--worker-id", "oven-rq-crisis-4")

    assert Delivery.objects.get(pk=draft.pk).state == S.PUBLISHED
    assert network.calls == [draft.idempotency_key]
