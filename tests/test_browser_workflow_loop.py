"""The whole review loop in a real Chromium (issue 4, "Done when"), one person per browser
context: a creator writes a post and submits it (a manager proofreads it on the way); an
approver asks for changes with a comment; the creator edits and resubmits; the approver
approves; a manager makes a review link and the client, with no account, approves through
it; the post reaches "Ready". Each step saves a screenshot
(``artifacts/screenshots/loop-*.png``) for a person to look at.

The post carries the "legal" label, so it takes the strict lane, which has the client
approval stage (the fast lane skips it).
"""

from __future__ import annotations

import re

import pytest
from chromium import shoot, sign_in

from socialdesk.content.models import Label, Post
from socialdesk.networks.models import Channel, Network
from socialdesk.review.models import Comment, ReviewLink
from socialdesk.workflow.models import AuditEvent, Decision
from socialdesk.workflow.services import workflow_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def team(workspace, members, channel) -> dict:
    """The cast's bakery: the creator, the approver and the manager play the loop, on its
    public page and a Bluesky channel, with a "legal" label that puts a post in the strict
    lane."""
    Channel.objects.create(workspace=workspace, network=Network.BLUESKY, handle="crumb.bsky.social")
    Label.objects.create(workspace=workspace, name="legal", color="#b42318")
    return {"workspace": workspace, **members}


def signed_in_page(browser, base: str, email: str, viewport=DESKTOP):
    page = browser.new_context(viewport=viewport).new_page()
    sign_in(page, base, email, lands_on="/w/crumb/**")
    return page


def stage_key(post: Post) -> str:
    return workflow_of(post).stage.key


