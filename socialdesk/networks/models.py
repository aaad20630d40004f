"""Channels: one connected account on one network."""

from __future__ import annotations

import zoneinfo
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from socialdesk import crypto
from socialdesk.workspaces.models import WorkspaceOwned, validate_time_zone


class Network(models.TextChoices):
    PAGE = "page", "Public page"
    BLUESKY = "bluesky", "Bluesky"
    MASTODON = "mastodon", "Mastodon"
    # Issue 16: each has its module in ``networks/`` and its entry in ``networks.catalog``.
    INSTAGRAM = "instagram", "Instagram"
    FACEBOOK = "facebook", "Facebook Page"
    GOOGLE_BUSINESS = "google_business", "Google Business Profile"
    LINKEDIN = "linkedin", "LinkedIn Page"
    TIKTOK = "tiktok", "TikTok"
    YOUTUBE = "youtube", "YouTube"
    PINTEREST = "pinterest", "Pinterest"
    THREADS = "threads", "Threads"
    X = "x", "X"
    MATRIX = "matrix", "Matrix room"
    NOSTR = "nostr", "Nostr"
    WORDPRESS = "wordpress", "WordPress blog"
    TELEGRAM = "telegram", "Telegram channel"
    DISCORD = "discord", "Discord channel"


class ChannelStatus(models.TextChoices):
    """Moved only by ``networks.states.move_channel``; its docstring says what each means."""

    CONNECTED = "connected", "Connected"
    NEEDS_RECONNECT = "needs_reconnect", "Needs reconnecting"
    PAUSED = "paused", "Paused"
    DISCONNECTED = "disconnected", "Disconnected"
    # The demo's accounts that are not real: shown, kept as history, never sent to.
    EXAMPLE = "example", "Example — no account connected"


# What each network needs stored before anything can be sent to it (the page needs nothing);
# the same keys ``publishing.connectors`` builds its connectors from.
REQUIRED_CREDENTIALS: dict[str, tuple[str, ...]] = {
    "bluesky": ("handle", "app_password"),
    "mastodon": ("instance_url", "access_token"),
    # Issue 16: what each network's module ``build``s its connector from.
    "instagram": ("access_token", "ig_user_id"),
    "facebook": ("access_token", "page_id"),
    "google_business": ("refresh_token", "location_name"),
    "linkedin": ("access_token", "organization_urn"),
    "tiktok": ("access_token", "open_id"),
    "youtube": ("refresh_token", "channel_id"),
    "pinterest": ("access_token", "board_id"),
    "threads": ("access_token", "threads_user_id"),
    "x": ("access_token", "user_id"),
    "matrix": ("homeserver", "access_token", "room_id"),
    "nostr": ("private_key", "relays"),
    "wordpress": ("site_url", "username", "app_password"),
    "telegram": ("bot_token", "chat_id"),
    "discord": ("webhook_url",),
}


class Channel(WorkspaceOwned):
    """An account on a network. Its credentials are encrypted at rest and never logged."""

    network = models.CharField(max_length=20, choices=Network.choices)
    handle = models.CharField(max_length=200)
    display_name = models.CharField(max_length=200, blank=True)
    remote_account_id = models.CharField(max_length=300, blank=True)
    credentials_encrypted = models.TextField(blank=True, default="", editable=False)
    # Empty means: use the workspace's time zone.
    time_zone = models.CharField(max_length=64, blank=True, validators=[validate_time_zone])
    # Written only by ``networks.states.move_channel`` (a new channel starts connected).
    status = models.CharField(
        max_length=20, choices=ChannelStatus.choices, default=ChannelStatus.CONNECTED
    )
    # Offered by the composer at the end of this channel's text (issue 5, item 3).
    signature = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["network", "handle"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "network", "handle"], name="one_channel_per_account"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_network_display()} {self.handle}"

    def __repr__(self) -> str:
        # Never let credentials reach a log line through repr().
        return f"<Channel {self.pk} {self.network}:{self.handle}>"

    @property
    def credentials(self) -> dict[str, Any]:
        return crypto.decrypt_json(self.credentials_encrypted)

    def set_credentials(self, value: dict[str, Any]) -> None:
        self.credentials_encrypted = crypto.encrypt_json(value)

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone) if self.time_zone else self.workspace.zone

    @property
    def is_connected(self) -> bool:
        return self.status == ChannelStatus.CONNECTED

    @property
    def has_account(self) -> bool:
        """True when the credentials its network needs are stored (always, for the page).

        A channel made through the API, or the demo's, has none: it says "not connected"
        and its deliveries wait instead of failing (``publishing.checks.account_missing``).
        """
        needed = REQUIRED_CREDENTIALS.get(self.network, ())
        if not needed:
            return True
        stored = self.credentials
        return all(stored.get(key) for key in needed)

    @property
    def status_text(self) -> str:
        """The status as people should read it: "connected" only with an account behind it."""
        if self.is_connected and not self.has_account:
            return "Not connected — no account"
        return str(self.get_status_display())  # type: ignore[attr-defined]

    @property
    def status_key(self) -> str:
        """``status``, or ``no_account`` for a connected channel without credentials (CSS)."""
        if self.is_connected and not self.has_account:
            return "no_account"
        return str(self.status)


class ChannelTransition(WorkspaceOwned):
    """One move of a channel's status: when, why, and by whom or what.

    Written only by ``networks.states.move_channel``, in the same transaction as the move.
    """

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.CharField(max_length=20, choices=ChannelStatus.choices)
    to_status = models.CharField(max_length=20, choices=ChannelStatus.choices)
    at = models.DateTimeField(default=timezone.now)
    reason = models.CharField(max_length=1000)
    # A person, or empty with ``actor_label`` naming the machinery ("system: worker …").
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=200)

    class Meta:
        ordering = ["channel", "at", "id"]
        # Serves a channel's recent history on the Channels page.
        indexes = [models.Index(fields=["channel", "at"], name="channel_history_idx")]

    def __str__(self) -> str:
        return f"channel {self.channel_id}: {self.from_status} → {self.to_status}"


class MastodonApp(models.Model):
    """Socialdesk's registration as an app on one Mastodon instance (``POST /api/v1/apps``),
    kept so every account of the instance connects through the same one. The client secret
    is encrypted like channel credentials."""

    instance_url = models.CharField(max_length=300)
    redirect_uri = models.CharField(max_length=500)
    client_id = models.CharField(max_length=200)
    credentials_encrypted = models.TextField(editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["instance_url", "redirect_uri"], name="one_mastodon_app_per_instance"
            )
        ]

    def __str__(self) -> str:
        return f"Socialdesk on {self.instance_url}"

    def __repr__(self) -> str:
        return f"<MastodonApp {self.pk} {self.instance_url}>"

    @property
    def app(self) -> dict[str, str]:
        """What ``mastodon.authorization_url`` and ``exchange_code`` take."""
        secret = crypto.decrypt_json(self.credentials_encrypted).get("client_secret", "")
        return {
            "instance_url": self.instance_url,
            "client_id": self.client_id,
            "client_secret": secret,
        }
