from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    """What worked: metric snapshots read from the networks, first-party clicks on the
    workspace's short links, conversions reported back by the shop (DESIGN.md, issue 14)."""

    name = "socialdesk.analytics"
    label = "analytics"
