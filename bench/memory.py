"""Benchmark of the embedded stack's memory (issue 12, item 6): ``socialdesk run`` idle, all
its processes together, ≤ 250 MB PSS.

    python bench/memory.py           # SQLite and PostgreSQL, 3 runs each; rewrites its section
    python bench/memory.py --quick   # SQLite, one run; no rewrite

Each run is a throw-away installation (``bench._support.Installation``) with the demo data,
started as a person starts it: ``socialdesk run`` (the supervisor, gunicorn's master and its
2 web processes, and the worker). Once the site answers, one person signs in and opens 40
pages (the home, calendar, posts, board, settings, in turn), then the stack idles for a few
seconds and every process of the tree is measured from ``/proc/<pid>/smaps_rollup``:

- PSS (proportional set size): a page shared by n processes counts 1/n in each, so the sum
  over the tree is what the stack costs the machine;
- RSS, for comparison: shared pages count once per process.

The last line printed is one JSON object with ``idle_pss_mb`` (the median of the runs, the
larger database's).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._support import (  # noqa: E402
    Installation,
    before,
    free_port,
    process_tree,
    replace_section,
    wait_until,
)
from socialdesk.cli import port_answers  # noqa: E402 (the standard library only)

BENCHMARKS = ROOT / "BENCHMARKS.md"
TARGET_MB = 250.0
PAGE_VIEWS = 40
# The demo's owner (socialdesk/demo.py; importing it here would need Django set up).
DEMO_OWNER, DEMO_PASSWORD = "owner@crumb.example", "crumb-and-co-demo"  # noqa: S105
PAGES = ["/", "/w/crumb/calendar/", "/w/crumb/posts/", "/w/crumb/board/", "/w/crumb/settings/"]


def memory_of(pid: int) -> dict[str, object]:
    rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    kb = {m[1]: int(m[2]) for m in re.finditer(r"^(\w+):\s+(\d+) kB", rollup, re.M)}
    argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    words = [a.decode(errors="replace") for a in argv if a]
    return {
        "pid": pid,
        "process": describe(words, Path(f"/proc/{pid}/comm").read_text().strip()),
        "pss_mb": round(kb["Pss"] / 1024, 1),
        "rss_mb": round(kb["Rss"] / 1024, 1),
    }


def describe(words: list[str], name: str = "") -> str:
    line = " ".join(words)
    if name == "socialdesk-work":  # forked from gunicorn's master (socialdesk/forked_worker.py)
        return "worker"
    if "gunicorn" in line:
        return "gunicorn"  # master or web process: told apart by the tree's order below
    if "worker" in words:
        return "worker"
    if " run" in line:
        return "supervisor (socialdesk run)"
    return line[:60]


def sign_in_and_browse(port: int) -> int:
    """Sign in as the demo's owner and open ``PAGE_VIEWS`` pages; the number answered 200."""
    import httpx

    base = f"http://127.0.0.1:{port}"
    ok = 0
    with httpx.Client(base_url=base, timeout=30, follow_redirects=True) as web:
        page = web.get("/accounts/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        assert token, "no CSRF token on the sign-in page"
        signed = web.post(
            "/accounts/login/",
            data={
                "csrfmiddlewaretoken": token[1],
                "username": DEMO_OWNER,
                "password": DEMO_PASSWORD,
            },
            headers={"Referer": f"{base}/accounts/login/"},
        )
        assert "/accounts/login" not in str(signed.url), "signing in failed"
        for view in range(PAGE_VIEWS):
            ok += web.get(PAGES[view % len(PAGES)]).status_code == 200
    return ok


def one_run(database: str, settle: float) -> dict[str, object]:
    with Installation(database) as site:
        site.manage("demo")
        port = free_port()
        env = dict(site.env, WEB_CONCURRENCY="2")
        stack = subprocess.Popen(
            [str(Path(sys.executable).with_name("socialdesk")), "run", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            answered = wait_until(lambda: port_answers("127.0.0.1", port), timeout=120)
            assert answered, "socialdesk run did not answer within 120 s"
            ok = sign_in_and_browse(port)
            time.sleep(settle)
            processes = [memory_of(pid) for pid in process_tree(stack.pid)]
        finally:
            os.killpg(stack.pid, signal.SIGTERM)
            stack.wait(timeout=60)
    # gunicorn's master is the parent of its web processes, and the first found in the tree.
    seen_master = False
    for process in processes:
        if process["process"] == "gunicorn":
            process["process"] = "web process (gunicorn)" if seen_master else "gunicorn master"
            seen_master = True
    total = round(sum(float(p["pss_mb"]) for p in processes), 1)  # type: ignore[arg-type]
    rss = round(sum(float(p["rss_mb"]) for p in processes), 1)  # type: ignore[arg-type]
    return {"pages_ok": ok, "pss_mb": total, "rss_mb": rss, "processes": processes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="SQLite, one run, no rewrite")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--settle", type=float, default=5.0, help="idle seconds before measuring")
    options = parser.parse_args()
    databases = ["sqlite"] if options.quick else ["sqlite", "postgresql"]
    runs = 1 if options.quick else options.runs
    results: dict[str, list[dict[str, object]]] = {}
    for database in databases:
        for number in range(runs):
            result = one_run(database, options.settle)
            results.setdefault(database, []).append(result)
            print(f"{database} run {number + 1}: {result['pss_mb']} MB PSS", flush=True)
            for process in result["processes"]:  # type: ignore[attr-defined]
                print(
                    f"  {process['process']:<30} {process['pss_mb']:>7} MB PSS"
                    f"  {process['rss_mb']:>7} MB RSS"
                )
    load = os.getloadavg()[0]
    medians = {db: statistics.median(float(r["pss_mb"]) for r in rs) for db, rs in results.items()}
    worst = max(medians.values())
    if not options.quick:
        write_section(results, medians, load)
    print(
        json.dumps(
            {
                "idle_pss_mb": worst,
                "per_database": medians,
                "load_avg": round(load, 2),
                "target_mb": TARGET_MB,
            }
        )
    )


def write_section(
    results: dict[str, list[dict[str, object]]], medians: dict[str, float], load: float
) -> None:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"## Memory of `socialdesk run` — {stamp}",
        "",
        f"`python bench/memory.py` on {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, load average {load:.1f}. Target: ≤ {TARGET_MB:.0f} MB "
        f"PSS for all processes together, idle after {PAGE_VIEWS} page views (2 web "
        "processes and the worker). Median of the runs; one run's processes below.",
        "",
        "| database | runs (MB PSS) | median MB PSS | RSS sum MB | target |",
        "| --- | --- | --: | --: | --- |",
    ]
    for database, runs in results.items():
        median = medians[database]
        middle = sorted(runs, key=lambda r: float(r["pss_mb"]))[len(runs) // 2]  # type: ignore[arg-type]
        verdict = "met" if median <= TARGET_MB else f"MISSED by {median - TARGET_MB:.1f} MB"
        shown = ", ".join(str(r["pss_mb"]) for r in runs)
        lines.append(f"| {database} | {shown} | **{median}** | {middle['rss_mb']} | {verdict} |")
    lines += ["", "| database | process | MB PSS | MB RSS |", "| --- | --- | --: | --: |"]
    for database, runs in results.items():
        middle = sorted(runs, key=lambda r: float(r["pss_mb"]))[len(runs) // 2]  # type: ignore[arg-type]
        for process in middle["processes"]:  # type: ignore[attr-defined]
            lines.append(
                f"| {database} | {process['process']} | {process['pss_mb']} | {process['rss_mb']} |"
            )
    lines += [
        "",
        "What each process holds: the supervisor only the standard library (`socialdesk run` "
        "does its set-up, which imports all of Django, in a child that exits); gunicorn's "
        "master the whole app, loaded once (`preload_app`, URLconf imported and objects frozen "
        "out of the garbage collector before the fork: `socialdesk/gunicorn_conf.py`); each web "
        "process shares the master's pages and holds what its requests made (templates, "
        "sessions, query caches); the worker is forked from gunicorn's master before the web "
        "processes (`socialdesk/forked_worker.py`), so it shares the same copy of Django, the "
        "app and the SDKs of the connected networks, and holds only what its threads made "
        "(started as a process of its own it held ~100 MB of private copies: 299 MB in all "
        "before, with the API's URLconf, 270 MB without it). PSS counts a page "
        "shared by n processes 1/n in each, so the sum is what the stack costs the machine; "
        "RSS counts shared pages once per process.",
    ]
    text = BENCHMARKS.read_text() if BENCHMARKS.exists() else "# Benchmarks\n"
    lines += ["", *before(text, "bench/memory.py")]
    BENCHMARKS.write_text(replace_section(text, "bench/memory.py", "\n".join(lines)))


if __name__ == "__main__":
    main()
