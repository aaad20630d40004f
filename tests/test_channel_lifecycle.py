"""A channel's status graph (``networks.states``): declared moves, compare-and-set, the
recorded history, and what pausing and resuming a channel does to its deliveries.

The engine is driven one step at a time (``run``, ``sweep``) against a fake network that
records every publish call, so a test can tell whether anything went out while it should
have waited.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from api_helpers import call
from django.urls import reverse
from django.utils import timezone
from task_queue import flush

from socialdesk.content.services import PostContent, create_post
from socialdesk.networks import services
from socialdesk.networks.base import ConnectorError, Published
from socialdesk.networks.models import Channel, ChannelStatus, ChannelTransition, Network
from socialdesk.networks.states import (
    GRAPH,
    ChannelMoveConflict,
    IllegalChannelMove,
    mark_needs_reconnect,
    move_channel,
)
from socialdesk.notifications.models import Notification
from socialdesk.publishing import connectors
from socialdesk.publishing.dispatch import run, sweep
from socialdesk.publishing.models import Delivery, DeliveryState

C = ChannelStatus
S = DeliveryState


class RecordingNetwork:
    """Publishes whatever it is given, or raises the next scripted error."""

    def __init__(self):
        self.calls: list[str] = []
        self.script: list[BaseException] = []

    def validate(self, content):
        return []

    def publish(self, content, idempotency_key):
        self.calls.append(idempotency_key)
        if self.script:
            raise self.script.pop(0)
        return Published(f"post-{len(self.calls)}", f"https://network.test/{len(self.calls)}")

    def find_published(self, idempotency_key, content=None):
        return None


@pytest.fixture
def network(monkeypatch) -> RecordingNetwork:
    fake = RecordingNetwork()
    monkeypatch.setitem(connectors.REGISTRY, Network.PAGE, lambda channel: fake)
    return fake


@pytest.fixture
def due(post) -> Delivery:
    """The bakery's post on its page, due a minute ago, with no task queued for it."""
    delivery = post.deliveries.get()
    flush()
    Delivery.objects.filter(pk=delivery.pk).update(
        scheduled_at=timezone.now() - timedelta(minutes=1), enqueued_for=None
    )
    delivery.refresh_from_db()
    return delivery


def history(channel: Channel) -> list[tuple[str, str]]:
    return list(
        ChannelTransition.objects.filter(channel=channel).values_list("from_status", "to_status")
    )


# --- The graph ---------------------------------------------------------------------------


def test_every_status_a_channel_can_have_is_declared_in_the_graph():
    assert set(GRAPH) == set(ChannelStatus)
    assert all(moves <= set(ChannelStatus) for moves in GRAPH.values())


def test_an_undeclared_move_raises_and_changes_nothing(channel):
    services.disconnect(channel)

    with pytest.raises(IllegalChannelMove, match="disconnected to paused"):
        move_channel(channel, C.PAUSED, "pause a disconnected channel")

    assert Channel.objects.get(pk=channel.pk).status == C.DISCONNECTED
    assert history(channel) == [(C.CONNECTED, C.DISCONNECTED)]


def test_a_move_from_a_status_read_before_someone_else_moved_it_is_refused(channel, owner):
    stale = Channel.objects.get(pk=channel.pk)
    services.pause(channel, by=owner)

    with pytest.raises(ChannelMoveConflict):
        move_channel(stale, C.DISCONNECTED, "disconnect what I saw as connected", owner)

    assert Channel.objects.get(pk=channel.pk).status == C.PAUSED
    assert history(channel) == [(C.CONNECTED, C.PAUSED)]


def test_every_move_is_recorded_with_when_why_and_who(channel, manager):
    before = timezone.now()

    services.pause(channel, by=manager, reason="the shop is closed for the holidays")

    move = ChannelTransition.objects.get(channel=channel)
    assert (move.from_status, move.to_status) == (C.CONNECTED, C.PAUSED)
    assert move.reason == "paused: the shop is closed for the holidays"
    assert (move.actor, move.actor_label) == (manager, f"user {manager.pk} ({manager.email})")
    assert move.workspace_id == channel.workspace_id
    assert move.at >= before


