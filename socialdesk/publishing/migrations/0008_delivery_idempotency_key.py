"""Each delivery gets a stored idempotency key, random, unique across installations.

Until now the key was derived from the delivery's id (``socialdesk-delivery-<id>``), so two
installations (or a reinstall) publishing to one account collided on equal ids.

Existing rows: a delivery that was ever claimed for sending (a move into ``publishing`` in its
history, or a state that only a claim leads to) may have reached the network under the old
key, so it keeps that key: reconciliation (``find_published``) and a retry must look for the
post where it may already be, or it could be posted twice. Every other delivery (drafts,
scheduled ones never sent, cancelled or missed before any attempt) gets a fresh random key.
The old keys stay unique within this installation, and never equal a new random one.
"""

from django.db import migrations, models

import socialdesk.publishing.models

# States reached only through a claim (``publishing.states``).
SENT_STATES = ["publishing", "waiting_retry", "unknown", "published", "failed"]


def fill_keys(apps, schema_editor):
    Delivery = apps.get_model("publishing", "Delivery")
    DeliveryTransition = apps.get_model("publishing", "DeliveryTransition")
    claimed = set(
        DeliveryTransition.objects.filter(to_state="publishing").values_list(
            "delivery_id", flat=True
        )
    )
    claimed |= set(Delivery.objects.filter(state__in=SENT_STATES).values_list("pk", flat=True))
    batch = []
    for delivery in Delivery.objects.only("pk").order_by("pk").iterator(chunk_size=2000):
        if delivery.pk in claimed:
            delivery.idempotency_key = f"socialdesk-delivery-{delivery.pk}"
        else:
            delivery.idempotency_key = socialdesk.publishing.models.new_idempotency_key()
        batch.append(delivery)
        if len(batch) == 2000:
            Delivery.objects.bulk_update(batch, ["idempotency_key"])
            batch = []
    Delivery.objects.bulk_update(batch, ["idempotency_key"])


class Migration(migrations.Migration):
    dependencies = [
        ("publishing", "0007_awaiting_approval"),
    ]

    operations = [
        migrations.AddField(
            model_name="delivery",
            name="idempotency_key",
            field=models.CharField(max_length=64, null=True, editable=False),
        ),
        migrations.RunPython(fill_keys, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="delivery",
            name="idempotency_key",
            field=models.CharField(
                default=socialdesk.publishing.models.new_idempotency_key,
                editable=False,
                max_length=64,
                unique=True,
            ),
        ),
    ]
