"""The claim, backoff and rescue that deliveries and webhook calls share (``publishing.claims``).

Driven on webhook call rows, the simplest work that uses them; the engine's use is covered by
test_dispatch.py and test_chaos.py.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from socialdesk.notifications.models import Webhook, WebhookCall, WebhookCallState
from socialdesk.notifications.tasks import MAX_ATTEMPTS, retry_delay
from socialdesk.publishing.claims import backoff, claim, rescue_expired

LEASE = timedelta(minutes=10)


@pytest.fixture
def pending(workspace) -> WebhookCall:
    hook = Webhook.objects.create(workspace=workspace, name="Ops", url="http://127.0.0.1:9/")
    return WebhookCall.objects.create(webhook=hook, event="post.ready", body="{}")


def as_read(call: WebhookCall):
    return WebhookCall.objects.filter(state=WebhookCallState.PENDING, attempts=call.attempts)


def test_of_two_runs_that_read_the_same_row_only_one_claims_it(pending):
    now = timezone.now()
    rows = as_read(pending)

    first = claim(rows, pending.pk, LEASE, now, lease_field="next_attempt_at", attempts=1)
    second = claim(rows, pending.pk, LEASE, now, lease_field="next_attempt_at", attempts=1)

    assert (first, second) == (True, False)
    pending.refresh_from_db()
    assert (pending.attempts, pending.next_attempt_at) == (1, now + LEASE)


def test_a_claim_touches_only_the_row_it_names(pending):
    other = WebhookCall.objects.create(webhook=pending.webhook, event="post.ready", body="{}")

    claim(as_read(pending), pending.pk, LEASE, timezone.now(), lease_field="next_attempt_at")

    other.refresh_from_db()
    assert other.next_attempt_at is None


def test_backoff_grows_by_its_factor_up_to_its_cap_and_keeps_at_least_half():
    base, cap = timedelta(seconds=30), timedelta(minutes=30)
    for attempt, ceiling in [(1, base), (3, base * 4), (20, cap)]:
        delays = [backoff(attempt, base, cap) for _ in range(50)]
        assert all(ceiling / 2 <= delay <= ceiling for delay in delays)
    assert all(backoff(2, base, cap, factor=5) >= base * 5 / 2 for _ in range(50))


def test_a_webhooks_five_attempts_span_one_and_a_half_to_three_hours():
    spans = [sum((retry_delay(n) for n in range(1, MAX_ATTEMPTS)), timedelta()) for _ in range(50)]
    assert all(timedelta(minutes=90) <= span <= timedelta(hours=3, minutes=5) for span in spans)


def test_only_rows_whose_lease_ended_are_rescued_and_only_those_the_rescuer_won(pending):
    now = timezone.now()
    late = WebhookCall.objects.create(webhook=pending.webhook, event="post.ready", body="{}")
    lost = WebhookCall.objects.create(webhook=pending.webhook, event="post.ready", body="{}")
    WebhookCall.objects.filter(pk=pending.pk).update(next_attempt_at=now + LEASE)  # held
    WebhookCall.objects.filter(pk__in=[late.pk, lost.pk]).update(next_attempt_at=now - LEASE)
    seen = []

    def rescue(row: WebhookCall) -> bool:
        seen.append(row.pk)
        return row.pk == lost.pk  # someone else settled ``late`` first

    rows = WebhookCall.objects.filter(state=WebhookCallState.PENDING)
    rescued = rescue_expired(rows, now, rescue, lease_field="next_attempt_at")

    assert sorted(seen) == sorted([late.pk, lost.pk])
    assert rescued == [lost.pk]
