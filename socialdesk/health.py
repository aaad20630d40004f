"""Health checks shared by ``GET /health`` and ``socialdesk doctor``.

Each ``check_*`` function looks at one part of a running installation and returns a
``Check``: whether it is fine, one line saying what was found, and, for a problem, what a
person should do about it. ``/health`` runs the few cheap ones a load balancer or a monitor
needs; ``socialdesk doctor`` runs them all and prints them.

``/health`` answers 503 only when the site cannot work at all (database unreachable,
migrations not applied). When posts are not going out on time (no worker with a fresh
heartbeat, or the oldest due delivery later than ``PUBLISHING_LATE_SECONDS``) it still
answers 200, so a load balancer keeps the web server (people can still plan and approve posts
while the worker is down), but with ``"status": "degraded"`` and the ``reasons``: that is
what monitors alert on. Failed and unknown deliveries are reported in the JSON too.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Count, Min, Q
from django.http import HttpRequest, JsonResponse
from django.utils import timezone

from socialdesk.publishing import crisis
from socialdesk.publishing.models import Delivery, DeliveryState, WorkerHeartbeat

# Below this much free space in the data folder, doctor reports a problem: SQLite, uploads
# and the WAL file all live there, and a full disk stops every write.
MIN_FREE_BYTES = 500 * 1024 * 1024

WORKER_FIX = "start it with `socialdesk worker` or use `socialdesk run`"


@dataclass(frozen=True)
class Check:
    """The outcome of one check: ``summary`` says what was found, ``fix`` what to do."""

    name: str
    ok: bool
    summary: str
    fix: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        mark = "✓" if self.ok else "✗"
        text = f"{mark} {self.name}: {self.summary}"
        if not self.ok and self.fix:
            text += f" — {self.fix}"
        return text


def pending_migrations() -> list[str]:
    """Names of the migrations not applied to the database (``app.0002_name``)."""
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{m.app_label}.{m.name}" for m, _ in plan]


def check_database() -> Check:
    """The database answers a query; on SQLite the journal is in WAL mode.

    WAL matters because the web server and the worker write to the same file: without it a
    reader blocks the writer and requests fail with "database is locked".
    """
    vendor = connection.vendor
    try:
        with connection.cursor() as cursor:
            if vendor == "sqlite":
                cursor.execute("PRAGMA journal_mode")
                journal_mode = str(cursor.fetchone()[0]).lower()
            else:
                cursor.execute("SELECT 1")
                journal_mode = ""
    except DatabaseError as exc:
        return Check(
            "database",
            False,
            f"unreachable ({vendor}): {str(exc).strip() or type(exc).__name__}",
            "check DATABASE_URL and that the database server is running",
            {"ok": False, "engine": vendor},
        )
    data: dict[str, Any] = {"ok": True, "engine": vendor}
    if vendor == "sqlite":
        data["journal_mode"] = journal_mode
        where = settings.DATABASES["default"]["NAME"]
        if connection.is_in_memory_db():  # type: ignore[attr-defined]
            # Tests: one connection, nothing to share, and WAL does not apply to memory.
            return Check("database", True, "SQLite in memory", data=data)
        if journal_mode != "wal":
            return Check(
                "database",
                False,
                f"SQLite at {where}, journal mode {journal_mode}",
                "the journal mode must be WAL (set by socialdesk/settings.py); "
                "check that the data folder is on a local disk, not a network share",
                data | {"ok": False},
            )
        return Check("database", True, f"SQLite at {where}, journal mode WAL", data=data)
    name = settings.DATABASES["default"].get("NAME", "")
    return Check("database", True, f"{vendor} database {name!r} reachable", data=data)


def check_migrations() -> Check:
    try:
        pending = pending_migrations()
    except DatabaseError as exc:
        return Check(
            "migrations",
            False,
            f"cannot be read: {exc}",
            "check the database first",
            {"pending": None},
        )
    if pending:
        shown = ", ".join(pending[:3]) + (" …" if len(pending) > 3 else "")
        return Check(
            "migrations",
            False,
            f"{len(pending)} not applied ({shown})",
            "run `socialdesk migrate` (or `socialdesk run`, which applies them)",
            {"pending": len(pending)},
        )
    return Check("migrations", True, "all applied", data={"pending": 0})


def check_worker(now: datetime | None = None) -> Check:
    """The newest worker heartbeat is younger than ``WORKER_HEARTBEAT_STALE_SECONDS``."""
    now = now or timezone.now()
    try:
        beat = WorkerHeartbeat.latest()
    except DatabaseError as exc:
        return Check("worker", False, f"cannot be read: {exc}", "check the database first")
    if beat is None:
        return Check(
            "worker",
            False,
            "no worker is running",
            WORKER_FIX,
            {"alive": False, "last_seen": None, "seconds_ago": None},
        )
    ago = max(0.0, (now - beat.seen_at).total_seconds())
    data = {
        "alive": ago <= settings.WORKER_HEARTBEAT_STALE_SECONDS,
        "last_seen": beat.seen_at.isoformat(),
        "seconds_ago": round(ago, 1),
        "worker_id": beat.worker_id,
        "hostname": beat.hostname,
        "pid": beat.pid,
    }
    where = f"{beat.hostname} pid {beat.pid}"
    if not data["alive"]:
        return Check(
            "worker",
            False,
            f"last seen {_ago(ago)} ago ({where}); it has stopped",
            WORKER_FIX,
            data,
        )
    return Check("worker", True, f"alive, last seen {_ago(ago)} ago ({where})", data=data)


def check_data_dir() -> Check:
    """The data folder exists, takes a new file, and has room left."""
    path = settings.DATA_DIR
    if not path.is_dir():
        return Check(
            "data folder",
            False,
            f"{path} does not exist",
            "create it or point SOCIALDESK_DATA_DIR at an existing folder",
        )
    try:
        with tempfile.NamedTemporaryFile(dir=path, prefix=".doctor-"):
            pass
    except OSError as exc:
        return Check(
            "data folder",
            False,
            f"{path} is not writable ({exc.strerror})",
            f"give the user running Socialdesk write access: chown -R {os.getuid()} {path}",
        )
    free = shutil.disk_usage(path).free
    summary = f"{path}, writable, {_size(free)} free"
    if free < MIN_FREE_BYTES:
        return Check("data folder", False, summary, "free some disk space or move the folder")
    return Check("data folder", True, summary, data={"free_bytes": free})


def _from_environment(name: str) -> bool:
    return bool(os.environ.get(name) or os.environ.get(f"{name}_FILE"))


def check_secrets() -> Check:
    """Where the secret key and the encryption keys come from.

    Generated keys live in the data folder: fine for one machine (back the folder up: losing
    ``encryption_key`` makes every stored channel credential unreadable), refused by
    settings for a production database unless explicitly allowed.
    """
    secret = "from the environment" if _from_environment("SECRET_KEY") else "generated"
    keys = "from the environment" if os.environ.get("ENCRYPTION_KEYS") else "generated"
    count = len(settings.ENCRYPTION_KEYS)
    summary = f"secret key {secret}, {count} encryption key{'s' if count != 1 else ''} {keys}"
    generated = "generated" in (secret, keys)
    if generated and connection.vendor != "sqlite":
        return Check(
            "secrets",
            False,
            summary + f" in {settings.DATA_DIR}",
            "set SECRET_KEY and ENCRYPTION_KEYS in the environment for a production database",
        )
    if generated:
        summary += f" in {settings.DATA_DIR} (back that folder up)"
    return Check("secrets", True, summary)


def check_email() -> Check:
    backend = settings.EMAIL_BACKEND.rsplit(".", 2)[-2]
    if backend == "smtp":
        summary = f"SMTP via {settings.EMAIL_HOST}:{settings.EMAIL_PORT}"
    elif backend == "console":
        summary = "console (emails are printed, not sent; set EMAIL_URL=smtp://… to send)"
    else:
        summary = backend
    return Check("email", True, summary, data={"backend": settings.EMAIL_BACKEND})


def delivery_stats(now: datetime | None = None) -> dict[str, Any]:
    """Counts the publishing engine is watched by, in two queries.

    ``due`` counts deliveries whose time has come but that nobody has sent yet (not those a
    crisis switch holds); the oldest one's lag says how far behind the worker is.
    """
    now = now or timezone.now()
    states = Delivery.engine.aggregate(
        failed=Count("pk", filter=Q(state=DeliveryState.FAILED)),
        unknown=Count("pk", filter=Q(state=DeliveryState.UNKNOWN)),
    )
    due_rows = Delivery.engine.due(now)
    held = crisis.held()
    if held is not None:  # held by a crisis switch on purpose: not late, nothing to fix
        due_rows = due_rows.exclude(held)
    due = due_rows.aggregate(count=Count("pk"), oldest=Min("scheduled_at"))
    oldest = due["oldest"]
    return {
        "failed": states["failed"],
        "unknown": states["unknown"],
        "due": due["count"],
        "oldest_due_lag_seconds": round((now - oldest).total_seconds(), 1) if oldest else None,
    }


def check_publishing(stats: dict[str, Any] | None = None) -> Check:
    """The oldest due delivery is not later than ``PUBLISHING_LATE_SECONDS`` (posts go out
    on time: the worker keeps up)."""
    stats = stats if stats is not None else delivery_stats()
    lag = stats["oldest_due_lag_seconds"]
    due = stats["due"]
    if lag is not None and lag > settings.PUBLISHING_LATE_SECONDS:
        return Check(
            "publishing",
            False,
            f"{due} due post{'s' if due != 1 else ''} not sent, the oldest {_ago(lag)} late",
            "check that a worker runs (`socialdesk worker`) and keeps up: more `--threads` "
            "or more worker processes",
            stats,
        )
    return Check("publishing", True, f"{due} due, none late", data=stats)


def doctor_checks() -> list[Check]:
    """Every check, in the order ``socialdesk doctor`` prints them."""
    database = check_database()
    checks = [database]
    if database.ok:
        checks += [check_migrations(), check_worker(), check_publishing()]
    else:
        skipped = "not checked: the database is unreachable"
        checks += [
            Check("migrations", False, skipped, "fix the database first"),
            Check("worker", False, skipped, "fix the database first"),
            Check("publishing", False, skipped, "fix the database first"),
        ]
    checks += [check_data_dir(), check_secrets(), check_email()]
    return checks


def health_view(request: HttpRequest) -> JsonResponse:
    """200 when the database is reachable and migrated, else 503 with the reason; the
    status is "degraded", with its ``reasons``, when posts are not going out on time (see
    the module docstring). About six small queries.
    """
    database = check_database()
    if not database.ok:
        return JsonResponse(
            {
                "status": "error",
                "reason": f"database {database.summary}",
                "database": database.data,
            },
            status=503,
        )
    migrations = check_migrations()
    if not migrations.ok:
        return JsonResponse(
            {
                "status": "error",
                "reason": f"migrations: {migrations.summary}; {migrations.fix}",
                "database": database.data,
                "migrations": migrations.data,
            },
            status=503,
        )
    worker = check_worker()
    stats = delivery_stats()
    publishing = check_publishing(stats)
    reasons = [f"{check.name}: {check.summary}" for check in (worker, publishing) if not check.ok]
    return JsonResponse(
        {
            "status": "degraded" if reasons else "ok",
            "reasons": reasons,
            "database": database.data,
            "migrations": migrations.data,
            "worker": worker.data,
            "deliveries": stats,
        }
    )


def _ago(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.0f} days"


def _size(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024:
            return f"{size:.0f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"
