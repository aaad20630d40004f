"""Forms of the members and settings pages."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms

from socialdesk.web.helpers import time_zone_choices

from .models import (
    LATE_WINDOW_DEFAULT,
    TokenScope,
    User,
    Workspace,
    duration_text,
    validate_late_window,
)
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


# The late windows offered, in minutes: 15 min, 30 min, 1, 2, 3, 6, 12 h, 1, 2, 3, 7 days.
LATE_WINDOW_CHOICES = [15, 30, 60, 120, 180, 360, 720, 1440, 2880, 4320, 10080]


class WorkspaceSettingsForm(forms.ModelForm):
    """Name, zone, late window (a choice from 15 minutes to 7 days) and the approval switch."""

    time_zone = forms.ChoiceField(
        label="Time zone",
        choices=time_zone_choices,
        help_text="Scheduled times are entered and shown in this zone.",
    )
    late_window_minutes = forms.TypedChoiceField(
        label="Late window",
        coerce=int,
        help_text="How late a post may still go out, e.g. after downtime, before it counts as "
        f"missed (default {duration_text(LATE_WINDOW_DEFAULT)}).",
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
        current = int(self.instance.late_window.total_seconds() // 60)
        choices = sorted({*LATE_WINDOW_CHOICES, current})
        field = self.fields["late_window_minutes"]
        field.choices = [  # type: ignore[attr-defined]
            (minutes, duration_text(timedelta(minutes=minutes))) for minutes in choices
        ]
        field.initial = current

    def clean_late_window_minutes(self) -> timedelta:
        # The choices are all valid; the model's rule is checked again for an old odd value.
        window = timedelta(minutes=self.cleaned_data["late_window_minutes"])
        validate_late_window(window)
        return window

    def clean_requires_two_factor(self) -> bool:
        value: bool = self.cleaned_data["requires_two_factor"]
        turning_on = value and not self.instance.requires_two_factor
        if turning_on and self.user is not None:
            check_can_require_two_factor(self.user)
        return value

    def save(self, commit: bool = True) -> Workspace:
        """Save only the fields this form owns (``update_fields``)."""
        workspace: Workspace = super().save(commit=False)
        workspace.late_window = self.cleaned_data["late_window_minutes"]
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
