"""Listening reads Bluesky search through the workspace's channel, against the real local
network (PDS and AppView from ``@atproto/dev-env``; see tests/peers.py). The development
AppView searches plain substrings; our query decides what is a mention."""

from __future__ import annotations

import time

import pytest
from django.utils import timezone
from test_inbox_ingest_bluesky import channel_for

from socialdesk.listening import sources
from socialdesk.listening.models import Mention, Source, SourceKind, Topic, TopicQuery


@pytest.fixture(scope="module")
def alice(bluesky_server):
    return bluesky_server.create_account("lsalice")


@pytest.fixture(scope="module")
def bob(bluesky_server):
    return bluesky_server.create_account("lsbob")


@pytest.mark.django_db(transaction=True)
def test_posts_found_by_search_become_mentions_of_the_topics_they_match(
    workspace, bluesky_server, alice, bob
):
    channel = channel_for(workspace, bluesky_server, alice)
    topic = Topic.objects.create(workspace=workspace, name="Crumb croissants")
    TopicQuery.objects.create(workspace=workspace, topic=topic, text="croissant* AND crumb")
    source = Source.objects.create(workspace=workspace, kind=SourceKind.BLUESKY, channel=channel)
    assert sources.search_terms(workspace.pk) == ["croissant"]

    bob_client = bluesky_server.client(bob)
    wanted = bob_client.send_post("The croissants at Crumb are the best 🥐", bob.did)
    bob_client.send_post("Croissants everywhere, but not that bakery", bob.did)  # no "crumb"
    bob_client.send_post("Crumb is closed on Monday", bob.did)  # no croissant

    deadline = time.monotonic() + 60
    now = timezone.now()
    while not Mention.objects.exists():
        assert time.monotonic() < deadline, Source.objects.get().last_error
        outcome = sources.poll_once(source.pk, now)
        assert "error" not in outcome, outcome
        now += sources.POLL_EVERY  # the next poll is due
        time.sleep(0.3)

    mention = Mention.objects.get()
    assert mention.remote_id == wanted.uri
    assert mention.source_kind == "bluesky" and mention.author_handle == bob.handle
    assert mention.text == "The croissants at Crumb are the best 🥐"
    assert mention.url.endswith(wanted.uri.rsplit("/", 1)[1])  # the PDS link, locally
    assert list(mention.topics.all()) == [topic]
    source.refresh_from_db()
    assert source.cursor["terms"]["croissant"]

    # Incremental and once per post: reading again stores nothing twice.
    again = sources.poll_once(source.pk, now + sources.POLL_EVERY)
    assert again["polled"] and again["stored"] == 0
    assert Mention.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_search_without_a_connected_channel_is_an_error_on_the_source(
    workspace, bluesky_server, alice
):
    channel = channel_for(workspace, bluesky_server, alice)
    channel.status = "disconnected"
    channel.save(update_fields=["status"])
    topic = Topic.objects.create(workspace=workspace, name="Crumb")
    TopicQuery.objects.create(workspace=workspace, topic=topic, text="crumb")
    source = Source.objects.create(workspace=workspace, kind=SourceKind.BLUESKY, channel=channel)
    outcome = sources.poll_once(source.pk)
    assert outcome["error"] == "The channel for this search is not connected."
