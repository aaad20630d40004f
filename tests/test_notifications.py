"""Notifications: who is told, in the app and by email, and the publishing engine's events.

Emails go to Django's test outbox; tasks are run with ``.call()`` (the queue only carries
them); the digest is driven with an explicit ``now`` in the bakery's zone (Europe/Paris).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.utils import timezone
from fake_network import FakeConnector, install, revoked
from task_queue import flush, queued

from socialdesk.content.services import PostContent, create_post
from socialdesk.networks.base import ConnectorError
from socialdesk.notifications import digest
from socialdesk.notifications.digest import latest_slot, send_digests
from socialdesk.notifications.models import EmailRoute, Notification, NotificationPreference
from socialdesk.notifications.services import (
    EVENTS,
    mark_all_read,
    notify,
    people_with_role,
    set_email_mode,
)
from socialdesk.notifications.tasks import MAX_ATTEMPTS, send_notification_email
from socialdesk.publishing.dispatch import attempt, claim, run, sweep
from socialdesk.publishing.models import Delivery, DeliveryState
from socialdesk.workspaces.models import Membership

S = DeliveryState


def paris(*args: int) -> datetime:
    from zoneinfo import ZoneInfo

    return datetime(*args, tzinfo=ZoneInfo("Europe/Paris"))


# --- Who is told ---------------------------------------------------------------------------


def test_each_recipient_is_told_once_and_the_actor_not_at_all(workspace, owner, manager, creator):
    made = notify(
        workspace,
        [creator, manager, creator, owner],
        "approval.requested",
        "Approve “Rye on Fridays”",
        actor=owner,
        url="/w/crumb/posts/1/",
    )
    assert sorted(n.recipient.email for n in made) == ["creator@crumb.test", "manager@crumb.test"]
    assert Notification.objects.count() == 2


def test_people_outside_the_workspace_are_never_told(workspace, creator, outsider):
    made = notify(workspace, [creator, outsider], "post.ready", "Ready to go")
    assert [n.recipient for n in made] == [creator]


def test_an_unknown_event_is_a_programming_error(workspace, creator):
    with pytest.raises(ValueError, match="Unknown notification event"):
        notify(workspace, [creator], "post.exploded", "Boom")


def test_the_contracted_events_all_exist():
    for key in [
        "delivery.missed", "delivery.failed", "channel.needs_reconnecting", "deliveries.paused",
        "post.submitted", "approval.requested", "approval.changes_requested", "post.approved",
        "post.ready", "comment.mention", "comment.reply", "review.client_action",
        "step.due_tomorrow", "step.overdue",
    ]:  # fmt: skip
        assert key in EVENTS


def test_people_with_role_lists_active_members_holding_those_roles(workspace, owner, manager):
    manager.is_active = False
    manager.save(update_fields=["is_active"])
    assert people_with_role(workspace, "owner", "manager") == [owner]


def test_a_notification_keeps_what_it_is_about(workspace, owner, creator, post):
    (made,) = notify(workspace, [creator], "post.approved", "Approved", target=post, actor=owner)
    made.refresh_from_db()
    assert (made.target_type.model, made.target_id, made.target_repr) == (
        "post",
        post.pk,
        str(post),
    )
    assert made.actor == owner


# --- Email ---------------------------------------------------------------------------------


def test_direct_events_are_emailed_at_once_and_the_rest_wait_for_the_digest(
    workspace, creator, django_capture_on_commit_callbacks
):
    flush()
    with django_capture_on_commit_callbacks(execute=True):
        (mention,) = notify(workspace, [creator], "comment.mention", "Ana mentioned you")
        (ready,) = notify(workspace, [creator], "post.ready", "A post is ready")
    assert (mention.email_route, ready.email_route) == (EmailRoute.IMMEDIATE, EmailRoute.DIGEST)
    # Only the direct one was handed to the queue, after the commit.
    assert len(queued(mention.pk, "send_notification_email")) == 1
    assert queued(ready.pk, "send_notification_email") == []

    assert send_notification_email.call(mention.pk) == "sent"
    (email,) = mail.outbox
    assert email.to == ["creator@crumb.test"]
    assert email.subject == "[Crumb & Co] Ana mentioned you"
    assert "Ana mentioned you" in email.body
    html, kind = email.alternatives[0]
    assert kind == "text/html" and "Ana mentioned you" in html
    # Running the task again (a duplicate in the queue) sends nothing more.
    assert send_notification_email.call(mention.pk) == "nothing to do"
    assert len(mail.outbox) == 1


@pytest.mark.parametrize(
    ("mode", "route"),
    [
        ("off", EmailRoute.NONE),
        ("immediately", EmailRoute.IMMEDIATE),
        ("digest", EmailRoute.DIGEST),
    ],
)
def test_each_persons_email_choice_decides_the_route(workspace, creator, mode, route):
    set_email_mode(workspace, creator, mode)
    (made,) = notify(workspace, [creator], "post.ready", "Ready")
    assert made.email_route == route


def test_a_failing_mail_server_never_reaches_the_caller_and_is_retried_a_bounded_number_of_times(
    workspace, creator, monkeypatch
):
    def broken(notification):
        raise ConnectionRefusedError("smtp down")

    monkeypatch.setattr("socialdesk.notifications.emails.send_one", broken)
    (made,) = notify(workspace, [creator], "comment.mention", "Ping")
    flush()
    assert send_notification_email.call(made.pk) == "retrying"
    assert len(queued(made.pk, "send_notification_email")) == 1  # with a delay
    assert send_notification_email.call(made.pk) == "not due yet"
    for _ in range(MAX_ATTEMPTS - 2):
        Notification.objects.filter(pk=made.pk).update(email_next_at=None)  # time passes
        assert send_notification_email.call(made.pk) == "retrying"
    Notification.objects.filter(pk=made.pk).update(email_next_at=None)
    assert send_notification_email.call(made.pk) == "failed"
    made.refresh_from_db()
    assert (made.email_attempts, made.emailed_at) == (MAX_ATTEMPTS, None)


# --- The daily digest ----------------------------------------------------------------------


def _at(notification: Notification, moment: datetime) -> None:
    Notification.objects.filter(pk=notification.pk).update(created_at=moment)


def test_the_digest_goes_out_at_eight_in_the_workspace_zone_once_per_day(workspace, creator):
    set_email_mode(workspace, creator, "digest")
    first = notify(workspace, [creator], "post.ready", "Stollen is ready")[0]
    second = notify(workspace, [creator], "step.overdue", "Copy for Easter is overdue")[0]
    _at(first, paris(2030, 3, 4, 15, 0))
    _at(second, paris(2030, 3, 4, 16, 0))

    assert send_digests(paris(2030, 3, 5, 7, 59)) == 1  # the 4 March slot had not been used
    mail.outbox.clear()
    NotificationPreference.objects.update(last_digest_at=paris(2030, 3, 4, 8, 0))
    Notification.objects.update(emailed_at=None)

    assert send_digests(paris(2030, 3, 5, 7, 59)) == 0
    assert mail.outbox == []
    assert send_digests(paris(2030, 3, 5, 8, 0)) == 1
    (email,) = mail.outbox
    assert email.subject == "[Crumb & Co] Your daily digest: 2 notifications"
    assert email.body.index("Stollen is ready") < email.body.index("Copy for Easter is overdue")
    # Idempotent: the same slot, later that morning, sends nothing.
    assert send_digests(paris(2030, 3, 5, 11, 0)) == 0
    # The next day brings only what arrived since.
    third = notify(workspace, [creator], "step.due_tomorrow", "Photos due tomorrow")[0]
    _at(third, paris(2030, 3, 5, 12, 0))
    assert send_digests(paris(2030, 3, 6, 8, 1)) == 1
    assert "Photos due tomorrow" in mail.outbox[1].body
    assert "Stollen" not in mail.outbox[1].body


def test_what_was_read_in_the_app_is_left_out_of_the_digest(workspace, creator):
    set_email_mode(workspace, creator, "digest")
    notify(workspace, [creator], "post.ready", "Already seen")
    mark_all_read(workspace, creator)
    assert send_digests(paris(2030, 3, 5, 8, 0)) == 0
    assert mail.outbox == []
    assert Notification.objects.get().emailed_at is not None  # handled, not pending forever


def test_the_slot_follows_daylight_saving_time(workspace):
    # Paris moves to summer time on 31 March 2030: 08:00 is 07:00 UTC before, 06:00 after.
    assert latest_slot(workspace, datetime(2030, 3, 30, 9, 0, tzinfo=UTC)).astimezone(UTC).hour == 7
    assert latest_slot(workspace, datetime(2030, 4, 1, 9, 0, tzinfo=UTC)).astimezone(UTC).hour == 6


def test_a_failed_digest_gives_its_slot_back(workspace, creator, monkeypatch):
    set_email_mode(workspace, creator, "digest")
    notify(workspace, [creator], "post.ready", "Ready")

    def broken(*args):
        raise ConnectionRefusedError("smtp down")

    monkeypatch.setattr(digest, "send_digest", broken)
    assert send_digests(paris(2030, 3, 5, 8, 0)) == 0
    monkeypatch.undo()
    assert send_digests(paris(2030, 3, 5, 8, 5)) == 1


def test_the_heartbeat_runs_the_digest_at_most_once_a_minute(monkeypatch):
    calls = []
    monkeypatch.setattr(digest, "send_digests", lambda now: calls.append(now) or 0)
    monkeypatch.setattr(digest, "_last_heartbeat", None)
    start = datetime(2030, 3, 5, 7, 0, tzinfo=UTC)
    digest.on_heartbeat(start)
    digest.on_heartbeat(start + timedelta(seconds=5))
    digest.on_heartbeat(start + timedelta(seconds=61))
    assert calls == [start, start + timedelta(seconds=61)]


# --- The publishing engine's events --------------------------------------------------------


@pytest.fixture
def network(monkeypatch) -> FakeConnector:
    return install(monkeypatch)


@pytest.fixture
def creators_due(workspace, creator, channel) -> Delivery:
    """A post written by the creator, due on the bakery's page a minute ago."""
    post = create_post(
        workspace,
        creator,
        PostContent(
            text="Rye on Fridays",
            channel_ids=[channel.pk],
            scheduled_at=timezone.now() + timedelta(days=1),
        ),
    )
    flush()
    delivery = post.deliveries.get()
    Delivery.objects.filter(pk=delivery.pk).update(
        scheduled_at=timezone.now() - timedelta(minutes=1), enqueued_for=None
    )
    delivery.refresh_from_db()
    return delivery


