"""API: listening topics and their queries, "try a query", and the mentions found.

Read with ``listening.view``; topics and queries change with ``listening.manage``.
No ``from __future__ import annotations``: ninja reads the parameter types at import time.
"""

from datetime import UTC, date, datetime, timedelta
from typing import Literal

from django.db.models import Prefetch, Q
from django.http import HttpResponse
from ninja import Field, Query, Router, Schema, Status

from socialdesk.api_support import (
    Id,
    MemberRequest,
    Slug,
    Text,
    caller,
    invalid,
    requires,
    responses,
)
from socialdesk.workspaces.access import get_in_workspace

from . import matching, rollups, services
from .models import Mention, MentionMatch, Source, Topic, TopicQuery

router = Router(tags=["listening"])
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

QUERY_HELP = (
    'words, "phrases", AND, OR, NOT (or -word), (groups), word* (suffix wildcard), '
    "a NEAR/n b, #tag, from:handle, lang:xx; case and accents do not matter."
)


class QueryOut(Schema):
    id: int
    text: str
    created_at: datetime


class TopicOut(Schema):
    id: int
    name: str
    kind: str
    active: bool
    created_at: datetime
    queries: list[QueryOut]

    @staticmethod
    def resolve_queries(topic: Topic) -> list[TopicQuery]:
        return list(topic.queries.all())


class TopicList(Schema):
    items: list[TopicOut]


class TopicIn(Schema):
    name: Text = Field(..., min_length=1, max_length=200)
    kind: Literal["brand", "competitor", "theme"] = "brand"
    active: bool = True
    queries: list[Text] = Field(
        default_factory=list, max_length=20, description=f"Only on create. {QUERY_HELP}"
    )


class SourceOut(Schema):
    id: int
    kind: str
    url: str
    channel_id: int | None
    active: bool
    polled_at: datetime | None
    last_error: str


class SourceList(Schema):
    items: list[SourceOut]


class SourceIn(Schema):
    kind: Literal["feed", "bluesky", "mastodon", "inbox"]
    url: Text = Field("", max_length=1000, description="The feed's address (kind feed).")
    channel_id: int | None = Field(
        None,
        ge=1,
        description="A channel of the workspace on that network (kinds bluesky and mastodon).",
    )


class QueryIn(Schema):
    text: Text = Field(..., min_length=1, max_length=2000, description=QUERY_HELP)


class QueryTrialExample(Schema):
    kind: Literal["mention", "message"]
    id: int
    text: str
    author: str
    language: str
    at: datetime
    url: str


class QueryTrialOut(Schema):
    matched: int
    checked: int
    summary: str = Field(description='e.g. "would have matched 14 of the last 620: “…”, “…”"')
    examples: list[QueryTrialExample]


class MentionOut(Schema):
    id: int
    source_kind: str
    source_ref: str
    remote_id: str
    author_handle: str
    author_name: str
    reach: int | None
    engagement: int | None
    url: str
    text: str
    language: str
    sentiment: str
    posted_at: datetime
    fetched_at: datetime
    topic_ids: list[int]

    @staticmethod
    def resolve_topic_ids(mention: Mention) -> list[int]:
        return sorted(match.topic_id for match in mention.matches.all())


class MentionList(Schema):
    items: list[MentionOut]
    next_cursor: str | None = Field(description="Give as cursor for the next (older) page.")


class MentionFilters(Schema):
    topic_id: int | None = Field(None, ge=1)
    sentiment: Literal["positive", "neutral", "negative"] | None = None
    language: str | None = Field(None, pattern=r"^[a-z]{2,3}$")
    source: Literal["bluesky", "mastodon", "feed", "inbox"] | None = None
    cursor: str | None = Field(None, max_length=40, pattern=r"^[0-9]{1,20}_[0-9]{1,18}$")
    limit: int = Field(50, ge=1, le=200)


def _topics(workspace_id: int):  # type: ignore[no-untyped-def]
    return Topic.objects.filter(workspace_id=workspace_id).prefetch_related("queries")


@router.get(
    "/workspaces/{slug}/listening/topics",
    response=responses(TopicList),
    operation_id="listening_topics_list",
)
@requires("listening.view")
def topics_list(request: MemberRequest, slug: Slug) -> dict:
    return {"items": list(_topics(request.workspace.pk))}


@router.post(
    "/workspaces/{slug}/listening/topics",
    response=responses(TopicOut, 201),
    operation_id="listening_topics_create",
)
@requires("listening.manage")
def topics_create(request: MemberRequest, slug: Slug, payload: TopicIn) -> Status:
    """A topic, with its first queries (each checked; nothing is saved if one is refused)."""
    from django.db import transaction

    for position, text in enumerate(payload.queries):
        try:
            services.check_query(text)
        except Exception as error:
            raise invalid(
                f"queries.{position}", "; ".join(getattr(error, "messages", []))
            ) from None
    with transaction.atomic():
        topic = services.save_topic(
            request.workspace, name=payload.name, kind=payload.kind, active=payload.active
        )
        for text in payload.queries:
            services.add_query(topic, text, caller(request))
    return Status(201, _topics(request.workspace.pk).get(pk=topic.pk))


