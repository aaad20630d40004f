"""API: the public page's profile and its link buttons, read and replaced whole.

The same write as the settings page (``services.save_profile``), so both refuse the same
input with the same messages. Owners and managers only (``channels.manage``): the page is
the workspace's own channel, and how a channel presents itself is theirs to change.
"""

from __future__ import annotations

from ninja import Field, Router, Schema

from socialdesk.api_support import Id, MemberRequest, Slug, Text, requires, responses
from socialdesk.content.models import MediaAsset
from socialdesk.workspaces.access import get_in_workspace

from . import services
from .feeds import absolute
from .models import PageLink, PageProfile

router = Router(tags=["page"])


class PageLinkIO(Schema):
    # Loose limits here (a bound on what is read); the service says precisely what to fix.
    label: Text = Field(max_length=1000)
    url: Text = Field(max_length=5000, description="http:// or https:// only.")


class PageLinkOut(PageLinkIO):
    tracked_url: str = Field(description="The URL the button opens, with UTM parameters.")


class PageOut(Schema):
    url: str = Field(description="The public page.")
    display_name: str = Field(description="Empty: the workspace's name.")
    name: str = Field(description="The name the page shows.")
    bio: str
    avatar_url: str | None
    utm_campaign: str = Field(description="Empty: the workspace's address.")
    links: list[PageLinkOut]


class PageIn(Schema):
    display_name: Text = Field("", max_length=1000)
    bio: Text = Field("", max_length=5000)
    utm_campaign: Text = Field("", max_length=1000)
    links: list[PageLinkIO] = Field(
        default_factory=list, description="The buttons in order; replaces all existing ones."
    )
    avatar_media_id: Id | None = Field(
        None, description="A library image to use as the avatar; omitted: keep the current one."
    )
    remove_avatar: bool = False


def _page_out(profile: PageProfile) -> PageOut:
    workspace = profile.workspace
    campaign = profile.utm_campaign or workspace.slug
    return PageOut(
        url=absolute(f"/@{workspace.slug}"),
        display_name=profile.display_name,
        name=profile.name,
        bio=profile.bio,
        avatar_url=absolute(profile.avatar.url) if profile.avatar else None,
        utm_campaign=profile.utm_campaign,
        links=[
            PageLinkOut(label=link.label, url=link.url, tracked_url=link.tracked_url(campaign))
            for link in PageLink.objects.in_workspace(workspace)
        ],
    )


@router.get("/workspaces/{slug}/page", response=responses(PageOut), operation_id="page_read")
@requires("channels.manage")
def page_read(request: MemberRequest, slug: Slug) -> PageOut:
    """The page's profile and its buttons in order (also for a workspace without a page
    channel yet: the profile is ready for when it gets one)."""
    return _page_out(services.profile_for(request.workspace))


@router.put("/workspaces/{slug}/page", response=responses(PageOut), operation_id="page_update")
@requires("channels.manage")
def page_update(request: MemberRequest, slug: Slug, payload: PageIn) -> PageOut:
    """Replace the profile and all its buttons (at most 20, http(s) addresses only); an
    invalid part refuses the whole request (422) and nothing changes."""
    avatar = None
    if payload.avatar_media_id is not None:
        avatar = get_in_workspace(MediaAsset, request.workspace, pk=payload.avatar_media_id)
    changes = services.ProfileIn(
        display_name=payload.display_name,
        bio=payload.bio,
        utm_campaign=payload.utm_campaign,
        links=[services.LinkIn(link.label, link.url) for link in payload.links],
    )
    profile = services.save_profile(
        request.workspace, changes, avatar=avatar, remove_avatar=payload.remove_avatar
    )
    return _page_out(profile)
