"""The inbox list stays cheap however big the inbox: a fixed number of queries per request
whatever the page size and filters, a badge count that stops at "99+", the refresh's
"nothing changed" in two small queries, and rows worked out in the view (issue 13, speed;
bench/inbox_list.py measures the time)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from inbox_helpers import conversation

from socialdesk.inbox import listing
from socialdesk.inbox.listing import (
    BADGE_CAP,
    badge_count,
    conversations_for,
    for_the_list,
    parse_filters,
    version_of,
    version_of_page,
)
from socialdesk.inbox.models import Conversation, ConversationStatus, Sentiment, Tag
from socialdesk.inbox.workqueue import new_count
from socialdesk.networks.models import Channel, Network

pytestmark = pytest.mark.django_db

# Session, user, two-factor check, membership; then the first page's fingerprint (is it
# stale?), the service level (the rows' SLA badges), the badge and the list's rows; the page
# adds the filters' channels, tags and members (the layout's own queries come on top).
FRAGMENT_QUERIES = 8
NOTHING_CHANGED_QUERIES = 7


def url(name, workspace, *args):
    return reverse(name, args=[workspace.slug, *args])


def many(workspace, channel, members, count: int) -> list[Conversation]:
    """``count`` conversations from different people, every other one assigned and tagged,
    some negative: what makes a row need its contact, channel, assignee and message."""
    tag = Tag.objects.create(workspace=workspace, name=f"order{count}")
    people = list(members.values())
    now = timezone.now()
    made = []
    for n in range(count):
        found = conversation(
            workspace,
            channel,
            f"c{count}-{n}.example",
            f"message {n} of {count}",
            at=now - timedelta(minutes=n),
            assignee=people[n % len(people)] if n % 2 else None,
            sentiment=Sentiment.NEGATIVE if n % 3 == 0 else Sentiment.NEUTRAL,
        )
        if n % 2:
            found.tags.add(tag)
        made.append(found)
    return made


def queries_of(client, path, params=None, **headers) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, params or {}, headers=headers)
    return response.status_code, len(captured.captured_queries)


@pytest.mark.parametrize("filters", [{}, {"status": "new"}, {"assignee": "me"}, {"tag": "1"}])
def test_the_list_costs_the_same_queries_for_3_rows_as_for_a_full_page(
    signed_in, owner, workspace, channel, members, filters
):
    client = signed_in(owner)
    fragment = url("inbox_list", workspace)
    many(workspace, channel, members, 3)
    small_page = queries_of(client, url("inbox", workspace), filters)
    small = queries_of(client, fragment, {**filters, "version": "x"}, HX_Request="true")
    many(workspace, channel, members, 60)
    full_page = queries_of(client, url("inbox", workspace), filters)
    full = queries_of(client, fragment, {**filters, "version": "x"}, HX_Request="true")
    assert small[0] == full[0] == 200 and small_page[0] == full_page[0] == 200
    # The tag filter first asks whether the tag is rare (listing._tagged).
    assert small[1] == full[1] <= FRAGMENT_QUERIES + ("tag" in filters)
    assert small_page[1] == full_page[1]


def test_nothing_changed_is_two_queries_after_the_membership_check(
    signed_in, owner, workspace, channel, members
):
    many(workspace, channel, members, 60)
    client = signed_in(owner)
    page = client.get(url("inbox", workspace)).content.decode()
    poll = page.split('hx-get="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    with CaptureQueriesContext(connection) as captured:
        quiet = client.get(poll, headers={"HX-Request": "true"})
    assert quiet.status_code == 204
    assert quiet.content == b""
    assert len(captured.captured_queries) <= NOTHING_CHANGED_QUERIES


def test_the_version_from_the_rows_read_is_the_one_the_refresh_checks(workspace, channel, members):
    many(workspace, channel, members, 60)
    owner = members["owner"]
    for data in ({}, {"status": "new"}, {"assignee": "me"}, {"sentiment": "negative"}):
        rows = conversations_for(workspace, parse_filters(data, owner))
        assert version_of_page(list(for_the_list(rows)[:50])) == version_of(rows)


def test_the_badge_stops_counting_at_99_plus(signed_in, owner, workspace, channel, members):
    other = Channel.objects.create(workspace=workspace, network=Network.PAGE, handle="ask")
    contact = conversation(workspace, channel, "seed.example", "hi").contact
    Conversation.objects.bulk_create(
        Conversation(
            workspace=workspace,
            channel=other,
            contact=contact,
            kind="question",
            thread_key=f"q{n}",
        )
        for n in range(BADGE_CAP + 20)
    )
    assert new_count(workspace, owner) == BADGE_CAP + 21
    assert badge_count(workspace, owner) == BADGE_CAP
    html = signed_in(owner).get(url("inbox", workspace)).content.decode()
    assert '<span id="inbox-badge" class="nav-badge">99+<' in html


def test_the_badge_counts_mine_and_nobodys_new_ones_only(workspace, channel, members):
    owner, manager = members["owner"], members["manager"]
    conversation(workspace, channel, "a.example", "mine", assignee=owner)
    conversation(workspace, channel, "b.example", "nobody's")
    conversation(workspace, channel, "c.example", "theirs", assignee=manager)
    conversation(workspace, channel, "d.example", "spam", spam=True)
    done = conversation(workspace, channel, "e.example", "done")
    Conversation.objects.filter(pk=done.pk).update(status=ConversationStatus.RESOLVED)
    assert badge_count(workspace, owner) == 2 == new_count(workspace, owner)
    assert badge_count(workspace, None) == 3


def test_a_row_shows_its_contact_channel_assignee_preview_and_local_time(
    signed_in, owner, workspace, channel, members
):
    workspace.time_zone = "Europe/Paris"
    workspace.save(update_fields=["time_zone"])
    at = datetime(2026, 7, 14, 9, 30, tzinfo=UTC)
    long_text = "Bonjour ! " + "Est-ce que la boulangerie ouvre le dimanche ? " * 5
    found = conversation(
        workspace,
        channel,
        "marie.example",
        long_text,
        name="Marie Curie",
        at=at,
        assignee=members["manager"],
        sentiment=Sentiment.NEGATIVE,
    )
    html = signed_in(owner).get(url("inbox", workspace), {"sentiment": "negative"}).content
    row = html.decode().split(f'id="conv-{found.pk}"', 1)[1].split("</a>", 1)[0]
    assert f'href="/w/{workspace.slug}/inbox/{found.pk}/?sentiment=negative"' in row
    assert ">Marie Curie<" in row
    # 09:30 UTC is 11:30 in Paris in July.
    assert '<time class="conv-time" datetime="2026-07-14T11:30:00+02:00">14 Jul 11:30</time>' in row
    assert "Bonjour ! Est-ce que" in row and "…" in row and long_text not in row
    assert channel.get_network_display() in row
    assert "Negative" in row and members["manager"].display_name in row


def test_a_row_escapes_what_people_wrote(signed_in, owner, workspace, channel):
    found = conversation(
        workspace, channel, "x.example", "<script>alert(1)</script> & more", name='<b>"Eve"</b>'
    )
    html = signed_in(owner).get(url("inbox", workspace)).content.decode()
    row = html.split(f'id="conv-{found.pk}"', 1)[1].split("</a>", 1)[0]
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in row
    assert "&lt;b&gt;&quot;Eve&quot;&lt;/b&gt;" in row
    assert "<script>" not in row and "<b>" not in row


@pytest.mark.parametrize("small_tag", [1000, 3])
def test_a_tag_filter_finds_the_same_rows_read_from_either_side(
    workspace, channel, members, monkeypatch, small_tag
):
    """A rare tag is read from the tag's side, a common one checked on the rows walked
    newest first; both give the same page."""
    monkeypatch.setattr(listing, "SMALL_TAG", small_tag)
    made = many(workspace, channel, members, 12)
    tag = Tag.objects.get(workspace=workspace, name="order12")
    rows = conversations_for(workspace, parse_filters({"tag": str(tag.pk)}, None))
    found = [row["pk"] for row in for_the_list(rows)]
    assert found == [c.pk for c in made if c.tags.filter(pk=tag.pk).exists()]
    assert len(found) == 6
