"""Answering on Mastodon: replies that keep a direct conversation direct, favourites, and the
hide Mastodon does not have. Against recorded exchanges written from the official API
reference (``tests/recordings/mastodon/reply_direct.json`` and ``favourite.json``, read
2026-12-07: methods/statuses #create, #context, #favourite, #get; entities/Status), served
over real HTTP so the real ``Mastodon.py`` client makes the requests.

Ana (``ana@rye.example``) wrote to the bakery (``@crumb@bakery.example``) in a direct message.
"""

from __future__ import annotations

import pytest
from inbox_answer_helpers import conversation_with, mastodon_channel

from socialdesk.inbox import answering
from socialdesk.inbox.models import ConversationKind, ConversationStatus
from socialdesk.networks.mastodon import MastodonConnector, MastodonContent
from socialdesk.publishing.dispatch import run
from socialdesk.publishing.models import DeliveryState
from tests.test_mastodon_connector import TOKEN, RecordedInstance

KEY = "socialdesk-reply-1"
ANAS = "113400000000000007"
DIRECT = {
    "id": ANAS,
    "account": "ana@rye.example",
    "visibility": "direct",
    "mentions": ["crumb"],
    "own_account": "crumb@bakery.example",
}
STATUSES = ("POST", "/api/v1/statuses")


@pytest.fixture(scope="module")
def server():
    recorded = RecordedInstance()
    yield recorded
    recorded.stop()


@pytest.fixture
def instance(server) -> RecordedInstance:
    server.reset()
    server.play("reply_direct", "favourite")
    return server


@pytest.fixture
def crumb(instance) -> MastodonConnector:
    return MastodonConnector(instance.url, TOKEN, account_id="109382")


def test_a_reply_to_a_direct_message_stays_direct_and_mentions_the_asker(instance, crumb):
    content = MastodonContent(
        "So sorry, Ana: it leaves again today.", action="reply", target=DIRECT
    )

    published = crumb.publish(content, KEY)

    assert published.remote_id == "113400000000000008"
    [sent] = instance.requests_to(*STATUSES)
    assert sent.form["status"] == ["@ana@rye.example So sorry, Ana: it leaves again today."]
    assert sent.form["in_reply_to_id"] == [ANAS]
    assert sent.form["visibility"] == ["direct"]
    assert sent.headers["Idempotency-Key"] == KEY


def test_a_reply_is_found_among_the_answered_statuses_replies(instance, crumb):
    content = MastodonContent(
        "So sorry, Ana: it leaves again today.", action="reply", target=DIRECT
    )
    other = MastodonContent("Something else entirely.", action="reply", target=DIRECT)

    found = crumb.find_published(KEY, content)

    assert found is not None and found.remote_id == "113400000000000008"
    assert crumb.find_published(KEY, other) is None


def test_a_like_is_a_favourite_and_is_found_afterwards(instance, crumb):
    like = MastodonContent("", action="like", target={"id": ANAS})

    assert crumb.validate(like) == []
    assert crumb.publish(like, KEY).remote_id == ANAS
    assert instance.requests_to("POST", f"/api/v1/statuses/{ANAS}/favourite")
    assert crumb.find_published(KEY, like) is not None


def test_mastodon_says_it_cannot_hide_someone_elses_reply(crumb):
    [problem] = crumb.validate(MastodonContent("", action="hide", target={"id": ANAS}))

    assert "Mastodon has no way to hide" in problem.message


def test_an_inbox_answer_to_a_direct_message_goes_out_through_the_engine(
    instance, workspace, manager
):
    channel = mastodon_channel(workspace, instance.url, TOKEN)
    conversation, asked = conversation_with(
        workspace,
        channel,
        remote_id=ANAS,
        reference={"id": ANAS, "visibility": "direct", "mentions": ["crumb"]},
        text="@crumb my order 1042 never came, can you check?",
        contact_id="109500",
        handle="ana@rye.example",
        name="Ana Lima",
        kind=ConversationKind.DIRECT,
    )

    reply = answering.reply(
        conversation,
        manager,
        "So sorry, Ana: it leaves again today.",
        expected_last_message_id=asked.pk,
    )
    assert run(reply.delivery_id, "test-worker") == DeliveryState.PUBLISHED

    [sent] = instance.requests_to(*STATUSES)
    assert sent.form["visibility"] == ["direct"]
    assert sent.form["status"][0].startswith("@ana@rye.example ")
    assert "@crumb" not in sent.form["status"][0]
    reply.refresh_from_db()
    conversation.refresh_from_db()
    assert reply.remote_id == "113400000000000008"
    assert conversation.status == ConversationStatus.PENDING
    with pytest.raises(Exception, match="no way to hide"):
        answering.hide(asked, manager)


def test_deleting_our_reply_removes_the_status_and_a_gone_one_counts_as_done(instance, crumb):
    instance.play("delete")
    ours = MastodonContent("", action="delete", target={"id": "113300000000000001"})

    assert crumb.publish(ours, KEY).remote_id == "113300000000000001"
    assert instance.requests_to("DELETE", "/api/v1/statuses/113300000000000001")
    # Asked after an unknown outcome: the status answers 404, so the delete is done.
    assert crumb.find_published(KEY, ours) is not None
