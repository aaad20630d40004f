"""One step to submit (issue 10, item 3): "Submit for approval" moves a post to the first stage
where someone else must act, passing every stage whose checks all pass without anybody
acting, and names what fails otherwise; manual items are ticked by the stage's owner role, not
by the post's author; after a change request "Resubmit" goes back to the stage that asked;
"Save changes" keeps the author on the post. The editor, the post's page and the API all call
``workflow.services.submit``."""

from __future__ import annotations

import pytest
from api_helpers import call
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from workflow_helpers import stage

from socialdesk.content.models import Post
from socialdesk.content.services import PostContent, create_post, update_post
from socialdesk.notifications.models import Notification
from socialdesk.workflow import services
from socialdesk.workflow.approvals import decide
from socialdesk.workflow.models import AuditEvent, ManualTick


@pytest.fixture
def rye(workspace, creator, channel) -> Post:
    """A creator's new post, ready to go: text, a channel, no link to tag."""
    return create_post(
        workspace, creator, PostContent(text="Rye is back on Friday.", channel_ids=[channel.pk])
    )


@pytest.fixture
def no_proofreading(workspace):
    """A team whose Review stage has automatic checks only (it proofreads while approving)."""
    review = stage(workspace, "review")
    review.manual_items = []
    services.save_stage(review, None)
    return review


def stage_of(post: Post) -> str:
    return services.workflow_of(post).stage.key


# --- The service ---------------------------------------------------------------------------------


