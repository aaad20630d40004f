"""The tests' fake network keeps the connector contract the engine relies on (networks/base.py):
if it did not, the publishing tests would prove nothing about real connectors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fake_network import (
    TIMEOUT_AFTER_WRITING,
    FakeConnector,
    permanent,
    rate_limited,
    revoked,
    transient,
)

from socialdesk.networks.base import Connector, ConnectorError, DeliveryContent

# No database: the SQLite pass alone runs these (scripts/test.sh).
pytestmark = pytest.mark.any_database

BREAD = DeliveryContent(text="Rye on Fridays")


def test_it_is_a_connector():
    assert isinstance(FakeConnector(), Connector)


def test_the_same_key_publishes_once_and_is_found_afterwards():
    network = FakeConnector()
    first = network.publish(BREAD, "k1")
    assert network.publish(BREAD, "k1") == first
    assert network.find_published("k1") == first
    assert network.find_published("k2") is None
    assert (network.calls, network.created) == (["k1", "k1"], 1)


def test_a_timeout_after_writing_leaves_a_post_that_reconciliation_finds():
    network = FakeConnector()
    network.script = [TIMEOUT_AFTER_WRITING]
    with pytest.raises(TimeoutError):
        network.publish(BREAD, "k1")
    assert network.find_published("k1") is not None
    assert network.created == 1


def test_scripted_errors_say_what_the_engine_should_do():
    reset = datetime(2030, 1, 1, tzinfo=UTC)
    network = FakeConnector()
    network.script = [transient(), permanent(), revoked(), rate_limited(reset)]
    seen = []
    for key in ["a", "b", "c", "d"]:
        with pytest.raises(ConnectorError) as caught:
            network.publish(BREAD, key)
        seen.append((caught.value.permanent, caught.value.auth_revoked, caught.value.retry_after))
    assert seen == [
        (False, False, None),
        (True, False, None),
        (True, True, None),
        (False, False, reset),
    ]
    assert network.created == 0
    assert network.publish(BREAD, "e").remote_id == "post-1"  # the script is used up


def test_rules_and_pacing_are_configurable():
    network = FakeConnector(max_length=5, cost=lambda content: {"points": 2})
    assert [str(p) for p in network.validate(BREAD)] == [
        "text: Is 14 characters; this network allows 5."
    ]
    assert network.cost(BREAD) == {"points": 2}
    assert FakeConnector().cost(BREAD) == {}
