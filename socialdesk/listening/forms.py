"""Forms of the listening pages: a topic, a query, a source, and the topic page's filters.

They only read and check what was sent; the writes go through ``listening.services`` (as
the API's do), which report their refusals per field.
"""

from __future__ import annotations

from datetime import date, timedelta

from django import forms

from socialdesk.inbox.models import Sentiment

from .api import QUERY_HELP
from .models import SourceKind, TopicKind

MAX_RANGE_DAYS = 366


class TopicForm(forms.Form):
    name = forms.CharField(max_length=200, label="Name")
    kind = forms.ChoiceField(
        choices=TopicKind.choices,
        initial=TopicKind.BRAND,
        label="Kind",
        help_text="Competitors are compared with your brand in share of voice.",
    )
    active = forms.BooleanField(required=False, initial=True, label="Listen for this topic")


class QueryForm(forms.Form):
    text = forms.CharField(
        max_length=2000,
        label="Query",
        help_text=QUERY_HELP,
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false", "class": "query-text"}),
    )


class NewTopicForm(TopicForm):
    text = forms.CharField(
        max_length=2000,
        required=False,
        label="First query",
        help_text=QUERY_HELP,
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false", "class": "query-text"}),
    )


class SourceForm(forms.Form):
    kind = forms.ChoiceField(choices=SourceKind.choices, label="Kind")
    url = forms.CharField(
        max_length=1000,
        required=False,
        label="Feed address",
        help_text="For an RSS or Atom feed: https://…",
    )
    channel = forms.TypedChoiceField(
        coerce=int,
        required=False,
        empty_value=None,
        label="Channel",
        help_text="For Bluesky or Mastodon search: the channel that reads.",
    )

    def __init__(self, *args: object, channels: list[tuple[int, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["channel"].choices = [("", "—"), *channels]  # type: ignore[attr-defined]


class StreamFilters(forms.Form):
    """The topic page's filters. A bad value falls back to the default (the page never
    refuses to show), and the form says so next to the field."""

    PERIODS = (("7", "Last 7 days"), ("30", "Last 30 days"), ("90", "Last 90 days"))

    period = forms.ChoiceField(choices=PERIODS, required=False, label="Period")
    start = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
    )
    source = forms.ChoiceField(
        choices=[("", "All sources"), *SourceKind.choices], required=False, label="Source"
    )
    sentiment = forms.ChoiceField(
        choices=[("", "All"), *Sentiment.choices], required=False, label="Sentiment"
    )
    language = forms.RegexField(
        regex=r"^[a-z]{2,3}$",
        required=False,
        max_length=3,
        label="Language",
        help_text="Two letters, like en or fr.",
        error_messages={"invalid": "Give a language as two letters, like en or fr."},
    )
    text = forms.CharField(required=False, max_length=200, label="Text")

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if not (isinstance(start, date) and isinstance(end, date)):
            return data
        if start > end:
            self.add_error("end", "The end comes before the start.")
        elif end - start > timedelta(days=MAX_RANGE_DAYS):
            self.add_error("start", f"Choose at most {MAX_RANGE_DAYS} days.")
        return data
