"""The post pages through the test client: list and filters, the editor, deleting."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from socialdesk.content.models import Post
from socialdesk.content.services import PostContent, create_post
from socialdesk.networks.models import Channel, Network
from socialdesk.publishing.models import Delivery, DeliveryState


def next_winter_day() -> datetime:
    """15 January of next year: Paris is on UTC+1 then."""
    return datetime(timezone.now().year + 1, 1, 15)


def form_data(channel, **overrides) -> dict:
    data = {
        "text": "Stollen season starts Monday",
        "title": "Stollen launch",
        "channels": [channel.pk],
        "scheduled_at": next_winter_day().strftime("%Y-%m-%dT09:00"),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


# --- Editor ---------------------------------------------------------------------------------


def test_creator_creates_a_scheduled_post_through_the_form(
    signed_in, creator, workspace, channel, taxonomy
):
    data = form_data(
        channel,
        labels=[taxonomy["label"].pk],
        pillar=taxonomy["pillar"].pk,
        campaign=taxonomy["campaign"].pk,
    )
    response = signed_in(creator).post(reverse("post_create", args=[workspace.slug]), data)
    assert response.status_code == 302
    post = Post.objects.get(title="Stollen launch")
    assert post.author == creator
    assert post.text == "Stollen season starts Monday"
    assert list(post.labels.all()) == [taxonomy["label"]]
    assert post.pillar == taxonomy["pillar"]
    assert post.campaign == taxonomy["campaign"]
    delivery = post.deliveries.get()
    assert delivery.channel == channel
    assert delivery.state == DeliveryState.SCHEDULED


def test_nine_in_the_morning_in_paris_is_eight_utc_in_winter(signed_in, owner, workspace, channel):
    signed_in(owner).post(reverse("post_create", args=[workspace.slug]), form_data(channel))
    delivery = Delivery.objects.get(post__title="Stollen launch")
    day = next_winter_day()
    assert delivery.scheduled_at == datetime(day.year, 1, 15, 8, 0, tzinfo=UTC)


def test_editor_shows_the_scheduled_time_in_the_workspace_zone(
    signed_in, owner, workspace, channel
):
    day = next_winter_day()
    post = create_post(
        workspace,
        owner,
        PostContent(
            text="Hi",
            channel_ids=[channel.pk],
            scheduled_at=datetime(day.year, 1, 15, 8, 0, tzinfo=UTC),
        ),
    )
    body = signed_in(owner).get(reverse("post_edit", args=[workspace.slug, post.pk])).content
    assert f'value="{day.year}-01-15T09:00"' in body.decode()


def test_a_post_without_a_time_stays_a_draft(signed_in, owner, workspace, channel):
    data = form_data(channel, scheduled_at="")
    signed_in(owner).post(reverse("post_create", args=[workspace.slug]), data)
    delivery = Delivery.objects.get(post__title="Stollen launch")
    assert delivery.state == DeliveryState.DRAFT
    assert delivery.scheduled_at is None


def test_a_time_in_the_past_is_refused_next_to_the_field_and_nothing_is_written(
    signed_in, owner, workspace, channel
):
    yesterday = timezone.localtime(timezone.now(), workspace.zone) - timedelta(days=1)
    data = form_data(channel, scheduled_at=yesterday.strftime("%Y-%m-%dT%H:%M"))
    response = signed_in(owner).post(reverse("post_create", args=[workspace.slug]), data)
    assert response.status_code == 400
    assert "This time is in the past" in response.content.decode()
    assert 'id="id_scheduled_at_error"' in response.content.decode()
    assert not Post.objects.filter(title="Stollen launch").exists()


def test_typed_text_is_kept_when_the_form_has_errors(signed_in, owner, workspace, channel):
    data = form_data(channel, scheduled_at="not a date", text="Keep me, please")
    response = signed_in(owner).post(reverse("post_create", args=[workspace.slug]), data)
    body = response.content.decode()
    assert response.status_code == 400
    assert "Keep me, please" in body
    assert "Enter a date and time" in body
    assert not Post.objects.exists()


def test_empty_text_is_refused_with_a_message_naming_it(signed_in, owner, workspace, channel):
    response = signed_in(owner).post(
        reverse("post_create", args=[workspace.slug]), form_data(channel, text="")
    )
    assert response.status_code == 400
    assert "Write the post&#x27;s text." in response.content.decode()
    assert not Post.objects.exists()


def test_a_channel_of_another_workspace_cannot_be_chosen(
    signed_in, owner, workspace, channel, other_channel
):
    data = form_data(channel, channels=[other_channel.pk])
    response = signed_in(owner).post(reverse("post_create", args=[workspace.slug]), data)
    assert response.status_code == 400
    assert 'id="id_channels_error"' in response.content.decode()
    assert not Post.objects.filter(workspace=workspace).exists()
    assert not Delivery.objects.filter(channel=other_channel, post__workspace=workspace).exists()


def test_too_long_text_shows_the_services_message_next_to_the_text(
    signed_in, owner, workspace, channel
):
    data = form_data(channel, text="x" * 10_001)
    response = signed_in(owner).post(reverse("post_create", args=[workspace.slug]), data)
    assert response.status_code == 400
    assert "the limit is 10000" in response.content.decode()
    assert 'id="id_text_error"' in response.content.decode()
    assert not Post.objects.exists()


def last_sunday(year: int, month: int) -> date:
    last = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - 6) % 7)


def nth_sunday(year: int, month: int, nth: int) -> date:
    """The ``nth`` Sunday of a month (1 = first)."""
    first = date(year, month, 1)
    return first + timedelta(days=(6 - first.weekday()) % 7 + 7 * (nth - 1))


def next_year() -> int:
    return timezone.now().year + 1


@pytest.fixture
def new_york(workspace) -> Channel:
    """A channel of the Paris bakery that posts for its New York shop, in New York's zone."""
    return Channel.objects.create(
        workspace=workspace,
        network=Network.BLUESKY,
        handle="crumb-nyc.bsky.social",
        time_zone="America/New_York",
    )


