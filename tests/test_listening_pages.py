"""The Listening pages: topics with their queries (tried before saving), sources, and the
topic page with its figures and CSV exports — as the owner, an analyst who only reads, and
an outsider who sees nothing."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from inbox_helpers import conversation

from socialdesk.listening import rollups
from socialdesk.listening.matching import Item, store_items
from socialdesk.listening.models import Source, Topic, TopicDay, TopicQuery
from socialdesk.listening.sources import poll_once

NOW = timezone.now()


def topic_with(workspace, name, query, kind="brand") -> Topic:
    topic = Topic.objects.create(workspace=workspace, name=name, kind=kind)
    TopicQuery.objects.create(workspace=workspace, topic=topic, text=query)
    return topic


def item(n: int, text: str, *, days_ago: int = 0, engagement=None, author="jo.test") -> Item:
    return Item(
        source_kind="bluesky",
        remote_id=f"at://x/{n}",
        text=text,
        posted_at=NOW - timedelta(days=days_ago, minutes=n),
        author_handle=author,
        engagement=engagement,
    )


@pytest.fixture
def crumb(workspace) -> Topic:
    return topic_with(workspace, "Crumb", "crumb OR #crumbbakery")


@pytest.fixture
def rival(workspace) -> Topic:
    return topic_with(workspace, "Levain", "levain", kind="competitor")


@pytest.fixture
def mentions(workspace, crumb, rival):
    store_items(
        workspace,
        [
            item(1, "I love the croissants at Crumb, wonderful #crumbbakery", engagement=10),
            item(2, "Crumb croissant was stale and awful today", days_ago=1, engagement=2),
            item(3, "Levain beats Crumb on baguettes", days_ago=2, author="al.test"),
            item(4, "Levain sourdough is great", days_ago=3, engagement=30),
            item(5, "Le croissant de Crumb est bon", days_ago=40),
        ],
    )


def test_the_sidebar_leads_to_listening_for_those_who_may_read_it(
    workspace, owner, analyst, client_user, signed_in
):
    home = reverse("workspace", args=[workspace.slug])
    url = reverse("listening_topics", args=[workspace.slug])
    assert url in signed_in(analyst).get(home).content.decode()
    assert url not in signed_in(client_user).get(home).content.decode()
    assert signed_in(client_user).get(url).status_code == 403


def test_the_topic_list_groups_topics_by_kind_with_their_week(
    workspace, owner, signed_in, mentions
):
    page = signed_in(owner).get(reverse("listening_topics", args=[workspace.slug]))
    text = page.content.decode()
    assert page.status_code == 200
    assert "Brand" in text and "Competitor" in text and "Crumb" in text and "Levain" in text
    assert "New topic" in text


def test_an_outsider_sees_no_listening_page(workspace, outsider, signed_in, crumb):
    client = signed_in(outsider)
    for url in [
        reverse("listening_topics", args=[workspace.slug]),
        reverse("listening_topic", args=[workspace.slug, crumb.pk]),
        reverse("listening_topic_edit", args=[workspace.slug, crumb.pk]),
        reverse("listening_sources", args=[workspace.slug]),
        reverse("listening_topic_csv", args=[workspace.slug, crumb.pk, "volume"]),
    ]:
        assert client.get(url).status_code in (403, 404), url


def test_an_analyst_reads_but_cannot_change_topics(workspace, analyst, signed_in, crumb):
    client = signed_in(analyst)
    assert (
        client.get(reverse("listening_topic", args=[workspace.slug, crumb.pk])).status_code == 200
    )
    assert client.get(reverse("listening_topic_new", args=[workspace.slug])).status_code == 403
    edit = reverse("listening_topic_edit", args=[workspace.slug, crumb.pk])
    assert client.post(edit, {"action": "delete"}).status_code == 403
    assert Topic.objects.filter(pk=crumb.pk).exists()
    sources = reverse("listening_sources", args=[workspace.slug])
    assert client.post(sources, {"kind": "inbox"}).status_code == 403


def test_a_query_is_tried_before_the_topic_is_saved(workspace, owner, signed_in, mentions):
    url = reverse("listening_topic_new", args=[workspace.slug])
    tried = signed_in(owner).post(
        url,
        {
            "name": "Croissants",
            "kind": "theme",
            "active": "on",
            "text": "croissant*",
            "action": "try",
        },
    )
    assert tried.status_code == 200
    assert "would have matched 3 of the last" in tried.content.decode()
    assert not Topic.objects.filter(name="Croissants").exists()
    saved = signed_in(owner).post(
        url,
        {
            "name": "Croissants",
            "kind": "theme",
            "active": "on",
            "text": "croissant*",
            "action": "save",
        },
    )
    assert saved.status_code == 302
    topic = Topic.objects.get(name="Croissants")
    assert [q.text for q in topic.queries.all()] == ["croissant*"]


def test_a_bad_query_shows_where_and_saves_nothing(workspace, owner, signed_in):
    url = reverse("listening_topic_new", args=[workspace.slug])
    answer = signed_in(owner).post(
        url, {"name": "Broken", "kind": "brand", "text": "crumb AND (bread", "action": "save"}
    )
    text = answer.content.decode()
    assert answer.status_code == 400
    assert "At character 11" in text and "never closed" in text
    assert "<mark>(</mark>" in text
    assert not Topic.objects.filter(name="Broken").exists()  # not half-written


def test_queries_are_added_changed_tried_and_removed(workspace, owner, signed_in, crumb, mentions):
    client = signed_in(owner)
    url = reverse("listening_topic_edit", args=[workspace.slug, crumb.pk])
    assert client.post(url, {"action": "add", "text": "stale"}).status_code == 302
    query = crumb.queries.get(text="stale")
    tried = client.post(
        url, {"action": "try_change", "query_id": query.pk, f"q{query.pk}-text": "awful"}
    )
    assert "would have matched 1 of the last" in tried.content.decode()
    assert TopicQuery.objects.get(pk=query.pk).text == "stale"
    refused = client.post(
        url, {"action": "change", "query_id": query.pk, f"q{query.pk}-text": "NEAR/2"}
    )
    assert refused.status_code == 400 and TopicQuery.objects.get(pk=query.pk).text == "stale"
    assert (
        client.post(
            url, {"action": "change", "query_id": query.pk, f"q{query.pk}-text": "awful"}
        ).status_code
        == 302
    )
    assert TopicQuery.objects.get(pk=query.pk).text == "awful"
    assert client.post(url, {"action": "remove", "query_id": query.pk}).status_code == 302
    assert not TopicQuery.objects.filter(pk=query.pk).exists()
    assert client.post(url, {"action": "remove", "query_id": "x"}).status_code == 404
    assert client.post(url, {"action": "nonsense"}).status_code == 404
    assert client.post(url, {"action": "topic", "name": "", "kind": "brand"}).status_code == 400
    assert (
        client.post(url, {"action": "topic", "name": "Crumbs", "kind": "theme"}).status_code == 302
    )
    crumb.refresh_from_db()
    assert (crumb.name, crumb.kind, crumb.active) == ("Crumbs", "theme", False)
    assert client.post(url, {"action": "delete"}).status_code == 302
    assert not Topic.objects.filter(pk=crumb.pk).exists()


def test_the_rollup_counts_each_day_once_whatever_the_polls(workspace, crumb, mentions):
    total = sum(TopicDay.objects.filter(topic=crumb).values_list("mentions", flat=True))
    assert total == 4
    store_items(workspace, [item(1, "I love the croissants at Crumb")])  # already stored
    again = sum(TopicDay.objects.filter(topic=crumb).values_list("mentions", flat=True))
    assert again == 4
    assert rollups.rebuild(crumb.pk) == TopicDay.objects.filter(topic=crumb).count()
    assert sum(TopicDay.objects.filter(topic=crumb).values_list("mentions", flat=True)) == 4
    engagement = sum(TopicDay.objects.filter(topic=crumb).values_list("engagement", flat=True))
    assert engagement == 12


def test_the_topic_page_shows_volume_sentiment_share_and_top_terms(
    workspace, owner, signed_in, crumb, rival, mentions
):
    page = signed_in(owner).get(reverse("listening_topic", args=[workspace.slug, crumb.pk]))
    text = page.content.decode()
    assert page.status_code == 200
    assert "3</strong> mentions" in text  # the one of 40 days ago is outside 30 days
    assert "croissant" in text and "#crumbbakery" in text and "jo.test" in text
    share = page.context["share"]
    assert [(row["name"], row["mentions"]) for row in share] == [("Crumb", 3), ("Levain", 2)]
    assert share[0]["mention_share"] == 60.0
    assert share[0]["engagement_share"] == pytest.approx(28.6)
    assert 'id="topic-chart-data"' in text and "mention_actions" not in text
    assert len(page.context["page"]) == 3


def test_the_stream_filters_and_pages(workspace, owner, signed_in, crumb, mentions):
    url = reverse("listening_topic", args=[workspace.slug, crumb.pk])
    client = signed_in(owner)
    assert len(client.get(url, {"sentiment": "negative"}).context["page"]) == 1
    assert len(client.get(url, {"text": "BAGUETTE"}).context["page"]) == 1
    assert len(client.get(url, {"source": "feed"}).context["page"]) == 0
    assert len(client.get(url, {"period": "90"}).context["page"]) == 4
    assert len(client.get(url, {"language": "fr", "period": "90"}).context["page"]) == 1
    start = (NOW - timedelta(days=1)).date().isoformat()
    assert len(client.get(url, {"start": start}).context["page"]) >= 1
    # Bad values are dropped with a word, never a 500.
    bad = client.get(
        url, {"start": "yesterday", "language": "french", "before": "zz_1", "period": "9"}
    )
    assert bad.status_code == 200 and len(bad.context["page"]) == 3
    assert client.get(url, {"start": "2026-02-01", "end": "2025-01-01"}).status_code == 200
    from socialdesk.listening import topic_page

    first, mark = topic_page.stream(
        crumb, topic_page.Filters(NOW.date() - timedelta(days=90), NOW.date()), limit=2
    )
    assert len(first) == 2 and mark
    rest = client.get(url, {"period": "90", "before": mark}).context["page"]
    assert [m.pk for m in rest] and not {m.pk for m in rest} & {m.pk for m in first}


def test_each_table_downloads_as_csv(workspace, owner, signed_in, crumb, mentions):
    client = signed_in(owner)
    for what, header in [
        ("volume", "day"),
        ("share", "topic"),
        ("words", "term"),
        ("hashtags", "term"),
        ("authors", "author"),
        ("mentions", "posted_at"),
    ]:
        answer = client.get(reverse("listening_topic_csv", args=[workspace.slug, crumb.pk, what]))
        assert answer.status_code == 200 and answer["Content-Type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(answer.content.decode())))
        assert rows[0][0] == header and len(rows) > 1, what
    assert (
        client.get(
            reverse("listening_topic_csv", args=[workspace.slug, crumb.pk, "passwords"])
        ).status_code
        == 404
    )


def test_sources_are_added_paused_and_removed(workspace, owner, signed_in):
    client = signed_in(owner)
    url = reverse("listening_sources", args=[workspace.slug])
    refused = client.post(url, {"action": "add", "kind": "feed", "url": "http://127.0.0.1/feed"})
    assert refused.status_code == 400 and not Source.objects.exists()
    assert client.post(url, {"action": "add", "kind": "mastodon"}).status_code == 400
    assert client.post(url, {"action": "add", "kind": "inbox"}).status_code == 302
    assert client.post(url, {"action": "add", "kind": "inbox"}).status_code == 400
    source = Source.objects.get()
    assert client.post(url, {"action": "pause", "source_id": source.pk}).status_code == 302
    assert not Source.objects.get().active
    assert "This workspace's inbox" in client.get(url).content.decode()
    assert client.post(url, {"action": "remove", "source_id": source.pk}).status_code == 302
    assert not Source.objects.exists()
    assert client.post(url, {"action": "remove", "source_id": "x"}).status_code == 404


def test_inbound_inbox_messages_become_mentions_of_the_topics(workspace, channel, crumb):
    conversation(workspace, channel, "ana", "Crumb forgot my order again, awful")
    conversation(workspace, channel, "bo", "Nothing to do with anything")
    source = Source.objects.create(workspace=workspace, kind="inbox")
    outcome = poll_once(source.pk)
    assert outcome["stored"] == 1, outcome
    assert crumb.mentions.get().source_kind == "inbox"
    source.refresh_from_db()
    assert source.cursor["last_id"] > 0
    Source.objects.filter(pk=source.pk).update(polled_at=None)
    assert poll_once(source.pk)["seen"] == 0  # read once