@router.get(
    "/workspaces/{slug}/listening/topics/{topic_id}",
    response=responses(TopicOut),
    operation_id="listening_topics_read",
)
@requires("listening.view")
def topics_read(request: MemberRequest, slug: Slug, topic_id: Id) -> Topic:
    topic = get_in_workspace(Topic, request.workspace, pk=topic_id)
    return _topics(request.workspace.pk).get(pk=topic.pk)


class VoicePeriod(Schema):
    start: date | None = Field(None, description="First day (UTC); default: 30 days ago.")
    end: date | None = Field(None, description="Last day (UTC), included; default: today.")


class VoiceRow(Schema):
    topic_id: int
    name: str
    kind: str
    is_this: bool
    mentions: int
    mention_share: float = Field(description="Percent of all these topics' mentions.")
    engagement: int
    engagement_known: bool
    engagement_share: float | None = Field(
        description="Percent of all their engagement; null when no mention says its engagement."
    )
    negative: int


class VoiceOut(Schema):
    start: date
    end: date
    items: list[VoiceRow]


@router.get(
    "/workspaces/{slug}/listening/topics/{topic_id}/share-of-voice",
    response=responses(VoiceOut),
    operation_id="listening_share_of_voice",
)
@requires("listening.view")
def share_of_voice(
    request: MemberRequest, slug: Slug, topic_id: Id, period: Query[VoicePeriod]
) -> dict:
    """The topic against the workspace's brand and competitor topics over the period (UTC
    days): mentions and engagement with their shares, read from the daily rollup."""
    topic = get_in_workspace(Topic, request.workspace, pk=topic_id)
    end = period.end or datetime.now(UTC).date()
    start = period.start or end - timedelta(days=29)
    if start > end:
        raise invalid("start", "The first day must not be after the last day.")
    if (end - start).days > 366:
        raise invalid("start", "Ask for at most a year (366 days) at a time.")
    rows = rollups.share_of_voice(topic, start, end)
    items = [{**row, "topic_id": row["topic"].pk} for row in rows]
    return {"start": start, "end": end, "items": items}


@router.put(
    "/workspaces/{slug}/listening/topics/{topic_id}",
    response=responses(TopicOut),
    operation_id="listening_topics_update",
)
@requires("listening.manage")
def topics_update(request: MemberRequest, slug: Slug, topic_id: Id, payload: TopicIn) -> Topic:
    """Rename, change the kind, pause or resume (``queries`` is ignored here)."""
    topic = get_in_workspace(Topic, request.workspace, pk=topic_id)
    services.save_topic(
        request.workspace,
        topic=topic,
        name=payload.name,
        kind=payload.kind,
        active=payload.active,
    )
    return _topics(request.workspace.pk).get(pk=topic.pk)


@router.delete(
    "/workspaces/{slug}/listening/topics/{topic_id}",
    response=responses(None, 204),
    operation_id="listening_topics_delete",
)
@requires("listening.manage")
def topics_delete(request: MemberRequest, slug: Slug, topic_id: Id) -> HttpResponse:
    """The topic and its queries; its mentions stay for the other topics they match."""
    get_in_workspace(Topic, request.workspace, pk=topic_id).delete()
    return HttpResponse(status=204)


@router.post(
    "/workspaces/{slug}/listening/topics/{topic_id}/queries",
    response=responses(QueryOut, 201),
    operation_id="listening_queries_create",
)
@requires("listening.manage")
def queries_create(request: MemberRequest, slug: Slug, topic_id: Id, payload: QueryIn) -> Status:
    topic = get_in_workspace(Topic, request.workspace, pk=topic_id)
    return Status(201, services.add_query(topic, payload.text, caller(request)))


@router.put(
    "/workspaces/{slug}/listening/topics/{topic_id}/queries/{query_id}",
    response=responses(QueryOut),
    operation_id="listening_queries_update",
)
@requires("listening.manage")
def queries_update(
    request: MemberRequest, slug: Slug, topic_id: Id, query_id: Id, payload: QueryIn
) -> TopicQuery:
    query = get_in_workspace(TopicQuery, request.workspace, pk=query_id, topic_id=topic_id)
    return services.change_query(query, payload.text)


@router.delete(
    "/workspaces/{slug}/listening/topics/{topic_id}/queries/{query_id}",
    response=responses(None, 204),
    operation_id="listening_queries_delete",
)
@requires("listening.manage")
def queries_delete(request: MemberRequest, slug: Slug, topic_id: Id, query_id: Id) -> HttpResponse:
    get_in_workspace(TopicQuery, request.workspace, pk=query_id, topic_id=topic_id).delete()
    return HttpResponse(status=204)


