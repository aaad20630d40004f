"""Forms of the members and settings pages."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms

from socialdesk.web.helpers import time_zone_choices

from .models import TokenScope, User, Workspace
from .roles import Role
from .two_factor import check_can_require_two_factor


def role_choices(may_grant_owner: bool) -> list[tuple[str, str]]:
    return [(r.value, r.label) for r in Role if may_grant_owner or r != Role.OWNER]


class InviteForm(forms.Form):
    email = forms.EmailField(
        label="Email address", widget=forms.EmailInput(attrs={"autocomplete": "off"})
    )
    role = forms.ChoiceField(label="Role", choices=Role.choices, initial=Role.CREATOR)

    def __init__(self, *args: Any, may_grant_owner: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = role_choices(may_grant_owner)  # type: ignore[attr-defined]


class RoleForm(forms.Form):
    role = forms.ChoiceField(label="Role", choices=Role.choices)

    def __init__(self, *args: Any, may_grant_owner: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = role_choices(may_grant_owner)  # type: ignore[attr-defined]


class WorkspaceSettingsForm(forms.ModelForm):
    """Name, zone, late window (in whole hours) and the approval switch."""

    time_zone = forms.ChoiceField(
        label="Time zone",
        choices=time_zone_choices,
        help_text="Scheduled times are entered and shown in this zone.",
    )
    late_window_hours = forms.IntegerField(
        label="Late window (hours)",
        min_value=0,
        max_value=168,
        help_text="How late a post may still go out, e.g. after downtime, before it counts as "
        "missed.",
    )

    class Meta:
        model = Workspace
        fields = ["name", "time_zone", "requires_approval", "requires_two_factor"]
        labels = {
            "name": "Workspace name",
            "requires_approval": "Posts need approval before they are published",
            "requires_two_factor": "Members must use two-factor sign-in",
        }
        help_texts = {
            "requires_two_factor": "Members without it are asked to set it up before they see "
            "this workspace. API tokens keep working."
        }

    def __init__(self, *args: Any, user: User | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        hours = int(self.instance.late_window.total_seconds() // 3600)
        self.fields["late_window_hours"].initial = hours

    def clean_requires_two_factor(self) -> bool:
        value: bool = self.cleaned_data["requires_two_factor"]
        turning_on = value and not self.instance.requires_two_factor
        if turning_on and self.user is not None:
            check_can_require_two_factor(self.user)
        return value

    def save(self, commit: bool = True) -> Workspace:
        """Save only the fields this form owns (``update_fields``)."""
        workspace: Workspace = super().save(commit=False)
        workspace.late_window = timedelta(hours=self.cleaned_data["late_window_hours"])
        if commit:
            workspace.save(
                update_fields=[
                    "name",
                    "time_zone",
                    "requires_approval",
                    "requires_two_factor",
                    "late_window",
                ]
            )
        return workspace


class TokenForm(forms.Form):
    name = forms.CharField(
        label="Token name",
        max_length=80,
        help_text="What the token is for, e.g. “Nightly export”.",
    )
    scope = forms.ChoiceField(
        label="Access",
        choices=[(TokenScope.WRITE, "Read and write"), (TokenScope.READ, "Read only")],
        widget=forms.RadioSelect,
        initial=TokenScope.WRITE,
    )

    def scopes(self) -> list[str]:
        if self.cleaned_data["scope"] == TokenScope.READ:
            return [TokenScope.READ]
        return [TokenScope.READ, TokenScope.WRITE]
