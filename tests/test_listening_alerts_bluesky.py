"""Done when (issue 15): against the real local Bluesky network, an account posts a text that
matches a topic's query; it appears in the topic's mentions; a burst of such posts follows and
a spike alert fires, once, told in-app; the mention can then be answered from the inbox."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone
from test_inbox_ingest_bluesky import channel_for

from socialdesk.inbox.models import Message
from socialdesk.listening import actions, alerts, sources
from socialdesk.listening.models import Alert, Mention, Source, SourceKind, Topic, TopicQuery
from socialdesk.notifications.models import Notification


@pytest.fixture(scope="module")
def baker(bluesky_server):
    return bluesky_server.create_account("lsabaker")


@pytest.fixture(scope="module")
def fans(bluesky_server):
    return [bluesky_server.create_account(f"lsafan{n}") for n in range(3)]


def poll_until(source: Source, count: int, now, timeout: float = 90.0):
    """Poll as the worker does (each poll ``POLL_EVERY`` after the last) until the workspace
    holds ``count`` mentions; the AppView indexes within a second or so here."""
    deadline = time.monotonic() + timeout
    while Mention.objects.count() < count:
        assert time.monotonic() < deadline, (Mention.objects.count(), source.last_error)
        outcome = sources.poll_once(source.pk, now)
        assert "error" not in outcome, outcome
        now += sources.POLL_EVERY
        time.sleep(0.3)
    return now


@pytest.mark.django_db(transaction=True)
def test_a_post_becomes_a_mention_and_a_burst_of_them_fires_one_spike_alert(
    workspace, members, bluesky_server, baker, fans
):
    channel = channel_for(workspace, bluesky_server, baker)
    topic = Topic.objects.create(workspace=workspace, name="Crumb kouign-amann")
    TopicQuery.objects.create(workspace=workspace, topic=topic, text="kouign* AND crumb")
    source = Source.objects.create(workspace=workspace, kind=SourceKind.BLUESKY, channel=channel)

    # One post that matches, one that does not (no "crumb").
    first_fan = bluesky_server.client(fans[0])
    first = first_fan.send_post("The kouign-amann at Crumb is unreal", fans[0].did)
    first_fan.send_post("Kouign-amann recipe thread, no bakery named", fans[0].did)
    now = poll_until(source, 1, timezone.now())
    mention = Mention.objects.get()
    assert mention.remote_id == first.uri and list(mention.topics.all()) == [topic]
    assert mention.reference["cid"] == first.cid and mention.reference["did"] == fans[0].did
    # One mention is no spike.
    assert alerts.check_topic(topic, timezone.now() + timedelta(seconds=1)) == []

    # The burst: seven more, from three accounts, within a minute.
    for n in range(7):
        fan = fans[n % len(fans)]
        bluesky_server.client(fan).send_post(f"Crumb kouign-amann queue, day {n} 🥐", fan.did)
    poll_until(source, 8, now)
    assert topic.mentions.count() == 8

    made = alerts.check_topic(topic, timezone.now() + timedelta(seconds=1))
    assert [alert.kind for alert in made] == ["spike"]
    spike = made[0]
    assert spike.title.startswith("Crumb kouign-amann: 8 mentions in the last hour; usual 0±1")
    assert alerts.mentions_of(spike).count() == 8
    assert Notification.objects.filter(event="listening.alert", target_id=spike.pk).exists()
    # The heartbeat a quarter of an hour later: still one alert for this spike.
    assert alerts.on_heartbeat(timezone.now() + timedelta(minutes=15)) == 0
    assert Alert.objects.count() == 1

    # From the mention to the inbox: a conversation that can be answered in its thread.
    conversation = actions.to_conversation(mention)
    message = Message.objects.get(conversation=conversation)
    assert message.reference["cid"] == first.cid
    assert conversation.contact.remote_id == fans[0].did
