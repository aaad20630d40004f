"""Polling: each readable, connected channel is read at most once per 30 s and at least once
a minute while a worker runs, never by two polls at once (``inbox.tasks``)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from socialdesk.inbox import tasks
from socialdesk.inbox.models import InboxCursor
from socialdesk.networks.models import Channel, ChannelStatus, Network
from socialdesk.publishing import connectors
from socialdesk.worker import Heartbeat


@pytest.fixture
def bluesky(workspace) -> Channel:
    channel = Channel.objects.create(
        workspace=workspace, network=Network.BLUESKY, handle="crumb.test"
    )
    channel.set_credentials({"handle": "crumb.test", "app_password": "x"})
    channel.save()
    return channel


@pytest.fixture
def queue(monkeypatch) -> list[int]:
    """The poll tasks handed to the queue (their channel ids)."""
    handed: list[int] = []

    class Recorder:
        def enqueue(self, channel_id: int) -> None:
            handed.append(channel_id)

    monkeypatch.setattr(tasks, "poll_channel", Recorder())
    return handed


@pytest.fixture
def reads(monkeypatch) -> list[int]:
    """Every real read of a channel (``ingest_channel``), by channel id."""
    seen: list[int] = []

    def fake_ingest(channel, now=None):
        from socialdesk.inbox.ingest import IngestResult

        seen.append(channel.pk)
        InboxCursor.objects.filter(channel=channel).update(polled_at=now)
        return IngestResult(channel.pk)

    monkeypatch.setattr("socialdesk.inbox.ingest.ingest_channel", fake_ingest)
    return seen


def test_a_beat_queues_one_poll_per_readable_connected_channel(
    workspace, bluesky, channel, queue, django_capture_on_commit_callbacks
):
    paused = Channel.objects.create(
        workspace=workspace, network=Network.MASTODON, handle="@crumb@bakery.example"
    )
    Channel.objects.filter(pk=paused.pk).update(status=ChannelStatus.NEEDS_RECONNECT)

    with django_capture_on_commit_callbacks(execute=True):
        first = tasks.on_heartbeat()
    with django_capture_on_commit_callbacks(execute=True):
        second = tasks.on_heartbeat()  # queued already: not again

    assert first == [bluesky.pk]  # not the page channel, not the one needing reconnection
    assert second == []
    assert queue == [bluesky.pk]


def test_a_channel_is_read_at_most_every_30_seconds_and_again_after(bluesky, queue, reads):
    now = timezone.now()
    tasks.on_heartbeat(now)
    assert tasks.poll_once(bluesky.pk, now)["polled"]

    soon = now + timedelta(seconds=20)
    assert tasks.on_heartbeat(soon) == []
    assert not tasks.poll_once(bluesky.pk, soon)["polled"]  # a stray task reads nothing

    later = now + timedelta(seconds=31)
    assert tasks.on_heartbeat(later) == [bluesky.pk]
    assert tasks.poll_once(bluesky.pk, later)["polled"]
    assert reads == [bluesky.pk, bluesky.pk]


def test_two_polls_of_one_channel_never_run_at_once(bluesky, reads):
    now = timezone.now()
    InboxCursor.objects.create(channel=bluesky)
    assert tasks.claim(bluesky.pk, now)  # a poll is running

    assert not tasks.poll_once(bluesky.pk, now)["polled"]
    assert reads == []
    # A poll that died holding the lease does not block the channel for ever.
    assert tasks.poll_once(bluesky.pk, now + tasks.LEASE + timedelta(seconds=1))["polled"]


def test_a_lost_task_is_queued_again_after_90_seconds(bluesky, queue):
    now = timezone.now()
    assert tasks.on_heartbeat(now) == [bluesky.pk]
    assert tasks.on_heartbeat(now + timedelta(seconds=60)) == []
    assert tasks.on_heartbeat(now + timedelta(seconds=91)) == [bluesky.pk]


def test_the_worker_heartbeat_queues_the_inbox_polls(bluesky, monkeypatch):
    called = []
    monkeypatch.setattr("socialdesk.worker.poll_inboxes", lambda: called.append(True))
    monkeypatch.setitem(connectors.REGISTRY, Network.BLUESKY, lambda channel: None)

    Heartbeat("test-worker").sweep()

    assert called == [True]


def test_a_poll_of_a_channel_deleted_meanwhile_does_nothing(bluesky, reads):
    channel_id = bluesky.pk
    bluesky.delete()

    assert tasks.poll_once(channel_id) == {"channel": channel_id, "polled": False}
    assert reads == []
