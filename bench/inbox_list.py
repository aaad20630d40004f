"""Benchmark of the inbox list (issue 13, speed): a page of a workspace's list with 200,000
conversations answers in ≤ 50 ms p95, on SQLite and PostgreSQL.

    python bench/inbox_list.py                 # SQLite and PostgreSQL, 200,000 conversations
    python bench/inbox_list.py --quick         # SQLite only, 20 rounds
    python bench/inbox_list.py --conversations 50000 --database postgresql

Each database gets a throw-away installation (``bench._support.Installation``). A child
process builds one workspace with 4 channels, 20,000 contacts, 6 people who answer, 3 tags
and N conversations written with ``bulk_create`` over a year (85 % resolved, 10 % pending,
5 % new; a fifth assigned; sentiments and kinds mixed), and one message for each of the
newest 5,000 (the ones first pages show). It then times, with Django's test ``Client`` in
the same process (server time: routing, middleware, session, the view, the template), the
list fragment the page's live refresh asks for (``GET /w/<slug>/inbox/list/`` with
``HX-Request``, a stale version so it renders) under several filters, and the "nothing
changed" answer (204). The query plans (EXPLAIN) of the main filters go to
``artifacts/inbox_list_plans_<database>.txt``.

The last line printed is one JSON object with ``list_p95_ms`` (the slowest database's).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TARGET_MS = 50.0
FILTERS = {
    "all": {},
    "new": {"status": "new"},
    "mine": {"assignee": "me"},
    "nobody_new": {"assignee": "nobody", "status": "new"},
    "negative": {"sentiment": "negative"},
    "channel": {"channel": "CHANNEL"},
    "tag": {"tag": "TAG"},
    "network_page_2": {"network": "bluesky", "cursor": "CURSOR"},
}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def child(count: int, rounds: int) -> None:
    import os
    import random
    import time
    from datetime import timedelta

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "socialdesk.settings")
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from socialdesk.inbox.listing import conversations_for, page_of, parse_filters
    from socialdesk.inbox.models import Contact, Conversation, Message, Tag
    from socialdesk.networks.models import Channel, Network
    from socialdesk.workspaces.models import Membership, User, Workspace

    rng = random.Random(13)
    workspace = Workspace.objects.create(
        name="Bench bakery", slug="bench", time_zone="Europe/Paris"
    )
    people = []
    for n in range(6):
        user = User.objects.create_user(email=f"p{n}@bench.test", password=None)
        Membership.objects.create(workspace=workspace, user=user, role="community_manager")
        people.append(user)
    channels = [
        Channel.objects.create(workspace=workspace, network=network, handle=f"h{n}")
        for n, network in enumerate(
            [Network.BLUESKY, Network.BLUESKY, Network.MASTODON, Network.PAGE]
        )
    ]
    tags = [
        Tag.objects.create(workspace=workspace, name=name)
        for name in ("order", "allergy", "praise")
    ]
    contacts = Contact.objects.bulk_create(
        [
            Contact(
                workspace=workspace, network="bluesky", remote_id=f"did:{n}", handle=f"c{n}.test"
            )
            for n in range(20_000)
        ],
        batch_size=5000,
    )
    now = timezone.now()
    started = time.perf_counter()
    rows = []
    for n in range(count):
        roll = rng.random()
        status = "resolved" if roll < 0.85 else ("pending" if roll < 0.95 else "new")
        rows.append(
            Conversation(
                workspace=workspace,
                channel=channels[n % 4],
                contact=contacts[rng.randrange(len(contacts))],
                kind=rng.choice(["comment", "comment", "mention", "direct", "question"]),
                thread_key=f"t{n}",
                status=status,
                assignee=people[n % 6] if rng.random() < 0.2 else None,
                sentiment=rng.choice(["positive", "neutral", "neutral", "negative"]),
                last_message_at=now - timedelta(seconds=count - n) * (365 * 86400 / count),
            )
        )
    Conversation.objects.bulk_create(rows, batch_size=5000)
    ids = list(
        Conversation.objects.order_by("-last_message_at").values_list("pk", flat=True)[:5000]
    )
    Message.objects.bulk_create(
        [
            Message(
                workspace=workspace,
                conversation_id=pk,
                channel=channels[0],
                direction="in",
                text=f"hello {pk}",
            )
            for pk in ids
        ],
        batch_size=5000,
    )
    through = Conversation.tags.through
    through.objects.bulk_create(
        [through(conversation_id=pk, tag_id=tags[pk % 3].pk) for pk in range(ids[-1], ids[0], 7)],
        batch_size=5000,
        ignore_conflicts=True,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    built_s = time.perf_counter() - started

    me = people[0]
    first = page_of(conversations_for(workspace, parse_filters({"network": "bluesky"}, me)))
    values = {"CHANNEL": str(channels[2].pk), "TAG": str(tags[1].pk), "CURSOR": first.next_cursor}
    client = Client(HTTP_HOST="localhost")
    client.force_login(me)
    url = "/w/bench/inbox/list/"

    def params(name: str) -> dict[str, str]:
        return {k: values.get(v, v) for k, v in FILTERS[name].items()}

    plans = {}
    for name in ("all", "new", "mine", "negative"):
        query = conversations_for(workspace, parse_filters(params(name), me))[:51]
        plans[name] = query.explain()

    timings: dict[str, list[float]] = {name: [] for name in FILTERS}
    timings["unchanged_204"] = []
    for _ in range(3):  # warm up
        client.get(url, params("all"), HTTP_HX_REQUEST="true")
    for _ in range(rounds):
        for name in FILTERS:
            began = time.perf_counter()
            response = client.get(url, {**params(name), "version": "stale"}, HTTP_HX_REQUEST="true")
            timings[name].append((time.perf_counter() - began) * 1000)
            assert response.status_code == 200, (name, response.status_code, response.content[:300])
        version = response["ETag"].strip('"')
        began = time.perf_counter()
        quiet = client.get(url, {**params(name), "version": version}, HTTP_HX_REQUEST="true")
        timings["unchanged_204"].append((time.perf_counter() - began) * 1000)
        assert quiet.status_code == 204, quiet.status_code
    every = [value for name in FILTERS for value in timings[name]]
    result = {
        "conversations": count,
        "built_s": round(built_s, 1),
        "list_p50_ms": round(percentile(every, 50), 1),
        "list_p95_ms": round(percentile(every, 95), 1),
        **{f"{name}_p95_ms": round(percentile(v, 95), 1) for name, v in timings.items()},
    }
    # The plans, for a person to read (the parent keeps only the last line of output).
    out = ROOT / "artifacts" / f"inbox_list_plans_{connection.vendor}.txt"
    out.parent.mkdir(exist_ok=True)
    out.write_text("".join(f"-- {name}:\n{plan}\n\n" for name, plan in plans.items()))
    print(json.dumps(result))


def run(database: str, count: int, rounds: int) -> dict:
    from bench._support import child_result

    return child_result(database, __file__, ["--child", str(count), "--rounds", str(rounds)], 3600)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="SQLite only, 20 rounds")
    parser.add_argument("--conversations", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], action="append")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    rounds = args.rounds or (20 if args.quick else 40)
    if args.child:
        child(args.child, rounds)
        return
    databases = args.database or (["sqlite"] if args.quick else ["sqlite", "postgresql"])
    results = []
    for database in databases:
        result = run(database, args.conversations, rounds)
        results.append(result)
        print(f"{database}: {json.dumps(result)}", flush=True)
    worst = max(r["list_p95_ms"] for r in results)
    summary = {
        "list_p95_ms": worst,
        "target_ms": TARGET_MS,
        "met": worst <= TARGET_MS,
        **{f"{r['database']}_{k}": v for r in results for k, v in r.items() if k.endswith("_ms")},
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
