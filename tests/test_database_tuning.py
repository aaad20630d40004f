"""PostgreSQL connections plan with an SSD's page costs (``socialdesk/database.py``): with the
server's default the calendar's month read the whole posts table (issue 12, item 5)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.db import connection

from socialdesk.database import tune_connection

ROOT = Path(__file__).resolve().parent.parent


class RecordingConnection:
    def __init__(self, vendor: str) -> None:
        self.vendor = vendor
        self.statements: list[str] = []

    def cursor(self) -> RecordingConnection:
        return self

    def __enter__(self) -> RecordingConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def execute(self, sql: str) -> None:
        self.statements.append(sql)


def test_a_new_postgresql_connection_gets_the_page_cost_and_sqlite_none(settings):
    settings.PG_RANDOM_PAGE_COST = "1.1"
    postgresql, sqlite = RecordingConnection("postgresql"), RecordingConnection("sqlite")
    tune_connection(None, postgresql)
    tune_connection(None, sqlite)
    assert postgresql.statements == ["SET random_page_cost = 1.1"]
    assert sqlite.statements == []


def test_an_empty_setting_keeps_the_servers_value(settings):
    settings.PG_RANDOM_PAGE_COST = ""
    postgresql = RecordingConnection("postgresql")
    tune_connection(None, postgresql)
    assert postgresql.statements == []


def test_the_test_database_connection_was_tuned_when_it_opened(db):
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW random_page_cost")
            assert cursor.fetchone()[0] == "1.1"
    else:
        assert connection.vendor == "sqlite"  # nothing to tune: SQLite has no such planner cost


def test_a_page_cost_that_is_not_a_number_stops_the_start():
    env = {**os.environ, "SOCIALDESK_PG_RANDOM_PAGE_COST": "fast", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", "import socialdesk.settings"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "SOCIALDESK_PG_RANDOM_PAGE_COST='fast' is not a positive number" in result.stderr
