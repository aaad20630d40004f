"""Brand voice: the workspace's rules about wording, checked while writing and at the gate.

``text_problems`` checks any text (also unsaved text from the editor); ``post_problems``
adds what depends on the post (required texts of its campaign and labels, the length bounds
of the networks it goes to). Each problem is a sentence that says what to fix.

``forbidden_problems`` is the part scheduling refuses (banned phrases, hashtag range, length
per network): the workflow hands it to content and publishing through ``content.rules``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

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


def _banned(settings: WorkflowSettings, text: str) -> list[str]:
    return [
        f"Remove “{phrase}”: it is on the banned list."
        for phrase in settings.banned_phrases
        if phrase.strip() and _contains(text, phrase)
    ]


def _hashtags(settings: WorkflowSettings, text: str) -> list[str]:
    tags = HASHTAG.findall(text)
    problems = []
    if len(tags) < settings.hashtag_min:
        problems.append(f"Use at least {settings.hashtag_min} hashtags; the text has {len(tags)}.")
    if settings.hashtag_max is not None and len(tags) > settings.hashtag_max:
        problems.append(f"Use at most {settings.hashtag_max} hashtags; the text has {len(tags)}.")
    return problems


def _lengths(settings: WorkflowSettings, text: str, networks: Iterable[str]) -> list[str]:
    problems = []
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
    return problems


def forbidden_problems(
    settings: WorkflowSettings, text: str, networks: Iterable[str] = ()
) -> list[str]:
    """What the workspace forbids outright in ``text`` going to ``networks``: banned phrases,
    a hashtag count out of range, a length out of a network's bounds. Scheduling refuses these
    at every door (``content.rules``, registered in ``apps.py``), with these sentences; the
    other brand voice rules (required texts, reading level) are advice until a stage's
    checklist asks for them."""
    return _banned(settings, text) + _hashtags(settings, text) + _lengths(settings, text, networks)


def text_problems(
    settings: WorkflowSettings,
    text: str,
    *,
    required: Iterable[str] = (),
    networks: Iterable[str] = (),
) -> list[str]:
    """What in ``text`` breaks the brand voice rules (empty: nothing)."""
    problems = _banned(settings, text)
    for needed in required:
        if needed.lower() not in text.lower():
            problems.append(f"Add “{needed}”: required for this post's campaign or labels.")
    problems += _hashtags(settings, text)
    problems += _lengths(settings, text, networks)
    if settings.max_reading_grade is not None and text.strip():
        grade = reading_grade(text)
        if grade > settings.max_reading_grade:
            problems.append(
                f"Reading level is grade {grade}; keep it at {settings.max_reading_grade} or "
                "below with shorter sentences and words."
            )
    return problems


def scheduling_rule(workspace_id: int) -> Callable[[str, list[str]], list[str]]:
    """``forbidden_problems`` with the workspace's settings read once: the rule this app
    registers with ``content.rules`` (a workspace that never saved settings forbids nothing)."""
    settings = WorkflowSettings.objects.filter(workspace_id=workspace_id).first()
    if settings is None:
        return lambda text, networks: []
    return lambda text, networks: forbidden_problems(settings, text, networks)


def required_for(workspace_id: int, campaign_id: int | None, label_ids: Iterable[int]) -> list[str]:
    """Disclaimers and hashtags a post of ``campaign_id`` with ``label_ids`` must contain."""
    labels = set(label_ids)
    texts = []
    for rule in RequiredText.objects.filter(workspace_id=workspace_id):
        by_campaign = rule.campaign_id is not None and rule.campaign_id == campaign_id
        by_label = rule.label_id is not None and rule.label_id in labels
        if by_campaign or by_label:
            texts.append(rule.text)
    return texts


def required_texts(post: Post, label_ids: Iterable[int] | None = None) -> list[str]:
    """Disclaimers and hashtags the post's campaign and labels require."""
    labels = list(label_ids) if label_ids is not None else [label.pk for label in post.labels.all()]
    return required_for(post.workspace_id, post.campaign_id, labels)


def post_problems(post: Post, settings: WorkflowSettings, text: str | None = None) -> list[str]:
    """Brand voice problems of ``post`` (or of ``text`` as the post's unsaved text)."""
    networks = [d.channel.network for d in post.deliveries.select_related("channel")]
    return text_problems(
        settings,
        post.text if text is None else text,
        required=required_texts(post),
        networks=networks,
    )
