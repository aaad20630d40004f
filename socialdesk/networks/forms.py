"""Forms of the Channels page: connecting and reconnecting a Bluesky account.

The app password field never renders the value it was given (``render_value=False``), so a
refused password is not sent back to the browser in the page.
"""

from __future__ import annotations

from django import forms

from socialdesk.web.helpers import time_zone_choices

from .bluesky import DEFAULT_PDS
from .services import BlueskyLogin

HOW_TO_GET_ONE = (
    "Create one in Bluesky under Settings → Privacy and security → App passwords. "
    "Never use your account's main password."
)


def _zone_choices() -> list[tuple[str, str]]:
    return [("", "The workspace's time zone"), *time_zone_choices()]


class ConnectBlueskyForm(forms.Form):
    handle = forms.CharField(
        label="Handle",
        max_length=200,
        widget=forms.TextInput(
            attrs={
                "placeholder": "bakery.bsky.social",
                "autocomplete": "off",
                "autocapitalize": "none",
                "spellcheck": "false",
            }
        ),
        error_messages={"required": "Enter the account's handle, e.g. bakery.bsky.social."},
    )
    app_password = forms.CharField(
        label="App password",
        max_length=200,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=HOW_TO_GET_ONE,
        error_messages={"required": "Enter an app password for this account."},
    )
    pds_url = forms.CharField(
        label="Server (PDS) address",
        max_length=300,
        initial=DEFAULT_PDS,
        widget=forms.TextInput(
            attrs={"inputmode": "url", "autocomplete": "off", "spellcheck": "false"}
        ),
        help_text="Keep https://bsky.social unless the account is on a self-hosted server.",
        error_messages={"required": "Enter the server's address, e.g. https://bsky.social."},
    )
    time_zone = forms.ChoiceField(
        label="Time zone",
        required=False,
        choices=_zone_choices,
        help_text="Times for this channel are entered and shown in this zone.",
    )

    def login(self) -> BlueskyLogin:
        data = self.cleaned_data
        return BlueskyLogin(data["handle"], data["app_password"], data["pds_url"])


class ReconnectBlueskyForm(forms.Form):
    app_password = forms.CharField(
        label="New app password",
        max_length=200,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=HOW_TO_GET_ONE,
        error_messages={"required": "Enter a new app password for this account."},
    )
    pds_url = forms.CharField(
        label="Server (PDS) address",
        max_length=300,
        widget=forms.TextInput(
            attrs={"inputmode": "url", "autocomplete": "off", "spellcheck": "false"}
        ),
        error_messages={"required": "Enter the server's address, e.g. https://bsky.social."},
    )


class ConnectMastodonForm(forms.Form):
    instance_url = forms.CharField(
        label="Instance",
        max_length=300,
        widget=forms.TextInput(
            attrs={
                "placeholder": "mastodon.social",
                "inputmode": "url",
                "autocomplete": "off",
                "autocapitalize": "none",
                "spellcheck": "false",
            }
        ),
        help_text="The server your account is on: the part after the second @ of your handle.",
        error_messages={"required": "Enter your instance, e.g. mastodon.social."},
    )
    time_zone = forms.ChoiceField(
        label="Time zone",
        required=False,
        choices=_zone_choices,
        help_text="Times for this channel are entered and shown in this zone.",
    )