def test_the_whole_loop_from_draft_to_ready_through_a_client_review_link(
    browser, live_server, team
):
    base = live_server.url

    # 1. The creator writes the post.
    ana = signed_in_page(browser, base, "creator@crumb.test")
    ana.goto(f"{base}/w/crumb/posts/new/")
    ana.get_by_label("Text", exact=True).fill(
        "Our new rye loaf is here on Friday: baked slowly, with Breton flour."
    )
    ana.get_by_label("Title").fill("Rye launch")
    ana.get_by_label("Public page · crumb").check()
    ana.get_by_label("Bluesky · crumb.bsky.social").check()
    ana.get_by_label("legal").check()
    shoot(ana, "loop-1-creator-writes")
    with ana.expect_navigation():
        ana.get_by_role("button", name="Create post").click()
    post = Post.objects.get(title="Rye launch")
    assert post.latest_version.number == 1

    # 2. …and submits it in one step: to Review, where a manager proofreads it (the author
    # does not tick her own post), who sends it on to approval.
    ana.goto(f"{base}/w/crumb/workflow/posts/{post.pk}/")
    with ana.expect_navigation():
        ana.get_by_role("button", name="Submit for approval").click()
    assert stage_key(post) == "review", ana.locator("main").inner_text()[:800]
    assert ana.locator("#wf-panel").get_by_role("button", name="Tick Copy proofread").count() == 0
    tom = signed_in_page(browser, base, "manager@crumb.test")
    tom.goto(f"{base}/w/crumb/workflow/posts/{post.pk}/")
    tom.locator("#wf-panel").get_by_role("button", name="Tick Copy proofread").click()
    tom.locator("#wf-panel").get_by_role("button", name="Untick Copy proofread").wait_for()
    tom.goto(f"{base}/w/crumb/workflow/posts/{post.pk}/")
    with tom.expect_navigation():
        tom.get_by_role("button", name="Submit for approval").click()
    assert stage_key(post) == "approval", tom.locator("main").inner_text()[:800]
    assert workflow_of(post).lane == "strict"
    shoot(ana, "loop-2-creator-submits")

    # 3. The approver asks for changes, with a comment, and leaves a threaded note.
    lea = signed_in_page(browser, base, "approver@crumb.test")
    lea.goto(f"{base}/w/crumb/workflow/posts/{post.pk}/")
    lea.locator("#wf-panel").get_by_label("Comment").fill("Say which Friday, please.")
    lea.locator("#wf-panel").get_by_role("button", name="Request changes").click()
    lea.locator(".wf-decisions", has_text="requested changes").wait_for()
    assert Decision.objects.get().decision == "request_changes"
    assert stage_key(post) == "draft"
    lea.goto(f"{base}/w/crumb/posts/{post.pk}/versions/")
    lea.get_by_label("Comment", exact=True).fill("@creator the date matters for legal too.")
    lea.get_by_role("button", name=re.compile("^Comment")).click()
    lea.locator(".comment-body", has_text="the date matters").wait_for()
    shoot(lea, "loop-3-approver-requests-changes")
    assert list(Comment.objects.get().mentions.all()) == [team["creator"]]

    # 4. The creator edits the text (a new version) and submits it again.
    ana.goto(f"{base}/w/crumb/posts/{post.pk}/")
    # The composer shows the comments panel (loaded by htmx, outside its own form).
    ana.locator("#comments .comment-body", has_text="the date matters").wait_for()
    ana.locator("#comments").get_by_label("Comment", exact=True).fill("Changed the date.")
    ana.locator("#comments").get_by_role("button", name=re.compile("^Comment")).click()
    ana.locator("#comments .comment-body", has_text="Changed the date.").wait_for()
    ana.get_by_label("Text", exact=True).fill(
        "Our new rye loaf is here on Friday 4 December: baked slowly, with Breton flour."
    )
    # The composer autosaves a draft as one types; let it settle so the page stops moving.
    ana.locator("[data-autosave-status]", has_text="Saved").wait_for()
    with ana.expect_navigation():
        ana.get_by_role("button", name="Save changes").click()
    assert post.latest_version.number == 2, ana.locator("main").inner_text()[:1500]
    # Saving kept her on the post; "Resubmit" returns it to the stage that asked.
    assert ana.url == f"{base}/w/crumb/posts/{post.pk}/"
    with ana.expect_navigation():
        ana.get_by_role("button", name="Resubmit").click()
    assert stage_key(post) == "approval"
    ana.goto(f"{base}/w/crumb/posts/{post.pk}/versions/")
    ana.locator(".diff ins", has_text="4 December").wait_for()
    shoot(ana, "loop-4-creator-edits")

    # 5. The approver approves version 2: the post moves to client approval.
    lea.goto(f"{base}/w/crumb/workflow/posts/{post.pk}/")
    lea.locator("#wf-panel").get_by_role("button", name="Approve").click()
    lea.locator(".wf-decisions", has_text="approved").wait_for()
    assert stage_key(post) == "client-approval"
    shoot(lea, "loop-5-approver-approves")

    # 6. The manager makes a review link for the client.
    tom.goto(f"{base}/w/crumb/review-links/")
    tom.get_by_label("Who it is for").fill("Acme legal")
    tom.get_by_label("Rye launch").check()
    with tom.expect_navigation():
        tom.get_by_role("button", name="Create link").click()
    link = ReviewLink.objects.get()
    address = tom.locator(f"#link-url-{link.pk}").input_value()
    assert address.startswith(f"{base}/review/")
    shoot(tom, "loop-6-manager-makes-a-review-link")
    tom.set_viewport_size(PHONE)
    shoot(tom, "loop-6-manager-makes-a-review-link-phone")
    tom.goto(f"{base}/w/crumb/posts/{post.pk}/versions/")
    shoot(tom, "loop-6-versions-and-comments-phone")
    tom.set_viewport_size(DESKTOP)

    # 7. The client, without an account, approves through the link (shown on a phone too).
    client_context = browser.new_context(viewport=DESKTOP)
    client = client_context.new_page()
    client.goto(address)
    assert "Acme legal" in client.content()
    shoot(client, "loop-7-client-review-page")
    phone = browser.new_context(viewport=PHONE).new_page()
    phone.goto(address)
    shoot(phone, "loop-7-client-review-page-phone")
    with client.expect_navigation():
        client.get_by_role("button", name="Approve Rye launch").click()
    client.get_by_text("is approved").wait_for()
    client.get_by_text("You approved version 2").wait_for()
    shoot(client, "loop-8-client-approves")

    # 8. The post is ready; the audit log names the link the approval came through.
    assert stage_key(post) == "ready"
    via = f"review link #{link.pk} (Acme legal)"
    assert AuditEvent.objects.filter(action="approval.approve", via=via).exists()
    tom.goto(f"{base}/w/crumb/workflow/posts/{post.pk}/")
    tom.locator(".wf-path [aria-current=step]", has_text="Ready").wait_for()
    shoot(tom, "loop-9-post-is-ready")
