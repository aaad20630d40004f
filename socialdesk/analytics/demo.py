"""The demo bakery's analytics history (issue 14, item 8): six months of posts before the
demo's own month, with metric snapshots at every age they have reached, each channel's
followers day by day, the public page's short links with their clicks, and a few orders
reported back for those clicks, and two experiments: one finished with its verdict, one
still running.

The numbers follow simple, stated habits, so that the analytics pages have something true
to find: Saturday and Sunday mornings and 07:30 on weekdays do best, lunchtime worst; "Fresh
from the oven" beats "Offers"; Bluesky's audience is about twice Mastodon's and both grow;
engagement arrives mostly in the first day (90 % by +24 h). Around that, seeded noise.

Rows are written directly (the past did not happen through the services, and rebuilding must
notify nobody); the same ``now`` gives the same history. ``socialdesk.demo.build_demo``
calls ``build`` after the rest of the demo exists.
"""

from __future__ import annotations

import base64
import math
import random
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from socialdesk.content.models import Campaign, Pillar, Post, PostVersion
from socialdesk.networks.models import Channel, Network
from socialdesk.networks.page import PageConnector
from socialdesk.page.models import PageEntry
from socialdesk.publishing.connectors import content_for
from socialdesk.publishing.models import Delivery, DeliveryState
from socialdesk.publishing.services import record_history
from socialdesk.workspaces.models import User, Workspace

from . import experiments
from .metrics import mark_latest
from .models import (
    BUCKETS,
    ChannelDay,
    Click,
    Conversion,
    Experiment,
    ExperimentMetric,
    ExperimentVariant,
    MetricSnapshot,
    ShortLink,
)

SEED = 14
WEEKS = 26
# The demo's own plan (socialdesk.demo) covers the last two weeks and the two ahead.
HISTORY_ENDS_DAYS_AGO = 15
# Local time → how well a post does then (the habit the best-time finder should see).
SLOTS = {"07:30": 1.3, "12:00": 0.75, "18:00": 1.05, "weekend 09:30": 1.6}
PILLAR_PULL = {"Fresh from the oven": 1.25, "Behind the scenes": 1.0, "Community": 0.9}
AUDIENCE: dict[str, tuple[int, int]] = {
    Network.BLUESKY: (420, 1310),
    Network.MASTODON: (180, 470),
}  # followers then, now
LIKES_PER_100_FOLLOWERS: dict[str, float] = {Network.BLUESKY: 3.2, Network.MASTODON: 3.6}

TEXTS = [
    ("Sourdough Saturday", "Country sourdough, 36 hours in the making. Crust that sings. 🍞"),
    ("Croissant shelf", "The croissant shelf at 7:31. It will not look like this for long. 🥐"),
    ("Night shift", "2 a.m., the night shift folds the laminated dough for tomorrow."),
    ("Pain de mie", "Pain de mie du jour : moelleux, doré, parfait pour le goûter."),
    ("Meet Léa", "Meet Léa, our pastry chef: ten years of tarts, zero shortcuts."),
    ("Food bank", "Yesterday's loaves went to the 11e food bank, as every Monday. Merci !"),
    ("Rye and seeds", "New: rye with sunflower and flax seeds. Dense, nutty, keeps for days."),
    ("Tarte du moment", "La tarte du moment : pommes, cannelle, pâte sablée maison."),
    ("Workshop recap", "Twelve neighbours, twelve scored loaves: thank you for Saturday!"),
    ("Club offer", "Croissant Club: ten croissants for the price of eight, every Sunday."),
    ("Flour mill", "Our flour comes from a mill 80 km away. We visited it this week."),
    ("Brioche", "Brioche feuilletée, butter-rich and flaky. Weekends only."),
]
LINKED = {
    "Club offer": "https://crumb.example/croissant-club",
    "Workshop recap": "https://crumb.example/workshops",
    "Brioche": "https://crumb.example/order",
}


