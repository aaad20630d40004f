"""Publishing engine benchmarks (issue 3, item 11). Not a test: it prints figures.

    python bench/publishing.py            # the full run; rewrites BENCHMARKS.md's figures
    python bench/publishing.py --quick    # a reduced run, under 3 minutes; JSON last line

Three measurements, each on a throw-away installation (``bench/_support.py``) driven by real
worker processes (``run_worker``, the code behind ``socialdesk worker``):

1. **Due-to-call latency**: posts scheduled through ``create_post`` at random times spread
   over a minute, one worker; a stub connector (registered in ``connectors.REGISTRY`` inside
   the worker process) writes down when ``publish`` is called. Latency is that time minus the
   delivery's ``scheduled_at``. On SQLite and on PostgreSQL.
2. **Burst drain**: 10,000 deliveries due at the same instant through a stub that waits
   300 ms per call, on PostgreSQL, drained by ``--burst-workers`` worker processes (the
   engine's own way to scale: one task at a time per process, claims with SKIP LOCKED).
   Time from the due instant to the last ``published_at``.
3. **Overhead against the bare SDK**: posts to the local Bluesky network, first as a bare
   ``atproto`` loop (``create_record`` of a post, one logged-in client), then through
   Socialdesk (all due at once, one worker: both sequential), each on its own fresh
   account. The ratio is Socialdesk's time (due instant to last ``published_at``) over the loop's.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Run as a script, Python puts bench/ itself first on sys.path, where another benchmark's
# module could shadow the standard library's (bench/calendar.py once did): use the project root.
HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

from atproto import models  # noqa: E402

from bench._support import (  # noqa: E402
    ROOT,
    Installation,
    bluesky_network,
    stop_cleanly_on_signals,
    summary,
    wait_until,
)

BENCHMARKS = ROOT / "BENCHMARKS.md"
TARGET_P99_MS = 250
TARGET_BURST_S = 60
TARGET_RATIO = 1.25


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def _calls(path: Path, site: Installation) -> dict[int, float]:
    """delivery id → the first time ``publish`` was called for it (the stub writes keys)."""
    ids = dict(site.query("SELECT idempotency_key, id FROM publishing_delivery"))
    calls: dict[int, float] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            key, when = line.split()
            calls.setdefault(int(ids[key]), float(when))
    return calls


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def latency(database: str, count: int, spread: float, workers: int = 1) -> dict[str, Any]:
    """``count`` posts due at random moments within ``spread`` seconds: due → publish call."""
    with Installation(database) as site:
        calls_file = site.data_dir / "calls.txt"
        for _ in range(workers):
            site.start_worker(stub_calls=str(calls_file))
        lead = 8 + count * 0.04  # seeding must end before the first due time
        start = time.time() + lead
        times = sorted(start + random.uniform(0, spread) for _ in range(count))
        log(f"latency/{database}: scheduling {count} posts over {spread:.0f} s")
        site.child("seed", times=times)
        seeded = time.time()
        wait_until(lambda: _lines(calls_file) >= count, timeout=lead + spread + 60, step=0.5)
        rows = site.child("published")
        calls = _calls(calls_file, site)
        due = {pk: scheduled for pk, _state, scheduled, _pub, _remote in rows}
        values = [(calls[pk] - due[pk]) * 1000 for pk in due if pk in calls]
        result = summary(values)
        result.update(
            {
                "database": database,
                "workers": workers,
                "spread_s": spread,
                "not_called": count - len(values),
                "due_before_seeding_ended": sum(1 for t in times if t < seeded),
                "duplicate_calls": _lines(calls_file) - len(calls),
            }
        )
        log(f"latency/{database}: {result}")
        return result


def burst(
    count: int,
    workers: int,
    limit: float,
    delay: float = 0.3,
    sweep_grace: float | None = None,
    threads: int = 1,
) -> dict[str, Any]:
    """``count`` deliveries due at one instant, each call taking ``delay`` s: time to drain.

    Gives up ``limit`` seconds after the due instant and reports how many were published by
    then (the throughput, and the drain time that rate would give). ``sweep_grace`` (a
    diagnostic, seconds) overrides the sweeper's grace in the workers, to measure the drain
    without the duplicate tasks the sweeper adds to a backlog."""
    with Installation("postgresql") as site:
        calls_file = site.data_dir / "calls.txt"
        log(f"burst: starting {workers} workers of {threads} threads")
        timers = {} if sweep_grace is None else {"sweep_grace_s": sweep_grace}
        for _ in range(workers):
            site.start_worker(
                stub_calls=str(calls_file), stub_delay=delay, threads=threads, **timers
            )
        at = time.time() + 20 + count * 0.006
        log(f"burst: queueing {count} deliveries due in {at - time.time():.0f} s")
        site.child("bulk-seed", count=count, at=at)
        if time.time() > at:
            log("burst: WARNING seeding ended after the due time")
        drained = wait_until(
            lambda: site.states().get("published", 0) >= count,
            timeout=(at - time.time()) + limit,
            step=0.5,
        )
        tasks = site.query("SELECT COUNT(*) FROM django_tasks_database_dbtaskresult")[0][0]
        site.stop_workers()
        rows = site.child("published")
        published = [pub for _pk, state, _s, pub, _r in rows if state == "published"]
        calls = _calls(calls_file, site)
        last = max(published) - at if published else float("nan")
        rate = len(published) / last if published and last > 0 else float("nan")
        result = {
            "deliveries": count,
            "workers": workers,
            "threads": threads,
            "call_s": delay,
            "sweep_grace_s": sweep_grace,
            "published": len(published),
            "drained": drained,
            "drain_s": round(last, 1) if drained else float("nan"),
            "limit_s": limit,
            "published_per_s": round(rate, 1),
            "drain_s_at_that_rate": round(count / rate, 1) if rate == rate else float("nan"),
            "ideal_s": round(count * delay / (workers * threads), 1),
            "tasks_queued": tasks,
            "first_call_after_due_ms": round((min(calls.values()) - at) * 1000, 1)
            if calls
            else None,
            "duplicate_calls": _lines(calls_file) - len(calls),
        }
        log(f"burst: {result}")
        return result


def sdk_ratio(count: int) -> dict[str, Any]:
    """``count`` posts to the local Bluesky network: Socialdesk vs a bare atproto loop."""
    with bluesky_network() as network:
        bare_account = network.create_account("bare")
        client = network.client(bare_account)
        log(f"sdk: bare atproto loop, {count} posts")
        started = time.perf_counter()
        for number in range(count):
            # What send_post does, without its profile lookup (the login skipped it).
            client.com.atproto.repo.create_record(
                models.ComAtprotoRepoCreateRecord.Data(
                    repo=bare_account.did,
                    collection="app.bsky.feed.post",
                    record=models.AppBskyFeedPost.Record(
                        text=f"bare loop #{number}", created_at=client.get_current_time_iso()
                    ),
                )
            )
        bare_s = time.perf_counter() - started

        account = network.create_account("desk")
        with Installation("sqlite") as site:
            site.start_worker(threads=1)  # one call at a time, as the bare loop makes them
            lead = 10 + count * 0.3  # seeding (create_post, one by one) ends before they are due
            credentials = {
                "handle": account.handle,
                "app_password": account.app_password,
                "pds_url": network.pds_url,
            }
            log(f"sdk: Socialdesk, {count} posts due at once")
            # Due ``lead`` after the seeding process is ready (its start-up is not counted).
            seeded = site.child(
                "seed", offsets=[0.0] * count, lead=lead, bluesky=credentials, prefix="desk"
            )
            at = seeded["base"]
            wait_until(
                lambda: site.states().get("published", 0) >= count,
                timeout=lead + count * 2 + 60,
                step=0.25,
            )
            rows = site.child("published")
        published = [pub for _pk, state, _s, pub, _r in rows if state == "published"]
        desk_s = max(published) - at if len(published) == count else float("nan")
        result = {
            "posts": count,
            "bare_sdk_s": round(bare_s, 2),
            "socialdesk_s": round(desk_s, 2),
            "ratio": round(desk_s / bare_s, 2),
            "socialdesk_published": len(published),
        }
        log(f"sdk: {result}")
        return result


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import os

    pg = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-tAc", "SHOW server_version"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    return (
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, "
        f"SQLite {__import__('sqlite3').sqlite_version}, PostgreSQL {pg or '?'}"
    )


def verdict(value: float, target: float) -> str:
    if value != value:  # NaN
        return "not measured"
    return "met" if value <= target else f"MISSED by {value - target:.2f} ({value / target:.2f}×)"


def write_markdown(results: dict[str, Any]) -> None:
    lat = results["latency"]
    b = results["burst"]
    s = results["sdk"]
    lines = [
        "# Benchmarks",
        "",
        "Written by `python bench/publishing.py` (the full run) and `python bench/chaos.py`;",
        "see `bench/` for what each measures. The machine is shared with other work (test",
        "suites of other engineers ran on the same 2 cores), so expect noise of tens of percent.",
        "",
        f"## Publishing engine — {results['date']}",
        "",
        f"Machine: {results['machine']}.",
        "",
        "### Due-to-call latency (target: p99 ≤ 250 ms on both databases)",
        "",
        "Posts scheduled through `create_post` at random moments over the spread, one",
        "`socialdesk worker` process (poll interval 0.1 s), a stub connector recording when",
        "`publish` is called; latency = call time − `scheduled_at`.",
        "",
        "| database | posts | spread | p50 ms | p99 ms | max ms | not called | target |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in lat:
        lines.append(
            f"| {row['database']} | {row['n']} | {row['spread_s']:.0f} s | {row['p50']} | "
            f"{row['p99']} | {row['max']} | {row['not_called']} | "
            f"{verdict(row['p99'], TARGET_P99_MS)} |"
        )
    lines += [
        "",
        "### Burst (target: 10,000 deliveries due in the same minute drain in ≤ 60 s)",
        "",
        f"{b['deliveries']:,} deliveries due at one instant, a stub connector that waits "
        f"{b['call_s'] * 1000:.0f} ms per call, PostgreSQL, {b['workers']} `socialdesk worker` "
        f"processes of {b.get('threads', 1)} task threads each (`--threads`).",
        "",
        f"Waited at most {b['limit_s']:.0f} s after the due instant; when the burst had not",
        "drained by then, the drain time is extrapolated from the rate reached.",
        "",
        "| deliveries | workers | published | drained | drain s | published/s | "
        "drain s at that rate | ideal s (calls only) | tasks queued | target |",
        "| ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | --- |",
        f"| {b['deliveries']} | {b['workers']} | {b['published']} | {b['drained']} | "
        f"{b['drain_s']} | {b['published_per_s']} | {b['drain_s_at_that_rate']} | "
        f"{b['ideal_s']} | {b['tasks_queued']} | "
        f"{verdict(b['drain_s_at_that_rate'], TARGET_BURST_S)} |",
        "",
        "### Against the bare atproto SDK (target: ≤ 1.25×)",
        "",
        f"{s['posts']} posts to the local Bluesky network (`peers/bluesky`), each way on its "
        "own fresh account, in the same run: a bare loop of `create_record` (what `send_post` "
        "sends) with one logged-in client, then Socialdesk (SQLite, all due at once, one "
        "worker: both sequential), due instant to the last `published_at`.",
        "",
        "| posts | bare SDK s | Socialdesk s | ratio | target |",
        "| ---: | ---: | ---: | ---: | --- |",
        f"| {s['posts']} | {s['bare_sdk_s']} | {s['socialdesk_s']} | {s['ratio']} | "
        f"{verdict(s['ratio'], TARGET_RATIO)} |",
        "",
        "### Why a target is missed (when it is)",
        "",
        "- **Latency** has a floor of the worker's poll interval (0.1 s): a task whose",
        "  `run_after` arrives just after a poll waits for the next one, so p50 ≈ 50 ms + the",
        "  ~10–20 ms a delivery takes, p99 ≈ 100 ms + processing. A missed p99 comes from",
        "  deliveries due close together queueing behind each other in one worker, or from",
        "  CPU contention. Fix if needed: sleep until the next `run_after` (capped at the",
        "  interval) instead of a fixed interval, and run more than one worker.",
        "- **Burst**: a `socialdesk worker` process runs one task at a time, so 10,000 calls of",
        "  300 ms need 3,000 worker-seconds: ≥ 50 processes for 60 s. Each process holds two",
        "  PostgreSQL connections (task loop + heartbeat thread) and the server's default",
        "  `max_connections` is 100 (shared with everything else on the machine): 35 processes",
        "  exhausted it here while other test suites ran, so this run uses 25. Their 0.1 s",
        "  polls and Django start-up also compete for the 2 cores. Fix: worker threads",
        "  (`socialdesk worker --threads N`, each with its own connection, one heartbeat per",
        "  process), or an async call path. And the sweeper floods a backlog (see the engine",
        "  note below): `tasks queued` above 10,000 are its duplicates.",
        "- **SDK ratio**: the local network answers a create in ~20 ms, so per-post overhead",
        "  dominates: about 14 queries in `dispatch.run` (~11 ms on an idle machine), the task",
        "  queue's own claim and result writes, and a new `BlueskyConnector` per attempt, whose",
        "  new `atproto.Client` builds an httpx client with a fresh TLS context (~25 ms, even",
        "  for http) and a new TCP connection. Fixes: keep one connector per channel per worker",
        "  (keyed by its encrypted credentials), and load the delivery with its channel and",
        "  media in one query. Against bsky.social (a create takes 150–300 ms) the same",
        "  overhead is a far smaller fraction.",
        "",
        "Engine note (the sweeper under a backlog): every worker's heartbeat sweeps every 5 s",
        "and re-enqueues up to 1,000 due deliveries whose task was queued more than",
        "`SWEEP_GRACE` (30 s) ago. In a burst the tasks are only waiting their turn, so each",
        "sweep adds up to 1,000 duplicate tasks (an UPDATE and an INSERT each): with 25",
        "workers that is up to 5 sweeps a second, the queue grows faster than it drains and",
        "throughput fell from ~44 to ~16 published/s in a first run. Fix: sweep from one",
        "worker at a time (e.g. a PostgreSQL advisory lock, or the oldest live heartbeat),",
        "and re-enqueue only deliveries with no pending task (django-tasks-db: no READY",
        "`DBTaskResult` whose args are the delivery's id).",
        "",
        "Raw figures:",
        "",
        "```json",
        json.dumps(results, indent=2),
        "```",
        "",
    ]
    section = "\n".join(lines)
    # Keep whatever chaos.py wrote (its own section), replace ours.
    chaos = ""
    if BENCHMARKS.exists():
        text = BENCHMARKS.read_text()
        marker = "## Chaos"
        if marker in text:
            chaos = text[text.index(marker) :]
    BENCHMARKS.write_text(section + ("\n" + chaos if chaos else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a reduced run, under 3 minutes")
    parser.add_argument("--burst-workers", type=int, default=None, help="worker processes")
    parser.add_argument(
        "--burst-threads", type=int, default=None, help="task threads per worker process"
    )
    parser.add_argument("--skip", action="append", default=[], choices=["latency", "burst", "sdk"])
    args = parser.parse_args()
    stop_cleanly_on_signals()
    if args.quick:
        sizes = {"lat": 60, "spread": 8.0, "burst": 1000, "limit": 60, "sdk": 40}
    else:
        sizes = {"lat": 500, "spread": 60.0, "burst": 10_000, "limit": 180, "sdk": 300}
    # Worker threads (``socialdesk worker --threads``): the calls mostly wait, so a few
    # processes keep many in flight; each thread holds one PostgreSQL connection (the
    # server's default limit is 100, shared with everything else on the machine).
    workers = args.burst_workers or (2 if args.quick else 3)
    threads = args.burst_threads or 20
    results: dict[str, Any] = {
        "date": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "machine": machine(),
        "quick": args.quick,
    }
    nan = float("nan")
    results["latency"] = (
        []
        if "latency" in args.skip
        else [latency(db, sizes["lat"], sizes["spread"]) for db in ("sqlite", "postgresql")]
    )
    results["burst"] = (
        {"drain_s": nan}
        if "burst" in args.skip
        else burst(sizes["burst"], workers, sizes["limit"], threads=threads)
    )
    results["sdk"] = {"ratio": nan} if "sdk" in args.skip else sdk_ratio(sizes["sdk"])
    if not args.quick and not args.skip:
        write_markdown(results)
        log(f"wrote {BENCHMARKS}")
    print(
        json.dumps(
            {
                "due_to_call_p99_ms": max((r["p99"] for r in results["latency"]), default=nan),
                "burst_drain_s": results["burst"].get("drain_s_at_that_rate", nan)
                if results["burst"].get("drain_s") != results["burst"].get("drain_s")
                else results["burst"]["drain_s"],
                "sdk_ratio": results["sdk"]["ratio"],
            }
        )
    )


if __name__ == "__main__":
    main()
