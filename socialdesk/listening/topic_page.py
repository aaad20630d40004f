"""What the topic page shows, read so that it stays fast at a million mentions
(p95 ≤ 100 ms, ``bench/listening.py``):

- **the stream**: one page of the topic's matches newest first, straight from an index of
  ``MentionMatch`` — (topic, posted_at, mention), or the same after sentiment, language or
  source (``models.MentionMatch``) — keyset-paginated (``before``), joined to the mentions
  only for the page's rows. The text filter is the one filter no index serves: it looks
  through the newest ``TEXT_WINDOW`` mentions of the other filters, and the page says so.
- **volume, sentiment and share of voice**: the daily rollup (``rollups``), a few hundred
  rows whatever the number of mentions.
- **top words, hashtags and authors**: counted over the newest ``TERMS_WINDOW`` mentions of
  the period and filters (a bounded recent window, said on the page): exact counts over a
  whole year of a busy topic would need a rollup per word, which the page does not need
  to say what people talk about now.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db.models import Q, QuerySet, Subquery

from .models import Mention, MentionMatch, Topic
from .rollups import day_start

PAGE_SIZE = 25
TEXT_WINDOW = 5000
TERMS_WINDOW = 500
TOP = 15
EXPORT_LIMIT = 10_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Words that say nothing about a topic, in the languages the demo and triage know best.
_STOP = """a about after all also am an and any are as at be been but by can could de des did do
    does du en et for from get got had has have he her here him his how i if in into is it its
    just la le les like me more my no not now of on one or our out over so some than that the
    their them then there they this to too un une up us very was we were what when which who
    why will with would you your est pas pour que qui sur avec dans ce cette il elle je nous
    vous ils mais plus tout tres ou au aux son sa ses mon ma mes ton ta tes http https www com
    amp via rt"""
STOP_WORDS = frozenset(_STOP.split())
# Counting words is the page's costliest step: plain ``re`` on lower-cased text, accents kept
# (the matcher's accent folding is too slow for this and shows "eclair" for "éclair").
_WORD = re.compile(r"(?<![#@\w])[^\W\d_]{3,}")
_HASHTAG = re.compile(r"(?<![\w#])#(\w+)")


@dataclass
class Filters:
    start: date
    end: date
    source: str = ""
    sentiment: str = ""
    language: str = ""
    text: str = ""

    @property
    def since(self) -> datetime:
        return day_start(self.start)

    @property
    def until(self) -> datetime:
        return day_start(self.end + timedelta(days=1))


def matches(topic: Topic, filters: Filters) -> QuerySet[MentionMatch]:
    """The topic's matches in the period after the indexed filters, newest first."""
    rows = MentionMatch.objects.filter(
        topic=topic, posted_at__gte=filters.since, posted_at__lt=filters.until
    )
    if filters.sentiment:
        rows = rows.filter(sentiment=filters.sentiment)
    if filters.language:
        rows = rows.filter(language=filters.language)
    if filters.source:
        rows = rows.filter(source_kind=filters.source)
    return rows.order_by("-posted_at", "-mention_id")


def stream(
    topic: Topic,
    filters: Filters,
    before: tuple[datetime, int] | None = None,
    limit: int = PAGE_SIZE,
) -> tuple[list[Mention], str | None]:
    """One page of mentions (newest first) and the ``before`` mark of the next, if any."""
    rows = matches(topic, filters)
    if filters.text:
        window = rows.values("mention_id")[:TEXT_WINDOW]
        rows = rows.filter(mention_id__in=Subquery(window), mention__text__icontains=filters.text)
    if before is not None:
        at, last_id = before
        rows = rows.filter(Q(posted_at__lt=at) | Q(posted_at=at, mention_id__lt=last_id))
    ids = list(rows.values_list("mention_id", flat=True)[: limit + 1])
    more = len(ids) > limit
    ids = ids[:limit]
    found = {mention.pk: mention for mention in Mention.objects.filter(pk__in=ids)}
    page = [found[pk] for pk in ids if pk in found]
    next_mark = None
    if more and page:
        last = page[-1]
        micros = (last.posted_at - EPOCH) // timedelta(microseconds=1)
        next_mark = f"{micros}_{last.pk}"
    return page, next_mark


def parse_mark(value: str) -> tuple[datetime, int] | None:
    """A ``before`` mark back to (posted_at, mention id); None when it is not one."""
    micros, _, last_id = value.partition("_")
    if not (micros.isdigit() and last_id.isdigit()) or len(micros) > 18 or len(last_id) > 18:
        return None
    try:
        return EPOCH + timedelta(microseconds=int(micros)), int(last_id)
    except (OverflowError, ValueError):
        return None


def terms(topic: Topic, filters: Filters) -> dict[str, Any]:
    """Top words, hashtags and authors over the newest ``TERMS_WINDOW`` mentions of the
    period and filters (text excepted); ``counted`` says over how many."""
    rows = list(
        matches(topic, filters).values_list(
            "mention__text", "mention__author_handle", "mention__author_name"
        )[:TERMS_WINDOW]
    )
    words: Counter[str] = Counter()
    hashtags: Counter[str] = Counter()
    authors: Counter[str] = Counter()
    names: dict[str, str] = {}
    for text, handle, name in rows:
        lowered = (text or "").lower()
        hashtags.update(set(_HASHTAG.findall(lowered)))
        words.update({word for word in _WORD.findall(lowered) if word not in STOP_WORDS})
        who = handle or name
        if who:
            authors[who] += 1
            names.setdefault(who, name)
    return {
        "counted": len(rows),
        "window": TERMS_WINDOW,
        "words": [{"term": term, "count": count} for term, count in words.most_common(TOP)],
        "hashtags": [
            {"term": f"#{term}", "count": count} for term, count in hashtags.most_common(TOP)
        ],
        "authors": [
            {"term": who, "name": names.get(who, ""), "count": count}
            for who, count in authors.most_common(TOP)
        ],
    }