def build(workspace: Workspace, author: User, now: datetime) -> None:
    rng = random.Random(SEED)  # noqa: S311 - a repeatable demo, not a secret
    channels = {c.network: c for c in Channel.objects.filter(workspace=workspace)}
    pillars = {p.name: p for p in Pillar.objects.filter(workspace=workspace)}
    campaign = Campaign.objects.filter(workspace=workspace).first()
    _history(workspace, author, channels, pillars, campaign, now, rng)
    finished, _running = _experiments(workspace, author, channels, pillars, now, rng)
    published = list(
        Delivery.objects.filter(
            workspace=workspace, state=DeliveryState.PUBLISHED, published_at__lte=now
        ).select_related("channel__workspace", "post__pillar")
    )
    _snapshots(published, now, rng)
    _channel_days(workspace, channels, published, now, rng)
    _clicks(workspace, now, rng)
    # Concluded by the service, from the snapshots above: a real verdict, not a written one.
    experiments.conclude(finished, now=now)


# The finished experiment: the same croissant post at lunchtime (A) or first thing (B), on
# Bluesky, on a Tuesday and the Wednesday after, five weeks ago or more; the slots' habit
# (``SLOTS``) decides it.
CROISSANT = "Warm croissants on the shelf right now, butter from Isigny. Come early! 🥐"
# The running one, on Mastodon, in the last days: a question against a statement. Its
# audience is small, so it still needs more followers than it has reached.
QUESTION = "Which loaf is on your Sunday table: sourdough, rye or brioche? 🍞"
STATEMENT = "Sunday tables deserve real bread: sourdough, rye and brioche from 8 a.m. 🍞"


def _weekday_before(day: date, weekday: int) -> date:
    return day - timedelta(days=(day.weekday() - weekday) % 7 or 7)


def _experiments(
    workspace: Workspace,
    author: User,
    channels: dict[str, Channel],
    pillars: dict[str, Pillar],
    now: datetime,
    rng: random.Random,
) -> tuple[Experiment, Experiment]:
    """One experiment to finish (its variants published weeks ago) and one still running
    (published in the last days), their posts published as the history's are."""
    today = timezone.localdate(now, workspace.zone)
    tuesday = _weekday_before(today - timedelta(days=35), 1)
    finished = _experiment(
        workspace,
        author,
        "Croissant shelf: lunchtime or first thing?",
        "The shelf photo does better at 07:30, when people are on their way to work.",
        baseline=0.04,
        effect=0.03,
        created=tuesday - timedelta(days=2),
    )
    sky = channels[Network.BLUESKY]
    oven = pillars.get("Fresh from the oven")
    for label, at in (("A", "12:00"), ("B", "07:30")):
        post = _variant_post(workspace, author, finished, label, CROISSANT, oven, f"at {at}")
        day = tuesday + timedelta(days=label == "B")
        when = datetime.combine(day, time.fromisoformat(at), tzinfo=workspace.zone)
        _published(post, sky, when.astimezone(UTC), rng)
    running = _experiment(
        workspace,
        author,
        "Sunday bread: a question or a statement?",
        "Asking people which loaf they pick gets more replies and likes than telling them.",
        baseline=0.05,
        effect=0.03,
        created=today - timedelta(days=4),
    )
    toot = channels[Network.MASTODON]
    for label, text, back in (("A", STATEMENT, 3), ("B", QUESTION, 2)):
        post = _variant_post(workspace, author, running, label, text, oven, "")
        when = datetime.combine(today - timedelta(days=back), time(18, 0), tzinfo=workspace.zone)
        _published(post, toot, when.astimezone(UTC), rng)
    return finished, running


def _experiment(
    workspace: Workspace,
    author: User,
    name: str,
    hypothesis: str,
    *,
    baseline: float,
    effect: float,
    created: date,
) -> Experiment:
    experiment = Experiment.objects.create(
        workspace=workspace,
        name=name,
        hypothesis=hypothesis,
        metric=ExperimentMetric.ENGAGEMENT_PER_FOLLOWER,
        baseline_rate=baseline,
        minimum_effect=effect,
        required_per_variant=experiments.required_sample(baseline, effect, 2),
        created_by=author,
    )
    at = datetime.combine(created, time(16, 0), tzinfo=workspace.zone)
    Experiment.objects.filter(pk=experiment.pk).update(created_at=at)
    return experiment


