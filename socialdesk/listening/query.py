"""The listening query language: what a topic follows, compiled once, matched against many texts.

Syntax (Lucene's, parsed by luqum, with our additions):

- ``bread`` a word; ``"pain au chocolat"`` a phrase (its words next to each other, in order).
- ``a AND b``, ``a OR b``, ``NOT a`` (also Lucene's ``+a`` required and ``-a`` excluded);
  operators are written in capitals, as in Lucene, so "and" in lower case is a word. Words
  side by side with no operator all have to be there (``croissant beurre`` = both): a listening
  query narrows, it does not widen.
- ``( … )`` groups; ``crois*`` any word that starts with "crois" (a suffix ``*`` only, after at
  least two letters; Lucene's ``?`` wildcard is not ours: a ``?`` is punctuation).
- ``a NEAR/n b`` the two within ``n`` words of each other, in either order. luqum has no such
  operator (its proximity, ``"a b"~n``, is on a phrase only and may not hold a wildcard), so
  it reads ``NEAR/5`` as a plain word between its two neighbours in an implicit operation;
  the evaluator joins the three. Because the implicit operation binds more loosely than AND
  and OR in luqum, ``a NEAR/3 b OR c`` would read as ``a NEAR/3 (b OR c)``: rather than guess,
  a side of NEAR must be a word, a wildcard or a phrase, and the error says to add parentheses.
  Lucene's ``"a b"~n`` is accepted too and means the same: all its words within ``n``.
- ``#tag`` the hashtag only; a plain ``tag`` also finds ``#tag`` (a hashtag is a word too).
- ``from:handle`` (with or without ``@``) the author; ``lang:xx`` the language triage found.

Matching is case- and accent-insensitive (café = cafe = CAFÉ) and whole-word (``cafe`` is not
in "cafeteria"; ``cafe*`` is). Words are runs of letters and digits; an emoji is a word of its
own, so ``🥐`` finds a croissant emoji.

A query that cannot be read raises ``django.core.exceptions.ValidationError`` whose message
names the character (counted from 1) and what to change; ``QueryError.position`` keeps it
(counted from 0) for a form to point at.

Speed: ``compile_query`` does the parsing once; ``Text`` normalises a text once; a ``Matcher``
holding many queries first asks which queries could match at all (each query is indexed by
words one of which must be in the text), then evaluates only those.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import regex
from django.core.exceptions import ValidationError
from luqum import tree
from luqum.exceptions import ParseError
from luqum.parser import parser

MAX_QUERY_LENGTH = 2000
MIN_PREFIX = 2
MAX_NEAR = 50
FIELDS = ("from", "lang")

# Words: letters and digits (joined by nothing else); an emoji is one word on its own.
_TOKEN = regex.compile(r"\w+|\p{Extended_Pictographic}", regex.UNICODE)
_HASHTAG = regex.compile(r"(?<![\w#])#(\w+)", regex.UNICODE)
_HANDLE = regex.compile(r"^@?[\w.\-:]+$", regex.UNICODE)
_LANG = re.compile(r"^[a-z]{2,3}$")
_NEAR = re.compile(r"^NEAR/(\d+)$", re.IGNORECASE)
_POSITION = re.compile(r"at position (\d+)")


class QueryError(ValidationError):
    """A query that cannot be read: where (``position``, from 0) and what to fix."""

    def __init__(self, message: str, position: int) -> None:
        self.position = position
        super().__init__(f"At character {position + 1}: {message}", code="invalid_query")


_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ø": "o", "ł": "l", "đ": "d"})


def fold(text: str) -> str:
    """Lower case without accents: "Café" → "cafe", "Œuf" → "oeuf"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_LIGATURES))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words_of(text: str) -> list[str]:
    return _TOKEN.findall(fold(text))


class Text:
    """One text normalised once for every query: its words in order, the set of them, its
    hashtags, its author and language."""

    __slots__ = ("author", "hashtags", "language", "words", "word_set", "_positions")

    def __init__(self, text: str, author: str = "", language: str = "") -> None:
        folded = fold(text)
        self.words: list[str] = _TOKEN.findall(folded)
        self.word_set: frozenset[str] = frozenset(self.words)
        self.hashtags: frozenset[str] = frozenset(_HASHTAG.findall(folded))
        self.author = fold(author).lstrip("@")
        self.language = (language or "").split("-")[0].lower()
        self._positions: dict[str, list[int]] | None = None

    def positions(self) -> dict[str, list[int]]:
        if self._positions is None:
            found: dict[str, list[int]] = defaultdict(list)
            for index, word in enumerate(self.words):
                found[word].append(index)
            self._positions = found
        return self._positions

    def index_keys(self) -> set[str]:
        """What the matcher's index is keyed by (see ``Node.anchors``)."""
        keys = set(self.word_set)
        keys.update("#" + tag for tag in self.hashtags)
        if self.author:
            keys.add("from:" + self.author)
        if self.language:
            keys.add("lang:" + self.language)
        return keys


