"""``socialdesk run`` as a person runs it: a real process tree on a free port.

Always on SQLite in a fresh data folder (``DATABASE_URL`` is cleared for the subprocess), so
it passes the same whichever database the rest of the suite uses.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from bench._support import free_port, process_tree

# A real `socialdesk run`: processes, ports, signals. It runs on a SQLite file of its own
# whatever the suite's database is, so the PostgreSQL pass leaves it out (any_database).
pytestmark = [pytest.mark.slow, pytest.mark.any_database]

ROOT = Path(__file__).resolve().parent.parent
# A bound, not a timing target: a first start applies every migration, and CI machines may
# be busy. Healthy sooner ends the wait sooner.
STARTUP_SECONDS = 120


def command() -> list[str]:
    script = Path(sys.executable).parent / "socialdesk"
    return [str(script)] if script.exists() else [sys.executable, "-m", "socialdesk.cli"]


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (loopback)
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def descendants(pid: int) -> set[int]:
    """Every process below ``pid``."""
    return set(process_tree(pid)) - {pid}


def is_running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited; only its parent has not collected it yet


def wait_until(condition, seconds: float, step: float = 0.2) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


def heartbeats(data_dir: Path) -> int:
    with sqlite3.connect(data_dir / "socialdesk.sqlite3", timeout=10) as db:
        return int(db.execute("SELECT count(*) FROM publishing_workerheartbeat").fetchone()[0])


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    """One data folder for the module: the second start finds the migrations applied."""
    return tmp_path_factory.mktemp("run-data")


class Running:
    def __init__(self, data_dir: Path, log: Path) -> None:
        self.port = free_port()
        self.log = log
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SECRET_KEY")}
        env["SOCIALDESK_DATA_DIR"] = str(data_dir)
        env["PYTHONUNBUFFERED"] = "1"
        self.out = log.open("wb")
        self.process = subprocess.Popen(
            [*command(), "run", "--port", str(self.port)],
            env=env,
            cwd=ROOT,
            stdout=self.out,
            stderr=subprocess.STDOUT,
        )
        self.base = f"http://127.0.0.1:{self.port}"

    def healthy(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"socialdesk run exited early:\n{self.output()}")
        try:
            return get(self.base + "/health")[0] == 200
        except OSError:
            return False

    def output(self) -> str:
        self.out.flush()
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.out.close()


@pytest.fixture
def running(data_dir, tmp_path):
    server = Running(data_dir, tmp_path / "run.log")
    yield server
    server.stop()


def test_run_serves_the_site_and_the_worker_and_sigterm_stops_the_whole_tree(running, data_dir):
    assert wait_until(running.healthy, STARTUP_SECONDS), running.output()
    status, body = get(running.base + "/static/vendor/htmx.min.js")
    assert status == 200 and b"htmx" in body
    assert wait_until(lambda: heartbeats(data_dir) == 1, 15), running.output()
    assert f"open http://127.0.0.1:{running.port}/" in running.output()

    # The web processes are forked one after the other; the first one already answers /health.
    assert wait_until(lambda: len(descendants(running.process.pid)) >= 4, 15), (
        "gunicorn's master, its 2 web processes and the worker"
    )
    tree = descendants(running.process.pid)
    names = {Path(f"/proc/{pid}/comm").read_text().strip() for pid in tree}
    assert "socialdesk-work" in names, names
    running.process.send_signal(signal.SIGTERM)
    assert running.process.wait(timeout=25) == 0, running.output()
    assert wait_until(lambda: not any(is_running(pid) for pid in tree), 5), (
        [pid for pid in tree if is_running(pid)],
        running.output(),
    )
    assert heartbeats(data_dir) == 0, "a cleanly stopped worker removes its heartbeat"


def test_when_the_worker_dies_run_stops_the_web_server_and_exits_non_zero(running):
    assert wait_until(running.healthy, STARTUP_SECONDS), running.output()
    tree = descendants(running.process.pid)
    # Forked from gunicorn's master (socialdesk/forked_worker.py), named for ps and top.
    worker = next(
        pid for pid in tree if Path(f"/proc/{pid}/comm").read_text().strip() == "socialdesk-work"
    )
    os.kill(worker, signal.SIGKILL)
    assert running.process.wait(timeout=25) == 1
    assert "the worker exited unexpectedly" in running.output()
    assert wait_until(lambda: not any(is_running(pid) for pid in tree), 5)


def test_a_refused_set_up_stops_run_before_anything_starts(data_dir, tmp_path):
    """The set-up runs in a child process (so the supervisor stays small); its refusal is
    run's exit code and message, and nothing is started."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SECRET_KEY")}
        env["SOCIALDESK_DATA_DIR"] = str(data_dir)
        done = subprocess.run(
            [*command(), "run", "--port", str(port)],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=STARTUP_SECONDS,
        )
    assert done.returncode != 0
    assert f"Port {port} on 127.0.0.1 is already in use" in done.stderr
    assert "Socialdesk is running" not in done.stdout
