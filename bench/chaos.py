"""Chaos: workers killed with SIGKILL while they publish; every post still goes out once.

    python bench/chaos.py [--quick] [--database sqlite|postgresql] [--deliveries N] [--kills K]

The scenario (``run_chaos``; ``tests/test_chaos.py`` runs it in the suite):

1. A throw-away installation (``bench/_support.Installation``: its own data folder and a
   SQLite file or a dedicated PostgreSQL database) with a Bluesky channel on a fresh account
   of the local Bluesky network.
2. ``deliveries`` posts scheduled through ``create_post`` at random moments within
   ``spread`` seconds, a few seconds ahead.
3. ``workers`` worker processes (``run_worker``, the code behind ``socialdesk worker``). From
   the first due moment on, a random worker is killed with SIGKILL at a random moment,
   ``kills`` times, and a fresh one started in its place.
4. The workers run until every delivery has reached an end state (bounded by ``timeout``).
5. The account's records are listed on the server (``com.atproto.repo.list_records``):
   ``lost`` counts posts that are not there, ``duplicated`` extra copies of one post.

Timers: in the worker processes the heartbeat beats every second and goes stale after 3 s
(production: 5 s and 30 s), the sweep runs at every beat, and the sweeper's grace for a lost
task is 3 s (production: 30 s). These are how long the engine waits before it takes a
worker as dead or a queued task as lost; with production values, recovering a delivery
whose worker was killed mid-call takes about 35 s. The claim lease keeps its production
5 minutes: a killed worker's claims are recovered because its heartbeat went stale (issue
12, item E), never by waiting for the lease. Nothing else is changed: recovery goes through
the engine's own sweep, reconcile and retry.

Reported besides the counts: ``drain_after_last_kill_s``, the seconds from the last kill
until every delivery had reached an end state.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

# Run as a script, Python puts bench/ itself first on sys.path, where another benchmark's
# module could shadow the standard library's (bench/calendar.py once did): use the project root.
HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

from bench._support import (  # noqa: E402
    Installation,
    bluesky_network,
    records_on_server,
    replace_section,
    stop_cleanly_on_signals,
    wait_until,
)

CHAOS_TIMERS = {"sweep_grace_s": 3, "heartbeat_s": 1}
END_STATES = ("published", "failed", "missed", "cancelled")


def log(message: str) -> None:
    print(f"[chaos {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run_chaos(
    network: Any,
    database: str = "sqlite",
    *,
    deliveries: int = 200,
    kills: int = 5,
    workers: int = 2,
    spread: float = 3.0,
    timeout: float = 60.0,
    pg_url: str = "",
    seed: int | None = None,
) -> dict[str, Any]:
    """Run the scenario against ``network`` (``tests.peers.BlueskyNetwork``); the figures."""
    rng = random.Random(seed)
    started = time.monotonic()
    account = network.create_account("chaos")
    prefix = f"chaos {account.handle.split('.')[0]}"
    with Installation(database, pg_url) as site:
        for _ in range(workers):
            site.start_worker(**CHAOS_TIMERS)
        # Seeding runs create_post once per post (~25 ms idle, ~100 ms on a busy machine,
        # where the seeder moves what it cannot write in time a moment later).
        lead = 3 + deliveries * 0.04
        offsets = sorted(rng.uniform(0, spread) for _ in range(deliveries))
        credentials = {
            "handle": account.handle,
            "app_password": account.app_password,
            "pds_url": network.pds_url,
        }
        seeded = site.child(
            "seed", offsets=offsets, lead=lead, bluesky=credentials, prefix=prefix, margin=15
        )
        first_due = seeded["base"]
        log(f"{deliveries} posts due within {spread:.0f} s on {database}, {workers} workers")

        time.sleep(max(0.0, first_due - time.time()))
        kill_log = []
        for _ in range(kills):
            time.sleep(rng.uniform(0.5, 2.0))
            live = [w for w in site.workers if w.poll() is None]
            victim = rng.choice(live)
            os.kill(victim.pid, signal.SIGKILL)
            victim.wait()
            site.workers.remove(victim)
            snapshot = site.states()
            kill_log.append(
                {
                    "at_s": round(time.time() - first_due, 2),
                    "published": snapshot.get("published", 0),
                    "publishing": snapshot.get("publishing", 0),
                }
            )
            site.start_worker(**CHAOS_TIMERS)
        last_kill = time.monotonic()
        log(f"{kills} kills: {kill_log}")

        settled = wait_until(
            lambda: sum(site.states().get(s, 0) for s in END_STATES) >= deliveries,
            timeout=timeout,
            step=0.5,
        )
        drained = time.monotonic() - last_kill
        site.stop_workers()
        states = site.states()
        recovered = site.query(
            "SELECT COUNT(DISTINCT delivery_id) FROM publishing_deliverytransition "
            "WHERE reason LIKE 'worker % stopped mid-attempt%' "
            "OR reason LIKE 'lease of % expired%'"
        )[0][0]
        rows = site.child("published")

    on_server = Counter(
        record["text"]
        for record in records_on_server(network.client(account), account.did)
        if record["text"].startswith(f"{prefix} #")
    )
    expected = [f"{prefix} #{number}" for number in range(deliveries)]
    lost = sum(1 for text in expected if on_server[text] == 0)
    duplicated = sum(count - 1 for count in on_server.values() if count > 1)
    result = {
        "database": database,
        "deliveries": deliveries,
        "workers": workers,
        "kills": len(kill_log),
        "lost": lost,
        "duplicated": duplicated,
        "on_server": sum(on_server.values()),
        "states": states,
        "settled": settled,
        "recovered_after_mid_call_kill": recovered,
        "drain_after_last_kill_s": round(drained, 1) if settled else None,
        "published_without_remote_id": sum(
            1 for _pk, state, _s, _p, remote in rows if state == "published" and not remote
        ),
        "kill_log": kill_log,
        "seconds": round(time.monotonic() - started, 1),
    }
    log(json.dumps(result))
    return result


def write_markdown(results: list[dict[str, Any]]) -> None:
    from bench.publishing import BENCHMARKS

    lines = [
        "## Chaos — " + time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "",
        "`python bench/chaos.py`: posts due within a few seconds to the local Bluesky network,",
        "worker processes killed with SIGKILL at random moments and restarted, then the posts",
        "counted on the server (timers shortened as `bench/chaos.py` explains).",
        "",
        "| database | deliveries | workers | kills | on server | lost | duplicated | "
        "recovered after a mid-call kill | drained after the last kill, s | seconds |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        lines.append(
            f"| {r['database']} | {r['deliveries']} | {r['workers']} | {r['kills']} | "
            f"{r['on_server']} | {r['lost']} | {r['duplicated']} | "
            f"{r['recovered_after_mid_call_kill']} | {r['drain_after_last_kill_s']} | "
            f"{r['seconds']} |"
        )
    text = BENCHMARKS.read_text() if BENCHMARKS.exists() else "# Benchmarks\n"
    # Only this section is replaced: the benchmarks written after it stay.
    BENCHMARKS.write_text(replace_section(text, "bench/chaos.py", "\n".join(lines)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one database, fewer posts")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], action="append")
    parser.add_argument("--deliveries", type=int)
    parser.add_argument("--kills", type=int)
    args = parser.parse_args()
    stop_cleanly_on_signals()
    databases = args.database or (["sqlite"] if args.quick else ["sqlite", "postgresql"])
    deliveries = args.deliveries or (100 if args.quick else 200)
    kills = args.kills or (4 if args.quick else 6)
    with bluesky_network() as network:
        results = [
            run_chaos(network, database, deliveries=deliveries, kills=kills)
            for database in databases
        ]
    if not args.quick:
        write_markdown(results)
    print(
        json.dumps(
            {
                "kills": sum(r["kills"] for r in results),
                "deliveries": sum(r["deliveries"] for r in results),
                "lost": sum(r["lost"] for r in results),
                "duplicated": sum(r["duplicated"] for r in results),
                "drain_after_last_kill_s": [r["drain_after_last_kill_s"] for r in results],
            }
        )
    )


if __name__ == "__main__":
    main()
