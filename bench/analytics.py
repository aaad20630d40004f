"""Analytics benchmarks (issue 14, "Speed"). Not a test: it prints figures.

    python bench/analytics.py            # the full run; rewrites its section of BENCHMARKS.md
    python bench/analytics.py --quick    # a reduced run (about a minute); JSON last line

1. **Redirect server time** (``redirect_p99_ms``, target ≤ 5 ms): in a throw-away
   installation (``bench._support.Installation``; SQLite, and PostgreSQL in the full run), a
   child process with 2,000 short links calls Django's WSGI handler directly (the whole
   middleware stack, the view, the click's insert; no client, no socket) for ``/l/<code>``
   with a browser's user agent, each call timed with ``perf_counter``. Three runs of N
   clicks on random links; the figure is the median of the runs' p99, in milliseconds.
   Every call must be a 302 and every click a row.
2. **Redirects per second** (``redirects_per_s``, target ≥ 2,000/s): ``socialdesk run`` (its
   gunicorn, two web processes of four threads, and its worker) on loopback, driven by
   ``wrk`` (two threads, 32 connections, a fixed duration; bounded, it never follows the
   redirect) three times; the figure is the median of wrk's requests per second. After each
   run the clicks in the database are counted: every 302 wrk received is a recorded click
   (``clicks_missing`` must be 0; a request cut off when wrk stops may add a click wrk did
   not count, so ``clicks`` may exceed ``responses`` by at most the connections).
   wrk is Debian's package: ``apt-get install wrk``.
3. **Analytics pages** (``overview_p95_ms``, target ≤ 100 ms): ``bench/analytics_reading.py``
   seeds 50,000 posts and ~1.5 million metric snapshots (10,000 posts with ``--quick``, and
   it says so) and times the overview and the ranked posts (server time through Django's
   test client); the figure is the worst p95 of the page kinds, median of the runs.

The last line printed is one JSON object with ``overview_p95_ms``, ``redirect_p99_ms`` and
``redirects_per_s``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

ROOT = HERE.parent
BENCHMARKS = ROOT / "BENCHMARKS.md"
SCRIPT = "bench/analytics.py"
TARGET_P99_MS = 5.0
TARGET_PER_S = 2000.0
LINKS = 2000
BROWSER = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0 Safari/537.36"
)
WRK_THREADS = 2
WRK_CONNECTIONS = 32


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def machine() -> str:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"load average {load}"
    )


# --- the child side -------------------------------------------------------------------------


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "socialdesk.settings")
    import django

    django.setup()


def seed_links(count: int) -> list[str]:
    """A workspace, a page channel, one post and ``count`` short links of its delivery, made
    the product's way (``analytics.links``, as the engine does when it sends)."""
    from socialdesk.analytics.links import network_texts
    from socialdesk.analytics.models import ShortLink
    from socialdesk.content.models import Post
    from socialdesk.networks.models import Channel, Network
    from socialdesk.publishing.models import Delivery
    from socialdesk.workspaces.models import Workspace

    workspace = Workspace.objects.create(name="Bench Bakery", slug="bench")
    channel = Channel.objects.create(workspace=workspace, network=Network.PAGE, handle="bench")
    post = Post.objects.create(workspace=workspace, text="Links")
    delivery = Delivery.objects.create(workspace=workspace, post=post, channel=channel)
    texts = [f"https://bench.example/product/{n}" for n in range(count)]
    network_texts(delivery, [" ".join(texts)], True)
    return list(ShortLink.objects.filter(delivery=delivery).values_list("code", flat=True))


def child_seed(count: int) -> None:
    _django()
    print(json.dumps({"codes": seed_links(count)}))