def test_a_paris_workspaces_new_york_channel_reads_nine_in_new_york(
    signed_in, owner, workspace, new_york
):
    response = signed_in(owner).post(
        reverse("post_create", args=[workspace.slug]), form_data(new_york), follow=True
    )
    delivery = Delivery.objects.get(post__title="Stollen launch")
    # 09:00 in New York in January (UTC-5), not 09:00 in Paris (which is 03:00 in New York).
    assert delivery.scheduled_at == datetime(next_year(), 1, 15, 14, 0, tzinfo=UTC)
    assert "09:00 in America/New_York (UTC-5)" in response.content.decode()


def test_a_post_on_two_channels_reads_the_time_in_the_workspace_zone(
    signed_in, owner, workspace, channel, new_york
):
    data = form_data(channel, channels=[channel.pk, new_york.pk])
    response = signed_in(owner).post(
        reverse("post_create", args=[workspace.slug]), data, follow=True
    )
    times = set(Delivery.objects.values_list("scheduled_at", flat=True))
    assert times == {datetime(next_year(), 1, 15, 8, 0, tzinfo=UTC)}
    assert "09:00 in Europe/Paris (UTC+1)" in response.content.decode()


def test_the_editor_says_which_zone_reads_the_time(signed_in, owner, workspace, new_york):
    client = signed_in(owner)
    blank = client.get(reverse("post_create", args=[workspace.slug])).content.decode()
    assert "Read in Europe/Paris, the workspace&#x27;s time zone." in blank
    post = create_post(
        workspace,
        owner,
        PostContent(
            text="Bagels",
            channel_ids=[new_york.pk],
            scheduled_at=datetime(next_year(), 1, 15, 14, 0, tzinfo=UTC),
        ),
    )
    page = client.get(reverse("post_edit", args=[workspace.slug, post.pk]))
    body = page.content.decode()
    assert "Read in America/New_York, the time zone of crumb-nyc.bsky.social." in body
    # The time is shown on the wall clock that reads it.
    assert f'value="{next_year()}-01-15T09:00"' in body


