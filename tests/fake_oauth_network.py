"""A network module for the tests of the shared OAuth flow (``networks.oauth``): it has only
what a real one needs for connecting (``ABOUT``, ``OAUTH``, ``accounts``), and reads the
accounts a consent opened from the recorded server (``tests/recordings/oauth_example``)."""

from __future__ import annotations

from typing import Any

from socialdesk.networks import oauth
from socialdesk.networks.base import AccountInfo
from socialdesk.networks.catalog import NetworkAbout
from socialdesk.networks.http import Api, json_of

NETWORK = "x"  # any OAuth network's name will do: the tests put this module in its place

ABOUT = NetworkAbout(
    network=NETWORK,
    connect="oauth",
    text_max=280,
    operator_setup="Register an app.",
    accounts="Example accounts.",
    tested="Recorded exchanges.",
)

OAUTH = oauth.OAuthSpec(
    authorize_url="https://example.network/oauth/authorize",
    token_url="https://api.example.network/oauth/token",
    scopes=("read", "write"),
)


def accounts(token: dict[str, Any]) -> list[oauth.Account]:
    api = Api(NETWORK, "Example", headers={"Authorization": f"Bearer {token['access_token']}"})
    found = json_of(api.call("GET", "https://api.example.network/me/accounts"), "Example")
    return [
        oauth.Account(
            AccountInfo(a["id"], a["handle"], a.get("name", "")),
            {
                "access_token": token["access_token"],
                "refresh_token": token.get("refresh_token", ""),
                "expires_at": token.get("expires_at"),
                "user_id": a["id"],
            },
        )
        for a in found["data"]
    ]
