"""Per-network compatibility of one media asset, for the library's badges.

One source of truth: the size, format and alt-text rules are the connectors' own checks
(``networks.bluesky``, ``networks.mastodon`` with Mastodon's default instance limits,
``networks.page``), run on the stored file, so a badge and the scheduling check never
disagree. What no connector refuses but people should know (a very tall or wide picture is
cropped in timelines; a video whose length could not be read) is a warning, not a failure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from socialdesk.networks import bluesky, catalog, mastodon, page
from socialdesk.networks.base import MediaFile, Problem
from socialdesk.networks.models import Channel, Network
from socialdesk.workspaces.models import Workspace

from .media import ffprobe_path
from .models import MediaAsset, MediaKind

# Wider or taller than this is shown cropped in Bluesky's and Mastodon's timelines.
CROPPED_BEYOND = 3.0


@dataclass(frozen=True)
class Badge:
    """``state``: "ok" (publishable), "warn" (publishable, with a note) or "no" (refused)."""

    network: str
    label: str
    state: str
    reasons: list[str] = field(default_factory=list)

    @property
    def summary(self) -> str:
        verdict = {"ok": "fits", "warn": "fits, with a note", "no": "does not fit"}[self.state]
        detail = " ".join(self.reasons) if self.reasons else "Format and size are accepted."
        return f"{self.label}: {verdict}. {detail}"


def _readable(problems: list[Problem], path: Path) -> list[str]:
    # The connectors name the stored file (its checksum); people know it as "this file".
    name = path.name
    return [
        p.message.replace(f"The alt text of {name}", "The alt text").replace(name, "This file")
        for p in problems
    ]


def _rule_problems(network: str, media: MediaFile) -> list[Problem]:
    if network == Network.BLUESKY:
        return bluesky._media_problems(media)
    if network == Network.MASTODON:
        # Instances may set other limits; scheduling checks the channel's own instance.
        return mastodon._media_problems(mastodon.InstanceLimits(), media)
    if network == Network.PAGE:
        if not media.mime_type.startswith(page.SHOWN_TYPES):
            return [Problem("media", "The public page shows images and video only.")]
        return []
    module = catalog.module(network)
    if module is not None and hasattr(module, "media_problems"):
        return list(module.media_problems(media))  # issue 16: the network's own media rules
    # A network added later without its rules here: say so rather than claim it fits.
    return [Problem("media", "Its media rules are not known here yet; check before scheduling.")]


def _warnings(network: str, asset: MediaAsset) -> list[str]:
    notes = []
    if network != Network.PAGE and asset.width and asset.height:
        ratio = max(asset.width / asset.height, asset.height / asset.width)
        if ratio > CROPPED_BEYOND:
            notes.append(
                f"At {asset.width}×{asset.height} it is cropped in the timeline preview; "
                "people see it whole when they open it."
            )
    if asset.kind == MediaKind.VIDEO and asset.duration is None:
        notes.append(
            "The length could not be checked"
            + (": ffprobe is not installed." if ffprobe_path() is None else ".")
        )
    if asset.kind != MediaKind.VIDEO and not asset.alt_text.strip():
        notes.append("No alt text yet: describe the image for people who cannot see it.")
    return notes


def badge(asset: MediaAsset, network: str) -> Badge:
    path = Path(asset.file.path)
    media = MediaFile(path=path, mime_type=asset.mime_type, alt_text=asset.alt_text)
    failures = _readable(_rule_problems(network, media), path)
    label = Network(network).label
    if failures:
        return Badge(network, label, "no", failures)
    notes = _warnings(network, asset)
    return Badge(network, label, "warn" if notes else "ok", notes)


def workspace_networks(workspace: Workspace) -> list[str]:
    """The networks the workspace publishes to; every built network while it has no channel
    yet (which would the file fit?)."""
    used = set(Channel.objects.filter(workspace=workspace).values_list("network", flat=True))
    return [n.value for n in Network if n.value in used] or [a.network for a in catalog.built()]


def badges(asset: MediaAsset, networks: list[str]) -> list[Badge]:
    return [badge(asset, network) for network in networks]
