"""A network's API played back from recorded exchanges over real HTTP on 127.0.0.1 (issue 16).

The networks that cannot run here (Meta, Google, LinkedIn, TikTok, Pinterest, X, Telegram,
Discord) are tested against exchanges **written by hand from the network's official API
reference**, in ``tests/recordings/<network>/<name>.json``, served by ``RecordedNetwork`` to the
real connector code, which makes real HTTP requests (``settings.NETWORK_URL_OVERRIDES`` points
the network's official addresses here; ``networks.http.endpoint``).

A recording::

    {"source": "Written by hand from <reference pages>, read on 2026-12-07.",
     "reference": ["https://developers.facebook.com/docs/..."],
     "exchanges": [
        {"request": {"method": "POST", "path": "/v24.0/17841400000/media",
                     "query": {"media_type": "CAROUSEL"}},
         "responses": [{"status": 200, "headers": {...}, "body": {"id": "1790"}}]}]}

A request matches ``method`` and ``path`` (trailing slash ignored) and, when the recording
gives ``query``, those query or form fields (a subset; the first matching exchange wins, so
put the specific ones first). It gets the next response of its list; the last one repeats.
In a response, ``{base}`` becomes this server's address, ``{recent}`` a time five minutes ago,
``{N min ago}`` that many minutes ago, ``{now_epoch}``/``{epoch+N}`` the epoch seconds now or
N seconds from now (rate-limit resets; a negative N counts from the server's anchor, a fixed
"now" until ``reset``), and ``{q:name}`` the request's query parameter ``name`` (the OAuth
consent page's redirect back: ``"Location": "{q:redirect_uri}?code=c1&state={q:state}"``).
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

RECORDINGS = Path(__file__).parent / "recordings"

_MINUTES_AGO = re.compile(r"\{(\d+) min ago\}")
_EPOCH_PLUS = re.compile(r"\{epoch([+-]\d+)\}")
_QUERY = re.compile(r"\{q:([A-Za-z0-9_]+)\}")


def _minutes_ago(minutes: int, anchor: float) -> str:
    moment = datetime.fromtimestamp(anchor, UTC) - timedelta(minutes=minutes)
    return moment.isoformat().replace("+00:00", "Z")


@dataclass
class Sent:
    """One request the client made."""

    method: str
    path: str
    headers: dict[str, str]
    query: dict[str, list[str]]
    form: dict[str, list[str]]
    body: bytes
    json: Any = None
    fields: dict[str, list[str]] = field(default_factory=dict)  # query and form together


class RecordedNetwork:
    """One network's API, answering from recordings (see the module docstring)."""

    def __init__(self, network: str) -> None:
        self.network = network
        self.routes: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
        self.sent: list[Sent] = []
        self.delay = 0.0  # seconds before answering (a slow network; timeouts)
        # "Now" for the recordings' relative times, fixed until ``reset``: the same comment
        # keeps its time from one request to the next, as on a real network.
        self.anchor = time.time()
        recorded = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                path = parts.path.rstrip("/") or "/"
                query = parse_qs(parts.query, keep_blank_values=True)
                kind = self.headers.get("Content-Type") or ""
                form = (
                    parse_qs(body.decode(errors="replace"), keep_blank_values=True)
                    if ("urlencoded" in kind)
                    else {}
                )
                parsed = None
                if "json" in kind and body:
                    try:
                        parsed = json.loads(body)
                    except ValueError:
                        parsed = None
                sent = Sent(
                    self.command, path, dict(self.headers.items()), query, form, body, parsed
                )
                sent.fields = {**form, **query}
                if isinstance(parsed, dict):
                    for key, value in parsed.items():
                        sent.fields.setdefault(
                            key, [value if isinstance(value, str) else json.dumps(value)]
                        )
                recorded.sent.append(sent)
                if recorded.delay:
                    time.sleep(recorded.delay)
                response = recorded.next_response(sent)
                self.send_response_only(response["status"])
                headers = {
                    k: recorded.fill(str(v), sent)
                    for k, v in (response.get("headers") or {}).items()
                }
                headers.setdefault("Date", self.date_time_string())
                payload = response.get("body", "")
                if isinstance(payload, str):
                    data = recorded.fill(payload, sent)
                else:
                    headers.setdefault("Content-Type", "application/json")
                    data = recorded.fill(json.dumps(payload), sent)
                encoded = data.encode()
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(encoded)))
                self.end_headers()
                if self.command != "HEAD":
                    # The client may have given up waiting (the timeout tests).
                    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                        self.wfile.write(encoded)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = serve  # noqa: N815

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def fill(self, text: str, sent: Sent) -> str:
        now = time.time()
        text = text.replace("{base}", self.url).replace("{recent}", _minutes_ago(5, self.anchor))
        text = text.replace("{now_epoch}", str(int(now)))
        # A moment in the past (when a comment was written) is fixed from the anchor; one in
        # the future (a rate limit's reset) is counted from this answer.
        text = _EPOCH_PLUS.sub(
            lambda m: str(int(now if int(m.group(1)) > 0 else self.anchor) + int(m.group(1))),
            text,
        )
        text = _MINUTES_AGO.sub(lambda m: _minutes_ago(int(m.group(1)), self.anchor), text)
        return _QUERY.sub(lambda m: (sent.query.get(m.group(1)) or [""])[0], text)

    def play(self, *names: str) -> None:
        """Answer from these recordings (``tests/recordings/<network>/<name>.json``) too; a
        later recording's exchange wins over an earlier one for the same request."""
        for name in names:
            recording = json.loads((RECORDINGS / self.network / f"{name}.json").read_text())
            assert "written by hand" in recording["source"].lower(), name
            assert recording.get("reference"), f"{name} names no reference page"
            for exchange in reversed(recording["exchanges"]):
                self.routes.insert(0, (exchange["request"], list(exchange["responses"])))

    def answer(
        self,
        method: str,
        path: str,
        *responses: dict[str, Any],
        query: dict[str, str] | None = None,
    ) -> None:
        """One exchange set by the test itself (it wins over the recordings)."""
        request: dict[str, Any] = {"method": method, "path": path}
        if query:
            request["query"] = query
        self.routes.insert(0, (request, list(responses)))

    def next_response(self, sent: Sent) -> dict[str, Any]:
        for request, queue in self.routes:
            if request["method"] != sent.method or request["path"].rstrip("/") != sent.path:
                continue
            wanted = request.get("query") or {}
            if all(str(v) in sent.fields.get(k, []) for k, v in wanted.items()):
                return queue.pop(0) if len(queue) > 1 else queue[0]
        return {
            "status": 404,
            "body": {"error": {"message": f"no recording for {sent.method} {sent.path}"}},
        }

    def requests_to(self, method: str, path: str) -> list[Sent]:
        return [s for s in self.sent if (s.method, s.path) == (method, path.rstrip("/"))]

    def reset(self) -> None:
        self.routes.clear()
        self.sent.clear()
        self.delay = 0.0
        self.anchor = time.time()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
