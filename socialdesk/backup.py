"""Backups: one encrypted file holding the database, the media and the keys; and restoring it.

**The archive.** A plain header (a magic line, then one JSON line with the key derivation's
parameters, its random salt and a check token), followed by the encrypted body: an
uncompressed tar stream cut into 1 MiB chunks, each chunk one Fernet token preceded by its
length. Each chunk's plaintext starts with its index and a "last chunk" flag, so chunks that
were reordered, dropped, or cut off at the end are refused like altered ones. Inside the tar:

- ``backup.json`` first: format, Socialdesk version, ``created_at``, the database vendor, the
  migrations applied per app, and where the keys came from (data folder or environment);
- ``database/socialdesk.sqlite3`` (SQLite's online backup API) or
  ``database/socialdesk.pgdump`` (``pg_dump --format=custom``);
- ``keys/secret_key``, ``keys/encryption_key``: the data folder's generated key files;
- ``media/…``: every file under ``MEDIA_ROOT``;
- ``manifest.json`` last: ``backup.json``'s facts plus every file above with its size and
  SHA-256 (last, because the hashes are only known once the files are read).

**Why Fernet in chunks** rather than age (``pyrage``, on PyPI): ``cryptography`` is already
the project's dependency for credentials at rest, and pyrage's passphrase mode encrypts a
whole payload in memory (pyrage issue #172), which a backup with gigabytes of media cannot
afford. The key is derived with Scrypt (n=2^17, r=8, p=1: about 128 MiB and a fraction of a
second, per archive) over a random 16-byte salt kept in the header. Fernet's base64 costs a
third more bytes than the data; accepted for a primitive nobody has to review.

**Consistency while the product runs.** The database is copied first, in one read
transaction (SQLite's backup API in a single step, or ``pg_dump``'s snapshot), and the media
folder is listed after it: a media row in the copy had its file written before the row was
committed, so its file is in the archive. Files uploaded during the backup may come along
without their rows (harmless); a file deleted between the two steps is missing (accepted).

**Restore** refuses a target that is not empty (naming what is there), checks the passphrase
before anything else, extracts into a staging folder inside the data folder, checks every
file against the manifest, and only then writes the database, the media and the keys. A
backup from the other database vendor, or from a newer Socialdesk, is refused.
"""

from __future__ import annotations

import base64
import contextlib
import getpass
import hashlib
import io
import json
import os
import shutil
import sqlite3
import struct
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import IO, Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from django.conf import settings
from django.db import connection, connections

FORMAT = 1
MAGIC = b"SOCIALDESK-BACKUP\n"
CHUNK_BYTES = 1024 * 1024
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**17, 8, 1
MAX_SCRYPT_N = 2**20  # refuse a header asking for more (a damaged or hostile file)
CHECK_PLAINTEXT = b"socialdesk backup passphrase check"
MIN_PASSPHRASE = 8
PASSPHRASE_ENV = "SOCIALDESK_BACKUP_PASSPHRASE"  # noqa: S105 - a variable name
KEY_FILES = ("secret_key", "encryption_key")
SQLITE_MEMBER = "database/socialdesk.sqlite3"
POSTGRESQL_MEMBER = "database/socialdesk.pgdump"
_FRAME = struct.Struct(">I")  # length of the token that follows
_CHUNK_HEAD = struct.Struct(">QB")  # chunk index, 1 on the last chunk


class BackupError(Exception):
    """An operator-facing refusal or failure: the message says what is wrong and what to do."""


# --- Passphrase -----------------------------------------------------------------------------


