"""A worker builds, at start, what the SDKs of the connected networks build on first use, so
that the first post after a start is not the slow one (issue 12, the SDK ratio)."""

from __future__ import annotations

from atproto import models

from socialdesk.networks import bluesky
from socialdesk.networks.models import Channel, ChannelStatus, Network
from socialdesk.publishing.connectors import import_connected_networks


def test_a_connected_bluesky_channel_warms_the_bluesky_sdk(workspace, monkeypatch):
    calls = []
    monkeypatch.setattr(bluesky, "warm", lambda: calls.append("bluesky"))
    Channel.objects.create(
        workspace=workspace, network=Network.BLUESKY, handle="crumb.test", status="disconnected"
    )
    import_connected_networks()
    assert calls == []  # nobody publishes there: nothing is built
    Channel.objects.update(status=ChannelStatus.CONNECTED)
    import_connected_networks()
    assert calls == ["bluesky"]


def test_warming_builds_the_answers_the_worker_parses():
    bluesky.warm()
    assert models.AppBskyNotificationListNotifications.Response.__pydantic_complete__
    assert models.ComAtprotoRepoCreateRecord.Response.__pydantic_complete__