def told(event: str) -> list[str]:
    rows = Notification.objects.filter(event=event).order_by("recipient__email")
    return [n.recipient.email for n in rows]


def test_a_missed_delivery_tells_its_author_the_owners_and_the_managers(creators_due, members):
    Delivery.objects.filter(pk=creators_due.pk).update(
        scheduled_at=timezone.now() - timedelta(hours=7)
    )
    report = sweep()
    assert report.missed == [creators_due.pk]
    assert told("delivery.missed") == [
        "creator@crumb.test",
        "manager@crumb.test",
        "owner@crumb.test",
    ]
    notification = Notification.objects.filter(event="delivery.missed").first()
    assert "Missed on" in notification.title and "late window" in notification.body
    assert notification.url == f"/w/crumb/posts/{creators_due.post_id}/"


def test_a_delivery_refused_for_good_tells_its_author_the_owners_and_the_managers(
    creators_due, network, members
):
    network.script = [ConnectorError("Text too long for this network", permanent=True)]
    assert run(creators_due.pk, "w1") == S.FAILED
    assert told("delivery.failed") == [
        "creator@crumb.test",
        "manager@crumb.test",
        "owner@crumb.test",
    ]
    assert "Text too long" in Notification.objects.filter(event="delivery.failed").first().body


def test_a_revoked_channel_tells_the_owners_and_managers_once_not_once_per_delivery(
    creators_due, network, workspace, creator, channel, members
):
    # Every call answers "revoked"; the first one lets another worker's attempt run inside
    # it, as two workers publishing on one channel at the same moment would.
    network.otherwise = revoked
    others = []
    for text in ["Stollen season", "Rye on Saturdays"]:
        other = create_post(
            workspace,
            creator,
            PostContent(
                text=text,
                channel_ids=[channel.pk],
                scheduled_at=timezone.now() + timedelta(days=1),
            ),
        ).deliveries.get()
        Delivery.objects.filter(pk=other.pk).update(
            scheduled_at=timezone.now() - timedelta(minutes=1)
        )
        others.append(other)
    claimed = claim(others[0].pk, "w2")

    def meanwhile():
        attempt(claimed, "w2")
        return revoked()

    network.script = [meanwhile]

    assert run(creators_due.pk, "w1") == S.SCHEDULED  # paused, not failed
    assert len(network.calls) == 2  # both workers heard "revoked"
    assert run(others[1].pk, "w3") == S.SCHEDULED  # paused before calling the network
    assert len(network.calls) == 2

    assert told("channel.needs_reconnecting") == ["manager@crumb.test", "owner@crumb.test"]
    assert told("delivery.failed") == []
    body = Notification.objects.filter(event="channel.needs_reconnecting").first().body
    assert "Token has been revoked" in body and "3 scheduled deliveries" in body