# The compiled form: a small tree of nodes, each with ``matches(text)`` and ``anchors()``:
# a set of index keys one of which a matching text must have, or None when no such set exists
# (NOT, or an OR with such a side). A prefix anchor is kept as "prefix*".


class Node:
    def matches(self, text: Text) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def anchors(self) -> set[str] | None:
        return None


@dataclass
class Word(Node):
    word: str

    def matches(self, text: Text) -> bool:
        return self.word in text.word_set

    def anchors(self) -> set[str] | None:
        return {self.word}

    def spans(self, text: Text) -> list[tuple[int, int]]:
        return [(i, i) for i in text.positions().get(self.word, ())]


@dataclass
class Prefix(Node):
    prefix: str

    def matches(self, text: Text) -> bool:
        return any(word.startswith(self.prefix) for word in text.word_set)

    def anchors(self) -> set[str] | None:
        return {self.prefix + "*"}

    def spans(self, text: Text) -> list[tuple[int, int]]:
        return [(i, i) for i, word in enumerate(text.words) if word.startswith(self.prefix)]


@dataclass
class Phrase(Node):
    words: list[str]

    def matches(self, text: Text) -> bool:
        if not text.word_set.issuperset(self.words):
            return False
        return bool(self.spans(text))

    def anchors(self) -> set[str] | None:
        return {self.words[0]}

    def spans(self, text: Text) -> list[tuple[int, int]]:
        size = len(self.words)
        found = []
        for start in text.positions().get(self.words[0], ()):
            if text.words[start : start + size] == self.words:
                found.append((start, start + size - 1))
        return found


Term = Word | Prefix | Phrase


@dataclass
class Hashtag(Node):
    tag: str

    def matches(self, text: Text) -> bool:
        return self.tag in text.hashtags

    def anchors(self) -> set[str] | None:
        return {"#" + self.tag}


@dataclass
class Field(Node):
    name: str
    value: str

    def matches(self, text: Text) -> bool:
        if self.name == "from":
            return text.author == self.value
        return text.language == self.value

    def anchors(self) -> set[str] | None:
        return {f"{self.name}:{self.value}"}


@dataclass
class Near(Node):
    """All ``terms`` within ``distance`` words of each other (at most ``distance`` words
    between the nearest ends of any two), in any order."""

    terms: list[Term]
    distance: int

    def matches(self, text: Text) -> bool:
        if not all(term.matches(text) for term in self.terms):
            return False
        all_spans = [term.spans(text) for term in self.terms]
        # Texts are short: try each occurrence of the first term as the window's anchor.
        for start, end in all_spans[0]:
            if all(
                any(_gap((start, end), other) <= self.distance for other in spans)
                for spans in all_spans[1:]
            ):
                return True
        return False

    def anchors(self) -> set[str] | None:
        return self.terms[0].anchors()


def _gap(a: tuple[int, int], b: tuple[int, int]) -> int:
    """Words strictly between two spans (0 when they touch or overlap)."""
    if a[1] < b[0]:
        return b[0] - a[1] - 1
    if b[1] < a[0]:
        return a[0] - b[1] - 1
    return 0


@dataclass
class And(Node):
    children: list[Node]

    def matches(self, text: Text) -> bool:
        return all(child.matches(text) for child in self.children)

    def anchors(self) -> set[str] | None:
        best: set[str] | None = None
        for child in self.children:
            found = child.anchors()
            if found is not None and (best is None or len(found) < len(best)):
                best = found
        return best


@dataclass
class Or(Node):
    children: list[Node]

    def matches(self, text: Text) -> bool:
        return any(child.matches(text) for child in self.children)

    def anchors(self) -> set[str] | None:
        union: set[str] = set()
        for child in self.children:
            found = child.anchors()
            if found is None:
                return None
            union |= found
        return union


@dataclass
class Not(Node):
    child: Node

    def matches(self, text: Text) -> bool:
        return not self.child.matches(text)


@dataclass
class Query:
    """A compiled query: ``query.matches(text_or_Text)``."""

    source: str
    root: Node

    def matches(self, text: Text | str) -> bool:
        if isinstance(text, str):
            text = Text(text)
        return self.root.matches(text)


def compile_query(source: str) -> Query:
    """Parse and check ``source`` once; raises ``QueryError`` (a ValidationError) when it
    cannot be read."""
    if not isinstance(source, str) or not source.strip():
        raise QueryError('the query is empty; write a word, a "phrase" or a #tag.', 0)
    if len(source) > MAX_QUERY_LENGTH:
        raise QueryError(
            f"the query is longer than {MAX_QUERY_LENGTH} characters; split it into several.",
            MAX_QUERY_LENGTH,
        )
    _check_quotes(source)
    try:
        parsed = parser.parse(source)
    except ParseError as error:
        raise _syntax_error(source, str(error)) from None
    return Query(source, _Builder(source).build(parsed))


