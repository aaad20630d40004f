"""Hooks into other apps' writes, so they need not know about the workflow."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from socialdesk.content.models import PostVersion


@receiver(post_save, sender=PostVersion, dispatch_uid="workflow-version-recorded")
def version_recorded(sender: Any, instance: PostVersion, created: bool, **kwargs: Any) -> None:
    """A content change invalidates earlier approvals: send the post back to approval. A post
    whose lane needs no approval is approved as it is written."""
    if not created:
        return
    if instance.number > 1:
        from .services import content_changed

        content_changed(instance)
    from .approvals import record_approval

    record_approval(instance.post)
