"""Triage of inbound messages: sentiment, language, needs reply, spam (``inbox.triage``).

The bakery's audience writes in English and French; the examples are theirs.
"""

from __future__ import annotations

import pytest

from socialdesk.inbox import triage
from socialdesk.inbox.models import Conversation, Priority, Sentiment


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Do you have gluten-free bread on Sundays?", "en"),
        ("Avez-vous du pain sans gluten le dimanche ?", "fr"),
        ("Habt ihr am Sonntag glutenfreies Brot?", "de"),
        ("¿Tienen pan sin gluten los domingos?", "es"),
    ],
)
def test_the_language_is_detected_offline(text, language):
    assert triage.language_of(text) == language


def test_a_text_too_short_to_tell_keeps_the_language_its_author_tagged():
    assert triage.language_of("Merci !", declared="fr-FR") == "fr"
    assert triage.language_of("🥐🥐", declared="") == ""


@pytest.mark.parametrize(
    ("text", "sentiment"),
    [
        ("Best croissants in town, thank you!", Sentiment.POSITIVE),
        ("The staff were rude and the coffee was cold.", Sentiment.NEGATIVE),
        ("My order never arrived, I want a refund", Sentiment.NEGATIVE),  # no VADER word
        ("We open at 7 tomorrow.", Sentiment.NEUTRAL),
        ("Merci, les viennoiseries étaient délicieuses 😍", Sentiment.POSITIVE),
        ("Le pain était rassis ce matin, très déçu.", Sentiment.NEGATIVE),
        # French "pain" is bread, not pain: VADER's English words are not used on French.
        ("Avez-vous du pain sans gluten le dimanche ?", Sentiment.NEUTRAL),
        ("🥐😍", Sentiment.POSITIVE),
    ],
)
def test_sentiment_in_english_and_french(text, sentiment):
    assert triage.classify(text).sentiment == sentiment


@pytest.mark.parametrize(
    ("text", "needs_reply", "priority"),
    [
        ("Can I order a birthday cake for Saturday?", True, Priority.HIGH),
        ("The bread was stale.", True, Priority.HIGH),
        ("My order never arrived, where is it?", True, Priority.URGENT),
        ("Lovely to see you at the market again", True, Priority.NORMAL),
        ("Thanks!", False, Priority.LOW),
        ("Merci beaucoup 🙏", False, Priority.LOW),
        ("🥐🥐🥐", False, Priority.LOW),
    ],
)
def test_questions_and_complaints_come_first_thanks_and_emoji_last(text, needs_reply, priority):
    verdict = triage.classify(text)
    assert (verdict.needs_reply, verdict.priority) == (needs_reply, priority)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (
            "Earn $500 a day with crypto, DM me https://spam.example/x",
            "promotion words with a link",
        ),
        ("https://a.example https://b.example https://c.example", "3 links"),
        ("#a #b #c #d #e #f #g #h love it", "8 hashtags"),
        ("Free followers! Check my bio", "promotion words"),
    ],
)
def test_spam_says_why(text, reason):
    verdict = triage.classify(text)
    assert verdict.spam and reason in verdict.spam_reasons
    assert not verdict.needs_reply


def test_an_ordinary_message_with_a_link_is_not_spam():
    assert not triage.classify("Here is the photo of my cake https://pics.example/1").spam


def test_a_corrected_sentiment_is_never_overwritten_but_the_rest_moves(db):
    conversation = Conversation(sentiment=Sentiment.POSITIVE, sentiment_corrected=True)

    changed = triage.apply_to_conversation(
        conversation, triage.classify("The bread was stale and the staff rude. Why?")
    )

    assert conversation.sentiment == Sentiment.POSITIVE
    assert "sentiment" not in changed
    assert conversation.priority == Priority.URGENT and "priority" in changed


def test_priority_only_goes_up(db):
    conversation = Conversation(priority=Priority.URGENT)

    triage.apply_to_conversation(conversation, triage.classify("Thanks!"))

    assert conversation.priority == Priority.URGENT
