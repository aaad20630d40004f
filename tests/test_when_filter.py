"""One way to show a date and time (issue 10, item 6): the ``when`` filter names the zone,
follows daylight saving, reads day first with the month named, and is what the workflow
panel, the post list and the calendar use."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Template
from django.utils import timezone, translation

from socialdesk.web.templatetags.when import calendar_locale, channel_times_differ, when

THIS_YEAR = timezone.now().year


def test_a_time_is_shown_in_the_given_zone_with_the_zone_named():
    at = datetime(THIS_YEAR, 12, 14, 7, 19, tzinfo=UTC)
    assert when(at, "Europe/Paris").endswith(", 08:19 CET")
    assert "14 Dec" in when(at, "Europe/Paris")
    assert when(at, "UTC").endswith(", 07:19 UTC")


def test_daylight_saving_changes_the_name_and_the_hour():
    winter = datetime(THIS_YEAR, 1, 10, 12, 0, tzinfo=UTC)
    summer = datetime(THIS_YEAR, 7, 10, 12, 0, tzinfo=UTC)
    assert when(winter, "Europe/Paris").endswith("13:00 CET")
    assert when(summer, "Europe/Paris").endswith("14:00 CEST")
    assert when(winter, "America/New_York").endswith("07:00 EST")
    assert when(summer, "America/New_York").endswith("08:00 EDT")


def test_the_two_readings_of_a_repeated_hour_read_differently():
    earlier = datetime(2030, 10, 27, 0, 30, tzinfo=UTC)  # 02:30 CEST in Paris
    later = datetime(2030, 10, 27, 1, 30, tzinfo=UTC)  # 02:30 CET
    assert when(earlier, "Europe/Paris") == "Sun 27 Oct 2030, 02:30 CEST"
    assert when(later, "Europe/Paris") == "Sun 27 Oct 2030, 02:30 CET"


def test_a_zone_without_letters_is_named_by_its_offset():
    at = datetime(THIS_YEAR, 3, 2, 6, 0, tzinfo=UTC)
    assert when(at, "Asia/Dubai").endswith("10:00 UTC+4")
    assert when(at, "Asia/Kolkata").endswith("11:30 IST")
    assert when(at, "Asia/Kathmandu").endswith("11:45 UTC+5:45")


def test_another_years_time_says_its_year():
    assert when(datetime(2031, 12, 14, 8, 19, tzinfo=UTC), "UTC") == "Sun 14 Dec 2031, 08:19 UTC"


def test_the_zone_can_be_a_workspace_or_a_channel_or_a_zone(workspace, channel):
    at = datetime(THIS_YEAR, 12, 14, 7, 19, tzinfo=UTC)
    assert when(at, workspace) == when(at, channel) == when(at, ZoneInfo("Europe/Paris"))


def test_without_a_zone_the_current_one_is_used_and_nothing_shows_nothing():
    at = datetime(THIS_YEAR, 12, 14, 7, 19, tzinfo=UTC)
    with timezone.override("America/New_York"):
        assert when(at).endswith("02:19 EST")
    assert when(None, "UTC") == ""
    assert when("", "UTC") == ""
    assert when(at, "Not/AZone").endswith("UTC")  # a bad name never breaks a page


def test_in_a_template_it_reads_the_same():
    at = datetime(THIS_YEAR, 12, 14, 7, 19, tzinfo=UTC)
    text = Template("{% load when %}{{ at|when:'Europe/Paris' }}").render(Context({"at": at}))
    assert text == when(at, "Europe/Paris")


def test_the_language_picks_the_pattern_and_the_calendar_locale():
    at = datetime(2031, 12, 14, 7, 19, tzinfo=UTC)
    with translation.override("en-us"):
        assert when(at, "UTC") == "Sun 14 Dec 2031, 07:19 UTC"  # never 12/14
        assert calendar_locale() == "en-gb"
    with translation.override("de"):
        assert when(at, "UTC").startswith("So, 14. Dez")
        assert calendar_locale() == "de"


@pytest.mark.django_db
def test_the_workflow_panel_shows_the_stage_time_in_the_workspace_zone(
    workspace, owner, post, signed_in
):
    """The editor's panel and the approver's page show the same time, with the zone."""
    response = signed_in(owner).get(f"/w/{workspace.slug}/workflow/posts/{post.pk}/")
    assert response.status_code == 200
    body = response.content.decode()
    entered = post.workflow.entered_at.astimezone(ZoneInfo("Europe/Paris"))
    assert f"{entered:%H:%M} {entered.tzname()}" in body


def test_times_differ_only_when_the_channels_have_different_times():
    class Rows:
        def __init__(self, times):
            self.times = times

        def all(self):
            return [type("D", (), {"scheduled_at": t})() for t in self.times]

    class P:
        def __init__(self, times):
            self.deliveries = Rows(times)

    one = datetime(2031, 1, 1, tzinfo=UTC)
    two = datetime(2031, 1, 3, tzinfo=UTC)
    assert channel_times_differ(P([one, one, None])) is False
    assert channel_times_differ(P([one, two])) is True
