"""Matching found items against the workspace's topics, and trying a query before saving it.

``store_items`` is the one door through which every source (``listening.sources``) stores what
it found. It guarantees:

- **once per remote id**: an item already stored for (workspace, source kind, remote id) is
  neither triaged nor matched again, and two polls racing on the same item leave one row
  (the unique constraint, with ``ignore_conflicts``);
- **triage once per item**: language then sentiment, by the inbox's triage
  (``inbox.triage.language_of`` and ``sentiment_of``), before matching, so ``lang:`` sees it;
- **every active query of every active topic**, compiled once per call into one ``Matcher``;
- only items that match at least one topic are stored (listening keeps mentions, not the
  whole network); each match row says which topic, and the first query that found it;
- stored mentions are checked against their topics' critical words at once
  (``alerts.on_stored``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from socialdesk.inbox import triage
from socialdesk.workspaces.models import Workspace

from . import alerts, rollups
from .models import Mention, MentionMatch, TopicQuery
from .query import Matcher, Text, compile_query, matcher_for

TRY_LAST = 500  # how many stored mentions and inbox messages "try a query" reads
TRY_EXAMPLES = 10


@dataclass
class Item:
    """One thing a source found, before triage."""

    source_kind: str
    remote_id: str
    text: str
    posted_at: datetime
    source_ref: str = ""
    author_handle: str = ""
    author_name: str = ""
    reach: int | None = None
    engagement: int | None = None  # likes, reposts, replies where the network says
    url: str = ""
    declared_language: str = ""
    reference: dict[str, str] = field(default_factory=dict)


@dataclass
class StoreResult:
    seen: int = 0  # items given
    new: int = 0  # not stored before (triaged and matched)
    stored: int = 0  # new and matching at least one topic
    matches: int = 0
    mention_ids: list[int] = field(default_factory=list)


def workspace_matcher(workspace: Workspace | int) -> Matcher:
    """Every active query of the workspace's active topics; keys are (topic id, query id)."""
    rows = TopicQuery.objects.filter(workspace=workspace, topic__active=True).values_list(
        "topic_id", "pk", "text"
    )
    return matcher_for(((topic_id, query_id), text) for topic_id, query_id, text in rows)


def triage_item(item: Item) -> tuple[str, str, float]:
    """(language, sentiment, score) of one item, by the inbox's triage."""
    language = triage.language_of(item.text, item.declared_language)
    sentiment, score = triage.sentiment_of(item.text, language)
    return language, str(sentiment), score


def match_item(matcher: Matcher, item: Item, language: str) -> dict[int, int]:
    """{topic id: first query id that matched} for one triaged item."""
    text = Text(item.text, author=item.author_handle, language=language)
    found: dict[int, int] = {}
    for topic_id, query_id in matcher.match(text):
        found.setdefault(topic_id, query_id)
    return found


