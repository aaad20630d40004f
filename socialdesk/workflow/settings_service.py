"""Changing a workspace's workflow settings: lane rules, self-approval and brand voice."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from socialdesk.content.models import Campaign, Label
from socialdesk.workspaces.models import User, Workspace

from . import audit, services
from .models import CampaignRisk, RequiredText, Stage

SIMPLE = [
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


def _phrases(values: list[str], name: str, errors: dict[str, list[str]]) -> list[str]:
    cleaned = [v.strip() for v in values if v.strip()]
    if any(len(v) > 200 for v in cleaned):
        errors.setdefault(name, []).append("Each entry has at most 200 characters.")
    return list(dict.fromkeys(cleaned))


def update_settings(workspace: Workspace, user: User | None, changes: dict[str, Any]) -> None:
    """Validate and apply ``changes`` (only the keys given); all or nothing."""
    settings = services.settings_for(workspace)
    errors: dict[str, list[str]] = {}
    for name in ("risky_labels", "risky_keywords", "banned_phrases"):
        if changes.get(name) is not None:
            changes[name] = _phrases(changes[name], name, errors)
    low = changes.get("hashtag_min", settings.hashtag_min)
    high = changes.get("hashtag_max", settings.hashtag_max)
    if low is not None and high is not None and high < low:
        errors["hashtag_max"] = ["The most hashtags allowed is at least the fewest required."]
    bounds = changes.get("length_bounds")
    if bounds is not None:
        for network, pair in bounds.items():
            pair = (list(pair) + [None, None])[:2]
            if len(network) > 40 or any(v is not None and not 0 <= v <= 100_000 for v in pair):
                errors["length_bounds"] = ["Give [min, max] characters per network, 0 to 100000."]
            elif pair[0] is not None and pair[1] is not None and pair[1] < pair[0]:
                errors["length_bounds"] = [f"For {network} the maximum is below the minimum."]
            bounds[network] = pair
    campaigns: list[Campaign] = []
    if changes.get("regulated_campaign_ids") is not None:
        ids = set(changes["regulated_campaign_ids"])
        campaigns = list(Campaign.objects.filter(workspace=workspace, pk__in=ids))
        if len(campaigns) != len(ids):
            errors["regulated_campaign_ids"] = ["No such campaign in this workspace."]
    required = changes.get("required_texts")
    if required is not None:
        campaign_ids = set(
            Campaign.objects.filter(workspace=workspace).values_list("pk", flat=True)
        )
        label_ids = set(Label.objects.filter(workspace=workspace).values_list("pk", flat=True))
        for rule in required:
            if (rule.get("campaign_id") is None) == (rule.get("label_id") is None):
                errors["required_texts"] = ["Each required text names a campaign or a label."]
            elif rule.get("campaign_id") is not None and rule["campaign_id"] not in campaign_ids:
                errors["required_texts"] = ["No such campaign in this workspace."]
            elif rule.get("label_id") is not None and rule["label_id"] not in label_ids:
                errors["required_texts"] = ["No such label in this workspace."]
            elif not str(rule.get("text", "")).strip():
                errors["required_texts"] = ["A required text cannot be empty."]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        fields = [name for name in SIMPLE if name in changes and changes[name] is not None]
        if "hashtag_max" in changes and changes["hashtag_max"] is None:
            fields.append("hashtag_max")
        if "max_reading_grade" in changes and changes["max_reading_grade"] is None:
            fields.append("max_reading_grade")
        for name in fields:
            setattr(settings, name, changes[name])
        if fields:
            settings.save(update_fields=fields)
        if changes.get("regulated_campaign_ids") is not None:
            CampaignRisk.objects.filter(campaign__workspace=workspace).exclude(
                campaign__in=campaigns
            ).update(regulated=False)
            for campaign in campaigns:
                CampaignRisk.objects.update_or_create(
                    campaign=campaign, defaults={"regulated": True}
                )
        if required is not None:
            RequiredText.objects.filter(workspace=workspace).delete()
            RequiredText.objects.bulk_create(
                RequiredText(
                    workspace=workspace,
                    text=rule["text"].strip(),
                    campaign_id=rule.get("campaign_id"),
                    label_id=rule.get("label_id"),
                )
                for rule in required
            )
        audit.record(
            workspace, "workflow.settings_changed", actor=user, detail=", ".join(sorted(changes))
        )


def move_stage(stage: Stage, user: User | None, step: int) -> None:
    """Swap ``stage`` with its neighbour one place earlier (``step`` -1) or later (+1);
    positions are renumbered 0..n-1 so earlier gaps or ties cannot make a swap a no-op."""
    with transaction.atomic():
        ordered = list(
            Stage.objects.select_for_update()
            .filter(workspace_id=stage.workspace_id)
            .order_by("position", "id")
        )
        index = next(i for i, s in enumerate(ordered) if s.pk == stage.pk)
        other = index + step
        if not 0 <= other < len(ordered):
            return
        ordered[index], ordered[other] = ordered[other], ordered[index]
        for position, item in enumerate(ordered):
            if item.position != position:
                item.position = position
                item.save(update_fields=["position"])
        audit.record(stage.workspace_id, "stage.moved", actor=user, target=stage)
