"""Checks before saving, not after (issue 10, item 2): the composer shows brand voice, network
rules and the workflow checklist live while a NEW post is written, and scheduling refuses what
the workspace forbids (banned phrases, hashtag range, length per network) at every door, in
the words the composer showed. The rule is one function (``workflow.voice.forbidden_problems``)
handed down to content and publishing through ``content.rules``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from api_helpers import call
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from socialdesk.content import bulk, rules
from socialdesk.content.services import PostContent, create_post, update_delivery, update_post
from socialdesk.networks.models import Channel, Network
from socialdesk.publishing import queues
from socialdesk.publishing import services as publishing
from socialdesk.publishing.models import Delivery, DeliveryState
from socialdesk.workflow import services, voice
from socialdesk.workflow.models import RequiredText

BANNED = "Remove “best in town”: it is on the banned list."
TOO_MANY = "Use at most 3 hashtags; the text has 5."
LOUD = "The best in town rye! #rye #bread #bakery #crumb #paris"
QUIET = "Our rye is back on Friday. #rye #bread"


@pytest.fixture
def rules_set(workspace):
    """The bakery's brand voice: one banned phrase, one to three hashtags, Bluesky ≤ 120."""
    settings = services.settings_for(workspace)
    settings.banned_phrases = ["best in town"]
    settings.hashtag_min, settings.hashtag_max = 1, 3
    settings.length_bounds = {"bluesky": [None, 120]}
    settings.save()
    return settings


@pytest.fixture
def bluesky(workspace) -> Channel:
    return Channel.objects.create(
        workspace=workspace, network=Network.BLUESKY, handle="crumb.bsky.social"
    )


def later(days: int = 3) -> datetime:
    return timezone.now() + timedelta(days=days)


def live(client, **fields) -> str:
    response = client.post(reverse("workflow_live_checks", args=["crumb"]), fields)
    assert response.status_code == 200, response.content[:300]
    return response.content.decode()


# --- One rule, handed down -------------------------------------------------------------------


def test_the_rule_scheduling_asks_is_the_brand_voices_own_function(workspace, rules_set):
    assert rules.forbidden(workspace.pk, LOUD, ["page"]) == [BANNED, TOO_MANY]
    assert rules.forbidden(workspace.pk, LOUD, ["page"]) == voice.forbidden_problems(
        rules_set, LOUD, ["page"]
    )
    assert rules.forbidden(workspace.pk, QUIET, ["page"]) == []


def test_a_workspace_without_brand_voice_rules_forbids_nothing(workspace, other_workspace):
    assert rules.forbidden(other_workspace.pk, LOUD, ["bluesky"]) == []


# --- Live in the composer of a new post -------------------------------------------------------


def test_the_new_post_composer_loads_the_live_checks(signed_in, creator, workspace):
    html = signed_in(creator).get(reverse("post_create", args=["crumb"])).content.decode()
    assert 'id="live-checks"' in html
    assert f'hx-post="{reverse("workflow_live_checks", args=["crumb"])}"' in html
    assert "composer:changed" in html


def test_a_new_posts_banned_phrase_and_hashtags_show_while_writing(
    signed_in, creator, workspace, channel, rules_set
):
    html = live(signed_in(creator), text=LOUD, channels=[channel.pk])
    assert BANNED in html and TOO_MANY in html
    assert html.count("blocks scheduling") >= 2
    # Nothing was written: a check is not a save.
    assert not services.Post.objects.exists()

    fixed = live(signed_in(creator), text=QUIET, channels=[channel.pk])
    assert BANNED not in fixed and TOO_MANY not in fixed
    assert "follows the brand voice" in fixed


def test_network_length_rules_show_for_the_chosen_channels(
    signed_in, creator, workspace, channel, bluesky, rules_set
):
    text = "Rye is back. #rye " + "Slow dough, long nights, crisp crust. " * 3
    client = signed_in(creator)
    assert "On bluesky" not in live(client, text=text, channels=[channel.pk])
    html = live(client, text=text, channels=[channel.pk, bluesky.pk])
    assert f"On bluesky the text should have at most 120 characters; it has {len(text)}." in html
    # The network's own limit (Bluesky: 300 graphemes), in the editor's words.
    too_long = "#rye " + "a" * 400
    html = live(client, text=too_long, channels=[bluesky.pk])
    assert "Bluesky allows 300. Remove 105." in html


