"""The public page's "Ask us" form: a visitor's question lands in the inbox at once, spam and
floods are refused without third-party services, and it all works without JavaScript.

Crumb & Co has a public page at /@crumb (its page channel is the ``channel`` fixture); Noor
is a visitor with a question.
"""

from __future__ import annotations

import re
import time

import pytest
from django.test import Client

from socialdesk.inbox.models import (
    Contact,
    Conversation,
    ConversationKind,
    ConversationStatus,
    Message,
    PageQuestion,
)
from socialdesk.page import ask

ASK = "/@crumb/ask"


@pytest.fixture
def visitor(channel) -> Client:
    return Client(REMOTE_ADDR="203.0.113.7")


class Clock:
    """``page.ask``'s clock, moved by the tests."""

    def __init__(self) -> None:
        self.at = time.time()

    def __call__(self) -> float:
        return self.at


def form_of(client: Client, path: str = ASK) -> dict[str, str]:
    """The form's hidden fields as the browser would send them back, after the visitor took
    5 s to write (when the ``patient`` clock runs)."""
    page = client.get(path).content.decode()
    token = re.search(r'name="token" value="([^"]+)"', page).group(1)
    if isinstance(ask.now, Clock):
        ask.now.at += 5
    return {"token": token}


def answers() -> dict[str, str]:
    return {
        "name": "Noor",
        "email": "Noor@example.com",
        "question": "Do you bake gluten-free bread on Saturdays?",
        "may_publish": "on",
        "website": "",
    }


@pytest.fixture
def patient(monkeypatch) -> Clock:
    """Visitors who take a few seconds to write (the clock moves 5 s after the form shows)."""
    clock = Clock()
    monkeypatch.setattr(ask, "now", clock)
    return clock


def test_the_page_links_to_the_form_which_is_not_cached(visitor):
    page = visitor.get("/@crumb").content.decode()
    assert 'href="/@crumb/ask"' in page

    response = visitor.get(ASK)

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    assert '<label for="id_question">' in html
    assert "<script" not in html  # works without JavaScript


def test_a_question_lands_in_the_inbox_at_once_as_a_new_question(visitor, channel, patient):
    data = {**answers(), **form_of(visitor)}

    response = visitor.post(ASK, data)

    assert response.status_code == 302 and response["Location"] == "/@crumb/ask/thanks"
    # Written by the request itself, so it is in the inbox the moment the asker sees thanks.
    conversation = Conversation.objects.get()
    assert conversation.channel == channel
    assert conversation.kind == ConversationKind.QUESTION
    assert conversation.status == ConversationStatus.NEW
    assert conversation.needs_reply
    contact = Contact.objects.get()
    assert (contact.network, contact.remote_id, contact.display_name) == (
        "page",
        "noor@example.com",
        "Noor",
    )
    message = Message.objects.get()
    assert message.text == "Do you bake gluten-free bread on Saturdays?"
    assert message.reference["may_publish"] is True
    question = PageQuestion.objects.get()
    assert question.message == message and question.may_publish
    assert "203.0.113.7" not in question.address_hash
    thanks = visitor.get(response["Location"])
    assert "Your question has reached" in thanks.content.decode()


def test_a_filled_honeypot_gets_thanks_and_stores_nothing(visitor, patient):
    data = {**answers(), **form_of(visitor), "website": "https://spam.example"}

    response = visitor.post(ASK, data)

    assert response.status_code == 302
    assert not Message.objects.exists() and not PageQuestion.objects.exists()


def test_a_form_sent_within_two_seconds_is_refused_with_a_fresh_form(visitor, monkeypatch):
    shown = time.time()
    monkeypatch.setattr(ask, "now", lambda: shown)
    data = {**answers(), **form_of(visitor)}
    monkeypatch.setattr(ask, "now", lambda: shown + 0.5)

    response = visitor.post(ASK, data)

    assert response.status_code == 400
    html = response.content.decode()
    assert "very quick" in html
    assert "Do you bake gluten-free bread" in html  # what they wrote is kept
    assert not Message.objects.exists()


