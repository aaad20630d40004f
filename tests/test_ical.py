"""The iCalendar feed (issue 5, item 8): a secret, revocable per-person address."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone
from icalendar import Calendar

from socialdesk.content.services import PostContent, create_post
from socialdesk.web import ical
from socialdesk.workspaces.models import CalendarFeed, Membership


def events(response) -> list:
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    calendar = Calendar.from_ical(response.content)
    return [c for c in calendar.walk("VEVENT")]


@pytest.fixture
def feed(workspace, creator) -> CalendarFeed:
    return ical.create_feed(workspace, creator)


def test_the_feed_lists_scheduled_deliveries_in_utc_with_channel_and_link(
    workspace, owner, channel, post, feed
):
    draft = create_post(
        workspace, owner, PostContent(text="Not planned yet", channel_ids=[channel.pk])
    )
    [event] = events(Client().get(f"/ical/{feed.token}.ics"))
    delivery = post.deliveries.get()
    assert event.decoded("dtstart") == delivery.scheduled_at.replace(microsecond=0)
    assert event.decoded("dtstart").tzinfo is not None
    assert event.decoded("dtstart").utcoffset() == timedelta(0)
    assert str(event["summary"]).startswith("Public page crumb: Fresh sourdough")
    assert str(event["url"]) == f"http://testserver/w/crumb/posts/{post.pk}/"
    assert str(event["uid"]) == f"socialdesk-delivery-{delivery.pk}@crumb"
    assert draft.pk != post.pk  # the draft has no time and is not in the feed


def test_no_login_is_needed_but_unknown_and_revoked_addresses_are_404(
    workspace, creator, feed, post
):
    token = feed.token
    assert Client().get(f"/ical/{token}.ics").status_code == 200
    assert Client().get(f"/ical/{token[:-1]}x.ics").status_code == 404
    assert Client().get("/ical/nothing.ics").status_code == 404
    assert ical.revoke_feed(workspace, creator)
    assert Client().get(f"/ical/{token}.ics").status_code == 404


def test_a_new_address_replaces_the_old_one(workspace, creator, feed, post):
    old = feed.token
    new = ical.create_feed(workspace, creator).token
    assert new != old
    assert Client().get(f"/ical/{old}.ics").status_code == 404
    assert Client().get(f"/ical/{new}.ics").status_code == 200


def test_the_address_stops_working_when_the_person_leaves_the_workspace(workspace, creator, feed):
    Membership.objects.filter(workspace=workspace, user=creator).delete()
    assert Client().get(f"/ical/{feed.token}.ics").status_code == 404


def test_only_a_hash_of_the_token_is_stored_and_the_token_can_be_shown_again(feed):
    stored = CalendarFeed.objects.get(pk=feed.pk)
    assert stored.token == feed.token  # derivable from salt + SECRET_KEY, so copyable later
    assert stored.token_hash == CalendarFeed.hash(feed.token)
    row = CalendarFeed.objects.filter(pk=feed.pk).values().get()
    assert feed.token not in [str(v) for v in row.values()]


def test_the_feed_is_one_workspaces_only(
    workspace, feed, post, other_post, other_workspace, outsider
):
    assert len(events(Client().get(f"/ical/{feed.token}.ics"))) == 1
    rival = ical.create_feed(other_workspace, outsider)
    # The rival's only post is a draft: nothing of the bakery shows in the rival's feed.
    assert events(Client().get(f"/ical/{rival.token}.ics")) == []


def test_old_deliveries_are_left_out(workspace, feed, post):
    later = timezone.now() + ical.PAST + timedelta(days=1)
    document = ical.build_calendar(feed, lambda pk: f"/p/{pk}", now=later + ical.PAST)
    assert b"VEVENT" not in document


def test_the_settings_page_creates_shows_and_revokes_the_address(workspace, client_user, signed_in):
    client = signed_in(client_user)  # every role may subscribe: they all read the plan
    url = f"/w/{workspace.slug}/settings/calendar/"
    assert b"Create my calendar address" in client.get(url).content
    assert client.post(url, {}).status_code == 302
    feed = CalendarFeed.objects.get(user=client_user)
    page = client.get(url)
    assert feed.token.encode() in page.content and page["Cache-Control"] == "no-store"
    client.post(url + "revoke/")
    assert not CalendarFeed.objects.exists()


def test_an_outsider_cannot_open_the_bakerys_settings_page(workspace, outsider, signed_in):
    assert signed_in(outsider).get(f"/w/{workspace.slug}/settings/calendar/").status_code == 404


def test_stage_deadlines_are_shown_when_the_person_asks_for_them(workspace, feed, monkeypatch):
    from socialdesk.workflow import services as workflow

    due = datetime(2030, 1, 2, 9, 0, tzinfo=UTC)

    class Visit:
        pk, post_id, due_at, entered_at, stage, post = 7, 1, due, due, "Review", "Rye bread"

    monkeypatch.setattr(workflow, "open_steps", lambda ws: [Visit()])
    assert b"Due: Review" not in ical.build_calendar(feed, str)
    feed.include_deadlines = True
    [event] = Calendar.from_ical(ical.build_calendar(feed, str)).walk("VEVENT")
    assert str(event["summary"]) == "Due: Review — Rye bread"
    assert event.decoded("dtstart") == due
