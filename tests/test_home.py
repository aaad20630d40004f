"""The home page after signing in: "Needs you" and "Coming up", per role, with links to where
each thing is handled, empty states that say what is fine, and a constant number of queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from workflow_helpers import stage

from socialdesk.content.models import Post, PostVersion
from socialdesk.networks.models import Channel, ChannelStatus, Network
from socialdesk.networks.states import move_channel
from socialdesk.publishing.models import DeliveryState
from socialdesk.publishing.services import record_history
from socialdesk.workflow import services as workflow

pytestmark = pytest.mark.django_db


def make_post(workspace, author, title) -> Post:
    post = Post.objects.create(workspace=workspace, author=author, title=title, text=title)
    PostVersion.objects.create(post=post, number=1, text=post.text, created_by=author)
    return post


def home_page(client, user, workspace) -> str:
    client.force_login(user)
    response = client.get(reverse("workspace", args=[workspace.slug]))
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def busy(workspace, owner, creator, approver, channel):
    """A post waiting for the approver, a failed delivery, a channel to reconnect, and a
    post coming up tomorrow."""
    waiting = make_post(workspace, creator, "Stollen launch")
    approval = stage(workspace, "approval")
    approval.approvers.set([approver])
    workflow.move(waiting, approval, user=None, check=False)

    failed = make_post(workspace, creator, "Easter hours")
    record_history(
        failed, channel, DeliveryState.FAILED, timezone.now() - timedelta(hours=2),
        last_error="The network refused the post.",
    )  # fmt: skip
    later = make_post(workspace, creator, "Croissant Club")
    record_history(later, channel, DeliveryState.SCHEDULED, timezone.now() + timedelta(days=1))

    mastodon = Channel.objects.create(
        workspace=workspace, network=Network.MASTODON, handle="@crumb@bakers.social"
    )
    mastodon.set_credentials({"instance_url": "https://bakers.social", "access_token": "t"})
    mastodon.save(update_fields=["credentials_encrypted"])
    move_channel(mastodon, ChannelStatus.NEEDS_RECONNECT, "401", "system: test")
    return {"waiting": waiting, "failed": failed, "later": later, "mastodon": mastodon}


def test_signing_in_lands_on_the_workspace_home(client, owner, workspace):
    client.force_login(owner)
    assert client.get(reverse("home"))["Location"] == reverse("workspace", args=[workspace.slug])


def test_the_approver_sees_the_post_waiting_for_their_decision(client, approver, workspace, busy):
    page = home_page(client, approver, workspace)
    url = reverse("workflow_post", args=[workspace.slug, busy["waiting"].pk])
    assert "Waiting for your decision" in page
    assert f'href="{url}">Stollen launch' in page


def test_the_owner_sees_failed_deliveries_and_channels_to_reconnect(client, owner, workspace, busy):
    page = home_page(client, owner, workspace)
    assert "Easter hours" in page
    assert "The network refused the post." in page
    assert "@crumb@bakers.social" in page
    assert "needs reconnecting" in page
    assert reverse("channel_list", args=[workspace.slug]) in page


def test_coming_up_lists_the_next_scheduled_post(client, owner, workspace, busy):
    page = home_page(client, owner, workspace)
    assert "Croissant Club" in page
    assert reverse("post_edit", args=[workspace.slug, busy["later"].pk]) in page


def test_an_analyst_sees_what_is_coming_up_but_no_failures_or_channels(
    client, analyst, workspace, busy
):
    page = home_page(client, analyst, workspace)
    assert "Croissant Club" in page
    assert reverse("workflow_post", args=[workspace.slug, busy["later"].pk]) in page
    assert "Easter hours" not in page
    assert "Channels that cannot publish" not in page


def test_a_client_sees_what_awaits_their_decision_and_no_failures(
    client, client_user, workspace, busy
):
    page = home_page(client, client_user, workspace)
    assert "Waiting for your decision" in page
    assert "Failed deliveries" not in page


def test_an_empty_workspace_says_what_is_fine(client, owner, workspace):
    page = home_page(client, owner, workspace)
    assert "No post is waiting for your approval." in page
    assert "No delivery failed in the last two weeks." in page
    assert "Every channel in use can publish." in page
    assert "Nothing is scheduled yet." in page


def test_an_outsider_gets_404(client, outsider, workspace):
    client.force_login(outsider)
    assert client.get(reverse("workspace", args=[workspace.slug])).status_code == 404


def test_the_home_page_asks_the_database_a_constant_number_of_times(
    client, owner, creator, workspace, busy, channel
):
    client.force_login(owner)
    url = reverse("workspace", args=[workspace.slug])
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for index in range(6):
        post = make_post(workspace, creator, f"More bread {index}")
        record_history(post, channel, DeliveryState.FAILED, timezone.now())
        later = make_post(workspace, creator, f"More cake {index}")
        record_history(
            later, channel, DeliveryState.SCHEDULED, timezone.now() + timedelta(hours=index + 1)
        )
        workflow.move(post, stage(workspace, "approval"), user=None, check=False)
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(many) == len(few)


def test_a_move_back_to_draft_is_announced_as_a_move_back(workspace, creator, manager):
    from socialdesk.notifications.models import Notification

    post = make_post(workspace, creator, "Rye is back")
    workflow.move(post, stage(workspace, "review"), user=None, check=False)
    with_draft = stage(workspace, "draft")
    Notification.objects.all().delete()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("django.db.transaction.on_commit", lambda fn, **kw: fn())
        workflow.move(post, with_draft, user=manager, check=False)

    titles = list(Notification.objects.values_list("title", flat=True))
    assert titles and all("moved back to" in t for t in titles)
    assert all("submitted" not in Notification.objects.get(title=t).event_label for t in titles)
