"""The workflow settings page (issue 4 items 1, 3, 4): stages, switches, brand voice and
risk rules, edited by owners and managers through the same services the API uses."""

from __future__ import annotations

import pytest
from workflow_helpers import stage

from socialdesk.content.services import PostContent, create_post
from socialdesk.workflow import services, voice
from socialdesk.workflow.models import CampaignRisk, RequiredText, Stage

URL = "/w/crumb/workflow/settings/"


def keys(workspace) -> list[str]:
    return [s.key for s in services.stages(workspace)]


@pytest.mark.parametrize(
    ("role", "status"),
    [("owner", 200), ("manager", 200), ("creator", 403), ("approver", 403), ("client", 403)],
)
def test_only_owners_and_managers_open_the_page(signed_in, person, role, status):
    assert signed_in(person(role)).get(URL).status_code == status


def test_an_outsider_sees_no_such_workspace(signed_in, outsider, workspace):
    assert signed_in(outsider).get(URL).status_code == 404
    draft = stage(workspace, "draft")
    client = signed_in(outsider)
    assert client.post(f"{URL}stages/{draft.pk}/move/", {"direction": "up"}).status_code == 404
    assert client.post(f"{URL}stages/{draft.pk}/delete/").status_code == 404
    assert Stage.objects.filter(pk=draft.pk).exists()


def test_the_settings_tabs_link_the_page_for_managers_only(signed_in, manager, creator):
    assert URL in signed_in(manager).get("/w/crumb/settings/calendar/").content.decode()
    assert URL not in signed_in(creator).get("/w/crumb/settings/calendar/").content.decode()


def test_the_page_lists_the_stages_in_order(signed_in, manager, workspace):
    html = signed_in(manager).get(URL).content.decode()
    names = ["Idea", "Draft", "Review", "Approval", "Client approval", "Ready"]
    places = [html.index(f'class="wf-stage-name">{name}<') for name in names]
    assert places == sorted(places)


def test_adding_a_stage_shows_it_on_the_board(signed_in, manager, approver, workspace):
    client = signed_in(manager)
    response = client.post(
        URL,
        {
            "section": "stage",
            "stage-name": "Legal check",
            "stage-kind": "approval",
            "stage-owner_role": "manager",
            "stage-lanes": "strict",
            "stage-start_days_before": "5",
            "stage-due_days_before": "3",
            "stage-approvers": [approver.pk],
            "stage-approval_rule": "all",
            "stage-checks": ["approved"],
            "stage-manual_items": "Claims checked\n\nSources linked\n",
        },
    )
    assert response.status_code == 302
    added = Stage.objects.get(workspace=workspace, name="Legal check")
    assert (added.kind, added.lanes, added.approval_rule) == ("approval", "strict", "all")
    assert added.manual_items == ["Claims checked", "Sources linked"]
    assert list(added.approvers.all()) == [approver]
    assert keys(workspace)[-1] == added.key
    assert ">Legal check</h2>" in client.get("/w/crumb/workflow/").content.decode()


