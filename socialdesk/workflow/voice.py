"""Brand voice: the workspace's rules about wording, checked while writing and at the gate.

``text_problems`` checks any text (also unsaved text from the editor); ``post_problems``
adds what depends on the post (required texts of its campaign and labels, the length bounds
of the networks it goes to). Each problem is a sentence that says what to fix.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from socialdesk.content.models import Post

from .models import RequiredText, WorkflowSettings

HASHTAG = re.compile(r"(?<![\w#])#(\w+)")
WORD = re.compile(r"[A-Za-zÀ-ÿ']+")
SENTENCE_END = re.compile(r"[.!?]+")


def _contains(text: str, phrase: str) -> bool:
    """Whole-word, case-insensitive match, so "cure" does not match "secure"."""
    pattern = r"(?<!\w)" + re.escape(phrase.strip()) + r"(?!\w)"
    return re.search(pattern, text, flags=re.IGNORECASE) is not None


def _syllables(word: str) -> int:
    # A rough vowel-group count: good enough to rank texts, not a linguistic tool.
    groups = re.findall(r"[aeiouy]+", word.lower())
    count = len(groups)
    if word.lower().endswith("e") and count > 1:
        count -= 1
    return max(count, 1)


def reading_grade(text: str) -> float:
    """Flesch-Kincaid grade level of ``text`` (0 for text without words)."""
    # Links, hashtags and mentions are not prose: leave them out of the count.
    text = re.sub(r"https?://\S+|[#@]\w+", " ", text)
    words = WORD.findall(text)
    if not words:
        return 0.0
    sentences = max(len([s for s in SENTENCE_END.split(text) if s.strip()]), 1)
    syllables = sum(_syllables(w) for w in words)
    grade = 0.39 * len(words) / sentences + 11.8 * syllables / len(words) - 15.59
    return round(max(grade, 0.0), 1)


def text_problems(
    settings: WorkflowSettings,
    text: str,
    *,
    required: Iterable[str] = (),
    networks: Iterable[str] = (),
) -> list[str]:
    """What in ``text`` breaks the brand voice rules (empty: nothing)."""
    problems: list[str] = []
    for phrase in settings.banned_phrases:
        if phrase.strip() and _contains(text, phrase):
            problems.append(f"Remove “{phrase}”: it is on the banned list.")
    for needed in required:
        if needed.lower() not in text.lower():
            problems.append(f"Add “{needed}”: required for this post's campaign or labels.")
    tags = HASHTAG.findall(text)
    if len(tags) < settings.hashtag_min:
        problems.append(f"Use at least {settings.hashtag_min} hashtags; the text has {len(tags)}.")
    if settings.hashtag_max is not None and len(tags) > settings.hashtag_max:
        problems.append(f"Use at most {settings.hashtag_max} hashtags; the text has {len(tags)}.")
    for network in sorted(set(networks)):
        low, high = (list(settings.length_bounds.get(network) or []) + [None, None])[:2]
        if low is not None and len(text) < low:
            problems.append(
                f"On {network} the text should have at least {low} characters; it has {len(text)}."
            )
        if high is not None and len(text) > high:
            problems.append(
                f"On {network} the text should have at most {high} characters; it has {len(text)}."
            )
    if settings.max_reading_grade is not None and text.strip():
        grade = reading_grade(text)
        if grade > settings.max_reading_grade:
            problems.append(
                f"Reading level is grade {grade}; keep it at {settings.max_reading_grade} or "
                "below with shorter sentences and words."
            )
    return problems


def required_texts(post: Post, label_ids: Iterable[int] | None = None) -> list[str]:
    """Disclaimers and hashtags the post's campaign and labels require."""
    labels = list(label_ids) if label_ids is not None else [label.pk for label in post.labels.all()]
    rules = RequiredText.objects.filter(workspace_id=post.workspace_id)
    texts = []
    for rule in rules:
        by_campaign = rule.campaign_id is not None and rule.campaign_id == post.campaign_id
        by_label = rule.label_id is not None and rule.label_id in labels
        if by_campaign or by_label:
            texts.append(rule.text)
    return texts


def post_problems(post: Post, settings: WorkflowSettings, text: str | None = None) -> list[str]:
    """Brand voice problems of ``post`` (or of ``text`` as the post's unsaved text)."""
    networks = [d.channel.network for d in post.deliveries.select_related("channel")]
    return text_problems(
        settings,
        post.text if text is None else text,
        required=required_texts(post),
        networks=networks,
    )
