"""Issue 15 item 6's "done when", in a real Chromium: the owner turns the crisis switch on
(a reason, then a confirmation), every page shows the banner, a post that comes due is not
sent by a real worker run (``socialdesk worker --batch`` with the dispatcher, as production
runs it), then the owner turns the switch off, sees the post that came due and sends it:
the next worker run publishes it, once, to the bakery's public page.

Every step is shot at 1280×800 and 390×844 (``artifacts/screenshots/crisis-*``), and the
crisis page is checked with axe-core in each of its three states.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from chromium import axe_violations, shoot, sign_in
from django.core.management import call_command
from django.utils import timezone

from socialdesk.content.services import PostContent, create_post
from socialdesk.networks.models import Channel, Network
from socialdesk.publishing.models import CrisisPause, Delivery, DeliveryState

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

S = DeliveryState
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
TEXT = "Our rye is back on Friday, baked slowly"
REASON = "A customer reported glass in a rye loaf: stop everything until we know more"


def both_sizes(page, name: str) -> None:
    """Shoot the page at 1280×800, then the same page at 390×844 (nothing wider than it)."""
    page.set_viewport_size(DESKTOP)
    shoot(page, f"crisis-{name}-desktop")
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], name
    shoot(page, f"crisis-{name}-phone")
    page.set_viewport_size(DESKTOP)


def public_page(browser, base: str):
    """The bakery's public page as a visitor opens it (a fresh browser: the page is cacheable,
    so the owner's browser could show the copy it fetched before the post went out)."""
    visitor = browser.new_context(viewport=DESKTOP).new_page()
    visitor.goto(f"{base}/@crumb")
    return visitor


def run_worker(name: str) -> None:
    call_command("worker", "--batch", "--worker-id", f"crisis-{name}")


def test_the_switch_holds_a_due_post_until_it_is_off_and_resumed(
    browser, live_server, workspace, members, settings
):
    settings.PUBLISHING_DISPATCHER = True  # the worker as production runs it
    base = live_server.url
    channel = Channel.objects.create(workspace=workspace, network=Network.PAGE, handle="crumb")
    post = create_post(
        workspace,
        members["owner"],
        PostContent(
            text=TEXT, channel_ids=[channel.pk], scheduled_at=timezone.now() + timedelta(hours=1)
        ),
    )
    delivery = post.deliveries.get()
    assert delivery.state == S.SCHEDULED

    page = browser.new_context(viewport=DESKTOP).new_page()
    sign_in(page, base, "owner@crumb.test")

    # 1. The switch is off; the owner gives a reason and is asked to confirm.
    page.goto(f"{base}/w/crumb/crisis/")
    assert page.locator(".crisis-banner").count() == 0
    assert axe_violations(page) == []
    both_sizes(page, "1-off")
    page.get_by_label("Why? (the team sees this on every page)").fill(REASON)
    page.get_by_role("button", name="Turn the switch on…").click()
    page.get_by_role("heading", name="Turn the crisis switch on?").wait_for()
    assert "1 post is due in the next 24 hours" in page.locator("main").inner_text()
    assert not CrisisPause.objects.exists()
    both_sizes(page, "2-confirm-on")
    page.get_by_role("button", name="Yes, pause every scheduled post").click()
    page.get_by_role("heading", name="The switch is on: no scheduled post goes out").wait_for()
    banner = page.get_by_role("region", name="Crisis switch")
    assert (
        "Crisis switch on" in banner.inner_text() and "glass in a rye loaf" in banner.inner_text()
    )
    assert axe_violations(page) == []
    both_sizes(page, "3-on")

    # 2. Every page of the workspace shows the banner.
    page.goto(f"{base}/w/crumb/posts/")
    assert "Crisis switch on" in page.get_by_role("region", name="Crisis switch").inner_text()
    assert page.get_by_role("link", name="Crisis page").count() == 1
    both_sizes(page, "4-banner-on-posts")

    # 3. The post comes due; a real worker run sends nothing.
    Delivery.objects.filter(pk=delivery.pk).update(
        scheduled_at=timezone.now() - timedelta(seconds=5), enqueued_for=None
    )
    run_worker("1")
    delivery.refresh_from_db()
    assert delivery.state == S.SCHEDULED and delivery.remote_id == ""
    visitor = public_page(browser, base)
    assert visitor.get_by_text(TEXT).count() == 0
    visitor.context.close()
    page.goto(f"{base}/w/crumb/crisis/")
    assert TEXT in page.locator(".crisis-held").inner_text()
    both_sizes(page, "5-held-while-on")

    # 4. The owner turns it off: the confirmation lists the post that came due.
    page.get_by_role("button", name="Turn the switch off…").click()
    page.get_by_role("heading", name="Turn the crisis switch off?").wait_for()
    assert TEXT in page.locator("main").inner_text()
    both_sizes(page, "6-confirm-off")
    page.get_by_role("button", name="Yes, turn it off").click()
    page.get_by_role(
        "heading", name="The switch is off: 1 post came due while it was on"
    ).wait_for()
    assert "wait for a decision" in page.get_by_role("region", name="Crisis switch").inner_text()
    assert axe_violations(page) == []
    both_sizes(page, "7-off-deciding")
    run_worker("2")  # off, but the post waits for the owner's decision
    assert Delivery.objects.get(pk=delivery.pk).state == S.SCHEDULED

    # 5. She sends it now; the next worker run publishes it, once.
    row = page.locator(f"#held-{delivery.pk}")
    row.get_by_role("button", name=re.compile(r"^Send now")).click()
    page.get_by_text("1 post going out now.").wait_for()
    assert page.locator(".crisis-banner").count() == 0
    both_sizes(page, "8-resumed")
    run_worker("3")
    run_worker("4")
    delivery.refresh_from_db()
    assert delivery.state == S.PUBLISHED
    assert delivery.transitions.filter(to_state=S.PUBLISHING).count() == 1
    visitor = public_page(browser, base)
    assert visitor.get_by_text(re.compile(TEXT)).count() >= 1
    both_sizes(visitor, "9-published")
