"""API: a workspace's workflow settings (lane rules, self-approval, brand voice rules) and
the brand voice check of a text.

No ``from __future__ import annotations``: ninja reads the parameter types at import time.
"""

from typing import Any

from ninja import Field, Router, Schema

from socialdesk.api_support import Id, MemberRequest, Slug, Text, caller, requires, responses
from socialdesk.content.models import Post
from socialdesk.workspaces.access import get_in_workspace
from socialdesk.workspaces.roles import Role

from . import services, voice
from .models import CampaignRisk, RequiredText

router = Router(tags=["workflow"])


class RequiredTextIO(Schema):
    text: Text = Field(min_length=1, max_length=300)
    campaign_id: Id | None = None
    label_id: Id | None = None


class SettingsOut(Schema):
    allow_self_approval: bool
    risky_labels: list[str]
    risky_keywords: list[str]
    rapid_response_roles: list[str]
    regulated_campaign_ids: list[int]
    banned_phrases: list[str]
    required_texts: list[RequiredTextIO]
    hashtag_min: int
    hashtag_max: int | None
    length_bounds: dict[str, list[int | None]]
    max_reading_grade: int | None


class SettingsPatch(Schema):
    allow_self_approval: bool | None = None
    risky_labels: list[Text] | None = Field(None, max_length=100)
    risky_keywords: list[Text] | None = Field(None, max_length=200)
    rapid_response_roles: list[Role] | None = None
    regulated_campaign_ids: list[Id] | None = Field(None, max_length=200)
    banned_phrases: list[Text] | None = Field(None, max_length=500)
    required_texts: list[RequiredTextIO] | None = Field(None, max_length=100)
    hashtag_min: int | None = Field(None, ge=0, le=100)
    hashtag_max: int | None = Field(None, ge=0, le=100)
    length_bounds: dict[str, list[int | None]] | None = Field(None, max_length=30)
    max_reading_grade: int | None = Field(None, ge=1, le=20)


def _settings_out(workspace: Any) -> dict[str, Any]:
    settings = services.settings_for(workspace)
    return {
        **{f: getattr(settings, f) for f in SETTINGS_FIELDS},
        "regulated_campaign_ids": sorted(
            CampaignRisk.objects.filter(campaign__workspace=workspace, regulated=True).values_list(
                "campaign_id", flat=True
            )
        ),
        "required_texts": list(
            RequiredText.objects.filter(workspace=workspace).values(
                "text", "campaign_id", "label_id"
            )
        ),
    }


SETTINGS_FIELDS = [
    "allow_self_approval",
    "risky_labels",
    "risky_keywords",
    "rapid_response_roles",
    "banned_phrases",
    "hashtag_min",
    "hashtag_max",
    "length_bounds",
    "max_reading_grade",
]


@router.get(
    "/workspaces/{slug}/workflow/settings",
    response=responses(SettingsOut),
    operation_id="workflow_settings_read",
)
@requires("workflow.view")
def workflow_settings_read(request: MemberRequest, slug: Slug) -> dict:
    """Lane rules (what makes a post high-risk), self-approval, and the brand voice rules."""
    return _settings_out(request.workspace)


@router.patch(
    "/workspaces/{slug}/workflow/settings",
    response=responses(SettingsOut),
    operation_id="workflow_settings_update",
)
@requires("workflow.manage")
def workflow_settings_update(request: MemberRequest, slug: Slug, payload: SettingsPatch) -> dict:
    from . import settings_service

    settings_service.update_settings(
        request.workspace, caller(request), payload.dict(exclude_unset=True)
    )
    return _settings_out(request.workspace)


class VoiceCheckIn(Schema):
    text: Text = Field(max_length=10_000)
    post_id: Id | None = Field(None, description="Check as this post's text (its rules apply).")


class VoiceCheckOut(Schema):
    problems: list[str]
    reading_grade: float


@router.post(
    "/workspaces/{slug}/workflow/voice-check",
    response=responses(VoiceCheckOut),
    operation_id="workflow_voice_check",
)
@requires("workflow.view")
def workflow_voice_check(request: MemberRequest, slug: Slug, payload: VoiceCheckIn) -> dict:
    """Brand voice problems of a text, for example while it is being written."""
    settings = services.settings_for(request.workspace)
    if payload.post_id is not None:
        post = get_in_workspace(Post, request.workspace, pk=payload.post_id)
        problems = voice.post_problems(post, settings, text=payload.text)
    else:
        problems = voice.text_problems(settings, payload.text)
    return {"problems": problems, "reading_grade": voice.reading_grade(payload.text)}
