"""Every network Socialdesk publishes to, and where its module is (issue 16).

Each network's module (``MODULES``) holds everything about that network: its ``Connector``,
and ``ABOUT``, a ``NetworkAbout`` saying how one connects it, how long a text may be, what the
operator must register on the network's developer site, which accounts work and how it is
tested here. The Channels page, the connect pages, the composer's counters and the README's
network table read ``ABOUT``; the publishing engine builds connectors with the module's
``build(credentials, store)``.

How a network connects (``NetworkAbout.connect``):
- ``oauth``: the network's OAuth 2 flow with the operator's app (``networks.oauth``); the
  module sets ``OAUTH`` (an ``oauth.OAuthSpec``) and ``accounts(token)``;
- ``form``: a form of the fields the module lists in ``FORM_FIELDS``, checked by its
  ``connect(values)`` (a bot token, a webhook address, a server and a password);
- ``app_password`` (Bluesky), ``instance_oauth`` (Mastodon), ``none`` (the public page): the
  older flows on the Channels page itself.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType

from .models import Network

MODULES: dict[str, str] = {
    Network.PAGE: "socialdesk.networks.page",
    Network.BLUESKY: "socialdesk.networks.bluesky",
    Network.MASTODON: "socialdesk.networks.mastodon",
    Network.INSTAGRAM: "socialdesk.networks.instagram",
    Network.FACEBOOK: "socialdesk.networks.facebook",
    Network.GOOGLE_BUSINESS: "socialdesk.networks.google_business",
    Network.LINKEDIN: "socialdesk.networks.linkedin",
    Network.TIKTOK: "socialdesk.networks.tiktok",
    Network.YOUTUBE: "socialdesk.networks.youtube",
    Network.PINTEREST: "socialdesk.networks.pinterest",
    Network.THREADS: "socialdesk.networks.threads",
    Network.X: "socialdesk.networks.x",
    Network.MATRIX: "socialdesk.networks.matrix",
    Network.NOSTR: "socialdesk.networks.nostr",
    Network.WORDPRESS: "socialdesk.networks.wordpress",
    Network.TELEGRAM: "socialdesk.networks.telegram",
    Network.DISCORD: "socialdesk.networks.discord",
}


@dataclass(frozen=True)
class NetworkAbout:
    """What people and the composer need to know about one network.

    ``text_max`` counted in ``text_unit`` ("graphemes", "codepoints", or X's "weighted"), with
    every link counting ``url_length`` characters (0: as typed). ``operator_setup``: what the
    operator registers on the network's developer site (app, review, scopes, redirect address);
    ``accounts``: which account types work; ``tested``: how Socialdesk's tests reach it;
    ``reads``: what the inbox and analytics get from it, plainly (API tiers, deprecations);
    ``reference``: the official reference the module follows."""

    network: str
    connect: str
    text_max: int
    text_unit: str = "codepoints"
    url_length: int = 0
    operator_setup: str = ""
    accounts: str = ""
    tested: str = ""
    reads: str = ""
    reference: str = ""


def label(network: str) -> str:
    try:
        return str(Network(network).label)
    except ValueError:
        return network


def module(network: str) -> ModuleType | None:
    """The network's module, or None when it is not built (yet)."""
    path = MODULES.get(network)
    if path is None:
        return None
    try:
        return importlib.import_module(path)
    except ModuleNotFoundError as error:
        if error.name == path:
            return None
        raise


def about(network: str) -> NetworkAbout | None:
    found = module(network)
    return getattr(found, "ABOUT", None) if found is not None else None


def built() -> list[NetworkAbout]:
    """The networks whose module is there, in the order of ``Network``."""
    return [a for n in MODULES if (a := about(n)) is not None]


@dataclass(frozen=True)
class FormField:
    """One field of a ``form`` network's connect form (``FORM_FIELDS``). ``secret``: a token
    or password, never shown back; ``url``: an address a person types, checked with
    ``guarded_fetch`` by the module's ``connect``."""

    name: str
    label: str
    help: str = ""
    placeholder: str = ""
    secret: bool = False
    required: bool = True


def connector_class(network: str) -> type | None:
    """The ``Connector`` subclass of the network's module (the class: no account needed), or
    None when the network has no module yet."""
    from .base import Connector

    found = module(network)
    if found is None:
        return None
    for value in vars(found).values():
        if (
            isinstance(value, type)
            and issubclass(value, Connector)
            and getattr(value, "network", None) == network
        ):
            return value
    return None
