"""The workflow pages in a real Chromium, on the demo workspace: board (with a refused move
and its failing items), a post's panel, My work, health and the audit log, each saved at
desktop and phone sizes into ``artifacts/screenshots/``."""

from __future__ import annotations

import chromium
import pytest
from chromium import SIZES, axe_violations
from playwright.sync_api import expect

from socialdesk.content.services import PostContent, create_post
from socialdesk.demo import DEMO_PASSWORD, build_demo
from socialdesk.workflow import services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def shoot(page, name: str, size: str) -> None:
    chromium.shoot(page, f"workflow-{name}-{size}")


def sign_in_to_demo(page, base: str, email: str) -> None:
    chromium.sign_in(page, base, email, password=DEMO_PASSWORD, lands_on=None)


@pytest.fixture
def demo(transactional_db):
    built = build_demo()
    workspace = built.workspace
    creator = built.users["creator"]
    # A draft whose link lacks UTM parameters: moving it on is refused.
    post = create_post(
        workspace,
        creator,
        PostContent(title="Rye launch", text="Rye is back! https://crumb.example/rye"),
    )
    draft = next(s for s in services.stages(workspace) if s.key == "draft")
    services.move(post, draft, user=creator)
    return {"demo": built, "post": post}


def review_id(demo) -> int:
    workspace = demo["demo"].workspace
    return next(s.pk for s in services.stages(workspace) if s.key == "review")


def test_workflow_pages_in_chromium(browser, live_server, demo):
    base = live_server.url
    post = demo["post"]
    for size, (width, height) in SIZES.items():
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        sign_in_to_demo(page, base, "manager@crumb.example")

        page.goto(f"{base}/w/crumb/workflow/")
        assert page.locator(".wf-column").count() == 6
        shoot(page, "board", size)
        if size == "desktop":
            assert axe_violations(page) == []
            card = page.locator(".wf-card", has_text="Rye launch")
            assert card.get_by_label("Move “Rye launch” to").input_value() == str(review_id(demo))
            card.get_by_role("button", name="Move").click()
            page.locator(".wf-refused").wait_for()
            assert "lacks utm_source" in page.locator(".wf-refused").inner_text()
            shoot(page, "board-refused", size)

        page.goto(f"{base}/w/crumb/workflow/posts/{post.pk}/")
        page.locator("#wf-panel").wait_for()
        assert "Every link carries UTM parameters" in page.locator("#wf-panel").inner_text()
        shoot(page, "post", size)

        page.goto(f"{base}/w/crumb/workflow/health/")
        assert page.locator(".wf-figure").count() == 6
        shoot(page, "health", size)

        page.goto(f"{base}/w/crumb/workflow/audit/")
        shoot(page, "audit", size)
        context.close()

        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        sign_in_to_demo(page, base, "creator@crumb.example")
        page.goto(f"{base}/w/crumb/workflow/my-work/")
        assert page.get_by_text("Rye launch").count() >= 1
        shoot(page, "my-work", size)
        context.close()


def drag(page, card, column, shot: str | None = None) -> None:
    """Drag ``card`` onto ``column`` with real pointer moves (SortableJS's pointer mode).

    The grab point is the card's meta line, not its title link, as a person would grab it.
    """
    card.scroll_into_view_if_needed()
    start = card.locator(".wf-card-meta").bounding_box()
    page.mouse.move(start["x"] + 5, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(start["x"] + 25, start["y"] + 20, steps=5)
    end = column.bounding_box()
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + end["height"] / 2, steps=15)
    if shot:  # mid-drag: the card in hand and the columns that accept it
        shoot(page, shot, "desktop")
    page.mouse.up()


def test_board_drag_and_drop_in_chromium(browser, live_server, demo):
    """Issue 5 item 2: dragging a card to another stage moves it; a refused drag snaps back
    and names the failing checklist items, with the manager's override form."""
    base = live_server.url
    workspace = demo["demo"].workspace
    creator = demo["demo"].users["creator"]
    # A draft that passes the Draft checklist (text, no link, no media): it may move on.
    ready = create_post(
        workspace,
        creator,
        PostContent(title="Sourdough class", text="Sourdough class on Saturday."),
    )
    draft = next(s for s in services.stages(workspace) if s.key == "draft")
    services.move(ready, draft, user=creator)
    review = review_id(demo)

    for size, (width, height) in SIZES.items():
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        sign_in_to_demo(page, base, "manager@crumb.example")
        page.goto(f"{base}/w/crumb/workflow/")
        page.locator("[data-wf-drag-hint]").wait_for()  # board.js has made the board draggable
        assert axe_violations(page) == [], size
        context.close()

    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    sign_in_to_demo(page, base, "manager@crumb.example")
    page.goto(f"{base}/w/crumb/workflow/")
    page.locator("[data-wf-drag-hint]").wait_for()
    review_column = page.locator(f'.wf-cards[data-stage="{review}"]')
    draft_column = page.locator(f'.wf-cards[data-stage="{draft.pk}"]')

    # Allowed: the card lands in Review, on the server too.
    drag(
        page,
        page.locator(".wf-card", has_text="Sourdough class"),
        review_column,
        shot="board-dragging",
    )
    # The dropped card sits in Review at once; the announcement comes with the server's answer.
    expect(page.locator("#wf-board-status")).to_contain_text("“Sourdough class” moved to Review.")
    assert review_column.locator(".wf-card", has_text="Sourdough class").count() == 1
    assert page.locator(".wf-refused").count() == 0
    visit = services.StageVisit.objects.get(post=ready, left_at=None)
    assert visit.stage_id == review
    shoot(page, "board-dragged", "desktop")

    # Refused: the card is back in Draft and the failing item is named, in an alert.
    drag(page, page.locator(".wf-card", has_text="Rye launch"), review_column)
    refusal = page.locator(".wf-refused[role=alert]")
    refusal.wait_for()
    assert "lacks utm_source" in refusal.inner_text()
    assert draft_column.locator(".wf-card", has_text="Rye launch").count() == 1
    assert review_column.locator(".wf-card", has_text="Rye launch").count() == 0
    expect(page.locator("#wf-board-status")).to_contain_text("cannot move to Review")
    shoot(page, "board-drag-refused", "desktop")

    # The manager's override form from the refusal still works after the board was swapped.
    refusal.get_by_label("Override as a manager — why?").fill("Client approved the link by phone.")
    refusal.get_by_role("button", name="Override and move").click()
    review_column = page.locator(f'.wf-cards[data-stage="{review}"]')
    review_column.locator(".wf-card", has_text="Rye launch").wait_for()
    assert services.StageVisit.objects.get(post=demo["post"], left_at=None).stage_id == review
    context.close()
