"""The Analytics pages' query forms: what a person may ask for, checked before any query."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from socialdesk.content.models import Campaign, Label, Pillar
from socialdesk.networks.models import Channel, Network
from socialdesk.workspaces.models import Membership, Workspace

from . import reading
from .models import Bucket

METRIC_LABELS = {
    "engagement": "Engagement",
    "likes": "Likes",
    "reposts": "Reposts",
    "replies": "Replies",
    "quotes": "Quotes",
    "views": "Views",
    "clicks": "Clicks",
}


class PeriodForm(forms.Form):
    """A preset (7, 28, 90 days ending today) or a custom range of local days."""

    days = forms.ChoiceField(
        required=False,
        label="Period",
        choices=[(str(d), f"Last {d} days") for d in reading.PRESETS] + [("custom", "Custom")],
    )
    first = forms.DateField(required=False, label="From", widget=forms.DateInput({"type": "date"}))
    last = forms.DateField(required=False, label="To", widget=forms.DateInput({"type": "date"}))

    def __init__(self, workspace: Workspace, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.workspace = workspace
        self.period: reading.Period | None = None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        days = data.get("days") or None
        first, last = data.get("first"), data.get("last")
        if days != "custom" and days is not None:
            first = last = None  # a preset wins over dates left in the form
        elif days == "custom" and not (first or last):
            raise ValidationError("Give the first and the last day of the custom period.")
        try:
            self.period = reading.parse_period(
                self.workspace, None if days == "custom" else days, first, last
            )
        except ValidationError as error:
            raise ValidationError(error.messages) from None
        return data


def _choices(pairs: Any, empty: str) -> list[tuple[str, str]]:
    return [("", empty)] + [(str(pk), str(name)) for pk, name in pairs]


class RankingForm(PeriodForm):
    metric = forms.ChoiceField(required=False, label="Rank by", choices=list(METRIC_LABELS.items()))
    age = forms.ChoiceField(
        required=False,
        label="At age",
        choices=[("", "Latest reading")] + [(str(b.value), str(b.label)) for b in Bucket],
    )
    order = forms.ChoiceField(
        required=False, label="Order", choices=[("desc", "Highest first"), ("asc", "Lowest first")]
    )
    channel = forms.ChoiceField(required=False, label="Channel")
    network = forms.ChoiceField(
        required=False, label="Network", choices=_choices(Network.choices, "All networks")
    )
    pillar = forms.ChoiceField(required=False, label="Pillar")
    campaign = forms.ChoiceField(required=False, label="Campaign")
    label = forms.ChoiceField(required=False, label="Label")
    author = forms.ChoiceField(required=False, label="Author")
    page = forms.IntegerField(required=False, min_value=1, max_value=reading.MAX_PAGE)

    def __init__(self, workspace: Workspace, *args: Any, **kwargs: Any) -> None:
        super().__init__(workspace, *args, **kwargs)
        mine = {"workspace": workspace}
        fields = self.fields
        fields["channel"].choices = _choices(  # type: ignore[attr-defined]
            Channel.objects.filter(**mine).values_list("pk", "handle"), "All channels"
        )
        fields["pillar"].choices = _choices(  # type: ignore[attr-defined]
            Pillar.objects.filter(**mine).values_list("pk", "name"), "All pillars"
        )
        fields["campaign"].choices = _choices(  # type: ignore[attr-defined]
            Campaign.objects.filter(**mine).values_list("pk", "name"), "All campaigns"
        )
        fields["label"].choices = _choices(  # type: ignore[attr-defined]
            Label.objects.filter(**mine).values_list("pk", "name"), "All labels"
        )
        people = Membership.objects.filter(**mine).values_list(
            "user_id", "user__name", "user__email"
        )
        fields["author"].choices = _choices(  # type: ignore[attr-defined]
            ((pk, name or email) for pk, name, email in people), "Everyone"
        )

    def filters(self) -> reading.RankingFilters:
        """The valid form's query (call after ``is_valid()``)."""
        data = self.cleaned_data
        assert self.period is not None

        def number(name: str) -> int | None:
            return int(data[name]) if data.get(name) else None

        return reading.RankingFilters(
            period=self.period,
            metric=data.get("metric") or "engagement",
            age=number("age"),
            ascending=data.get("order") == "asc",
            channel=number("channel"),
            network=data.get("network") or None,
            pillar=number("pillar"),
            campaign=number("campaign"),
            label=number("label"),
            author=number("author"),
            page=data.get("page") or 1,
        )