@pytest.mark.parametrize(
    ("zone", "day", "typed", "message"),
    [
        (
            "Europe/Paris",
            lambda year: last_sunday(year, 3),
            "02:30",
            "the clocks jump from 02:00 to 03:00. Choose 01:59 (UTC+1) or 03:00 (UTC+2).",
        ),
        (
            # Lord Howe Island moves its clocks by 30 minutes, on the first Sunday of October.
            "Australia/Lord_Howe",
            lambda year: nth_sunday(year, 10, 1),
            "02:15",
            "the clocks jump from 02:00 to 02:30. Choose 01:59 (UTC+10:30) or 02:30 (UTC+11).",
        ),
        (
            # The Chatham Islands (UTC+12:45) jump at 02:45, on the last Sunday of September.
            "Pacific/Chatham",
            lambda year: last_sunday(year, 9),
            "03:00",
            "the clocks jump from 02:45 to 03:45. Choose 02:44 (UTC+12:45) or 03:45 (UTC+13:45).",
        ),
    ],
    ids=["paris", "lord-howe", "chatham"],
)
def test_a_time_the_clocks_skip_is_refused_with_the_minutes_either_side_of_the_jump(
    signed_in, owner, workspace, zone, day, typed, message
):
    shop = Channel.objects.create(
        workspace=workspace, network=Network.PAGE, handle="island", time_zone=zone
    )
    when = f"{day(next_year()).isoformat()}T{typed}"
    response = signed_in(owner).post(
        reverse("post_create", args=[workspace.slug]), form_data(shop, scheduled_at=when)
    )
    assert response.status_code == 400
    errors = response.context["form"].errors["scheduled_at"]
    assert errors == [
        f"{typed} does not exist on {day(next_year()).isoformat()} in {zone}: {message}"
    ]
    assert not Post.objects.exists()


def repeated_morning() -> str:
    """02:30 on the last Sunday of October next year: Paris shows it twice (CEST, then CET)."""
    return f"{last_sunday(next_year(), 10).isoformat()}T02:30"


def test_a_repeated_time_offers_both_readings_and_keeps_the_one_chosen(
    signed_in, owner, workspace, channel
):
    client = signed_in(owner)
    url = reverse("post_create", args=[workspace.slug])
    refused = client.post(url, form_data(channel, scheduled_at=repeated_morning()))
    assert refused.status_code == 400
    body = refused.content.decode()
    assert "02:30 happens twice on" in body and "Choose the earlier 02:30 CEST (UTC+2)" in body
    assert 'name="repeated_time" value="earlier"' in body
    assert "The later 02:30 CET (UTC+1)" in body
    assert not Post.objects.exists()

    chosen = client.post(
        url, form_data(channel, scheduled_at=repeated_morning(), repeated_time="later")
    )
    assert chosen.status_code == 302
    delivery = Delivery.objects.get(post__title="Stollen launch")
    day = date.fromisoformat(repeated_morning()[:10])
    assert delivery.scheduled_at == datetime(day.year, day.month, day.day, 1, 30, tzinfo=UTC)

    # Saving the post again with its time untouched keeps the later reading, unasked.
    edit = reverse("post_edit", args=[workspace.slug, delivery.post_id])
    shown = client.get(edit).context["form"]["scheduled_at"].value()
    assert shown.strftime("%Y-%m-%dT%H:%M") == repeated_morning()
    again = client.post(
        edit, form_data(channel, text="Stollen, still", scheduled_at=repeated_morning())
    )
    assert again.status_code == 302
    delivery.refresh_from_db()
    assert delivery.scheduled_at == datetime(day.year, day.month, day.day, 1, 30, tzinfo=UTC)


def test_the_earlier_reading_of_a_repeated_time_is_an_hour_before_the_later(
    signed_in, owner, workspace, channel
):
    data = form_data(channel, scheduled_at=repeated_morning(), repeated_time="earlier")
    response = signed_in(owner).post(reverse("post_create", args=[workspace.slug]), data)
    assert response.status_code == 302
    day = date.fromisoformat(repeated_morning()[:10])
    delivery = Delivery.objects.get(post__title="Stollen launch")
    assert delivery.scheduled_at == datetime(day.year, day.month, day.day, 0, 30, tzinfo=UTC)


def test_a_reading_that_is_neither_earlier_nor_later_is_refused(
    signed_in, owner, workspace, channel
):
    data = form_data(channel, scheduled_at=repeated_morning(), repeated_time="both")
    response = signed_in(owner).post(reverse("post_create", args=[workspace.slug]), data)
    assert response.status_code == 400
    assert response.context["form"].errors["scheduled_at"] == [
        "Choose the earlier or the later reading of this time."
    ]


