"""Matching found items against topics (socialdesk.listening.matching): triage once, every
active query, once per remote id; and "try a query" before saving it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from inbox_helpers import conversation

from socialdesk.listening.matching import Item, store_items, try_query
from socialdesk.listening.models import Mention, MentionMatch, Topic, TopicKind, TopicQuery

NOW = timezone.now()


@pytest.fixture
def topics(workspace) -> dict[str, Topic]:
    brand = Topic.objects.create(workspace=workspace, name="Crumb", kind=TopicKind.BRAND)
    TopicQuery.objects.create(workspace=workspace, topic=brand, text='crumb OR "crumb bakery"')
    rival = Topic.objects.create(workspace=workspace, name="Rival", kind=TopicKind.COMPETITOR)
    TopicQuery.objects.create(workspace=workspace, topic=rival, text="#rivalbakes")
    TopicQuery.objects.create(workspace=workspace, topic=rival, text="rival NEAR/2 croiss*")
    paused = Topic.objects.create(
        workspace=workspace, name="Paused", kind=TopicKind.THEME, active=False
    )
    TopicQuery.objects.create(workspace=workspace, topic=paused, text="crumb")
    french = Topic.objects.create(workspace=workspace, name="Pain", kind=TopicKind.THEME)
    TopicQuery.objects.create(workspace=workspace, topic=french, text="pain AND lang:fr")
    return {"brand": brand, "rival": rival, "paused": paused, "french": french}


def item(remote_id: str, text: str, minutes_ago: int = 0, **extra) -> Item:
    return Item(
        source_kind="feed",
        remote_id=remote_id,
        text=text,
        posted_at=NOW - timedelta(minutes=minutes_ago),
        source_ref="https://feeds.example/blog.xml",
        **extra,
    )


def test_items_are_triaged_matched_and_stored_once(workspace, topics):
    items = [
        item("1", "I love the new Crumb bakery croissants, wonderful!", author_handle="ann"),
        item("2", "The rival croissants are stale and terrible", 1),
        item("3", "Nothing to do with us", 2),
        item("4", "Le pain de ce matin était délicieux, merci la boulangerie", 3),
        item("5", "Look #RivalBakes and crumb both", 4),
    ]
    result = store_items(workspace, items, now=NOW)
    assert (result.seen, result.new, result.stored, result.matches) == (5, 5, 4, 5)
    love = Mention.objects.get(remote_id="1")
    assert (love.language, love.sentiment, love.author_handle) == ("en", "positive", "ann")
    assert list(love.topics.all()) == [topics["brand"]]  # not the paused topic
    stale = Mention.objects.get(remote_id="2")
    assert stale.sentiment == "negative"
    assert list(stale.topics.all()) == [topics["rival"]]
    pain = Mention.objects.get(remote_id="4")
    assert pain.language == "fr" and list(pain.topics.all()) == [topics["french"]]
    both = Mention.objects.get(remote_id="5")
    assert set(both.topics.all()) == {topics["brand"], topics["rival"]}
    assert not Mention.objects.filter(remote_id="3").exists()
    match = MentionMatch.objects.get(mention=stale)
    assert (match.posted_at, match.sentiment, match.source_kind) == (
        stale.posted_at,
        "negative",
        "feed",
    )

    again = store_items(workspace, items + [item("1", "same id again, crumb")], now=NOW)
    assert (again.seen, again.new, again.stored) == (6, 1, 0)  # only "3" was new: unmatched
    assert Mention.objects.count() == 4 and MentionMatch.objects.count() == 5


def test_the_same_remote_id_in_one_batch_is_stored_once(workspace, topics):
    result = store_items(workspace, [item("9", "crumb"), item("9", "crumb again")], now=NOW)
    assert (result.new, result.stored) == (1, 1)
    assert Mention.objects.get(remote_id="9").text == "crumb"


def test_mentions_belong_to_their_workspace(workspace, other_workspace, topics):
    store_items(other_workspace, [item("1", "crumb")], now=NOW)
    assert not Mention.objects.exists()  # the other workspace follows no topic
    store_items(workspace, [item("1", "crumb")], now=NOW)
    assert Mention.objects.get().workspace == workspace


def test_a_topics_mentions_come_newest_first(workspace, topics):
    store_items(workspace, [item(str(n), f"crumb {n}", minutes_ago=n) for n in range(5)])
    newest = MentionMatch.objects.filter(topic=topics["brand"]).values_list(
        "mention__remote_id", flat=True
    )
    assert list(newest) == ["0", "1", "2", "3", "4"]


def test_trying_a_query_reads_stored_mentions_and_inbox_messages(workspace, channel, topics):
    store_items(
        workspace,
        [item("1", "Crumb croissants!", 5), item("2", "crumb bread", 1), item("3", "crumb", 9)],
    )
    conversation(workspace, channel, "bob.example", "Do you sell croissants?", at=NOW)
    conversation(workspace, channel, "eve.example", "Opening hours?", at=NOW)
    tried = try_query(workspace, "croiss*")
    assert tried.checked == 5 and tried.matched == 2
    assert [hit["kind"] for hit in tried.examples] == ["message", "mention"]
    assert tried.summary == (
        "would have matched 2 of the last 5: “Do you sell croissants?”, “Crumb croissants!”"
    )
    assert try_query(workspace, "baguette").summary == "would have matched none of the last 5"
    assert try_query(workspace, "from:bob.example").matched == 1
    assert Mention.objects.count() == 3  # nothing stored


def test_trying_a_bad_query_says_what_to_fix(workspace):
    with pytest.raises(ValidationError, match="At character 7"):
        try_query(workspace, "crumb )")


def test_the_topic_page_reads_its_index_without_sorting(workspace, topics):
    """A topic's mentions newest first come straight from ``topic_mentions_idx`` (no sort
    step), so the page stays fast however many mentions there are."""
    from django.db import connection

    store_items(workspace, [item(str(n), f"crumb {n}", minutes_ago=n) for n in range(30)])
    page = (
        MentionMatch.objects.filter(topic=topics["brand"])
        .order_by("-posted_at", "-mention_id")
        .values_list("mention_id", flat=True)[:50]
    )
    sql, params = page.query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A few rows: a sequential or bitmap scan is cheaper; ask what the index gives.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_bitmapscan = off")
            cursor.execute(f"EXPLAIN {sql}", params)
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        plan = " ".join(str(row) for row in cursor.fetchall())
    assert "topic_mentions_idx" in plan, plan
    assert "Sort" not in plan and "TEMP B-TREE" not in plan, plan
