"""Triage rules (issue 13, item 6): owned by SERVICE.

STAND-IN written by INGEST so that ``inbox.ingest`` can call the rules from the start: it
matches nothing. SERVICE's module replaces this file at merge (the lead keeps SERVICE's).
"""

from __future__ import annotations

from typing import Any


def apply_rules(message: Any) -> list[Any]:
    """Run the workspace's rules on a new inbound message; returns what was done (the
    stand-in: nothing)."""
    return []
