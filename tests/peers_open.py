"""Real Matrix, Nostr and WordPress servers on 127.0.0.1 for the connector tests.

Installed once by ``peers/open/install.sh`` (Synapse and nostr-relay each in a venv of its own
under ``~/.cache/socialdesk/peers``; Debian's wordpress, php-cli, php-mysql and mariadb-server)
and started here on free ports with their data in a temporary folder, stopped at the end.
A test module imports the one fixture it needs (``matrix_server``, ``nostr_relay``,
``wordpress_site``); each is module-scoped, so a server starts once for its module. A server
that cannot be installed or started fails the test with the commands that do it by hand.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
INSTALL = ROOT / "peers" / "open" / "install.sh"
WORDPRESS = ROOT / "peers" / "wordpress"
CACHE = Path(os.environ.get("SOCIALDESK_PEERS_CACHE", Path.home() / ".cache/socialdesk/peers"))
INSTALL_TIMEOUT = 900
READY_TIMEOUT = 90


def _how_to(what: str) -> str:
    return (
        f"Install it with `bash peers/open/install.sh {what}` (or `bash "
        "scripts/ensure-services.sh`), then run the test again; tests/peers_open.py shows how "
        "the server is started."
    )


def install(what: str) -> Path:
    """The folder ``peers/open/install.sh`` installed ``what`` into (installing it first)."""
    try:
        done = subprocess.run(
            ["bash", str(INSTALL), what],
            check=True,
            capture_output=True,
            timeout=INSTALL_TIMEOUT,
            text=True,
        )
    except subprocess.CalledProcessError as error:
        pytest.fail(
            f"Installing {what} failed:\n{error.stderr[-3000:]}\n{_how_to(what)}", pytrace=False
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"Installing {what} took over {INSTALL_TIMEOUT} s. {_how_to(what)}")
    line = [ln for ln in done.stdout.splitlines() if ln.startswith(f"{what}=")][-1]
    return Path(line.split("=", 1)[1])


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def stop(process: subprocess.Popen[bytes], polite: float = 3.0) -> None:
    """Stop a server's process group: SIGTERM, then SIGKILL (nostr-relay takes ~30 s to exit
    politely; its data is thrown away anyway)."""
    if process.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, polite), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def start(
    command: list[str], log: Path, ready: str, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start ``command`` in its own process group and wait until ``ready`` (a URL) answers."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        try:
            if httpx.get(ready, timeout=1.0, trust_env=False).status_code < 500:
                return process
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            stop(process)
            why = "exited" if process.poll() is not None else f"not ready in {READY_TIMEOUT} s"
            raise RuntimeError(f"{command[0]} {why}. Its last lines:\n{_tail(log)}")
        time.sleep(0.1)


# -- Matrix (Synapse) ---------------------------------------------------------------------------


@dataclass
class MatrixUser:
    user_id: str
    password: str
    access_token: str


class MatrixServer:
    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, trust_env=False, timeout=30)

    def register(self, name: str = "user") -> MatrixUser:
        """A new account (the test homeserver allows open registration on loopback)."""
        username = f"{name}{secrets.token_hex(3)}"
        password = secrets.token_urlsafe(12)
        answer = self.http.post(
            "/_matrix/client/v3/register",
            json={"username": username, "password": password, "auth": {"type": "m.login.dummy"}},
        )
        answer.raise_for_status()
        body = answer.json()
        return MatrixUser(body["user_id"], password, body["access_token"])

    def call(self, user: MatrixUser, method: str, path: str, **kwargs: object) -> dict:
        answer = self.http.request(
            method, path, headers={"Authorization": f"Bearer {user.access_token}"}, **kwargs
        )  # type: ignore[arg-type]
        answer.raise_for_status()
        return answer.json()


SYNAPSE_CONFIG = """\
server_name: localhost
pid_file: {data}/homeserver.pid
signing_key_path: {data}/signing.key
report_stats: false
listeners:
  - port: {port}
    bind_addresses: ['127.0.0.1']
    type: http
    tls: false
    resources:
      - names: [client]
        compress: false
database:
  name: sqlite3
  args:
    database: {data}/homeserver.db
media_store_path: {data}/media
trusted_key_servers: []
suppress_key_server_warning: true
federation_domain_whitelist: []
presence:
  enabled: false
enable_registration: true
enable_registration_without_verification: true
url_preview_enabled: false
bcrypt_rounds: 4
macaroon_secret_key: "{secret}"
form_secret: "{secret}"
rc_message: {{per_second: 1000, burst_count: 1000}}
rc_registration: {{per_second: 1000, burst_count: 1000}}
rc_login:
  address: {{per_second: 1000, burst_count: 1000}}
  account: {{per_second: 1000, burst_count: 1000}}
  failed_attempts: {{per_second: 1000, burst_count: 1000}}
