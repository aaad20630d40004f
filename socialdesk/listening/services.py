"""Writes to topics and their queries: the API (and the pages to come) call these.

A query is saved only once it compiles (``query.compile_query``), so listening never meets
a query it cannot read; its error is reported on the field ``text`` with the character to
fix.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from socialdesk.workspaces.models import User, Workspace

from .models import Source, SourceKind, Topic, TopicKind, TopicQuery
from .query import compile_query

MAX_QUERIES_PER_TOPIC = 20
MAX_TOPICS = 100


def check_query(text: str) -> str:
    """The query's text, stripped, once it compiles; ValidationError on ``text`` otherwise."""
    try:
        compile_query(text)
    except ValidationError as error:
        raise ValidationError({"text": error.messages}) from None
    return text.strip()


def save_topic(
    workspace: Workspace,
    *,
    name: str,
    kind: str = TopicKind.BRAND,
    active: bool = True,
    topic: Topic | None = None,
) -> Topic:
    """Create (or, with ``topic``, change) a topic; names are unique in a workspace."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": ["Give the topic a name."]})
    if kind not in TopicKind.values:
        raise ValidationError({"kind": [f"Choose one of: {', '.join(TopicKind.values)}."]})
    if topic is None and Topic.objects.filter(workspace=workspace).count() >= MAX_TOPICS:
        raise ValidationError({"name": [f"A workspace follows at most {MAX_TOPICS} topics."]})
    clash = Topic.objects.filter(workspace=workspace, name__iexact=name)
    if topic is not None:
        clash = clash.exclude(pk=topic.pk)
    if clash.exists():
        raise ValidationError({"name": ["Another topic has this name."]})
    try:
        with transaction.atomic():
            if topic is None:
                return Topic.objects.create(
                    workspace=workspace, name=name, kind=kind, active=active
                )
            topic.name, topic.kind, topic.active = name, kind, active
            topic.save(update_fields=["name", "kind", "active"])
            return topic
    except IntegrityError:  # a concurrent create with the same name
        raise ValidationError({"name": ["Another topic has this name."]}) from None


def add_query(topic: Topic, text: str, by: User | None) -> TopicQuery:
    """Add a query to the topic after checking it compiles."""
    checked = check_query(text)
    if topic.queries.count() >= MAX_QUERIES_PER_TOPIC:
        raise ValidationError(
            {"text": [f"A topic has at most {MAX_QUERIES_PER_TOPIC} queries; join some with OR."]}
        )
    return TopicQuery.objects.create(
        workspace_id=topic.workspace_id, topic=topic, text=checked, created_by=by
    )


def change_query(query: TopicQuery, text: str) -> TopicQuery:
    query.text = check_query(text)
    query.save(update_fields=["text"])
    return query


def add_source(
    workspace: Workspace, *, kind: str, url: str = "", channel_id: int | None = None
) -> Source:
    """A feed (its address checked as the guarded fetch will: no internal address unless the
    operator allows it), Bluesky or Mastodon search through one of the workspace's channels
    of that network, or the workspace's own inbox (once)."""
    from socialdesk import guarded_fetch
    from socialdesk.networks.models import Channel, Network

    if kind == SourceKind.FEED:
        try:
            guarded_fetch.check(url, resolve_names=False)
        except (guarded_fetch.FetchRefused, guarded_fetch.FetchFailed) as error:
            raise ValidationError({"url": [str(error)]}) from None
        if Source.objects.filter(workspace=workspace, kind=kind, url=url.strip()).exists():
            raise ValidationError({"url": ["This feed is already a source."]})
        return Source.objects.create(workspace=workspace, kind=kind, url=url.strip())
    if kind in (SourceKind.BLUESKY, SourceKind.MASTODON):
        network = Network.BLUESKY if kind == SourceKind.BLUESKY else Network.MASTODON
        label = "Bluesky" if kind == SourceKind.BLUESKY else "Mastodon"
        channel = Channel.objects.filter(
            workspace=workspace, pk=channel_id or 0, network=network
        ).first()
        if channel is None:
            raise ValidationError(
                {"channel_id": [f"Choose one of this workspace's {label} channels."]}
            )
        if Source.objects.filter(workspace=workspace, kind=kind, channel=channel).exists():
            raise ValidationError({"channel_id": ["This channel already searches for the topics."]})
        return Source.objects.create(workspace=workspace, kind=kind, channel=channel)
    if kind == SourceKind.INBOX:
        if Source.objects.filter(workspace=workspace, kind=kind).exists():
            raise ValidationError({"kind": ["The inbox is already a source."]})
        return Source.objects.create(workspace=workspace, kind=kind)
    raise ValidationError({"kind": ["Choose feed, bluesky, mastodon or inbox."]})
