"""Benchmark of the editorial calendar (issue 5, item 9): the month view of a workspace with
50,000 posts answers in ≤ 50 ms p95 of server time.

    python bench/calendar_month.py          # SQLite and PostgreSQL; rewrites its section
    python bench/calendar_month.py --quick  # 50,000 posts, SQLite, 20 rounds; no rewrite
    python bench/calendar_month.py --posts 20000 --database postgresql

Each database gets a throw-away installation (``bench._support.Installation``). A child
process with its environment builds one workspace (Europe/Paris, 4 channels, 5 pillars with
targets, 3 campaigns, weekday queue slots on one channel) and N posts with one delivery
each, written with ``bulk_create`` and spread evenly over four years (two past: published,
two coming: scheduled), so a month holds about N / 48 posts. It then times, with Django's
test ``Client`` in the same process (server time: URL routing, middleware, session, the
view, the template or JSON; no network), for several months of the coming year:

- ``page``: ``GET /w/<slug>/calendar/`` — the month view's HTML (filters, shell);
- ``feed``: ``GET .../calendar/feed/`` for the month grid's 42 days — every delivery of the
  range as an event, plus the free queue slots and the day budget checks;
- ``summary``: ``GET .../calendar/summary/`` with ``HX-Request``, as the page's htmx asks
  for it — the content mix and campaign budgets as the fragment the page swaps in;
- ``month_view``: the three one after the other, what opening the month costs the server.

The last line printed is one JSON object with ``month_view_p95_ms`` (the slowest
database's). Only this benchmark's section of BENCHMARKS.md (between its markers) changes.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path, where "calendar" would be this
# file and not the standard library's module (which http.cookiejar, and so Django's test
# client, imports). Drop the folder; the project root is added below instead.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
from datetime import UTC, datetime  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
# --against: the baseline's child imports the baseline's code (a copy of another revision).
sys.path.insert(0, os.environ.get("BENCH_CODE_ROOT") or str(ROOT))
BENCHMARKS = ROOT / "BENCHMARKS.md"
TARGET_MS = 50.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def child(posts: int, rounds: int, build: bool = True) -> None:
    """In the installation's environment: build the workspace (unless ``build`` is False:
    the baseline of ``--against`` times the workspace built before), time the calendar."""
    import time as clock
    from datetime import time, timedelta

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "socialdesk.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from socialdesk.content.models import Campaign, Pillar, Post
    from socialdesk.networks.models import Channel, Network
    from socialdesk.publishing import queues
    from socialdesk.publishing.models import Delivery, DeliveryState
    from socialdesk.workspaces.models import Membership, User, Workspace

    settings.ALLOWED_HOSTS = ["*"]
    started = clock.perf_counter()
    if not build:
        workspace = Workspace.objects.get(slug="bench")
        user = User.objects.get(email="bench@example.test")
        today = timezone.localdate()
        posts = 0
    else:
        workspace = Workspace.objects.create(name="Bench", slug="bench", time_zone="Europe/Paris")
        user = User.objects.create_user(email="bench@example.test", password=None)
        Membership.objects.create(workspace=workspace, user=user, role="owner")
        channels = [
            Channel.objects.create(workspace=workspace, network=Network.PAGE, handle=f"page-{n}")
            for n in range(4)
        ]
        colors = ["#2563eb", "#7c3aed", "#15803d", "#b45309", "#be123c"]
        pillars = [
            Pillar.objects.create(
                workspace=workspace, name=f"Pillar {n}", color=colors[n], target_share=20
            )
            for n in range(5)
        ]
        today = timezone.localdate()
        campaigns = [
            Campaign.objects.create(
                workspace=workspace,
                name=f"Campaign {n}",
                starts_on=today + timedelta(days=30 * n),
                ends_on=today + timedelta(days=30 * n + 60),
                budget=1000,
            )
            for n in range(3)
        ]
        queues.set_slots(channels[0], [(d, time(11, 30)) for d in range(5)])

        now = timezone.now()
        first = now - timedelta(days=730)
        step = timedelta(days=1460) / posts
        batch = 5000
        for offset in range(0, posts, batch):
            count = min(batch, posts - offset)
            rows = Post.objects.bulk_create(
                Post(
                    workspace=workspace,
                    author=user,
                    text=f"Post number {offset + i}: fresh bread, new recipes and shop news.",
                    pillar=pillars[(offset + i) % 5],
                    campaign=campaigns[(offset + i) % 3] if (offset + i) % 4 == 0 else None,
                )
                for i in range(count)
            )
            deliveries = []
            for i, post in enumerate(rows):
                at = first + step * (offset + i)
                deliveries.append(
                    Delivery(
                        workspace=workspace,
                        post=post,
                        channel=channels[(offset + i) % 4],
                        scheduled_at=at,
                        state=DeliveryState.PUBLISHED if at < now else DeliveryState.SCHEDULED,
                        published_at=at if at < now else None,
                    )
                )
            Delivery.objects.bulk_create(deliveries)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # fresh statistics, as a live database has
    built_s = clock.perf_counter() - started

    client = Client()
    client.force_login(user)
    base = f"/w/{workspace.slug}/calendar/"
    months = []
    for n in range(1, 7):
        month_start = (today.replace(day=1) + timedelta(days=32 * n)).replace(day=1)
        grid_start = month_start - timedelta(days=month_start.weekday())
        grid_end = grid_start + timedelta(days=42)
        months.append((month_start, grid_start, grid_end))

    # CPU time each request costs, this process's plus the PostgreSQL server process's (read
    # from /proc when the server runs on this machine): unlike the wall clock, it hardly grows
    # when other work keeps the cores busy, so before/after ratios survive a shared machine.
    backend_stat = None
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend_stat = Path(f"/proc/{cursor.fetchone()[0]}/stat")
        if not backend_stat.exists():
            backend_stat = None
    tick = os.sysconf("SC_CLK_TCK")

    def server_cpu() -> float:
        if backend_stat is None:
            return 0.0
        fields = backend_stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / tick  # utime + stime

    cpu_s = {"page": 0.0, "feed": 0.0, "summary": 0.0}  # summed over the counted rounds
    last_cpu = {"s": 0.0}
    counted = {"rounds": 0}

    def timed(url: str, params: dict, **headers: str) -> float:
        begin = clock.perf_counter()
        cpu_begin = clock.process_time() + server_cpu()
        response = client.get(url, params, headers=headers)
        elapsed = (clock.perf_counter() - begin) * 1000
        last_cpu["s"] = clock.process_time() + server_cpu() - cpu_begin
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}: {response.content[:300]!r}")
        return elapsed

    def measure() -> dict[str, list[float]]:
        """One measurement: ``rounds`` month views after 3 warm-up ones."""
        samples: dict[str, list[float]] = {"page": [], "feed": [], "summary": [], "month_view": []}
        for round_number in range(rounds + 3):
            month_start, grid_start, grid_end = months[round_number % len(months)]
            span = {"start": f"{grid_start}T00:00:00", "end": f"{grid_end}T00:00:00"}
            cpu = {}
            page = timed(base, {"date": f"{month_start}"})
            cpu["page"] = last_cpu["s"]
            # The month grid asks for 4 events a day (3 posts and "+N more"), as the page does.
            feed = timed(base + "feed/", {**span, "per_day": "4"})
            cpu["feed"] = last_cpu["s"]
            # The page loads its summary with htmx, which asks for the fragment only.
            summary = timed(base + "summary/", span, HX_Request="true")
            cpu["summary"] = last_cpu["s"]
            if round_number < 3:
                continue  # warm-up: connections, template and URL caches
            counted["rounds"] += 1
            for kind, seconds in cpu.items():
                cpu_s[kind] += seconds
            samples["page"].append(page)
            samples["feed"].append(feed)
            samples["summary"].append(summary)
            samples["month_view"].append(page + feed + summary)
        return samples

    # Three measurements; each figure is the median of the three.
    measured = [measure() for _ in range(3)]
    # BENCH_PROFILE=FILE: where the time goes, a cProfile of 24 requests of each kind in FILE.
    if os.environ.get("BENCH_PROFILE"):
        import cProfile
        import pstats

        for name, url, extra, headers in (
            ("page", base, {}, {}),
            ("feed", base + "feed/", {"per_day": "4"}, {}),
            ("summary", base + "summary/", {}, {"HX_Request": "true"}),
        ):
            profiler = cProfile.Profile()
            for month_start, grid_start, grid_end in months * 4:
                span = {"start": f"{grid_start}T00:00:00", "end": f"{grid_end}T00:00:00"}
                params = {"date": f"{month_start}"} if name == "page" else {**span, **extra}
                profiler.runcall(client.get, url, params, headers=headers)
            with open(os.environ["BENCH_PROFILE"], "a") as out:
                print(f"== {name}", file=out)
                pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(35)
    deliveries_per_month, events_per_month = [], []
    for _month_start, grid_start, grid_end in months:
        span = {"start": f"{grid_start}T00:00:00", "end": f"{grid_end}T00:00:00"}
        every = client.get(base + "feed/", span).json()["events"]
        grid = client.get(base + "feed/", {**span, "per_day": "4"}).json()["events"]
        deliveries_per_month.append(sum(e["extendedProps"]["kind"] == "delivery" for e in every))
        events_per_month.append(len(grid))
    result: dict = {
        "load_average": round(os.getloadavg()[0], 1),
        "posts": Post.objects.filter(workspace=workspace).count(),
        "deliveries_per_month": round(statistics.mean(deliveries_per_month)),
        "events_per_month": round(statistics.mean(events_per_month)),
        "rounds": rounds,
        "build_s": round(built_s, 1),
        "server_cpu_counted": backend_stat is not None,
    }
    for kind, seconds in cpu_s.items():
        result[f"{kind}_cpu_ms"] = round(seconds / counted["rounds"] * 1000, 1)
    result["month_view_cpu_ms"] = round(sum(cpu_s.values()) / counted["rounds"] * 1000, 1)
    for name in measured[0]:
        for q in (50, 95):
            runs = [percentile(samples[name], q) for samples in measured]
            result[f"{name}_p{q}_ms"] = round(statistics.median(runs), 1)
            if name == "month_view" and q == 95:
                result["month_view_p95_runs_ms"] = [round(v, 1) for v in runs]
    print(json.dumps(result))


def run(database: str, posts: int, rounds: int, against: str | None = None) -> dict:
    from bench._support import child_result

    args = ["--child", str(posts), "--rounds", str(rounds)]
    if not against:
        return child_result(database, __file__, args, timeout=1800)
    return run_against(database, args, against)


def run_against(database: str, args: list[str], revision: str) -> dict:
    """The figures of this code and of ``revision``'s on one database, one after the other:
    this code (building the workspace), ``revision``'s (a copy from ``git archive``), this
    code again. On a machine other work keeps busy, the ratio to a baseline timed in the same
    run says more than a figure; the result's ``against`` holds the baseline's figures and the
    ratios (this code's two runs averaged, to the baseline's)."""
    import subprocess
    import tempfile

    from bench._support import Installation

    def child_json(installation: Installation, extra: list[str], code: Path | None) -> dict:
        env = dict(installation.env)
        if code is not None:
            env["BENCH_CODE_ROOT"] = str(code)
            env["PYTHONPATH"] = os.pathsep.join([str(code), env.get("PYTHONPATH", "")])
        done = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), *args, *extra],
            env=env,
            cwd=code or ROOT,
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"{database} child failed:\n{done.stdout}\n{done.stderr[-4000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])

    with Installation(database) as installation, tempfile.TemporaryDirectory() as folder:
        code = Path(folder)
        archive = subprocess.run(
            ["git", "archive", revision], cwd=ROOT, capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(code)], input=archive, check=True)
        first = child_json(installation, [], None)
        baseline = child_json(installation, ["--measure-only"], code)
        second = child_json(installation, ["--measure-only"], None)
    result = {**first, "database": database}
    ratios = {}
    for key in ("month_view_p50_ms", "month_view_p95_ms", "month_view_cpu_ms"):
        mine = (first[key] + second[key]) / 2
        ratios[key] = round(mine / baseline[key], 2) if baseline[key] else None
    result["against"] = {
        "revision": revision,
        "baseline": {k: v for k, v in baseline.items() if k.endswith("_ms")},
        "again": {k: v for k, v in second.items() if k.endswith("_ms")},
        "load_averages": [first["load_average"], baseline["load_average"], second["load_average"]],
        "ratios": ratios,
    }
    return result


def verdict(p95: float) -> str:
    if p95 <= TARGET_MS:
        return "met"
    return f"MISSED by {p95 - TARGET_MS:.1f} ms"


def write_markdown(results: list[dict], when: str) -> None:
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    lines = [
        f"## Calendar month view — {when}",
        "",
        f"`python bench/calendar_month.py` on {machine}. Target: the month view of a workspace "
        f"with 50,000 posts answers in ≤ {TARGET_MS:g} ms p95 of server time (Django test client "
        "in-process: routing, middleware, session, view, JSON or template; no network). Posts "
        "spread over four years, one delivery each; a month grid (42 days) shows the events "
        "below. `month view` = page + feed + summary, one after the other. Each figure is the "
        f"median of three measurements of {results[0]['rounds']} month views each.",
        "",
        "| database | posts | deliveries per month / events sent | page p50/p95 ms "
        "| feed p50/p95 ms | summary p50/p95 ms | month view p50 ms | month view p95 ms "
        "(three runs) | load avg | target |",
        "| --- | --: | --: | --: | --: | --: | --: | --: | --: | --- |",
    ]
    for r in results:
        runs = ", ".join(str(v) for v in r["month_view_p95_runs_ms"])
        lines.append(
            f"| {r['database']} | {r['posts']:,} "
            f"| {r['deliveries_per_month']:,} / {r['events_per_month']:,} "
            f"| {r['page_p50_ms']} / {r['page_p95_ms']} "
            f"| {r['feed_p50_ms']} / {r['feed_p95_ms']} "
            f"| {r['summary_p50_ms']} / {r['summary_p95_ms']} "
            f"| {r['month_view_p50_ms']} | **{r['month_view_p95_ms']}** ({runs}) "
            f"| {r.get('load_average', '')} | {verdict(r['month_view_p95_ms'])} |"
        )
    for r in results:
        if "against" not in r:
            continue
        a = r["against"]
        lines += [
            "",
            f"{r['database']}, against `{a['revision']}` on the same database in the same run "
            f"(loads {', '.join(str(v) for v in a['load_averages'])}): month view p95 "
            f"{a['baseline']['month_view_p95_ms']} ms then, CPU "
            f"{a['baseline']['month_view_cpu_ms']} ms a month view then and "
            f"{r['month_view_cpu_ms']} / {a['again']['month_view_cpu_ms']} ms now; ratios now / "
            f"then: p50 {a['ratios']['month_view_p50_ms']}, p95 "
            f"{a['ratios']['month_view_p95_ms']}, CPU {a['ratios']['month_view_cpu_ms']}.",
        ]
    lines += [
        "",
        "The month grid asks for 4 events a day (`per_day=4`): a day with more gets its first "
        'three posts and a "+N more" event that opens the day view, which (like the week and '
        "list views) loads the whole day. The database picks each day's first posts and counts "
        "the day with window functions (days in the workspace's zone), so the feed reads about "
        "170 rows, not 1,500, and joins posts, channels and pillars (with each post's first "
        "image and copies as subqueries) for those 170 only; free slots ask only whether "
        "their own times are held. The summary is the htmx fragment the page swaps in (no "
        "layout). Queries per request: page 13, feed 7, summary 6 "
        "(`tests/test_calendar_queries.py` holds them); each costs PostgreSQL a round trip "
        "and Django its query building. PostgreSQL connections plan with "
        "`random_page_cost` 1.1 (`SOCIALDESK_PG_RANDOM_PAGE_COST`).",
        "`load avg` is the machine's 1-minute load average when the rounds ended, on 2 cores "
        "shared with other work: above 2, every figure is inflated by waiting for a CPU. "
        "`CPU` (printed, and in the against line) is this process's and the PostgreSQL server "
        "process's CPU time per month view: it grows far less with the load than the clock.",
    ]
    from bench._support import before, replace_section

    text = BENCHMARKS.read_text() if BENCHMARKS.exists() else "# Benchmarks\n"
    lines += ["", *before(text, "bench/calendar_month.py")]
    BENCHMARKS.write_text(replace_section(text, "bench/calendar_month.py", "\n".join(lines)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="SQLite only, 20 rounds")
    parser.add_argument("--posts", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], action="append")
    parser.add_argument(
        "--against",
        metavar="REVISION",
        help="also time a git revision's code on the same database (e.g. main) and print ratios",
    )
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--measure-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    rounds = args.rounds or (20 if args.quick else 60)
    if args.child:
        child(args.child, rounds, build=not args.measure_only)
        return
    databases = args.database or (["sqlite"] if args.quick else ["sqlite", "postgresql"])
    results = []
    for database in databases:
        result = run(database, args.posts, rounds, args.against)
        results.append(result)
        print(
            f"{database}: {result['posts']:,} posts, {result['events_per_month']} events a "
            f"month; month view p50 {result['month_view_p50_ms']} ms, p95 "
            f"{result['month_view_p95_ms']} ms (page {result['page_p95_ms']}, feed "
            f"{result['feed_p95_ms']}, summary {result['summary_p95_ms']}); CPU "
            f"{result['month_view_cpu_ms']} ms a month view; load {result['load_average']}",
            flush=True,
        )
        if "against" in result:
            against = result["against"]
            print(
                f"{database} against {against['revision']}: baseline month view p95 "
                f"{against['baseline']['month_view_p95_ms']} ms, CPU "
                f"{against['baseline']['month_view_cpu_ms']} ms; ratios {against['ratios']} "
                f"(loads {against['load_averages']})",
                flush=True,
            )
    if not args.quick:
        write_markdown(results, datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))
    worst = max(r["month_view_p95_ms"] for r in results)
    summary = {
        "month_view_p95_ms": worst,
        "target_ms": TARGET_MS,
        "met": worst <= TARGET_MS,
        **{f"{r['database']}_{k}": v for r in results for k, v in r.items() if k.endswith("_ms")},
        **{f"{r['database']}_against": r["against"] for r in results if "against" in r},
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