def test_the_workflow_checklist_shows_before_the_post_exists(
    signed_in, creator, workspace, channel
):
    """A new post's checklist: what "Submit for approval" will ask, and where it will go."""
    html = live(signed_in(creator), text="Rye https://crumb.test/rye", channels=[channel.pk])
    assert "Draft: Every link carries UTM parameters" in html
    assert "https://crumb.test/rye lacks utm_source, utm_medium, utm_campaign." in html
    html = live(signed_in(creator), text="Rye on Friday", channels=[channel.pk])
    assert "takes it to <strong>Review</strong>" in html
    assert "a manager or an owner ticks “Copy proofread”" in html
    html = live(signed_in(creator), text="Rye on Friday")
    assert "Choose at least one channel." in html


def test_required_texts_and_reading_level_are_advice_that_does_not_block(
    signed_in, creator, workspace, channel, taxonomy, rules_set
):
    RequiredText.objects.create(workspace=workspace, text="#ad", campaign=taxonomy["campaign"])
    html = live(
        signed_in(creator), text=QUIET, channels=[channel.pk], campaign=taxonomy["campaign"].pk
    )
    assert "Add “#ad”: required for this post&#x27;s campaign or labels." in html
    assert "blocks scheduling" not in html
    post = create_post(
        workspace,
        creator,
        PostContent(
            text=QUIET,
            channel_ids=[channel.pk],
            campaign_id=taxonomy["campaign"].pk,
            scheduled_at=later(),
        ),
    )
    assert post.deliveries.get().state == DeliveryState.SCHEDULED


def test_only_members_who_write_posts_check_them(signed_in, analyst, outsider, workspace, channel):
    url = reverse("workflow_live_checks", args=["crumb"])
    assert signed_in(analyst).post(url, {"text": "x"}).status_code == 403
    assert signed_in(outsider).post(url, {"text": "x"}).status_code == 404


def test_a_saved_posts_editor_checks_the_unsaved_fields(
    signed_in, creator, workspace, channel, rules_set
):
    post = create_post(workspace, creator, PostContent(text=QUIET, channel_ids=[channel.pk]))
    client = signed_in(creator)
    editor = client.get(reverse("post_edit", args=["crumb", post.pk])).content.decode()
    assert f'hx-vals=\'{{"post": "{post.pk}"}}\'' in editor
    html = live(client, text=LOUD, channels=[channel.pk], post=post.pk)
    assert BANNED in html and "blocks scheduling" in html
    assert "takes it to <strong>Review</strong>" in html
    # The post's workflow page shows the saved post's (the same panel, without the editor).
    url = reverse("workflow_post", args=["crumb", post.pk])
    html = client.get(url).content.decode()
    assert BANNED not in html and "follows the brand voice" in html
    panel = reverse("workflow_panel", args=["crumb", post.pk])
    assert BANNED in client.post(panel, {"text": LOUD}).content.decode()


# --- Scheduling refuses it, at every door ------------------------------------------------------


def test_create_post_refuses_to_schedule_what_the_workspace_forbids(
    workspace, creator, channel, rules_set
):
    with pytest.raises(ValidationError) as refused:
        create_post(
            workspace,
            creator,
            PostContent(text=LOUD, channel_ids=[channel.pk], scheduled_at=later()),
        )
    assert refused.value.message_dict == {"text": [BANNED, TOO_MANY]}
    assert not Delivery.objects.exists()
    # As a draft it may be written (and fixed later): the rule is about going out.
    draft = create_post(workspace, creator, PostContent(text=LOUD, channel_ids=[channel.pk]))
    assert draft.deliveries.get().state == DeliveryState.DRAFT


def test_the_editor_refuses_with_the_words_it_showed_and_keeps_the_text(
    signed_in, creator, workspace, channel, rules_set
):
    data = {
        "text": LOUD,
        "title": "Loud rye",
        "channels": [channel.pk],
        "scheduled_at": later(5).strftime("%Y-%m-%dT09:00"),
    }
    response = signed_in(creator).post(reverse("post_create", args=["crumb"]), data)
    assert response.status_code == 400
    html = response.content.decode()
    assert BANNED in html and TOO_MANY in html
    assert not services.Post.objects.exists()


