"""A small HTTP forward proxy on 127.0.0.1 that breaks answers on purpose, for the engine's
fault tests against the local Bluesky network (tests/test_engine_faults.py).

The ``atproto`` client talks to the PDS named in the account's DID document, not to the
address the channel stores, so the proxy is put in the worker's path the way any proxy is:
``HTTP_PROXY`` in the environment, which httpx (under the SDK) honours when a client is made.
It forwards plain-http requests to loopback hosts only, each with a bounded timeout, and
lets a test script what the next matching requests get:

- ``rate_limit(path, times, reset)``: a 429 at once, with ``ratelimit-*`` headers announcing
  ``reset`` (the headers a PDS sends and the SDK reads), the request never forwarded;
- ``drop_answers(path, times)``: the request is forwarded and done, then the connection is
  closed without an answer, as when an answer is lost on the way back;
- ``refuse(path, times)``: the connection is closed before anything is forwarded.

``times=None`` keeps the fault until ``heal()``. ``log`` lists every request with what it got,
its time (``time.monotonic``) and, for record creations, the record key asked for.

Written here because no maintained library offers a fault-injecting forward proxy that runs
in-process with only the standard library; it is a test tool, not product code.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

LOOPBACK = {"localhost", "127.0.0.1"}
UPSTREAM_TIMEOUT = 30  # seconds; every forwarded request is bounded
# Hop-by-hop headers (RFC 9110 §7.6.1) are the proxy's own, never passed on.
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
}


@dataclass
class Fault:
    kind: str  # "rate_limit", "drop", "refuse"
    path: str  # matches when contained in the request's path
    times: int | None
    reset: datetime | None = None


@dataclass(frozen=True)
class Seen:
    at: float
    method: str
    path: str
    outcome: str  # "forwarded", "rate_limit", "drop", "refuse"
    rkey: str = ""


class FaultProxy:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self.log: list[Seen] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                proxy._handle(self)

            do_POST = do_GET

            def log_message(self, format: str, *args: object) -> None:
                pass  # the test reads ``proxy.log`` instead

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # --- scripting ------------------------------------------------------------------------

    def rate_limit(self, path: str, times: int | None, reset: datetime) -> None:
        self._add(Fault("rate_limit", path, times, reset))

    def drop_answers(self, path: str, times: int | None = None) -> None:
        self._add(Fault("drop", path, times))

    def refuse(self, path: str, times: int | None = None) -> None:
        self._add(Fault("refuse", path, times))

    def heal(self) -> None:
        with self._lock:
            self._faults.clear()

    def seen(self, outcome: str, path: str = "") -> list[Seen]:
        with self._lock:
            return [s for s in self.log if s.outcome == outcome and path in s.path]

    def _add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def _fault_for(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.path in path:
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times == 0:
                            self._faults.remove(fault)
                    return fault
        return None

    # --- one request ----------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        target = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        if target.scheme != "http" or target.hostname not in LOOPBACK:
            handler.send_error(403, "This test proxy forwards to loopback only")
            return
        path = target.path + (f"?{target.query}" if target.query else "")
        fault = self._fault_for(target.path)
        outcome = fault.kind if fault else "forwarded"
        with self._lock:
            self.log.append(Seen(time.monotonic(), handler.command, path, outcome, _rkey(body)))
        if fault is not None and fault.kind == "refuse":
            handler.close_connection = True
            return
        if fault is not None and fault.kind == "rate_limit":
            assert fault.reset is not None
            answer = json.dumps({"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"})
            handler.send_response(429)
            for name, value in {
                "Content-Type": "application/json",
                "Content-Length": str(len(answer)),
                "ratelimit-limit": "5000",
                "ratelimit-remaining": "0",
                "ratelimit-reset": str(int(fault.reset.timestamp())),
                "ratelimit-policy": "5000;w=3600",
            }.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(answer.encode())
            return
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in HOP_BY_HOP}
        upstream = http.client.HTTPConnection(
            target.hostname or "127.0.0.1", target.port or 80, timeout=UPSTREAM_TIMEOUT
        )
        try:
            upstream.request(handler.command, path, body=body or None, headers=headers)
            response = upstream.getresponse()
            content = response.read()
        finally:
            upstream.close()
        if fault is not None and fault.kind == "drop":
            handler.close_connection = True  # done upstream; the answer never comes back
            return
        handler.send_response(response.status, response.reason)
        for name, value in response.getheaders():
            if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(content)))
        handler.end_headers()
        handler.wfile.write(content)


def _rkey(body: bytes) -> str:
    """The record key a ``createRecord`` asks for (empty for anything else)."""
    if not body.startswith(b"{"):
        return ""
    try:
        return str(json.loads(body).get("rkey") or "")
    except (ValueError, AttributeError):
        return ""
