"""A second Socialdesk installation, run as its own process by tests/test_engine_faults.py:
its own data folder and SQLite database (``SOCIALDESK_DATA_DIR``), the same code.

Reads from stdin (JSON) the Bluesky account to connect, the texts to publish and the id the
first installation's deliveries start at; makes its database, a workspace, the channel and
one due post per text, with delivery ids equal to the first installation's (that is what
used to collide), publishes each through the engine (``dispatch.run``), and prints the
deliveries as JSON on its last line.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["DJANGO_SETTINGS_MODULE"] = "socialdesk.settings"

import django  # noqa: E402

django.setup()

from django.apps import apps  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from socialdesk.content.services import PostContent, create_post  # noqa: E402
from socialdesk.networks.models import Channel, Network  # noqa: E402
from socialdesk.publishing import dispatch  # noqa: E402
from socialdesk.publishing.models import Delivery  # noqa: E402
from socialdesk.workspaces.models import Membership, User, Workspace  # noqa: E402


def main() -> None:
    asked = json.load(sys.stdin)
    # Tables straight from the models (what the migrations make: ``makemigrations --check``
    # is clean), in a second instead of the migrations' half a minute.
    settings.MIGRATION_MODULES = {app.label: None for app in apps.get_app_configs()}
    call_command("migrate", run_syncdb=True, verbosity=0)
    assert connection.vendor == "sqlite", "the second installation has its own SQLite file"
    with connection.cursor() as cursor:  # the next delivery gets the first installation's id
        cursor.execute(
            "INSERT INTO sqlite_sequence (name, seq) VALUES (%s, %s)",
            [Delivery._meta.db_table, asked["first_delivery_id"] - 1],
        )

    workspace = Workspace.objects.create(name="Crumb again", slug="crumb", requires_approval=False)
    owner = User.objects.create_user(email="owner@crumb.test", password="not used here")
    Membership.objects.create(workspace=workspace, user=owner, role="owner")
    channel = Channel(workspace=workspace, network=Network.BLUESKY, handle=asked["handle"])
    channel.set_credentials(
        {
            "handle": asked["handle"],
            "app_password": asked["app_password"],
            "pds_url": asked["pds_url"],
        }
    )
    channel.save()
    deliveries = []
    for text in asked["texts"]:
        content = PostContent(
            text=text, channel_ids=[channel.pk], scheduled_at=timezone.now() + timedelta(days=1)
        )
        deliveries.append(create_post(workspace, owner, content).deliveries.get())
    Delivery.objects.filter(pk__in=[d.pk for d in deliveries]).update(
        scheduled_at=timezone.now() - timedelta(seconds=1)
    )
    for delivery in deliveries:
        dispatch.run(delivery.pk, "installation-2")
    print(
        json.dumps(
            list(
                Delivery.objects.filter(pk__in=[d.pk for d in deliveries])
                .order_by("pk")
                .values("id", "state", "remote_id", "remote_url", "idempotency_key", "last_error")
            )
        )
    )


if __name__ == "__main__":
    main()