def test_the_api_refuses_with_the_same_words(workspace, creator, channel, token_for, rules_set):
    body = {"text": LOUD, "channel_ids": [channel.pk], "scheduled_at": later().isoformat()}
    response = call("post", "/workspaces/crumb/posts", token_for(creator), json_body=body)
    assert response.status_code == 422, response.content
    errors = response.json()["errors"]
    assert {"field": "text", "message": BANNED} in errors
    assert {"field": "text", "message": TOO_MANY} in errors
    body["scheduled_at"] = None
    assert call("post", "/workspaces/crumb/posts", token_for(creator), json_body=body).status_code
    post = services.Post.objects.get()
    patch = {"scheduled_at": later().isoformat()}
    response = call("patch", f"/workspaces/crumb/posts/{post.pk}", token_for(creator), patch)
    assert response.status_code == 422
    assert {"field": "text", "message": BANNED} in response.json()["errors"]


def test_a_scheduled_posts_new_text_is_held_to_the_rules(workspace, creator, channel, rules_set):
    post = create_post(
        workspace, creator, PostContent(text=QUIET, channel_ids=[channel.pk], scheduled_at=later())
    )
    with pytest.raises(ValidationError) as refused:
        update_post(post, creator, PostContent(text=LOUD))
    assert refused.value.message_dict["text"] == [BANNED, TOO_MANY]
    post.refresh_from_db()
    assert post.text == QUIET
    # A rule added after a post was scheduled does not stop editing its title.
    rules_set.banned_phrases = ["rye"]
    rules_set.save()
    update_post(post, creator, PostContent(title="Friday rye"))


def test_a_channels_own_version_is_held_to_the_rules(workspace, creator, channel, rules_set):
    post = create_post(
        workspace, creator, PostContent(text=QUIET, channel_ids=[channel.pk], scheduled_at=later())
    )
    with pytest.raises(ValidationError) as refused:
        update_delivery(post.deliveries.get(), text_override=LOUD)
    assert refused.value.message_dict == {"text_override": [BANNED, TOO_MANY]}


def test_scheduling_a_draft_from_the_calendar_or_a_queue_refuses_it(
    workspace, creator, channel, bluesky, rules_set
):
    """The publishing engine's own door (``schedule``: the calendar, the queues, the posts
    API's time) asks the same rule, though publishing never imports the workflow."""
    post = create_post(workspace, creator, PostContent(text=LOUD, channel_ids=[channel.pk]))
    with pytest.raises(ValidationError) as refused:
        publishing.schedule(post, later(), actor=creator)
    assert refused.value.message_dict["text"] == [BANNED, TOO_MANY]
    with pytest.raises(ValidationError) as refused:
        queues.add_to_queue(post.deliveries.get(), creator)
    assert refused.value.message_dict["text"] == [BANNED, TOO_MANY]
    assert post.deliveries.get().state == DeliveryState.DRAFT
    # Length per network: the same text may go to the page and not to Bluesky.
    long_text = "Our rye is back. #rye " + "Slow dough, long nights. " * 5
    ok = create_post(workspace, creator, PostContent(text=long_text, channel_ids=[channel.pk]))
    publishing.schedule(ok, later(), actor=creator)
    too_long = create_post(
        workspace, creator, PostContent(text=long_text, channel_ids=[bluesky.pk])
    )
    with pytest.raises(ValidationError) as refused:
        publishing.schedule(too_long, later(), actor=creator)
    assert refused.value.message_dict["text"] == [
        f"On bluesky the text should have at most 120 characters; it has {len(long_text)}."
    ]


def test_the_csv_import_refuses_the_row_in_the_same_words(workspace, owner, channel, rules_set):
    data = (
        "date,time,time zone,channels,text,media,labels,pillar,campaign\n"
        f"2030-03-06,09:00,,page:crumb,{LOUD},,,,\n"
        ",,,page:crumb,A draft may say it: best in town,,,,\n"
    ).encode()
    plan = bulk.validate_csv(workspace, data, now=datetime(2029, 1, 1, tzinfo=UTC))
    assert [str(e) for e in plan.errors] == [f"Row 2, text: {BANNED}", f"Row 2, text: {TOO_MANY}"]
