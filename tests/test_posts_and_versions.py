from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from socialdesk.content.models import PostVersion
from socialdesk.content.services import PostContent, create_post, delete_post, update_post
from socialdesk.publishing.models import Delivery, DeliveryState


def test_creating_a_post_records_version_one_and_a_delivery_per_channel(post, channel):
    assert [v.number for v in post.versions.all()] == [1]
    delivery = Delivery.objects.get(post=post)
    assert delivery.channel == channel
    assert delivery.state == DeliveryState.SCHEDULED
    assert delivery.workspace_id == post.workspace_id


def test_editing_text_records_a_new_version_and_moving_time_does_not(post, creator):
    update_post(post, creator, PostContent(text="Fresh sourdough at 8"))
    update_post(post, creator, PostContent(scheduled_at=timezone.now() + timedelta(days=3)))
    assert [v.text for v in post.versions.all()] == [
        "Fresh sourdough at 7 🍞",
        "Fresh sourdough at 8",
    ]


def test_a_version_cannot_be_changed(post):
    version = post.versions.get()
    version.text = "rewritten history"
    with pytest.raises(ValueError, match="immutable"):
        version.save()


def test_a_channel_of_another_workspace_is_refused_and_nothing_is_written(
    workspace, owner, other_channel
):
    with pytest.raises(ValidationError) as error:
        create_post(workspace, owner, PostContent(text="hi", channel_ids=[other_channel.pk]))
    assert "channel_ids" in error.value.message_dict
    assert not PostVersion.objects.exists()


def test_a_time_in_the_past_is_refused(workspace, owner, channel):
    with pytest.raises(ValidationError) as error:
        create_post(
            workspace,
            owner,
            PostContent(
                text="hi",
                channel_ids=[channel.pk],
                scheduled_at=timezone.now() - timedelta(minutes=1),
            ),
        )
    assert "past" in error.value.message_dict["scheduled_at"][0]


def test_a_published_post_cannot_be_deleted(post):
    post.deliveries.update(state=DeliveryState.PUBLISHED)
    with pytest.raises(ValidationError):
        delete_post(post)
    assert post.deliveries.exists()


def test_scheduling_through_the_post_editor_is_recorded_and_queued(
    post, creator, django_capture_on_commit_callbacks
):
    from django_tasks_db.models import DBTaskResult

    from socialdesk.publishing.models import DeliveryTransition

    later = timezone.now() + timedelta(days=5)
    with django_capture_on_commit_callbacks(execute=True):
        update_post(post, creator, PostContent(scheduled_at=later))
    delivery = post.deliveries.get()
    moves = DeliveryTransition.objects.filter(delivery=delivery).order_by("id")
    assert [(m.from_state, m.to_state) for m in moves] == [
        ("draft", "scheduled"),
        ("scheduled", "scheduled"),
    ]
    assert delivery.enqueued_for == later
    assert DBTaskResult.objects.filter(args_kwargs__args=[delivery.pk]).exists()


def test_clearing_the_time_takes_deliveries_back_to_draft(post, creator):
    update_post(post, creator, PostContent(cleared={"scheduled_at"}))
    delivery = post.deliveries.get()
    assert (delivery.state, delivery.scheduled_at) == (DeliveryState.DRAFT, None)


def test_scheduling_a_post_with_an_undescribed_image_is_refused_everywhere(
    workspace, owner, channel
):
    from socialdesk.content.models import MediaAsset

    image = MediaAsset.objects.create(
        workspace=workspace,
        file=f"workspaces/{workspace.pk}/aa/loaf.png",  # in the library: the page takes it
        kind="image",
        mime_type="image/png",
        size=1,
        checksum="a" * 64,
    )
    later = timezone.now() + timedelta(days=1)
    content = PostContent(text="Loaf", channel_ids=[channel.pk], media_ids=[image.pk])
    draft = create_post(workspace, owner, content)  # a draft may wait for its description
    with pytest.raises(ValidationError) as error:
        update_post(draft, owner, PostContent(scheduled_at=later))
    assert "alt text" in error.value.message_dict["media_ids"][0]
    image.alt_text = "A round country loaf"
    image.save(update_fields=["alt_text"])
    update_post(draft, owner, PostContent(scheduled_at=later))
    assert draft.deliveries.get().state == DeliveryState.SCHEDULED
