"""Mentions made straight in the database (no triage, no matching), for alert tests."""

from __future__ import annotations

from datetime import datetime
from itertools import count

from socialdesk.listening.models import Mention, MentionMatch, Topic

_numbers = count(1)


def mentions_at(
    topic: Topic,
    moments: list[datetime],
    *,
    sentiment: str = "neutral",
    text: str = "Crumb's croissants",
    source_kind: str = "feed",
    **fields,
) -> list[Mention]:
    """One mention of ``topic`` at each of ``moments``."""
    made = Mention.objects.bulk_create(
        [
            Mention(
                workspace_id=topic.workspace_id,
                source_kind=source_kind,
                remote_id=f"test-{next(_numbers)}",
                text=text,
                sentiment=sentiment,
                posted_at=moment,
                **fields,
            )
            for moment in moments
        ]
    )
    MentionMatch.objects.bulk_create(
        [
            MentionMatch(
                mention=mention,
                topic=topic,
                posted_at=mention.posted_at,
                sentiment=sentiment,
                source_kind=source_kind,
            )
            for mention in made
        ]
    )
    return made
