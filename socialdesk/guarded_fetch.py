"""The one way Socialdesk fetches an address a user gave it (webhooks now; feeds, link cards,
media by URL and network servers later).

A user who can type a URL must not be able to make this server talk to its own network: its
database, its admin ports, the cloud's metadata service. So every fetch:

1. parses the URL once (with httpx's parser, the one that sends) and refuses userinfo
   (``user:pw@``), other schemes than http(s), and anything unparsable;
2. resolves the host and checks **every** address it gets with ``ipaddress``: loopback,
   private, link-local, multicast, unspecified, reserved and shared addresses are refused,
   IPv4 inside IPv6 (``::ffff:127.0.0.1``, NAT64, 6to4) is checked as the IPv4 it carries,
   and numeric spellings (``127.1``, ``2130706433``, ``0x7f000001``) are read the way the
   C library reads them, so each one is refused as the address it really is;
3. connects to the address that was checked, not to the name again (no DNS rebinding
   between the check and the connection), while the Host header, TLS SNI and certificate
   verification still use the name;
4. follows redirects itself, checking each hop the same way, at most ``MAX_REDIRECTS``;
5. caps the time and the size of the answer, and ignores proxy variables from the
   environment (a proxy would make the check meaningless).

An operator who must reach an internal server lists it in ``SOCIALDESK_FETCH_ALLOW``
(host names, addresses or networks, each with an optional port). Nothing is allowed by
default.

Refusals and failures are two exceptions whose message is a plain sentence for the person
who typed the address; neither carries low-level socket errors, so the answers cannot be
used to map the server's network.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import httpx
from django.conf import settings

from socialdesk import tls

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ALLOW_SETTING = "SOCIALDESK_FETCH_ALLOW"
TIMEOUT_SECONDS = 10.0
MAX_REDIRECTS = 5
MAX_BYTES = 5 * 1024 * 1024
REDIRECT_STATUSES = {301, 302, 303, 307, 308}

_HOST_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_-]+$")


class FetchRefused(Exception):
    """Socialdesk does not send to this address; the message says why, in plain words."""


class FetchFailed(Exception):
    """The address is allowed but the fetch did not succeed (no answer, too large …)."""


# --- The operator's allow-list --------------------------------------------------------------


@dataclass(frozen=True)
class AllowEntry:
    """One item of SOCIALDESK_FETCH_ALLOW: a host name or a network, with an optional port."""

    host: str | None = None
    network: IPNetwork | None = None
    port: int | None = None

    def admits(self, host: str, address: IPAddress, port: int) -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.host is not None:
            return self.host == host
        assert self.network is not None
        return address.version == self.network.version and address in self.network


def parse_allow_entry(text: str) -> AllowEntry:
    """``10.0.0.0/8``, ``127.0.0.1:8080``, ``[::1]:8080``, ``fd00::/8``, ``hooks.internal``.

    Raises ValueError with a sentence naming the entry.
    """
    raw = text.strip().lower()
    problem = ValueError(
        f"{text!r} is not a host name, address or network (e.g. hooks.internal, "
        "10.0.0.0/8, 127.0.0.1:8080, [::1]:8080)."
    )
    host, port = raw, None
    try:
        return AllowEntry(network=ipaddress.ip_network(raw, strict=False))
    except ValueError:
        pass
    if raw.startswith("["):
        inside, _, rest = raw[1:].partition("]")
        host = inside
        if rest:
            if not rest.startswith(":"):
                raise problem
            port = _port(rest[1:], problem)
    elif raw.count(":") == 1:
        host, port_text = raw.split(":")
        port = _port(port_text, problem)
    host = host.rstrip(".")
    try:
        return AllowEntry(network=ipaddress.ip_network(host), port=port)
    except ValueError:
        pass
    if not _HOST_NAME.match(host):
        raise problem
    return AllowEntry(host=host, port=port)


def _port(text: str, problem: ValueError) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise problem
    return int(text)


def allow_list() -> list[AllowEntry]:
    configured: str | Iterable[str] = getattr(settings, ALLOW_SETTING, [])
    if isinstance(configured, str):
        configured = configured.split(",")
    return [parse_allow_entry(item) for item in configured if item.strip()]


# --- Addresses ------------------------------------------------------------------------------

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def carried_ipv4(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 one carries (mapped, NAT64, 6to4), else the address itself."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if address.sixtofour is not None:
            return address.sixtofour
    return address


def internal_kind(address: IPAddress) -> str | None:
    """Why ``address`` is not a public one (``"loopback"`` …), or None when it is public."""
    address = carried_ipv4(address)
    if address.is_unspecified:
        return "unspecified, which means this server itself"
    if address.is_loopback:
        return "loopback, which means this server itself"
    if address.is_link_local:
        return "link-local, where cloud metadata services live"
    if address.is_multicast:
        return "multicast"
    if address.is_private:
        return "private"
    if address.is_reserved or not address.is_global:
        return "reserved"
    return None


def numeric_address(host: str) -> IPAddress | None:
    """The address a numeric host spells, read as the C library reads it, or None for a name.

    ``ipaddress`` only reads the dotted-quad form; ``inet_aton`` also reads ``127.1``,
    ``2130706433``, ``0x7f000001`` and ``0177.0.0.1``, which connect() would accept.
    """
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if not re.fullmatch(r"[0-9a-fA-FxX.]+", host) or not host[0].isdigit():
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (the seam tests replace to avoid the network)."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in found:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


# --- Checking a URL -------------------------------------------------------------------------


@dataclass
class Target:
    """A URL that passed the checks, and the addresses it may be fetched from."""

    url: httpx.URL
    host: str
    port: int
    addresses: list[IPAddress] = field(default_factory=list)


def parse(url: str) -> httpx.URL:
    """The URL as httpx will send it, or FetchRefused saying what is wrong with it."""
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, TypeError, ValueError):
        raise FetchRefused("This is not a valid address.") from None
    if parsed.scheme not in {"http", "https"}:
        raise FetchRefused("Use an http:// or https:// address.")
    if not parsed.raw_host:
        raise FetchRefused("The address needs a host name, e.g. https://example.com/hook.")
    if parsed.userinfo:
        raise FetchRefused(
            "The address contains a user name or password (user:password@); Socialdesk does "
            "not send credentials inside addresses. Remove them, and use the receiver's own "
            "secret or token instead."
        )
    return parsed


def check(url: str, *, resolve_names: bool = True) -> Target:
    """Parse ``url`` and check where it leads; raises FetchRefused with the reason.

    With ``resolve_names=False`` (saving a form) only what the text itself says is checked:
    numeric addresses and ``localhost``; names are resolved at each fetch, because what a
    name points to can change between saving and sending anyway.
    """
    parsed = parse(url)
    host = parsed.raw_host.decode("ascii").lower().rstrip(".")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    entries = allow_list()
    literal = numeric_address(host)
    if literal is not None:
        addresses = [literal]
    elif host == "localhost" or host.endswith(".localhost"):
        addresses = [ipaddress.IPv4Address("127.0.0.1")]
    elif not resolve_names:
        return Target(parsed, host, port)
    else:
        try:
            addresses = resolve(host, port)
        except (OSError, UnicodeError):
            raise FetchFailed(f"The name {host} could not be found.") from None
        if not addresses:
            raise FetchFailed(f"The name {host} could not be found.")
    for address in addresses:
        kind = internal_kind(address)
        if kind is None or any(entry.admits(host, address, port) for entry in entries):
            continue
        if str(address) == host:
            what = f"{address} is an address"
        else:
            what = f"{host} leads to {address}, an address"
        raise FetchRefused(
            f"{what} inside this server's network ({kind}); Socialdesk does not send to it "
            f"unless the operator allows it in {ALLOW_SETTING}."
        )
    return Target(parsed, host, port, addresses)


# --- Fetching -------------------------------------------------------------------------------


@dataclass
class Fetched:
    status: int
    headers: httpx.Headers
    content: bytes
    url: str  # the last hop's address


def fetch(
    method: str,
    url: str,
    *,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = TIMEOUT_SECONDS,
    max_bytes: int = MAX_BYTES,
    max_redirects: int = MAX_REDIRECTS,
    read_body: bool = True,
) -> Fetched:
    """Send one request to a user's address, as the module docstring promises.

    Raises FetchRefused (the address, or a redirect's, is not allowed; nothing was sent to
    it) or FetchFailed (no answer in time, could not connect, answer too large, too many
    redirects). With ``max_redirects=0`` a redirect is returned as the answer. With
    ``read_body=False`` only the status and headers are read.
    """
    deadline = time.monotonic() + timeout
    # trust_env=False: HTTP(S)_PROXY from the environment would carry the request elsewhere.
    with httpx.Client(
        trust_env=False,
        timeout=timeout,
        follow_redirects=False,
        verify=tls.client_context(trust_env=False),
    ) as client:
        for _hop in range(max_redirects + 1):
            target = check(url)
            answer = _send_pinned(
                client, method, target, content, headers or {}, deadline, max_bytes, read_body
            )
            location = answer.headers.get("location")
            if answer.status not in REDIRECT_STATUSES or not location or max_redirects == 0:
                return answer
            url = str(target.url.join(location))
            if answer.status == 303 or (answer.status in {301, 302} and method == "POST"):
                method, content = "GET", None  # what browsers and httpx do
    raise FetchFailed(f"The address redirected more than {max_redirects} times.")


def _send_pinned(
    client: httpx.Client,
    method: str,
    target: Target,
    content: bytes | None,
    headers: dict[str, str],
    deadline: float,
    max_bytes: int,
    read_body: bool,
) -> Fetched:
    """Send to the checked address itself, presenting the name in Host and TLS.

    httpx has no option to pin a resolution, so the URL is rewritten to the checked IP and
    the name goes where the server needs it: the Host header, and the ``sni_hostname``
    request extension, which httpcore uses as TLS ``server_hostname`` for both SNI and
    certificate verification (https://www.python-httpx.org/advanced/extensions/). A fresh
    client per fetch keeps the connection pool (keyed by the IP) from being shared.
    """
    host_header = target.url.netloc.decode("ascii")
    last_error: httpx.HTTPError | None = None
    for address in target.addresses:
        pinned = target.url.copy_with(host=str(address))
        extensions = {}
        if target.url.scheme == "https":
            extensions["sni_hostname"] = target.host
        request = client.build_request(
            method,
            pinned,
            content=content,
            headers={**headers, "Host": host_header},
            extensions=extensions,
        )
        try:
            response = client.send(request, stream=True)
        except httpx.ConnectError as error:
            last_error = error  # try the name's next address, if it has one
            continue
        except httpx.HTTPError as error:
            raise _failure(error, target, deadline) from None
        try:
            body = _read(response, deadline, max_bytes) if read_body else b""
        except httpx.HTTPError as error:
            raise _failure(error, target, deadline) from None
        finally:
            response.close()
        return Fetched(response.status_code, response.headers, body, str(target.url))
    assert last_error is not None
    raise _failure(last_error, target, deadline)


def _read(response: httpx.Response, deadline: float, max_bytes: int) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise FetchFailed(_too_large(max_bytes))
    body = bytearray()
    # Each read waits at most the timeout; the deadline bounds the whole answer, so a
    # server that drips one byte at a time is cut off too.
    for chunk in response.iter_bytes():
        body.extend(chunk)
        if len(body) > max_bytes:
            raise FetchFailed(_too_large(max_bytes))
        if time.monotonic() > deadline:
            raise FetchFailed("The answer took too long to arrive.")
    return bytes(body)


def _too_large(max_bytes: int) -> str:
    return f"The answer is larger than {max_bytes:,} bytes, the most Socialdesk reads."


def _failure(error: httpx.HTTPError, target: Target, deadline: float) -> FetchFailed:
    """A plain sentence for what went wrong, without the socket's own words."""
    where = target.url.netloc.decode("ascii")
    if isinstance(error, httpx.TimeoutException) or time.monotonic() > deadline:
        return FetchFailed(f"No answer from {where} in time.")
    if isinstance(error, httpx.ConnectError):
        return FetchFailed(f"Could not connect to {where}.")
    return FetchFailed(f"{where} did not give a valid HTTP answer.")
