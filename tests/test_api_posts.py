"""Posts and deliveries through the API: pagination, filters, problem details, atomicity."""

from __future__ import annotations

from datetime import timedelta

import pytest
from api_helpers import call
from django.utils import timezone

from socialdesk.content.models import Post, PostVersion
from socialdesk.content.services import PostContent, create_post
from socialdesk.networks.models import Channel, Network
from socialdesk.publishing.models import Delivery, DeliveryState
from socialdesk.workspaces.models import Membership


@pytest.fixture
def owner_token(owner, token_for) -> str:
    return token_for(owner)


def walk(path: str, token: str, limit: int) -> list[int]:
    seen: list[int] = []
    cursor = None
    while True:
        query = f"{path}{'&' if '?' in path else '?'}limit={limit}"
        if cursor:
            query += f"&cursor={cursor}"
        page = call("get", query, token).json()
        assert len(page["items"]) <= limit
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return seen


def test_cursor_pagination_walks_every_post_once_newest_first(workspace, owner, owner_token):
    posts = [create_post(workspace, owner, PostContent(text=f"loaf {i}")) for i in range(7)]
    # Two posts created in the same microsecond must still both appear once.
    Post.objects.filter(pk__in=[posts[2].pk, posts[3].pk]).update(created_at=posts[2].created_at)
    seen = walk("/workspaces/crumb/posts", owner_token, limit=3)
    assert sorted(seen) == sorted(p.pk for p in posts)
    assert len(seen) == len(set(seen))
    assert seen[0] == posts[-1].pk


def test_a_forged_cursor_is_a_problem_naming_the_cursor(owner_token):
    response = call("get", "/workspaces/crumb/posts?cursor=bm90LWEtY3Vyc29y", owner_token)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "cursor"


def test_limit_above_100_is_refused(owner_token):
    response = call("get", "/workspaces/crumb/posts?limit=101", owner_token)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "limit"


@pytest.fixture
def plan(workspace, owner, channel, taxonomy):
    """Three posts that differ in each filtered property."""
    now = timezone.now()
    mastodon = Channel.objects.create(workspace=workspace, network=Network.MASTODON, handle="@c")
    tagged = create_post(
        workspace,
        owner,
        PostContent(
            text="stollen",
            channel_ids=[channel.pk],
            label_ids=[taxonomy["label"].pk],
            pillar_id=taxonomy["pillar"].pk,
            campaign_id=taxonomy["campaign"].pk,
            scheduled_at=now + timedelta(days=1),
        ),
    )
    later = create_post(
        workspace,
        owner,
        PostContent(text="rye", channel_ids=[mastodon.pk], scheduled_at=now + timedelta(days=10)),
    )
    draft = create_post(workspace, owner, PostContent(text="idea", channel_ids=[channel.pk]))
    return {"tagged": tagged, "later": later, "draft": draft, "mastodon": mastodon, "now": now}


def ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {item["id"] for item in response.json()["items"]}


def test_every_post_filter_narrows_the_list(plan, taxonomy, channel, owner_token):
    base = "/workspaces/crumb/posts"
    tagged, later, draft = plan["tagged"].pk, plan["later"].pk, plan["draft"].pk
    start = (plan["now"] + timedelta(days=5)).isoformat().replace("+", "%2B")
    end = (plan["now"] + timedelta(days=2)).isoformat().replace("+", "%2B")
    assert ids(call("get", f"{base}?from={start}", owner_token)) == {later}
    assert ids(call("get", f"{base}?to={end}", owner_token)) == {tagged}
    assert ids(call("get", f"{base}?channel={channel.pk}", owner_token)) == {tagged, draft}
    assert ids(call("get", f"{base}?state=draft", owner_token)) == {draft}
    assert ids(call("get", f"{base}?state=scheduled", owner_token)) == {tagged, later}
    assert ids(call("get", f"{base}?label={taxonomy['label'].pk}", owner_token)) == {tagged}
    assert ids(call("get", f"{base}?pillar={taxonomy['pillar'].pk}", owner_token)) == {tagged}
    assert ids(call("get", f"{base}?campaign={taxonomy['campaign'].pk}", owner_token)) == {tagged}


def test_delivery_filters_narrow_the_list(plan, channel, owner_token):
    base = "/workspaces/crumb/deliveries"
    later = plan["later"].deliveries.get().pk
    draft = plan["draft"].deliveries.get().pk
    start = (plan["now"] + timedelta(days=5)).isoformat().replace("+", "%2B")
    assert ids(call("get", f"{base}?from={start}", owner_token)) == {later}
    assert ids(call("get", f"{base}?channel={plan['mastodon'].pk}", owner_token)) == {later}
    assert ids(call("get", f"{base}?state=draft", owner_token)) == {draft}
    assert len(walk(base, owner_token, limit=1)) == 3


