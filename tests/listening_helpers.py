"""A listening topic with a few mentions, for the tests that walk every page (form fuzz,
CSP): the demo's topic when it has one, else one made here."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from socialdesk.listening.matching import Item, store_items
from socialdesk.listening.models import Topic, TopicQuery


def a_topic(workspace) -> int:
    """The id of a topic of ``workspace`` that has a query and mentions."""
    found = Topic.objects.filter(workspace=workspace).order_by("pk").first()
    if found is not None:
        return found.pk
    topic = Topic.objects.create(workspace=workspace, name="Crumb (listening)")
    TopicQuery.objects.create(workspace=workspace, topic=topic, text="crumb OR #crumbbakery")
    now = timezone.now()
    store_items(
        workspace,
        [
            Item(
                source_kind="feed",
                remote_id=f"urn:helper:{n}",
                text=text,
                posted_at=now - timedelta(hours=n * 7),
                author_name="Local news",
            )
            for n, text in enumerate(
                [
                    "Crumb opens a second shop #crumbbakery",
                    "The queue at Crumb was awful this morning",
                    "Crumb's croissants are lovely",
                ]
            )
        ],
    )
    return topic.pk
