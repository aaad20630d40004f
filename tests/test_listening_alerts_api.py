"""The API of listening alerts, their settings, the mention actions and leads."""

from __future__ import annotations

from api_helpers import call
from listening_action_helpers import bluesky_mention, listening_objects

from socialdesk.listening.models import Alert


def test_alerts_are_listed_read_and_marked_seen(workspace, owner, analyst, token_for):
    ids = listening_objects(workspace)
    listed = call(
        "get", f"/workspaces/{workspace.slug}/listening/alerts?state=new", token_for(analyst)
    )
    assert listed.status_code == 200
    (item,) = listed.json()["items"]
    assert item["id"] == ids["alert_id"] and item["kind"] == "critical" and item["state"] == "new"
    assert item["url"].endswith(f"/w/{workspace.slug}/listening/alerts/{ids['alert_id']}/")
    seen = call(
        "post",
        f"/workspaces/{workspace.slug}/listening/alerts/{ids['alert_id']}/seen",
        token_for(analyst),
    )
    assert seen.status_code == 200 and seen.json()["state"] == "seen"
    assert Alert.objects.get().seen_by == analyst
    assert (
        call(
            "get", f"/workspaces/{workspace.slug}/listening/alerts?state=new", token_for(owner)
        ).json()["items"]
        == []
    )


def test_alert_settings_are_checked_and_a_bad_line_is_named(workspace, owner, token_for):
    ids = listening_objects(workspace)
    url = f"/workspaces/{workspace.slug}/listening/topics/{ids['topic_id']}/alert-settings"
    read = call("get", url, token_for(owner))
    assert read.json()["sensitivity"] == "medium" and read.json()["critical_words"] == []
    bad = call("put", url, token_for(owner), json_body={"critical_words": ["allergic", '"food']})
    assert bad.status_code == 422
    assert "Line 2" in str(bad.json())
    good = call(
        "put",
        url,
        token_for(owner),
        json_body={
            "sensitivity": "low",
            "critical_words": ["food poisoning"],
            "cooldown_hours": 12,
        },
    )
    assert good.status_code == 200
    assert (
        good.json()["critical_words"] == ["food poisoning"] and good.json()["cooldown_hours"] == 12
    )


def test_a_mention_becomes_a_lead_an_idea_and_a_conversation_through_the_api(
    workspace, owner, token_for
):
    mention = bluesky_mention(workspace)
    base = f"/workspaces/{workspace.slug}/listening/mentions/{mention.pk}"
    lead = call("post", f"{base}/lead", token_for(owner))
    assert lead.status_code == 200 and lead.json()["handle"] == "ann.bsky.social"
    idea = call("post", f"{base}/idea", token_for(owner))
    assert idea.status_code == 200 and idea.json()["url"].endswith(
        f"/posts/{idea.json()['post_id']}/"
    )
    talk = call("post", f"{base}/conversation", token_for(owner))
    assert talk.status_code == 200 and "/inbox/" in talk.json()["url"]
    leads = call("get", f"/workspaces/{workspace.slug}/listening/leads", token_for(owner)).json()
    assert [row["name"] for row in leads["items"]] == ["Ann"]
    exported = call("get", f"/workspaces/{workspace.slug}/listening/leads.csv", token_for(owner))
    assert exported["Content-Type"].startswith("text/csv")
    assert exported.content.decode().splitlines()[1].startswith("bluesky,ann.bsky.social,Ann,")


def test_a_feed_mention_cannot_become_a_conversation_and_says_why(workspace, owner, token_for):
    from socialdesk.listening.models import Mention

    mention = Mention.objects.create(
        workspace=workspace, source_kind="feed", remote_id="n-1", text="x"
    )
    refused = call(
        "post",
        f"/workspaces/{workspace.slug}/listening/mentions/{mention.pk}/conversation",
        token_for(owner),
    )
    assert refused.status_code == 422 and "Only a Bluesky post" in str(refused.json())