def test_editing_a_post_changes_its_text_and_time(signed_in, owner, workspace, channel, post):
    day = next_winter_day()
    data = form_data(channel, text="Fresh sourdough at 8", title="", scheduled_at=None)
    data["scheduled_at"] = day.strftime("%Y-%m-%dT10:30")
    response = signed_in(owner).post(reverse("post_edit", args=[workspace.slug, post.pk]), data)
    assert response.status_code == 302
    post.refresh_from_db()
    assert post.text == "Fresh sourdough at 8"
    assert post.versions.count() == 2
    delivery = post.deliveries.get()
    assert delivery.scheduled_at == datetime(day.year, 1, 15, 9, 30, tzinfo=UTC)


def test_saving_a_post_whose_time_has_passed_keeps_it_when_the_time_is_unchanged(
    signed_in, owner, workspace, channel, post
):
    past = timezone.now() - timedelta(hours=2)
    post.deliveries.update(scheduled_at=past)
    client = signed_in(owner)
    page = client.get(reverse("post_edit", args=[workspace.slug, post.pk]))
    shown = page.context["form"]["scheduled_at"].value()
    data = form_data(channel, text="Edited later", scheduled_at=shown.strftime("%Y-%m-%dT%H:%M"))
    response = client.post(reverse("post_edit", args=[workspace.slug, post.pk]), data)
    assert response.status_code == 302
    post.refresh_from_db()
    assert post.text == "Edited later"
    assert post.deliveries.get().scheduled_at == past


def test_adding_a_channel_in_the_editor_adds_a_delivery_at_the_same_time(
    signed_in, owner, workspace, channel, post
):
    second = Channel.objects.create(
        workspace=workspace, network=Network.BLUESKY, handle="crumb.bsky"
    )
    when = post.deliveries.get().scheduled_at
    client = signed_in(owner)
    shown = client.get(reverse("post_edit", args=[workspace.slug, post.pk])).context["form"]
    data = form_data(
        channel,
        channels=[channel.pk, second.pk],
        scheduled_at=shown["scheduled_at"].value().strftime("%Y-%m-%dT%H:%M"),
    )
    client.post(reverse("post_edit", args=[workspace.slug, post.pk]), data)
    assert post.deliveries.get(channel=second).scheduled_at == when


def test_client_cannot_create_a_post(signed_in, client_user, workspace, channel):
    response = signed_in(client_user).post(
        reverse("post_create", args=[workspace.slug]), form_data(channel)
    )
    assert response.status_code == 403
    assert not Post.objects.exists()


def test_deleting_asks_first_then_deletes(signed_in, manager, workspace, post):
    client = signed_in(manager)
    url = reverse("post_delete", args=[workspace.slug, post.pk])
    confirm = client.get(url)
    assert "Delete this post?" in confirm.content.decode()
    assert Post.objects.filter(pk=post.pk).exists()
    response = client.post(url, follow=True)
    assert not Post.objects.filter(pk=post.pk).exists()
    assert "The post was deleted." in response.content.decode()


def test_a_published_post_is_not_deleted_and_the_reason_is_shown(signed_in, owner, workspace, post):
    post.deliveries.update(state=DeliveryState.PUBLISHED)
    response = signed_in(owner).post(
        reverse("post_delete", args=[workspace.slug, post.pk]), follow=True
    )
    assert Post.objects.filter(pk=post.pk).exists()
    assert "delete it on the network first" in response.content.decode()


# --- List -----------------------------------------------------------------------------------


