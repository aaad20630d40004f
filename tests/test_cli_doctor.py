"""``socialdesk doctor``: one line per check, the fix for each problem, exit code 1 on any."""

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from socialdesk.publishing.models import WorkerHeartbeat


def doctor() -> tuple[str, CommandError | None]:
    out = StringIO()
    try:
        call_command("doctor", stdout=out)
    except CommandError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


def test_doctor_is_happy_with_a_migrated_database_and_a_live_worker(db, monkeypatch, settings):
    # Keys from the environment, as production has them (generated keys are refused there).
    monkeypatch.setenv("SECRET_KEY", "doctor-test")
    monkeypatch.setenv("ENCRYPTION_KEYS", settings.ENCRYPTION_KEYS[0])
    WorkerHeartbeat.objects.create(worker_id="w1", hostname="oven", pid=42)
    output, error = doctor()
    assert error is None, output
    assert "✓ database" in output
    assert "✓ migrations: all applied" in output
    assert "✓ worker: alive" in output
    assert "✓ publishing: 0 due, none late" in output
    assert "✓ data folder" in output
    assert "✗" not in output


def test_doctor_says_how_to_start_a_missing_worker_and_exits_1(db):
    output, error = doctor()
    assert error is not None and error.returncode == 1
    assert "✗ worker: no worker is running" in output
    assert "start it with `socialdesk worker` or use `socialdesk run`" in output


def test_doctor_says_when_due_posts_are_late_and_exits_1(post, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    from socialdesk.publishing.models import Delivery

    WorkerHeartbeat.objects.create(worker_id="w1", hostname="oven", pid=42)
    Delivery.objects.filter(post=post).update(
        state="scheduled", scheduled_at=timezone.now() - timedelta(minutes=7)
    )
    output, error = doctor()
    assert error is not None and error.returncode == 1
    assert "✗ publishing: 1 due post not sent, the oldest 7 min late" in output


def test_doctor_reports_pending_migrations_with_the_command_to_run(db, monkeypatch):
    from socialdesk import health

    WorkerHeartbeat.objects.create(worker_id="w1", hostname="oven", pid=42)
    monkeypatch.setattr(health, "pending_migrations", lambda: ["content.0099_croissants"])
    output, error = doctor()
    assert error is not None
    assert "✗ migrations: 1 not applied" in output and "socialdesk migrate" in output


def test_doctor_names_an_unreachable_database_and_exits_1(tmp_path):
    """A real process against a port where no database listens."""
    env = {
        **os.environ,
        "DATABASE_URL": "postgres://postgres@127.0.0.1:9/nowhere",
        "SECRET_KEY": "doctor-test",
        "SOCIALDESK_DATA_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-m", "socialdesk.cli", "doctor"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert result.returncode == 1
    assert "✗ database: unreachable (postgresql)" in result.stdout
    assert "check DATABASE_URL" in result.stdout
    assert "✗ migrations: not checked" in result.stdout


@pytest.mark.parametrize("source", ["environment", "generated"])
def test_doctor_says_where_the_secret_key_comes_from(db, monkeypatch, source):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("SECRET_KEY_FILE", raising=False)
    if source == "environment":
        monkeypatch.setenv("SECRET_KEY", "from-env")
    output, _ = doctor()
    expected = "from the environment" if source == "environment" else "generated"
    assert f"secret key {expected}" in output