def test_bad_stage_input_gives_field_errors_and_saves_nothing(signed_in, manager, workspace):
    before = keys(workspace)
    response = signed_in(manager).post(
        URL,
        {
            "section": "stage",
            "stage-name": "Polish",
            "stage-kind": "work",
            "stage-owner_role": "creator",
            "stage-lanes": "both",
            "stage-start_days_before": "1",
            "stage-due_days_before": "4",
            "stage-approval_rule": "any",
            "stage-checks": ["approved"],
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "A stage starts before (or when) it is due." in html
    assert "Only approval stages can include the “approved” check." in html
    assert keys(workspace) == before

    response = signed_in(manager).post(URL, {"section": "stage", "stage-name": ""})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert keys(workspace) == before


def test_editing_a_stage_changes_it_and_bad_input_keeps_the_old_values(
    signed_in, manager, workspace
):
    review = stage(workspace, "review")
    client = signed_in(manager)
    edit = f"{URL}stages/{review.pk}/"
    assert 'value="Review"' in client.get(edit).content.decode()
    form = {
        "name": "Proofread",
        "kind": "work",
        "owner_role": "manager",
        "lanes": "both",
        "start_days_before": "9",
        "due_days_before": "8",
        "approval_rule": "any",
        "checks": ["text_present", "brand_voice"],
        "manual_items": "Spelling",
    }
    assert client.post(edit, form).status_code == 302
    review.refresh_from_db()
    assert (review.name, review.owner_role, review.due_days_before) == ("Proofread", "manager", 8)
    assert review.checks == ["text_present", "brand_voice"]

    response = client.post(edit, {**form, "name": "Late", "due_days_before": "20"})
    assert response.status_code == 400
    assert "A stage starts before (or when) it is due." in response.content.decode()
    review.refresh_from_db()
    assert (review.name, review.due_days_before) == ("Proofread", 8)


def test_up_and_down_reorder_the_stages(signed_in, manager, workspace):
    client = signed_in(manager)
    draft = stage(workspace, "draft")
    response = client.post(f"{URL}stages/{draft.pk}/move/", {"direction": "up"})
    assert response.status_code == 302
    assert keys(workspace)[:3] == ["draft", "idea", "review"]
    client.post(f"{URL}stages/{draft.pk}/move/", {"direction": "up"})  # already first
    assert keys(workspace)[:3] == ["draft", "idea", "review"]
    client.post(f"{URL}stages/{draft.pk}/move/", {"direction": "down"})
    client.post(f"{URL}stages/{draft.pk}/move/", {"direction": "down"})
    assert keys(workspace)[:3] == ["idea", "review", "draft"]
    board = client.get("/w/crumb/workflow/").content.decode()
    assert board.index(">Review</h2>") < board.index(">Draft</h2>")


def test_deleting_asks_first_and_refuses_a_stage_that_holds_posts(
    signed_in, manager, workspace, creator, channel
):
    client = signed_in(manager)
    ready = stage(workspace, "ready")
    page = client.get(f"{URL}stages/{ready.pk}/delete/")
    assert page.status_code == 200
    assert "Delete stage “Ready”?" in page.content.decode()
    assert Stage.objects.filter(pk=ready.pk).exists()
    assert client.post(f"{URL}stages/{ready.pk}/delete/").status_code == 302
    assert not Stage.objects.filter(pk=ready.pk).exists()

    post = create_post(workspace, creator, PostContent(text="Rye", channel_ids=[channel.pk]))
    draft = stage(workspace, "draft")
    services.move(post, draft, user=creator)
    response = client.post(f"{URL}stages/{draft.pk}/delete/")
    assert response.status_code == 400
    assert "Posts are in “Draft”; move them to another stage first." in response.content.decode()
    assert Stage.objects.filter(pk=draft.pk).exists()


def test_switches_change_the_workspace_and_the_lanes(signed_in, owner, workspace):
    response = signed_in(owner).post(
        URL,
        {
            "section": "switches",
            "switches-requires_approval": "on",
            "switches-allow_self_approval": "on",
            "switches-rapid_response_roles": ["manager", "creator"],
            "switches-unapproved_at_due": "publish_fast_lane",
        },
    )
    assert response.status_code == 302
    workspace.refresh_from_db()
    settings = services.settings_for(workspace)
    assert workspace.requires_approval is True
    assert workspace.unapproved_at_due == "publish_fast_lane"
    assert settings.allow_self_approval is True
    assert settings.rapid_response_roles == ["manager", "creator"]

    signed_in(owner).post(URL, {"section": "switches"})
    workspace.refresh_from_db()
    settings.refresh_from_db()
    assert (workspace.requires_approval, settings.allow_self_approval) == (False, False)
    assert settings.rapid_response_roles == []


def test_a_manager_cannot_flip_the_workspace_wide_approval_switch(signed_in, manager, workspace):
    """“Requires approval” is a workspace setting (workspace.update, owners only, as in the
    API); a manager sees it but cannot change it, and may still change the rest."""
    html = signed_in(manager).get(URL).content.decode()
    assert 'name="switches-requires_approval"' in html and "disabled" in html
    response = signed_in(manager).post(
        URL,
        {
            "section": "switches",
            "switches-requires_approval": "on",
            "switches-allow_self_approval": "on",
        },
    )
    assert response.status_code == 302
    workspace.refresh_from_db()
    assert workspace.requires_approval is False
    assert services.settings_for(workspace).allow_self_approval is True


def test_brand_voice_rules_take_effect_in_the_checks(signed_in, manager, workspace, taxonomy):
    response = signed_in(manager).post(
        URL,
        {
            "section": "voice",
            "voice-banned_phrases": "cheap\n  world class \n",
            "voice-required_texts": (
                "campaign Christmas stollen: #ad\nlabel seasonal: While stocks last"
            ),
            "voice-hashtag_min": "1",
            "voice-hashtag_max": "3",
            "voice-length_bounds": "mastodon: 20-400\nx: -200",
        },
    )
    assert response.status_code == 302
    settings = services.settings_for(workspace)
    assert settings.banned_phrases == ["cheap", "world class"]
    assert (settings.hashtag_min, settings.hashtag_max) == (1, 3)
    assert settings.length_bounds == {"mastodon": [20, 400], "x": [None, 200]}
    assert set(RequiredText.objects.values_list("text", "campaign_id", "label_id")) == {
        ("#ad", taxonomy["campaign"].pk, None),
        ("While stocks last", None, taxonomy["label"].pk),
    }
    problems = " ".join(voice.text_problems(settings, "Cheap bread"))
    assert "cheap" in problems.lower()
    html = signed_in(manager).get(URL).content.decode()
    assert "campaign Christmas stollen: #ad" in html
    assert "mastodon: 20-400" in html


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("voice-hashtag_max", "0", "The most hashtags allowed is at least the fewest required."),
        ("voice-length_bounds", "mastodon 20", "is not “network: min-max”"),
        (
            "voice-length_bounds",
            "mastodon: 400-20",
            "For mastodon the maximum is below the minimum.",
        ),
        ("voice-required_texts", "campaign Easter: #ad", "No campaign called “Easter”"),
        ("voice-required_texts", "#ad always", "does not start with “campaign NAME:”"),
        ("voice-hashtag_min", "-1", "greater than or equal to 0"),
    ],
)
def test_bad_brand_voice_input_gives_a_field_error_and_saves_nothing(
    signed_in, manager, workspace, field, value, message
):
    data = {
        "section": "voice",
        "voice-banned_phrases": "cheap",
        "voice-hashtag_min": "2",
        "voice-hashtag_max": "",
        field: value,
    }
    response = signed_in(manager).post(URL, data)
    assert response.status_code == 400
    assert message in response.content.decode()
    settings = services.settings_for(workspace)
    assert settings.banned_phrases == []
    assert settings.hashtag_min == 0


def test_risk_rules_send_posts_to_the_strict_lane(
    signed_in, manager, workspace, creator, channel, taxonomy
):
    campaign = taxonomy["campaign"]
    response = signed_in(manager).post(
        URL,
        {
            "section": "risk",
            "risk-risky_labels": "legal\nseasonal",
            "risk-risky_keywords": "guaranteed",
            "risk-regulated_campaigns": [campaign.pk],
        },
    )
    assert response.status_code == 302
    settings = services.settings_for(workspace)
    assert settings.risky_labels == ["legal", "seasonal"]
    assert settings.risky_keywords == ["guaranteed"]
    assert CampaignRisk.objects.get(campaign=campaign).regulated is True

    post = create_post(
        workspace,
        creator,
        PostContent(text="Guaranteed fresh", channel_ids=[channel.pk], campaign_id=campaign.pk),
    )
    lane, reasons = services.lane_for(post)
    assert lane == "strict"
    assert len(reasons) == 2

    response = signed_in(manager).post(
        URL, {"section": "risk", "risk-regulated_campaigns": ["99999"]}
    )
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert services.settings_for(workspace).risky_labels == ["legal", "seasonal"]
