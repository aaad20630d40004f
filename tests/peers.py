"""Real servers of other networks, started once per test session (a pytest plugin).

``bluesky_server``: a complete local Bluesky network (PLC directory, PDS, AppView) from
``@atproto/dev-env``, built once by ``peers/bluesky/install.sh`` into a cache folder outside the
clone and started by ``peers/bluesky/start.sh`` on 127.0.0.1. It needs PostgreSQL (a database
of its own, ``bsky_devnet``) and Redis on this machine, like the rest of the suite.

Environment:
  SOCIALDESK_BLUESKY_PDS_PORT  the PDS port (it also takes the port below it and the ones 1 and
                               4 above); the tests fail if they are taken. Unset, the first free
                               block of 2683, 2693, ... 2753 is used, so two suites can run on
                               one machine at once.
  SOCIALDESK_BLUESKY_DB_URL    the PostgreSQL database the network owns (default
                               postgres://postgres@127.0.0.1:5432/bsky_devnet).

If the network cannot be built or started, the tests that use it fail (never skip) with the
commands that do it by hand.
"""

from __future__ import annotations

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

import pytest
from atproto import Client, models

ROOT = Path(__file__).resolve().parent.parent
BLUESKY = ROOT / "peers" / "bluesky"
INSTALL_TIMEOUT = 900  # seconds; the first build takes 2-3 minutes
READY_TIMEOUT = 120
HOW_TO = (
    "Build it with `bash peers/bluesky/install.sh`, then try it by hand with "
    "`bash peers/bluesky/start.sh` (it prints READY when up). It needs PostgreSQL on "
    "127.0.0.1:5432 (`bash scripts/ensure-services.sh` starts it) and Redis on 127.0.0.1:6379 "
    "(`redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no`)."
)


@dataclass(frozen=True)
class BlueskyAccount:
    handle: str
    did: str
    password: str
    app_password: str


class BlueskyNetwork:
    """The running local network: its addresses and a way to make accounts on it."""

    def __init__(self, pds_url: str, appview_url: str) -> None:
        self.pds_url = pds_url
        self.appview_url = appview_url

    def create_account(self, name: str = "user") -> BlueskyAccount:
        """A new account ``<name><random>.test`` with a password and an app password (what a
        person gives Socialdesk). Random suffixes keep handles unique across runs."""
        handle = f"{name}{secrets.token_hex(3)}.test"
        password = secrets.token_urlsafe(12)
        client = Client(self.pds_url)
        created = client.com.atproto.server.create_account(
            models.ComAtprotoServerCreateAccount.Data(
                handle=handle, password=password, email=f"{handle}@example.com"
            )
        )
        client.login(handle, password, fetch_bsky_profile=False)
        app_password = client.com.atproto.server.create_app_password(
            models.ComAtprotoServerCreateAppPassword.Data(name="socialdesk")
        ).password
        return BlueskyAccount(handle, created.did, password, app_password)

    def client(self, account: BlueskyAccount) -> Client:
        """An SDK client logged in as ``account``, to read what the connector did."""
        client = Client(self.pds_url)
        client.login(account.handle, account.password, fetch_bsky_profile=False)
        return client


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As Node does: closed connections lingering in TIME_WAIT do not make a port taken.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the network's whole process group: politely, then for sure."""
    if process.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _network_ports(pds_port: int) -> list[int]:
    return [pds_port - 1, pds_port, pds_port + 1, pds_port + 4]


def _start(pds_port: int, scratch: Path) -> tuple[subprocess.Popen[bytes] | None, str]:
    """Start the network on ``pds_port``; (process, "") once READY, else (None, why not)."""
    log = scratch / f"network-{pds_port}.log"
    env = {
        **os.environ,
        "TMPDIR": str(scratch),  # the PDS keeps its data and blobs there
        "BSKY_DEVNET_PDS_PORT": str(pds_port),
        "DB_POSTGRES_URL": os.environ.get(
            "SOCIALDESK_BLUESKY_DB_URL", "postgres://postgres@127.0.0.1:5432/bsky_devnet"
        ),
        "REDIS_HOST": "127.0.0.1:6379",
    }
    with log.open("wb") as output:
        process = subprocess.Popen(
            ["bash", str(BLUESKY / "start.sh")],
            stdout=output,  # a file, not a pipe: nobody has to keep reading it
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,  # its own process group, stopped as a whole
        )
    deadline = time.monotonic() + READY_TIMEOUT
    while "READY " not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            if process.poll() is not None:
                reason = f"exited with {process.returncode}"
            else:
                reason = f"was not ready within {READY_TIMEOUT} s"
            _stop(process)
            return None, f"{reason}. Its last lines:\n{_tail(log)}"
        time.sleep(0.1)
    return process, ""


@pytest.fixture(scope="session")
def bluesky_server() -> Iterator[BlueskyNetwork]:
    try:
        subprocess.run(
            ["bash", str(BLUESKY / "install.sh")],
            check=True,
            capture_output=True,
            timeout=INSTALL_TIMEOUT,
        )
    except subprocess.CalledProcessError as error:
        output = error.stderr.decode(errors="replace")[-3000:]
        pytest.fail(
            f"Building the local Bluesky network failed:\n{output}\n{HOW_TO}", pytrace=False
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"Building the local Bluesky network took over {INSTALL_TIMEOUT} s. {HOW_TO}")

    chosen = os.environ.get("SOCIALDESK_BLUESKY_PDS_PORT")
    # Another suite on this machine may hold the default ports: without an explicit choice,
    # move on to the next block of ports. An explicit choice that is taken fails.
    candidates = [int(chosen)] if chosen else [2683 + 10 * step for step in range(8)]
    scratch = Path(tempfile.mkdtemp(prefix="socialdesk-bluesky-"))
    process = None
    try:
        for pds_port in candidates:
            taken = [port for port in _network_ports(pds_port) if not _port_is_free(port)]
            if taken:
                continue
            process, why = _start(pds_port, scratch)
            if process is not None:
                break
            if "EADDRINUSE" not in why:  # lost a race for the ports: try the next block
                pytest.fail(f"The local Bluesky network {why}\n{HOW_TO}", pytrace=False)
        if process is None:
            blocks = ", ".join(str(_network_ports(port)) for port in candidates)
            pytest.fail(
                f"The local Bluesky network needs free 127.0.0.1 ports, and every block tried "
                f"is taken ({blocks}): other networks or test runs on this machine? Stop them, "
                "or choose a PDS port with SOCIALDESK_BLUESKY_PDS_PORT=<port> (the port below "
                "it and the ports 1 and 4 above it are used too).",
                pytrace=False,
            )
        yield BlueskyNetwork(
            pds_url=f"http://localhost:{pds_port}", appview_url=f"http://localhost:{pds_port + 1}"
        )
    finally:
        if process is not None:
            _stop(process)
        shutil.rmtree(scratch, ignore_errors=True)
