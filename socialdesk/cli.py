"""The ``socialdesk`` command, and the small process supervisor behind ``socialdesk run``.

``socialdesk <command>`` is Django's ``manage.py``: every management command (``migrate``,
``shell``, ``createadmin``, ``demo``, ``doctor``, ``worker``, ``run`` …) goes through it.

Why a home-made supervisor: ``socialdesk run`` must start gunicorn (whose master forks the
worker beside its web processes, so that they share memory: ``socialdesk/forked_worker.py``),
forward Ctrl-C/SIGTERM to it, and stop when it or the worker dies. That is about a hundred
lines of ``subprocess`` and ``signal``. The maintained process managers either are
not Python dependencies (systemd, supervisord as a daemon with its own config files) or add
more than they save: honcho wants a Procfile, prefixes every log line, and does not exit
non-zero with a message naming the child that died. Production deployments are free to run
``gunicorn socialdesk.wsgi`` and ``socialdesk worker`` under their own process manager.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import TextIO

# How long children get to finish what they are doing after SIGTERM before they are killed.
# Gunicorn's own graceful timeout (socialdesk/gunicorn_conf.py) is shorter so it finishes first.
STOP_TIMEOUT = 15.0
# Where ``socialdesk run`` listens unless told otherwise (its set-up command reads these too).
DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8000

OVERVIEW = """\
Socialdesk: plan, approve, schedule and publish social media posts.

  socialdesk run [--host H] [--port P]   migrate, collect static files, serve and run the worker
  socialdesk demo                        load (or reset) the demo bakery workspace
  socialdesk createadmin                 create a user, optionally with a workspace
  socialdesk doctor                      check the installation, say what to fix
  socialdesk worker                      run only the background worker
  socialdesk roles [--markdown]          the permission table
  socialdesk backup PATH                 one encrypted archive: database, media, keys
  socialdesk restore PATH                bring a backup back into an empty installation

Every Django management command works too (socialdesk migrate, socialdesk shell …);
`socialdesk help` lists them all and `socialdesk help COMMAND` explains one.
"""


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "socialdesk.settings")
    if sys.argv[1:] in ([], ["-h"], ["--help"]):
        print(OVERVIEW, end="")
        return
    if sys.argv[1:2] == ["run"] and "--prepare-only" not in sys.argv:
        sys.exit(run(sys.argv[2:]))
    from django.core.management import execute_from_command_line

    execute_from_command_line(["socialdesk", *sys.argv[1:]])


def run(args: list[str]) -> int:
    """``socialdesk run``: the set-up in a child process, then the supervisor.

    The set-up (checks, migrations, static files: the ``run`` management command with
    ``--prepare-only``) imports all of Django; done in a child, its memory goes back to the
    system when it ends, and the supervisor that stays for hours holds only the standard
    library (a few MB instead of ~120).
    """
    prepared = subprocess.run(
        [sys.executable, "-m", "socialdesk.cli", "run", "--prepare-only", *args]
    )
    if prepared.returncode:
        return prepared.returncode
    parser = argparse.ArgumentParser(prog="socialdesk run", add_help=False)
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    where, _ = parser.parse_known_args(args)  # the set-up above has refused bad arguments
    return serve(where.host, where.port)


@dataclass
class Child:
    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None
    env: dict[str, str] | None = None  # added to the supervisor's environment

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


def gunicorn_argv(host: str, port: int) -> list[str]:
    """Gunicorn with the settings in ``socialdesk/gunicorn_conf.py`` (read by gunicorn)."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        "python:socialdesk.gunicorn_conf",
        "--bind",
        f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "socialdesk.wsgi:application",
    ]


def port_is_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def port_answers(host: str, port: int) -> bool:
    target = "127.0.0.1" if host in ("0.0.0.0", "") else ("::1" if host == "::" else host)  # noqa: S104
    try:
        with socket.create_connection((target, port), timeout=0.5):
            return True
    except OSError:
        return False


class Supervisor:
    """Runs children in one process tree; when one stops, stops them all.

    Each child gets its own process group, so a Ctrl-C in the terminal reaches only the
    supervisor, which forwards one SIGTERM to each child's whole group (gunicorn's master, its
    web processes and the worker all take SIGTERM as "finish what you are doing and exit").
    After ``STOP_TIMEOUT`` whatever is left of a child's group is killed.
    """

    def __init__(self, children: Sequence[Child], out: TextIO | None = None) -> None:
        self.children = list(children)
        self.stop_signal: int | None = None
        self.out = out or sys.stdout

    def say(self, message: str) -> None:
        print(message, file=self.out, flush=True)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.stop_signal is not None:  # a second Ctrl-C: stop waiting, kill everything
            self.say("socialdesk: killing everything now.")
            for child in self.children:
                if child.process is not None:
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.killpg(child.process.pid, signal.SIGKILL)
        self.stop_signal = signum

    def start(self) -> None:
        for child in self.children:
            child.process = subprocess.Popen(
                child.argv,
                env={**os.environ, **child.env} if child.env else None,
                process_group=0,
                preexec_fn=_die_with_parent,  # safe: the supervisor runs no threads
            )

    def wait(self, on_ready: Sequence[tuple[Callable[[], bool], str]] = ()) -> int:
        """Block until a signal arrives or a child exits; then stop all. Returns an exit code.

        ``on_ready`` pairs a zero-argument callable with a message printed once it is true
        (the web server answering, to print the address only when it works).
        """
        pending = list(on_ready)
        previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            while self.stop_signal is None:
                dead = [child for child in self.children if not child.running]
                if dead:
                    child = dead[0]
                    code = child.process.returncode if child.process else None
                    others = [c.name for c in self.children if c is not child and c.running]
                    self.say(
                        f"socialdesk: {child.name} exited unexpectedly (exit code {code}); "
                        f"stopping {', '.join(others) or 'everything'}."
                    )
                    self.stop_all()
                    return 1
                for check, message in list(pending):
                    if check():
                        self.say(message)
                        pending.remove((check, message))
                time.sleep(0.2)
            self.say(f"socialdesk: {signal.Signals(self.stop_signal).name} received, stopping…")
            self.stop_all()
            return 0
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def stop_all(self, timeout: float = STOP_TIMEOUT) -> None:
        for child in self.children:
            if child.running and child.process:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(child.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for child in self.children:
            if child.process is None:
                continue
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.say(f"socialdesk: {child.name} did not stop in {timeout:.0f} s; killing it.")
            # Whatever is left in the child's group (gunicorn's workers after a killed master).
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.process.pid, signal.SIGKILL)
            child.process.wait()


def _die_with_parent() -> None:
    """Linux: the child gets SIGTERM if the supervisor itself is killed (even with SIGKILL),
    so no orphaned gunicorn or worker keeps the port or the database busy."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def serve(host: str, port: int) -> int:
    """Run gunicorn and its forked worker until Ctrl-C/SIGTERM or until one of them dies."""
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host  # noqa: S104
    url = f"http://{shown_host}:{port}/"
    supervisor = Supervisor(
        [
            Child(
                "web server and worker (gunicorn)",
                gunicorn_argv(host, port),
                env={"SOCIALDESK_FORK_WORKER": "1"},
            )
        ]
    )
    supervisor.start()
    return supervisor.wait(
        on_ready=[
            (
                lambda: port_answers(host, port),
                f"\nSocialdesk is running: open {url}  (Ctrl-C stops it)\n",
            )
        ]
    )


if __name__ == "__main__":
    main()
