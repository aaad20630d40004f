"""Reply approval, the SLA filter and the report's charts in a real Chromium, at 1280×800 and
390×844: a community manager finds the breached conversation with the SLA filter and answers
it; the reply waits; a manager finds it through "waiting for approval", edits and approves it;
another reply is rejected with a note its author reads; the report draws its charts beside
their tables.

Screenshots (artifacts/screenshots/): inbox-sla-breached-desktop.png,
inbox-approval-waiting-desktop.png, inbox-approval-waiting-phone.png,
inbox-approval-rejected-desktop.png, inbox-report-chart-desktop.png,
inbox-report-chart-phone.png.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from chromium import SIZES, axe_violations, shoot, sign_in
from django.utils import timezone
from inbox_helpers import conversation

from socialdesk.inbox import answering
from socialdesk.inbox import service_levels as sl
from socialdesk.inbox.models import ApprovalState, Message, ReplyApproval, Sentiment
from socialdesk.networks.models import Channel, Network

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def held_inbox(workspace, members) -> dict:
    """A bakery open all day (so the clocks do not depend on when the test runs) whose
    community manager's replies wait for approval; one conversation breached, one due soon,
    one fresh, and two weeks of history for the report."""
    sl.save_level(
        workspace, hours=[[["00:00", "24:00"]]] * 7, first_response_minutes=60, resolution_hours=48
    )
    answering.set_approval_roles(workspace, members["owner"], ["community_manager"])
    mastodon = Channel.objects.create(
        workspace=workspace, network=Network.MASTODON, handle="@crumb@bakers.social"
    )
    page = Channel.objects.create(workspace=workspace, network=Network.PAGE, handle="crumb")
    now = timezone.now()
    for day in range(1, 14):
        for n, sentiment in enumerate([Sentiment.POSITIVE, Sentiment.NEUTRAL, Sentiment.NEGATIVE]):
            if (day + n) % 3 == 0:
                continue
            old = conversation(
                workspace, mastodon, f"@p{day}x{n}@piaille.fr", f"Message {day}/{n}",
                at=now - timedelta(days=day, hours=n), sentiment=sentiment,
            )  # fmt: skip
            old.messages.update(sentiment=sentiment)
            old.first_response_at = (
                now - timedelta(days=day, hours=n) + timedelta(minutes=20 + 7 * day + 11 * n)
            )
            old.status = "resolved"
            old.resolved_at = old.first_response_at
            old.waiting_since = None
            old.save()
    late = conversation(
        workspace, page, "lea@example.org", "Where is my Christmas stollen? Ordered on Monday.",
        name="Léa Roux", at=now - timedelta(minutes=95), sentiment=Sentiment.NEGATIVE,
    )  # fmt: skip
    soon = conversation(
        workspace, page, "sam@example.org", "Do you have a gluten-free loaf on Saturday?",
        name="Sam Carter", at=now - timedelta(minutes=40),
    )  # fmt: skip
    conversation(
        workspace, page, "noor@example.org", "Thanks for the lovely croissants!",
        name="Noor Haddad", at=now - timedelta(minutes=3), sentiment=Sentiment.POSITIVE,
    )  # fmt: skip
    return {"late": late, "soon": soon, "members": members}


def test_a_reply_waits_for_approval_and_the_sla_filter_finds_the_late_one(
    browser, live_server, held_inbox
):
    base = live_server.url
    members = held_inbox["members"]
    late, soon = held_inbox["late"], held_inbox["soon"]

    # The community manager filters on "Breached" and answers the one conversation left.
    author_context = browser.new_context(viewport={"width": 1280, "height": 800})
    author = author_context.new_page()
    sign_in(author, base, members["community_manager"].email, lands_on=None)
    author.goto(f"{base}/w/crumb/inbox/")
    assert author.locator(".sla-breached").count() == 1
    assert author.locator(".sla-due-soon").count() == 1
    author.get_by_label("Service level").select_option("breached")
    author.wait_for_url("**/inbox/?*sla=breached*")
    assert author.locator("[data-conversation-link] .conv-name").all_inner_texts() == ["Léa Roux"]
    shoot(author, "inbox-sla-breached-desktop")
    assert axe_violations(author) == []
    author.locator("[data-conversation-link]").first.click()
    author.wait_for_url(f"**/inbox/{late.pk}/?sla=breached")  # the filter rides along
    author.get_by_label("Reply to Léa Roux").fill("So sorry!! It leaves today.")
    author.get_by_role("button", name="Send reply").click()
    author.wait_for_selector("text=Your reply waits for approval by an owner or a manager.")
    assert author.locator(".msg-awaiting .approval-awaiting").inner_text() == "Awaiting approval"
    assert author.get_by_role("button", name="Approve this reply").count() == 0
    # A second one, for Sam, to be rejected.
    author.goto(f"{base}/w/crumb/inbox/{soon.pk}/")
    author.get_by_label("Reply to Sam Carter").fill("Yes.")
    author.get_by_role("button", name="Send reply").click()
    author.wait_for_selector("text=Your reply waits for approval by an owner or a manager.")

    # The manager finds both through the header's count, at both sizes.
    for size, (width, height) in SIZES.items():
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        sign_in(page, base, members["manager"].email, lands_on=None)
        page.goto(f"{base}/w/crumb/inbox/")
        page.get_by_role("link", name="2 replies waiting for approval").click()
        page.wait_for_url("**/inbox/?approval=awaiting")
        names = page.locator("[data-conversation-link] .conv-name").all_inner_texts()
        assert sorted(names) == ["Léa Roux", "Sam Carter"]
        page.goto(f"{base}/w/crumb/inbox/{late.pk}/?approval=awaiting")
        waiting = page.locator(".msg-awaiting")
        assert "So sorry!! It leaves today." in waiting.inner_text()
        waiting.scroll_into_view_if_needed()
        assert page.get_by_role("button", name="Approve this reply").is_visible()
        assert axe_violations(page) == []
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        shoot(page, f"inbox-approval-waiting-{size}")
        if size == "desktop":
            manager_context, manager = context, page
        else:
            context.close()

    # Edit & approve: the manager's words go out, the author's are kept.
    manager.locator(".approval-more summary", has_text="Edit & approve").click()
    manager.get_by_label("Reply as it will be sent").fill(
        "So sorry, Léa! Your stollen leaves the bakery today."
    )
    manager.get_by_role("button", name="Save edit and approve").click()
    manager.wait_for_selector("text=Edited, approved and sent.")
    approval = ReplyApproval.objects.get(message__conversation=late)
    assert approval.state == ApprovalState.APPROVED and approval.edited
    assert approval.original_text == "So sorry!! It leaves today."
    assert Message.objects.get(pk=approval.message_id).delivery_id is not None

    # Reject the other with a note, which its author then reads.
    manager.goto(f"{base}/w/crumb/inbox/{soon.pk}/")
    manager.locator(".approval-more summary", has_text="Reject").click()
    manager.get_by_label("Why not? The author reads this").fill(
        "Say which loaf and until when, please."
    )
    manager.get_by_role("button", name="Reject reply").click()
    manager.wait_for_selector("text=Rejected; the author is told why.")
    assert manager.locator(".inbox-approvals-link").count() == 0  # none left waiting
    manager_context.close()

    author.goto(f"{base}/w/crumb/inbox/{soon.pk}/")
    rejected = author.locator(".msg-rejected")
    assert "Not approved" in rejected.inner_text()
    assert "Say which loaf and until when, please." in rejected.inner_text()
    shoot(author, "inbox-approval-rejected-desktop")
    assert axe_violations(author) == []
    author_context.close()


def test_the_report_draws_its_charts_beside_their_tables(browser, live_server, held_inbox):
    base = live_server.url
    members = held_inbox["members"]
    errors: list[str] = []  # script errors and console errors, on any page of the loop

    def on_console(message) -> None:
        if message.type == "error":
            errors.append(message.text)

    for size, (width, height) in SIZES.items():
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))  # noqa: B023 - one list
        page.on("console", on_console)
        sign_in(page, base, members["manager"].email, lands_on=None)
        page.goto(f"{base}/w/crumb/inbox/report/?period=30")
        page.wait_for_function(
            "window.Chart && Chart.getChart('chart-volume')"
            " && Chart.getChart('chart-first-response')"
        )
        assert page.locator("#chart-volume").is_visible()
        stacked = page.evaluate("Chart.getChart('chart-volume').data.datasets.length")
        assert stacked == 3
        assert page.locator("#report-days-volume tbody tr").count() == 30
        assert page.locator("#report-days-frt tbody tr").count() == 30
        assert axe_violations(page) == []
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.wait_for_timeout(400)  # let the bars' short animation finish for the picture
        shoot(page, f"inbox-report-chart-{size}")
        assert errors == []
        csv_link = page.get_by_role("link", name="Download CSV of this report")
        assert "report.csv?period=30" in (csv_link.get_attribute("href") or "")
        context.close()
