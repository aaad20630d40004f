"""Hooks into other apps' writes, so they need not know about the workflow."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from socialdesk.content.models import PostVersion
from socialdesk.publishing.crisis import crisis_changed
from socialdesk.workspaces.models import Membership, SignInEvent

# Sign-in log kinds where the person themselves got in or changed their own settings.
SIGNED_IN_KINDS = {
    SignInEvent.Kind.SIGNED_IN,
    SignInEvent.Kind.RECOVERY_CODE_USED,
    SignInEvent.Kind.TWO_FACTOR_ON,
    SignInEvent.Kind.TWO_FACTOR_OFF,
}


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


@receiver(post_save, sender=SignInEvent, dispatch_uid="workflow-signin-audited")
def signin_audited(sender: Any, instance: SignInEvent, created: bool, **kwargs: Any) -> None:
    """A sign-in, a failed or throttled one, and two-factor changes also go to the audit log
    of every workspace the person is a member of, so an owner sees attempts on a member's
    account. ``signin.log_event`` writes no event for an email that is no account, so such
    an attempt reaches no workspace and tells nobody whether the account exists.

    Only a successful sign-in names the person as the actor: a wrong password or code may
    be anyone's, so those name the account as what was tried.
    """
    if not created or instance.user_id is None:
        return
    from . import audit

    user = instance.user
    succeeded = instance.kind in SIGNED_IN_KINDS
    for workspace_id in Membership.objects.filter(user=user).values_list("workspace_id", flat=True):
        audit.record(
            workspace_id,
            f"signin.{instance.kind}",
            actor=user if succeeded else None,
            via="" if succeeded else "sign-in attempt",
            target=user,
            detail=instance.get_kind_display(),
            ip=instance.ip,
            user_agent=instance.user_agent,
        )


@receiver(crisis_changed, dispatch_uid="workflow-crisis-audited")
def crisis_audited(
    sender: Any, pause: Any, action: str, actor: Any, deliveries: list, **kwargs: Any
) -> None:
    """The crisis switch going on or off, and each decision about the posts it held, in the
    audit log (who, when, why, which deliveries)."""
    from . import audit

    if action == "crisis.started":
        detail = f"Crisis switch on: {pause.reason}"
    elif action == "crisis.ended":
        detail = "Crisis switch off"
    else:
        verb = action.removeprefix("crisis.")
        count = len(deliveries)
        detail = f"{count} held post{'s' if count != 1 else ''} {verb}"
    audit.record(
        pause.workspace_id,
        action,
        actor=actor,
        target=pause,
        detail=detail,
        data={"delivery_ids": [delivery.pk for delivery in deliveries]} if deliveries else None,
    )
