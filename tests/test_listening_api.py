"""The listening API: topics and queries, trying a query, and the mentions list, as the
owner, an analyst who reads, and an outsider who sees nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from api_helpers import call
from django.utils import timezone
from inbox_helpers import conversation

from socialdesk.listening.matching import Item, store_items
from socialdesk.listening.models import Topic, TopicQuery

NOW = timezone.now()


@pytest.fixture
def owner_token(owner, token_for) -> str:
    return token_for(owner)


def base(workspace) -> str:
    return f"/workspaces/{workspace.slug}/listening"


def test_the_owner_creates_a_topic_with_queries_and_changes_them(workspace, owner_token):
    created = call(
        "POST",
        f"{base(workspace)}/topics",
        owner_token,
        {"name": "Crumb", "kind": "brand", "queries": ["crumb OR #crumbbakery", "crumb* -crumbs"]},
    )
    assert created.status_code == 201, created.content
    topic = created.json()
    assert [q["text"] for q in topic["queries"]] == ["crumb OR #crumbbakery", "crumb* -crumbs"]
    url = f"{base(workspace)}/topics/{topic['id']}"

    added = call("POST", f"{url}/queries", owner_token, {"text": '"crumb & co" NEAR/3 bread'})
    assert added.status_code == 201
    changed = call(
        "PUT", f"{url}/queries/{added.json()['id']}", owner_token, {"text": "crumb NOT cake"}
    )
    assert changed.json()["text"] == "crumb NOT cake"
    paused = call("PUT", url, owner_token, {"name": "Crumb", "kind": "brand", "active": False})
    assert paused.json()["active"] is False and len(paused.json()["queries"]) == 3
    listed = call("GET", f"{base(workspace)}/topics", owner_token).json()["items"]
    assert [t["name"] for t in listed] == ["Crumb"]
    assert call("DELETE", f"{url}/queries/{added.json()['id']}", owner_token).status_code == 204
    assert call("DELETE", url, owner_token).status_code == 204
    assert not Topic.objects.exists() and not TopicQuery.objects.exists()


def test_a_bad_query_is_refused_with_the_character_to_fix(workspace, owner_token):
    refused = call(
        "POST", f"{base(workspace)}/topics", owner_token, {"name": "X", "queries": ["ok", "a AND"]}
    )
    assert refused.status_code == 422
    error = refused.json()["errors"][0]
    assert error["field"] == "queries.1" and error["message"].startswith("At character 6:")
    assert not Topic.objects.exists()  # nothing saved
    topic = Topic.objects.create(workspace=workspace, name="Crumb")
    bad = call(
        "POST", f"{base(workspace)}/topics/{topic.pk}/queries", owner_token, {"text": "(crumb"}
    )
    assert bad.status_code == 422
    assert bad.json()["errors"] == [
        {"field": "text", "message": "At character 1: a ( is never closed; add the closing )."}
    ]
    same_name = call("POST", f"{base(workspace)}/topics", owner_token, {"name": "crumb"})
    assert same_name.status_code == 422
    assert same_name.json()["errors"][0]["field"] == "name"


def test_trying_a_query_says_what_it_would_have_matched(workspace, channel, owner_token):
    conversation(workspace, channel, "ann.example", "Where do you sell croissants?", at=NOW)
    tried = call("POST", f"{base(workspace)}/queries/try", owner_token, {"text": "croiss*"})
    assert tried.status_code == 200
    body = tried.json()
    assert (body["matched"], body["checked"]) == (1, 1)
    assert body["examples"][0]["author"] == "ann.example"
    bad = call("POST", f"{base(workspace)}/queries/try", owner_token, {"text": "croiss* OR"})
    assert bad.status_code == 422 and "At character" in bad.json()["errors"][0]["message"]


def test_mentions_are_listed_newest_first_filtered_and_paged(workspace, owner_token):
    crumb = Topic.objects.create(workspace=workspace, name="Crumb")
    TopicQuery.objects.create(workspace=workspace, topic=crumb, text="crumb")
    rival = Topic.objects.create(workspace=workspace, name="Rival")
    TopicQuery.objects.create(workspace=workspace, topic=rival, text="rival")
    texts = [
        "Crumb has the best bread in town, wonderful!",
        "Crumb was terrible today, stale bread and rude staff",
        "La boulangerie Crumb est géniale, merci !",
        "The rival bakery is fine",
    ]
    store_items(
        workspace,
        [
            Item("feed", f"id{n}", text, NOW - timedelta(minutes=n), source_ref="f")
            for n, text in enumerate(texts)
        ],
    )
    url = f"{base(workspace)}/mentions"
    everything = call("GET", url, owner_token).json()
    assert [m["remote_id"] for m in everything["items"]] == ["id0", "id1", "id2", "id3"]
    assert everything["next_cursor"] is None
    of_crumb = call("GET", f"{url}?topic_id={crumb.pk}", owner_token).json()["items"]
    assert [m["remote_id"] for m in of_crumb] == ["id0", "id1", "id2"]
    assert of_crumb[0]["topic_ids"] == [crumb.pk]
    negative = call("GET", f"{url}?topic_id={crumb.pk}&sentiment=negative", owner_token).json()
    assert [m["remote_id"] for m in negative["items"]] == ["id1"]
    french = call("GET", f"{url}?language=fr&source=feed", owner_token).json()["items"]
    assert [m["remote_id"] for m in french] == ["id2"]

    first = call("GET", f"{url}?topic_id={crumb.pk}&limit=2", owner_token).json()
    assert [m["remote_id"] for m in first["items"]] == ["id0", "id1"]
    rest = call(
        "GET", f"{url}?topic_id={crumb.pk}&limit=2&cursor={first['next_cursor']}", owner_token
    ).json()
    assert [m["remote_id"] for m in rest["items"]] == ["id2"]
    whole = call("GET", f"{url}?limit=3", owner_token).json()
    older = call("GET", f"{url}?limit=3&cursor={whole['next_cursor']}", owner_token).json()
    assert [m["remote_id"] for m in older["items"]] == ["id3"]

    for bad in ("sentiment=angry", "cursor=yesterday", "limit=0", "language=french"):
        assert call("GET", f"{url}?{bad}", owner_token).status_code == 422, bad


def test_an_analyst_reads_but_does_not_change_and_an_outsider_sees_nothing(
    workspace, analyst, outsider, token_for
):
    topic = Topic.objects.create(workspace=workspace, name="Crumb")
    reader = token_for(analyst)
    assert call("GET", f"{base(workspace)}/topics", reader).status_code == 200
    assert call("GET", f"{base(workspace)}/mentions", reader).status_code == 200
    assert call("POST", f"{base(workspace)}/topics", reader, {"name": "Mine"}).status_code == 403
    assert call("DELETE", f"{base(workspace)}/topics/{topic.pk}", reader).status_code == 403
    stranger = token_for(outsider)
    assert call("GET", f"{base(workspace)}/topics", stranger).status_code == 404
    other = call(
        "GET",
        f"/workspaces/{outsider.memberships.get().workspace.slug}/listening/topics/{topic.pk}",
        stranger,
    )
    assert other.status_code == 404  # another workspace's topic
    mentions = f"/workspaces/{outsider.memberships.get().workspace.slug}/listening/mentions"
    assert call("GET", f"{mentions}?topic_id={topic.pk}", stranger).status_code == 404


def test_the_owner_adds_a_feed_and_a_bluesky_search_and_bad_ones_are_refused(
    workspace, owner_token, channel, settings
):
    from socialdesk.listening.models import Source
    from socialdesk.networks.models import Channel, Network

    settings.SOCIALDESK_FETCH_ALLOW = []
    url = f"{base(workspace)}/sources"
    feed = call("POST", url, owner_token, {"kind": "feed", "url": "https://news.test/feed.xml"})
    assert feed.status_code == 201 and feed.json()["url"] == "https://news.test/feed.xml"
    again = call("POST", url, owner_token, {"kind": "feed", "url": "https://news.test/feed.xml"})
    assert again.json()["errors"] == [{"field": "url", "message": "This feed is already a source."}]
    internal = call("POST", url, owner_token, {"kind": "feed", "url": "http://127.0.0.1/x"})
    assert internal.status_code == 422
    assert "SOCIALDESK_FETCH_ALLOW" in internal.json()["errors"][0]["message"]
    not_bluesky = call("POST", url, owner_token, {"kind": "bluesky", "channel_id": channel.pk})
    assert not_bluesky.json()["errors"][0]["field"] == "channel_id"  # a page channel
    sky = Channel.objects.create(workspace=workspace, network=Network.BLUESKY, handle="crumb.test")
    search = call("POST", url, owner_token, {"kind": "bluesky", "channel_id": sky.pk})
    assert search.status_code == 201 and search.json()["channel_id"] == sky.pk
    listed = call("GET", url, owner_token).json()["items"]
    assert [s["kind"] for s in listed] == ["feed", "bluesky"]
    assert call("DELETE", f"{url}/{feed.json()['id']}", owner_token).status_code == 204
    assert list(Source.objects.values_list("kind", flat=True)) == ["bluesky"]


def test_share_of_voice_against_the_competitors_and_bad_periods_refused(workspace, owner_token):
    crumb = Topic.objects.create(workspace=workspace, name="Crumb", kind="brand")
    TopicQuery.objects.create(workspace=workspace, topic=crumb, text="crumb")
    rival = Topic.objects.create(workspace=workspace, name="Rival", kind="competitor")
    TopicQuery.objects.create(workspace=workspace, topic=rival, text="rival")
    texts = ["Crumb bread", "Crumb again", "Crumb croissant", "rival loaf"]
    store_items(
        workspace,
        [
            Item("feed", f"v{n}", text, NOW - timedelta(hours=n), source_ref="f")
            for n, text in enumerate(texts)
        ],
    )
    url = f"{base(workspace)}/topics/{crumb.pk}/share-of-voice"
    answer = call("GET", url, owner_token).json()
    shares = {row["name"]: (row["mentions"], row["mention_share"]) for row in answer["items"]}
    assert shares == {"Crumb": (3, 75.0), "Rival": (1, 25.0)}
    assert answer["items"][0]["is_this"] and answer["items"][0]["topic_id"] == crumb.pk
    today = timezone.now().date()
    long_ago = call("GET", f"{url}?start=2020-01-01&end=2020-01-31", owner_token).json()
    assert [row["mentions"] for row in long_ago["items"]] == [0, 0]
    assert (
        call("GET", f"{url}?start={today}&end={today - timedelta(days=1)}", owner_token).status_code
        == 422
    )
    assert call("GET", f"{url}?start=2020-01-01&end={today}", owner_token).status_code == 422
    assert (
        call("GET", f"{base(workspace)}/topics/999999/share-of-voice", owner_token).status_code
        == 404
    )
