"""The iCalendar feed (no login, the token is the key) and its settings page."""

from django.urls import path

from . import ical

urlpatterns = [
    path("ical/<str:token>.ics", ical.calendar_feed, name="ical_feed"),
    path("w/<slug:slug>/settings/calendar/", ical.calendar_settings, name="ical_settings"),
    path("w/<slug:slug>/settings/calendar/revoke/", ical.calendar_revoke, name="ical_revoke"),
]
