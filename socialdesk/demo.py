"""The demo: Crumb & Co Bakery, a month of posts around today, one person per role.

``build_demo()`` resets the demo workspace (slug ``crumb``) and rebuilds it, so running it
twice gives the same data, with dates that stay around today: two weeks of sent posts behind,
two weeks of scheduled posts ahead, and a delivery in every ``DeliveryState``. The demo users
are kept (their password is reset to ``DEMO_PASSWORD``); other workspaces are never touched.

Future posts go through ``content.services.create_post``, like a person's would. Past ones
are written directly with the state the publishing engine would have left them in, because
the service (rightly) refuses to schedule in the past.

The public page (``/@crumb``) has a profile, "link in bio" buttons, and real entries for the
past page deliveries, written by the page connector itself. Three page-only posts are
scheduled for 2, 4 and 6 minutes after the demo is built, so that a person who runs
``make run`` and opens the page sees them appear at their minutes, published by the worker.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from socialdesk.content.models import Campaign, Label, Pillar, Post, PostVersion
from socialdesk.content.services import PostContent, create_post
from socialdesk.inbox import demo as inbox_demo
from socialdesk.networks.models import Channel, ChannelStatus, Network
from socialdesk.networks.page import PageConnector
from socialdesk.page.models import PageEntry, PageLink, PageProfile
from socialdesk.publishing.connectors import content_for
from socialdesk.publishing.models import Delivery, DeliveryState
from socialdesk.publishing.services import record_history
from socialdesk.workspaces.models import ApiToken, Membership, User, Workspace
from socialdesk.workspaces.roles import Role
from socialdesk.workspaces.services import create_workspace

SLUG = "crumb"
NAME = "Crumb & Co Bakery"
TIME_ZONE = "Europe/Paris"
DEMO_PASSWORD = "crumb-and-co-demo"  # noqa: S105 (printed on screen: it is a demo)
TOKEN_NAME = "Demo token"  # noqa: S105 (a label, not a secret)

PEOPLE = [
    (Role.OWNER, "owner@crumb.example", "Camille Laurent"),
    (Role.MANAGER, "manager@crumb.example", "Hugo Martin"),
    (Role.CREATOR, "creator@crumb.example", "Léa Dubois"),
    (Role.APPROVER, "approver@crumb.example", "Noah Bernard"),
    (Role.CLIENT, "client@crumb.example", "Inès Moreau"),
    (Role.ANALYST, "analyst@crumb.example", "Jules Petit"),
    (Role.COMMUNITY_MANAGER, "community_manager@crumb.example", "Zoé Girard"),
]

LABELS = [
    ("sourdough", "#b45309"),
    ("viennoiserie", "#d97706"),
    ("events", "#7c3aed"),
    ("team", "#059669"),
    ("offers", "#dc2626"),
]

# Target shares add up to 100.
PILLARS = [
    ("Fresh from the oven", "What is on the shelves today.", "#ea580c", 40),
    ("Behind the scenes", "The bakers, the night shift, the craft.", "#2563eb", 25),
    ("Community", "Workshops, neighbours, the food bank.", "#16a34a", 20),
    ("Offers", "Deals and the Croissant Club.", "#db2777", 15),
]

REVOKED = (
    "401 Unauthorized: The access token was revoked. Reconnect the Mastodon channel, then retry."
)


@dataclass(frozen=True)
class PlannedPost:
    """One demo post. ``day`` counts from today in the bakery's time zone.

    ``states`` maps a network to the delivery state it ends in; for a future post every
    delivery is scheduled (or a draft when ``at`` is None). ``minutes_ago`` overrides
    ``day``/``at`` for the posts the engine is busy with right now, ``minutes_ahead`` for the
    ones it publishes while a person watches.
    """

    day: int
    at: str | None
    title: str
    text: str
    pillar: str
    labels: tuple[str, ...]
    states: dict[str, DeliveryState]
    campaign: bool = False
    author: Role = Role.CREATOR
    minutes_ago: int | None = None
    minutes_ahead: int | None = None
    errors: dict[str, str] = field(default_factory=dict)


P, B, M = Network.PAGE, Network.BLUESKY, Network.MASTODON
S = DeliveryState

PLAN = [
    PlannedPost(
        -13,
        "07:30",
        "Country sourdough",
        "Our country sourdough is out of the oven and still crackling. 48-hour ferment, "
        "stone-baked, best with salted butter. Doors open at 7:30 🍞",
        "Fresh from the oven",
        ("sourdough",),
        {P: S.PUBLISHED, B: S.PUBLISHED, M: S.PUBLISHED},
    ),
    PlannedPost(
        -12,
        "12:00",
        "Third fold",
        "4:15 am at Crumb & Co: the croissant dough gets its third fold. 27 layers of butter, "
        "one very sleepy baker. ☕",
        "Behind the scenes",
        ("viennoiserie", "team"),
        {P: S.PUBLISHED, B: S.PUBLISHED},
    ),
    PlannedPost(
        -10,
        "17:30",
        "Scoring workshop thanks",
        "Thank you to everyone who came to Saturday's bread-scoring workshop! Your loaves were "
        "beautiful (and a few were beautifully wonky). The next session is open for sign-ups.",
        "Community",
        ("events",),
        {P: S.PUBLISHED, B: S.PUBLISHED, M: S.PUBLISHED},
        author=Role.MANAGER,
    ),
    PlannedPost(
        -9,
        "08:00",
        "Tuesday coffee",
        "Tuesday treat: buy any two viennoiseries before 10 am and the coffee is on us.",
        "Offers",
        ("offers", "viennoiserie"),
        {P: S.PUBLISHED, B: S.PUBLISHED, M: S.FAILED},
        errors={M: REVOKED},
    ),
    PlannedPost(
        -7,
        "07:30",
        "Croissant Club launch",
        "The Croissant Club is here 🥐 One croissant a day, every day, for €25 a month. "
        "Sign up at the counter or on our page.",
        "Offers",
        ("offers", "viennoiserie"),
        {P: S.PUBLISHED, B: S.PUBLISHED, M: S.FAILED},
        campaign=True,
        author=Role.MANAGER,
        errors={M: REVOKED},
    ),
    PlannedPost(
        -6,
        "12:30",
        "Rye is back",
        "Rye and caraway is back on the shelf this week. Dense, fragrant, and perfect with "
        "smoked salmon.",
        "Fresh from the oven",
        ("sourdough",),
        {P: S.PUBLISHED, B: S.UNKNOWN},
        errors={
            B: "Connection reset while waiting for Bluesky's answer; the post may exist. "
            "It will be checked on Bluesky before any retry."
        },
    ),
    PlannedPost(
        -4,
        "16:00",
        "Meet Margaux",
        "Meet Margaux, who shapes every baguette you've bought from us this year. Her secret? "
        '"Cold hands and no rushing."',
        "Behind the scenes",
        ("team",),
        {P: S.PUBLISHED, B: S.MISSED},
        errors={
            B: "Not published: the worker was stopped until after the workspace's late "
            "window (6 hours)."
        },
    ),
    PlannedPost(
        -3,
        "09:00",
        "Focaccia flash sale",
        "Flash sale: half-price focaccia from 4 pm, while it lasts!",
        "Offers",
        ("offers",),
        {P: S.CANCELLED, B: S.CANCELLED},
        author=Role.MANAGER,
    ),
    PlannedPost(
        -2,
        "07:30",
        "Weekend menu",
        "Cinnamon knots, cardamom buns and a very good almond croissant. The weekend menu in "
        "one photo.",
        "Fresh from the oven",
        ("viennoiserie",),
        {P: S.PUBLISHED, B: S.PUBLISHED, M: S.FAILED},
        errors={M: REVOKED},
    ),
    PlannedPost(
        -1,
        "18:00",
        "Bread for the food bank",
        "Our unsold bread now goes to the food bank on rue Oberkampf every evening. Thank you "
        "to the volunteers who pick it up at closing time. 💛",
        "Community",
        ("team",),
        {P: S.PUBLISHED, B: S.PUBLISHED},
    ),
    PlannedPost(
        0,
        None,
        "Lunch counter",
        "Lunch is ready: quiche lorraine, leek and goat's cheese tart, and a tomato focaccia "
        "still warm from the oven.",
        "Fresh from the oven",
        (),
        {P: S.PUBLISHED, B: S.PUBLISHING},
        minutes_ago=3,
    ),
    PlannedPost(
        0,
        None,
        "Club reminder",
        "Reminder: Croissant Club members, your first pickup is tomorrow from 7:30. Bring "
        "your card (or just your smile).",
        "Offers",
        ("offers",),
        {P: S.PUBLISHED, B: S.WAITING_RETRY},
        campaign=True,
        minutes_ago=12,
        errors={B: "429 Too Many Requests: rate limited by Bluesky; retrying in 5 minutes."},
    ),
    # Page only, due while the person who just ran the demo watches the page.
    PlannedPost(
        0,
        None,
        "Pains au chocolat, live",
        "Fresh out of the oven right now: pains au chocolat, still warm. Come and get one "
        "before 11! #viennoiserie #fromtheoven",
        "Fresh from the oven",
        ("viennoiserie",),
        {P: S.SCHEDULED},
        minutes_ahead=2,
    ),
    PlannedPost(
        0,
        None,
        "Workshop places, live",
        "Two places left for Saturday's bread-scoring workshop. Flour and coffee included; "
        "sign up here: https://crumb.example/workshops #workshop #sourdough",
        "Community",
        ("events",),
        {P: S.SCHEDULED},
        author=Role.MANAGER,
        minutes_ahead=4,
    ),
    PlannedPost(
        0,
        None,
        "Hello from the worker",
        "You are watching this page fill up live 👋 Every post here was planned and scheduled "
        "in Socialdesk, then published by its worker at its minute. #behindthescenes",
        "Behind the scenes",
        ("team",),
        {P: S.SCHEDULED},
        minutes_ahead=6,
    ),
    PlannedPost(
        1,
        "07:30",
        "First club pickup",
        "Good morning, Croissant Club! 🥐 First pickup today. Thirty-two of you signed up in "
        "a week: thank you.",
        "Offers",
        ("viennoiserie", "offers"),
        {P: S.SCHEDULED, B: S.SCHEDULED, M: S.SCHEDULED},
        campaign=True,
    ),
    PlannedPost(
        2,
        "12:00",
        "How we laminate",
        "How do you get 27 layers in a croissant? Three folds, a cold room and patience. "
        "Swipe through the night shift.",
        "Behind the scenes",
        ("viennoiserie", "team"),
        {P: S.SCHEDULED, B: S.SCHEDULED},
    ),
    PlannedPost(
        4,
        "08:00",
        "Seeded loaf",
        "New on the shelf: a seeded spelt loaf with sunflower, pumpkin and flax. Nutty, "
        "moist, keeps for days.",
        "Fresh from the oven",
        ("sourdough",),
        {P: S.SCHEDULED, B: S.SCHEDULED},
    ),
    PlannedPost(
        6,
        "17:00",
        "Scoring workshop #2",
        "Bread-scoring workshop #2 is on Saturday at 3 pm. Eight places, flour and coffee "
        "included. Reply here or ask at the counter.",
        "Community",
        ("events",),
        {P: S.SCHEDULED, B: S.SCHEDULED, M: S.SCHEDULED},
        author=Role.MANAGER,
    ),
    PlannedPost(
        8,
        "07:45",
        "Loyalty card",
        "Ten coffees, the eleventh is ours. The new loyalty card is at the till.",
        "Offers",
        ("offers",),
        {P: S.SCHEDULED},
        campaign=True,
    ),
    PlannedPost(
        10,
        "12:00",
        "Lemon tartlets",
        "Lemon meringue tartlets are back for the weekend. Torched to order. 🍋",
        "Fresh from the oven",
        (),
        {P: S.SCHEDULED, B: S.SCHEDULED},
    ),
    PlannedPost(
        12,
        "09:00",
        "Our miller",
        "Our flour comes from a family mill 60 km from the shop. This week we visited: "
        "stone wheels, old wood and a very friendly dog.",
        "Behind the scenes",
        ("team", "sourdough"),
        {P: S.SCHEDULED, B: S.SCHEDULED},
    ),
    PlannedPost(
        13,
        None,
        "Morning bake video",
        "Idea: a one-minute video of the morning bake, from the first oven door to the "
        "first customer.",
        "Behind the scenes",
        ("team",),
        {P: S.DRAFT, B: S.DRAFT},
    ),
    PlannedPost(
        14,
        None,
        "Cake pre-orders",
        "Celebration cakes: pre-orders open soon. (Waiting for Camille's prices.)",
        "Offers",
        ("offers",),
        {P: S.DRAFT},
    ),
]


@dataclass
class Demo:
    workspace: Workspace
    users: dict[str, User]
    password: str
    token: str
    counts: dict[str, int] = field(default_factory=dict)


def build_demo(now: datetime | None = None, keep_existing: bool = False) -> Demo:
    """Reset and rebuild the demo workspace; return it with a fresh API token for the owner.

    With ``keep_existing`` an existing demo workspace is left as it is (only the logins and
    the token are renewed), so ``make run`` never wipes what a person did in the demo.

    Refuses (ValidationError) when a workspace with the demo's address exists that the demo
    owner does not own: that is somebody's real workspace, never deleted.
    """
    now = now or timezone.now()
    with transaction.atomic():
        users = _people()
        owner = users[Role.OWNER]
        existing = Workspace.objects.filter(slug=SLUG).first()
        if existing is not None:
            if not Membership.objects.filter(
                workspace=existing, user=owner, role=Role.OWNER
            ).exists():
                raise ValidationError(
                    {
                        "slug": [
                            f"A workspace {SLUG!r} exists that is not the demo; not touching it."
                        ]
                    }
                )
            if not keep_existing:
                existing.delete()
        if existing is not None and keep_existing:
            workspace = existing
            _replan_live_posts(workspace, users, now)
        else:
            workspace = create_workspace(owner, NAME, slug=SLUG, time_zone=TIME_ZONE)
            for role, user in users.items():
                if role != Role.OWNER:
                    Membership.objects.create(workspace=workspace, user=user, role=role)
            channels = _channels(workspace)
            _page_profile(workspace)
            taxonomy = _taxonomy(workspace, timezone.localdate(now, workspace.zone))
            for index, planned in enumerate(PLAN):
                _build_post(workspace, users, channels, taxonomy, planned, index, now)
            # Bluesky and Mastodon have no account behind them: once their plan is made they
            # say so ("Example — no account connected"); their history stays, and what
            # comes due waits instead of failing.
            from socialdesk.networks.states import move_channel

            for network in (Network.BLUESKY, Network.MASTODON):
                move_channel(
                    channels[network],
                    ChannelStatus.EXAMPLE,
                    "demo: an example account; none is connected",
                    "system: demo",
                )
            # Stages, decisions and history for the workflow pages (socialdesk.workflow).
            from socialdesk.workflow.demo import build as build_workflow

            build_workflow(workspace, users, now)
            # Comments and an open client review link (socialdesk.review).
            from socialdesk.review.demo import build as build_review

            build_review(workspace, users, now)
            inbox_demo.build(workspace, users, now)  # 90 days of inbox history (issue 13)
            # Six months of metrics, clicks and orders for the analytics pages (issue 14).
            from socialdesk.analytics.demo import build as build_analytics

            build_analytics(workspace, users[Role.MANAGER], now)
            # A weekly report for the owner and the client (issue 14 item 7).
            from socialdesk.analytics.reports import build_demo as build_report

            build_report(workspace, users)
            # Listening: the bakery, two rivals, local news, a spike it was alerted to (#15).
            from socialdesk.listening.demo import build as build_listening

            build_listening(workspace, users, now)
        ApiToken.objects.filter(user=owner, name=TOKEN_NAME).delete()
        _, raw = ApiToken.issue(workspace, owner, TOKEN_NAME)
    counts = {
        "posts": Post.objects.filter(workspace=workspace).count(),
        "deliveries": Delivery.objects.filter(workspace=workspace).count(),
        "channels": Channel.objects.filter(workspace=workspace).count(),
    }
    return Demo(
        workspace=workspace,
        users={role.value: user for role, user in users.items()},
        password=DEMO_PASSWORD,
        token=raw,
        counts=counts,
    )


def _replan_live_posts(workspace: Workspace, users: dict[Role, User], now: datetime) -> None:
    """On a kept demo, plan the live page posts again when none is due soon, so that every
    ``make run`` shows posts appearing on the public page at their minutes."""
    page = Channel.objects.filter(
        workspace=workspace, network=Network.PAGE, status=ChannelStatus.CONNECTED
    ).first()
    if page is None:
        return
    due_soon = page.deliveries.filter(
        state=DeliveryState.SCHEDULED,
        scheduled_at__gt=now,
        scheduled_at__lte=now + timedelta(minutes=15),
    )
    if due_soon.exists():
        return
    labels = {label.name: label for label in Label.objects.filter(workspace=workspace)}
    pillars = {pillar.name: pillar for pillar in Pillar.objects.filter(workspace=workspace)}
    from socialdesk.workflow.demo import plan_ready

    for planned in PLAN:
        if planned.minutes_ahead is None:
            continue
        pillar = pillars.get(planned.pillar)
        post = create_post(
            workspace,
            users[planned.author],
            PostContent(
                title=planned.title,
                text=planned.text,
                channel_ids=[page.pk],
                label_ids=[labels[name].pk for name in planned.labels if name in labels],
                pillar_id=pillar.pk if pillar else None,
                scheduled_at=now + timedelta(minutes=planned.minutes_ahead),
            ),
        )
        plan_ready(post, users, now)  # approved, as the first build's live posts were


def _people() -> dict[Role, User]:
    users = {}
    for role, email, name in PEOPLE:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(email=email, password=DEMO_PASSWORD, name=name)
        else:
            user.name = name
            user.is_active = True
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["name", "is_active", "password"])
        users[role] = user
    return users


def _channels(workspace: Workspace) -> dict[str, Channel]:
    # All connected (a new channel's status) while the plan is made; then Bluesky and
    # Mastodon become examples, see build_demo.
    specs: list[tuple[str, str, str]] = [
        (Network.PAGE, "crumb", "Crumb & Co Bakery"),
        (Network.BLUESKY, "crumb.bsky.social", "Crumb & Co 🥐"),
        (Network.MASTODON, "@crumb@mastodon.social", "Crumb & Co"),
    ]
    return {
        network: Channel.objects.create(
            workspace=workspace,
            network=network,
            handle=handle,
            display_name=display_name,
            remote_account_id=_fake_id(network, handle),
        )
        for network, handle, display_name in specs
    }


PAGE_LINKS = [
    ("Join the Croissant Club", "https://crumb.example/croissant-club"),
    ("Order a celebration cake", "https://crumb.example/cakes"),
    ("Workshops and events", "https://crumb.example/workshops"),
    (
        "Find us: 12 rue Oberkampf",
        "https://www.openstreetmap.org/search?query=rue%20Oberkampf%20Paris",
    ),
]


def _page_profile(workspace: Workspace) -> None:
    PageProfile.objects.create(
        workspace=workspace,
        display_name=NAME,
        bio="Sourdough, viennoiserie and very good coffee in Paris 11e. "
        "Open 7:30–19:00, closed on Mondays.",
        utm_campaign="crumb-page",
    )
    for position, (label, url) in enumerate(PAGE_LINKS):
        PageLink.objects.create(workspace=workspace, label=label, url=url, position=position)


def _taxonomy(workspace: Workspace, today: date) -> dict[str, Any]:
    labels = {
        name: Label.objects.create(workspace=workspace, name=name, color=color)
        for name, color in LABELS
    }
    pillars = {
        name: Pillar.objects.create(
            workspace=workspace, name=name, description=description, color=color, target_share=share
        )
        for name, description, color, share in PILLARS
    }
    campaign = Campaign.objects.create(
        workspace=workspace,
        name="Croissant Club launch",
        starts_on=today - timedelta(days=7),
        ends_on=today + timedelta(days=10),
        goal="200 Croissant Club members by the end of the month.",
        budget=Decimal("300.00"),
        utm_campaign="croissant-club",
    )
    _composer_aids(workspace)
    return {"labels": labels, "pillars": pillars, "campaign": campaign}


def _composer_aids(workspace: Workspace) -> None:
    """Hashtag groups, templates and UTM defaults for the composer (Settings → Composer)."""
    from socialdesk.content.models import HashtagGroup, PostTemplate, UtmDefaults

    HashtagGroup.objects.create(
        workspace=workspace, name="Bakery", hashtags="#sourdough #paris11 #boulangerie"
    )
    HashtagGroup.objects.create(
        workspace=workspace, name="Croissant Club", hashtags="#croissantclub #viennoiserie"
    )
    PostTemplate.objects.create(
        workspace=workspace,
        name="New on the counter",
        text="New on the counter from {date}: {product}. Come early, it goes fast!",
    )
    UtmDefaults.objects.create(workspace=workspace, source="socialdesk", medium="social")


def _when(workspace: Workspace, planned: PlannedPost, now: datetime) -> datetime | None:
    if planned.minutes_ago is not None:
        return now - timedelta(minutes=planned.minutes_ago)
    if planned.minutes_ahead is not None:
        return now + timedelta(minutes=planned.minutes_ahead)
    if planned.at is None:
        return None
    day = timezone.localdate(now, workspace.zone) + timedelta(days=planned.day)
    local = datetime.combine(day, time.fromisoformat(planned.at), tzinfo=workspace.zone)
    return local.astimezone(UTC)


def _build_post(
    workspace: Workspace,
    users: dict[Role, User],
    channels: dict[str, Channel],
    taxonomy: dict[str, Any],
    planned: PlannedPost,
    index: int,
    now: datetime,
) -> Post:
    author = users[planned.author]
    scheduled_at = _when(workspace, planned, now)
    labels = [taxonomy["labels"][name] for name in planned.labels]
    pillar = taxonomy["pillars"][planned.pillar]
    campaign = taxonomy["campaign"] if planned.campaign else None
    targets = [channels[network] for network in planned.states]

    if scheduled_at is None or scheduled_at > now:
        # The way a person would: through the service, which checks everything.
        return create_post(
            workspace,
            author,
            PostContent(
                title=planned.title,
                text=planned.text,
                channel_ids=[c.pk for c in targets],
                label_ids=[label.pk for label in labels],
                pillar_id=pillar.pk,
                campaign_id=campaign.pk if campaign else None,
                scheduled_at=scheduled_at,
            ),
        )

    post = Post.objects.create(
        workspace=workspace,
        author=author,
        title=planned.title,
        text=planned.text,
        pillar=pillar,
        campaign=campaign,
    )
    post.labels.set(labels)
    PostVersion.objects.create(post=post, number=1, text=post.text, created_by=author)
    # Written two days before it was due, like a real plan.
    Post.objects.filter(pk=post.pk).update(created_at=scheduled_at - timedelta(days=2))
    for network, state in planned.states.items():
        _past_delivery(post, channels[network], state, scheduled_at, planned, index)
    return post


def _past_delivery(
    post: Post,
    channel: Channel,
    state: DeliveryState,
    scheduled_at: datetime,
    planned: PlannedPost,
    index: int,
) -> Delivery:
    fields: dict[str, Any] = {"last_error": planned.errors.get(channel.network, "")}
    if state == DeliveryState.PUBLISHED:
        remote_id, remote_url = _remote(channel, post, index)
        fields |= {
            "remote_id": remote_id,
            "remote_url": remote_url,
            "published_at": scheduled_at + timedelta(seconds=2 + index % 5),
            "attempts": 1,
        }
    elif state == DeliveryState.FAILED:
        fields["attempts"] = 1  # a revoked token is permanent: no retry
    elif state == DeliveryState.UNKNOWN:
        fields["attempts"] = 1
    elif state == DeliveryState.PUBLISHING:
        # In flight under a demo worker's lease; when the lease runs out the sweeper treats
        # it like any crashed attempt (outcome unknown, reconciled before a retry).
        fields |= {
            "attempts": 1,
            "claimed_by": "demo-worker",
            "lease_expires_at": timezone.now() + timedelta(minutes=5),
        }
    elif state == DeliveryState.WAITING_RETRY:
        fields |= {"attempts": 2, "retry_at": timezone.now() + timedelta(minutes=10)}
    delivery = record_history(post, channel, state, scheduled_at, **fields)
    if state == DeliveryState.PUBLISHED and channel.network == Network.PAGE:
        _on_the_page(delivery)
    return delivery


def _on_the_page(delivery: Delivery) -> None:
    """Publish a past page delivery for real, through the page connector, then date the
    entry to when the delivery was published."""
    published = PageConnector(delivery.channel).publish(
        content_for(delivery, sending=True), delivery.idempotency_key
    )
    Delivery.objects.filter(pk=delivery.pk).update(
        remote_id=published.remote_id, remote_url=published.remote_url
    )
    PageEntry.objects.filter(delivery=delivery).update(published_at=delivery.published_at)


def _fake_id(*parts: object) -> str:
    return hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()


def _remote(channel: Channel, post: Post, index: int) -> tuple[str, str]:
    """Stable, realistic-looking remote ids and URLs (the same on every run)."""
    digest = _fake_id(channel.network, index)
    if channel.network == Network.BLUESKY:
        rkey = "3l" + digest[:11]
        did = "did:plc:" + channel.remote_account_id[:24]
        return (
            f"at://{did}/app.bsky.feed.post/{rkey}",
            f"https://bsky.app/profile/{channel.handle}/post/{rkey}",
        )
    if channel.network == Network.MASTODON:
        status_id = str(113_000_000_000_000_000 + int(digest[:12], 16) % 10**15)
        return status_id, f"https://mastodon.social/@crumb/{status_id}"
    return f"page-{index + 1}", f"{settings.SITE_URL}/p/{SLUG}/{index + 1}/"