def read_passphrase(passphrase_file: str | None, *, confirm: bool) -> str:
    """The passphrase from ``--passphrase-file``, else ``SOCIALDESK_BACKUP_PASSPHRASE``, else
    typed in a terminal (twice when ``confirm``). Without any of them: a BackupError."""
    if passphrase_file:
        try:
            text = Path(passphrase_file).read_text()
        except OSError as exc:
            raise BackupError(f"--passphrase-file {passphrase_file}: {exc.strerror}.") from None
        passphrase = text.rstrip("\r\n")
        if not passphrase:
            raise BackupError(f"--passphrase-file {passphrase_file} is empty.")
        return passphrase
    if passphrase := os.environ.get(PASSPHRASE_ENV, ""):
        return passphrase
    if not sys.stdin.isatty():
        raise BackupError(
            f"No passphrase: give --passphrase-file PATH, set {PASSPHRASE_ENV}, "
            "or run the command in a terminal to type it."
        )
    passphrase = getpass.getpass("Backup passphrase: ")
    if confirm and getpass.getpass("Same passphrase again: ") != passphrase:
        raise BackupError("The two passphrases differ; nothing was written.")
    return passphrase


def _fernet(passphrase: str, salt: bytes, n: int, r: int, p: int) -> Fernet:
    key = Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode())
    return Fernet(base64.urlsafe_b64encode(key))


# --- The encrypted stream -------------------------------------------------------------------


