"""The composer through the test client: per-network rules, channel versions, thread parts,
media from the library, hashtag groups, templates, UTM tags, autosaved drafts, the queue
button, and its settings page."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from api_helpers import call, png_upload
from django.urls import reverse
from django.utils import timezone

from socialdesk.content import composer
from socialdesk.content.media import upload_media
from socialdesk.content.models import ComposerDraft, HashtagGroup, Post, PostTemplate, UtmDefaults
from socialdesk.networks.models import Channel, Network
from socialdesk.publishing.connectors import content_for
from socialdesk.publishing.models import DeliveryState


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def bluesky(workspace) -> Channel:
    return Channel.objects.create(
        workspace=workspace, network=Network.BLUESKY, handle="crumb.bsky.social"
    )


@pytest.fixture
def mastodon(workspace) -> Channel:
    return Channel.objects.create(
        workspace=workspace,
        network=Network.MASTODON,
        handle="crumb@bread.example",
        signature="— the Crumb team",
    )


def later() -> str:
    return (timezone.now() + timedelta(days=3)).strftime("%Y-%m-%dT09:00")


def new_post(client, workspace, **data):
    return client.post(reverse("post_create", args=[workspace.slug]), data)


# --- Counting: one rule, the connectors' ----------------------------------------------------


def test_bluesky_counts_graphemes_and_mastodon_counts_every_link_as_23():
    family = "👩\u200d👩\u200d👧"
    assert composer.text_length(Network.BLUESKY, family * 3) == 3
    link = "https://crumb.fr/a/very/long/path/to/the/stollen/pre-order/page"
    assert composer.text_length(Network.MASTODON, f"Order: {link}") == len("Order: ") + 23
    assert composer.text_length(Network.BLUESKY, f"Order: {link}") == len(f"Order: {link}")


def test_the_page_gets_each_chosen_channels_limits(signed_in, owner, workspace, bluesky, mastodon):
    body = signed_in(owner).get(reverse("post_create", args=[workspace.slug])).content.decode()
    start = body.index('<script id="composer-channels" type="application/json">')
    data = json.loads(body[body.index(">", start) + 1 : body.index("</script>", start)])
    rules = {c["network"]: c for c in data}
    assert rules["bluesky"]["max"] == 300 and rules["bluesky"]["unit"] == "graphemes"
    assert rules["mastodon"]["max"] == 500 and rules["mastodon"]["url"] == 23
    assert rules["mastodon"]["signature"] == "— the Crumb team"


def test_a_text_too_long_for_bluesky_is_refused_before_scheduling(
    signed_in, owner, workspace, bluesky
):
    response = new_post(
        signed_in(owner),
        workspace,
        text="🥐" * 301,
        channels=[bluesky.pk],
        scheduled_at=later(),
    )
    assert response.status_code == 400
    assert "301 characters; Bluesky allows 300. Remove 1." in response.content.decode()
    assert not Post.objects.exists()


def test_a_too_long_draft_is_kept_so_work_is_not_lost(signed_in, owner, workspace, bluesky):
    response = new_post(signed_in(owner), workspace, text="🥐" * 301, channels=[bluesky.pk])
    assert response.status_code == 302
    assert Post.objects.get().text == "🥐" * 301


def test_a_channel_version_within_its_limit_lets_a_long_shared_text_be_scheduled(
    signed_in, owner, workspace, bluesky, channel
):
    response = new_post(
        signed_in(owner),
        workspace,
        text="x" * 400,
        channels=[bluesky.pk, channel.pk],
        **{f"override_{bluesky.pk}": "Short for Bluesky"},
        scheduled_at=later(),
    )
    assert response.status_code == 302
    post = Post.objects.get()
    assert post.deliveries.get(channel=bluesky).text == "Short for Bluesky"
    assert post.deliveries.get(channel=channel).text == "x" * 400


# --- Versions, first comments, thread parts ------------------------------------------------


def test_each_channel_keeps_its_own_version_and_first_comment(
    signed_in, owner, workspace, bluesky, mastodon
):
    response = new_post(
        signed_in(owner),
        workspace,
        text="Stollen is back",
        title="Stollen",
        channels=[bluesky.pk, mastodon.pk],
        **{
            f"override_{mastodon.pk}": "Stollen is back #baking",
            f"first_comment_{bluesky.pk}": "Pre-order link in bio",
            "thread_2": "It keeps for weeks.",
            "thread_3": "",
        },
    )
    assert response.status_code == 302
    post = Post.objects.get(title="Stollen")
    assert post.thread == ["It keeps for weeks."]
    on_bluesky = post.deliveries.get(channel=bluesky)
    on_mastodon = post.deliveries.get(channel=mastodon)
    assert (on_bluesky.text, on_bluesky.first_comment) == (
        "Stollen is back",
        "Pre-order link in bio",
    )
    assert on_mastodon.text == "Stollen is back #baking"
    content = content_for(on_bluesky)
    assert content.thread == ("It keeps for weeks.",)
    assert content.first_comment == "Pre-order link in bio"


def test_the_editor_shows_saved_versions_and_thread(signed_in, owner, workspace, bluesky):
    client = signed_in(owner)
    new_post(
        client,
        workspace,
        text="Shared",
        channels=[bluesky.pk],
        **{f"override_{bluesky.pk}": "Own words", "thread_2": "Part two"},
    )
    post = Post.objects.get()
    body = client.get(reverse("post_edit", args=[workspace.slug, post.pk])).content.decode()
    assert "Own words</textarea>" in body
    assert "Part two</textarea>" in body
    assert "Version for crumb.bsky.social on Bluesky" in body


# --- Media from the library ----------------------------------------------------------------


def test_an_image_from_the_library_is_attached(signed_in, owner, workspace, channel, media_root):
    asset = upload_media(workspace, owner, png_upload(), "A loaf on a board")
    response = new_post(
        signed_in(owner),
        workspace,
        text="Look",
        channels=[channel.pk],
        library=[asset.pk],
        scheduled_at=later(),
    )
    assert response.status_code == 302
    assert list(Post.objects.get().media.all()) == [asset]


def test_a_library_image_without_alt_text_stops_scheduling_with_a_clear_message(
    signed_in, owner, workspace, channel, media_root
):
    asset = upload_media(workspace, owner, png_upload(), "")
    response = new_post(
        signed_in(owner),
        workspace,
        text="Look",
        channels=[channel.pk],
        library=[asset.pk],
        scheduled_at=later(),
    )
    assert response.status_code == 400
    assert "has no alt text: describe it" in response.content.decode()
    assert not Post.objects.exists()


# --- Hashtags, templates, UTM --------------------------------------------------------------


def test_utm_tags_use_the_workspace_defaults_and_the_campaigns_name(
    signed_in, owner, workspace, taxonomy, mastodon
):
    UtmDefaults.objects.create(workspace=workspace, source="crumb", medium="social")
    response = signed_in(owner).post(
        reverse("composer_utm", args=[workspace.slug]),
        {
            "text": "Order at https://crumb.example/shop?ref=x. Thanks!",
            "campaign": taxonomy["campaign"].pk,
            "channel": mastodon.pk,
        },
    )
    assert response.status_code == 200
    assert response.json()["text"] == (
        "Order at https://crumb.example/shop?ref=x&utm_source=mastodon&utm_medium=social"
        "&utm_campaign=stollen. Thanks!"
    )


def test_a_link_keeps_the_utm_tags_it_already_has():
    text = composer.apply_utm(
        "https://a.example/?utm_source=mail", {"utm_source": "x", "utm_medium": "social"}
    )
    assert text == "https://a.example/?utm_source=mail&utm_medium=social"


def test_a_template_fills_its_placeholders_and_leaves_unknown_ones_visible():
    text = "New: {product}, from {date}. {price}"
    assert composer.placeholders(text) == ["product", "date", "price"]
    filled = composer.fill_template(text, {"product": "stollen", "date": "Monday"})
    assert filled == "New: stollen, from Monday. {price}"


def test_manager_adds_a_hashtag_group_and_a_template(signed_in, manager, workspace):
    client = signed_in(manager)
    url = reverse("composer_settings", args=[workspace.slug])
    response = client.post(
        url,
        {"section": "hashtags", "hashtags-name": "Baking", "hashtags-hashtags": "baking, #bread"},
    )
    assert response.status_code == 302
    assert HashtagGroup.objects.get(workspace=workspace).hashtags == "#baking #bread"
    client.post(
        url,
        {"section": "template", "template-name": "Launch", "template-text": "New: {product}"},
    )
    assert PostTemplate.objects.get(workspace=workspace).name == "Launch"
    body = client.get(reverse("post_create", args=[workspace.slug])).content.decode()
    assert 'data-insert="#baking #bread"' in body
    assert '"placeholders": ["product"]' in body


def test_a_duplicate_hashtag_group_name_is_refused_next_to_the_name(signed_in, manager, workspace):
    HashtagGroup.objects.create(workspace=workspace, name="Baking", hashtags="#baking")
    response = signed_in(manager).post(
        reverse("composer_settings", args=[workspace.slug]),
        {"section": "hashtags", "hashtags-name": "Baking", "hashtags-hashtags": "#bread"},
    )
    assert response.status_code == 400
    assert "already has one named" in response.content.decode()


def test_a_bad_hashtag_is_refused_with_what_to_fix(signed_in, manager, workspace):
    response = signed_in(manager).post(
        reverse("composer_settings", args=[workspace.slug]),
        {"section": "hashtags", "hashtags-name": "Bad", "hashtags-hashtags": "#ok #no-dash"},
    )
    assert response.status_code == 400
    assert "fix #no-dash" in response.content.decode()


def test_manager_sets_a_channel_signature(signed_in, manager, workspace, mastodon):
    response = signed_in(manager).post(
        reverse("composer_settings", args=[workspace.slug]),
        {"section": "signatures", f"sig-signature_{mastodon.pk}": "— Tom"},
    )
    assert response.status_code == 302
    mastodon.refresh_from_db()
    assert mastodon.signature == "— Tom"


def test_creator_cannot_open_composer_settings(signed_in, creator, workspace):
    response = signed_in(creator).get(reverse("composer_settings", args=[workspace.slug]))
    assert response.status_code == 403


def test_outsider_cannot_use_the_composer_endpoints(signed_in, outsider, workspace):
    client = signed_in(outsider)
    for name in ("composer_autosave", "composer_utm"):
        assert client.post(reverse(name, args=[workspace.slug]), {"text": "x"}).status_code == 404


def test_client_cannot_autosave(signed_in, client_user, workspace):
    url = reverse("composer_autosave", args=[workspace.slug])
    assert signed_in(client_user).post(url, {"text": "x"}).status_code == 403


# --- Autosave ------------------------------------------------------------------------------


def test_typed_text_is_saved_as_a_draft_and_comes_back_after_a_reload(
    signed_in, creator, workspace, bluesky
):
    client = signed_in(creator)
    response = client.post(
        reverse("composer_autosave", args=[workspace.slug]),
        {"text": "Half a thought", "channels": [bluesky.pk], f"override_{bluesky.pk}": "Mine"},
    )
    assert response.status_code == 200
    assert "saved_label" in response.json()
    body = client.get(reverse("post_create", args=[workspace.slug])).content.decode()
    assert "Half a thought</textarea>" in body
    assert "Mine</textarea>" in body
    assert "You have unsaved changes" in body


def test_saving_the_post_forgets_its_draft(signed_in, creator, workspace, bluesky):
    client = signed_in(creator)
    client.post(reverse("composer_autosave", args=[workspace.slug]), {"text": "Draft"})
    new_post(client, workspace, text="Draft", channels=[bluesky.pk])
    assert not ComposerDraft.objects.exists()


def test_a_draft_of_an_existing_post_is_per_person(
    signed_in, owner, manager, workspace, post, client
):
    url = reverse("composer_autosave", args=[workspace.slug])
    signed_in(owner).post(url, {"post": post.pk, "text": "Owner's unsaved words"})
    body = (
        signed_in(manager)
        .get(reverse("post_edit", args=[workspace.slug, post.pk]))
        .content.decode()
    )
    assert "Owner's unsaved words" not in body
    body = (
        signed_in(owner).get(reverse("post_edit", args=[workspace.slug, post.pk])).content.decode()
    )
    assert "Owner&#x27;s unsaved words</textarea>" in body


def test_a_draft_older_than_the_saved_post_is_not_restored(workspace, owner, post):
    composer.save_draft(workspace, owner, post, {"text": "old"}, post.updated_at - timedelta(1))
    assert composer.draft_for(workspace, owner, post) is None


def test_autosave_of_another_workspaces_post_is_not_found(signed_in, owner, workspace, other_post):
    url = reverse("composer_autosave", args=[workspace.slug])
    assert signed_in(owner).post(url, {"post": other_post.pk, "text": "x"}).status_code == 404


def test_discarding_a_draft_restores_the_saved_post(signed_in, owner, workspace, post):
    client = signed_in(owner)
    client.post(reverse("composer_autosave", args=[workspace.slug]), {"post": post.pk, "text": "x"})
    response = client.post(reverse("composer_discard", args=[workspace.slug]), {"post": post.pk})
    assert response.status_code == 302
    assert not ComposerDraft.objects.exists()


# --- Add to queue --------------------------------------------------------------------------


def test_add_to_queue_and_a_time_together_are_refused(signed_in, owner, workspace, channel):
    response = new_post(
        signed_in(owner),
        workspace,
        text="Hi",
        channels=[channel.pk],
        scheduled_at=later(),
        action="queue",
    )
    assert response.status_code == 400
    assert "Choose a time or add the post to the queue, not both." in response.content.decode()


def test_add_to_queue_takes_the_channels_next_free_slot(signed_in, owner, workspace, channel):
    from socialdesk.publishing import queues

    queues.set_slots(channel, [(day, "09:00") for day in range(7)])  # type: ignore[misc]
    response = new_post(
        signed_in(owner), workspace, text="Queued", channels=[channel.pk], action="queue"
    )
    assert response.status_code == 302
    delivery = Post.objects.get().deliveries.get()
    assert delivery.state == DeliveryState.SCHEDULED
    local = delivery.scheduled_at.astimezone(channel.zone)
    assert (local.hour, local.minute) == (9, 0)


# --- The same through the API --------------------------------------------------------------


def test_a_script_writes_a_thread_through_the_api(owner, workspace, bluesky, token_for):
    response = call(
        "post",
        f"/workspaces/{workspace.slug}/posts",
        token_for(owner),
        {
            "text": "Part one",
            "thread": ["Part two", " ", "Part three"],
            "channel_ids": [bluesky.pk],
        },
    )
    assert response.status_code == 201, response.content
    assert response.json()["thread"] == ["Part two", "Part three"]
    post = Post.objects.get()
    response = call(
        "patch", f"/workspaces/{workspace.slug}/posts/{post.pk}", token_for(owner), {"thread": []}
    )
    assert response.json()["thread"] == []


def test_a_script_manages_hashtag_groups_with_the_same_rules(manager, workspace, token_for):
    url = f"/workspaces/{workspace.slug}/hashtag_groups"
    created = call("post", url, token_for(manager), {"name": "Bread", "hashtags": "bread, #rye"})
    assert created.status_code == 201
    assert created.json()["hashtags"] == "#bread #rye"
    bad = call("post", url, token_for(manager), {"name": "Bad", "hashtags": "#no-dash"})
    assert bad.status_code == 422
    assert "fix #no-dash" in bad.content.decode()
    twice = call("post", url, token_for(manager), {"name": "Bread", "hashtags": "#x"})
    assert twice.status_code == 422
    assert "already exists" in twice.content.decode()


def test_a_templates_placeholders_are_listed_by_the_api(manager, workspace, token_for):
    url = f"/workspaces/{workspace.slug}/post_templates"
    created = call(
        "post", url, token_for(manager), {"name": "Launch", "text": "{product} on {date}"}
    )
    assert created.status_code == 201
    assert created.json()["placeholders"] == ["product", "date"]
