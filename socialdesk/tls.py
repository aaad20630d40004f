"""One TLS context per process for the HTTP clients Socialdesk makes.

httpx builds a new ``SSLContext`` for every ``httpx.Client``, reading the whole CA bundle:
20 to 80 ms of CPU each on these machines, whether or not the client ever speaks TLS. The
engine makes a connector, and so a client, for each delivery; that cost was most of a
delivery's own time beside the network call (bench/publishing.py, ``sdk_ratio``). A context
is safe to share between clients and threads, so each kind is made once, on first use, with
what httpx would have chosen (certifi's bundle, or ``SSL_CERT_FILE`` when the environment is
trusted).
"""

from __future__ import annotations

import functools
import ssl

import httpx


@functools.cache
def client_context(*, trust_env: bool = True) -> ssl.SSLContext:
    return httpx.create_ssl_context(trust_env=trust_env)
