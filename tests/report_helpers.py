"""A report of the bakery's, for the tests that need one to exist (API matrix, fuzzing)."""

from __future__ import annotations


def a_report(workspace, owner) -> int:
    """A weekly report shared with clients (so a client may read it), sent to an address."""
    from socialdesk.analytics.reports import ReportSpec, save_report

    spec = ReportSpec(
        name="Weekly",
        sections=["overview"],
        emails=["client@example.org"],
        shared_with_clients=True,
    )
    return save_report(workspace, owner, spec).pk
