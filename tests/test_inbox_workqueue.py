"""Working the queue: assigning by hand, automatic assignment by round robin and by
capacity (available people only, never over their maximum), presence with expiry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from inbox_helpers import conversation

from socialdesk.inbox import status, workqueue
from socialdesk.inbox.models import AutoAssign, Presence

pytestmark = pytest.mark.django_db


def new_one(workspace, channel, n: int):
    return conversation(workspace, channel, f"c{n}.example", f"question {n}")


def test_assign_to_me_and_unassign_leave_the_status_alone(workspace, channel, members):
    c = new_one(workspace, channel, 1)
    workqueue.assign_to_me(c, members["community_manager"])
    c.refresh_from_db()
    assert c.assignee == members["community_manager"] and c.status == "new"
    workqueue.unassign(c, members["manager"])
    c.refresh_from_db()
    assert c.assignee is None and c.status == "new"


def test_nobody_outside_the_answering_roles_or_the_workspace_is_assigned(
    workspace, channel, members, outsider
):
    c = new_one(workspace, channel, 1)
    for person in (members["analyst"], members["client"], outsider):
        with pytest.raises(ValidationError):
            workqueue.assign(c, person, by=members["owner"])
    c.refresh_from_db()
    assert c.assignee is None


def test_automatic_assignment_is_off_by_default(workspace, channel, members):
    workqueue.set_availability(workspace, members["creator"], available=True)
    assert workqueue.auto_assign(new_one(workspace, channel, 1)) is None


def test_round_robin_takes_turns_among_available_people_only(workspace, channel, members):
    workqueue.set_auto_assign(workspace, AutoAssign.ROUND_ROBIN)
    cm, creator = members["community_manager"], members["creator"]
    workqueue.set_availability(workspace, cm, available=True)
    workqueue.set_availability(workspace, creator, available=True)
    workqueue.set_availability(workspace, members["manager"], available=False)
    chosen = [workqueue.auto_assign(new_one(workspace, channel, n)) for n in range(4)]
    assert set(chosen) == {cm, creator}
    assert chosen[0] != chosen[1] and chosen[0] == chosen[2] and chosen[1] == chosen[3]


def test_capacity_gives_to_the_most_room_and_never_over_the_maximum(workspace, channel, members):
    workqueue.set_auto_assign(workspace, AutoAssign.CAPACITY)
    cm, creator = members["community_manager"], members["creator"]
    workqueue.set_availability(workspace, cm, available=True, max_open=3)
    workqueue.set_availability(workspace, creator, available=True, max_open=1)
    chosen = [workqueue.auto_assign(new_one(workspace, channel, n)) for n in range(5)]
    assert chosen.count(cm) == 3 and chosen.count(creator) == 1
    assert chosen[-1] is None  # everyone is full
    # A resolved conversation frees a place.
    mine = workspace_conversation_of(cm)
    status.resolve(mine)
    assert workqueue.auto_assign(new_one(workspace, channel, 9)) == cm


def workspace_conversation_of(user):
    from socialdesk.inbox.models import Conversation

    return Conversation.objects.filter(assignee=user).first()


def test_an_already_assigned_conversation_keeps_its_person(workspace, channel, members):
    workqueue.set_auto_assign(workspace, AutoAssign.ROUND_ROBIN)
    workqueue.set_availability(workspace, members["creator"], available=True)
    c = new_one(workspace, channel, 1)
    workqueue.assign(c, members["owner"], by=members["owner"])
    assert workqueue.auto_assign(c) is None
    c.refresh_from_db()
    assert c.assignee == members["owner"]


def test_settings_refuse_bad_values(workspace, members):
    with pytest.raises(ValidationError):
        workqueue.set_auto_assign(workspace, "lottery")
    with pytest.raises(ValidationError):
        workqueue.set_availability(workspace, members["creator"], max_open=0)
    with pytest.raises(ValidationError):
        workqueue.set_availability(workspace, members["analyst"], available=True)


def test_presence_expires_and_typing_shows(workspace, channel, members):
    c = new_one(workspace, channel, 1)
    workqueue.touch_presence(c, members["manager"], typing=True)
    workqueue.touch_presence(c, members["owner"])
    workqueue.touch_presence(c, members["owner"])  # a second beat: still one row
    here = workqueue.present(c, exclude=members["owner"])
    assert [(p.user, p.typing) for p in here] == [(members["manager"], True)]
    assert Presence.objects.filter(conversation=c).count() == 2
    Presence.objects.filter(user=members["manager"]).update(
        seen_at=timezone.now() - workqueue.PRESENCE_TTL - timedelta(seconds=1)
    )
    assert workqueue.present(c, exclude=members["owner"]) == []


def test_new_count_is_mine_and_nobodys_new_ones_without_spam(workspace, channel, members):
    a, b, c, d = (new_one(workspace, channel, n) for n in range(4))
    workqueue.assign(b, members["creator"], by=None)
    status.resolve(c)
    d.spam = True
    d.save(update_fields=["spam"])
    assert workqueue.new_count(workspace, members["owner"]) == 1
    assert workqueue.new_count(workspace, members["creator"]) == 2