rc_joins:
  local: {{per_second: 1000, burst_count: 1000}}
"""


def _synapse_template(venv: Path) -> Path:
    """A signing key and a homeserver database with Synapse's schema made, once per Synapse
    venv: a session copies them instead of creating the schema (seconds on this machine)."""
    template = CACHE / f"{venv.name}-template"
    if (template / ".complete").exists():
        return template
    with (CACHE / ".synapse-template.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (template / ".complete").exists():
            return template
        shutil.rmtree(template, ignore_errors=True)
        template.mkdir(parents=True)
        subprocess.run(
            [str(venv / "bin" / "generate_signing_key"), "-o", str(template / "signing.key")],
            check=True,
            capture_output=True,
        )
        process = _start_synapse(venv, template, free_port())
        stop(process, polite=30)
        for extra in ("homeserver.yaml", "homeserver.pid", "synapse.log", "media"):
            shutil.rmtree(template / extra, ignore_errors=True)
            (template / extra).unlink(missing_ok=True)
        (template / ".complete").touch()
    return template


def _start_synapse(venv: Path, data: Path, port: int) -> subprocess.Popen[bytes]:
    (data / "homeserver.yaml").write_text(
        SYNAPSE_CONFIG.format(data=data, port=port, secret=secrets.token_hex(16))
    )
    return start(
        [
            str(venv / "bin" / "python"),
            "-m",
            "synapse.app.homeserver",
            "-c",
            str(data / "homeserver.yaml"),
        ],
        data / "synapse.log",
        f"http://127.0.0.1:{port}/health",
    )


@pytest.fixture(scope="module")
def matrix_server() -> Iterator[MatrixServer]:
    venv = install("matrix")
    data = Path(tempfile.mkdtemp(prefix="socialdesk-synapse-"))
    port = free_port()
    process = None
    try:
        template = _synapse_template(venv)
        for name in ("signing.key", "homeserver.db"):
            shutil.copy(template / name, data / name)
        process = _start_synapse(venv, data, port)
        yield MatrixServer(f"http://127.0.0.1:{port}")
    except (RuntimeError, OSError, subprocess.CalledProcessError) as error:
        pytest.fail(f"Synapse could not start: {error}\n{_how_to('matrix')}", pytrace=False)
    finally:
        if process is not None:
            stop(process)
        shutil.rmtree(data, ignore_errors=True)


# -- Nostr (nostr-relay) ------------------------------------------------------------------------

RELAY_CONFIG = """\
DEBUG: false
relay_name: socialdesk test relay
storage:
  sqlalchemy.url: sqlite+aiosqlite:///{data}/nostr.sqlite3
  num_concurrent_reqs: 10
  num_concurrent_adds: 2
  validators:
    - nostr_relay.validators.is_not_too_large
    - nostr_relay.validators.is_signed
    - nostr_relay.validators.is_recent
    - nostr_relay.validators.is_not_hellthread
verification:
  nip05_verification: disabled
gunicorn:
  bind: 127.0.0.1:{port}
  workers: 1
  loglevel: warning
  reload: false
authentication:
  enabled: false
message_timeout: 1800
subscription_limit: 32
max_limit: 6000
hellthread_limit: 100
"""


@pytest.fixture(scope="module")
def nostr_relay() -> Iterator[str]:
    """The relay's ws:// address."""
    venv = install("nostr")
    data = Path(tempfile.mkdtemp(prefix="socialdesk-nostr-"))
    port = free_port()
    (data / "config.yaml").write_text(RELAY_CONFIG.format(data=data, port=port))
    process = None
    try:
        process = start(
            [str(venv / "bin" / "nostr-relay"), "-c", str(data / "config.yaml"), "serve"],
            data / "relay.log",
            f"http://127.0.0.1:{port}/",
        )
        yield f"ws://127.0.0.1:{port}"
    except RuntimeError as error:
        pytest.fail(f"nostr-relay could not start: {error}\n{_how_to('nostr')}", pytrace=False)
    finally:
        if process is not None:
            stop(process, polite=0.5)
        shutil.rmtree(data, ignore_errors=True)


# -- WordPress (Debian's package, PHP's built-in server, MariaDB) -------------------------------


@dataclass
class WordPressSite:
    url: str
    username: str
    password: str
    app_password: str

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, auth=(self.username, self.app_password), trust_env=False, timeout=30
        )


