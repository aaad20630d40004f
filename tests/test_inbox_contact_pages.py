"""The contact pane's personal-data buttons: "Download data" (JSON, audit-logged) for those
with contacts.export, "Erase contact…" with a typed confirmation of the handle for those with
contacts.erase; everyone else sees neither and is refused."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse
from inbox_helpers import conversation

from socialdesk.inbox.models import Contact, Direction
from socialdesk.networks.models import Channel, Network
from socialdesk.workflow.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def talk(workspace):
    bluesky = Channel.objects.create(workspace=workspace, network=Network.BLUESKY, handle="crumb")
    return conversation(workspace, bluesky, "ada.bsky.test", "My address is 3 rue Haute")


def url(name, workspace, talk):
    return reverse(name, args=[workspace.slug, talk.pk])


def pane(client, workspace, talk):
    return client.get(url("inbox_conversation", workspace, talk)).content.decode()


def test_the_owner_sees_both_buttons_a_manager_only_download(
    signed_in, owner, manager, workspace, talk
):
    owners = pane(signed_in(owner), workspace, talk)
    assert "Download data" in owners and "Erase contact…" in owners
    managers = pane(signed_in(manager), workspace, talk)
    assert "Download data" in managers and "Erase contact…" not in managers


@pytest.mark.parametrize("role", ["community_manager", "creator", "analyst"])
def test_others_see_neither_and_are_refused(signed_in, members, workspace, talk, role):
    client = signed_in(members[role])
    html = pane(client, workspace, talk)
    assert "Download data" not in html and "Erase contact" not in html
    assert client.post(url("inbox_contact_data", workspace, talk)).status_code in (403, 404)
    assert client.get(url("inbox_contact_erase", workspace, talk)).status_code in (403, 404)
    refused = client.post(url("inbox_contact_erase", workspace, talk), {"confirm": "ada.bsky.test"})
    assert refused.status_code in (403, 404)
    assert not Contact.objects.filter(erased=True).exists()


def test_download_gives_the_contacts_json_and_is_audit_logged(signed_in, manager, workspace, talk):
    response = signed_in(manager).post(url("inbox_contact_data", workspace, talk))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "attachment;" in response["Content-Disposition"]
    document = json.loads(response.content)
    assert document["contact"]["handle"] == "ada.bsky.test"
    texts = [m["text"] for m in document["conversations"][0]["messages"]]
    assert texts == ["My address is 3 rue Haute"]
    assert AuditEvent.objects.filter(workspace=workspace, action="contact.exported").exists()
    assert signed_in(manager).get(url("inbox_contact_data", workspace, talk)).status_code == 405


def test_erasing_asks_for_the_handle_and_refuses_a_wrong_one(signed_in, owner, workspace, talk):
    client = signed_in(owner)
    asked = client.get(url("inbox_contact_erase", workspace, talk))
    assert asked.status_code == 200
    assert "Type <strong>ada.bsky.test</strong> to confirm" in asked.content.decode()

    wrong = client.post(url("inbox_contact_erase", workspace, talk), {"confirm": "ada"})

    assert wrong.status_code == 400
    assert 'aria-invalid="true"' in wrong.content.decode()
    assert not Contact.objects.get(pk=talk.contact_id).erased


def test_erasing_with_the_handle_typed_erases_and_keeps_the_thread(
    signed_in, owner, workspace, talk
):
    client = signed_in(owner)
    done = client.post(url("inbox_contact_erase", workspace, talk), {"confirm": "@Ada.bsky.test"})
    assert done.status_code == 302
    contact = Contact.objects.get(pk=talk.contact_id)
    assert contact.erased and contact.handle == ""
    assert talk.messages.get(direction=Direction.INBOUND).text == "(erased)"
    html = pane(client, workspace, talk)
    assert f"erased contact #{contact.pk}" in html
    assert "Erase contact…" not in html  # nothing left to erase
    again = client.get(url("inbox_contact_erase", workspace, talk))
    assert again.status_code == 302
