"""Triage rules: the keyword query, each condition, each action, trying against history, the
API, and speed."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from api_helpers import call
from django.core.exceptions import ValidationError
from inbox_service_helpers import answer, inbound

from socialdesk.inbox import faq, rules
from socialdesk.inbox.models import (
    ConversationStatus,
    FaqQuestion,
    Message,
    Rule,
    RuleHit,
    SavedReply,
)
from socialdesk.notifications.models import Notification

NOW = datetime(2026, 12, 7, 10, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fresh_caches(workspace):
    rules.forget(workspace.pk)
    faq.forget(workspace.pk)
    yield
    rules.forget(workspace.pk)
    faq.forget(workspace.pk)


def q(query: str, text: str) -> bool:
    return rules.parse_query(query)(rules.Words.of(text))


# --- The query --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query, text, expected",
    [
        ("refund", "I want a REFUND now", True),
        ("refund", "refunded?", False),  # whole words only
        ("refund*", "refunded?", True),
        ('refund OR "money back"', "I want my money back", True),
        ('refund OR "money back"', "back with money", False),  # a phrase keeps its order
        ('gluten AND NOT "gluten free"', "is there gluten in it?", True),
        ('gluten AND NOT "gluten free"', "any gluten-free bread?", False),
        ("gluten -free", "gluten free please", False),
        ("(late OR cold) delivery", "the delivery was cold", True),
        ("(late OR cold) delivery", "cold coffee", False),
        ("allergenes", "Allergènes ?", True),  # accents do not matter
        ("pain ou croissant", "un pain ou deux", False),  # lower-case "ou" is a word: AND
        ("pain ou croissant", "pain ou croissant", True),
        ("NOT spam", "hello", True),
        ("gluten-free", "Gluten free?", True),
    ],
)
def test_the_keyword_query(query, text, expected):
    assert q(query, text) is expected


@pytest.mark.parametrize(
    "query, complaint",
    [
        ("", "empty"),
        ("(refund", "not closed"),
        ("refund)", "Unexpected ')'"),
        ('"money back', "not closed"),
        ("refund OR", "ends too early"),
        ("AND refund", "must come first"),
        ('""', "empty phrase"),
        ("!!!", "no letters"),
    ],
)
def test_a_query_that_cannot_be_read_says_why(query, complaint):
    with pytest.raises(rules.QueryError, match=re.escape(complaint)):
        rules.parse_query(query)


def test_only_emoji():
    assert rules.only_emoji("😍😍😍")
    assert rules.only_emoji(" 👍🏽 🎉 ")
    assert not rules.only_emoji("love it 😍")
    assert not rules.only_emoji("123")
    assert not rules.only_emoji("")


# --- Conditions and actions -------------------------------------------------------------------


def make_rule(workspace, name, conditions, actions, **kw) -> Rule:
    return rules.save_rule(workspace, name=name, conditions=conditions, actions=actions, **kw)


def test_a_matching_rule_tags_assigns_and_raises_priority(workspace, channel, creator):
    make_rule(
        workspace,
        "Allergens",
        {"keywords": "allerg* OR gluten OR noix", "kinds": ["comment", "question"]},
        [
            {"type": "tag", "tag": "allergens"},
            {"type": "assign", "user_id": creator.pk},
            {"type": "priority", "priority": 2},
        ],
    )
    message = inbound(channel, "Y a-t-il des noix dans le pain ?", NOW)
    done = rules.apply_rules(message)
    assert done == [
        "Allergens: tagged allergens",
        f"Allergens: assigned to {creator}",
        "Allergens: priority high",
    ]
    conversation = message.conversation
    conversation.refresh_from_db()
    assert conversation.assignee == creator and conversation.priority == 2
    assert [t.name for t in conversation.tags.all()] == ["allergens"]
    hit = RuleHit.objects.get()
    assert hit.message == message and hit.rule.matched_count == 1
    other = inbound(channel, "Lovely croissants", NOW, who="max")
    assert rules.apply_rules(other) == []


def test_conditions_on_kind_network_sentiment_language_link_and_emoji(workspace, channel):
    make_rule(
        workspace,
        "Angry French",
        {"sentiments": ["negative"], "languages": ["fr"], "networks": ["page"]},
        [{"type": "tag", "tag": "angry"}],
    )
    make_rule(workspace, "Links", {"has_link": True, "kinds": ["mention"]}, [{"type": "resolve"}])
    make_rule(workspace, "Emoji", {"only_emoji": True}, [{"type": "priority", "priority": 0}])
    angry = inbound(channel, "Commande arrivée froide", NOW)
    angry.sentiment, angry.language = "negative", "fr-FR"
    assert rules.apply_rules(angry) == ["Angry French: tagged angry"]
    english = inbound(channel, "Order arrived cold", NOW, who="max")
    english.sentiment, english.language = "negative", "en"
    assert rules.apply_rules(english) == []
    link = inbound(channel, "see www.spam.example", NOW, who="bot", kind="mention")
    assert rules.apply_rules(link) == ["Links: resolved"]
    link.conversation.refresh_from_db()
    assert link.conversation.status == ConversationStatus.RESOLVED
    assert rules.apply_rules(inbound(channel, "🥐🥐", NOW, who="zoe")) == ["Emoji: priority low"]


def test_first_message_from_a_contact(workspace, channel):
    make_rule(workspace, "Welcome", {"first_message": True}, [{"type": "tag", "tag": "new"}])
    first = inbound(channel, "Hello!", NOW)
    assert rules.apply_rules(first) == ["Welcome: tagged new"]
    again = inbound(channel, "Me again", NOW + timedelta(hours=1))
    assert rules.apply_rules(again) == []


def test_label_of_the_post_it_is_under(workspace, channel, post, taxonomy):
    from socialdesk.content.models import Label

    label = Label.objects.filter(workspace=workspace).first()
    assert label is not None
    post.labels.add(label)
    make_rule(workspace, "On offers", {"post_labels": [label.name]}, [{"type": "tag", "tag": "x"}])
    message = inbound(channel, "How much?", NOW)
    assert rules.apply_rules(message) == []
    message.conversation.delivery = post.deliveries.first()
    message.conversation.save(update_fields=["delivery"])
    assert rules.apply_rules(message) == ["On offers: tagged x"]


def test_stop_ends_the_list_and_disabled_rules_do_nothing(workspace, channel):
    make_rule(workspace, "Off", {"keywords": "spam"}, [{"type": "tag", "tag": "a"}], enabled=False)
    make_rule(workspace, "First", {"keywords": "spam"}, [{"type": "tag", "tag": "b"}], stop=True)
    make_rule(workspace, "Second", {"keywords": "spam"}, [{"type": "tag", "tag": "c"}])
    assert rules.apply_rules(inbound(channel, "spam spam", NOW)) == ["First: tagged b"]


def test_network_actions_go_through_the_engine_on_behalf_of_the_rules_maker(
    workspace, channel, manager
):
    reply = SavedReply.objects.create(workspace=workspace, name="Thanks", text="Merci !")
    actions = [{"type": "reply", "saved_reply_id": reply.pk}, {"type": "hide"}]
    rules.save_rule(
        workspace, name="Praise", conditions={"keywords": "merci"}, actions=actions, by=manager
    )
    message = inbound(channel, "Merci pour tout", NOW, kind="question")
    message.reference = {"email": "lea@example.org", "name": "Léa", "may_publish": False}
    message.save(update_fields=["reference"])
    done = rules.apply_rules(message)
    assert done[0] == "Praise: reply with Thanks"
    sent = Message.objects.get(conversation=message.conversation, direction="out")
    assert sent.automatic and sent.author_user == manager and sent.text == "Merci !"
    assert sent.delivery is not None and sent.delivery.kind == "reply"  # the engine carries it
    assert done[1].startswith("Praise: hide")  # the page hides answers, not questions


def test_a_rule_whose_maker_is_gone_does_nothing_on_the_network(workspace, channel):
    make_rule(workspace, "Orphan", {"keywords": "bravo"}, [{"type": "like"}])
    assert rules.apply_rules(inbound(channel, "Bravo !", NOW)) == [
        "Orphan: like skipped: the rule's maker can no longer act in this inbox"
    ]
    assert not Message.objects.filter(direction="out").exists()


def test_the_faq_answer_is_proposed_and_sent_when_a_rule_says_so(workspace, channel):
    hours = SavedReply.objects.create(
        workspace=workspace, name="Opening hours", text="7:30–19:00", is_answer=True
    )
    FaqQuestion.objects.create(workspace=workspace, saved_reply=hours, text="When are you open?")
    make_rule(workspace, "Auto FAQ", {"kinds": ["question"]}, [{"type": "answer_faq"}])
    asked = inbound(channel, "When are you open on Sunday?", NOW, kind="question")
    done = rules.apply_rules(asked)
    assert done[0].startswith("faq: proposed Opening hours")
    assert done[1].startswith("Auto FAQ: reply") and done[1].endswith("with Opening hours")
    comment = inbound(channel, "When are you open on Sunday?", NOW, who="max")
    assert [d for d in rules.apply_rules(comment) if d.startswith("Auto FAQ")] == []


def test_notify_tells_the_members_named(workspace, channel, manager):
    make_rule(
        workspace, "VIP", {"keywords": "journalist"}, [{"type": "notify", "user_ids": [manager.pk]}]
    )
    rules.apply_rules(inbound(channel, "I'm a journalist at Le Monde", NOW))
    assert Notification.objects.get(recipient=manager, event="inbox.rule_notice").title.startswith(
        "Rule “VIP”"
    )


def test_outbound_and_spam_are_left_alone(workspace, channel):
    make_rule(workspace, "All", {}, [{"type": "tag", "tag": "seen"}])
    message = inbound(channel, "hi", NOW)
    ours = answer(message.conversation, "hello", NOW)
    assert rules.apply_rules(ours) == []
    message.conversation.spam = True
    message.conversation.save(update_fields=["spam"])
    assert rules.apply_rules(message) == []


def test_a_failing_rule_is_skipped_and_the_others_run(workspace, channel, monkeypatch):
    make_rule(workspace, "Broken", {}, [{"type": "tag", "tag": "a"}])
    make_rule(workspace, "Fine", {}, [{"type": "priority", "priority": 3}])
    real = rules._act

    def act(compiled, message, match):
        if compiled.rule.name == "Broken":
            raise RuntimeError("boom")
        return real(compiled, message, match)

    monkeypatch.setattr(rules, "_act", act)
    assert rules.apply_rules(inbound(channel, "hi", NOW)) == ["Fine: priority urgent"]
    assert not RuleHit.objects.filter(rule__name="Broken").exists()


def test_bad_rules_are_refused_with_reasons(workspace, outsider, other_channel):
    with pytest.raises(ValidationError) as caught:
        make_rule(
            workspace,
            "Bad",
            {"keywords": "(refund", "kinds": ["tweet"], "channel_ids": [other_channel.pk]},
            [{"type": "assign", "user_id": outsider.pk}, {"type": "explode"}],
        )
    errors = caught.value.message_dict
    text = " ".join(errors["conditions"] + errors["actions"])
    assert "not closed" in text and "kinds" in text and "not channels of yours" in text
    assert "assign needs user_id of a member" in text and "actions.1" in text
    assert not Rule.objects.exists()
    with pytest.raises(ValidationError, match="one to twenty"):
        make_rule(workspace, "Empty", {}, [])


# --- Trying against history -------------------------------------------------------------------


def test_trying_a_rule_counts_the_last_30_days_without_acting(workspace, channel):
    for day in range(40):
        text = "Do you deliver?" if day % 3 == 0 else "Nice bread"
        inbound(channel, text, NOW - timedelta(days=day, hours=1), who=f"p{day}")
    trial = rules.try_rule(workspace, {"keywords": "deliver*"}, now=NOW)
    assert trial.matched == 10  # days 0, 3, …, 27
    assert trial.tried == 30
    assert trial.summary.startswith("would have matched 10: “Do you deliver?”")
    assert len(trial.examples) == 5
    assert not RuleHit.objects.exists()
    assert rules.try_rule(workspace, {"keywords": "refund"}, now=NOW).summary == (
        "would have matched none of 30 messages"
    )


def test_trying_first_message_uses_the_whole_history(workspace, channel):
    inbound(channel, "old hello", NOW - timedelta(days=60))
    inbound(channel, "hello again", NOW - timedelta(days=1))
    inbound(channel, "first time", NOW - timedelta(days=1), who="new")
    trial = rules.try_rule(workspace, {"first_message": True}, now=NOW)
    assert [e["text"] for e in trial.examples] == ["first time"]


# --- API --------------------------------------------------------------------------------------


def test_a_manager_makes_tries_and_deletes_a_rule_through_the_api(
    workspace, channel, manager, token_for
):
    token = token_for(manager)
    base = f"/workspaces/{workspace.slug}/inbox/rules"
    inbound(channel, "Any allergens?", datetime.now(UTC) - timedelta(days=2))
    tried = call("post", base + "/try", token, {"conditions": {"keywords": "allerg*"}})
    assert tried.status_code == 200, tried.content
    assert tried.json()["matched"] == 1 and tried.json()["summary"].startswith("would have")
    body = {
        "name": "Allergens",
        "conditions": {"keywords": "allerg*"},
        "actions": [{"type": "tag", "tag": "allergens"}],
    }
    made = call("post", base, token, body)
    assert made.status_code == 201, made.content
    rule_id = made.json()["id"]
    assert call("get", base, token).json()["items"][0]["name"] == "Allergens"
    again = call("post", base, token, body)
    assert again.status_code == 422 and "exists already" in again.content.decode()
    changed = call("put", f"{base}/{rule_id}", token, {**body, "enabled": False})
    assert changed.status_code == 200 and changed.json()["enabled"] is False
    assert call("delete", f"{base}/{rule_id}", token).status_code == 204
    assert not Rule.objects.exists()


def test_a_bad_query_through_the_api_is_a_clear_422(workspace, manager, token_for):
    response = call(
        "post",
        f"/workspaces/{workspace.slug}/inbox/rules/try",
        token_for(manager),
        {"conditions": {"keywords": '"money back'}},
    )
    assert response.status_code == 422
    assert "phrase is not closed" in response.content.decode()


def test_a_creator_may_not_make_rules_and_an_outsider_sees_none(
    workspace, creator, outsider, token_for
):
    base = f"/workspaces/{workspace.slug}/inbox/rules"
    body = {"name": "x", "conditions": {}, "actions": [{"type": "resolve"}]}
    assert call("post", base, token_for(creator), body).status_code == 403
    assert call("get", base, token_for(outsider)).status_code == 404


# --- Work per message (speed itself is measured by bench/inbox.py, not here) -------------


def test_a_message_that_matches_nothing_costs_no_query(
    workspace, channel, django_assert_num_queries
):
    for n in range(10):
        make_rule(
            workspace,
            f"Rule {n}",
            {"keywords": f'(word{n} OR "two words {n}") AND NOT spam', "kinds": ["comment"]},
            [{"type": "tag", "tag": f"t{n}"}],
        )
    quiet = [inbound(channel, f"Bravo à toute l'équipe {n}", NOW, who=f"q{n}") for n in range(5)]
    rules.apply_rules(quiet[0])  # rules and answers are read once, then cached
    with django_assert_num_queries(0):
        for message in quiet[1:]:
            assert rules.apply_rules(message) == []
