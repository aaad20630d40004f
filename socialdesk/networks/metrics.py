"""What each network gives to measure (issue 14): read from its connector's
``metric_table`` and ``metric_note``, for the Channels page, the API and
``analytics.metrics`` (which polls only the networks that measure)."""

from __future__ import annotations

from dataclasses import dataclass

from .base import Connector, MetricInfo
from .models import Network


def connector_class(network: str) -> type[Connector] | None:
    """The connector class of a network (the class, not an instance: no account needed)."""
    if network == Network.BLUESKY:
        from socialdesk.networks.bluesky import BlueskyConnector

        return BlueskyConnector
    if network == Network.MASTODON:
        from socialdesk.networks.mastodon import MastodonConnector

        return MastodonConnector
    if network == Network.PAGE:
        from socialdesk.networks.page import PageConnector

        return PageConnector
    from . import catalog  # the networks of issue 16

    return catalog.connector_class(network)


def measured_networks() -> list[str]:
    """The networks whose connector measures (``Connector.measures``): their channels are
    polled."""
    return [n for n in Network.values if (c := connector_class(n)) is not None and c.measures]


@dataclass(frozen=True)
class NetworkMetrics:
    """What one network gives, for the Channels page and the API."""

    network: str
    label: str
    gives: tuple[MetricInfo, ...]
    note: str


def network_metrics(network: str) -> NetworkMetrics:
    connector = connector_class(network)
    return NetworkMetrics(
        network=network,
        label=str(Network(network).label),
        gives=tuple(connector.metric_table) if connector else (),
        note=connector.metric_note if connector else "Socialdesk measures nothing here.",
    )


def all_network_metrics() -> list[NetworkMetrics]:
    return [network_metrics(network) for network in Network.values]