def test_submit_passes_the_stages_nobody_has_to_act_in_and_lands_in_approval(
    workspace, creator, approver, rye, no_proofreading, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        plan = services.submit(rye, user=creator)
    assert stage_of(rye) == "approval"
    assert [s.key for s in plan.passed] == ["idea", "draft", "review"]
    assert plan.waiting_text == "Approver decides"
    # Audited as moves are (one move, Idea → Approval), with the route it took.
    moved = AuditEvent.objects.get(action="post.stage_moved", target_id=str(rye.pk))
    assert (moved.actor, moved.detail) == (creator, "Idea → Approval")
    submitted = AuditEvent.objects.get(action="post.submitted")
    assert submitted.detail == "Idea → Draft → Review → Approval"
    assert submitted.data == {"through": ["idea", "draft", "review"], "to": "approval"}
    # The approver is told; nobody in the stages passed is.
    told = Notification.objects.filter(event="approval.requested")
    assert [n.recipient for n in told] == [approver]


def test_a_stage_with_an_item_to_tick_is_where_a_creators_post_waits(
    workspace, creator, manager, rye
):
    """By default Review has "Copy proofread": a manager ticks it, then submits it on."""
    plan = services.submit(rye, user=creator)
    assert stage_of(rye) == "review"
    assert plan.waiting_text == "a manager or an owner ticks “Copy proofread”"
    services.tick(rye, stage(workspace, "review"), "Copy proofread", True, manager)
    services.submit(rye, user=manager)
    assert stage_of(rye) == "approval"


def test_a_failing_check_is_named_and_nothing_moves(workspace, creator, channel):
    post = create_post(
        workspace,
        creator,
        PostContent(text="Rye: https://crumb.test/rye", channel_ids=[channel.pk]),
    )
    with pytest.raises(services.SubmitRefused) as refused:
        services.submit(post, user=creator)
    assert refused.value.message_dict["checklist"] == [
        "Draft: Every link carries UTM parameters: https://crumb.test/rye lacks utm_source, "
        "utm_medium, utm_campaign."
    ]
    assert stage_of(post) == "idea"
    assert not AuditEvent.objects.filter(action__in=["post.submitted", "post.stage_moved"])


def test_what_the_landing_stage_checks_automatically_is_asked_for_first(
    workspace, creator, no_proofreading
):
    """Nobody in Approval can pick the channels for the author: asked now, with Review's words."""
    post = create_post(workspace, creator, PostContent(text="Rye is back."))
    with pytest.raises(services.SubmitRefused) as refused:
        services.submit(post, user=creator)
    assert refused.value.message_dict["checklist"] == [
        "Review: Each channel's network accepts the content: Choose at least one channel."
    ]


def test_the_same_failing_rule_in_two_stages_is_named_once(workspace, creator, channel):
    settings = services.settings_for(workspace)
    settings.banned_phrases = ["best in town"]
    settings.save()
    post = create_post(
        workspace, creator, PostContent(text="Best in town rye", channel_ids=[channel.pk])
    )
    with pytest.raises(services.SubmitRefused) as refused:
        services.submit(post, user=creator)
    assert refused.value.message_dict["checklist"] == [
        "Draft: Brand voice rules pass: Remove “best in town”: it is on the banned list."
    ]


def test_a_post_waiting_for_approval_is_not_submitted_again(
    workspace, creator, rye, no_proofreading
):
    services.submit(rye, user=creator)
    with pytest.raises(services.SubmitRefused) as refused:
        services.submit(rye, user=creator)
    assert refused.value.message_dict["checklist"] == [
        "Approval: Approvals of this stage are complete: Waiting for an approval of the "
        "current version."
    ]
    assert stage_of(rye) == "approval"


def test_the_last_stage_has_nowhere_further_to_go(workspace, manager, rye):
    services.move(rye, stage(workspace, "ready"), user=None, check=False)
    with pytest.raises(services.ValidationError) as refused:
        services.submit(rye, user=manager)
    assert refused.value.message_dict["stage"] == [
        "“Rye is back on Friday.” is in Ready, the last stage of its workflow."
    ]


# --- Who ticks -----------------------------------------------------------------------------------


def test_the_author_does_not_tick_her_own_post(workspace, creator, manager, owner, members, rye):
    review = stage(workspace, "review")
    with pytest.raises(PermissionDenied) as refused:
        services.tick(rye, review, "Copy proofread", True, creator)
    assert str(refused.value) == (
        "You wrote this post, so someone else ticks the items of “Review”: a manager or an owner."
    )
    assert not ManualTick.objects.exists()
    services.tick(rye, review, "Copy proofread", True, owner)
    services.tick(rye, review, "Copy proofread", False, creator)  # asking again is anyone's
    services.tick(rye, review, "Copy proofread", True, manager)
    assert ManualTick.objects.get().ticked_by == manager


def test_items_are_ticked_by_the_stages_owner_role(workspace, creator, approver, manager, channel):
    post = create_post(workspace, manager, PostContent(text="Rye", channel_ids=[channel.pk]))
    draft = stage(workspace, "draft")
    draft.manual_items = ["Photo chosen"]
    services.save_stage(draft, None)
    services.tick(post, draft, "Photo chosen", True, creator)  # Draft is a creators' stage
    review = stage(workspace, "review")
    with pytest.raises(PermissionDenied) as refused:
        services.tick(post, review, "Copy proofread", True, creator)
    assert str(refused.value) == "The items of “Review” are ticked by a manager or an owner."
    # A manager's own post: another manager (or the owner) proofreads it.
    with pytest.raises(PermissionDenied):
        services.tick(post, review, "Copy proofread", True, manager)


def test_a_team_of_one_ticks_its_own_posts_when_self_approval_is_allowed(workspace, owner, post):
    settings = services.settings_for(workspace)
    settings.allow_self_approval = True
    settings.save()
    services.tick(post, stage(workspace, "review"), "Copy proofread", True, owner)
    assert ManualTick.objects.get().ticked_by == owner


def test_the_panel_offers_tick_only_to_those_who_may(signed_in, creator, manager, rye):
    url = reverse("workflow_post", args=["crumb", rye.pk])
    services.move(rye, stage(rye.workspace, "review"), user=creator)
    html = signed_in(creator).get(url).content.decode()
    assert "Tick<span" not in html
    assert "A manager or an owner ticks it." in html
    assert "Tick<span" in signed_in(manager).get(url).content.decode()
    response = signed_in(creator).post(
        reverse("workflow_tick", args=["crumb", rye.pk]),
        {"stage": stage(rye.workspace, "review").pk, "item": "Copy proofread", "done": "1"},
        follow=True,
    )
    assert "someone else ticks the items of “Review”" in response.content.decode()
    assert not ManualTick.objects.exists()


# --- Resubmit ------------------------------------------------------------------------------------


def test_resubmit_returns_to_the_stage_that_asked_for_changes(
    workspace, creator, manager, approver, rye
):
    services.submit(rye, user=creator)
    services.tick(rye, stage(workspace, "review"), "Copy proofread", True, manager)
    services.submit(rye, user=manager)
    decide(rye, "request_changes", comment="Which Friday?", user=approver)
    assert stage_of(rye) == "draft"
    assert services.submit_plan(rye).label == "Resubmit"

    update_post(rye, creator, PostContent(text="Rye is back on Friday 4 December."))
    plan = services.submit(rye, user=creator)
    # Not to the start, not to Review again: its proofreading was done.
    assert stage_of(rye) == "approval"
    assert plan.resubmit == stage(workspace, "approval")
    event = AuditEvent.objects.get(action="post.resubmitted")
    assert event.detail == "Draft → Review → Approval"
    assert services.submit_plan(rye).label == "Submit for approval"


# --- The doors: the post's page, the editor, the API ---------------------------------------------


def test_the_post_page_submits_and_says_where_the_post_went(
    signed_in, creator, rye, no_proofreading
):
    client = signed_in(creator)
    page = client.get(reverse("workflow_post", args=["crumb", rye.pk])).content.decode()
    assert "Submit for approval</button>" in page
    response = client.post(
        reverse("workflow_submit", args=["crumb", rye.pk]), {"next": "page"}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("workflow_post", args=["crumb", rye.pk])
    html = response.content.decode()
    assert "Submitted: “Rye is back on Friday.” is in Approval now, where Approver decides." in html
    assert stage_of(rye) == "approval"
    # Waiting for the approvers: no button to press again, and the panel says who acts.
    assert "Submit for approval</button>" not in html
    assert "Waiting in <strong>Approval</strong>, where Approver decides." in html
    response = client.post(
        reverse("workflow_submit", args=["crumb", rye.pk]), {"next": "page"}, follow=True
    )
    assert "“Rye is back on Friday.” is waiting in Approval, where Approver decides." in (
        response.content.decode()
    )


def test_a_refused_submit_names_each_item_on_the_page(signed_in, creator, workspace, channel):
    post = create_post(
        workspace, creator, PostContent(text="https://crumb.test/rye", channel_ids=[channel.pk])
    )
    response = signed_in(creator).post(
        reverse("workflow_submit", args=["crumb", post.pk]), {"next": "page"}, follow=True
    )
    html = response.content.decode()
    assert "was not submitted; first:" in html
    assert "Draft: Every link carries UTM parameters" in html
    assert stage_of(post) == "idea"


def test_submit_in_the_editor_saves_what_is_written_first(
    signed_in, creator, channel, rye, no_proofreading
):
    client = signed_in(creator)
    editor = client.get(reverse("post_edit", args=["crumb", rye.pk])).content.decode()
    submit_url = reverse("workflow_submit", args=["crumb", rye.pk])
    assert f'formaction="{submit_url}"' in editor
    data = {"text": "Rye is back on Friday, 8 am.", "channels": [channel.pk], "next": "editor"}
    response = client.post(submit_url, data, follow=True)
    assert response.redirect_chain[-1][0] == reverse("post_edit", args=["crumb", rye.pk])
    rye.refresh_from_db()
    assert rye.text == "Rye is back on Friday, 8 am." and rye.latest_version.number == 2
    assert stage_of(rye) == "approval"
    assert "is in Approval now" in response.content.decode()


def test_submit_in_the_editor_with_a_refused_save_submits_nothing(signed_in, creator, channel, rye):
    response = signed_in(creator).post(
        reverse("workflow_submit", args=["crumb", rye.pk]),
        {"text": "", "channels": [channel.pk], "next": "editor"},
    )
    assert response.status_code == 400
    assert "Write the post&#x27;s text." in response.content.decode()
    assert stage_of(rye) == "idea"


def test_save_changes_keeps_the_author_on_the_post(signed_in, creator, channel, rye):
    client = signed_in(creator)
    edit = reverse("post_edit", args=["crumb", rye.pk])
    response = client.post(edit, {"text": "Rye on Friday.", "channels": [channel.pk]}, follow=True)
    assert response.redirect_chain == [(edit, 302)]
    assert "Post saved as a draft." in response.content.decode()
    response = client.post(
        reverse("post_create", args=["crumb"]), {"text": "Spelt next week.", "channels": []}
    )
    created = Post.objects.get(text="Spelt next week.")
    assert response["Location"] == reverse("post_edit", args=["crumb", created.pk])


def test_the_api_submits_in_one_call_and_names_refusals(
    workspace, creator, channel, rye, token_for, no_proofreading
):
    token = token_for(creator)
    response = call("post", f"/workspaces/crumb/posts/{rye.pk}/submit", token)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["stage"]["key"] == "approval"
    assert body["through"] == [stage(workspace, k).pk for k in ("idea", "draft", "review")]
    assert body["resubmitted"] is False
    linked = create_post(
        workspace, creator, PostContent(text="https://crumb.test/rye", channel_ids=[channel.pk])
    )
    response = call("post", f"/workspaces/crumb/posts/{linked.pk}/submit", token)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "checklist"
    assert "Draft: Every link carries UTM parameters" in response.json()["errors"][0]["message"]


def test_who_may_submit(signed_in, approver, analyst, outsider, rye, token_for):
    url = reverse("workflow_submit", args=["crumb", rye.pk])
    assert signed_in(approver).post(url).status_code == 403
    assert signed_in(analyst).post(url).status_code == 403
    assert signed_in(outsider).post(url).status_code == 404
    response = call("post", f"/workspaces/crumb/posts/{rye.pk}/submit", token_for(approver))
    assert response.status_code == 403
    assert stage_of(rye) == "idea"
