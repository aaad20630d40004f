"""Gunicorn's settings for ``socialdesk run`` (``--config python:socialdesk.gunicorn_conf``).

Gunicorn reads this in its own process, so the supervisor never imports gunicorn or Django.
``WEB_CONCURRENCY`` and ``GUNICORN_CMD_ARGS`` (gunicorn's own variables) still override it.

The app is loaded once in gunicorn's master and its web processes are forked from it
(``preload_app``), so Django, the URLconf and every module they import are one copy in
memory shared by all web processes instead of one copy each (issue 12, item 6: the whole
stack idles under 250 MB). ``pre_fork`` makes the shared copy last: it imports the URLconf
(Django would otherwise import it on each process's first request), closes any database
connection (a socket must not be shared by two processes), and freezes the objects made so
far out of the garbage collector, whose passes would otherwise write to every shared page
and so copy it into each process.

Under ``socialdesk run`` (``SOCIALDESK_FORK_WORKER=1``) the master also forks the worker,
before its web processes, so that it shares the same copy (``socialdesk/forked_worker.py``).
"""

from __future__ import annotations

import os
from typing import Any

# 2 cores: 2 processes of 4 threads. Threads suit a Django app that mostly waits on the
# database; two processes keep serving if one is busy or restarting.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = 4
timeout = 60
# A little shorter than the supervisor's STOP_TIMEOUT (socialdesk/cli.py), so gunicorn ends
# its requests before the supervisor kills anything.
graceful_timeout = 10
preload_app = True
# Recent gunicorn opens a control socket at one fixed path in $HOME: two Socialdesks on one
# machine (or a test run beside a real one) would fight over it, and nothing here uses it.
# Gunicorn ignores names it does not know, so older versions are fine with this line.
control_socket_disable = True


def pre_fork(server: Any, worker: Any) -> None:
    from socialdesk.forked_worker import prepare_to_fork

    prepare_to_fork()


def when_ready(server: Any) -> None:
    if os.environ.get("SOCIALDESK_FORK_WORKER") == "1":
        from socialdesk.forked_worker import ForkedWorker

        server.socialdesk_worker = ForkedWorker()
        server.socialdesk_worker.start(server)


def on_exit(server: Any) -> None:
    forked = getattr(server, "socialdesk_worker", None)
    if forked is not None:
        forked.stop()