def store_items(
    workspace: Workspace | int,
    items: Iterable[Item],
    *,
    matcher: Matcher | None = None,
    now: datetime | None = None,
) -> StoreResult:
    """Triage, match and store ``items`` for the workspace; see the module docstring."""
    now = now or timezone.now()
    workspace_id = workspace if isinstance(workspace, int) else workspace.pk
    result = StoreResult()
    unique: dict[tuple[str, str], Item] = {}
    for item in items:
        result.seen += 1
        if item.remote_id:
            unique.setdefault((item.source_kind, item.remote_id[:500]), item)
    if not unique:
        return result
    known = set(
        Mention.objects.filter(
            workspace_id=workspace_id, remote_id__in=[remote for _kind, remote in unique]
        ).values_list("source_kind", "remote_id")
    )
    fresh = [(key, item) for key, item in unique.items() if key not in known]
    result.new = len(fresh)
    if not fresh:
        return result
    matcher = matcher if matcher is not None else workspace_matcher(workspace_id)
    mentions: list[Mention] = []
    found: dict[tuple[str, str], dict[int, int]] = {}
    for key, item in fresh:
        language, sentiment, score = triage_item(item)
        topics = match_item(matcher, item, language)
        if not topics:
            continue
        found[key] = topics
        mentions.append(
            Mention(
                workspace_id=workspace_id,
                source_kind=item.source_kind,
                source_ref=item.source_ref[:1000],
                remote_id=key[1],
                author_handle=item.author_handle[:300],
                author_name=item.author_name[:300],
                reach=item.reach,
                engagement=item.engagement,
                url=item.url[:1000],
                text=item.text,
                language=language[:35],
                sentiment=sentiment,
                sentiment_score=score,
                posted_at=item.posted_at,
                fetched_at=now,
                reference=dict(item.reference),
            )
        )
    if not mentions:
        return result
    with transaction.atomic():
        Mention.objects.bulk_create(mentions, ignore_conflicts=True)
        # Read the rows back: with ignore_conflicts the database does not say which it made
        # (a racing poll may have stored one first; its row is the same item).
        stored = Mention.objects.filter(
            workspace_id=workspace_id, remote_id__in=[key[1] for key in found]
        ).only("pk", "source_kind", "remote_id", "posted_at", "sentiment", "language")
        rows = []
        for mention in stored:
            matched = found.get((mention.source_kind, mention.remote_id))
            if not matched:
                continue
            result.mention_ids.append(mention.pk)
            for topic_id, query_id in matched.items():
                rows.append(
                    MentionMatch(
                        mention_id=mention.pk,
                        topic_id=topic_id,
                        query_id=query_id,
                        posted_at=mention.posted_at,
                        sentiment=mention.sentiment,
                        language=mention.language,
                        source_kind=mention.source_kind,
                    )
                )
        MentionMatch.objects.bulk_create(rows, ignore_conflicts=True)
        # The topic page's daily rollup: recount the days these matches fell on.
        rollups.refresh({(row.topic_id, rollups.day_of(row.posted_at)) for row in rows})
    result.stored = len(result.mention_ids)
    result.matches = len(rows)
    # Critical words alert at once, as the mention is stored (never raises).
    alerts.on_stored(workspace_id, result.mention_ids, now)
    return result


@dataclass
class TryResult:
    """What a query would have matched among the last stored mentions and inbox messages."""

    checked: int
    matched: int
    examples: list[dict[str, object]]

    @property
    def summary(self) -> str:
        """ "would have matched 14 of the last 620: “Crumb's croissants…”, “…” " """
        if not self.matched:
            return f"would have matched none of the last {self.checked}"
        quoted = ", ".join(f"“{str(hit['text'])[:60]}”" for hit in self.examples[:3])
        return f"would have matched {self.matched} of the last {self.checked}: {quoted}"


def try_query(workspace: Workspace | int, source: str, *, last: int = TRY_LAST) -> TryResult:
    """Run ``source`` (raises the query's ValidationError when it cannot be read) against the
    workspace's last ``last`` mentions and last ``last`` inbound inbox messages. Nothing is
    stored."""
    from socialdesk.inbox.models import Direction, Message

    query = compile_query(source)
    candidates: list[dict[str, object]] = []
    for mention in Mention.objects.filter(workspace=workspace).order_by("-posted_at", "-pk")[:last]:
        candidates.append(
            {
                "kind": "mention",
                "id": mention.pk,
                "text": mention.text,
                "author": mention.author_handle,
                "language": mention.language,
                "at": mention.posted_at,
                "url": mention.url,
            }
        )
    messages = (
        Message.objects.filter(workspace=workspace, direction=Direction.INBOUND)
        .select_related("author_contact")
        .order_by("-sent_at", "-pk")[:last]
    )
    for message in messages:
        contact = message.author_contact
        candidates.append(
            {
                "kind": "message",
                "id": message.pk,
                "text": message.text,
                "author": contact.handle if contact else "",
                "language": message.language,
                "at": message.sent_at,
                "url": message.remote_url,
            }
        )
    hits = [
        candidate
        for candidate in candidates
        if query.matches(
            Text(
                str(candidate["text"]),
                author=str(candidate["author"]),
                language=str(candidate["language"]),
            )
        )
    ]
    hits.sort(key=lambda hit: hit["at"], reverse=True)  # type: ignore[arg-type,return-value]
    return TryResult(checked=len(candidates), matched=len(hits), examples=hits[:TRY_EXAMPLES])
