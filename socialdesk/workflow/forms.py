"""Forms of the workflow settings page. They only parse what a person typed; the rules
(approvers are members, start before due, hashtag range, …) live in the services, which the
API uses too, so the page and the API refuse the same things with the same words."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from socialdesk.content.models import Campaign, Label
from socialdesk.ids import ModelMultipleChoiceField
from socialdesk.workspaces.models import UNAPPROVED_AT_DUE, User, Workspace
from socialdesk.workspaces.roles import Role

from .models import CHECKS, ApprovalRule, StageKind, StageLanes

LINES_HELP = "One per line."


def lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


class MemberChoiceField(ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.name or obj.email)


class StageForm(forms.Form):
    name = forms.CharField(max_length=60)
    owner_role = forms.ChoiceField(label="Owner role", choices=Role.choices)
    kind = forms.ChoiceField(choices=StageKind.choices)
    lanes = forms.ChoiceField(label="Lanes it applies to", choices=StageLanes.choices)
    start_days_before = forms.IntegerField(
        label="Starts (days before publishing)", min_value=-3650, max_value=3650, initial=0
    )
    due_days_before = forms.IntegerField(
        label="Due (days before publishing)", min_value=-3650, max_value=3650, initial=0
    )
    approvers = MemberChoiceField(
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="For approval stages: who decides.",
    )
    approval_rule = forms.ChoiceField(
        label="Approval rule", choices=ApprovalRule.choices, initial=ApprovalRule.ANY
    )
    checks = forms.MultipleChoiceField(
        label="Automatic checks",
        choices=list(CHECKS.items()),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    manual_items = forms.CharField(
        label="Checklist items to tick by hand",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=LINES_HELP,
    )

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        approvers = self.fields["approvers"]
        assert isinstance(approvers, forms.ModelMultipleChoiceField)
        approvers.queryset = User.objects.filter(memberships__workspace=workspace).order_by(
            "name", "email"
        )

    def clean_manual_items(self) -> list[str]:
        items = lines(self.cleaned_data["manual_items"])
        if any(len(i) > 200 for i in items):
            raise ValidationError("Each item has at most 200 characters.")
        if len(items) > 30:
            raise ValidationError("At most 30 items.")
        return items


class SwitchesForm(forms.Form):
    requires_approval = forms.BooleanField(
        label="Posts need approval before they are published", required=False
    )
    unapproved_at_due = forms.ChoiceField(
        label="A post still not approved at its time",
        choices=UNAPPROVED_AT_DUE,
        required=False,
        widget=forms.RadioSelect,
        help_text="Approval gates publishing once someone in the workspace is an approver or a "
        "client; a workspace without them publishes directly.",
    )
    allow_self_approval = forms.BooleanField(
        label="Creators may approve their own posts", required=False
    )
    rapid_response_roles = forms.MultipleChoiceField(
        label="Rapid-response roles",
        choices=Role.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Fast-lane posts by people with these roles need no approval (rapid response).",
    )

    def __init__(self, *args: Any, may_change_workspace: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not may_change_workspace:
            # A workspace setting: only those allowed workspace.update change it (owners), as
            # in the API; a disabled field ignores whatever is posted for it.
            for name in ("requires_approval", "unapproved_at_due"):
                field = self.fields[name]
                field.disabled = True
                field.help_text = "Only an owner changes this."


LENGTH_LINE = re.compile(r"^([\w.-]{1,40})\s*:\s*(\d*)\s*(?:-|–|to)\s*(\d*)$")
REQUIRED_LINE = re.compile(r"^(campaign|label)\s+(.+?)\s*:\s*(.+)$", re.IGNORECASE)


class VoiceForm(forms.Form):
    banned_phrases = forms.CharField(
        label="Banned phrases",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=LINES_HELP,
    )
    required_texts = forms.CharField(
        label="Required texts",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One per line: “campaign Spring sale: #ad” or “label Partner: Paid partnership”.",
    )
    hashtag_min = forms.IntegerField(label="Fewest hashtags", min_value=0, max_value=100)
    hashtag_max = forms.IntegerField(
        label="Most hashtags", min_value=0, max_value=100, required=False
    )
    length_bounds = forms.CharField(
        label="Length per network",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One per line: “mastodon: 50-400”; leave a side empty for no limit (“x: -200”).",
    )

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.workspace = workspace

    def clean_banned_phrases(self) -> list[str]:
        return lines(self.cleaned_data["banned_phrases"])

    def clean_length_bounds(self) -> dict[str, list[int | None]]:
        bounds: dict[str, list[int | None]] = {}
        for line in lines(self.cleaned_data["length_bounds"]):
            match = LENGTH_LINE.match(line)
            if match is None:
                raise ValidationError(
                    f"“{line}” is not “network: min-max”, e.g. “mastodon: 50-400”."
                )
            network, low, high = match.groups()
            bounds[network.lower()] = [int(low) if low else None, int(high) if high else None]
        return bounds

    def clean_required_texts(self) -> list[dict[str, Any]]:
        rules: list[dict[str, Any]] = []
        for line in lines(self.cleaned_data["required_texts"]):
            match = REQUIRED_LINE.match(line)
            if match is None:
                raise ValidationError(
                    f"“{line}” does not start with “campaign NAME:” or “label NAME:”."
                )
            kind, name, text = match.groups()
            model = Campaign if kind.lower() == "campaign" else Label
            found = model.objects.filter(workspace=self.workspace, name__iexact=name).first()
            if found is None:
                raise ValidationError(f"No {kind.lower()} called “{name}” in this workspace.")
            if len(text) > 300:
                raise ValidationError("A required text has at most 300 characters.")
            rules.append({f"{kind.lower()}_id": found.pk, "text": text})
        return rules


class RiskForm(forms.Form):
    risky_labels = forms.CharField(
        label="High-risk labels",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="A post with one of these labels takes the strict lane. " + LINES_HELP,
    )
    risky_keywords = forms.CharField(
        label="High-risk keywords",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="A post whose text contains one of these takes the strict lane. " + LINES_HELP,
    )
    regulated_campaigns = ModelMultipleChoiceField(
        label="Regulated campaigns",
        queryset=Campaign.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Every post of these campaigns takes the strict lane.",
    )

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        campaigns = self.fields["regulated_campaigns"]
        assert isinstance(campaigns, forms.ModelMultipleChoiceField)
        campaigns.queryset = Campaign.objects.filter(workspace=workspace).order_by("name")

    def clean_risky_labels(self) -> list[str]:
        return lines(self.cleaned_data["risky_labels"])

    def clean_risky_keywords(self) -> list[str]:
        return lines(self.cleaned_data["risky_keywords"])