def _variant_post(
    workspace: Workspace,
    author: User,
    experiment: Experiment,
    label: str,
    text: str,
    pillar: Pillar | None,
    description: str,
) -> Post:
    post = Post.objects.create(
        workspace=workspace,
        author=author,
        title=f"{experiment.name} — variant {label}"[:200],
        text=text,
        pillar=pillar,
    )
    PostVersion.objects.create(post=post, number=1, text=text, created_by=author)
    ExperimentVariant.objects.create(
        experiment=experiment, label=label, post=post, description=description
    )
    return post


def _history(
    workspace: Workspace,
    author: User,
    channels: dict[str, Channel],
    pillars: dict[str, Pillar],
    campaign: Campaign | None,
    now: datetime,
    rng: random.Random,
) -> None:
    """Three posts a week for six months, each on one to three channels."""
    today = timezone.localdate(now, workspace.zone)
    for week in range(WEEKS):
        for number, (slot, weekday) in enumerate((("07:30", 1), ("12:00", 3), ("weekend", 5))):
            day = today - timedelta(days=HISTORY_ENDS_DAYS_AGO + 7 * week + weekday)
            at = "09:30" if slot == "weekend" else slot
            when = datetime.combine(day, time.fromisoformat(at), tzinfo=workspace.zone)
            title, text = TEXTS[(week * 3 + number) % len(TEXTS)]
            if title in LINKED:
                text = f"{text} {LINKED[title]}"
            pillar_name = "Offers" if title == "Club offer" else rng.choice(list(PILLAR_PULL))
            post = Post.objects.create(
                workspace=workspace,
                author=author,
                title=title,
                text=text,
                pillar=pillars.get(pillar_name),
                campaign=campaign if title == "Club offer" else None,
            )
            PostVersion.objects.create(post=post, number=1, text=text, created_by=author)
            Post.objects.filter(pk=post.pk).update(created_at=when - timedelta(days=3))
            targets = [Network.PAGE, Network.BLUESKY, Network.MASTODON]
            for network in rng.sample(targets, k=rng.choice((1, 2, 3, 3))):
                _published(post, channels[network], when.astimezone(UTC), rng)


def _published(post: Post, channel: Channel, when: datetime, rng: random.Random) -> None:
    key = f"{channel.network}-{post.pk}-{rng.getrandbits(40):x}"
    delivery = record_history(
        post,
        channel,
        DeliveryState.PUBLISHED,
        when,
        remote_id=f"demo-history-{key}",
        remote_url=f"https://example.invalid/{key}",
        published_at=when + timedelta(seconds=2),
        attempts=1,
    )
    if channel.network == Network.PAGE:
        # For real through the page connector, as the engine sends: links become short links.
        published = PageConnector(channel).publish(
            content_for(delivery, sending=True), delivery.idempotency_key
        )
        Delivery.objects.filter(pk=delivery.pk).update(
            remote_id=published.remote_id, remote_url=published.remote_url
        )
        PageEntry.objects.filter(delivery=delivery).update(published_at=delivery.published_at)


def _pull(delivery: Delivery) -> float:
    """How well this post does, from its time slot, pillar and the audience it met."""
    local = timezone.localtime(delivery.published_at, delivery.channel.zone)
    weekend = local.weekday() >= 5
    slot = "weekend 09:30" if weekend and local.hour < 11 else f"{local:%H}:{local:%M}"
    pillar = delivery.post.pillar.name if delivery.post and delivery.post.pillar else ""
    return SLOTS.get(slot, 0.9) * PILLAR_PULL.get(pillar, 0.7)


def _followers(network: str, at: datetime, now: datetime) -> int:
    first, last = AUDIENCE[network]
    share = max(0.0, 1 - (now - at).days / (WEEKS * 7 + 30))
    return round(first + (last - first) * share**1.4)


