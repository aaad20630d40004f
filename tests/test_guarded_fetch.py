"""The guarded fetch refuses this server's own network, and webhooks go through it.

Only loopback is ever contacted: real listeners on 127.0.0.1 record what reaches them.
For private and link-local addresses (10.0.0.1, 169.254.169.254 …) the tests prove the
refusal comes before any connection: ``socket.create_connection`` (what httpcore connects
with) and name resolution are replaced by spies that record every call, so no packet can
leave the machine, and the spies must stay empty.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from api_helpers import call

from socialdesk import guarded_fetch
from socialdesk.guarded_fetch import FetchFailed, FetchRefused, fetch, parse_allow_entry
from socialdesk.notifications.models import Webhook, WebhookCall, WebhookCallState
from socialdesk.notifications.services import create_webhook, notify
from socialdesk.notifications.tasks import attempt_webhook_call

PLAIN_REASON = "an address inside this server's network"
NOT_ALLOWED = "unless the operator allows it in SOCIALDESK_FETCH_ALLOW"


class Listener:
    """A real HTTP server on 127.0.0.1 that records each request it receives."""

    def __init__(self, answer: Callable[[BaseHTTPRequestHandler], None]):
        self.requests: list[dict] = []
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def handle_one(self):
                length = int(self.headers.get("Content-Length", 0) or 0)
                listener.requests.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "headers": dict(self.headers),
                        "body": self.rfile.read(length),
                    }
                )
                answer(self)

            do_GET = do_POST = handle_one

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def url(self, host: str = "127.0.0.1", path: str = "/hook") -> str:
        return f"http://{host}:{self.port}{path}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def answer_ok(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Length", "2")
    handler.end_headers()
    handler.wfile.write(b"ok")


@pytest.fixture
def listeners() -> Iterator[Callable[..., Listener]]:
    started: list[Listener] = []

    def start(answer: Callable[[BaseHTTPRequestHandler], None] = answer_ok) -> Listener:
        started.append(Listener(answer))
        return started[-1]

    yield start
    for listener in started:
        listener.stop()


@pytest.fixture
def nothing_allowed(settings):
    settings.SOCIALDESK_FETCH_ALLOW = []
    return settings


@pytest.fixture
def connections(monkeypatch) -> list[tuple]:
    """Every TCP connection attempt; a connection to anything but loopback fails the test."""
    made: list[tuple] = []
    real = socket.create_connection

    def spy(address, *args, **kwargs):
        made.append(address)
        if not ipaddress.ip_address(address[0]).is_loopback:
            raise AssertionError(f"a connection to {address} was attempted")
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", spy)
    return made


@pytest.fixture
def names(monkeypatch) -> dict[str, list[str]]:
    """A resolver stub: test names map to addresses; every lookup is recorded in ``asked``."""
    table: dict[str, list[str]] = {"asked": []}

    def resolve(host: str, port: int):
        table["asked"].append(host)
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        answers = table[host]
        if len(answers) > 1 and host.startswith("rebind"):
            return [ipaddress.ip_address(answers.pop(0))]  # a different answer each time
        return [ipaddress.ip_address(a) for a in answers]

    monkeypatch.setattr(guarded_fetch, "resolve", resolve)
    return table


# --- Refused before anything is sent ---------------------------------------------------------

LOOPBACK_SPELLINGS = [
    "127.0.0.1",
    "localhost",
    "LocalHost.",
    "app.localhost",
    "0.0.0.0",  # noqa: S104 - a URL host to refuse, not a bind
    "127.1",
    "2130706433",
    "0x7f000001",
    "[::1]",
    "[::ffff:127.0.0.1]",
    "[::]",
]


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS)
def test_every_spelling_of_this_server_is_refused_and_never_reached(
    host, listeners, nothing_allowed, connections, names
):
    listener = listeners()
    with pytest.raises(FetchRefused) as refused:
        fetch("GET", listener.url(host))
    assert PLAIN_REASON in str(refused.value) and NOT_ALLOWED in str(refused.value)
    assert listener.requests == []
    assert connections == [] and names["asked"] == []


def test_a_numeric_spelling_names_the_address_it_really_is(nothing_allowed, connections):
    with pytest.raises(FetchRefused) as refused:
        fetch("GET", "http://2130706433:8080/")
    assert str(refused.value).startswith("2130706433 leads to 127.0.0.1, an address inside")


def test_an_octal_spelling_is_not_even_read_as_an_address(nothing_allowed, connections, names):
    with pytest.raises(FetchRefused) as refused:
        fetch("GET", "http://0177.0.0.1/")
    assert str(refused.value) == "This is not a valid address."
    assert connections == [] and names["asked"] == []


def test_user_and_password_in_the_address_are_refused(listeners, settings, connections):
    listener = listeners()
    settings.SOCIALDESK_FETCH_ALLOW = ["127.0.0.1"]  # even where the address is allowed
    with pytest.raises(FetchRefused) as refused:
        fetch("GET", f"http://user:pw@127.0.0.1:{listener.port}/")
    assert "user name or password" in str(refused.value)
    assert listener.requests == [] and connections == []


@pytest.mark.parametrize(
    "host",
    [
        "169.254.169.254",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "100.64.0.1",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "[fd00::1]",
        "[fe80::1]",
        "[ff02::1]",
        "[::ffff:169.254.169.254]",
        "[::ffff:10.0.0.1]",
        "[64:ff9b::a9fe:a9fe]",  # NAT64 of 169.254.169.254
        "[2002:a00:1::]",  # 6to4 of 10.0.0.1
    ],
)
def test_private_and_link_local_addresses_are_refused_before_any_connection(
    host, nothing_allowed, connections, names
):
    with pytest.raises(FetchRefused) as refused:
        fetch("POST", f"http://{host}/latest/meta-data/", content=b"{}")
    assert PLAIN_REASON in str(refused.value) and NOT_ALLOWED in str(refused.value)
    assert connections == []  # nothing was even tried
    assert names["asked"] == []


def test_the_metadata_service_is_named_for_what_it_is(nothing_allowed, connections):
    with pytest.raises(FetchRefused) as refused:
        fetch("GET", "http://169.254.169.254/")
    assert str(refused.value) == (
        "169.254.169.254 is an address inside this server's network (link-local, where cloud "
        "metadata services live); Socialdesk does not send to it unless the operator allows "
        "it in SOCIALDESK_FETCH_ALLOW."
    )
    assert connections == []


def test_a_name_that_resolves_to_loopback_is_refused(
    listeners, nothing_allowed, connections, names
):
    listener = listeners()
    names["hooks.evil.example"] = ["127.0.0.1"]
    with pytest.raises(FetchRefused) as refused:
        fetch("GET", listener.url("hooks.evil.example"))
    assert str(refused.value).startswith("hooks.evil.example leads to 127.0.0.1, an address")
    assert listener.requests == [] and connections == []


def test_a_name_with_one_internal_address_among_public_ones_is_refused(
    nothing_allowed, connections, names
):
    names["mixed.example"] = ["93.184.215.14", "10.0.0.1"]
    with pytest.raises(FetchRefused) as refused:
        fetch("GET", "http://mixed.example/")
    assert "10.0.0.1" in str(refused.value)
    assert connections == []


def test_a_redirect_from_an_allowed_server_into_the_network_is_refused(
    listeners, settings, connections
):
    inside = listeners()

    def redirect(handler):
        handler.send_response(302)
        handler.send_header("Location", inside.url(path="/admin"))
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    allowed = listeners(redirect)
    settings.SOCIALDESK_FETCH_ALLOW = [f"127.0.0.1:{allowed.port}"]
    with pytest.raises(FetchRefused) as refused:
        fetch("GET", allowed.url())
    assert PLAIN_REASON in str(refused.value)
    assert len(allowed.requests) == 1
    assert inside.requests == []  # the second hop was checked, and never sent


def test_redirects_are_followed_a_bounded_number_of_times(listeners, settings):
    def again(handler):
        handler.send_response(307)
        handler.send_header("Location", "/again")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    loop = listeners(again)
    settings.SOCIALDESK_FETCH_ALLOW = [f"127.0.0.1:{loop.port}"]
    with pytest.raises(FetchFailed) as failed:
        fetch("POST", loop.url(), content=b"x", max_redirects=3)
    assert str(failed.value) == "The address redirected more than 3 times."
    assert len(loop.requests) == 4
    assert {r["method"] for r in loop.requests} == {"POST"}  # 307 keeps the method


# --- What is allowed works -------------------------------------------------------------------


def test_an_allowed_address_is_fetched(listeners, settings):
    listener = listeners()
    settings.SOCIALDESK_FETCH_ALLOW = ["127.0.0.0/8"]
    answer = fetch("POST", listener.url(), content=b"hello")
    assert (answer.status, answer.content) == (200, b"ok")
    assert listener.requests[0]["body"] == b"hello"


def test_an_allowed_redirect_is_followed_to_its_end(listeners, settings):
    end = listeners()

    def redirect(handler):
        handler.send_response(303)
        handler.send_header("Location", end.url(path="/end"))
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    start = listeners(redirect)
    settings.SOCIALDESK_FETCH_ALLOW = ["127.0.0.1"]
    answer = fetch("POST", start.url(), content=b"form")
    assert answer.status == 200 and answer.url == end.url(path="/end")
    assert [r["method"] for r in end.requests] == ["GET"]  # 303: see other, with GET


def test_an_allowed_name_connects_to_the_address_that_was_checked(
    listeners, settings, connections, names
):
    listener = listeners()
    settings.SOCIALDESK_FETCH_ALLOW = ["rebind.internal"]
    # The name's first answer is loopback (allowed by name); a second lookup would give the
    # metadata address. The fetch must resolve once and connect to what it checked.
    names["rebind.internal"] = ["127.0.0.1", "169.254.169.254"]
    answer = fetch("GET", listener.url("rebind.internal"))
    assert answer.status == 200
    assert names["asked"] == ["rebind.internal"]
    assert connections == [("127.0.0.1", listener.port)]
    assert listener.requests[0]["headers"]["Host"] == f"rebind.internal:{listener.port}"


def test_https_is_pinned_to_the_checked_address_and_verifies_the_name(settings, names, monkeypatch):
    names["hooks.example"] = ["93.184.215.14"]
    sent: list[httpx.Request] = []

    def capture(client, request, **kwargs):
        sent.append(request)
        return httpx.Response(204, request=request)

    monkeypatch.setattr(httpx.Client, "send", capture)  # no traffic at all
    assert fetch("GET", "https://hooks.example/feed").status == 204
    (request,) = sent
    assert request.url == httpx.URL("https://93.184.215.14/feed")
    assert request.headers["Host"] == "hooks.example"
    assert request.extensions["sni_hostname"] == "hooks.example"


def test_an_answer_larger_than_the_cap_is_refused(listeners, settings):
    def big(handler):
        handler.send_response(200)
        handler.end_headers()  # no length: the cap must be counted while reading
        handler.wfile.write(b"x" * 50_000)

    listener = listeners(big)
    settings.SOCIALDESK_FETCH_ALLOW = ["127.0.0.1"]
    with pytest.raises(FetchFailed) as failed:
        fetch("GET", listener.url(), max_bytes=10_000)
    assert "larger than 10,000 bytes" in str(failed.value)


def test_a_server_that_does_not_answer_in_time_is_given_up(listeners, settings):
    listener = listeners(lambda handler: time.sleep(1.5))
    settings.SOCIALDESK_FETCH_ALLOW = ["127.0.0.1"]
    started = time.monotonic()
    with pytest.raises(FetchFailed) as failed:
        fetch("GET", listener.url(), timeout=0.3)
    assert str(failed.value) == f"No answer from 127.0.0.1:{listener.port} in time."
    assert time.monotonic() - started < 1.4


@pytest.mark.parametrize(
    ("entry", "host", "address", "port", "admitted"),
    [
        ("10.0.0.0/8", "x", "10.1.2.3", 80, True),
        ("10.0.0.0/8", "x", "11.1.2.3", 80, False),
        ("127.0.0.1:8080", "127.0.0.1", "127.0.0.1", 8080, True),
        ("127.0.0.1:8080", "127.0.0.1", "127.0.0.1", 8081, False),
        ("[::1]:8080", "::1", "::1", 8080, True),
        ("Hooks.Internal", "hooks.internal", "10.0.0.5", 443, True),
        ("hooks.internal:8443", "hooks.internal", "10.0.0.5", 443, False),
    ],
)
def test_the_allow_list_reads_hosts_networks_and_ports(entry, host, address, port, admitted):
    allowed = parse_allow_entry(entry).admits(host, ipaddress.ip_address(address), port)
    assert allowed is admitted


@pytest.mark.parametrize("entry", ["bad host", "10.0.0.0/99", "host:99999", "[::1]x"])
def test_a_bad_allow_list_entry_is_named(entry):
    with pytest.raises(ValueError) as caught:
        parse_allow_entry(entry)
    assert repr(entry) in str(caught.value)


# --- Webhooks go through it ----------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:18811/hook",
        "http://localhost:18811/hook",
        "http://0.0.0.0:18811/",
        "http://127.1:18811/",
        "http://2130706433:18811/",
        "http://0x7f000001:18811/",
        "http://[::1]:18811/",
        "http://169.254.169.254/latest/",
        "http://10.0.0.1/",
    ],
)
def test_the_owner_cannot_save_a_webhook_into_the_servers_network(
    url, workspace, owner, token_for, nothing_allowed, connections
):
    response = call("post", "/workspaces/crumb/webhooks", token_for(owner), json_body={
        "name": "Scan", "url": url, "events": ["post.ready"],
    })  # fmt: skip
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["field"] == "url" and NOT_ALLOWED in error["message"]
    assert Webhook.objects.count() == 0 and connections == []


def test_credentials_in_a_webhook_address_are_refused_when_saving(
    workspace, owner, token_for, nothing_allowed
):
    response = call("post", "/workspaces/crumb/webhooks", token_for(owner), json_body={
        "name": "Creds", "url": "https://user:pw@hooks.example.test/", "events": ["post.ready"],
    })  # fmt: skip
    assert response.status_code == 422
    assert "user name or password" in response.json()["errors"][0]["message"]


def test_the_settings_form_shows_why_an_internal_address_is_refused(
    manager, signed_in, nothing_allowed
):
    response = signed_in(manager).post("/w/crumb/settings/webhooks/", {
        "name": "X", "url": "http://127.1:5432/", "events": ["delivery.failed"],
    })  # fmt: skip
    assert response.status_code == 400
    assert "127.1 leads to 127.0.0.1, an address inside this server" in response.content.decode()
    assert Webhook.objects.count() == 0


def test_the_test_button_gives_the_reason_not_a_connection_error(
    workspace, owner, signed_in, listeners, settings, token_for
):
    listener = listeners()
    settings.SOCIALDESK_FETCH_ALLOW = ["127.0.0.1"]
    hook, _ = create_webhook(
        workspace, owner, name="Ops", url=listener.url(), events=["post.ready"]
    )
    settings.SOCIALDESK_FETCH_ALLOW = []  # the operator withdrew the permission
    answer = call("post", f"/workspaces/crumb/webhooks/{hook.pk}/test", token_for(owner)).json()
    assert answer["ok"] is False and answer["status"] is None
    assert PLAIN_REASON in answer["message"]
    page = signed_in(owner).post(f"/w/crumb/settings/webhooks/{hook.pk}/test/", follow=True)
    text = page.content.decode()
    assert "an address inside this server" in text
    assert "Could not connect" not in text and "Connection refused" not in text
    assert listener.requests == []


def test_the_test_button_keeps_a_plain_status_for_an_allowed_receiver(
    workspace, owner, token_for, listeners, settings
):
    def teapot(handler):
        handler.send_response(418)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    listener = listeners(teapot)
    settings.SOCIALDESK_FETCH_ALLOW = [f"127.0.0.1:{listener.port}"]
    hook, _ = create_webhook(
        workspace, owner, name="Ops", url=listener.url(), events=["post.ready"]
    )
    answer = call("post", f"/workspaces/crumb/webhooks/{hook.pk}/test", token_for(owner)).json()
    assert answer == {"ok": False, "status": 418, "message": "HTTP 418"}
    assert len(listener.requests) == 1


def test_a_closed_allowed_port_is_reported_without_the_sockets_words(
    workspace, owner, token_for, settings
):
    settings.SOCIALDESK_FETCH_ALLOW = ["127.0.0.1:9"]
    hook, _ = create_webhook(
        workspace, owner, name="Gone", url="http://127.0.0.1:9/", events=["post.ready"]
    )
    answer = call("post", f"/workspaces/crumb/webhooks/{hook.pk}/test", token_for(owner)).json()
    assert answer["message"] == "Could not connect to 127.0.0.1:9."


def test_a_queued_call_to_a_refused_address_fails_at_once_without_sending(
    workspace, owner, listeners, settings
):
    listener = listeners()
    settings.SOCIALDESK_FETCH_ALLOW = ["127.0.0.1"]
    create_webhook(workspace, owner, name="Ops", url=listener.url(), events=["post.ready"])
    notify(workspace, [owner], "post.ready", "Ready")
    settings.SOCIALDESK_FETCH_ALLOW = []
    pending = WebhookCall.objects.get()
    assert attempt_webhook_call(pending.pk) == WebhookCallState.FAILED  # no retries
    pending.refresh_from_db()
    assert NOT_ALLOWED in pending.error
    assert listener.requests == []
