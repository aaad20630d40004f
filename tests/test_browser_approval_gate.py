"""Issue 10's "done when", in a real Chromium at 1280×800 and 390×844: a creator writes a post
with an image for two channels and presses "Submit for approval" once; the calendar shows it
as waiting for approval; the approver sees both previews with the image and the times with
their zone, and approves; only then does the calendar show it as scheduled; a drag moves both
channels' deliveries; the worker (driven synchronously, as of the minute) sends both at their
time to the public pages. Every step is shot at both sizes
(``artifacts/screenshots/gate-*-{desktop,phone}.png``).

The two channels are the workspace's own public pages (the network that runs in-process, so
the whole loop publishes for real). The workspace requires approval, as new ones do, and has
an approver, so the gate is on.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

import pytest
from chromium import shoot, sign_in
from django.utils import timezone
from PIL import Image
from test_calendar_browser import drag

from socialdesk.content.models import Post
from socialdesk.networks.models import Channel, Network
from socialdesk.publishing import dispatch
from socialdesk.publishing.models import DeliveryState
from socialdesk.workflow import services as workflow

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

S = DeliveryState
ALT = "Two rye loaves on a floured board, one cut open"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def bakery(workspace, members):
    """The cast's Paris bakery with two public pages, requiring approval (the gate is on: it
    has an approver). Its Review stage has automatic checks only, so a submit passes it."""
    workspace.requires_approval = True
    workspace.save(update_fields=["requires_approval"])
    assert workspace.approval_gate
    Channel.objects.create(workspace=workspace, network=Network.PAGE, handle="crumb")
    Channel.objects.create(workspace=workspace, network=Network.PAGE, handle="crumb-shop")
    review = next(s for s in workflow.stages(workspace) if s.key == "review")
    review.manual_items = []
    workflow.save_stage(review, None)
    return {"workspace": workspace, **members}


def both_sizes(page, name: str) -> None:
    """Shoot the page as it is at 1280×800, then the same address opened on a 390×844 phone
    (in the same session), as a person would see it there."""
    shoot(page, f"gate-{name}-desktop")
    phone = page.context.new_page()
    phone.set_viewport_size(PHONE)
    phone.goto(page.url)
    phone.wait_for_load_state("networkidle")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], name
    shoot(phone, f"gate-{name}-phone")
    phone.close()


def settle(page) -> None:
    """Let the composer's autosave land before a button that leaves the page is pressed (a
    person reads before clicking; on a loaded machine the save waits for it otherwise)."""
    page.wait_for_load_state("networkidle")


def states(post: Post) -> set[str]:
    return set(post.deliveries.values_list("state", flat=True))


def test_a_post_waits_for_approval_is_approved_moves_as_one_and_goes_out(
    browser, live_server, bakery, tmp_path, settings
):
    settings.MEDIA_ROOT = tmp_path / "media"
    base = live_server.url
    zone = bakery["workspace"].zone
    day = timezone.localdate(timezone.now(), zone) + timedelta(days=3)
    picture = tmp_path / "rye.png"
    Image.new("RGB", (320, 200), (181, 120, 60)).save(picture)

    # 1. The creator writes the post for both pages, with an image, for 10:00 in three days.
    ana = browser.new_context(viewport=DESKTOP).new_page()
    sign_in(ana, base, "creator@crumb.test")
    ana.goto(f"{base}/w/crumb/posts/new/")
    ana.get_by_label("Title").fill("Rye is back")
    ana.get_by_label("Text", exact=True).fill("Our rye is back on Friday, baked slowly. #rye")
    ana.get_by_label("Public page · crumb", exact=True).check()
    ana.get_by_label("Public page · crumb-shop", exact=True).check()
    ana.get_by_label("Image 1", exact=True).set_input_files(str(picture))
    ana.get_by_label("Describe image 1").fill(ALT)
    ana.get_by_label("Publish at").fill(f"{day:%Y-%m-%d}T10:00")
    both_sizes(ana, "1-creator-writes")
    settle(ana)
    with ana.expect_navigation(wait_until="domcontentloaded", timeout=60_000):
        ana.get_by_role("button", name="Create post").click()
    post = Post.objects.get(title="Rye is back")
    assert ana.url == f"{base}/w/crumb/posts/{post.pk}/"
    saved = ana.get_by_role("status").first.inner_text()
    assert "waiting for approval, due" in saved and "Europe/Paris" in saved, saved
    assert states(post) == {S.AWAITING_APPROVAL}

    # 2. One press submits it, into Approval.
    settle(ana)
    with ana.expect_navigation(wait_until="domcontentloaded", timeout=60_000):
        ana.get_by_role("button", name="Submit for approval").click()
    assert workflow.workflow_of(post).stage.key == "approval"
    both_sizes(ana, "2-creator-submits")

    # 3. The calendar shows both copies as waiting for approval, never as scheduled.
    ana.goto(f"{base}/w/crumb/calendar/?date={day:%Y-%m-%d}")
    cell = ana.locator(f'td[data-date="{day:%Y-%m-%d}"]')
    waiting = cell.locator(".fc-event .cal-event-waiting", has_text="Rye is back")
    waiting.nth(1).wait_for()
    assert waiting.count() == 2
    assert "Waiting for approval" in waiting.first.inner_text()
    both_sizes(ana, "3-calendar-waiting")

    # 4. The approver sees both previews with the image and the times with their zone.
    lea = browser.new_context(viewport=DESKTOP).new_page()
    sign_in(lea, base, "approver@crumb.test")
    lea.goto(f"{base}/w/crumb/workflow/posts/{post.pk}/")
    review = lea.locator(".post-review")
    images = review.locator(f'img[alt="{ALT}"]')
    assert images.count() == 2
    assert images.first.evaluate("img => img.complete && img.naturalWidth > 0")
    text = review.inner_text()
    assert "crumb-shop" in text and text.count("10:00 (Europe/Paris)") >= 2, text
    both_sizes(lea, "4-approver-reviews")
    lea.get_by_role("button", name="Approve").click()
    lea.locator(".wf-decisions", has_text="approved").wait_for()
    assert states(post) == {S.SCHEDULED}

    # 5. Only now does the calendar show it as scheduled.
    ana.goto(f"{base}/w/crumb/calendar/?date={day:%Y-%m-%d}")
    events = cell.locator(".fc-event", has_text="Rye is back")
    events.nth(1).wait_for()
    assert cell.locator(".cal-event-waiting").count() == 0
    assert "Waiting for approval" not in events.first.inner_text()
    both_sizes(ana, "5-calendar-scheduled")

    # 6. Dragging one copy to the next day moves both.
    target = day + timedelta(days=1) if day.weekday() != 6 else day - timedelta(days=1)
    drag(ana, events.first, ana.locator(f'td[data-date="{target:%Y-%m-%d}"] .fc-daygrid-day-frame'))
    ana.locator("#cal-status .notice", has_text="Moved the post on all 2 channels").wait_for()
    due = datetime.combine(target, time(10), tzinfo=zone)
    assert {d.scheduled_at for d in post.deliveries.all()} == {due}
    assert states(post) == {S.SCHEDULED}
    both_sizes(ana, "6-calendar-moved")

    # 7. The worker sends both at their time, not a second before.
    for delivery in post.deliveries.all():
        assert dispatch.run(delivery.pk, "gate-worker", now=due - timedelta(seconds=1)) == (
            S.SCHEDULED
        )
        assert dispatch.run(delivery.pk, "gate-worker", now=due) == S.PUBLISHED
    assert states(post) == {S.PUBLISHED}
    ana.goto(f"{base}/@crumb")
    assert ana.get_by_text(re.compile("Our rye is back on Friday")).count() >= 1
    assert ana.locator(f'img[alt="{ALT}"]').count() >= 1
    both_sizes(ana, "7-published-on-the-page")
