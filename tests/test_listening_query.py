"""The listening query language (socialdesk.listening.query): every operator, accents, emoji,
French, and bad queries refused with the character to fix."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from socialdesk.listening.query import QueryError, Text, compile_query, matcher_for

pytestmark = pytest.mark.any_database


def matches(query: str, text: str, **extra: str) -> bool:
    return compile_query(query).matches(Text(text, **extra))


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        # words: whole words, any case
        ("bread", "Fresh BREAD today", True),
        ("bread", "Breadcrumbs everywhere", False),
        ("bread", "sourdough-bread, please", True),
        ("bread", "bread.", True),
        ("bread", "no loaf here", False),
        ("2024", "since 2024!", True),
        # phrases: in order, side by side, punctuation between is fine
        ('"pain au chocolat"', "Un pain au chocolat, svp", True),
        ('"pain au chocolat"', "Un Pain-au-Chocolat", True),
        ('"pain au chocolat"', "chocolat au pain", False),
        ('"pain au chocolat"', "pain et chocolat au lait", False),
        ('"good bread"', "the good, good bread", True),
        # AND, and words side by side
        ("bread AND butter", "butter on bread", True),
        ("bread AND butter", "bread alone", False),
        ("bread butter", "bread and butter", True),
        ("bread butter", "butter only", False),
        ("+bread +butter", "bread butter", True),
        # OR
        ("bread OR cake", "a cake", True),
        ("bread OR cake", "a pie", False),
        ("bread OR cake OR pie", "pie time", True),
        # NOT and -
        ("bread NOT stale", "fresh bread", True),
        ("bread NOT stale", "stale bread", False),
        ("bread -stale", "stale bread", False),
        ("NOT stale", "fresh bread", True),
        ("bread AND NOT (stale OR burnt)", "burnt bread", False),
        ("bread AND NOT (stale OR burnt)", "warm bread", True),
        # parentheses
        ("(bread OR cake) AND vegan", "vegan cake", True),
        ("(bread OR cake) AND vegan", "vegan soup", False),
        ("bread OR (cake AND vegan)", "cake", False),
        ("bread OR (cake AND vegan)", "bread", True),
        # lower-case operators are words, as in Lucene
        ("bread or cake", "cake", False),
        # wildcards: suffix only
        ("crois*", "Croissants!", True),
        ("crois*", "croissant", True),
        ("crois*", "acroissant", False),
        ("croissant*", "croissant", True),
        ("bak* AND fresh", "the bakery is fresh", True),
        # NEAR/n
        ("bread NEAR/2 fresh", "bread is very fresh", True),
        ("bread NEAR/1 fresh", "bread is very fresh", False),
        ("bread NEAR/0 fresh", "fresh bread", True),
        ("bread NEAR/3 fresh", "fresh, warm bread", True),
        ("croiss* NEAR/2 beurre", "croissants au beurre", True),
        ('"pain au chocolat" NEAR/3 chaud', "un pain au chocolat bien chaud", True),
        ('"pain au chocolat" NEAR/1 chaud', "un pain au chocolat tout bien chaud", False),
        ("(bread NEAR/1 fresh) OR cake", "cake", True),
        ("a NEAR/1 b NEAR/1 c", "a b c", True),
        ("a NEAR/1 b NEAR/1 c", "a b x x x c", False),
        ('"bread fresh"~2', "fresh and warm bread", True),
        ('"bread fresh"~1', "fresh and warm bread", False),
        # hashtags
        ("#bread", "I love #Bread", True),
        ("#bread", "I love bread", False),
        ("#bread", "I love #breadmaking", False),
        ("bread", "I love #bread", True),
        ("#pâtisserie", "vive la #patisserie", True),
        # accents, both ways, and case
        ("café", "Le CAFE est bon", True),
        ("cafe", "Un café crème", True),
        ("CAFÉ", "cafe", True),
        ("cafe", "cafétéria", False),
        ("caf*", "cafétéria", True),
        ("œuf", "un oeuf", True),
        ("Noël", "joyeux noel", True),
        # French text: apostrophes split words, as in "l'été"
        ("été", "C'est l'été à la boulangerie", True),
        ("l'été", "l’été arrive", True),
        ('"à la boulangerie"', "Rendez-vous à la Boulangerie !", True),
        ("boulangerie NOT fermée", "La boulangerie est fermée", False),
        # emoji
        ("🥐", "yum 🥐🥐", True),
        ("🥐", "yum", False),
        ("🥐 AND beurre", "beurre 🥐", True),
        ('"love 🥐"', "I love 🥐 so much", True),
    ],
)
def test_query_matches(query: str, text: str, expected: bool) -> None:
    assert matches(query, text) is expected


def test_from_matches_the_author_with_or_without_at() -> None:
    assert matches("from:alice.example", "hi", author="@Alice.Example")
    assert matches("from:@alice.example", "hi", author="alice.example")
    assert not matches("from:alice.example", "hi", author="bob.example")
    assert matches("bread AND NOT from:us.example", "bread", author="them.example")


def test_lang_matches_the_language_triage_found() -> None:
    assert matches("lang:fr", "bonjour", language="fr")
    assert matches("lang:FR", "bonjour", language="fr-CA")
    assert not matches("lang:fr", "hello", language="en")
    assert matches("bread AND (lang:en OR lang:fr)", "bread", language="en")


def test_a_query_compiles_once_and_matches_plain_strings_too() -> None:
    query = compile_query("crois* OR pain")
    assert [query.matches(text) for text in ["croissant", "pain", "soupe"]] == [True, True, False]


@pytest.mark.parametrize(
    ("query", "position", "says"),
    [
        ("", 0, "empty"),
        ("   ", 0, "empty"),
        ("bread AND", 9, "ends too early"),
        ("bread )", 6, ") closes nothing"),
        ("(bread OR cake", 0, "( is never closed"),
        ('"pain au chocolat', 0, "quote is never closed"),
        ('bread "pain', 6, "quote is never closed"),
        ("bread AND OR cake", 10, "OR needs a word"),
        ("bread NEAR/3 cake OR pie", 6, "put the NEAR in parentheses"),
        ("NEAR/3 cake", 0, "on each side"),
        ("bread NEAR/3", 6, "on each side"),
        ("bread NEAR/99 cake", 6, "too far"),
        ("bread AND author:bob", 10, "not a field we know"),
        ("bread AND lang:french", 10, "not a language code"),
        ("*read", 0, "may only end a word"),
        ("br*ad", 0, "may only end a word"),
        ("cake AND b*", 9, "at least 2 letters"),
        ("bread~2", 0, "fuzzy"),
        ("bread^2", 0, "boosts"),
        ("[a TO c]", 0, "ranges"),
        ("/bre.d/", 0, "regular expressions"),
        ("bread AND &&", 10, "no letters"),
        ("#", 0, "not a hashtag"),
        ('""', 0, "phrase is empty"),
        ("x" * 2001, 2000, "longer than"),
    ],
)
def test_bad_queries_are_refused_with_the_position_and_the_fix(
    query: str, position: int, says: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        compile_query(query)
    error = caught.value
    assert isinstance(error, QueryError)
    assert error.position == position
    assert says in error.messages[0]
    assert error.messages[0].startswith(f"At character {position + 1}:")


def test_a_matcher_returns_the_keys_of_every_matching_query() -> None:
    matcher = matcher_for(
        [
            (1, "bread"),
            (2, "crois* AND beurre"),
            (3, "NOT bread"),
            (4, "#vegan OR from:rival.example"),
            (5, "lang:fr"),
            (6, "bread AND ("),  # no longer compiles: skipped, not fatal
        ]
    )
    assert matcher.match(Text("fresh bread")) == [1]
    assert matcher.match(Text("Croissants au beurre", language="fr")) == [2, 3, 5]
    assert matcher.match(Text("so #Vegan")) == [3, 4]
    assert matcher.match(Text("hello", author="rival.example")) == [3, 4]


def test_the_matchers_shortcut_never_changes_an_answer() -> None:
    """The matcher evaluates only the queries whose anchor words a text holds: on many
    random queries and texts it answers exactly what evaluating every query answers."""
    import random

    rng = random.Random(15)
    words = ["pain", "painter", "café", "cafe", "crumb", "croissant", "beurre", "bread", "🥐"]
    shapes = [
        lambda: rng.choice(words),
        lambda: f"{rng.choice(words)} AND {rng.choice(words)}",
        lambda: f"{rng.choice(words)} OR {rng.choice(words)}",
        lambda: f"NOT {rng.choice(words)}",
        lambda: f"{rng.choice(['pai', 'cro', 'caf'])}* -{rng.choice(words)}",
        lambda: f'"{rng.choice(words)} {rng.choice(words)}"',
        lambda: f"{rng.choice(words)} NEAR/1 {rng.choice(words)}",
        lambda: f"#{rng.choice(words[:-1])} OR from:ann.example",
        lambda: f"({rng.choice(words)} OR lang:fr) AND NOT {rng.choice(words)}",
    ]
    pairs = [(n, rng.choice(shapes)()) for n in range(200)]
    matcher = matcher_for(pairs)
    compiled = [(key, compile_query(text)) for key, text in pairs]
    for _ in range(300):
        chosen = [rng.choice(words + ["#crumb", "#pain", "le", "un"]) for _ in range(6)]
        text = Text(
            " ".join(chosen),
            author=rng.choice(["ann.example", "bob.example"]),
            language=rng.choice(["fr", "en"]),
        )
        assert matcher.match(text) == [key for key, query in compiled if query.matches(text)]
