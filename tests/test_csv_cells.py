"""Exports that cannot hurt: no cell a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import io

import pytest

from socialdesk.csv_cells import neutralise, restore
from socialdesk.workflow.audit import record


@pytest.mark.parametrize(
    ("text", "written"),
    [
        (
            '=HYPERLINK("http://evil.example","click")',
            '\'=HYPERLINK("http://evil.example","click")',
        ),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("'=1", "''=1"),
        ("Plain text", "Plain text"),
        ("'quoted, not a formula", "'quoted, not a formula"),
        ("", ""),
    ],
)
def test_a_cell_that_could_start_a_formula_is_written_as_text_and_read_back(text, written):
    assert neutralise(text) == written
    assert restore(written) == text


def test_the_audit_export_neutralises_what_people_typed(signed_in, owner, workspace):
    record(workspace, "post.commented", actor=owner, detail="=cmd|' /C calc'!A0",
           via="@review link")  # fmt: skip
    response = signed_in(owner).get("/w/crumb/workflow/audit/?format=csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    (row,) = [r for r in rows[1:] if r[1] == "post.commented"]
    assert row[6] == "'=cmd|' /C calc'!A0"
    assert row[3] == "'@review link"
    assert not any(cell.startswith(("=", "+", "-", "@")) for r in rows for cell in r)