def child_server_time(count: int, runs: int) -> None:
    """Time ``count`` redirects through Django's WSGI handler, ``runs`` times."""
    _django()
    import random

    from django.core.handlers.wsgi import WSGIHandler
    from django.test import RequestFactory

    from socialdesk.analytics.models import Click

    codes = seed_links(LINKS)
    handler = WSGIHandler()
    factory = RequestFactory()
    rng = random.Random(14)
    statuses: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        statuses.append(status)

    def once(code: str, number: int) -> float:
        environ = factory._base_environ(  # the environ a WSGI server hands Django
            PATH_INFO=f"/l/{code}",
            REQUEST_METHOD="GET",
            HTTP_USER_AGENT=BROWSER,
            REMOTE_ADDR=f"10.{number // 65536 % 256}.{number // 256 % 256}.{number % 256}",
        )
        started = time.perf_counter()
        response = handler(environ, start_response)
        for _ in response:
            pass
        response.close()
        return (time.perf_counter() - started) * 1000

    for number in range(200):  # warm-up: connections, caches, today's salt
        once(rng.choice(codes), number)
    results = []
    for run in range(runs):
        before = Click.objects.count()
        statuses.clear()
        times = [once(rng.choice(codes), run * count + n) for n in range(count)]
        recorded = Click.objects.count() - before
        assert all(status.startswith("302") for status in statuses), set(statuses)
        assert recorded == count, (recorded, count)
        times.sort()
        results.append(
            {
                "p50_ms": round(times[len(times) // 2], 3),
                "p99_ms": round(times[int(len(times) * 0.99) - 1], 3),
                "max_ms": round(times[-1], 3),
                "clicks": recorded,
            }
        )
    print(json.dumps({"count": count, "runs": results}))


# --- the parent side ------------------------------------------------------------------------


def server_time(database: str, count: int, runs: int) -> dict[str, Any]:
    from bench._support import child_result

    log(f"server time/{database}: {runs} runs of {count} redirects")
    raw = child_result(database, __file__, ["--child-server-time", str(count), str(runs)], 1800)
    p99 = [r["p99_ms"] for r in raw["runs"]]
    result = {
        "database": database,
        "count": count,
        "p99_ms": p99,
        "p50_ms": [r["p50_ms"] for r in raw["runs"]],
        "median_p99_ms": round(statistics.median(p99), 3),
    }
    log(f"server time/{database}: {result}")
    return result


def wrk_missing() -> str:
    if shutil.which("wrk"):
        return ""
    return "wrk is not installed: install it with `apt-get install wrk` (Debian's package)."


def throughput(database: str, seconds: int, runs: int) -> dict[str, Any]:
    from bench._support import Installation, free_port, wait_until
    from socialdesk.cli import port_answers

    with Installation(database) as site:
        done = subprocess.run(
            [sys.executable, __file__, "--child-seed", "50"],
            env=site.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
        code = json.loads(done.stdout.strip().splitlines()[-1])["codes"][0]
        port = free_port()
        stack = subprocess.Popen(
            [str(Path(sys.executable).with_name("socialdesk")), "run", "--port", str(port)],
            env=dict(site.env, WEB_CONCURRENCY="2"),
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            assert wait_until(lambda: port_answers("127.0.0.1", port), timeout=120), (
                "socialdesk run did not answer within 120 s"
            )
            url = f"http://127.0.0.1:{port}/l/{code}"
            _wrk(url, 2)  # warm-up: every web process and thread has its connection
            results = []
            for run in range(runs):
                before = _clicks(site)
                stats = _wrk(url, seconds)
                time.sleep(1)  # the requests wrk cut off finish
                clicks = _clicks(site) - before
                stats["clicks"] = clicks
                stats["clicks_missing"] = max(0, stats["responses"] - clicks)
                results.append(stats)
                log(f"throughput/{database} run {run + 1}: {stats}")
        finally:
            os.killpg(stack.pid, signal.SIGTERM)
            stack.wait(timeout=60)
    per_s = [r["per_s"] for r in results]
    return {
        "database": database,
        "seconds": seconds,
        "connections": WRK_CONNECTIONS,
        "runs": results,
        "median_per_s": round(statistics.median(per_s)),
        "clicks_missing": sum(r["clicks_missing"] for r in results),
    }


def _clicks(site: Any) -> int:
    return int(site.query("SELECT COUNT(*) FROM analytics_click")[0][0])


def _wrk(url: str, seconds: int) -> dict[str, Any]:
    command = [
        "wrk",
        f"-t{WRK_THREADS}",
        f"-c{WRK_CONNECTIONS}",
        f"-d{seconds}s",
        "--timeout",
        "5s",
        "-H",
        f"User-Agent: {BROWSER}",
        url,
    ]
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60).stdout
    total = re.search(r"(\d+) requests in", out)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(r"Socket errors: (.*)", out)
    if not total or not rate:
        raise SystemExit(f"wrk printed no figures:\n{out}")
    return {
        "responses": int(total.group(1)),
        "per_s": round(float(rate.group(1))),
        "not_3xx": int(errors.group(1)) if errors else 0,
        "socket_errors": sockets.group(1).strip() if sockets else "",
    }


# --- the report -----------------------------------------------------------------------------


def write_markdown(results: dict[str, Any]) -> None:
    from bench._support import before, replace_section

    text = BENCHMARKS.read_text() if BENCHMARKS.exists() else "# Benchmarks\n"
    lines = [
        f"## Analytics — {results['date']}",
        "",
        f"`python bench/analytics.py{' --quick' if results['quick'] else ''}` on "
        f"{results['machine']} when it finished (other work shared the machine).",
        "",
        "| measure | database | figure | target |",
        "| --- | --- | --: | --: |",
    ]
    reading = results.get("reading")
    for r in reading["results"] if reading else []:
        lines.append(
            f"| analytics pages, worst p95 of overview and ranking, ms ({r['posts']:,} posts, "
            f"{r.get('snapshots', 0):,} snapshots) | {r['database']} "
            f"| **{r['reading_p95_ms']}** | ≤ 100 |"
        )
    for r in results["server_time"]:
        lines.append(
            f"| short-link redirect p99 server time, ms (median of 3 runs of {r['count']:,}; "
            f"p50 {statistics.median(r['p50_ms'])}) | {r['database']} "
            f"| **{r['median_p99_ms']}** | ≤ {TARGET_P99_MS:g} |"
        )
    for r in results["throughput"]:
        lines.append(
            f"| redirects/s through `socialdesk run`, wrk {WRK_CONNECTIONS} connections, "
            f"{r['seconds']} s (median of 3; clicks missing: {r['clicks_missing']}) "
            f"| {r['database']} | **{r['median_per_s']:,}** | ≥ {TARGET_PER_S:,.0f} |"
        )
    lines += [
        "",
        "The redirect is answered by `analytics.clicks.ShortLinkMiddleware`, right after "
        "Django's security middleware: one read of the link by its unique code, one insert "
        "of the click, no session, CSRF, user or two-factor work. Server time is measured "
        "in-process around Django's WSGI handler; throughput includes gunicorn and the HTTP "
        "parsing, with wrk on the same two cores as the server.",
        "",
        *before(text, SCRIPT),
        "",
        "Raw figures:",
        "",
        "```json",
        json.dumps(results, indent=2),
        "```",
    ]
    BENCHMARKS.write_text(replace_section(text, SCRIPT, "\n".join(lines)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a reduced run")
    parser.add_argument("--skip", action="append", default=[], choices=["server", "wrk", "reading"])
    parser.add_argument("--child-server-time", nargs=2, type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child-seed", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_server_time:
        child_server_time(*args.child_server_time)
        return
    if args.child_seed:
        child_seed(args.child_seed)
        return
    from bench._support import stop_cleanly_on_signals

    stop_cleanly_on_signals()
    log(f"machine: {machine()}")
    databases = ["sqlite"] if args.quick else ["sqlite", "postgresql"]
    count, seconds = (1000, 5) if args.quick else (5000, 15)
    results: dict[str, Any] = {
        "date": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "quick": args.quick,
        "server_time": []
        if "server" in args.skip
        else [server_time(db, count, 3) for db in databases],
        "throughput": [],
    }
    if "wrk" not in args.skip:
        if missing := wrk_missing():
            log(missing)
            results["wrk"] = missing
        else:
            results["throughput"] = [throughput(db, seconds, 3) for db in databases]
    if "reading" not in args.skip:
        from bench import analytics_reading

        results["reading"] = analytics_reading.run(quick=args.quick)
    results["machine"] = machine()
    log(f"machine at the end: {results['machine']}")
    if not args.skip:
        write_markdown(results)
        log(f"wrote {BENCHMARKS}")
    server = [r["median_p99_ms"] for r in results["server_time"]]
    rates = [r["median_per_s"] for r in results["throughput"]]
    print(
        json.dumps(
            {
                "overview_p95_ms": results["reading"]["reading_p95_ms"]
                if "reading" in results
                else None,
                "redirect_p99_ms": max(server) if server else None,
                "redirects_per_s": min(rates) if rates else None,
                "clicks_missing": sum(r["clicks_missing"] for r in results["throughput"])
                if rates
                else None,
            }
        )
    )


if __name__ == "__main__":
    main()
