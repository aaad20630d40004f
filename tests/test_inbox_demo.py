"""The demo bakery's inbox history: 90 days, both languages, answered believably, fast and
the same every time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from socialdesk.demo import build_demo
from socialdesk.inbox import numbers, service_levels
from socialdesk.inbox.models import (
    Conversation,
    ConversationStatus,
    FaqProposal,
    Message,
    Rule,
    SavedReply,
)

# The moment the demo was built for (its history runs 90 days back from it): set by ``demo``.
NOW = timezone.now().replace(microsecond=0)

pytestmark = pytest.mark.slow  # builds the whole demo, once for the module, again in one test


@pytest.fixture
def demo(db, module_demo):
    """The demo, built once for the module (conftest's ``module_demo``) from the real clock
    when the module starts: a ``now`` taken when the module was collected is in the past by
    the time a long suite reaches these tests, and the demo plans posts minutes ahead."""
    global NOW
    NOW = module_demo.now
    return module_demo


def test_ninety_days_of_history_in_french_and_english(demo):
    conversations = Conversation.objects.filter(workspace=demo.workspace)
    assert 200 <= conversations.count() <= 400
    first = conversations.order_by("created_at").first()
    assert first is not None and NOW - first.created_at <= timedelta(days=90)
    assert NOW - first.created_at >= timedelta(days=88)
    languages = set(conversations.values_list("language", flat=True))
    assert languages == {"fr", "en"}
    kinds = set(conversations.values_list("kind", flat=True))
    assert {"comment", "mention", "direct", "question"} <= kinds
    texts = " ".join(
        Message.objects.filter(workspace=demo.workspace).values_list("text", flat=True)
    )
    for topic in (
        "horaires",
        "gluten",
        "livrez",
        "birthday cake",
        "squashed",
        "croissant",
        "followers",
    ):
        assert topic in texts, topic


def test_answered_in_business_hours_by_the_team_with_a_believable_spread(demo):
    workspace = demo.workspace
    report = numbers.inbox_report(workspace, NOW - timedelta(days=90), NOW, now=NOW)
    totals = report["totals"]
    assert totals["answered"] >= 150
    # Median under an hour of business time, with a tail past the two-hour target.
    assert 5 * 60 <= totals["first_response_median_s"] <= 60 * 60
    assert totals["first_response_p90_s"] > totals["first_response_median_s"]
    assert 0.7 <= totals["sla_hit_rate"] < 1.0
    people = {row["name"] for row in report["replies_per_person"]}
    assert people == {"Hugo Martin", "Léa Dubois"}
    level = service_levels.level_of(workspace)
    clock = service_levels.hours_of(level)
    answers = Message.objects.filter(workspace=workspace, direction="out")
    for message in answers[:200]:
        # Every answer is sent while the bakery's team works (Mon–Sat 09–18 Paris), or a
        # minute before "now".
        assert service_levels.business_seconds(
            message.sent_at - timedelta(seconds=1), message.sent_at, clock
        ) == 1 or message.sent_at >= NOW - timedelta(minutes=3)


def test_open_work_today_spam_rules_and_saved_replies(demo):
    workspace = demo.workspace
    waiting = Conversation.objects.filter(workspace=workspace, status=ConversationStatus.NEW)
    assert waiting.count() == 2
    level = service_levels.level_of(workspace)
    states = [service_levels.sla_state(c, level, NOW) for c in waiting]
    assert any(s["breached"] for s in states) and not all(s["breached"] for s in states)
    assert FaqProposal.objects.filter(conversation__in=waiting).exists()
    spam = Conversation.objects.filter(workspace=workspace, spam=True)
    assert spam.exists() and all(c.status == ConversationStatus.RESOLVED for c in spam)
    assert Rule.objects.filter(workspace=workspace).count() == 2
    assert SavedReply.objects.filter(workspace=workspace, is_answer=True).count() == 4
    assert Conversation.objects.filter(workspace=workspace, tags__name="order-issue").exists()
    # An order gone wrong is told as a whole thread somewhere (the customer, the answer, the
    # follow-up); which one is the newest depends on the time of day the demo is built.
    gone_wrong = Conversation.objects.filter(workspace=workspace, tags__name="order-issue")
    assert max(conversation.messages.count() for conversation in gone_wrong) >= 3


def test_the_same_now_gives_the_same_history(demo):
    first = demo  # built for NOW on an empty database
    texts_first = list(
        Message.objects.filter(workspace=first.workspace)
        .order_by("sent_at", "remote_id")
        .values_list("text", "sent_at", "direction")
    )
    second = build_demo(now=NOW)
    texts_second = list(
        Message.objects.filter(workspace=second.workspace)
        .order_by("sent_at", "remote_id")
        .values_list("text", "sent_at", "direction")
    )
    assert texts_first == texts_second


def test_the_inbox_history_is_fast_to_build(demo):
    from socialdesk.inbox import demo as inbox_demo

    workspace = Conversation.objects.first().workspace
    Conversation.objects.filter(workspace=workspace).delete()
    for model in (SavedReply, Rule):
        model.objects.filter(workspace=workspace).delete()
    from socialdesk.inbox.models import Contact, ServiceLevel, Tag

    Contact.objects.filter(workspace=workspace).delete()
    ServiceLevel.objects.filter(workspace=workspace).delete()
    Tag.objects.filter(workspace=workspace).delete()
    from socialdesk.workspaces.models import User
    from socialdesk.workspaces.roles import Role

    users = {Role(m.role): m.user for m in workspace.memberships.select_related("user")}
    assert isinstance(next(iter(users.values())), User)
    counts = inbox_demo.build(workspace, users, NOW)
    assert counts["messages"] > counts["conversations"] > 200
