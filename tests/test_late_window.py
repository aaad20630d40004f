"""The late window (issue 12, item D): a duration from 15 minutes to 7 days, 6 hours by
default; the settings form and the API refuse 0, too little and too much."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
from api_helpers import call
from django.apps import apps
from django.urls import reverse

from socialdesk.workspaces.models import Workspace

raise_to_minimum = importlib.import_module(
    "socialdesk.workspaces.migrations.0006_late_window_minimum"
).raise_to_minimum


def settings_form(workspace: Workspace, **late) -> dict[str, str]:
    return {"name": workspace.name, "time_zone": workspace.time_zone, **late}


def test_a_new_workspace_waits_six_hours_before_missing_a_post(workspace):
    assert workspace.late_window == timedelta(hours=6)


def test_the_settings_form_offers_durations_from_15_minutes_to_7_days(signed_in, owner):
    page = signed_in(owner).get(reverse("workspace_settings", args=["crumb"])).content.decode()
    assert '<option value="15">15 minutes</option>' in page
    assert '<option value="360" selected>6 hours</option>' in page
    assert '<option value="10080">7 days</option>' in page
    assert '<option value="0"' not in page


def test_the_settings_form_saves_a_quarter_of_an_hour(signed_in, owner, workspace):
    form = settings_form(workspace, late_window_minutes="15")
    response = signed_in(owner).post(reverse("workspace_settings", args=["crumb"]), form)
    assert response.status_code == 302
    workspace.refresh_from_db()
    assert workspace.late_window == timedelta(minutes=15)


@pytest.mark.parametrize("minutes", ["0", "5", "-60", "20160", "999999999999", "six"])
def test_the_settings_form_refuses_a_window_it_does_not_offer(signed_in, owner, workspace, minutes):
    form = settings_form(workspace, late_window_minutes=minutes)
    response = signed_in(owner).post(reverse("workspace_settings", args=["crumb"]), form)
    assert response.status_code == 400
    assert 'id="id_late_window_minutes_error"' in response.content.decode()
    workspace.refresh_from_db()
    assert workspace.late_window == timedelta(hours=6)


def test_an_old_odd_window_is_kept_and_shown_as_it_is(signed_in, owner, workspace):
    workspace.late_window = timedelta(hours=5)
    workspace.save(update_fields=["late_window"])
    page = signed_in(owner).get(reverse("workspace_settings", args=["crumb"])).content.decode()
    assert '<option value="300" selected>5 hours</option>' in page


def test_the_api_reads_and_changes_the_late_window_in_minutes(owner, token_for, workspace):
    token = token_for(owner)
    assert call("get", "/workspaces/crumb", token).json()["late_window_minutes"] == 360
    response = call("patch", "/workspaces/crumb", token, json_body={"late_window_minutes": 30})
    assert response.status_code == 200, response.content
    assert response.json()["late_window_minutes"] == 30
    workspace.refresh_from_db()
    assert workspace.late_window == timedelta(minutes=30)


@pytest.mark.parametrize("minutes", [0, 14, -5, 10081, 10**30])
def test_the_api_refuses_a_window_out_of_range_and_changes_nothing(
    owner, token_for, workspace, minutes
):
    body = {"late_window_minutes": minutes, "name": "Renamed"}
    response = call("patch", "/workspaces/crumb", token_for(owner), json_body=body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "late_window_minutes"
    workspace.refresh_from_db()
    assert (workspace.name, workspace.late_window) == ("Crumb & Co", timedelta(hours=6))


def test_the_migration_raises_a_window_of_zero_to_the_minimum(workspace, other_workspace):
    Workspace.objects.filter(pk=workspace.pk).update(late_window=timedelta(0))
    raise_to_minimum(apps, None)
    workspace.refresh_from_db()
    other_workspace.refresh_from_db()
    assert workspace.late_window == timedelta(minutes=15)
    assert other_workspace.late_window == timedelta(hours=6)