@pytest.fixture
def plan(workspace, owner, channel, taxonomy) -> dict:
    """Three posts: a scheduled one with the taxonomy, a draft, one on another channel."""
    bluesky = Channel.objects.create(
        workspace=workspace, network=Network.BLUESKY, handle="crumb.bsky"
    )
    day = next_winter_day()
    tagged = create_post(
        workspace,
        owner,
        PostContent(
            text="Stollen is back",
            channel_ids=[channel.pk],
            label_ids=[taxonomy["label"].pk],
            pillar_id=taxonomy["pillar"].pk,
            campaign_id=taxonomy["campaign"].pk,
            scheduled_at=datetime(day.year, 1, 15, 8, tzinfo=UTC),
        ),
    )
    draft = create_post(workspace, owner, PostContent(text="An idea", channel_ids=[channel.pk]))
    elsewhere = create_post(
        workspace,
        owner,
        PostContent(
            text="Bluesky only",
            channel_ids=[bluesky.pk],
            scheduled_at=datetime(day.year, 2, 1, 8, tzinfo=UTC),
        ),
    )
    return {"tagged": tagged, "draft": draft, "elsewhere": elsewhere, "bluesky": bluesky}


def listed(response) -> list[str]:
    return [post.text for post in response.context["page"].object_list]


def test_list_shows_each_post_with_channel_state_and_local_time(
    signed_in, analyst, workspace, plan
):
    response = signed_in(analyst).get(reverse("post_list", args=[workspace.slug]))
    body = response.content.decode()
    assert set(listed(response)) == {"Stollen is back", "An idea", "Bluesky only"}
    assert "state-scheduled" in body and "state-draft" in body
    assert "09:00" in body  # 08:00 UTC shown in Paris time
    assert "seasonal" in body and "Behind the scenes" in body


def test_list_never_shows_another_workspaces_posts(signed_in, owner, workspace, plan, other_post):
    response = signed_in(owner).get(reverse("post_list", args=[workspace.slug]))
    assert "Rival bagels" not in listed(response)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"state": "draft"}, {"An idea"}),
        ({"state": "scheduled"}, {"Stollen is back", "Bluesky only"}),
        ({"label": "LABEL"}, {"Stollen is back"}),
        ({"pillar": "PILLAR"}, {"Stollen is back"}),
        ({"campaign": "CAMPAIGN"}, {"Stollen is back"}),
        ({"channel": "BLUESKY"}, {"Bluesky only"}),
        ({"start": "JAN15", "end": "JAN15"}, {"Stollen is back"}),
        ({"start": "JAN16"}, {"Bluesky only"}),
    ],
)
def test_filters_narrow_the_list(signed_in, owner, workspace, taxonomy, plan, query, expected):
    year = next_winter_day().year
    values = {
        "LABEL": taxonomy["label"].pk,
        "PILLAR": taxonomy["pillar"].pk,
        "CAMPAIGN": taxonomy["campaign"].pk,
        "BLUESKY": plan["bluesky"].pk,
        "JAN15": f"{year}-01-15",
        "JAN16": f"{year}-01-16",
    }
    params = {k: values.get(v, v) for k, v in query.items()}
    response = signed_in(owner).get(reverse("post_list", args=[workspace.slug]), params)
    assert set(listed(response)) == expected


def test_htmx_request_gets_only_the_results_block(signed_in, owner, workspace, plan):
    response = signed_in(owner).get(
        reverse("post_list", args=[workspace.slug]), {"state": "draft"}, HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="post-results"')
    assert "<html" not in body
    assert "An idea" in body
    assert "HX-Request" in response["Vary"]


def test_an_unknown_filter_value_is_ignored_not_an_error(signed_in, owner, workspace, plan):
    response = signed_in(owner).get(
        reverse("post_list", args=[workspace.slug]), {"channel": "999999", "state": "nonsense"}
    )
    assert response.status_code == 200
    assert len(listed(response)) == 3


def test_empty_workspace_invites_to_write_the_first_post(signed_in, creator, workspace):
    body = signed_in(creator).get(reverse("post_list", args=[workspace.slug])).content.decode()
    assert "No posts yet" in body
    assert reverse("post_create", args=[workspace.slug]) in body


def test_list_is_paginated_and_keeps_filters_in_page_links(signed_in, owner, workspace, channel):
    for number in range(23):
        create_post(workspace, owner, PostContent(text=f"Post {number}", channel_ids=[channel.pk]))
    client = signed_in(owner)
    first = client.get(reverse("post_list", args=[workspace.slug]), {"state": "draft"})
    assert len(listed(first)) == 20
    assert "state=draft&amp;page=2" in first.content.decode()
    second = client.get(reverse("post_list", args=[workspace.slug]), {"state": "draft", "page": 2})
    assert len(listed(second)) == 3
