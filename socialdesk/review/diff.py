"""A word-level diff between two versions of a post's text (``difflib``).

Words and the whitespace between them are the units, so a changed word shows as one deleted
and one inserted word rather than as scattered letters, and the line breaks of the original
survive in the rendering.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

TOKENS = re.compile(r"\s+|[^\s]+")


@dataclass(frozen=True)
class Piece:
    kind: str  # "same", "insert" or "delete"
    text: str


def words(text: str) -> list[str]:
    return TOKENS.findall(text)


def word_diff(old: str, new: str) -> list[Piece]:
    """The pieces that turn ``old`` into ``new``, in reading order; a replacement is a
    deletion followed by an insertion. Neighbouring pieces of one kind are merged."""
    a, b = words(old), words(new)
    # autojunk would treat frequent words (and spaces) as noise in long texts.
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    pieces: list[Piece] = []

    def add(kind: str, tokens: list[str]) -> None:
        text = "".join(tokens)
        if not text:
            return
        if pieces and pieces[-1].kind == kind:
            pieces[-1] = Piece(kind, pieces[-1].text + text)
        else:
            pieces.append(Piece(kind, text))

    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            add("same", a[i1:i2])
        if tag in ("delete", "replace"):
            add("delete", a[i1:i2])
        if tag in ("insert", "replace"):
            add("insert", b[j1:j2])
    return pieces


def summary(pieces: list[Piece]) -> dict[str, int]:
    """How many words were inserted and deleted (for the page's heading and the API)."""
    counts = {"inserted": 0, "deleted": 0}
    for piece in pieces:
        n = len(piece.text.split())
        if piece.kind == "insert":
            counts["inserted"] += n
        elif piece.kind == "delete":
            counts["deleted"] += n
    return counts
