from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    """What worked: metric snapshots read from the networks, first-party clicks on the
    workspace's short links, conversions reported back by the shop (DESIGN.md, issue 14)."""

    name = "socialdesk.analytics"
    label = "analytics"

    def ready(self) -> None:
        # The engine turns every post's links into short links (or UTM-tagged links) through
        # this one function (``publishing.connectors.content_for``).
        from socialdesk.publishing import connectors

        from .links import network_texts

        connectors.link_rewriter = network_texts

        # A delivery deleted from the database takes its snapshots with it: its day in the
        # daily rollup is recounted in the same transaction.
        from django.db.models.signals import post_delete

        from socialdesk.publishing.models import Delivery

        from .rollups import delivery_deleted

        post_delete.connect(delivery_deleted, sender=Delivery, dispatch_uid="reading-days")
