"""Facebook comments and Messenger messages reach the inbox, and answers go back through the
engine, against recorded exchanges written from Meta's reference (tests/recordings/facebook/,
served over real HTTP by ``RecordedNetwork``). Lena asks under a post, Omar praises another,
Jonas writes on Messenger; the Page's own replies are not taken as inbound."""

from __future__ import annotations

import pytest

from socialdesk.inbox import answering
from socialdesk.inbox.ingest import ingest_channel
from socialdesk.inbox.models import Conversation
from socialdesk.networks.models import Channel, Network
from socialdesk.publishing.dispatch import run
from socialdesk.publishing.models import DeliveryState
from tests.recorded import RecordedNetwork

PAGE = "104857600000001"


@pytest.fixture(scope="module")
def server():
    recorded = RecordedNetwork("facebook")
    yield recorded
    recorded.stop()


@pytest.fixture
def graph(server, settings) -> RecordedNetwork:
    server.reset()
    server.play("inbox")
    settings.NETWORK_URL_OVERRIDES = {"facebook": server.url}
    return server


@pytest.fixture
def bakery(workspace, graph) -> Channel:
    channel = Channel.objects.create(
        workspace=workspace,
        network=Network.FACEBOOK,
        handle="Crumb & Co Bakery",
        remote_account_id=PAGE,
    )
    channel.set_credentials({"access_token": "EAAB-page-token-bakery", "page_id": PAGE})
    channel.save()
    return channel


@pytest.mark.django_db
def test_comments_and_messages_become_conversations_and_a_reply_goes_back(bakery, graph, owner):
    result = ingest_channel(bakery)

    assert (result.error, result.fetched, result.created) == ("", 3, 3)
    conversations = Conversation.objects.filter(channel=bakery)
    assert conversations.count() == 3
    lena = conversations.get(thread_key=f"{PAGE}_900000000000001:7000000000000001")
    jonas = conversations.get(thread_key="messenger:t_100000000000001")
    assert ingest_channel(bakery).created == 0  # nothing new the second time

    first = answering.reply(lena, owner, "Yes, from 7 on Saturday!")
    second = answering.reply(jonas, owner, "Of course, which flavour?")
    assert first.delivery_id and second.delivery_id, "replies are not held for approval here"
    deliveries = [first.delivery, second.delivery]

    assert [run(d.pk, "w1") for d in deliveries] == [DeliveryState.PUBLISHED] * 2

    [comment] = graph.requests_to("POST", "/v24.0/900000000000001_500000000000010/comments")
    assert comment.form["message"] == ["Yes, from 7 on Saturday!"]
    [message] = graph.requests_to("POST", f"/v24.0/{PAGE}/messages")
    assert message.json["recipient"] == {"id": "6100000000000001"}
    assert message.json["message"] == {"text": "Of course, which flavour?"}