class EncryptingWriter:
    """A write-only file object: what is written comes out as the header and Fernet chunks."""

    def __init__(self, out: IO[bytes], passphrase: str) -> None:
        salt = os.urandom(16)
        self._fernet = _fernet(passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
        header = {
            "format": FORMAT,
            "kdf": "scrypt",
            "n": SCRYPT_N,
            "r": SCRYPT_R,
            "p": SCRYPT_P,
            "salt": base64.b64encode(salt).decode(),
            "check": self._fernet.encrypt(CHECK_PLAINTEXT).decode(),
        }
        self._out = out
        self._out.write(MAGIC + json.dumps(header).encode() + b"\n")
        self._buffer = bytearray()
        self._index = 0

    def write(self, data: bytes) -> int:
        self._buffer += data
        while len(self._buffer) > CHUNK_BYTES:
            self._emit(bytes(self._buffer[:CHUNK_BYTES]), last=False)
            del self._buffer[:CHUNK_BYTES]
        return len(data)

    def finish(self) -> None:
        """Write the last chunk (possibly empty); without it a reader says the file is cut."""
        self._emit(bytes(self._buffer), last=True)
        self._buffer.clear()

    def _emit(self, data: bytes, *, last: bool) -> None:
        token = self._fernet.encrypt(_CHUNK_HEAD.pack(self._index, int(last)) + data)
        self._out.write(_FRAME.pack(len(token)) + token)
        self._index += 1


class DecryptingReader:
    """A read-only file object over an archive: checks the passphrase on opening, then each
    chunk's authenticity, order and the presence of the last chunk."""

    def __init__(self, source: IO[bytes], passphrase: str) -> None:
        self._in = source
        if source.read(len(MAGIC)) != MAGIC:
            raise BackupError("This is not a Socialdesk backup (its first bytes do not match).")
        try:
            header = json.loads(source.readline(4096))
            n, r, p = int(header["n"]), int(header["r"]), int(header["p"])
            salt = base64.b64decode(header["salt"])
            check = str(header["check"]).encode()
            fmt = int(header["format"])
        except (ValueError, KeyError, TypeError):
            raise BackupError("The backup's header is damaged; it cannot be read.") from None
        if fmt > FORMAT:
            raise BackupError(
                f"This backup uses format {fmt}; this Socialdesk reads format {FORMAT} and "
                "older. Restore it with the newer Socialdesk that wrote it."
            )
        if not (2 <= n <= MAX_SCRYPT_N and 1 <= r <= 32 and 1 <= p <= 16):
            raise BackupError("The backup's header is damaged (impossible key parameters).")
        self._fernet = _fernet(passphrase, salt, n, r, p)
        try:
            ok = self._fernet.decrypt(check) == CHECK_PLAINTEXT
        except InvalidToken:
            ok = False
        if not ok:
            raise BackupError(
                "Wrong passphrase: it does not open this backup (or the backup's header is "
                "damaged). Nothing was restored."
            )
        self._buffer = b""
        self._index = 0
        self._done = False

    def read(self, size: int = -1) -> bytes:
        while not self._done and (size < 0 or len(self._buffer) < size):
            self._buffer += self._next_chunk()
        if size < 0:
            data, self._buffer = self._buffer, b""
        else:
            data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def drain(self) -> None:
        """Read to the end, so a cut-off or extended file is noticed after the tar's end."""
        while self.read(CHUNK_BYTES):
            pass
        if self._in.read(1):
            raise _altered("there are bytes after its last part")

    def _next_chunk(self) -> bytes:
        head = self._in.read(_FRAME.size)
        if len(head) < _FRAME.size:
            raise _altered("it ends before its last part: the file is cut off")
        (length,) = _FRAME.unpack(head)
        if length > 2 * CHUNK_BYTES:
            raise _altered(f"part {self._index + 1} has an impossible length")
        token = self._in.read(length)
        if len(token) < length:
            raise _altered("it ends in the middle of a part: the file is cut off")
        try:
            plain = self._fernet.decrypt(token)
        except InvalidToken:
            raise _altered(f"part {self._index + 1} does not authenticate") from None
        index, last = _CHUNK_HEAD.unpack_from(plain)
        if index != self._index:
            raise _altered(f"part {self._index + 1} is out of order")
        self._index += 1
        self._done = bool(last)
        return plain[_CHUNK_HEAD.size :]


def _altered(why: str) -> BackupError:
    return BackupError(f"The backup is damaged or was altered ({why}); nothing was restored.")


# --- Progress -------------------------------------------------------------------------------


class Progress:
    """Lines for the operator: a step, or a count repeated at most once a second."""

    def __init__(self, say: Callable[[str], None] | None = None) -> None:
        self._say = say or (lambda line: None)
        self._last = 0.0

    def step(self, line: str) -> None:
        self._say(line)

    def count(self, what: str, done: int, total: int | None, nbytes: int) -> None:
        now = time.monotonic()
        if done == total or now - self._last >= 1.0:
            self._last = now
            counted = f"{done}/{total}" if total is not None else str(done)
            self._say(f"  {what}: {counted} files ({_size(nbytes)})")


def _size(nbytes: int) -> str:
    value = float(nbytes)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{nbytes} B"


# --- Backup ---------------------------------------------------------------------------------


@dataclass
class BackupResult:
    path: Path
    size: int
    files: int
    media_files: int
    keys: dict[str, str]


class _Hashing:
    """A reader that counts and hashes what passes through it."""

    def __init__(self, source: IO[bytes]) -> None:
        self.source = source
        self.sha256 = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        data = self.source.read(size)
        self.sha256.update(data)
        self.size += len(data)
        return data


def create_backup(
    destination: Path, passphrase: str, progress: Progress | None = None
) -> BackupResult:
    """Write one encrypted archive of the database, the media and the keys to ``destination``
    (a new file; a folder gets a dated file inside it). Never overwrites a file; a failed
    backup leaves nothing behind but its message."""
    progress = progress or Progress()
    if len(passphrase) < MIN_PASSPHRASE:
        raise BackupError(f"The passphrase is too short: use at least {MIN_PASSPHRASE} characters.")
    destination = _destination(destination)
    vendor = connection.vendor
    if vendor not in ("sqlite", "postgresql"):
        raise BackupError(f"Backups support SQLite and PostgreSQL, not {vendor}.")
    partial = destination.with_name(f".{destination.name}.partial")
    with tempfile.TemporaryDirectory(prefix=".socialdesk-backup-", dir=destination.parent) as work:
        progress.step(f"Copying the {vendor} database…")
        if vendor == "sqlite":
            database = Path(work) / "socialdesk.sqlite3"
            _snapshot_sqlite(Path(connection.settings_dict["NAME"]), database)
            migrations = _applied_migrations_in(database)
            member = SQLITE_MEMBER
        else:
            # Read just before the dump; a migration run in between would be noticed by the
            # restore's own migration check.
            migrations = _applied_migrations()
            database = Path(work) / "socialdesk.pgdump"
            _dump_postgresql(connection.settings_dict, database)
            member = POSTGRESQL_MEMBER
        progress.step(f"  database: {_size(database.stat().st_size)}")
        keys = _key_sources()
        about = {
            "format": FORMAT,
            "socialdesk_version": _version(),
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "database_vendor": vendor,
            "migrations": migrations,
            "keys": keys,
        }
        media_root = Path(settings.MEDIA_ROOT)
        media = sorted(_media_files(media_root))  # listed after the database copy: see above
        files: list[dict[str, Any]] = []
        try:
            with open(partial, "xb") as out:
                writer = EncryptingWriter(out, passphrase)
                with tarfile.open(fileobj=writer, mode="w|", format=tarfile.PAX_FORMAT) as tar:  # type: ignore[call-overload]
                    _add_bytes(tar, "backup.json", _json(about), files)
                    _add_file(tar, member, database, files)
                    for name in KEY_FILES:
                        path = Path(settings.DATA_DIR) / name
                        if path.is_file():
                            _add_file(tar, f"keys/{name}", path, files)
                    progress.step(f"Adding {len(media)} media files…")
                    done_bytes = 0
                    for done, path in enumerate(media, start=1):
                        relative = path.relative_to(media_root).as_posix()
                        done_bytes += _add_file(tar, f"media/{relative}", path, files)
                        progress.count("media", done, len(media), done_bytes)
                    _add_bytes(tar, "manifest.json", _json({**about, "files": files}), None)
                writer.finish()
                out.flush()
                os.fsync(out.fileno())
            os.link(partial, destination)  # fails if someone created it meanwhile: no overwrite
        except FileExistsError:
            raise BackupError(f"{destination} already exists; nothing was overwritten.") from None
        except OSError as exc:
            raise BackupError(f"Could not write the backup: {exc}") from None
        finally:
            partial.unlink(missing_ok=True)
    return BackupResult(
        path=destination,
        size=destination.stat().st_size,
        files=len(files),
        media_files=len(media),
        keys=keys,
    )


def _destination(path: Path) -> Path:
    path = path.expanduser()
    if path.is_dir():
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        path = path / f"socialdesk-{stamp}.sdbackup"
    if path.exists():
        raise BackupError(f"{path} already exists; choose a new name (nothing is overwritten).")
    if not path.parent.is_dir():
        raise BackupError(f"The folder {path.parent} does not exist; create it first.")
    return path.resolve()


def _snapshot_sqlite(source: Path, target: Path) -> None:
    """Copy a live WAL database with SQLite's online backup API, in a single step: one read
    transaction, so the copy is one consistent moment while writers go on in the WAL. (Stepping
    page by page would restart on every write and might never finish on a busy database.)"""
    if not source.is_file():
        raise BackupError(f"The SQLite database {source} does not exist.")
    live = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    copy = sqlite3.connect(target)
    try:
        live.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file in the archive
        verdict = copy.execute("PRAGMA integrity_check").fetchone()[0]
    except sqlite3.Error as exc:
        raise BackupError(f"Could not copy the SQLite database {source}: {exc}") from None
    finally:
        copy.close()
        live.close()
    if verdict != "ok":
        raise BackupError(f"The copy of {source} fails SQLite's integrity check: {verdict}")


def _pg_environment(database: dict[str, Any]) -> dict[str, str]:
    env = dict(os.environ)
    pairs = {
        "PGHOST": database.get("HOST"),
        "PGPORT": database.get("PORT"),
        "PGUSER": database.get("USER"),
        "PGPASSWORD": database.get("PASSWORD"),
        "PGSSLMODE": (database.get("OPTIONS") or {}).get("sslmode"),
    }
    env.update({key: str(value) for key, value in pairs.items() if value})
    return env


def pg_tool(name: str) -> str:
    """The path of ``pg_dump``/``pg_restore``, or a BackupError naming the package to install."""
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} was not found on PATH; it comes with PostgreSQL's client tools. "
            "Install them (Debian/Ubuntu: apt-get install postgresql-client) and try again."
        )
    return found


