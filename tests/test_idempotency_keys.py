"""Idempotency keys: random, stored with each delivery, unique across installations (issue 12,
item C); and what the upgrade gives deliveries made before keys were stored."""

from __future__ import annotations

import importlib

from django.apps import apps
from django.utils import timezone

from socialdesk.content.services import PostContent, create_post
from socialdesk.networks.models import Channel, Network
from socialdesk.publishing.models import Delivery, DeliveryState
from socialdesk.publishing.states import transition

S = DeliveryState
upgrade = importlib.import_module("socialdesk.publishing.migrations.0008_delivery_idempotency_key")


def test_every_new_delivery_gets_its_own_random_key(workspace, owner, channel):
    second = Channel.objects.create(workspace=workspace, network=Network.PAGE, handle="b")
    post = create_post(
        workspace, owner, PostContent(text="Rye", channel_ids=[channel.pk, second.pk])
    )

    keys = [d.idempotency_key for d in post.deliveries.all()]

    assert len(set(keys)) == 2
    assert all(key.startswith("socialdesk-") and len(key) == 43 for key in keys)


def test_the_upgrade_keeps_the_old_key_only_where_an_attempt_may_have_used_it(
    workspace, owner, channel
):
    def delivery(state: S) -> Delivery:
        made = Delivery.objects.create(
            workspace=workspace,
            post=create_post(workspace, owner, PostContent(text=f"{state}")),
            channel=channel,
        )
        for step in {
            S.DRAFT: [],
            S.SCHEDULED: [S.SCHEDULED],
            S.PUBLISHED: [S.SCHEDULED, S.PUBLISHING, S.PUBLISHED],
            S.WAITING_RETRY: [S.SCHEDULED, S.PUBLISHING, S.WAITING_RETRY],
        }[state]:
            transition(made, step, "test", scheduled_at=timezone.now())
        return made

    never_sent = [delivery(S.DRAFT), delivery(S.SCHEDULED)]
    sent = [delivery(S.PUBLISHED), delivery(S.WAITING_RETRY)]
    # Paused after a claim (the channel needed reconnecting): scheduled again, but its
    # attempt may have reached the network.
    paused = delivery(S.WAITING_RETRY)
    Delivery.objects.filter(pk=paused.pk).update(state=S.SCHEDULED)

    upgrade.fill_keys(apps, None)

    keys = dict(Delivery.objects.values_list("pk", "idempotency_key"))
    for made in [*sent, paused]:
        assert keys[made.pk] == f"socialdesk-delivery-{made.pk}"
    for made in never_sent:
        assert keys[made.pk].startswith("socialdesk-")
        assert keys[made.pk] not in (made.idempotency_key, f"socialdesk-delivery-{made.pk}")
