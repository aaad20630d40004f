from __future__ import annotations

from django import forms

from .models import EmailMode
from .services import EVENTS


class PreferenceForm(forms.Form):
    email_mode = forms.ChoiceField(
        label="Email me",
        choices=EmailMode.choices,
        widget=forms.RadioSelect,
        help_text=(
            "Recommended: approval requests, mentions, replies and publishing problems are "
            "emailed at once; everything else arrives in one digest at 08:00 workspace time. "
            "The notification centre always shows everything."
        ),
    )


class WebhookForm(forms.Form):
    name = forms.CharField(label="Name", max_length=80, help_text="E.g. “Slack #social”.")
    url = forms.CharField(
        label="Address (URL)",
        max_length=500,
        # A text input (the site's inputs are styled by type) that phones open with a URL keyboard.
        widget=forms.TextInput(
            attrs={"inputmode": "url", "placeholder": "https://example.com/hooks/socialdesk"}
        ),
        help_text="Socialdesk POSTs JSON here; http:// or https:// only.",
    )
    events = forms.MultipleChoiceField(
        label="Events to send",
        choices=list(EVENTS.items()),
        widget=forms.CheckboxSelectMultiple,
    )
    slack_compatible = forms.BooleanField(
        label="Slack-compatible",
        required=False,
        help_text='Send {"text": …}, as Slack and Mattermost incoming webhooks expect.',
    )
