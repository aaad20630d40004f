"""A Bluesky mention found through one of the bakery's channels, as search stores it."""

from __future__ import annotations

from itertools import count

from django.utils import timezone

from socialdesk.listening.models import Mention, MentionMatch, Topic
from socialdesk.networks.models import Channel, Network

_numbers = count(1)
DID = "did:plc:ann7example"


def bluesky_channel(workspace) -> Channel:
    found = Channel.objects.filter(workspace=workspace, network=Network.BLUESKY).first()
    return found or Channel.objects.create(
        workspace=workspace, network=Network.BLUESKY, handle="crumb.bsky.social"
    )


def bluesky_mention(
    workspace, text: str = "Crumb's croissants made my day 🥐", **fields
) -> Mention:
    channel = bluesky_channel(workspace)
    number = next(_numbers)
    uri = f"at://{DID}/app.bsky.feed.post/3k{number:06d}"
    topic, _ = Topic.objects.get_or_create(workspace=workspace, name="Crumb")
    mention = Mention.objects.create(
        workspace=workspace,
        source_kind="bluesky",
        source_ref=str(channel.pk),
        remote_id=uri,
        author_handle="ann.bsky.social",
        author_name="Ann",
        url=f"https://bsky.app/profile/ann.bsky.social/post/3k{number:06d}",
        text=text,
        language="en",
        sentiment="positive",
        posted_at=timezone.now(),
        reference={"uri": uri, "cid": f"bafyreicid{number}", "did": DID},
        **fields,
    )
    MentionMatch.objects.create(
        mention=mention, topic=topic, posted_at=mention.posted_at, sentiment="positive"
    )
    return mention


def listening_objects(workspace) -> dict[str, int]:
    """A topic with a query, a feed source, a Bluesky mention and an alert about it."""
    from socialdesk.listening.models import Alert, Source, TopicQuery

    topic = Topic.objects.create(workspace=workspace, name="Crumb")
    query = TopicQuery.objects.create(workspace=workspace, topic=topic, text="crumb")
    source = Source.objects.create(workspace=workspace, kind="feed", url="https://a.test/feed")
    mention = bluesky_mention(workspace)
    alert = Alert.objects.create(
        workspace=workspace,
        topic=topic,
        kind="critical",
        title="Crumb: critical words “allergic” in a mention",
        window_start=mention.posted_at,
        window_end=mention.posted_at,
        mention=mention,
    )
    return {
        "topic_id": topic.pk,
        "query_id": query.pk,
        "source_id": source.pk,
        "mention_id": mention.pk,
        "alert_id": alert.pk,
    }