# --- Pause and resume --------------------------------------------------------------------


def test_a_paused_channels_due_delivery_waits_and_goes_out_when_it_is_resumed(
    due, channel, owner, network
):
    services.pause(channel, by=owner)

    assert run(due.pk, "w1") == S.SCHEDULED  # paused, its time kept
    assert due.pk not in sweep().enqueued
    assert network.calls == []
    due.refresh_from_db()
    assert "is paused" in due.last_error

    services.resume(channel, by=owner)

    assert due.pk in sweep().enqueued
    assert run(due.pk, "w1") == S.PUBLISHED
    assert network.calls == [due.idempotency_key]
    assert history(channel) == [(C.CONNECTED, C.PAUSED), (C.PAUSED, C.CONNECTED)]


def test_a_delivery_later_than_the_late_window_when_the_channel_is_resumed_is_missed(
    due, channel, owner, network
):
    services.pause(channel, by=owner)
    services.resume(channel, by=owner)

    report = sweep(now=timezone.now() + channel.workspace.late_window + timedelta(hours=1))

    assert report.missed == [due.pk]
    assert Delivery.objects.get(pk=due.pk).state == S.MISSED
    assert network.calls == []


def test_pausing_a_paused_channel_or_resuming_a_connected_one_changes_nothing(channel, owner):
    services.resume(channel, by=owner)
    services.pause(channel, by=owner)
    services.pause(channel, by=owner)

    assert history(channel) == [(C.CONNECTED, C.PAUSED)]


def test_a_channel_that_needs_reconnecting_can_be_neither_paused_nor_resumed(channel, owner):
    mark_needs_reconnect(channel, "401", "system: worker w1")

    with pytest.raises(Exception, match="nothing to pause"):
        services.pause(channel, by=owner)
    with pytest.raises(Exception, match="reconnect it instead"):
        services.resume(channel, by=owner)
    assert Channel.objects.get(pk=channel.pk).status == C.NEEDS_RECONNECT


def test_new_credentials_for_a_paused_channel_keep_it_paused(channel, owner):
    services.pause(channel, by=owner)
    channel.display_name = "Crumb & Co, renewed"

    services.save_renewed(channel, ["display_name"], "reconnected", owner)

    stored = Channel.objects.get(pk=channel.pk)
    assert (stored.status, stored.display_name) == (C.PAUSED, "Crumb & Co, renewed")
    assert history(channel) == [(C.CONNECTED, C.PAUSED)]


def test_new_credentials_for_a_channel_that_needed_reconnecting_connect_it(channel, owner):
    mark_needs_reconnect(channel, "401", "system: worker w1")
    channel.display_name = "Crumb again"

    services.save_renewed(channel, ["display_name"], "reconnected with a new app password", owner)

    stored = Channel.objects.get(pk=channel.pk)
    assert (stored.status, stored.display_name) == (C.CONNECTED, "Crumb again")
    assert history(channel)[-1] == (C.NEEDS_RECONNECT, C.CONNECTED)


# --- The engine's move -------------------------------------------------------------------


def test_a_revoked_token_marks_the_channel_once_and_tells_the_leads_once(
    workspace, owner, manager, channel, due, network, django_capture_on_commit_callbacks
):
    later = timezone.now() + timedelta(days=1)
    content = PostContent(text="Rye on Fridays", channel_ids=[channel.pk], scheduled_at=later)
    second = create_post(workspace, owner, content).deliveries.get()
    Delivery.objects.filter(pk=second.pk).update(scheduled_at=due.scheduled_at)
    network.script = [ConnectorError("Token has been revoked", auth_revoked=True)]

    with django_capture_on_commit_callbacks(execute=True):
        assert run(due.pk, "w1") == S.SCHEDULED
        assert run(second.pk, "w2") == S.SCHEDULED  # paused without asking the network

    assert len(network.calls) == 1
    moves = ChannelTransition.objects.filter(channel=channel)
    assert [(m.from_status, m.to_status, m.actor_label) for m in moves] == [
        (C.CONNECTED, C.NEEDS_RECONNECT, "system: worker w1")
    ]
    assert "Token has been revoked" in moves[0].reason
    told = Notification.objects.filter(event="channel.needs_reconnecting")
    assert sorted(n.recipient.pk for n in told) == sorted([owner.pk, manager.pk])