def test_a_form_older_than_a_day_or_forged_is_refused(visitor, monkeypatch):
    shown = time.time()
    monkeypatch.setattr(ask, "now", lambda: shown)
    data = {**answers(), **form_of(visitor)}
    monkeypatch.setattr(ask, "now", lambda: shown + 86_401)

    stale = visitor.post(ASK, data)
    forged = visitor.post(ASK, {**data, "token": data["token"][:-2] + "xx"})

    assert stale.status_code == 400 and "more than a day" in stale.content.decode()
    assert forged.status_code == 400 and "could not be checked" in forged.content.decode()
    assert not Message.objects.exists()


def test_a_post_without_the_form_token_is_refused_in_words(visitor, patient):
    response = visitor.post(ASK, answers())

    assert response.status_code == 400
    assert "could not be checked" in response.content.decode()
    assert not Message.objects.exists()


def test_bad_input_is_explained_beside_the_fields_never_a_500(visitor, patient):
    data = {**form_of(visitor), "name": "", "email": "not-an-email", "question": "x" * 2001}

    response = visitor.post(ASK, data)

    assert response.status_code == 400
    html = response.content.decode()
    assert 'aria-invalid="true"' in html
    assert "Enter a valid email address." in html
    assert "at most 2000 characters" in html
    assert not Message.objects.exists()


def test_one_address_may_ask_five_questions_an_hour(visitor, patient):
    for _ in range(ask.PER_ADDRESS):
        assert visitor.post(ASK, {**answers(), **form_of(visitor)}).status_code == 302

    refused = visitor.post(ASK, {**answers(), **form_of(visitor)})

    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert "wait a little" in refused.content.decode()
    assert Message.objects.count() == ask.PER_ADDRESS
    other = Client(REMOTE_ADDR="198.51.100.9")
    assert other.post(ASK, {**answers(), **form_of(other)}).status_code == 302


def test_a_workspace_takes_a_bounded_number_of_questions_an_hour(visitor, patient, monkeypatch):
    monkeypatch.setattr(ask, "PER_WORKSPACE", 2)
    for n in range(2):
        sender = Client(REMOTE_ADDR=f"198.51.100.{n}")
        assert sender.post(ASK, {**answers(), **form_of(sender)}).status_code == 302

    refused = visitor.post(ASK, {**answers(), **form_of(visitor)})

    assert refused.status_code == 429
    assert "many questions" in refused.content.decode()


def test_a_workspace_without_a_page_has_no_form(client, workspace):
    assert client.get(ASK).status_code == 404
    assert client.post(ASK, answers()).status_code == 404


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_visitor_asks_with_the_keyboard_in_a_real_browser(browser, live_server, channel):
    from chromium import axe_violations, shoot

    for name, (width, height) in {"phone": (390, 844), "desktop": (1280, 800)}.items():
        page = browser.new_page(viewport={"width": width, "height": height})
        page.goto(f"{live_server.url}/@crumb")
        page.get_by_role("link", name="Ask us a question").click()
        page.wait_for_url(f"{live_server.url}/@crumb/ask")
        assert axe_violations(page) == []
        page.get_by_label("Your name").fill("Noor")
        page.get_by_label("Your email").fill("noor@example.com")
        page.get_by_label("Your question").fill(f"Do you bake rye on Saturdays? ({name})")
        page.keyboard.press("Tab")  # to the consent box, past nothing hidden
        page.keyboard.press("Space")
        assert page.get_by_label("You may publish my question").is_checked()
        shoot(page, f"page-ask-{name}")
        page.wait_for_timeout(2100)  # people take longer than the 2 s the form asks for
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")
        page.wait_for_url(f"{live_server.url}/@crumb/ask/thanks")
        assert page.get_by_role("status").inner_text().startswith("Your question has reached")
        assert axe_violations(page) == []
        shoot(page, f"page-ask-thanks-{name}")
        page.close()

    texts = sorted(Message.objects.values_list("text", flat=True))
    assert texts == [
        "Do you bake rye on Saturdays? (desktop)",
        "Do you bake rye on Saturdays? (phone)",
    ]
    assert all(m.reference["may_publish"] for m in Message.objects.all())


def test_a_second_question_from_the_same_person_is_its_own_conversation(visitor, patient):
    visitor.post(ASK, {**answers(), **form_of(visitor)})
    again = {**answers(), "email": "noor@EXAMPLE.com", "question": "And on Sunday?"}
    visitor.post(ASK, {**again, **form_of(visitor)})

    assert Conversation.objects.count() == 2
    assert Contact.objects.count() == 1  # the same email, whatever its case
    assert Contact.objects.get().conversations.count() == 2
