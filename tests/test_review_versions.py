"""Versions: a word-level diff between any two versions of a post, the revision count, and
the versions page that shows both (with <ins>/<del> and text for screen readers)."""

from __future__ import annotations

import pytest
from api_helpers import call

from socialdesk.content.services import PostContent, update_post
from socialdesk.review.diff import Piece, summary, word_diff

pytestmark = pytest.mark.django_db


def test_the_diff_marks_inserted_and_deleted_words():
    pieces = word_diff("Fresh sourdough at 7 every day", "Fresh rye sourdough at 8 every day")
    assert [(p.kind, p.text.strip()) for p in pieces] == [
        ("same", "Fresh"),
        ("insert", "rye"),
        ("same", "sourdough at"),
        ("delete", "7"),
        ("insert", "8"),
        ("same", "every day"),
    ]
    # Read without deletions it is the new text, without insertions the old one.
    assert "".join(p.text for p in pieces if p.kind != "delete") == (
        "Fresh rye sourdough at 8 every day"
    )
    assert summary(pieces) == {"inserted": 2, "deleted": 1}


def test_the_diff_of_equal_texts_is_one_unchanged_piece_and_line_breaks_survive():
    assert word_diff("a b\nc", "a b\nc") == [Piece("same", "a b\nc")]
    pieces = word_diff("line one\nline two", "line one\n\nline three")
    assert "".join(p.text for p in pieces if p.kind != "delete") == "line one\n\nline three"
    assert "".join(p.text for p in pieces if p.kind != "insert") == "line one\nline two"


def test_the_diff_handles_empty_texts():
    assert word_diff("", "Hello there") == [Piece("insert", "Hello there")]
    assert word_diff("Bye now", "") == [Piece("delete", "Bye now")]
    assert word_diff("", "") == []


@pytest.fixture
def edited(post, creator):
    update_post(post, creator, PostContent(text="Fresh rye at 7 🍞"))
    update_post(post, creator, PostContent(text="Fresh rye at 8 🍞 and croissants"))
    return post


def test_the_versions_page_shows_the_revision_count_and_the_latest_changes(
    edited, approver, signed_in
):
    page = signed_in(approver).get(f"/w/crumb/posts/{edited.pk}/versions/").content.decode()
    assert "3 versions · 2 revisions" in page
    assert '<del><span class="visually-hidden">[removed: </span>7' in page
    assert '<ins><span class="visually-hidden">[added: </span>8' in page
    assert "croissants" in page


def test_any_two_versions_can_be_compared(edited, approver, signed_in):
    page = signed_in(approver).get(f"/w/crumb/posts/{edited.pk}/versions/?from=1&to=3")
    text = page.content.decode()
    assert "sourdough" in text.split('class="diff"')[1].split("</div>")[0]
    assert "From version 1 to version 3" in text


def test_unknown_version_numbers_fall_back_instead_of_failing(edited, approver, signed_in):
    response = signed_in(approver).get(f"/w/crumb/posts/{edited.pk}/versions/?from=99&to=abc")
    assert response.status_code == 200


def test_the_api_gives_the_diff_and_the_revision_count(edited, analyst, token_for):
    response = call(
        "get", f"/workspaces/crumb/posts/{edited.pk}/diff?from=1&to=2", token_for(analyst)
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["revisions"] == 2
    assert {"kind": "delete", "text": "sourdough"} in body["pieces"]
    assert {"kind": "insert", "text": "rye"} in body["pieces"]
    latest = call("get", f"/workspaces/crumb/posts/{edited.pk}/diff", token_for(analyst)).json()
    assert (latest["from_version"], latest["to_version"]) == (2, 3)


def test_the_api_names_a_missing_version_with_422(edited, analyst, token_for):
    response = call("get", f"/workspaces/crumb/posts/{edited.pk}/diff?to=9", token_for(analyst))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "to"
    assert "1 to 3" in response.json()["errors"][0]["message"]