def _dump_postgresql(database: dict[str, Any], target: Path) -> None:
    command = [
        pg_tool("pg_dump"),
        "--format=custom",
        "--no-owner",
        "--no-privileges",
        f"--file={target}",
        f"--dbname={database['NAME']}",
    ]
    result = subprocess.run(  # noqa: S603 - fixed arguments, no shell
        command, env=_pg_environment(database), capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise BackupError(f"pg_dump failed: {result.stderr.strip() or result.returncode}")


def _applied_migrations() -> dict[str, list[str]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT app, name FROM django_migrations")
        return _by_app(cursor.fetchall())


def _applied_migrations_in(sqlite_file: Path) -> dict[str, list[str]]:
    with sqlite3.connect(sqlite_file) as copy:
        rows = copy.execute("SELECT app, name FROM django_migrations").fetchall()
    copy.close()
    return _by_app(rows)


def _by_app(rows: list[tuple[str, str]]) -> dict[str, list[str]]:
    applied: dict[str, list[str]] = {}
    for app, name in sorted(rows):
        applied.setdefault(app, []).append(name)
    return applied


def _key_sources() -> dict[str, str]:
    """Whether the keys in use are the data folder's files or came from the environment."""
    folder = Path(settings.DATA_DIR)

    def from_file(name: str, in_use: list[str]) -> str:
        path = folder / name
        if path.is_file() and [path.read_text().strip()] == in_use:
            return "data folder"
        return "environment"

    return {
        "secret_key": from_file("secret_key", [settings.SECRET_KEY]),
        "encryption_keys": from_file("encryption_key", list(settings.ENCRYPTION_KEYS)),
    }


def _media_files(root: Path) -> Iterator[Path]:
    if not root.is_dir():
        return
    for folder, _dirs, names in os.walk(root):
        for name in names:
            path = Path(folder) / name
            if path.is_file() and not path.is_symlink():
                yield path


def _version() -> str:
    try:
        return metadata.version("socialdesk")
    except metadata.PackageNotFoundError:
        return "unknown"


def _json(value: Any) -> bytes:
    return json.dumps(value, indent=2, sort_keys=True).encode()


def _add_bytes(
    tar: tarfile.TarFile, name: str, data: bytes, files: list[dict[str, Any]] | None
) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(time.time())
    info.mode = 0o600
    tar.addfile(info, io.BytesIO(data))
    if files is not None:
        files.append({"path": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()})


def _add_file(tar: tarfile.TarFile, name: str, path: Path, files: list[dict[str, Any]]) -> int:
    """Add ``path`` as ``name``, hashing it on the way; returns its size."""
    with open(path, "rb") as handle:
        stat = os.fstat(handle.fileno())
        info = tarfile.TarInfo(name)
        info.size = stat.st_size
        info.mtime = int(stat.st_mtime)
        info.mode = 0o600 if name.startswith("keys/") else 0o644
        reader = _Hashing(handle)
        try:
            tar.addfile(info, reader)  # type: ignore[arg-type]
        except OSError as exc:  # the file shrank while it was read
            raise BackupError(
                f"{path} changed while it was read ({exc}); run the backup again."
            ) from None
    files.append({"path": name, "size": reader.size, "sha256": reader.sha256.hexdigest()})
    return reader.size


# --- Restore --------------------------------------------------------------------------------


@dataclass
class RestoreResult:
    about: dict[str, Any]
    files: int
    media_files: int
    migrated: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def restore_backup(
    source: Path, passphrase: str, progress: Progress | None = None
) -> RestoreResult:
    """Bring a backup back into this installation's data folder and database, both empty.

    Guarantees: nothing is written before the target is found empty, the passphrase opens
    the archive and every file matches the manifest; an existing file or table is never
    overwritten (the only files replaced are key files this very process generated on
    start-up). On PostgreSQL the dump is restored in one transaction.
    """
    progress = progress or Progress()
    source = source.expanduser()
    if not source.is_file():
        raise BackupError(f"{source} is not a file.")
    _refuse_non_empty_data_folder()
    data_dir = Path(settings.DATA_DIR)
    staging = Path(tempfile.mkdtemp(prefix=".restore-", dir=data_dir))
    try:
        with open(source, "rb") as handle:
            progress.step("Checking the passphrase…")
            reader = DecryptingReader(handle, passphrase)
            progress.step("Reading and checking the archive…")
            about, manifest, found = _extract(reader, staging, progress)
        progress.count("checked", len(found), len(found), sum(s for s, _ in found.values()))
        _check_manifest(about, manifest, found)
        result = RestoreResult(about=about, files=len(found), media_files=0)
        progress.step("Restoring the database…")
        _restore_database(about, staging)
        result.media_files = _restore_media(staging)
        _restore_keys(staging, about, result)
        result.migrated = _migrate()
        result.warnings += _credentials_warnings()
        return result
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _refuse_non_empty_data_folder() -> None:
    """Name everything that makes the data folder not empty, or return."""
    problems: list[str] = []
    media_root = Path(settings.MEDIA_ROOT)
    media = next(_media_files(media_root), None)
    if media is not None:
        problems.append(f"the media folder {media_root} holds files (such as {media.name})")
    fresh = {Path(p).resolve() for p in getattr(settings, "GENERATED_KEY_FILES", [])}
    for name in KEY_FILES:
        path = (Path(settings.DATA_DIR) / name).resolve()
        if path.exists() and path not in fresh:
            problems.append(f"the key file {path} exists")
    if problems:
        # Name the database too when it can be asked (its own check comes later otherwise).
        with contextlib.suppress(Exception):
            if tables := connection.introspection.table_names():
                problems.append(_tables_problem(tables))
        raise _not_empty(problems)


def _refuse_non_empty_database() -> None:
    try:
        tables = connection.introspection.table_names()
    except Exception as exc:  # any driver's "cannot connect" is the operator's to fix
        raise BackupError(
            f"Cannot open the target database ({connection.vendor}): {exc}".strip()
            + " — check DATABASE_URL; on PostgreSQL create the empty database first "
            "(createdb NAME)."
        ) from None
    if tables:
        raise _not_empty([_tables_problem(tables)])


def _tables_problem(tables: list[str]) -> str:
    shown = ", ".join(sorted(tables)[:3]) + (", …" if len(tables) > 3 else "")
    return f"the database {connection.settings_dict['NAME']} has {len(tables)} tables ({shown})"


def _not_empty(problems: list[str]) -> BackupError:
    return BackupError(
        "Restore needs an empty data folder and an empty database, and never overwrites: "
        + "; ".join(problems)
        + ". Point SOCIALDESK_DATA_DIR and DATABASE_URL at empty ones."
    )


_ALLOWED_TOP = {"backup.json", "manifest.json"}


def _safe_name(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    parts = path.parts
    if (
        path.is_absolute()
        or not parts
        or any(part in ("", ".", "..") for part in parts)
        or not (
            name in _ALLOWED_TOP
            or name in (SQLITE_MEMBER, POSTGRESQL_MEMBER)
            or (parts[0] == "keys" and len(parts) == 2 and parts[1] in KEY_FILES)
            or (parts[0] == "media" and len(parts) >= 2)
        )
    ):
        raise _altered(f"it holds an unexpected entry {name!r}")
    return path


def _extract(
    reader: DecryptingReader, staging: Path, progress: Progress
) -> tuple[dict[str, Any], dict[str, Any], dict[str, tuple[int, str]]]:
    """Unpack into ``staging``, hashing every file. Refuses the other vendor's backup, and a
    newer Socialdesk's, as soon as ``backup.json`` (the first entry) is read."""
    found: dict[str, tuple[int, str]] = {}
    about: dict[str, Any] | None = None
    manifest: dict[str, Any] | None = None
    total = 0
    try:
        with tarfile.open(fileobj=reader, mode="r|") as tar:  # type: ignore[call-overload]
            for member in tar:
                if not member.isfile():
                    raise _altered(f"it holds an unexpected entry {member.name!r}")
                name = member.name
                relative = _safe_name(name)
                if name in found or (name == "manifest.json" and manifest is not None):
                    raise _altered(f"{name} appears twice")
                if about is None and name != "backup.json":
                    raise _altered("it does not start with backup.json")
                stream = tar.extractfile(member)
                assert stream is not None  # a regular file always has one
                if name == "manifest.json":
                    manifest = _load_json(stream.read(), name)
                    continue
                target = staging.joinpath(*relative.parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                digest = hashlib.sha256()
                size = 0
                with open(target, "xb") as out:
                    while block := stream.read(CHUNK_BYTES):
                        digest.update(block)
                        size += len(block)
                        out.write(block)
                found[name] = (size, digest.hexdigest())
                total += size
                if name == "backup.json":
                    about = _load_json(target.read_bytes(), name)
                    _refuse_incompatible(about)
                    _refuse_non_empty_database()
                progress.count("checked", len(found), None, total)
    except tarfile.TarError as exc:
        raise _altered(f"its contents are not a readable archive: {exc}") from None
    reader.drain()
    if about is None or manifest is None:
        raise _altered("backup.json or manifest.json is missing")
    return about, manifest, found


def _load_json(data: bytes, name: str) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except ValueError:
        raise _altered(f"{name} is not JSON") from None
    if not isinstance(value, dict):
        raise _altered(f"{name} is not a JSON object")
    return value


def _refuse_incompatible(about: dict[str, Any]) -> None:
    vendor = about.get("database_vendor")
    here = connection.vendor
    if vendor != here:
        names = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
        raise BackupError(
            f"This backup holds a {names.get(str(vendor), vendor)} database and this "
            f"installation uses {names.get(here, here)}; a backup restores only into the same "
            "kind of database. Set DATABASE_URL accordingly (empty for SQLite in the data "
            "folder), restore, and move the data with Django's dumpdata/loaddata if needed."
        )
    unknown = _unknown_migrations(about.get("migrations") or {})
    if unknown:
        raise BackupError(
            "This backup comes from a newer Socialdesk: its database has migrations this "
            f"version does not know ({', '.join(unknown[:3])}"
            f"{', …' if len(unknown) > 3 else ''}). Upgrade Socialdesk, then restore."
        )


def _unknown_migrations(applied: dict[str, list[str]]) -> list[str]:
    from django.db.migrations.loader import MigrationLoader

    known = set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)
    return [
        f"{app}.{name}"
        for app, names in sorted(applied.items())
        for name in names
        if (app, name) not in known
    ]


def _check_manifest(
    about: dict[str, Any], manifest: dict[str, Any], found: dict[str, tuple[int, str]]
) -> None:
    listed = manifest.get("files")
    if not isinstance(listed, list):
        raise _altered("its manifest has no file list")
    if {k: v for k, v in manifest.items() if k != "files"} != about:
        raise _altered("manifest.json and backup.json disagree")
    expected = {str(entry.get("path")): entry for entry in listed if isinstance(entry, dict)}
    for name, entry in expected.items():
        if name not in found:
            raise _altered(f"{name} is listed in the manifest but missing")
        size, sha256 = found[name]
        if size != entry.get("size") or sha256 != entry.get("sha256"):
            raise _altered(f"{name} does not match its size and SHA-256 in the manifest")
    extra = sorted(set(found) - set(expected))
    if extra:
        raise _altered(f"{extra[0]} is not listed in the manifest")


def _restore_database(about: dict[str, Any], staging: Path) -> None:
    if about["database_vendor"] == "sqlite":
        target = Path(connection.settings_dict["NAME"])
        connections.close_all()
        # The empty file our own emptiness check may have created, with its WAL companions.
        for suffix in ("-wal", "-shm", "-journal", ""):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        incoming = target.with_name(f".{target.name}.restoring")
        shutil.copyfile(staging / SQLITE_MEMBER, incoming)
        os.replace(incoming, target)
        return
    database = connection.settings_dict
    connections.close_all()
    command = [
        pg_tool("pg_restore"),
        "--no-owner",
        "--no-privileges",
        "--single-transaction",
        "--exit-on-error",
        f"--dbname={database['NAME']}",
        str(staging / POSTGRESQL_MEMBER),
    ]
    result = subprocess.run(  # noqa: S603 - fixed arguments, no shell
        command, env=_pg_environment(database), capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise BackupError(
            f"pg_restore failed, and rolled back (the database is still empty): "
            f"{result.stderr.strip() or result.returncode}"
        )


def _restore_media(staging: Path) -> int:
    incoming = staging / "media"
    if not incoming.is_dir():
        return 0
    count = sum(1 for _ in _media_files(incoming))
    media_root = Path(settings.MEDIA_ROOT)
    if media_root.is_dir():
        # Empty (checked before), perhaps with empty sub-folders: merge into it.
        for item in incoming.iterdir():
            shutil.move(str(item), str(media_root / item.name))
    else:
        media_root.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(incoming), str(media_root))
    return count


def _restore_keys(staging: Path, about: dict[str, Any], result: RestoreResult) -> None:
    """Write the archive's key files, and use them in this process too (the migrations that
    follow may read credentials); say when the environment's keys will win over them."""
    data_dir = Path(settings.DATA_DIR)
    for name in KEY_FILES:
        incoming = staging / "keys" / name
        if not incoming.is_file():
            continue
        # A key file still here was generated by this very process (the emptiness check
        # refused any other), so it protects nothing yet and is replaced.
        target = data_dir / name
        value = incoming.read_text().strip()
        temporary = data_dir / f".{name}.restoring"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(value)
        os.replace(temporary, target)
        if name == "secret_key":
            if _env_has("SECRET_KEY"):
                result.warnings.append(
                    "SECRET_KEY is set in the environment and wins over the restored "
                    "secret_key file; sessions and signed links from before the backup only "
                    "work with the old secret."
                )
            else:
                settings.SECRET_KEY = value
        if name == "encryption_key":
            if _env_has("ENCRYPTION_KEYS"):
                result.warnings.append(
                    "ENCRYPTION_KEYS is set in the environment and wins over the restored "
                    "encryption_key file; add the restored key to ENCRYPTION_KEYS if channel "
                    "credentials do not decrypt."
                )
            else:
                settings.ENCRYPTION_KEYS = [value]
    for key, source in (about.get("keys") or {}).items():
        if source == "environment":
            variable = "SECRET_KEY" if key == "secret_key" else "ENCRYPTION_KEYS"
            result.warnings.append(
                f"The backed-up installation took {variable} from its environment, so it is "
                f"not in the backup: set the same {variable} here."
            )


def _env_has(name: str) -> bool:
    return bool(os.environ.get(name) or os.environ.get(f"{name}_FILE"))


def _migrate() -> list[str]:
    """Apply the migrations this version has and the backup had not; returns their names."""
    from django.core.management import call_command

    from socialdesk.health import pending_migrations

    connections.close_all()
    pending = pending_migrations()
    if pending:
        call_command("migrate", interactive=False, verbosity=0)
    return pending


def _credentials_warnings() -> list[str]:
    """One warning when stored credentials do not decrypt with the keys now configured."""
    from socialdesk.crypto import CredentialsUnreadable, decrypt_json
    from socialdesk.networks.models import Channel, MastodonApp

    unreadable = 0
    for model in (Channel, MastodonApp):
        for token in model.objects.exclude(credentials_encrypted="").values_list(
            "credentials_encrypted", flat=True
        ):
            try:
                decrypt_json(token)
            except CredentialsUnreadable:
                unreadable += 1
    if not unreadable:
        return []
    return [
        f"{unreadable} stored credentials do not decrypt with the configured keys: set "
        "ENCRYPTION_KEYS to the key of the backed-up installation, or reconnect those channels."
    ]