@pytest.fixture
def in_berlin(workspace):
    workspace.time_zone = "Europe/Berlin"
    workspace.save(update_fields=["time_zone"])
    return workspace


def schedule_at(channel, token, when: str, **more):
    body = {"text": "Pretzels", "channel_ids": [channel.pk], "scheduled_at": when, **more}
    return call("post", "/workspaces/crumb/posts", token, json_body=body)


def test_a_wall_clock_time_is_read_in_the_workspace_zone(in_berlin, channel, owner_token):
    response = schedule_at(channel, owner_token, "2027-04-01T09:00:00")

    assert response.status_code == 201, response.json()
    delivery = response.json()["deliveries"][0]
    assert delivery["scheduled_at"] == "2027-04-01T07:00:00Z"
    assert delivery["time_zone"] == "Europe/Berlin"
    assert delivery["scheduled_local"] == "2027-04-01T09:00:00+02:00"


def test_a_time_with_an_offset_is_that_instant(in_berlin, channel, owner_token):
    response = schedule_at(channel, owner_token, "2027-04-01T09:00:00-04:00")
    assert response.json()["deliveries"][0]["scheduled_at"] == "2027-04-01T13:00:00Z"


def test_a_wall_clock_time_is_read_in_the_zone_given_or_the_channel_s_own(
    in_berlin, channel, owner_token
):
    given = schedule_at(channel, owner_token, "2027-04-01T09:00:00", time_zone="Asia/Tokyo")
    assert given.json()["deliveries"][0]["scheduled_at"] == "2027-04-01T00:00:00Z"

    channel.time_zone = "America/New_York"
    channel.save(update_fields=["time_zone"])
    own = schedule_at(channel, owner_token, "2027-04-02T09:00:00")
    assert own.json()["deliveries"][0]["scheduled_at"] == "2027-04-02T13:00:00Z"
    assert own.json()["deliveries"][0]["time_zone"] == "America/New_York"


def test_a_time_the_clocks_skip_is_refused_naming_the_instants_either_side(
    in_berlin, channel, owner_token
):
    response = schedule_at(channel, owner_token, "2027-03-28T02:30:00")

    assert response.status_code == 422
    problem = response.json()
    assert problem["errors"] == [
        {
            "field": "scheduled_at",
            "message": "02:30 does not exist on 2027-03-28 in Europe/Berlin: the clocks jump "
            "from 02:00 to 03:00. Choose 01:59 (UTC+1) or 03:00 (UTC+2).",
        }
    ]
    assert [c["scheduled_at"] for c in problem["choices"]] == [
        "2027-03-28T01:59:00+01:00",
        "2027-03-28T03:00:00+02:00",
    ]
    assert not Post.objects.exists()


def test_a_time_the_clocks_show_twice_needs_repeated_time(in_berlin, channel, owner_token):
    refused = schedule_at(channel, owner_token, "2027-10-31T02:30:00")

    assert refused.status_code == 422
    message = refused.json()["errors"][0]["message"]
    assert "the earlier 02:30 CEST (UTC+2) or the later 02:30 CET (UTC+1)" in message
    assert refused.json()["choices"] == [
        {
            "label": "02:30 CEST (UTC+2)",
            "scheduled_at": "2027-10-31T02:30:00+02:00",
            "repeated_time": "earlier",
        },
        {
            "label": "02:30 CET (UTC+1)",
            "scheduled_at": "2027-10-31T02:30:00+01:00",
            "repeated_time": "later",
        },
    ]
    later = schedule_at(channel, owner_token, "2027-10-31T02:30:00", repeated_time="later")
    assert later.json()["deliveries"][0]["scheduled_at"] == "2027-10-31T01:30:00Z"
    earlier = schedule_at(channel, owner_token, "2027-10-31T02:30:00", repeated_time="earlier")
    assert earlier.json()["deliveries"][0]["scheduled_at"] == "2027-10-31T00:30:00Z"


def test_an_unknown_zone_or_reading_is_refused_on_its_field(in_berlin, channel, owner_token):
    zone = schedule_at(channel, owner_token, "2027-04-01T09:00:00", time_zone="Mars/Olympus")
    assert zone.status_code == 422 and zone.json()["errors"][0]["field"] == "time_zone"
    reading = schedule_at(channel, owner_token, "2027-04-01T09:00", repeated_time="both")
    assert reading.status_code == 422
    assert reading.json()["errors"][0]["field"] == "repeated_time"
    assert not Post.objects.exists()


def test_moving_a_post_by_patch_reads_the_new_wall_clock_time_too(in_berlin, channel, owner_token):
    post = schedule_at(channel, owner_token, "2027-04-01T09:00:00").json()
    moved = call(
        "patch",
        f"/workspaces/crumb/posts/{post['id']}",
        owner_token,
        json_body={"scheduled_at": "2027-11-02T09:00:00"},
    )
    assert moved.json()["deliveries"][0]["scheduled_at"] == "2027-11-02T08:00:00Z"


