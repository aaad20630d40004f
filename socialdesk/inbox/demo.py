"""The demo bakery's inbox history (issue 13, item 9): 90 days of comments, mentions,
direct messages and page questions in French and English — opening hours, allergens,
delivery, orders, an order gone wrong, praise and spam — assigned to Hugo (manager) and Léa
(creator) and answered with believable business-hour response times, plus the saved replies
(four of them FAQ answers), two rules, a service level with French public holidays, and a few
conversations still waiting today (one of them past its target).

Rows are written directly with ``bulk_create`` (the past did not happen through the
services, and rebuilding must not notify anyone); the same ``now`` gives the same history
(a seeded random generator). ``socialdesk.demo.build_demo`` calls ``build``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from socialdesk.networks.models import Channel, Network
from socialdesk.publishing.models import Delivery, DeliveryState
from socialdesk.workspaces.models import User, Workspace
from socialdesk.workspaces.roles import Role

from . import faq, service_levels
from .models import (
    Contact,
    Conversation,
    ConversationKind,
    ConversationStatus,
    FaqQuestion,
    Message,
    Priority,
    Rule,
    SavedReply,
    ServiceLevel,
    Tag,
)

DAYS = 90
SEED = 13
HOLIDAYS = ["2026-11-01", "2026-11-11", "2026-12-25", "2027-01-01", "2027-04-05", "2027-05-01"]

SAVED_REPLIES: list[tuple[str, str, bool, list[str]]] = [
    (
        "Opening hours",
        "We're open Tuesday to Sunday, 7:30–19:00 (closed on Mondays). "
        "Nous sommes ouverts du mardi au dimanche, 7h30–19h (fermé le lundi). 🥐",
        True,
        [
            "What are your opening hours?",
            "When are you open?",
            "Are you open on Sunday?",
            "Quels sont vos horaires d'ouverture ?",
            "Vous êtes ouverts le dimanche ?",
            "À quelle heure ouvrez-vous ?",
        ],
    ),
    (
        "Allergens",
        "Hi {first_name}, every product's allergens are on its label and at "
        "crumb.example/allergens. Our gluten-free loaf is baked on Thursdays; "
        "nuts are used in the same kitchen.",
        True,
        [
            "Do your products contain nuts or gluten?",
            "Is there allergen information?",
            "Do you have gluten-free bread?",
            "Y a-t-il des allergènes dans vos gâteaux ?",
            "Avez-vous du pain sans gluten ?",
            "Ça contient des fruits à coque ?",
        ],
    ),
    (
        "Delivery",
        "We deliver in Paris 11e and 20e from Tuesday to Saturday, €4 (free from €30). "
        "Livraison dans le 11e et le 20e, du mardi au samedi.",
        True,
        [
            "Do you deliver?",
            "How much is delivery?",
            "Vous livrez à domicile ?",
            "Faites-vous la livraison ?",
            "Quels sont les frais de livraison ?",
        ],
    ),
    (
        "Orders",
        "Cakes and large orders: crumb.example/cakes, 48 h ahead. "
        "Commandes et gâteaux : crumb.example/cakes, 48 h à l'avance.",
        True,
        [
            "How can I order a cake?",
            "Can I place an order online?",
            "Je voudrais passer une commande",
            "Comment commander un gâteau ?",
        ],
    ),
    (
        "Sorry about your order",
        "{first_name}, we're so sorry. Send us your order number by direct message and we'll "
        "make it right today.",
        False,
        [],
    ),
    ("Thanks", "Thank you so much, {first_name}! Merci ! 💛", False, []),
]

FIRST_NAMES = [
    "Chloé", "Lucas", "Emma", "Louis", "Manon", "Hugo", "Sarah", "Arthur", "Jade", "Nathan",
    "Olivia", "James", "Sophie", "Tom", "Amélie", "Karim", "Yasmine", "Ben", "Alice", "Mehdi",
    "Clara", "Paul", "Zoé", "Noah", "Grace", "Théo", "Inès", "Sam", "Lina", "Oscar",
]  # fmt: skip


@dataclass(frozen=True)
class Scenario:
    topic: str
    kind: str
    language: str
    sentiment: str
    texts: tuple[str, ...]
    answer: str  # a saved reply's name, or literal text
    tag: str = ""
    weight: int = 1


SCENARIOS = [
    Scenario(
        "hours",
        "comment",
        "fr",
        "neutral",
        ("Vous êtes ouverts le lundi ?",),
        "Opening hours",
        "",
        4,
    ),
    Scenario(
        "hours",
        "comment",
        "en",
        "neutral",
        ("What time do you open on Sunday?",),
        "Opening hours",
        "",
        3,
    ),
    Scenario(
        "hours",
        "question",
        "fr",
        "neutral",
        ("Bonjour, quels sont vos horaires pendant les fêtes ?",),
        "Opening hours",
        "",
        2,
    ),
    Scenario(
        "allergens",
        "comment",
        "en",
        "neutral",
        ("Does the brioche contain nuts?",),
        "Allergens",
        "allergens",
        3,
    ),
    Scenario(
        "allergens",
        "direct",
        "fr",
        "neutral",
        ("Bonjour, avez-vous du pain sans gluten ?",),
        "Allergens",
        "allergens",
        3,
    ),
    Scenario(
        "allergens",
        "question",
        "en",
        "negative",
        ("My son is allergic to sesame, is the rye safe?",),
        "Allergens",
        "allergens",
        2,
    ),
    Scenario(
        "delivery", "comment", "fr", "neutral", ("Vous livrez dans le 20e ?",), "Delivery", "", 3
    ),
    Scenario(
        "delivery",
        "question",
        "en",
        "neutral",
        ("Do you deliver to offices near République?",),
        "Delivery",
        "",
        2,
    ),
    Scenario(
        "orders",
        "direct",
        "en",
        "neutral",
        ("Can I order a birthday cake for Saturday?",),
        "Orders",
        "",
        3,
    ),
    Scenario(
        "orders",
        "question",
        "fr",
        "neutral",
        ("Je voudrais commander 40 croissants pour vendredi",),
        "Orders",
        "",
        2,
    ),
    Scenario(
        "order gone wrong",
        "direct",
        "en",
        "negative",
        (
            "My cake order was delivered squashed and two hours late. Not happy.",
            "Order 4471. It was for my daughter's birthday...",
        ),
        "Sorry about your order",
        "order-issue",
        2,
    ),
    Scenario(
        "order gone wrong",
        "comment",
        "fr",
        "negative",
        (
            "Commande arrivée froide et incomplète, très déçue.",
            "Commande n° 4502, merci de me rappeler.",
        ),
        "Sorry about your order",
        "order-issue",
        1,
    ),
    Scenario(
        "praise",
        "comment",
        "fr",
        "positive",
        ("Meilleur croissant du quartier 😍",),
        "Thanks",
        "praise",
        5,
    ),
    Scenario(
        "praise",
        "mention",
        "en",
        "positive",
        ("Best sourdough in Paris, thank you @crumb!",),
        "Thanks",
        "praise",
        4,
    ),
    Scenario("praise", "comment", "en", "positive", ("🥐🥐🥐",), "Thanks", "praise", 2),
    Scenario(
        "spam",
        "mention",
        "en",
        "neutral",
        ("Get 10k followers FREE at boost-followers.example",),
        "",
        "spam",
        2,
    ),
    Scenario(
        "spam",
        "comment",
        "fr",
        "neutral",
        ("Gagnez un iPhone gratuit ici www.promo-gratuit.example",),
        "",
        "spam",
        1,
    ),
]

NETWORK_OF_KIND = {
    ConversationKind.COMMENT: (Network.BLUESKY, Network.MASTODON),
    ConversationKind.MENTION: (Network.BLUESKY, Network.MASTODON),
    ConversationKind.QUOTE: (Network.BLUESKY,),
    ConversationKind.DIRECT: (Network.MASTODON,),
    ConversationKind.QUESTION: (Network.PAGE,),
}


def _setup(workspace: Workspace, users: dict[Any, User]) -> dict[str, SavedReply]:
    ServiceLevel.objects.create(
        workspace=workspace,
        hours=[[["09:00", "18:00"]]] * 6 + [[]],  # the team answers Monday to Saturday
        holidays=HOLIDAYS,
        first_response_target=timedelta(hours=2),
        resolution_target=timedelta(hours=24),
        retention_days=365,
    )
    replies = {}
    for name, text, is_answer, questions in SAVED_REPLIES:
        reply = SavedReply.objects.create(
            workspace=workspace,
            name=name,
            text=text,
            is_answer=is_answer,
            created_by=users[Role.MANAGER],
        )
        FaqQuestion.objects.bulk_create(
            FaqQuestion(workspace=workspace, saved_reply=reply, text=q) for q in questions
        )
        replies[name] = reply
    Tag.objects.bulk_create(
        Tag(workspace=workspace, name=name)
        for name in ("allergens", "order-issue", "praise", "spam")
    )
    Rule.objects.create(
        workspace=workspace,
        name="Allergen questions to Léa",
        position=0,
        conditions={"keywords": 'allerg* OR gluten OR noix OR nuts OR sesame OR "sans gluten"'},
        actions=[
            {"type": "tag", "tag": "allergens"},
            {"type": "assign", "user_id": users[Role.CREATOR].pk},
            {"type": "priority", "priority": int(Priority.HIGH)},
        ],
        created_by=users[Role.MANAGER],
    )
    Rule.objects.create(
        workspace=workspace,
        name="Link spam",
        position=1,
        conditions={"has_link": True, "keywords": "followers OR gratuit OR free OR promo*"},
        actions=[{"type": "tag", "tag": "spam"}, {"type": "hide"}, {"type": "resolve"}],
        stop=True,
        created_by=users[Role.MANAGER],
    )
    faq.forget(workspace.pk)
    return replies


def build(workspace: Workspace, users: dict[Any, User], now: datetime) -> dict[str, int]:
    """Write the inbox history; returns counts. Deterministic for a given ``now``."""
    rng = random.Random(SEED)  # noqa: S311 - a demo's history, not a secret
    replies = _setup(workspace, users)
    hours = service_levels.hours_of(service_levels.level_of(workspace))
    channels = {c.network: c for c in Channel.objects.filter(workspace=workspace)}
    deliveries: dict[int, list[Delivery]] = {}
    for delivery in Delivery.objects.filter(
        workspace=workspace, state=DeliveryState.PUBLISHED
    ).order_by("published_at"):
        deliveries.setdefault(delivery.channel_id, []).append(delivery)
    team = [users[Role.MANAGER], users[Role.CREATOR]]
    tags = {t.name: t for t in Tag.objects.filter(workspace=workspace)}
    weighted = [s for s in SCENARIOS for _ in range(s.weight)]

    contacts: dict[tuple[str, str], Contact] = {}
    planned: list[dict[str, Any]] = []
    start = now - timedelta(days=DAYS)
    for day in range(DAYS):
        for _ in range(rng.choice((2, 3, 3, 4, 5))):
            when = start + timedelta(days=day, hours=rng.uniform(7, 22))
            picked = rng.choice(weighted)
            network = rng.choice(NETWORK_OF_KIND[ConversationKind(picked.kind)])
            if network not in channels:
                continue
            name = rng.choice(FIRST_NAMES)
            planned.append({"at": when, "scenario": picked, "network": network, "name": name})
    # Open work: two waiting questions (one past its target) and a pending thread.
    planned += [
        {
            "at": now - timedelta(days=3),  # any three days hold more than its 2 hours
            "scenario": SCENARIOS[4],
            "network": Network.MASTODON,
            "name": "Camille",
            "open": "new",
        },
        {
            "at": now - timedelta(minutes=25),
            "scenario": SCENARIOS[7],
            "network": Network.PAGE,
            "name": "Grace",
            "open": "new",
        },
        {
            "at": now - timedelta(hours=3),
            "scenario": SCENARIOS[10],
            "network": Network.MASTODON,
            "name": "Ben",
            "open": "pending",
        },
    ]

    for plan in planned:
        key = (plan["network"], plan["name"])
        if key not in contacts:
            handle = _handle(plan["name"], plan["network"])
            contacts[key] = Contact(
                workspace=workspace,
                network=plan["network"],
                remote_id=f"demo:{plan['network']}:{handle}",
                handle=handle,
                display_name=plan["name"],
                followers=rng.randint(12, 3400) if plan["network"] != Network.PAGE else None,
                first_seen_at=plan["at"],
            )
    Contact.objects.bulk_create(list(contacts.values()))

    conversations: list[Conversation] = []
    messages: list[list[Message]] = []
    conversation_tags: list[tuple[int, str]] = []
    for number, plan in enumerate(planned):
        scenario: Scenario = plan["scenario"]
        channel = channels[plan["network"]]
        contact = contacts[(plan["network"], plan["name"])]
        at: datetime = plan["at"]
        is_spam = scenario.topic == "spam"
        assignee = (
            None
            if is_spam
            else (users[Role.CREATOR] if scenario.topic == "allergens" else rng.choice(team))
        )
        under = _under(deliveries.get(channel.pk, []), at)
        conversation = Conversation(
            workspace=workspace,
            channel=channel,
            contact=contact,
            kind=scenario.kind,
            thread_key=f"demo-{number}",
            delivery=under if scenario.kind == "comment" else None,
            assignee=assignee,
            priority=Priority.HIGH if scenario.sentiment == "negative" else Priority.NORMAL,
            sentiment=scenario.sentiment,
            language=scenario.language,
            needs_reply=scenario.topic not in ("praise", "spam"),
            spam=is_spam,
            created_at=at,
            last_message_at=at,
        )  # fmt: skip
        thread: list[Message] = []
        said = _Thread(workspace, channel, contact, scenario, number, thread, rng).said
        said(scenario.texts[0], at, True)
        state = plan.get("open")
        if is_spam:
            conversation.status = ConversationStatus.RESOLVED
            conversation.resolved_at = at + timedelta(minutes=1)
            thread[0].hidden = True
        elif state == "new":
            conversation.waiting_since = at
        else:
            # Answered within business hours: mostly quick, sometimes slow (a long tail).
            delay = rng.lognormvariate(7.3, 0.8)  # median ~25 min of business time
            answered = service_levels.business_add(at, delay, hours) or at + timedelta(hours=1)
            answered = min(answered, now - timedelta(minutes=2))
            said(_answer_text(replies, scenario, plan["name"]), answered, False, assignee)
            conversation.first_response_at = answered
            last = answered
            if len(scenario.texts) > 1:
                again = answered + timedelta(minutes=rng.randint(5, 90))
                if again < now:
                    said(scenario.texts[1], again, True)
                    fixed = service_levels.business_add(again, rng.uniform(600, 5400), hours)
                    fixed = min(fixed or again + timedelta(hours=1), now - timedelta(minutes=1))
                    said(
                        "Refund done and a new cake on us this weekend. 🙏", fixed, False, assignee
                    )
                    last = fixed
            conversation.last_message_at = last
            if state == "pending" or now - last < timedelta(days=2):
                conversation.status = ConversationStatus.PENDING
            else:
                conversation.status = ConversationStatus.RESOLVED
                conversation.resolved_at = last + timedelta(hours=rng.uniform(1, 20))
        if scenario.tag:
            conversation_tags.append((number, scenario.tag))
        conversations.append(conversation)
        messages.append(thread)

    Conversation.objects.bulk_create(conversations)
    rows = []
    for conversation, thread in zip(conversations, messages, strict=True):
        for message in thread:
            message.conversation = conversation
            rows.append(message)
    Message.objects.bulk_create(rows)
    through = Conversation.tags.through
    through.objects.bulk_create(
        through(conversation_id=conversations[n].pk, tag_id=tags[name].pk)
        for n, name in conversation_tags
    )
    # The waiting questions get their FAQ proposal, as ingestion would have made.
    for conversation, thread in zip(conversations, messages, strict=True):
        if conversation.waiting_since is not None:
            faq.propose(thread[-1])
    return {
        "conversations": len(conversations),
        "messages": len(rows),
        "contacts": len(contacts),
    }


@dataclass
class _Thread:
    """Appends a conversation's messages, numbered for unique remote ids."""

    workspace: Workspace
    channel: Channel
    contact: Contact
    scenario: Scenario
    number: int
    messages: list[Message]
    rng: random.Random

    def said(self, text: str, when: datetime, inbound: bool, by: User | None = None) -> None:
        self.messages.append(
            Message(
                workspace=self.workspace,
                channel=self.channel,
                direction="in" if inbound else "out",
                remote_id=f"demo-{self.number}-{len(self.messages)}",
                author_contact=self.contact if inbound else None,
                author_user=by,
                text=text,
                sent_at=when,
                received_at=when + timedelta(seconds=self.rng.randint(3, 40)),
                sentiment=self.scenario.sentiment if inbound else "",
                language=self.scenario.language if inbound else "",
            )
        )


def _handle(name: str, network: str) -> str:
    plain = faq.fold(name).replace(" ", "")
    if network == Network.PAGE:
        return f"{plain}@mail.example"
    if network == Network.MASTODON:
        return f"@{plain}@piaille.example"
    return f"{plain}.bsky.example"


def _under(deliveries: list[Delivery], at: datetime) -> Delivery | None:
    """The latest of our published posts before ``at`` (comments are under recent posts)."""
    before = [d for d in deliveries if d.published_at and d.published_at <= at]
    return before[-1] if before else None


def _answer_text(replies: dict[str, SavedReply], scenario: Scenario, name: str) -> str:
    reply = replies.get(scenario.answer)
    text = reply.text if reply is not None else scenario.answer
    return text.replace("{first_name}", name)
