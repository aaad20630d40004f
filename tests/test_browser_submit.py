"""Checks before saving and one step to submit, in a real Chromium on a desktop and a phone
(issue 10, items 2 and 3): a creator writes a new post with a banned phrase and sees the
warning while writing, before anything is saved; she fixes it and saves, and stays on the
post; she presses "Submit for approval" once and the post is in Approval. Screenshots:
``artifacts/screenshots/submit-*.png``.

This team proofreads while approving: its Review stage has automatic checks only, so the
submit passes it. (With the default "Copy proofread" in Review, a creator's post waits there
for a manager: ``test_workflow_submit.py``.)
"""

from __future__ import annotations

import re

import pytest
from chromium import SHOTS, axe_violations
from playwright.sync_api import expect

from socialdesk.content.models import Post
from socialdesk.networks.models import Channel, Network
from socialdesk.workflow import services
from socialdesk.workflow.models import AuditEvent
from socialdesk.workspaces.models import Membership, User, Workspace
from socialdesk.workspaces.roles import Role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
BANNED = "Remove “best in town”: it is on the banned list."


@pytest.fixture
def team(transactional_db, settings) -> Workspace:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    workspace = Workspace.objects.create(name="Crumb & Co", slug="crumb", time_zone="Europe/Paris")
    for email, name, role in [
        ("ana@crumb.test", "Ana Lima", Role.CREATOR),
        ("lea@crumb.test", "Léa Roux", Role.APPROVER),
        ("tom@crumb.test", "Tom Baker", Role.MANAGER),
    ]:
        user = User.objects.create_user(email, PASSWORD, name=name)
        Membership.objects.create(workspace=workspace, user=user, role=role)
    Channel.objects.create(workspace=workspace, network=Network.PAGE, handle="crumb")
    voice = services.settings_for(workspace)
    voice.banned_phrases = ["best in town"]
    voice.hashtag_max = 3
    voice.save()
    review = next(s for s in services.stages(workspace) if s.key == "review")
    review.manual_items = []
    services.save_stage(review, None)
    return workspace


def shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_a_creator_sees_the_warning_while_writing_fixes_it_and_submits_once(
    browser, live_server, team, size
):
    base = live_server.url
    context = browser.new_context(viewport=VIEWPORTS[size])
    page = context.new_page()
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email address").fill("ana@crumb.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/w/crumb/.*"))

    # Writing a new post: the warning comes while typing, before anything is saved.
    page.goto(f"{base}/w/crumb/posts/new/")
    page.get_by_label("Public page · crumb").check()
    page.get_by_label("Title").fill("Rye is back")
    page.get_by_label("Text", exact=True).fill("The best in town rye is back on Friday! #rye")
    checks = page.locator("#live-checks")
    checks.locator("li.is-blocking", has_text=BANNED).wait_for(timeout=30_000)
    assert "blocks scheduling" in checks.inner_text()
    assert "takes it to Approval" in checks.inner_text()
    # Said next to the text too, where she is writing (on a phone the card is further down).
    summary = page.locator("#live-summary")
    summary.get_by_text(BANNED).wait_for()
    expect(summary).to_be_in_viewport()
    assert not Post.objects.exists()
    page.evaluate("window.scrollTo(0, 0)")
    shoot(page, f"submit-1-warning-while-writing-{size}")
    assert axe_violations(page) == []

    # She fixes it: the warning goes, still before saving.
    page.get_by_label("Text", exact=True).fill("Our rye is back on Friday! #rye")
    checks.get_by_text("follows the brand voice").wait_for(timeout=30_000)
    assert BANNED not in checks.inner_text()
    expect(summary).to_be_empty()
    assert not Post.objects.exists()
    shoot(page, f"submit-2-fixed-{size}")

    # Saving keeps her on the post.
    page.locator("[data-autosave-status]", has_text="Saved").wait_for()
    with page.expect_navigation():
        page.get_by_role("button", name="Create post").click()
    post = Post.objects.get(title="Rye is back")
    assert page.url == f"{base}/w/crumb/posts/{post.pk}/"
    assert page.get_by_role("status").first.inner_text() == "Post created as a draft."
    assert page.get_by_label("Text", exact=True).input_value() == "Our rye is back on Friday! #rye"
    page.locator("#wf-panel .wf-path").wait_for()
    shoot(page, f"submit-3-saved-stays-on-the-post-{size}")

    # One press: through Idea, Draft and Review into Approval, where Léa decides.
    with page.expect_navigation():
        page.get_by_role("button", name="Submit for approval").click()
    assert services.workflow_of(post).stage.key == "approval"
    assert page.url == f"{base}/w/crumb/posts/{post.pk}/"
    assert page.get_by_role("status").first.inner_text() == (
        "Submitted: “Rye is back” is in Approval now, where Léa Roux decides."
    )
    page.locator("#wf-panel .wf-path [aria-current=step]", has_text="Approval").wait_for()
    assert page.get_by_role("button", name="Submit for approval").count() == 0
    shoot(page, f"submit-4-in-approval-{size}")
    event = AuditEvent.objects.get(action="post.submitted")
    assert event.detail == "Idea → Draft → Review → Approval"
    page.wait_for_load_state("networkidle")
    context.close()