def test_bad_fields_are_all_named_and_nothing_is_written(
    workspace, channel, other_channel, owner_token
):
    response = call(
        "post",
        "/workspaces/crumb/posts",
        owner_token,
        json_body={
            "text": "x" * 10_001,
            "channel_ids": [channel.pk, other_channel.pk],
            "label_ids": [999_999],
        },
    )
    assert response.status_code == 422
    fields = {error["field"] for error in response.json()["errors"]}
    assert fields == {"text", "channel_ids", "label_ids"}
    assert not Post.objects.filter(workspace=workspace).exists()


def test_a_failing_later_change_leaves_the_post_as_it_was(post, owner_token):
    post.deliveries.update(state=DeliveryState.PUBLISHED)
    response = call(
        "patch",
        f"/workspaces/crumb/posts/{post.pk}",
        owner_token,
        json_body={"text": "changed text", "channel_ids": []},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "channel_ids"
    post.refresh_from_db()
    assert post.text == "Fresh sourdough at 7 🍞"
    assert PostVersion.objects.filter(post=post).count() == 1
    assert post.deliveries.count() == 1


def test_null_clears_the_schedule_and_omitted_fields_stay(post, taxonomy, owner_token):
    url = f"/workspaces/crumb/posts/{post.pk}"
    body = call("patch", url, owner_token, json_body={"pillar_id": taxonomy["pillar"].pk}).json()
    assert body["pillar_id"] == taxonomy["pillar"].pk
    body = call("patch", url, owner_token, json_body={"scheduled_at": None}).json()
    assert body["deliveries"][0]["state"] == "draft"
    assert body["pillar_id"] == taxonomy["pillar"].pk
    assert body["text"] == "Fresh sourdough at 7 🍞"


def test_a_published_post_cannot_be_deleted(post, owner_token):
    post.deliveries.update(state=DeliveryState.PUBLISHED)
    response = call("delete", f"/workspaces/crumb/posts/{post.pk}", owner_token)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "post"
    assert Post.objects.filter(pk=post.pk).exists()


def test_output_times_are_in_utc(post, owner_token):
    body = call("get", f"/workspaces/crumb/posts/{post.pk}", owner_token).json()
    assert body["deliveries"][0]["scheduled_at"].endswith(("Z", "+00:00"))


def test_a_scheduled_delivery_can_be_edited(post, owner_token):
    delivery = post.deliveries.get()
    response = call(
        "patch",
        f"/workspaces/crumb/deliveries/{delivery.pk}",
        owner_token,
        json_body={"text_override": "Only on the page: 7 sharp", "first_comment": "Menu below"},
    )
    assert response.status_code == 200
    assert response.json()["text"] == "Only on the page: 7 sharp"


@pytest.mark.parametrize("state", ["publishing", "published", "failed", "unknown"])
def test_a_delivery_cannot_be_edited_once_it_is_on_its_way(post, owner_token, state):
    delivery = post.deliveries.get()
    Delivery.objects.filter(pk=delivery.pk).update(state=state)
    response = call(
        "patch",
        f"/workspaces/crumb/deliveries/{delivery.pk}",
        owner_token,
        json_body={"text_override": "too late"},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "state"
    delivery.refresh_from_db()
    assert delivery.text_override == ""


def test_a_taxonomy_name_clash_names_the_field(taxonomy, owner_token):
    response = call("post", "/workspaces/crumb/labels", owner_token, json_body={"name": "seasonal"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "name"


def test_a_campaign_cannot_end_before_it_starts(owner_token):
    response = call(
        "post",
        "/workspaces/crumb/campaigns",
        owner_token,
        json_body={"name": "Backwards", "starts_on": "2030-05-02", "ends_on": "2030-05-01"},
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "ends_on", "message": "A campaign ends on or after the day it starts."}
    ]


def test_a_pillar_share_over_100_is_refused(owner_token):
    response = call(
        "post",
        "/workspaces/crumb/pillars",
        owner_token,
        json_body={"name": "x", "target_share": 101},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "target_share"


def test_a_manager_cannot_make_themselves_owner(manager, token_for):
    own = Membership.objects.get(user=manager)
    response = call(
        "patch",
        f"/workspaces/crumb/members/{own.pk}",
        token_for(manager),
        json_body={"role": "owner"},
    )
    assert response.status_code == 403
    own.refresh_from_db()
    assert own.role == "manager"


def test_a_duplicate_channel_names_the_handle(channel, owner_token):
    response = call(
        "post",
        "/workspaces/crumb/channels",
        owner_token,
        json_body={"network": "page", "handle": "crumb"},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "handle"
