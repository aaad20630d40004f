"""The inbox in a real Chromium, at 1280×800 and 390×844: a community manager works the
queue with the keyboard, answers with a saved reply, sees a new message arrive without a
reload and a teammate typing in the same conversation; the phone shows two screens.

Screenshots: inbox-desktop.png, inbox-conversation-desktop.png, inbox-shortcuts-desktop.png,
inbox-phone.png, inbox-conversation-phone.png in artifacts/screenshots/.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from chromium import axe_violations, shoot, sign_in
from django.utils import timezone
from inbox_helpers import conversation, inbound

from socialdesk.content.services import PostContent, create_post
from socialdesk.inbox.models import (
    Conversation,
    ConversationKind,
    ConversationStatus,
    SavedReply,
    Sentiment,
)
from socialdesk.networks.models import Channel, Network

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def bakery_inbox(workspace, members) -> dict:
    bluesky = Channel.objects.create(
        workspace=workspace, network=Network.BLUESKY, handle="crumb.bsky.social",
        display_name="Crumb & Co",
    )  # fmt: skip
    # An account to answer with (nothing reaches a network here: no worker runs).
    bluesky.set_credentials(
        {"handle": "crumb.bsky.social", "app_password": "abcd-efgh-ijkl-mnop",
         "pds_url": "http://127.0.0.1:9"}
    )  # fmt: skip
    bluesky.save()
    mastodon = Channel.objects.create(
        workspace=workspace, network=Network.MASTODON, handle="@crumb@bakers.social"
    )
    post = create_post(
        workspace,
        members["manager"],
        PostContent(
            text="Stollen is back from Monday. Pre-order in the shop!",
            title="Stollen launch",
            channel_ids=[bluesky.pk],
            scheduled_at=timezone.now() + timedelta(days=1),
        ),
    )
    delivery = post.deliveries.get()
    now = timezone.now()
    conversation(
        workspace, mastodon, "@lea@piaille.fr", "Vous avez du pain sans gluten le samedi ?",
        name="Léa Roux", kind=ConversationKind.QUESTION, at=now - timedelta(hours=3),
    )  # fmt: skip
    praise = conversation(
        workspace, bluesky, "sam.bsky.social", "Best croissants in town, thank you!",
        name="Sam Carter", kind=ConversationKind.MENTION, at=now - timedelta(hours=1),
        sentiment=Sentiment.POSITIVE,
    )  # fmt: skip
    Conversation.objects.filter(pk=praise.pk).update(status=ConversationStatus.RESOLVED)
    complaint = conversation(
        workspace, bluesky, "ana.bsky.social", "My stollen order arrived squashed :(",
        name="Ana Lima", at=now - timedelta(minutes=12), sentiment=Sentiment.NEGATIVE,
        delivery=delivery,
    )  # fmt: skip
    # Where Ana's reply sits on Bluesky, as ingestion records it (what an answer needs).
    complaint.messages.update(
        reference={
            "uri": "at://did:plc:ana/app.bsky.feed.post/3kana",
            "cid": "bafyreianacomplaint",
            "root_uri": "at://did:plc:crumb/app.bsky.feed.post/3kstollen",
            "root_cid": "bafyreicrumbstollen",
        }
    )
    SavedReply.objects.create(
        workspace=workspace,
        name="Sorry about an order",
        text="So sorry, {first_name}! Send us your order number and we will make it right.",
    )
    return {"complaint": complaint, "bluesky": bluesky, "members": members}


def test_a_community_manager_works_the_inbox_with_the_keyboard(browser, live_server, bakery_inbox):
    base = live_server.url
    members = bakery_inbox["members"]
    complaint = bakery_inbox["complaint"]
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    sign_in(page, base, members["community_manager"].email, lands_on=None)
    page.goto(f"{base}/w/crumb/inbox/")
    assert page.locator("#inbox-badge").inner_text().startswith("2")  # two new, one resolved
    rows = page.locator("[data-conversation-link] .conv-name").all_inner_texts()
    assert rows == ["Ana Lima", "Sam Carter", "Léa Roux"]
    shoot(page, "inbox-desktop")
    assert axe_violations(page) == []

    # j opens the newest; ? shows the shortcuts; a assigns it to me.
    page.keyboard.press("j")
    page.wait_for_url(f"{base}/w/crumb/inbox/{complaint.pk}/")
    assert "Stollen launch" in page.locator(".conv-post").inner_text()
    page.keyboard.press("?")
    assert page.locator("#inbox-shortcuts").is_visible()
    shoot(page, "inbox-shortcuts-desktop")
    page.keyboard.press("Escape")
    page.keyboard.press("a")
    page.wait_for_selector("text=Assigned to you")

    # A teammate opens the same conversation and types: it shows here without a reload.
    other = browser.new_context(viewport={"width": 1280, "height": 800})
    teammate = other.new_page()
    sign_in(teammate, base, members["manager"].email, lands_on=None)
    teammate.goto(f"{base}/w/crumb/inbox/{complaint.pk}/")
    teammate.locator("#reply-text").fill("Looking into it")
    page.wait_for_selector("text=Manager is typing a reply", timeout=12000)
    teammate.locator("#reply-text").fill("")
    other.close()

    # r goes to the reply box; a saved reply fills it, variables filled in.
    page.keyboard.press("r")
    assert page.evaluate("document.activeElement.id") == "reply-text"
    page.get_by_label("Saved reply").select_option(label="Sorry about an order")
    text = page.locator("#reply-text").input_value()
    assert text.startswith("So sorry, Ana!")
    page.get_by_role("button", name="Send reply").click()
    page.wait_for_selector("text=Reply sent.")
    assert page.locator(".msg-out .msg-text").inner_text().startswith("So sorry, Ana!")
    # Handed to the engine (no worker runs here): pending once it is sent, which
    # tests/test_browser_inbox_bluesky.py follows on a real network.
    sent = complaint.messages.get(direction="out")
    assert sent.delivery is not None and sent.delivery.kind == "reply"

    # A new message lands while the page is open: the list shows it without a reload.
    newcomer = conversation(
        complaint.workspace, bakery_inbox["bluesky"], "noor.bsky.social",
        "Are you open on Christmas Eve?", name="Noor Haddad",
    )  # fmt: skip
    page.wait_for_selector("#inbox-list >> text=Noor Haddad", timeout=12000)
    assert page.locator("[data-conversation-link] .conv-name").first.inner_text() == "Noor Haddad"
    shoot(page, "inbox-conversation-desktop")
    assert axe_violations(page) == []

    # e resolves.
    page.keyboard.press("e")
    page.wait_for_selector("text=Resolved.")
    complaint.refresh_from_db()
    assert complaint.status == ConversationStatus.RESOLVED
    inbound(newcomer, "Also Boxing Day?")
    context.close()


def test_the_phone_shows_the_list_and_the_conversation_as_two_screens(
    browser, live_server, bakery_inbox
):
    base = live_server.url
    complaint = bakery_inbox["complaint"]
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    sign_in(page, base, bakery_inbox["members"]["owner"].email, lands_on=None)
    page.goto(f"{base}/w/crumb/inbox/")
    assert page.locator(".inbox-list-pane").is_visible()
    shoot(page, "inbox-phone")
    assert axe_violations(page) == []
    page.get_by_role("link", name="Ana Lima").click()
    page.wait_for_url(f"{base}/w/crumb/inbox/{complaint.pk}/")
    assert not page.locator(".inbox-list-pane").is_visible()
    assert page.locator("#reply-text").is_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways ({width}px)"
    shoot(page, "inbox-conversation-phone")
    assert axe_violations(page) == []
    page.get_by_role("link", name="← All conversations").click()
    page.wait_for_url(f"{base}/w/crumb/inbox/")
    assert page.locator(".inbox-list-pane").is_visible()
    context.close()