def test_only_the_first_of_two_workers_hearing_a_revoked_token_moves_the_channel(channel):
    other_worker_copy = Channel.objects.get(pk=channel.pk)

    assert mark_needs_reconnect(channel, "401", "system: worker w1") is True
    assert mark_needs_reconnect(other_worker_copy, "401", "system: worker w2") is False
    assert history(channel) == [(C.CONNECTED, C.NEEDS_RECONNECT)]


def test_a_revoked_token_heard_while_the_channel_is_paused_leaves_it_paused(channel, owner):
    services.pause(channel, by=owner)

    assert mark_needs_reconnect(channel, "401", "system: worker w1") is False
    assert Channel.objects.get(pk=channel.pk).status == C.PAUSED
    assert Notification.objects.filter(event="channel.needs_reconnecting").count() == 0


# --- The Channels page and the API -------------------------------------------------------


def test_a_manager_pauses_and_resumes_a_channel_from_the_channels_page(
    workspace, channel, manager, signed_in
):
    client = signed_in(manager)
    page = client.get(reverse("channel_list", args=[workspace.slug]))
    assert reverse("channel_pause", args=[workspace.slug, channel.pk]) in page.text

    paused = client.post(reverse("channel_pause", args=[workspace.slug, channel.pk]), follow=True)

    assert Channel.objects.get(pk=channel.pk).status == C.PAUSED
    assert "is paused" in paused.text
    assert reverse("channel_resume", args=[workspace.slug, channel.pk]) in paused.text
    assert "History" in paused.text and manager.display_name in paused.text

    client.post(reverse("channel_resume", args=[workspace.slug, channel.pk]))
    assert Channel.objects.get(pk=channel.pk).status == C.CONNECTED


@pytest.mark.parametrize("role", ["creator", "approver", "client", "analyst"])
def test_only_owners_and_managers_may_pause_a_channel(workspace, channel, person, role, signed_in):
    client = signed_in(person(role))

    response = client.post(reverse("channel_pause", args=[workspace.slug, channel.pk]))

    assert response.status_code == 403
    assert Channel.objects.get(pk=channel.pk).status == C.CONNECTED


def test_an_outsider_cannot_resume_the_bakerys_channel(
    workspace, channel, owner, outsider, signed_in
):
    services.pause(channel, by=owner)

    response = signed_in(outsider).post(
        reverse("channel_resume", args=[workspace.slug, channel.pk])
    )

    assert response.status_code == 404
    assert Channel.objects.get(pk=channel.pk).status == C.PAUSED


def test_a_script_pauses_and_resumes_a_channel_through_the_api(
    workspace, channel, owner, token_for
):
    token = token_for(owner)
    path = f"/workspaces/{workspace.slug}/channels/{channel.pk}"

    paused = call("POST", f"{path}/pause", token)
    assert (paused.status_code, paused.json()["status"]) == (200, "paused")
    resumed = call("POST", f"{path}/resume", token)
    assert (resumed.status_code, resumed.json()["status"]) == (200, "connected")

    assert [m.actor for m in ChannelTransition.objects.filter(channel=channel)] == [owner, owner]


def test_the_api_refuses_to_pause_a_disconnected_channel(workspace, channel, owner, token_for):
    services.disconnect(channel, by=owner)

    response = call(
        "POST", f"/workspaces/{workspace.slug}/channels/{channel.pk}/pause", token_for(owner)
    )

    assert response.status_code == 422
    assert "nothing to pause" in response.json()["errors"][0]["message"]