def _check_quotes(source: str) -> None:
    if source.count('"') % 2:
        raise QueryError('this quote is never closed; add the closing ".', source.rindex('"'))


def _syntax_error(source: str, message: str) -> QueryError:
    found = _POSITION.search(message)
    if found:
        position = int(found.group(1))
        rest = source[position:].split()
        what = rest[0] if rest else source[position:]
        if what == ")":
            return QueryError("this ) closes nothing; remove it or add its (.", position)
        if what.upper() in ("AND", "OR", "NOT"):
            return QueryError(
                f'{what} needs a word, a "phrase" or a (group) before and after it.', position
            )
        return QueryError(f"unexpected {what!r}; check the operators around it.", position)
    if source.count("(") > source.count(")"):
        return QueryError("a ( is never closed; add the closing ).", source.rindex("("))
    return QueryError(
        "the query ends too early; an operator (AND, OR, NOT) needs something after it.",
        len(source.rstrip()),
    )


class _Builder:
    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, item: Any, message: str) -> QueryError:
        return QueryError(message, int(getattr(item, "pos", 0) or 0))

    def build(self, item: Any) -> Node:
        if isinstance(item, tree.Group | tree.FieldGroup):
            return self.build(item.expr)
        if isinstance(item, tree.AndOperation):
            return And([self.build(child) for child in item.children])
        if isinstance(item, tree.OrOperation):
            return Or([self.build(child) for child in item.children])
        if isinstance(item, tree.UnknownOperation):
            return self.implicit(list(item.children))
        if isinstance(item, tree.Not | tree.Prohibit):
            return Not(self.build(item.a))
        if isinstance(item, tree.Plus):
            return self.build(item.a)
        if isinstance(item, tree.SearchField):
            return self.field(item)
        if isinstance(item, tree.Proximity):
            return self.proximity(item)
        if isinstance(item, tree.Phrase):
            return self.phrase(item)
        if isinstance(item, tree.Word):
            if _NEAR.match(item.value):
                raise self.error(item, f'{item.value} needs a word or "phrase" on each side.')
            return self.word(item)
        if isinstance(item, tree.Fuzzy):
            raise self.error(item, "fuzzy matching (~ after a word) is not supported; remove ~.")
        if isinstance(item, tree.Boost):
            raise self.error(item, "boosts (^) do not apply to listening; remove the ^.")
        if isinstance(item, tree.Range):
            raise self.error(item, "ranges ([a TO b]) are not supported; list the words with OR.")
        if isinstance(item, tree.Regex):
            raise self.error(item, "regular expressions (/…/) are not supported; use words and *.")
        raise self.error(item, "this part of the query is not supported.")

    def implicit(self, children: list[Any]) -> Node:
        """Words side by side: AND, except that ``a NEAR/n b`` joins its two neighbours."""
        nodes: list[Node] = []
        index = 0
        while index < len(children):
            child = children[index]
            near = _NEAR.match(child.value) if isinstance(child, tree.Word) else None
            if near is None:
                nodes.append(self.build(child))
                index += 1
                continue
            if not nodes or index + 1 >= len(children):
                raise self.error(child, f'{child.value} needs a word or "phrase" on each side.')
            distance = int(near.group(1))
            if distance > MAX_NEAR:
                raise self.error(child, f"NEAR/{distance} is too far; use at most NEAR/{MAX_NEAR}.")
            left = nodes.pop()
            right_item = children[index + 1]
            right = self.build(right_item)
            if isinstance(left, Near) and isinstance(right, Word | Prefix | Phrase):
                # a NEAR/3 b NEAR/3 c: all three close together.
                left.terms.append(right)
                left.distance = max(left.distance, distance)
                nodes.append(left)
            elif isinstance(left, Word | Prefix | Phrase) and isinstance(
                right, Word | Prefix | Phrase
            ):
                nodes.append(Near([left, right], distance))
            else:
                raise self.error(
                    child,
                    f'each side of {child.value} must be a word, a wildcard or a "phrase"; '
                    f"put the NEAR in parentheses, e.g. (a {child.value} b) OR c.",
                )
            index += 2
        return nodes[0] if len(nodes) == 1 else And(nodes)

    def word(self, item: tree.Word) -> Node:
        value = item.value
        if value.startswith("#"):
            tag = words_of(value[1:])
            if len(tag) != 1 or value.endswith("*"):
                raise self.error(item, f"{value!r} is not a hashtag; write # then letters.")
            return Hashtag(tag[0])
        if "*" in value.rstrip("*") or value.count("*") > 1:
            raise self.error(item, f"in {value!r}, * may only end a word (crois*).")
        if value.endswith("*"):
            words = words_of(value[:-1])
            if len(words) != 1 or len(words[0]) < MIN_PREFIX:
                raise self.error(
                    item, f"{value!r}: a wildcard needs at least {MIN_PREFIX} letters before *."
                )
            return Prefix(words[0])
        words = words_of(value)
        if not words:
            raise self.error(item, f"{value!r} has no letters, digits or emoji to look for.")
        if len(words) == 1:
            return Word(words[0])
        return Phrase(words)  # "l'été" reads as the words "l ete" side by side

    def phrase(self, item: tree.Phrase) -> Node:
        words = words_of(item.value.strip('"'))
        if not words:
            raise self.error(item, "this phrase is empty; write words between the quotes.")
        if len(words) == 1:
            return Word(words[0])
        return Phrase(words)

    def proximity(self, item: tree.Proximity) -> Node:
        words = words_of(item.term.value.strip('"'))
        if not words:
            raise self.error(item, "this phrase is empty; write words between the quotes.")
        distance = int(item.degree if item.degree is not None else 1)
        if distance > MAX_NEAR:
            raise self.error(item, f"~{distance} is too far; use at most ~{MAX_NEAR}.")
        if len(words) == 1:
            return Word(words[0])
        return Near([Word(word) for word in words], distance)

    def field(self, item: tree.SearchField) -> Node:
        name = item.name.lower()
        if name not in FIELDS:
            raise self.error(
                item, f"{item.name}: is not a field we know; use from:handle or lang:xx."
            )
        expr = item.expr
        if isinstance(expr, tree.FieldGroup | tree.Group):
            raise self.error(item, f"write one value after {name}: (use OR between two fields).")
        if not isinstance(expr, tree.Word):
            raise self.error(item, f"{name}: needs one value, without quotes.")
        value = expr.value
        if name == "from":
            if not _HANDLE.match(value):
                raise self.error(item, f"{value!r} is not a handle; write from:name.example.")
            return Field("from", fold(value).lstrip("@"))
        value = value.lower()
        if not _LANG.match(value):
            raise self.error(item, f"{value!r} is not a language code; write lang:fr, lang:en …")
        return Field("lang", value)


