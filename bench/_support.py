"""What the benchmarks and the chaos test share: throw-away installations, workers, a stub
connector, the local Bluesky network.

An ``Installation`` is a complete Socialdesk of its own: a temporary data folder and either
a SQLite file in it or a dedicated PostgreSQL database created for it (and dropped by
``close``). Everything that touches its database runs in child processes with its
environment (``python -m bench._support COMMAND``), exactly as ``socialdesk worker`` does,
so the calling process (a pytest session, a benchmark) never needs Django set up for it.

Child commands (each prints one JSON object on its last line):

- ``seed``: a workspace, a person, a channel (a real Bluesky account, or the ``stub``
  network) and one post per wanted time, scheduled through ``content.services.create_post``
  (the product's own path: state graph, task queued with ``run_after``);
- ``bulk-seed``: the same for thousands of deliveries, written in bulk, each queued through
  ``tasks.enqueue_delivery`` (scheduling 10,000 posts one by one would take minutes);
- ``published``: (delivery id, scheduled_at, published_at, remote_id) of every delivery;
- ``worker``: ``socialdesk worker``'s own ``run_worker``, after optionally registering the
  stub connector for the ``page`` network and shortening the engine's timers (chaos only).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/postgres"

# --- the parent side -----------------------------------------------------------------------


class Installation:
    """A throw-away Socialdesk: data folder + database; ``close`` removes both."""

    def __init__(self, database: str, pg_url: str = "") -> None:
        if database not in ("sqlite", "postgresql"):
            raise ValueError(f"database must be sqlite or postgresql, not {database!r}")
        self.database = database
        self.data_dir = Path(tempfile.mkdtemp(prefix=f"socialdesk-bench-{database}-"))
        self.env = {
            key: value
            for key, value in os.environ.items()
            if key not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "PYTEST_CURRENT_TEST")
        }
        self.env.update(
            SOCIALDESK_DATA_DIR=str(self.data_dir),
            SECRET_KEY=secrets.token_urlsafe(32),
            PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        )
        self.pg_admin = ""
        self.db_name = ""
        if database == "postgresql":
            base = pg_url or os.environ.get("DATABASE_URL") or DEFAULT_PG
            if not base.startswith("postgres"):
                base = DEFAULT_PG
            parts = urlsplit(base)
            self.db_name = f"sd_bench_{secrets.token_hex(4)}"
            self.pg_admin = urlunsplit(parts._replace(path="/postgres"))
            self.env["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{self.db_name}"))
            self._pg(f'CREATE DATABASE "{self.db_name}"')
        self.workers: list[subprocess.Popen[bytes]] = []
        try:
            self.manage("migrate", "-v0")
        except BaseException:
            self.close()
            raise

    # -- database ---------------------------------------------------------------------------

    def _pg(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(self.pg_admin, autocommit=True) as conn:
            conn.execute(statement)  # type: ignore[arg-type]

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """Read-only SQL on the installation's database, from this (Django-free) process."""
        if self.database == "sqlite":
            path = self.data_dir / "socialdesk.sqlite3"
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30) as conn:
                return list(conn.execute(sql).fetchall())
        import psycopg

        with psycopg.connect(self.env["DATABASE_URL"], autocommit=True) as conn:
            return list(conn.execute(sql).fetchall())  # type: ignore[arg-type]

    def states(self) -> dict[str, int]:
        """Deliveries per state; empty when the database cannot answer just now (busy)."""
        try:
            rows = self.query("SELECT state, COUNT(*) FROM publishing_delivery GROUP BY state")
        except Exception as error:  # noqa: BLE001 - a poll; the next one asks again
            print(f"could not count deliveries: {error}", file=sys.stderr)
            return {}
        return {state: count for state, count in rows}

    # -- child processes --------------------------------------------------------------------

    def manage(self, *args: str) -> None:
        subprocess.run(
            [_socialdesk(), *args],
            env=self.env,
            check=True,
            cwd=ROOT,
        )

    def child(self, command: str, timeout: float = 600, **options: Any) -> Any:
        """Run ``python -m bench._support COMMAND`` here; its last line's JSON."""
        done = subprocess.run(
            [PYTHON, "-m", "bench._support", command, json.dumps(options)],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{command} failed:\n{done.stderr[-3000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])

    def start_worker(self, **options: Any) -> subprocess.Popen[bytes]:
        """One worker process (``run_worker``, the code behind ``socialdesk worker``)."""
        log = (self.data_dir / f"worker-{len(self.workers)}.log").open("ab")
        process = subprocess.Popen(
            [PYTHON, "-m", "bench._support", "worker", json.dumps(options)],
            env=self.env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        self.workers.append(process)
        return process

    def stop_workers(self) -> None:
        for process in self.workers:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.workers:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.workers = []

    def close(self) -> None:
        self.stop_workers()
        if self.db_name:
            try:
                self._pg(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
            except Exception as error:  # noqa: BLE001 - cleanup must not hide the result
                print(f"could not drop {self.db_name}: {error}", file=sys.stderr)
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> Installation:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _socialdesk() -> str:
    candidate = Path(PYTHON).with_name("socialdesk")
    return str(candidate) if candidate.exists() else "socialdesk"


def stop_cleanly_on_signals() -> None:
    """SIGINT and SIGTERM raise KeyboardInterrupt, so that ``Installation.close`` runs (stops
    the workers, drops the database) even when the script runs in the background, where a
    shell leaves SIGINT ignored."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)


def child_result(database: str, script: str, args: list[str], timeout: float) -> dict[str, Any]:
    """Run ``script args`` in a throw-away installation on ``database``; the JSON object its
    last line of output prints, with the database named in it."""
    with Installation(database) as installation:
        done = subprocess.run(
            [sys.executable, str(Path(script).resolve()), *args],
            env=installation.env,
            cwd=Path(__file__).resolve().parent.parent,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"{database} child failed:\n{done.stdout}\n{done.stderr[-4000:]}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
    result["database"] = database
    return result


def replace_section(text: str, script: str, section: str) -> str:
    """``text`` (BENCHMARKS.md) with the section marked as ``script``'s replaced, or appended;
    every other benchmark's section is left as it was."""
    start, end = f"<!-- {script}: start -->", f"<!-- {script}: end -->"
    block = f"{start}\n{section.rstrip()}\n{end}"
    if start in text and end in text:
        return text[: text.index(start)] + block + text[text.index(end) + len(end) :]
    return text.rstrip() + "\n\n" + block + "\n"


def before(text: str, script: str) -> list[str]:
    """The previous run of ``script``'s section in ``text`` (BENCHMARKS.md): its heading, as
    "Before: …", and its first table, so a rewritten section keeps the figures it replaces."""
    start = f"<!-- {script}: start -->"
    if start not in text:
        return []
    lines = text[text.index(start) :].splitlines()[1:]
    heading = next((line for line in lines if line.startswith("## ")), "")
    first = next((i for i, line in enumerate(lines) if line.startswith("|")), None)
    if not heading or first is None:
        return []
    table = []
    for line in lines[first:]:
        if not line.startswith("|"):
            break
        table.append(line)
    return [f"Before (the run this one replaced, {heading.split(' — ')[-1]}):", "", *table]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on just now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def process_tree(root: int) -> list[int]:
    """``root`` and every process below it, parents before children (read from /proc, so
    no psutil is needed)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name is in parentheses and may hold spaces; the ppid follows it.
        parent = int(stat[stat.rindex(")") + 2 :].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop(0)
        found.append(pid)
        todo.extend(sorted(children.get(pid, [])))
    return found


def wait_until(condition: Any, timeout: float, step: float = 0.2) -> bool:
    """Poll ``condition()`` until it is true or ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return bool(condition())


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (p99 of 500 values is the 495th smallest)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50": round(statistics.median(values), 1) if values else float("nan"),
        "p99": round(percentile(values, 0.99), 1),
        "max": round(max(values), 1) if values else float("nan"),
    }


# --- the local Bluesky network -------------------------------------------------------------


@contextmanager
def bluesky_network() -> Iterator[Any]:
    """The local Bluesky network of ``tests/peers.py`` (built if needed), for scripts."""
    sys.path.insert(0, str(ROOT / "tests"))
    import peers

    subprocess.run(["bash", str(peers.BLUESKY / "install.sh")], check=True, capture_output=True)
    scratch = Path(tempfile.mkdtemp(prefix="socialdesk-bench-bluesky-"))
    process = None
    try:
        for pds_port in [2783 + 10 * step for step in range(6)]:
            if all(peers._port_is_free(port) for port in peers._network_ports(pds_port)):
                process, why = peers._start(pds_port, scratch)
                if process is not None:
                    break
        if process is None:
            raise RuntimeError("could not start the local Bluesky network on free ports")
        yield peers.BlueskyNetwork(
            pds_url=f"http://localhost:{pds_port}", appview_url=f"http://localhost:{pds_port + 1}"
        )
    finally:
        if process is not None:
            peers._stop(process)
        shutil.rmtree(scratch, ignore_errors=True)


def records_on_server(client: Any, did: str) -> list[dict[str, str]]:
    """Every ``app.bsky.feed.post`` record of ``did``: uri and text, all pages."""
    from atproto import models

    records: list[dict[str, str]] = []
    cursor = None
    for _ in range(1000):  # bounded: 100 records a page
        page = client.com.atproto.repo.list_records(
            models.ComAtprotoRepoListRecords.Params(
                repo=did, collection="app.bsky.feed.post", limit=100, cursor=cursor
            )
        )
        records += [{"uri": r.uri, "text": r.value.text} for r in page.records]
        cursor = page.cursor
        if not cursor or not page.records:
            break
    return records


# --- the child side (runs with Django set up) ----------------------------------------------


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "socialdesk.settings")
    import django

    django.setup()


def _workspace_channel(options: dict[str, Any]) -> tuple[Any, Any, Any]:
    from socialdesk.networks.models import Channel, Network
    from socialdesk.workspaces.models import Membership, User, Workspace
    from socialdesk.workspaces.roles import Role

    workspace = Workspace.objects.create(name="Bench Bakery", slug=f"bench-{secrets.token_hex(3)}")
    user = User.objects.create_user(email=f"{workspace.slug}@bench.test", password=None)
    Membership.objects.create(workspace=workspace, user=user, role=Role.OWNER)
    if options.get("bluesky"):
        from socialdesk.networks.bluesky import BlueskyConnector

        account = options["bluesky"]
        # Connected as a person connects it: one sign-in, whose session is stored with the
        # channel (``networks.services.connect_bluesky``), so sending reuses it. The bare SDK
        # loop it is compared with also signs in before its clock starts.
        connector = BlueskyConnector(
            account["handle"], account["app_password"], pds_url=account["pds_url"]
        )
        info = connector.check_connection()
        channel = Channel(
            workspace=workspace,
            network=Network.BLUESKY,
            handle=account["handle"],
            remote_account_id=info.remote_account_id,
        )
        channel.set_credentials(connector.credentials())
        channel.save()
    else:
        channel = Channel.objects.create(workspace=workspace, network=Network.PAGE, handle="stub")
    return workspace, user, channel


def _times(options: dict[str, Any]) -> list[Any]:
    from datetime import UTC, datetime

    return [datetime.fromtimestamp(t, tz=UTC) for t in options["times"]]


def cmd_seed(options: dict[str, Any]) -> Any:
    """One post per time in ``times`` (epoch seconds), through ``create_post``."""
    import time
    from datetime import UTC, datetime

    from socialdesk.content.services import PostContent, create_post

    workspace, user, channel = _workspace_channel(options)
    prefix = options.get("prefix", "bench")
    if "offsets" in options:
        # Times counted from when this process is ready to write (its own start-up, slow on
        # a busy machine, does not eat into the lead): the first due moment is returned.
        base = time.time() + float(options["lead"])
        whens = [datetime.fromtimestamp(base + t, tz=UTC) for t in options["offsets"]]
    else:
        base = None
        whens = _times(options)
    ids = []
    for number, when in enumerate(whens):
        if base is not None:
            # A busy machine seeds slower than the lead allowed for: rather than fail on a
            # time already past, the rest fall due a moment after they are written
            # (``margin`` seconds, 5 by default: at a load of 8 on two cores one create_post
            # took more than a second; beside workers killed at random, more than 5).
            margin = float(options.get("margin", 5.0))
            when = max(when, datetime.fromtimestamp(time.time() + margin, tz=UTC))
            whens[number] = when
        post = create_post(
            workspace,
            user,
            PostContent(text=f"{prefix} #{number}", channel_ids=[channel.pk], scheduled_at=when),
        )
        ids.append(post.deliveries.get().pk)
    return {"deliveries": ids, "base": whens[0].timestamp() if base is not None else None}


def cmd_bulk_seed(options: dict[str, Any]) -> Any:
    """``count`` posts due at ``at`` (epoch seconds), written in bulk, each task queued by
    ``enqueue_delivery`` with ``run_after`` as the scheduling services do."""
    from datetime import UTC, datetime

    from django.db import transaction

    from socialdesk.content.models import Post
    from socialdesk.publishing.models import Delivery, DeliveryState
    from socialdesk.publishing.tasks import enqueue_delivery

    workspace, user, channel = _workspace_channel(options)
    when = datetime.fromtimestamp(options["at"], tz=UTC)
    count = int(options["count"])
    ids: list[int] = []
    for start in range(0, count, 1000):
        with transaction.atomic():
            posts = Post.objects.bulk_create(
                Post(workspace=workspace, author=user, text=f"burst #{n}")
                for n in range(start, min(count, start + 1000))
            )
            deliveries = Delivery.objects.bulk_create(
                Delivery(
                    workspace=workspace,
                    post=post,
                    channel=channel,
                    state=DeliveryState.SCHEDULED,
                    scheduled_at=when,
                )
                for post in posts
            )
            for delivery in deliveries:
                enqueue_delivery(delivery, run_after=when)
        ids += [d.pk for d in deliveries]
    return {"deliveries": ids}


def cmd_published(options: dict[str, Any]) -> Any:
    from socialdesk.publishing.models import Delivery

    rows = Delivery.objects.values_list("pk", "state", "scheduled_at", "published_at", "remote_id")
    return [
        [pk, state, s.timestamp() if s else None, p.timestamp() if p else None, remote]
        for pk, state, s, p, remote in rows
    ]


class StubConnector:
    """Publishes nowhere: appends ``idempotency-key call-time`` to ``calls_file``, after waiting
    ``delay`` seconds (a network's answer time). Registered for the ``page`` network."""

    network = "page"
    rate_limits = ()

    def __init__(self, calls_file: str, delay: float) -> None:
        self.calls_file = calls_file
        self.delay = delay

    def cost(self, content: Any) -> dict[str, int]:
        return {}

    def validate(self, content: Any) -> list[Any]:
        return []

    def publish(self, content: Any, idempotency_key: str) -> Any:
        from socialdesk.networks.base import Published

        called = time.time()
        if self.delay:
            time.sleep(self.delay)
        # One short append per call: whole lines, even with several processes writing. The
        # key, not the delivery's id: a network never reads our database, so neither does
        # the stub (the benchmark maps keys to ids once, at the end).
        with open(self.calls_file, "a") as calls:
            calls.write(f"{idempotency_key} {called:.6f}\n")
        return Published(f"stub:{idempotency_key}", f"https://stub.invalid/{idempotency_key}")

    def find_published(self, idempotency_key: str, content: Any = None) -> Any:
        return None

    def delete(self, remote_id: str) -> None:
        return None

    def check_connection(self) -> Any:
        raise NotImplementedError


def cmd_worker(options: dict[str, Any]) -> None:
    """``run_worker`` as ``socialdesk worker`` runs it, with the benchmark's stub and timers."""
    from datetime import timedelta

    from socialdesk import worker
    from socialdesk.networks.models import Network
    from socialdesk.publishing import connectors, dispatch

    if "stub_calls" in options:
        stub = StubConnector(options["stub_calls"], float(options.get("stub_delay", 0)))
        connectors.REGISTRY[Network.PAGE] = lambda channel: stub  # type: ignore[assignment,return-value]
    # The chaos test's shorter timers, so that recovery after a SIGKILL takes seconds, not
    # the production lease of 5 minutes (see bench/chaos.py).
    if "lease_s" in options:
        dispatch.LEASE = timedelta(seconds=float(options["lease_s"]))
    if "sweep_grace_s" in options:
        dispatch.SWEEP_GRACE = timedelta(seconds=float(options["sweep_grace_s"]))
    if "heartbeat_s" in options:
        worker.Heartbeat.__init__.__defaults__ = (float(options["heartbeat_s"]),)
        # Only the oldest live worker sweeps; a killed one must hand over within seconds.
        from django.conf import settings

        settings.WORKER_HEARTBEAT_STALE_SECONDS = max(2, int(3 * float(options["heartbeat_s"])))
    worker.run_worker(
        interval=float(options.get("interval", 0.1)),
        threads=int(options["threads"]) if "threads" in options else None,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["seed", "bulk-seed", "published", "worker"])
    parser.add_argument("options", nargs="?", default="{}")
    args = parser.parse_args()
    options = json.loads(args.options)
    _setup_django()
    import logging

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    handler = {
        "seed": cmd_seed,
        "bulk-seed": cmd_bulk_seed,
        "published": cmd_published,
        "worker": cmd_worker,
    }[args.command]
    result = handler(options)
    if result is not None:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