def test_a_notification_that_cannot_be_written_never_breaks_publishing(
    creators_due, network, monkeypatch
):
    def broken(*args, **kwargs):
        raise RuntimeError("notifications are down")

    monkeypatch.setattr("socialdesk.notifications.publishing.notify", broken)
    network.script = [ConnectorError("Rejected", permanent=True)]
    assert run(creators_due.pk, "w1") == S.FAILED
    assert Delivery.objects.get(pk=creators_due.pk).state == S.FAILED


def test_a_removed_member_is_not_told(creators_due, workspace, manager, members):
    Membership.objects.filter(workspace=workspace, user=manager).delete()
    Delivery.objects.filter(pk=creators_due.pk).update(
        scheduled_at=timezone.now() - timedelta(hours=7)
    )
    sweep()
    assert "manager@crumb.test" not in told("delivery.missed")


# --- The notification centre: page and API -------------------------------------------------


def test_the_centre_lists_only_ones_own_notifications_newest_first(
    workspace, owner, creator, signed_in
):
    older = notify(workspace, [creator], "post.ready", "Older one")[0]
    _at(older, timezone.now() - timedelta(hours=2))
    notify(workspace, [creator], "comment.mention", "Newer one", url="/w/crumb/posts/")
    notify(workspace, [owner], "post.ready", "Only for the owner")

    page = signed_in(creator).get("/w/crumb/notifications/")
    html = page.content.decode()
    assert page.status_code == 200
    assert html.index("Newer one") < html.index("Older one")
    assert "Only for the owner" not in html
    assert 'id="notification-badge" class="nav-badge">2<' in html  # the sidebar's unread count
    assert html.count("is-unread") == 2


