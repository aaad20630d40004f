"""``socialdesk backup`` and ``socialdesk restore``: a workspace with posts, media and channel
credentials is backed up, restored into a fresh data folder and a fresh database, and compared
table by table, row by row and byte by byte; wrong passphrases, non-empty targets and altered
archives are refused with a message, not a traceback.

The backup runs in this process against the test database (committed data: transactional
tests); the restore runs as a real ``socialdesk`` process pointed at an empty data folder and,
on PostgreSQL, at a database of its own that the test creates and drops.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.db import connection, transaction
from page_helpers import image

from socialdesk import backup
from socialdesk.backup import BackupError, DecryptingReader, EncryptingWriter, create_backup
from socialdesk.content.models import Label
from socialdesk.networks.models import Channel, Network

ROOT = Path(__file__).resolve().parent.parent
PASSPHRASE = "rye flour and a long night"
APP_PASSWORD = "crumb-app-password-42"
POSTGRESQL = connection.vendor == "postgresql"


@pytest.fixture(autouse=True)
def quick_key_derivation(monkeypatch):
    """Scrypt at 2^14 in this process: the format stores the cost, restore reads it back."""
    monkeypatch.setattr(backup, "SCRYPT_N", 2**14)


def socialdesk(*args: str, target: Target, passphrase: str = PASSPHRASE) -> Any:
    """Run the real command against ``target``, with no terminal and the passphrase in the
    environment; keys come from the target's data folder, as in the embedded default."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("ENCRYPTION_KEYS", "SOCIALDESK_BACKUP_PASSPHRASE")
    }
    env.update(
        SOCIALDESK_DATA_DIR=str(target.data_dir),
        DATABASE_URL=target.database_url,
        PYTHONPATH=str(ROOT),
        SOCIALDESK_BACKUP_PASSPHRASE=passphrase,
    )
    if target.database_url.startswith("postgres"):
        env.setdefault("SECRET_KEY", "backup-test-secret")
    return subprocess.run(
        [sys.executable, "-m", "socialdesk.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
    )


# --- Where the data lives ------------------------------------------------------------------


@dataclass
class Target:
    data_dir: Path
    database_url: str
    database_name: str  # a file path on SQLite, a database name on PostgreSQL

    def tables(self) -> dict[str, tuple[int, str]]:
        if self.database_url.startswith("postgres"):
            return postgresql_tables(self.database_name)
        if not Path(self.database_name).exists():
            return {}
        return sqlite_tables(Path(self.database_name))


def pg_server() -> dict[str, Any]:
    database = connection.settings_dict
    return {
        "host": database["HOST"] or "127.0.0.1",
        "port": database["PORT"] or 5432,
        "user": database["USER"] or "postgres",
        "password": database["PASSWORD"] or None,
    }


def require_pg_tools() -> None:
    missing = [tool for tool in ("pg_dump", "pg_restore") if shutil.which(tool) is None]
    if missing:
        pytest.fail(
            f"{' and '.join(missing)} not found: install PostgreSQL's client tools with "
            "`apt-get install postgresql-client` (scripts/ensure-services.sh does)."
        )


@pytest.fixture
def target(tmp_path) -> Iterator[Target]:
    """An empty data folder, and an empty database of the vendor the tests run on."""
    data_dir = tmp_path / "restored"
    if not POSTGRESQL:
        yield Target(data_dir, "", str(data_dir / "socialdesk.sqlite3"))
        return
    import psycopg

    require_pg_tools()
    name = f"sd_backup_dst_{os.getpid()}_{time.monotonic_ns() % 10**6}"
    server = pg_server()
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"postgres://{server['user']}@{server['host']}:{server['port']}/{name}"
    try:
        yield Target(data_dir, url, name)
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def source(tmp_path, settings) -> Target:
    """This process's data folder, holding the keys in use as generated key files."""
    folder = tmp_path / "source"
    folder.mkdir()
    settings.DATA_DIR = folder
    settings.MEDIA_ROOT = folder / "media"
    (folder / "secret_key").write_text(settings.SECRET_KEY)
    (folder / "encryption_key").write_text(settings.ENCRYPTION_KEYS[0])
    name = str(connection.settings_dict["NAME"])  # the test database
    if POSTGRESQL:
        server = pg_server()
        url = f"postgres://{server['user']}@{server['host']}:{server['port']}/{name}"
    else:
        url = f"sqlite:///{name}"
    return Target(folder, url, name)


@pytest.fixture
def bakery(transactional_db, source, workspace, owner, channel, post) -> Channel:
    """Posts, two uploaded images (with thumbnails) and a Bluesky channel whose app password
    is encrypted with the data folder's key."""
    image(channel, owner, "A rye loaf", colour="#7c2d12")
    image(channel, owner, "Croissants", colour="#fbbf24")
    bluesky = Channel(workspace=workspace, network=Network.BLUESKY, handle="crumb.bsky.social")
    bluesky.set_credentials({"handle": "crumb.bsky.social", "app_password": APP_PASSWORD})
    bluesky.save()
    return bluesky


def rows_digest(rows: list[tuple[Any, ...]]) -> tuple[int, str]:
    lines = sorted(repr(row) for row in rows)
    return len(lines), hashlib.sha256("\n".join(lines).encode()).hexdigest()


def sqlite_tables(path: Path) -> dict[str, tuple[int, str]]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        names = [
            name
            for (name,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        tables = {
            name: rows_digest(db.execute(f'SELECT * FROM "{name}"').fetchall())  # noqa: S608 - catalogue names
            for name in names
        }
    db.close()
    return tables


def postgresql_tables(name: str) -> dict[str, tuple[int, str]]:
    import psycopg

    with psycopg.connect(dbname=name, **pg_server()) as db:
        names = [
            table
            for (table,) in db.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
            )
        ]
        return {
            table: rows_digest(db.execute(f'SELECT * FROM "{table}"').fetchall())  # noqa: S608 - catalogue names
            for table in names
        }


def files_under(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def refused(result: Any, *phrases: str) -> None:
    """Exit code 1, each phrase in the message, and no traceback."""
    assert result.returncode == 1, result.stdout + result.stderr
    for phrase in phrases:
        assert phrase in result.stderr, result.stderr
    assert "Traceback" not in result.stderr, result.stderr


# --- Round trip ----------------------------------------------------------------------------


def test_a_restored_backup_has_every_row_every_media_file_and_credentials_that_decrypt(
    bakery, source, target, tmp_path
):
    archive = tmp_path / "crumb.sdbackup"
    made = create_backup(archive, PASSPHRASE)
    media = files_under(source.data_dir / "media")
    assert made.media_files == len(media) >= 4  # two images, two thumbnails

    restored = socialdesk("restore", str(archive), target=target)

    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "Restored the backup" in restored.stdout
    source_tables = source.tables()
    assert len(source_tables) > 20 and source_tables["content_post"][0] == 1
    assert target.tables() == source_tables
    assert files_under(target.data_dir / "media") == media
    shown = socialdesk(
        "shell",
        "-c",
        "from socialdesk.networks.models import Channel; "
        "print(Channel.objects.get(handle='crumb.bsky.social').credentials['app_password'])",
        target=target,
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip().splitlines()[-1] == APP_PASSWORD


def test_the_archive_is_encrypted_and_its_manifest_lists_every_file_with_its_hash(
    bakery, source, tmp_path
):
    archive = tmp_path / "crumb.sdbackup"
    create_backup(archive, PASSPHRASE)
    raw = archive.read_bytes()
    assert APP_PASSWORD.encode() not in raw and b"crumb.bsky.social" not in raw
    with open(archive, "rb") as handle:
        plain = DecryptingReader(handle, PASSPHRASE).read()
    with tarfile.open(fileobj=io.BytesIO(plain)) as tar:
        names = tar.getnames()
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
        listed = {entry["path"]: entry for entry in manifest["files"]}
        for name in names[:-1]:
            data = tar.extractfile(name).read()  # type: ignore[union-attr]
            assert listed[name]["sha256"] == hashlib.sha256(data).hexdigest()
    assert names[0] == "backup.json" and names[-1] == "manifest.json"
    assert set(listed) == set(names[:-1])
    assert manifest["database_vendor"] == connection.vendor
    assert "0001_initial" in manifest["migrations"]["content"]
    assert manifest["keys"] == {"secret_key": "data folder", "encryption_keys": "data folder"}
    assert {"keys/secret_key", "keys/encryption_key"} <= set(listed)


def test_a_backup_taken_while_another_thread_writes_restores_to_a_consistent_database(
    transactional_db, source, target, workspace, tmp_path
):
    """Labels are written two per transaction: a consistent copy holds an even number."""
    stop = threading.Event()
    written: list[int] = []

    def write() -> None:
        try:
            n = 0
            while not stop.is_set():
                with transaction.atomic():
                    Label.objects.create(workspace=workspace, name=f"rye {n}")
                    Label.objects.create(workspace=workspace, name=f"spelt {n}")
                written.append(n)
                n += 1
        finally:
            connection.close()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        while len(written) < 5:
            time.sleep(0.01)
        before = len(written)
        create_backup(tmp_path / "busy.sdbackup", PASSPHRASE)
        during = len(written) - before
    finally:
        stop.set()
        writer.join()
    assert during > 0, "the writer was blocked during the whole backup"

    restored = socialdesk("restore", str(tmp_path / "busy.sdbackup"), target=target)

    assert restored.returncode == 0, restored.stdout + restored.stderr
    labels, _digest = target.tables()["content_label"]
    assert labels > 0 and labels % 2 == 0
    if not POSTGRESQL:
        with sqlite3.connect(target.database_name) as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        db.close()
    checked = socialdesk("migrate", "--check", target=target)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_restoring_a_backup_from_an_older_version_applies_the_newer_migrations(tmp_path):
    """A real older installation: SQLite with one of our apps one migration behind (the
    latest migration that no other app's migration depends on)."""
    from django.db.migrations.loader import MigrationLoader

    graph = MigrationLoader(None, ignore_no_migrations=True).graph
    leaf = next(
        node
        for node in sorted(graph.leaf_nodes())
        if node[0] in ("workspaces", "publishing", "inbox", "networks", "analytics")
        and not graph.node_map[node].children
    )
    app = leaf[0]
    parent = next(node for node in graph.node_map[leaf].parents if node[0] == app)
    older = Target(tmp_path / "older", "", str(tmp_path / "older" / "socialdesk.sqlite3"))
    newer = Target(tmp_path / "newer", "", str(tmp_path / "newer" / "socialdesk.sqlite3"))
    assert socialdesk("migrate", target=older).returncode == 0
    assert socialdesk("migrate", app, parent[1], target=older).returncode == 0
    archive = tmp_path / "older.sdbackup"
    made = socialdesk("backup", str(archive), target=older)
    assert made.returncode == 0, made.stderr

    restored = socialdesk("restore", str(archive), target=newer)

    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert f"Applied 1 migrations newer than the backup ({app}.{leaf[1]})" in restored.stdout
    assert socialdesk("migrate", "--check", target=newer).returncode == 0


# --- Refusals ------------------------------------------------------------------------------


def test_a_wrong_passphrase_is_a_clear_error_and_restores_nothing(bakery, target, tmp_path):
    archive = tmp_path / "crumb.sdbackup"
    create_backup(archive, PASSPHRASE)

    result = socialdesk("restore", str(archive), target=target, passphrase="baguette" * 2)

    refused(result, "Wrong passphrase", "Nothing was restored")
    assert target.tables() == {}
    assert not (target.data_dir / "media").exists()


def test_restore_refuses_a_data_folder_with_media_and_names_it(bakery, target, tmp_path):
    archive = tmp_path / "crumb.sdbackup"
    create_backup(archive, PASSPHRASE)
    keep = target.data_dir / "media" / "mine.jpg"
    keep.parent.mkdir(parents=True)
    keep.write_bytes(b"not to be overwritten")

    result = socialdesk("restore", str(archive), target=target)

    refused(result, "never overwrites", f"the media folder {target.data_dir / 'media'} holds files")
    assert files_under(target.data_dir / "media") == {"mine.jpg": b"not to be overwritten"}
    assert target.tables() == {}


def test_restore_refuses_a_database_that_has_tables_and_names_it(bakery, target, tmp_path):
    archive = tmp_path / "crumb.sdbackup"
    create_backup(archive, PASSPHRASE)
    if POSTGRESQL:
        import psycopg

        with psycopg.connect(dbname=target.database_name, autocommit=True, **pg_server()) as db:
            db.execute("CREATE TABLE ledger (id integer)")
    else:
        target.data_dir.mkdir()
        with sqlite3.connect(target.database_name) as db:
            db.execute("CREATE TABLE ledger (id integer)")
        db.close()

    result = socialdesk("restore", str(archive), target=target)

    refused(result, "never overwrites", "has 1 tables (ledger)")
    assert set(target.tables()) == {"ledger"}
    assert not (target.data_dir / "media").exists()


def test_restore_refuses_an_existing_key_file(bakery, target, tmp_path):
    archive = tmp_path / "crumb.sdbackup"
    create_backup(archive, PASSPHRASE)
    target.data_dir.mkdir()
    other_key = Fernet.generate_key().decode()  # the only copy of another installation's key
    (target.data_dir / "encryption_key").write_text(other_key)

    result = socialdesk("restore", str(archive), target=target)

    refused(result, f"the key file {target.data_dir / 'encryption_key'} exists")
    assert (target.data_dir / "encryption_key").read_text() == other_key


def frame_starts(archive: bytes) -> list[int]:
    """Where each encrypted part begins: after the magic and header lines, length-prefixed."""
    position = archive.index(b"\n", len(backup.MAGIC)) + 1
    starts = []
    while position < len(archive):
        starts.append(position)
        position += 4 + int.from_bytes(archive[position : position + 4], "big")
    return starts


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("flip a byte in the middle", "does not authenticate"),
        ("cut off the end", "the file is cut off"),
        ("remove the last part", "the file is cut off"),
    ],
)
def test_an_altered_archive_is_refused(bakery, target, tmp_path, monkeypatch, damage, message):
    monkeypatch.setattr(backup, "CHUNK_BYTES", 16 * 1024)  # several parts even on PostgreSQL
    archive = tmp_path / "crumb.sdbackup"
    create_backup(archive, PASSPHRASE)
    data = bytearray(archive.read_bytes())
    if damage == "flip a byte in the middle":
        data[len(data) // 2] ^= 0x01
    elif damage == "cut off the end":
        del data[-200:]
    else:
        starts = frame_starts(bytes(data))
        assert len(starts) >= 2
        del data[starts[-1] :]
    archive.write_bytes(bytes(data))

    result = socialdesk("restore", str(archive), target=target)

    refused(result, "damaged or was altered", message)
    assert target.tables() == {}
    assert not (target.data_dir / "media").exists()


def test_a_file_that_does_not_match_the_manifest_is_refused(bakery, target, tmp_path):
    """Re-encrypted with the right passphrase, one media file changed: only the manifest
    can tell."""
    archive = tmp_path / "crumb.sdbackup"
    create_backup(archive, PASSPHRASE)
    with open(archive, "rb") as handle:
        plain = DecryptingReader(handle, PASSPHRASE).read()
    changed = ""
    forged = tmp_path / "forged.sdbackup"
    with tarfile.open(fileobj=io.BytesIO(plain)) as original, open(forged, "xb") as out:
        writer = EncryptingWriter(out, PASSPHRASE)
        with tarfile.open(fileobj=writer, mode="w|") as tar:  # type: ignore[call-overload]
            for member in original.getmembers():
                content = original.extractfile(member).read()  # type: ignore[union-attr]
                if member.name.startswith("media/") and not changed:
                    changed = member.name
                    content = content[:-1] + bytes([content[-1] ^ 0xFF])
                tar.addfile(member, io.BytesIO(content))
        writer.finish()

    result = socialdesk("restore", str(forged), target=target)

    refused(result, f"{changed} does not match its size and SHA-256 in the manifest")
    assert target.tables() == {}
    assert not (target.data_dir / "media").exists()


def test_restoring_into_the_other_kind_of_database_is_refused(bakery, tmp_path):
    archive = tmp_path / "crumb.sdbackup"
    create_backup(archive, PASSPHRASE)
    if POSTGRESQL:
        other = Target(tmp_path / "lite", "", str(tmp_path / "lite" / "socialdesk.sqlite3"))
        expected = "holds a PostgreSQL database and this installation uses SQLite"
    else:
        url = "postgres://postgres@127.0.0.1:5432/sd_backup_never_created"
        other = Target(tmp_path / "pg", url, "sd_backup_never_created")
        expected = "holds a SQLite database and this installation uses PostgreSQL"

    result = socialdesk("restore", str(archive), target=other)

    refused(result, expected, "same kind of database")
    assert not (other.data_dir / "media").exists()


def test_backup_never_overwrites_an_existing_file(bakery, tmp_path):
    existing = tmp_path / "crumb.sdbackup"
    existing.write_bytes(b"last week's backup")
    with pytest.raises(BackupError, match="already exists"):
        create_backup(existing, PASSPHRASE)
    assert existing.read_bytes() == b"last week's backup"


def test_backup_into_a_folder_writes_a_dated_file_and_says_so(bakery, source, tmp_path):
    folder = tmp_path / "nightly"
    folder.mkdir()
    result = socialdesk("backup", str(folder), target=source)
    assert result.returncode == 0, result.stderr
    (written,) = folder.iterdir()
    assert written.name.startswith("socialdesk-") and written.suffix == ".sdbackup"
    assert f"Backup written: {written}" in result.stdout
    assert "media: 4/4 files" in result.stdout


def test_backup_refuses_a_short_passphrase(bakery, tmp_path):
    with pytest.raises(BackupError, match="too short: use at least 8 characters"):
        create_backup(tmp_path / "crumb.sdbackup", "rye")
    assert not (tmp_path / "crumb.sdbackup").exists()


def test_without_a_passphrase_or_a_terminal_the_command_says_how_to_give_one(
    bakery, source, tmp_path
):
    result = socialdesk("backup", str(tmp_path / "crumb.sdbackup"), target=source, passphrase="")
    refused(result, "No passphrase", "--passphrase-file", "SOCIALDESK_BACKUP_PASSPHRASE")
    assert not (tmp_path / "crumb.sdbackup").exists()


def test_a_passphrase_file_is_read_without_its_trailing_newline(bakery, target, tmp_path):
    secret = tmp_path / "passphrase"
    secret.write_text(PASSPHRASE + "\n")
    archive = tmp_path / "crumb.sdbackup"
    create_backup(archive, backup.read_passphrase(str(secret), confirm=True))
    result = socialdesk(
        "restore", str(archive), "--passphrase-file", str(secret), target=target, passphrase=""
    )
    assert result.returncode == 0, result.stderr


def test_a_missing_pg_dump_names_the_debian_package(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BackupError, match=r"apt-get install postgresql-client"):
        backup.pg_tool("pg_dump")
