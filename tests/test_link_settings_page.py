"""Settings → Links and conversions: owners and managers turn short links off, set the
window and make the shop's secret, shown once; others are refused."""

from __future__ import annotations

import pytest

from socialdesk.analytics.models import LinkSettings

URL = "/w/crumb/settings/links/"


def test_a_manager_turns_short_links_off_and_sets_the_window(signed_in, manager, workspace):
    page = signed_in(manager)
    response = page.post(URL, {"action": "settings", "conversion_window_days": "14"})
    assert response.status_code == 302
    row = LinkSettings.objects.get(workspace=workspace)
    assert (row.short_links, row.conversion_window_days) == (False, 14)
    assert "Link settings saved." in page.get(URL).content.decode()


def test_a_window_out_of_range_is_shown_again_with_its_error(signed_in, owner):
    response = signed_in(owner).post(URL, {"action": "settings", "conversion_window_days": "0"})
    assert response.status_code == 400
    assert "greater than or equal to 1" in response.content.decode()
    assert not LinkSettings.objects.exists()


def test_the_secret_is_shown_once_then_never_again(signed_in, owner, workspace):
    page = signed_in(owner)
    made = page.post(URL, {"action": "secret"}).content.decode()
    assert "shown only this once" in made
    assert "sdc_" in made
    again = page.get(URL)
    assert "sdc_" not in again.content.decode()
    assert "A secret is set" in again.content.decode()
    assert "no-store" in again["Cache-Control"]


@pytest.mark.parametrize("role", ["creator", "approver", "client", "analyst", "community_manager"])
def test_other_roles_cannot_open_it(signed_in, person, role):
    assert signed_in(person(role)).get(URL).status_code == 403
