"""Chaos: worker processes killed with SIGKILL mid-publishing; every post goes out once.

The scenario lives in ``bench/chaos.py`` (also a script); here it runs against the suite's
local Bluesky network, on the database the suite runs on: a SQLite file of its own, or a
dedicated PostgreSQL database on the suite's server (created and dropped by the scenario).
The count is taken on the Bluesky server, not from Socialdesk's own records.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.chaos import run_chaos  # noqa: E402


def test_every_post_is_published_exactly_once_while_workers_are_killed_at_random(
    bluesky_server,
):
    suite_database = os.environ.get("DATABASE_URL", "")
    database = "postgresql" if suite_database.startswith("postgres") else "sqlite"

    result = run_chaos(
        bluesky_server,
        database,
        deliveries=200,
        kills=5,
        workers=2,
        timeout=60,
        pg_url=suite_database,
    )

    assert result["kills"] == 5
    assert result["settled"], f"not every delivery reached an end state: {result['states']}"
    assert result["states"] == {"published": 200}
    assert result["lost"] == 0
    assert result["duplicated"] == 0
    assert result["on_server"] == 200
    assert result["published_without_remote_id"] == 0
    # Killed workers' claims are recovered from their stale heartbeats (the lease is 5 min).
    assert result["drain_after_last_kill_s"] < 60
