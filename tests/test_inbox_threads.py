"""Threads replies and mentions reach the inbox, and answers and hides go back through the
engine, against recorded exchanges written from Meta's Threads reference
(tests/recordings/threads/, served over real HTTP by ``RecordedNetwork``). Mila asks under a
post and thanks us after our answer (written in the Threads app); Tom mentions us."""

from __future__ import annotations

import time

import pytest

from socialdesk.inbox import answering
from socialdesk.inbox.ingest import ingest_channel
from socialdesk.inbox.models import Conversation, Message
from socialdesk.networks.models import Channel, Network
from socialdesk.publishing.dispatch import run
from socialdesk.publishing.models import DeliveryState
from tests.recorded import RecordedNetwork

USER = "25900000000000001"


@pytest.fixture(scope="module")
def server():
    recorded = RecordedNetwork("threads")
    yield recorded
    recorded.stop()


@pytest.fixture
def graph(server, settings) -> RecordedNetwork:
    server.reset()
    server.play("publish", "inbox")
    settings.NETWORK_URL_OVERRIDES = {"threads": server.url}
    return server


@pytest.fixture
def crumb(workspace, graph) -> Channel:
    channel = Channel.objects.create(
        workspace=workspace, network=Network.THREADS, handle="@crumbandco", remote_account_id=USER
    )
    now = time.time()
    channel.set_credentials(
        {
            "access_token": "THQVJ-long-token",
            "threads_user_id": USER,
            "username": "crumbandco",
            "issued_at": now - 86400,
            "expires_at": now + 50 * 86400,
        }
    )
    channel.save()
    return channel


@pytest.mark.django_db
def test_replies_and_mentions_become_conversations_answered_and_hidden_through_the_engine(
    crumb, graph, owner
):
    result = ingest_channel(crumb)

    assert (result.error, result.fetched) == ("", 3)
    mila = Conversation.objects.get(channel=crumb, thread_key="18050000000000001:mila.bakes")
    assert (
        Conversation.objects.filter(channel=crumb, thread_key__startswith="mention:").count() == 1
    )

    answer = answering.reply(mila, owner, "See you on Saturday!")
    question = Message.objects.get(remote_id="18060000000000001")
    hide = answering.hide(question, owner)

    assert run(answer.delivery.pk, "w1") == DeliveryState.PUBLISHED
    assert run(hide.pk, "w1") == DeliveryState.PUBLISHED
    [container] = graph.requests_to("POST", f"/v1.0/{USER}/threads")
    assert container.form["reply_to_id"] == ["18060000000000003"]  # Mila's latest
    assert container.form["text"] == ["See you on Saturday!"]
    [hidden] = graph.requests_to("POST", "/v1.0/18060000000000001/manage_reply")
    assert hidden.form["hide"] == ["true"]
