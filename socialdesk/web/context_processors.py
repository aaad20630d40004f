from functools import cache

from django.http import HttpRequest

from socialdesk.publishing import crisis
from socialdesk.publishing.models import CrisisPause
from socialdesk.workspaces.models import Membership
from socialdesk.workspaces.roles import PERMISSIONS


def workspace(request: HttpRequest) -> dict:
    """The current workspace and membership, set by the workspace views, for the layout.

    ``workspace_can`` answers permission questions in templates (``workspace_can.posts_create``);
    ``user_memberships`` is the switcher's list, queried only when a template uses it;
    ``current_crisis`` the crisis switch's banner (``publishing.crisis``), likewise.
    """
    membership = getattr(request, "membership", None)
    can = {}
    if membership is not None:
        can = {name.replace(".", "_"): membership.can(name) for name in PERMISSIONS}

    def user_memberships() -> list[Membership]:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return []
        return list(
            Membership.objects.filter(user=user)
            .select_related("workspace")
            .order_by("workspace__name")
        )

    @cache
    def current_crisis() -> CrisisPause | None:
        """The workspace's crisis pause that holds posts (on, or off with posts undecided),
        for the banner on every page: one indexed query, only on workspace pages."""
        workspace = getattr(request, "workspace", None)
        return None if workspace is None else crisis.holding(workspace)

    return {
        "current_workspace": getattr(request, "workspace", None),
        "current_crisis": current_crisis,
        "current_membership": membership,
        "workspace_can": can,
        "user_memberships": user_memberships,
    }
