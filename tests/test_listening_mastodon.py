"""Listening on Mastodon: hashtag timelines and status search through a workspace's Mastodon
channel, against exchanges written from the official API reference
(tests/recordings/mastodon/listening_search.json, docs.joinmastodon.org methods/timelines
and methods/search, read on 2026-12-07), served over real HTTP to the real Mastodon.py."""

from __future__ import annotations

import pytest
from test_mastodon_connector import TOKEN, RecordedInstance

from socialdesk.listening.models import Mention, Source, SourceKind, Topic, TopicQuery
from socialdesk.listening.sources import poll_once
from socialdesk.networks.mastodon import forget_instance_limits
from socialdesk.networks.models import Channel, Network


@pytest.fixture(scope="module")
def server():
    recorded = RecordedInstance()
    yield recorded
    recorded.stop()


@pytest.fixture
def instance(server) -> RecordedInstance:
    server.reset()
    forget_instance_limits()
    server.play("listening_search")
    yield server
    forget_instance_limits()


@pytest.fixture
def source(workspace, instance) -> Source:
    channel = Channel.objects.create(
        workspace=workspace,
        network=Network.MASTODON,
        handle="@crumb@bakery.example",
        remote_account_id="109382",
    )
    channel.set_credentials(
        {"instance_url": instance.url, "access_token": TOKEN, "account_id": "109382"}
    )
    channel.save(update_fields=["credentials_encrypted"])
    return Source.objects.create(workspace=workspace, kind=SourceKind.MASTODON, channel=channel)


@pytest.fixture
def crumb(workspace) -> Topic:
    topic = Topic.objects.create(workspace=workspace, name="Crumb")
    TopicQuery.objects.create(workspace=workspace, topic=topic, text="#crumbbakery")
    TopicQuery.objects.create(workspace=workspace, topic=topic, text='"sourdough" AND stale')
    return topic


def test_hashtags_are_read_from_their_timeline_and_words_through_search(instance, source, crumb):
    outcome = poll_once(source.pk)
    assert outcome.get("error") is None, outcome
    assert outcome["stored"] == 3  # the boost is skipped: the status it boosts is there
    by_author = {m.author_handle: m for m in Mention.objects.all()}
    mia = by_author["mia@crumbs.example"]
    assert mia.source_kind == "mastodon" and mia.reach == 1200 and mia.engagement == 16
    assert mia.text == "Best croissant in town this morning #crumbbakery"
    assert mia.url.endswith("/@mia/113400000000000051") and mia.language == "en"
    assert "disappointed" in by_author["lea@crumbs.example"].text
    assert by_author["lea@crumbs.example"].sentiment == "negative"
    assert set(crumb.mentions.values_list("pk", flat=True)) == {m.pk for m in Mention.objects.all()}
    timeline = instance.requests_to("GET", "/api/v1/timelines/tag/crumbbakery")
    assert timeline[0].query["limit"] == ["40"] and "min_id" not in timeline[0].query
    search = instance.requests_to("GET", "/api/v2/search")
    assert search[0].query["type"] == ["statuses"]
    assert search[0].query.get("resolve", ["0"]) in (["0"], ["false"])  # no WebFinger
    assert "Authorization" not in search[0].headers  # public search: no read:search needed
    source.refresh_from_db()
    assert source.cursor["anchors"]["#crumbbakery"] == "113400000000000052"


def test_the_next_poll_reads_the_timeline_from_the_newest_status_and_stores_nothing_twice(
    instance, source, crumb
):
    poll_once(source.pk)
    Source.objects.filter(pk=source.pk).update(polled_at=None)
    again = poll_once(source.pk)
    assert again["stored"] == 0 and Mention.objects.count() == 3
    timeline = instance.requests_to("GET", "/api/v1/timelines/tag/crumbbakery")
    assert timeline[1].query["min_id"] == ["113400000000000052"]


def test_a_revoked_token_is_written_on_the_source_never_raised(instance, source, crumb):
    instance.play("token_revoked_401")
    instance.answer(
        "GET",
        "/api/v1/timelines/tag/crumbbakery",
        {"status": 401, "body": {"error": "The access token is invalid"}},
    )
    outcome = poll_once(source.pk)
    assert outcome["error"]
    source.refresh_from_db()
    assert source.last_error and not Mention.objects.exists()


def test_a_bluesky_channel_cannot_be_a_mastodon_source(workspace, instance):
    from django.core.exceptions import ValidationError

    from socialdesk.listening.services import add_source

    channel = Channel.objects.create(workspace=workspace, network=Network.BLUESKY, handle="x")
    with pytest.raises(ValidationError):
        add_source(workspace, kind="mastodon", channel_id=channel.pk)