@dataclass
class Matcher:
    """Many compiled queries, each with a key (a TopicQuery id), matched together.

    ``match(text)`` returns the keys whose query matches. Each query is filed under its
    anchors (words one of which must be in a matching text), so a text only evaluates the
    queries that could match it; queries without anchors (NOT …) are always evaluated.
    """

    queries: list[tuple[Any, Query]] = field(default_factory=list)

    @cached_property
    def _index(self) -> tuple[dict[str, list[int]], dict[str, list[int]], list[int]]:
        by_key: dict[str, list[int]] = defaultdict(list)
        by_prefix: dict[str, list[int]] = defaultdict(list)
        always: list[int] = []
        for position, (_key, query) in enumerate(self.queries):
            anchors = query.root.anchors()
            if anchors is None:
                always.append(position)
                continue
            for anchor in anchors:
                if anchor.endswith("*"):
                    by_prefix[anchor[:-1]].append(position)
                else:
                    by_key[anchor].append(position)
        return dict(by_key), dict(by_prefix), always

    @cached_property
    def _prefix_lengths(self) -> list[int]:
        return sorted({len(prefix) for prefix in self._index[1]})

    def add(self, key: Any, query: Query) -> None:
        self.queries.append((key, query))
        self.__dict__.pop("_index", None)
        self.__dict__.pop("_prefix_lengths", None)

    def candidates(self, text: Text) -> set[int]:
        by_key, by_prefix, always = self._index
        found = set(always)
        for key in text.index_keys():
            hit = by_key.get(key)
            if hit:
                found.update(hit)
        if by_prefix:
            for word in text.word_set:
                for size in self._prefix_lengths:
                    if size > len(word):
                        break
                    hit = by_prefix.get(word[:size])
                    if hit:
                        found.update(hit)
        return found

    def match(self, text: Text) -> list[Any]:
        return [
            self.queries[position][0]
            for position in sorted(self.candidates(text))
            if self.queries[position][1].root.matches(text)
        ]


def matcher_for(pairs: Iterable[tuple[Any, str]]) -> Matcher:
    """A matcher of (key, query text) pairs; a query that no longer compiles is skipped (it
    was checked when saved; a stricter parser later must not stop listening)."""
    matcher = Matcher()
    for key, source in pairs:
        try:
            matcher.add(key, compile_query(source))
        except ValidationError:
            continue
    return matcher