def test_marking_one_read_works_as_a_form_post_and_through_htmx(workspace, creator, signed_in):
    first, second = (
        notify(workspace, [creator], "post.ready", title)[0] for title in ["First", "Second"]
    )
    client = signed_in(creator)
    response = client.post(f"/w/crumb/notifications/{first.pk}/read/")
    assert response.status_code == 302 and response["Location"] == "/w/crumb/notifications/"
    first.refresh_from_db()
    assert first.read_at is not None

    response = client.post(f"/w/crumb/notifications/{second.pk}/read/", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert f'id="notification-{second.pk}"' in html and "is-unread" not in html
    assert 'hx-swap-oob="true" hidden' in html  # the badge, now at zero, hides


def test_mark_all_read_and_nobody_marks_someone_elses(workspace, owner, creator, signed_in):
    theirs = notify(workspace, [owner], "post.ready", "The owner's")[0]
    notify(workspace, [creator], "post.ready", "Mine")
    client = signed_in(creator)
    assert client.post(f"/w/crumb/notifications/{theirs.pk}/read/").status_code == 404
    client.post("/w/crumb/notifications/read-all/")
    assert Notification.objects.filter(recipient=creator, read_at=None).count() == 0
    assert Notification.objects.get(pk=theirs.pk).read_at is None


def test_opening_a_notification_marks_it_read_and_follows_only_local_links(
    workspace, creator, signed_in
):
    local = notify(workspace, [creator], "post.ready", "Local", url="/w/crumb/posts/")[0]
    evil = notify(workspace, [creator], "post.ready", "Evil", url="//evil.test/phish")[0]
    client = signed_in(creator)
    assert client.get(f"/w/crumb/notifications/{local.pk}/open/")["Location"] == "/w/crumb/posts/"
    assert client.get(f"/w/crumb/notifications/{evil.pk}/open/")["Location"] == (
        "/w/crumb/notifications/"
    )
    assert Notification.objects.filter(read_at=None).count() == 0


def test_an_outsider_cannot_see_the_bakerys_notification_centre(outsider, signed_in, members):
    assert signed_in(outsider).get("/w/crumb/notifications/").status_code == 404


def test_each_person_chooses_how_they_are_emailed(workspace, client_user, signed_in):
    client = signed_in(client_user)
    response = client.post("/w/crumb/notifications/email/", {"email_mode": "off"})
    assert response.status_code == 302
    assert NotificationPreference.objects.get(user=client_user).email_mode == "off"
    response = client.post("/w/crumb/notifications/email/", {"email_mode": "hourly"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


def test_the_api_lists_pages_and_marks_ones_own(workspace, creator, owner, token_for):
    from api_helpers import call

    for i in range(3):
        notify(workspace, [creator], "post.ready", f"Number {i}")
    theirs = notify(workspace, [owner], "post.ready", "Not yours")[0]
    token = token_for(creator)

    first = call("get", "/workspaces/crumb/notifications?limit=2", token).json()
    assert [n["title"] for n in first["items"]] == ["Number 2", "Number 1"]
    assert first["unread_count"] == 3 and first["items"][0]["unread"] is True
    rest = call("get", f"/workspaces/crumb/notifications?cursor={first['next_cursor']}", token)
    assert [n["title"] for n in rest.json()["items"]] == ["Number 0"]

    ids = [first["items"][0]["id"], theirs.pk]
    marked = call("post", "/workspaces/crumb/notifications/read", token, json_body={"ids": ids})
    assert marked.json() == {"marked": 1, "unread_count": 2}
    assert Notification.objects.get(pk=theirs.pk).read_at is None
    unread = call("get", "/workspaces/crumb/notifications?unread=true", token).json()
    assert len(unread["items"]) == 2
    assert call("post", "/workspaces/crumb/notifications/read-all", token).json()["marked"] == 2

    prefs = call("put", "/workspaces/crumb/notifications/preferences", token,
                 json_body={"email_mode": "nope"})  # fmt: skip
    assert prefs.status_code == 422
