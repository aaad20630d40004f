"""``socialdesk run``'s worker, forked from gunicorn's master so that it shares its memory.

Gunicorn's master loads the whole app once and forks its web processes from it
(``socialdesk/gunicorn_conf.py``). The worker needs the same Django, models and network SDKs;
started as a process of its own it held a private copy of all of them (~100 MB of the
stack's ~270 MB PSS, bench/memory.py, issue 12 item 6). Forked from the master before its
web processes (gunicorn's ``when_ready`` hook), it shares those pages instead.

What a separate ``socialdesk worker`` process gave, this keeps:

- The worker runs ``socialdesk.worker.run_worker`` as the command does, with its own signal
  handlers: SIGTERM finishes what it is doing, then removes its heartbeat.
- A worker that dies stops ``socialdesk run``: a thread of the master waits on the worker's
  pidfd (gunicorn's own reaper may collect its exit status first, so the thread does not rely
  on ``waitpid``), says so, and asks the master to stop; the master then exits with 1 and the
  supervisor (``socialdesk.cli``) stops the rest.
- At shutdown the master stops the worker and waits for it, so no heartbeat is left behind.
- If the master is killed outright, the kernel sends the worker SIGTERM (``PR_SET_PDEATHSIG``).

Production deployments that run ``gunicorn`` and ``socialdesk worker`` under their own process
manager are not affected: gunicorn forks a worker only when ``socialdesk run`` asks for it
(``FORK_WORKER_ENV``).
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import logging
import os
import select
import signal
import sys
import threading
from typing import Any

logger = logging.getLogger("socialdesk.worker")

FORK_WORKER_ENV = "SOCIALDESK_FORK_WORKER"
# How long the master waits at shutdown for the worker to finish its sends and remove its
# heartbeat; under the supervisor's own STOP_TIMEOUT (socialdesk/cli.py).
STOP_SECONDS = 12.0
# The worker's name in ps/top (the kernel keeps 15 characters), told apart from gunicorn's.
PROCESS_NAME = b"socialdesk-work"


def prepare_to_fork() -> None:
    """Load in the forking process what every child would load for itself, then make it last.

    The URLconf (Django imports it on a process's first request) and the SDKs of the networks
    the connected channels use (the worker imports them at start) become one shared copy. No
    database connection may be shared by two processes, and the garbage collector's passes
    would write to every shared page (copying it into each child), so the objects made so far
    are frozen out of it.
    """
    from django.db import DatabaseError, connections
    from django.urls import get_resolver

    from socialdesk.publishing.connectors import import_connected_networks

    get_resolver().url_patterns  # noqa: B018 - imported here, once, for every child
    try:
        import_connected_networks()
    except DatabaseError:
        logger.warning("Could not read the connected networks", exc_info=True)
    connections.close_all()
    gc.freeze()


class ForkedWorker:
    """The worker process of one gunicorn master (its ``when_ready`` and ``on_exit`` hooks)."""

    def __init__(self) -> None:
        self.pid = 0
        self.stopping = False
        self.died = False

    def start(self, server: Any) -> None:
        prepare_to_fork()
        pid = os.fork()
        if pid == 0:  # the worker
            self._run_in_child(server)
        self.pid = pid
        watcher = threading.Thread(
            target=self._watch, args=(os.pidfd_open(pid),), name="worker-watch", daemon=True
        )
        watcher.start()
        server.log.info("Worker forked from the master (pid %s)", pid)

    def _run_in_child(self, server: Any) -> None:
        """Become the worker; never returns into gunicorn's code."""
        code = 1
        try:
            for signum in (*server.SIGNALS, signal.SIGCHLD):
                signal.signal(signum, signal.SIG_DFL)
            for listener in server.LISTENERS:  # the port belongs to the web processes
                with contextlib.suppress(OSError):
                    listener.close()
            _name_and_tie_to_parent()
            from socialdesk.worker import run_worker

            run_worker()
            code = 0
        except BaseException:
            logger.exception("The worker stopped on an error")
        finally:
            logging.shutdown()
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)

    def _watch(self, pidfd: int) -> None:
        # Readable once the process has exited, whoever collects its status.
        select.select([pidfd], [], [])
        os.close(pidfd)
        if self.stopping:
            return
        self.died = True
        code: int | str = "unknown"
        with contextlib.suppress(ChildProcessError):
            _, status = os.waitpid(self.pid, os.WNOHANG)
            code = os.waitstatus_to_exitcode(status)
        print(
            f"socialdesk: the worker exited unexpectedly (exit code {code}); "
            "stopping the web server.",
            file=sys.stderr,
            flush=True,
        )
        os.kill(os.getpid(), signal.SIGTERM)  # the master's graceful stop

    def stop(self) -> None:
        """Stop the worker (SIGTERM) and wait for it; exit 1 if it had died on its own."""
        self.stopping = True
        if self.pid and not self.died:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)
            if not _wait_for_exit(self.pid, STOP_SECONDS):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGKILL)
        if self.died:
            sys.exit(1)


def _wait_for_exit(pid: int, seconds: float) -> bool:
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        readable, _, _ = select.select([pidfd], [], [], seconds)
    finally:
        os.close(pidfd)
    if readable:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
    return bool(readable)


def _name_and_tie_to_parent() -> None:
    """Linux: name the process for ps/top, and get SIGTERM if the master dies, even killed."""
    if not sys.platform.startswith("linux"):
        return
    pr_set_pdeathsig, pr_set_name = 1, 15
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(pr_set_name, ctypes.c_char_p(PROCESS_NAME))
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
