"""From a mention to action (socialdesk.listening.actions): answer it in the inbox, make it a
content idea, or mark its author as a lead (CSV, and the CRM webhook)."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.exceptions import ValidationError
from listening_action_helpers import DID, bluesky_mention

from socialdesk.content.models import Post
from socialdesk.inbox.models import Contact, Conversation, Message
from socialdesk.listening import actions
from socialdesk.listening.models import Mention
from socialdesk.notifications.models import WebhookCall
from socialdesk.notifications.services import create_webhook


def test_a_bluesky_mention_becomes_an_inbox_conversation_once(workspace):
    mention = bluesky_mention(workspace)
    conversation = actions.to_conversation(mention)
    assert conversation.kind == "mention" and conversation.status == "new"
    assert conversation.contact.remote_id == DID
    assert conversation.contact.handle == "ann.bsky.social"
    message = Message.objects.get(conversation=conversation)
    assert message.text == mention.text and message.remote_id == mention.remote_id
    # What answering needs: the post and its CID, to reply in its thread.
    assert message.reference["cid"] == mention.reference["cid"]
    assert actions.to_conversation(Mention.objects.get(pk=mention.pk)) == conversation
    assert Conversation.objects.count() == 1


def test_a_feed_entry_cannot_be_answered_from_the_inbox(workspace):
    mention = Mention.objects.create(
        workspace=workspace, source_kind="feed", remote_id="news-1", text="Crumb opens a shop"
    )
    with pytest.raises(ValidationError, match="Only a Bluesky post"):
        actions.to_conversation(mention)
    assert Conversation.objects.count() == 0


def test_a_mention_becomes_a_draft_that_quotes_and_links_it_once(workspace, creator):
    mention = bluesky_mention(workspace)
    post = actions.to_idea(mention, creator)
    assert post.author == creator and post.title == "Idea from a mention by ann.bsky.social"
    assert post.text == f"“{mention.text}” — @ann.bsky.social\n{mention.url}"
    assert {d.state for d in post.deliveries.all()} <= {"draft"}
    assert actions.to_idea(Mention.objects.get(pk=mention.pk), creator) == post
    assert Post.objects.count() == 1


def test_marking_a_lead_sends_it_once_to_the_crm_webhook(workspace, owner, settings):
    settings.SOCIALDESK_FETCH_ALLOW = ["127.0.0.1:9"]
    create_webhook(
        workspace, None, name="CRM", url="http://127.0.0.1:9/crm", events=["listening.lead"]
    )
    mention = bluesky_mention(workspace, reach=1200)
    contact = actions.mark_lead(mention, owner)
    assert contact.is_lead and contact.lead_url == mention.url and contact.followers == 1200
    body = json.loads(WebhookCall.objects.get().body)
    assert body["event"] == "listening.lead"
    assert body["data"]["network"] == "bluesky" and body["data"]["remote_id"] == DID
    assert body["data"]["handle"] == "ann.bsky.social" and body["data"]["followers"] == 1200
    assert body["data"]["mention"]["url"] == mention.url
    # A second mention by the same person: the same contact, nothing sent again.
    again = actions.mark_lead(bluesky_mention(workspace), owner)
    assert again == contact and WebhookCall.objects.count() == 1
    assert Contact.objects.filter(is_lead=True).count() == 1


def test_leads_are_exported_as_csv_that_a_spreadsheet_will_not_run(workspace, owner):
    mention = Mention.objects.create(
        workspace=workspace,
        source_kind="feed",
        remote_id="review-1",
        author_name='=HYPERLINK("http://evil.test")',
        text="Best bakery",
        url="https://reviews.test/1",
    )
    actions.mark_lead(mention, owner)
    rows = list(csv.reader(io.StringIO(actions.leads_csv(workspace))))
    assert rows[0] == actions.LEAD_COLUMNS
    assert rows[1][2].startswith("'=") and rows[1][6] == "https://reviews.test/1"


def test_someone_erased_cannot_become_a_lead(workspace, owner):
    mention = bluesky_mention(workspace)
    Contact.objects.create(
        workspace=workspace, network="bluesky", remote_id=DID, handle="", erased=True
    )
    with pytest.raises(ValidationError, match="forgotten"):
        actions.mark_lead(mention, owner)


def test_the_buttons_on_an_alert_page_do_each_action(workspace, owner, signed_in):
    from socialdesk.listening import alerts
    from socialdesk.listening.models import Alert

    mention = bluesky_mention(workspace)
    alert = Alert.objects.create(
        workspace=workspace,
        topic=mention.topics.get(),
        kind="critical",
        title="Crumb: critical words “allergic” in a mention",
        detail={"words": ["allergic"]},
        window_start=mention.posted_at,
        window_end=mention.posted_at,
        mention=mention,
    )
    client = signed_in(owner)
    page = client.get(alerts.alert_path(alert, workspace.slug))
    assert page.status_code == 200
    assert b"Answer in the inbox" in page.content and b"Mark as lead" in page.content
    base = f"/w/{workspace.slug}/listening/mentions/{mention.pk}"
    answered = client.post(f"{base}/answer/")
    assert answered.status_code == 302 and "/inbox/" in answered["Location"]
    idea = client.post(f"{base}/idea/")
    assert idea.status_code == 302 and "/posts/" in idea["Location"]
    back = f"/w/{workspace.slug}/listening/alerts/{alert.pk}/"
    lead = client.post(f"{base}/lead/", {"next": back})
    assert lead.status_code == 302 and lead["Location"] == back
    assert client.get(f"/w/{workspace.slug}/listening/leads.csv").content.count(b"\n") == 2
    page = client.get(back)
    assert b"Open in the inbox" in page.content and b"Open the idea" in page.content


def test_a_refused_action_is_a_message_not_an_error(workspace, owner, signed_in):
    mention = Mention.objects.create(
        workspace=workspace, source_kind="feed", remote_id="news-2", text="Crumb news"
    )
    client = signed_in(owner)
    response = client.post(
        f"/w/{workspace.slug}/listening/mentions/{mention.pk}/answer/", follow=True
    )
    assert response.status_code == 200
    assert b"Only a Bluesky post" in response.content
    assert Conversation.objects.count() == 0


def test_people_without_the_right_cannot_act_on_mentions(workspace, creator, outsider, signed_in):
    mention = bluesky_mention(workspace)
    url = f"/w/{workspace.slug}/listening/mentions/{mention.pk}/lead/"
    assert signed_in(creator).post(url).status_code == 403
    assert signed_in(outsider).post(url).status_code == 404
    assert not Contact.objects.filter(is_lead=True).exists()
