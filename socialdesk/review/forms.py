"""Forms of the review pages: they parse and present; ``review.services`` holds the rules."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django import forms
from django.db.models import Min
from django.utils import timezone

from socialdesk.content.forms import DateInput
from socialdesk.content.models import Post
from socialdesk.ids import ModelMultipleChoiceField
from socialdesk.publishing.wallclock import WallClockError, to_utc
from socialdesk.workspaces.models import Workspace

from .models import MAX_COMMENT


class CommentForm(forms.Form):
    body = forms.CharField(
        label="Comment",
        max_length=MAX_COMMENT,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Mention a teammate with @ and their name or email handle, e.g. @ana.",
    )
    parent_id = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)
    internal = forms.BooleanField(
        label="Internal (the team only; clients never see it)", required=False, initial=True
    )


class ClientCommentForm(forms.Form):
    body = forms.CharField(
        label="Your comment", max_length=MAX_COMMENT, widget=forms.Textarea(attrs={"rows": 3})
    )
    parent_id = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)


class ClientDecisionForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[("approve", "Approve"), ("request_changes", "Request changes")]
    )
    comment = forms.CharField(
        label="What should change?",
        max_length=MAX_COMMENT,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required when you request changes.",
    )


class PostChoices(ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj)


class ReviewLinkForm(forms.Form):
    name = forms.CharField(
        label="Who it is for", max_length=120, help_text="For example “Acme legal”."
    )
    posts = PostChoices(
        label="Posts",
        queryset=Post.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Choose posts, or leave them all unticked and give a date range below.",
    )
    starts_on = forms.DateField(label="Scheduled from", required=False, widget=DateInput())
    ends_on = forms.DateField(label="Scheduled to", required=False, widget=DateInput())
    expires_on = forms.DateField(
        label="Open until",
        widget=DateInput(),
        help_text="The link stops working at the end of this day (workspace time).",
    )

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.workspace = workspace
        # The picker shows each post's first time, channels and first picture (one query each).
        posts = (
            Post.objects.filter(workspace=workspace)
            .annotate(first_at=Min("deliveries__scheduled_at"))
            .prefetch_related("deliveries__channel", "media")
            .order_by("-created_at", "-id")
        )
        self.fields["posts"].queryset = posts  # type: ignore[attr-defined]
        if not self.is_bound:
            self.initial.setdefault("expires_on", timezone.localdate() + timedelta(days=14))

    def expires_at(self) -> datetime:
        """The first instant of the day after ``expires_on`` in the workspace's zone. Where the
        clocks skip that midnight it is the first minute after the jump; where they show it
        twice, the earlier one."""
        day = self.cleaned_data["expires_on"] + timedelta(days=1)
        try:
            return to_utc(datetime.combine(day, time.min), self.workspace.zone, fold=0)
        except WallClockError as gap:
            return gap.choices[-1].utc
