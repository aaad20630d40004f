"""Every network in the catalog (issue 16) says what people need to know, builds no connector
without credentials, and has its row in the README's network table."""

from __future__ import annotations

from pathlib import Path

import pytest

from socialdesk.networks import catalog
from socialdesk.networks.base import Connector
from socialdesk.networks.models import REQUIRED_CREDENTIALS, Network

pytestmark = pytest.mark.any_database

README = Path(__file__).resolve().parent.parent / "README.md"
BUILT = [about.network for about in catalog.built()]


def readme_rows() -> dict[str, str]:
    """network label → its row of the README's "Networks" table."""
    section = README.read_text().split("## Networks", 1)[1]
    table = section[section.index("| network | status |") :].split("\n\n", 1)[0]
    rows = {}
    for line in table.splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0]] = line
    return rows


def test_every_network_has_its_module_in_the_catalog():
    assert set(catalog.MODULES) == set(Network.values)


@pytest.mark.parametrize("network", BUILT)
def test_a_built_network_says_how_it_connects_and_how_it_is_tested(network):
    about = catalog.about(network)
    assert about is not None and about.network == network
    assert about.connect in ("oauth", "form", "app_password", "instance_oauth", "none")
    assert about.text_max > 0 and about.text_unit in ("graphemes", "codepoints", "weighted")
    for words in (about.operator_setup, about.accounts, about.tested):
        assert len(words) > 10, f"{network}: say it in words"
    module = catalog.module(network)
    connector = catalog.connector_class(network)
    assert connector is not None and issubclass(connector, Connector)
    if about.connect == "oauth":
        assert module.OAUTH.authorize_url.startswith("https://")
        assert module.OAUTH.token_url.startswith("https://")
        assert callable(module.accounts)
    if about.connect == "form":
        assert module.FORM_FIELDS and callable(module.connect)
    if network not in ("page", "bluesky", "mastodon"):
        assert network in REQUIRED_CREDENTIALS
        assert module.build({}, lambda fresh: None) is None


@pytest.mark.parametrize("network", BUILT)
def test_the_readme_table_has_a_row_for_it(network):
    rows = readme_rows()
    label = catalog.label(network)
    assert any(name.startswith(label) for name in rows), f"README has no row for {label}"