def _snapshots(published: list[Delivery], now: datetime, rng: random.Random) -> None:
    rows = []
    for delivery in published:
        network = delivery.channel.network
        if network not in AUDIENCE or delivery.published_at is None:
            continue  # the page gives no counts of its own (its clicks are below)
        audience = _followers(network, delivery.published_at, now)
        likes_at_end = (
            audience
            / 100
            * LIKES_PER_100_FOLLOWERS[network]
            * _pull(delivery)
            * rng.lognormvariate(0, 0.35)
        )
        for bucket in BUCKETS:
            taken = delivery.published_at + timedelta(hours=bucket, minutes=rng.randint(1, 9))
            if taken > now:
                break
            share = 1 - math.exp(-bucket / 10) * 0.9 - 0.1 * math.exp(-bucket / 400)
            likes = likes_at_end * share
            rows.append(
                MetricSnapshot(
                    workspace_id=delivery.workspace_id,
                    delivery=delivery,
                    channel=delivery.channel,
                    published_at=delivery.published_at,
                    taken_at=taken,
                    bucket=bucket,
                    likes=round(likes),
                    reposts=round(likes * 0.24),
                    replies=round(likes * 0.11),
                    quotes=round(likes * 0.04) if network == Network.BLUESKY else None,
                    views=None,
                    clicks=None,
                )
            )
    MetricSnapshot.objects.bulk_create(rows, batch_size=500)
    # The Analytics pages read each post's latest reading, marked as the metrics poll marks it.
    mark_latest(sorted({row.delivery_id for row in rows}))


def _channel_days(
    workspace: Workspace,
    channels: dict[str, Channel],
    published: list[Delivery],
    now: datetime,
    rng: random.Random,
) -> None:
    rows = []
    for network in AUDIENCE:
        channel = channels[network]
        posts: dict[Any, int] = {}
        for delivery in published:
            if delivery.channel_id == channel.pk and delivery.published_at:
                day = timezone.localdate(delivery.published_at, channel.zone)
                posts[day] = posts.get(day, 0) + 1
        today = timezone.localdate(now, channel.zone)
        for back in range(WEEKS * 7 + 7, -1, -1):
            day = today - timedelta(days=back)
            read = datetime.combine(day, time(6, 0), tzinfo=channel.zone).astimezone(UTC)
            if read > now:
                continue
            followers = _followers(network, read, now) + rng.randint(-3, 3)
            rows.append(
                ChannelDay(
                    workspace=workspace,
                    channel=channel,
                    day=day,
                    followers=followers,
                    followers_read_at=read,
                    posts=posts.get(day, 0),
                )
            )
    ChannelDay.objects.bulk_create(rows, batch_size=500)


def _clicks(workspace: Workspace, now: datetime, rng: random.Random) -> None:
    """Clicks on the page's short links over the days after each post, and an order for
    about one club click in twelve."""
    clicks, orders = [], []
    links = ShortLink.objects.filter(workspace=workspace).select_related("delivery")
    for link in links:
        published = link.delivery.published_at
        if published is None:
            continue
        visitors = [f"{rng.getrandbits(128):032x}" for _ in range(rng.randint(6, 30))]
        for _ in range(rng.randint(10, 45)):
            at = published + timedelta(hours=rng.expovariate(1 / 14))
            if at > now:
                continue
            token = base64.urlsafe_b64encode(rng.getrandbits(96).to_bytes(12, "big")).decode()
            click = Click(
                workspace=workspace, link=link, at=at, visitor=rng.choice(visitors), token=token
            )
            clicks.append(click)
            if "croissant-club" in link.source_url and rng.random() < 1 / 12:
                orders.append((click, at + timedelta(minutes=rng.randint(3, 90))))
    Click.objects.bulk_create(clicks, batch_size=500)
    Conversion.objects.bulk_create(
        [
            Conversion(
                workspace=workspace,
                click=click,
                order_id=f"CC-{1040 + number}",
                value=Decimal(rng.choice(["24.00", "32.50", "18.90", "45.00"])),
                currency="EUR",
                created_at=min(at, now),
                attributed=True,
                link=click.link,
                post=click.link.post,
                channel=click.link.channel,
                campaign=click.link.campaign,
                window_days=30,
            )
            for number, (click, at) in enumerate(orders)
        ]
    )