@router.post(
    "/workspaces/{slug}/listening/queries/try",
    response=responses(QueryTrialOut),
    operation_id="listening_queries_try",
)
@requires("listening.view")
def queries_try(request: MemberRequest, slug: Slug, payload: QueryIn) -> dict:
    """What the query would have matched among the last stored mentions and inbound inbox
    messages; nothing is stored."""
    try:
        tried = matching.try_query(request.workspace, payload.text)
    except Exception as error:
        messages = getattr(error, "messages", None)
        if messages is None:
            raise
        raise invalid("text", messages[0]) from None
    return {
        "matched": tried.matched,
        "checked": tried.checked,
        "summary": tried.summary,
        "examples": tried.examples,
    }


@router.get(
    "/workspaces/{slug}/listening/mentions",
    response=responses(MentionList),
    operation_id="listening_mentions_list",
)
@requires("listening.view")
def mentions_list(request: MemberRequest, slug: Slug, filters: Query[MentionFilters]) -> dict:
    """Mentions newest first, one page at a time (``next_cursor``), filtered by topic,
    sentiment, language and source."""
    workspace = request.workspace
    if filters.topic_id is not None:
        get_in_workspace(Topic, workspace, pk=filters.topic_id)
        # The topic page's index: (topic, posted_at, mention) — see models.MentionMatch.
        rows = MentionMatch.objects.filter(topic_id=filters.topic_id)
        if filters.sentiment:
            rows = rows.filter(sentiment=filters.sentiment)
        if filters.language:
            rows = rows.filter(language=filters.language)
        if filters.source:
            rows = rows.filter(source_kind=filters.source)
        if filters.cursor:
            at, last_id = _cursor(filters.cursor)
            rows = rows.filter(Q(posted_at__lt=at) | Q(posted_at=at, mention_id__lt=last_id))
        ids = list(
            rows.order_by("-posted_at", "-mention_id").values_list("mention_id", flat=True)[
                : filters.limit
            ]
        )
        mentions = Mention.objects.filter(pk__in=ids)
    else:
        mentions = Mention.objects.filter(workspace=workspace)
        if filters.sentiment:
            mentions = mentions.filter(sentiment=filters.sentiment)
        if filters.language:
            mentions = mentions.filter(language=filters.language)
        if filters.source:
            mentions = mentions.filter(source_kind=filters.source)
        if filters.cursor:
            at, last_id = _cursor(filters.cursor)
            mentions = mentions.filter(Q(posted_at__lt=at) | Q(posted_at=at, pk__lt=last_id))
    page = list(
        mentions.order_by("-posted_at", "-pk").prefetch_related(
            Prefetch("matches", queryset=MentionMatch.objects.only("mention_id", "topic_id"))
        )[: filters.limit]
    )
    next_cursor = None
    if len(page) == filters.limit:
        last = page[-1]
        micros = (last.posted_at - EPOCH) // timedelta(microseconds=1)
        next_cursor = f"{micros}_{last.pk}"
    return {"items": page, "next_cursor": next_cursor}


@router.get(
    "/workspaces/{slug}/listening/sources",
    response=responses(SourceList),
    operation_id="listening_sources_list",
)
@requires("listening.view")
def sources_list(request: MemberRequest, slug: Slug) -> dict:
    """Where listening reads, with the last poll and its error, if any."""
    return {"items": list(Source.objects.filter(workspace=request.workspace))}


@router.post(
    "/workspaces/{slug}/listening/sources",
    response=responses(SourceOut, 201),
    operation_id="listening_sources_create",
)
@requires("listening.manage")
def sources_create(request: MemberRequest, slug: Slug, payload: SourceIn) -> Status:
    """A feed to read, Bluesky or Mastodon search through one of the workspace's channels,
    or the workspace's own inbox messages."""
    source = services.add_source(
        request.workspace, kind=payload.kind, url=payload.url, channel_id=payload.channel_id
    )
    return Status(201, source)


@router.delete(
    "/workspaces/{slug}/listening/sources/{source_id}",
    response=responses(None, 204),
    operation_id="listening_sources_delete",
)
@requires("listening.manage")
def sources_delete(request: MemberRequest, slug: Slug, source_id: Id) -> HttpResponse:
    """Stop reading the source; the mentions it found stay."""
    get_in_workspace(Source, request.workspace, pk=source_id).delete()
    return HttpResponse(status=204)


def _cursor(value: str) -> tuple[datetime, int]:
    """(posted_at, mention id) of the last mention of the previous page."""
    micros, _, last_id = value.partition("_")
    try:
        moment = EPOCH + timedelta(microseconds=int(micros))
    except (ValueError, OverflowError, OSError):
        raise invalid("cursor", "Give back the next_cursor of the previous page.") from None
    return moment, int(last_id)