def _versions(*packages: str) -> str:
    done = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version} ", *packages], capture_output=True, text=True
    )
    return "-".join(v.split(":")[-1] for v in done.stdout.split()) or "unknown"


def _wordpress_template(cache: Path) -> Path:
    """A MariaDB data folder with WordPress installed in it (an administrator and an
    Application Password, in ``credentials``), made once per package versions: a session
    copies it instead of installing (~10 s saved on this machine)."""
    template = cache / f"wordpress-db-{_versions('wordpress', 'mariadb-server')}"
    if (template / ".complete").exists():
        return template
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / ".wordpress-template.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (template / ".complete").exists():
            return template
        shutil.rmtree(template, ignore_errors=True)
        template.mkdir(parents=True)
        port = free_port()
        subprocess.run(
            [
                "mariadb-install-db",
                "--no-defaults",
                f"--datadir={template / 'db'}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                "--innodb-log-file-size=8M",
            ],
            check=True,
            capture_output=True,
        )
        database = _start_mariadb(template / "db", port)
        try:
            subprocess.run(
                [
                    "mariadb",
                    "--no-defaults",
                    "-h127.0.0.1",
                    f"-P{port}",
                    "-uroot",
                    "-e",
                    "CREATE DATABASE wordpress",
                ],
                check=True,
                capture_output=True,
            )
            password = secrets.token_urlsafe(12)
            env = {
                **os.environ,
                "SOCIALDESK_WP_DB_NAME": "wordpress",
                "SOCIALDESK_WP_DB_PORT": str(port),
                "SOCIALDESK_WP_URL": "http://127.0.0.1",
                "SOCIALDESK_WP_CONTENT_DIR": str(template / "content"),
            }
            installed = subprocess.run(
                ["php", str(WORDPRESS / "install.php"), "editor", password],
                check=True,
                capture_output=True,
                text=True,
                env=env,
            )
            app_password = installed.stdout.strip().splitlines()[-1]
        finally:
            stop(database, polite=30)  # a clean shutdown: the copy must start without recovery
        (template / "credentials").write_text(f"editor\n{password}\n{app_password}\n")
        (template / ".complete").touch()
    return template


@pytest.fixture(scope="module")
def wordpress_site() -> Iterator[WordPressSite]:
    install("wordpress")
    data = Path(tempfile.mkdtemp(prefix="socialdesk-wordpress-"))
    database, web = None, None
    db_port, web_port = free_port(), free_port()
    url = f"http://127.0.0.1:{web_port}"
    env = {
        "SOCIALDESK_WP_DB_NAME": "wordpress",
        "SOCIALDESK_WP_DB_PORT": str(db_port),
        "SOCIALDESK_WP_URL": url,
        "SOCIALDESK_WP_CONTENT_DIR": str(data / "content"),
    }
    (data / "content" / "uploads").mkdir(parents=True)
    try:
        template = _wordpress_template(CACHE)
        shutil.copytree(template / "db", data / "db")
        username, password, app_password = (template / "credentials").read_text().split()[:3]
        database = _start_mariadb(data / "db", db_port)
        web = start(
            [
                "php",
                "-S",
                f"127.0.0.1:{web_port}",
                "-t",
                "/usr/share/wordpress",
                str(WORDPRESS / "router.php"),
            ],
            data / "php.log",
            f"{url}/wp-includes/images/blank.gif",
            env,
        )
        yield WordPressSite(url, username, password, app_password)
    except (RuntimeError, OSError, subprocess.CalledProcessError) as error:
        said = getattr(error, "stderr", "") or ""
        pytest.fail(
            f"WordPress could not start: {error}\n{str(said)[-2000:]}\n{_how_to('wordpress')}",
            pytrace=False,
        )
    finally:
        for process in (web, database):
            if process is not None:
                stop(process)
        shutil.rmtree(data, ignore_errors=True)


def _start_mariadb(datadir: Path, port: int) -> subprocess.Popen[bytes]:
    data = datadir.parent
    log = data / "mariadb.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                "mariadbd",
                "--no-defaults",
                f"--datadir={datadir}",
                f"--port={port}",
                "--bind-address=127.0.0.1",
                f"--socket={data / 'mariadb.sock'}",
                f"--pid-file={data / 'mariadb.pid'}",
                "--skip-log-bin",
                "--skip-name-resolve",
                "--innodb-buffer-pool-size=16M",
                "--innodb-log-file-size=8M",
                "--user=root",
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return process
        if process.poll() is not None or time.monotonic() > deadline:
            stop(process)
            raise RuntimeError(f"mariadbd did not start. Its last lines:\n{_tail(log)}")
        time.sleep(0.1)
