"""The demo bakery's listening (issue 15, item 7): it follows itself and two rival bakeries,
with 90 days of mentions on Bluesky and in a local news feed, believable sentiment, the spike
it was alerted to (a TV spot, six days ago) and a critical-words alert still new.

Rows are written directly with ``bulk_create`` (the past did not happen through the
services, and rebuilding must not notify anyone); the same ``now`` gives the same history
(a seeded random generator). ``socialdesk.demo.build_demo`` calls ``build``.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from socialdesk.networks.models import Channel, Network
from socialdesk.workspaces.models import User, Workspace
from socialdesk.workspaces.roles import Role

from . import alerts
from .models import (
    Alert,
    AlertKind,
    AlertSettings,
    AlertState,
    Mention,
    MentionMatch,
    Source,
    SourceKind,
    Topic,
    TopicKind,
    TopicQuery,
)

DAYS = 90
SEED = 15
FEED_URL = "https://paris11-info.example/feed.xml"

# name, kind, queries, mentions a day on average
TOPICS = [
    ("Crumb & Co", TopicKind.BRAND, ['"crumb & co" OR crumbandco OR #crumbandco', "crumb"], 7),
    ("Levain Lane", TopicKind.COMPETITOR, ['"levain lane" OR #levainlane'], 4),
    ("Maison Farine", TopicKind.COMPETITOR, ['"maison farine" OR #maisonfarine'], 3),
]

# What people say, by sentiment; {name} is the bakery.
SAID = {
    "positive": [
        "The croissants at {name} are the best in the 11th 🥐",
        "{name}'s sourdough is worth the queue every single Saturday",
        "Birthday cake from {name} and everyone asked where it came from 🎂",
        "Les pains au chocolat de {name}, un vrai bonheur ce matin",
        "Best almond croissant I have had outside Lyon: {name}",
        "{name} remembered my order without asking. Lovely people.",
    ],
    "neutral": [
        "Is {name} open on Monday? Asking for a friend",
        "Picked up a baguette at {name} on the way to work",
        "{name} has a new seasonal loaf, rye and fig",
        "Quelqu'un sait si {name} fait des gâteaux sans gluten ?",
        "Walking past {name}, the queue is out the door again",
    ],
    "negative": [
        "Waited 20 minutes at {name} and they were out of croissants",
        "{name} raised prices again, a croissant is now 2.20",
        "The baguette from {name} was burnt today, disappointed",
        "Service à {name} un peu froid ce matin",
    ],
}
MOODS = {"positive": 0.55, "neutral": 0.32, "negative": 0.13}
SCORES = {"positive": 0.62, "neutral": 0.0, "negative": -0.55}
PEOPLE = [
    ("ana.bsky.social", "Ana"),
    ("julien.bsky.social", "Julien"),
    ("mei-cooks.bsky.social", "Mei"),
    ("paris11eats.bsky.social", "Paris 11 Eats"),
    ("tom-runs.bsky.social", "Tom"),
    ("chloe-b.bsky.social", "Chloé"),
    ("sam.bsky.social", "Sam"),
    ("lucie-dessine.bsky.social", "Lucie"),
]
NEWS = [
    "Rue Oberkampf: the Saturday market returns with twelve new stalls",
    "The 11th's bakeries compete for the best baguette of Paris",
    "Levain Lane opens a second shop near République",
    "Night works on boulevard Voltaire until the end of the month",
    "Crumb & Co to teach children's baking workshops at the library",
    "Maison Farine changes hands: the founders retire",
]
SPIKE_SAID = [
    "Just saw Crumb & Co on TV! Going tomorrow 📺🥐",
    "Crumb & Co on the evening news, their croissant looked amazing",
    "That Crumb & Co segment on France 3 made me so hungry",
    "Crumb & Co bakery is famous now, the queue will be endless",
]


def _uri(rng: random.Random) -> tuple[str, str]:
    did = f"did:plc:demo{rng.randrange(16**10):010x}"
    return f"at://{did}/app.bsky.feed.post/3l{rng.randrange(36**10):010d}", did


def build(workspace: Workspace, users: dict[Role, User], now: datetime) -> None:
    """Topics, sources, 90 days of mentions, alert settings, a seen spike alert, a new
    critical-words alert and one lead."""
    rng = random.Random(SEED)  # noqa: S311 - a reproducible demo, not a secret
    now = now.astimezone(UTC).replace(microsecond=0)
    channel = Channel.objects.filter(workspace=workspace, network=Network.BLUESKY).first()
    topics = []
    for name, kind, queries, _per_day in TOPICS:
        topic = Topic.objects.create(
            workspace=workspace, name=name, kind=kind, created_at=now - timedelta(days=DAYS)
        )
        TopicQuery.objects.bulk_create(
            [
                TopicQuery(
                    workspace=workspace, topic=topic, text=text, created_by=users[Role.MANAGER]
                )
                for text in queries
            ]
        )
        topics.append(topic)
    brand = topics[0]
    if channel is not None:
        Source.objects.create(workspace=workspace, kind=SourceKind.BLUESKY, channel=channel)
    Source.objects.create(workspace=workspace, kind=SourceKind.FEED, url=FEED_URL)
    AlertSettings.objects.create(
        workspace=workspace,
        topic=brand,
        critical_words="food poisoning\nallergic\nallergy",
        checked_at=now,
    )
    for topic in topics[1:]:
        AlertSettings.objects.create(
            workspace=workspace, topic=topic, sensitivity="low", checked_at=now
        )

    mentions: list[Mention] = []
    owners: list[Topic] = []
    source_ref = str(channel.pk) if channel is not None else ""

    def said(topic: Topic, text: str, at: datetime, mood: str, who: tuple[str, str]) -> Mention:
        uri, did = _uri(rng)
        handle, person = who
        mention = Mention(
            workspace=workspace,
            source_kind=SourceKind.BLUESKY,
            source_ref=source_ref,
            remote_id=uri,
            author_handle=handle,
            author_name=person,
            reach=rng.choice([None, rng.randrange(40, 4000)]),
            url=f"https://bsky.app/profile/{handle}/post/{uri.rsplit('/', 1)[1]}",
            text=text,
            language="fr" if any(w in text for w in (" de ", " ce ", "Quelqu", " un ")) else "en",
            sentiment=mood,
            sentiment_score=SCORES[mood],
            posted_at=at,
            fetched_at=at + timedelta(minutes=rng.randrange(1, 6)),
            reference={"uri": uri, "cid": f"bafyrei{rng.randrange(16**12):012x}", "did": did},
        )
        mentions.append(mention)
        owners.append(topic)
        return mention

    for topic, (_name, _kind, _queries, per_day) in zip(topics, TOPICS, strict=True):
        for day in range(DAYS, 0, -1):
            for _ in range(max(0, round(rng.gauss(per_day, per_day / 3)))):
                at = now - timedelta(days=day, hours=rng.uniform(-9, 9))
                at = at.replace(hour=rng.choice(range(7, 22)))
                if at >= now:
                    continue
                mood = rng.choices(list(MOODS), weights=list(MOODS.values()))[0]
                text = rng.choice(SAID[mood]).format(name=topic.name)
                said(topic, text, at, mood, rng.choice(PEOPLE))

    # The spike: a TV spot six days ago, 18:00–19:00 (local news at 18:00).
    spike_end = (now - timedelta(days=6)).replace(hour=19, minute=0, second=0)
    for index in range(46):
        at = spike_end - timedelta(minutes=58) + timedelta(seconds=75 * index)
        mood = "positive" if index % 5 else "neutral"
        said(brand, rng.choice(SPIKE_SAID), at, mood, rng.choice(PEOPLE))

    # A critical word, two hours ago: not seen yet.
    allergic = said(
        brand,
        "My daughter is allergic to nuts and the Crumb & Co 'plain' brioche had hazelnut in it",
        now - timedelta(hours=2),
        "negative",
        ("chloe-b.bsky.social", "Chloé"),
    )
    # A café owner asking about wholesale: the lead.
    wholesale = said(
        brand,
        "Does Crumb & Co deliver bread to cafés? Looking for a supplier for our new place",
        now - timedelta(days=3, hours=4),
        "neutral",
        ("cafe-lumiere.bsky.social", "Café Lumière"),
    )

    # The local news feed.
    news_rows = []
    for index, day in enumerate(range(DAYS - 2, 0, -9)):
        title = NEWS[index % len(NEWS)]
        at = (now - timedelta(days=day)).replace(hour=6, minute=30, second=0)
        news_rows.append(
            Mention(
                workspace=workspace,
                source_kind=SourceKind.FEED,
                source_ref=FEED_URL,
                remote_id=f"https://paris11-info.example/news/{index + 1}",
                author_name="Paris 11 Info",
                url=f"https://paris11-info.example/news/{index + 1}",
                text=title,
                language="en",
                sentiment="neutral",
                posted_at=at,
                fetched_at=at + timedelta(minutes=20),
            )
        )
    feed_topics = [
        next((t for t in topics if t.name.split()[0] in text), None)
        for text in (row.text for row in news_rows)
    ]
    for row, found in zip(news_rows, feed_topics, strict=True):
        if found is not None:
            mentions.append(row)
            owners.append(found)

    Mention.objects.bulk_create(mentions, batch_size=500)
    MentionMatch.objects.bulk_create(
        [
            MentionMatch(
                mention=mention,
                topic=topic,
                posted_at=mention.posted_at,
                sentiment=mention.sentiment,
                language=mention.language,
                source_kind=mention.source_kind,
            )
            for mention, topic in zip(mentions, owners, strict=True)
        ],
        batch_size=500,
    )
    _alerts(workspace, users, brand, spike_end, allergic, now)
    _lead(workspace, wholesale)


def _alerts(
    workspace: Workspace,
    users: dict[Role, User],
    brand: Topic,
    spike_end: datetime,
    allergic: Mention,
    now: datetime,
) -> None:
    """The spike alert as the heartbeat made it then (its figures computed from the same
    history), seen by the manager; and the critical-words alert, new."""
    window_start = spike_end - alerts.WINDOW
    base_end = window_start.replace(minute=0, second=0)
    baseline = alerts.baseline_of(alerts.hourly_counts(brand, base_end - alerts.BASELINE, base_end))
    count = MentionMatch.objects.filter(
        topic=brand, posted_at__gte=window_start, posted_at__lt=spike_end
    ).count()
    k = alerts.K[alerts.Sensitivity.MEDIUM]
    threshold = baseline.median + k * baseline.spread
    Alert.objects.bulk_create(
        [
            Alert(
                workspace=workspace,
                topic=brand,
                kind=AlertKind.SPIKE,
                state=AlertState.SEEN,
                title=(
                    f"{brand.name}: {count} mentions in the last hour; usual {baseline.usual}"
                    f" (alert above {threshold:.0f})"
                ),
                detail={
                    "count": count,
                    "median": baseline.median,
                    "spread": round(baseline.spread, 2),
                    "k": k,
                    "threshold": round(threshold, 2),
                    "negative": 0,
                },
                window_start=window_start,
                window_end=spike_end,
                created_at=spike_end + timedelta(minutes=4),
                seen_at=spike_end + timedelta(minutes=31),
                seen_by=users[Role.MANAGER],
            ),
            Alert(
                workspace=workspace,
                topic=brand,
                kind=AlertKind.CRITICAL,
                title=f"{brand.name}: critical words “allergic” in a mention",
                detail={"words": ["allergic"], "mention_id": allergic.pk, "url": allergic.url},
                window_start=allergic.posted_at,
                window_end=allergic.posted_at,
                mention=allergic,
                proposes_crisis=True,
                created_at=allergic.fetched_at,
            ),
        ]
    )


def _lead(workspace: Workspace, mention: Mention) -> None:
    from socialdesk.inbox.models import Contact

    Contact.objects.update_or_create(
        workspace=workspace,
        network="bluesky",
        remote_id=str(mention.reference["did"]),
        defaults={
            "handle": mention.author_handle,
            "display_name": mention.author_name,
            "followers": mention.reach,
            "is_lead": True,
            "lead_since": mention.fetched_at,
            "lead_url": mention.url,
            "first_seen_at": mention.posted_at,
        },
    )
