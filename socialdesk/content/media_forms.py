"""Forms of the media library pages: filtering the grid and describing one asset."""

from __future__ import annotations

from typing import Any, cast

from django import forms

from socialdesk.workspaces.models import Workspace

from . import media
from .models import MediaFolder, MediaKind, MediaTag


class MediaFilterForm(forms.Form):
    q = forms.CharField(
        label="Search",
        required=False,
        max_length=200,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": "Name, alt text or tag", "autocomplete": "off"}
        ),
    )
    kind = forms.ChoiceField(
        label="Kind", required=False, choices=[("", "All kinds"), *MediaKind.choices]
    )
    folder = forms.ChoiceField(label="Folder", required=False)
    tag = forms.ChoiceField(label="Tag", required=False)

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        folders = MediaFolder.objects.filter(workspace=workspace).values_list("name", flat=True)
        tags = MediaTag.objects.filter(workspace=workspace).values_list("name", flat=True)
        cast(forms.ChoiceField, self.fields["folder"]).choices = [
            ("", "All folders"),
            *[(n, n) for n in folders],
        ]
        cast(forms.ChoiceField, self.fields["tag"]).choices = [
            ("", "All tags"),
            *[(n, n) for n in tags],
        ]

    def filters(self) -> dict[str, Any]:
        """The valid filters; an unknown folder or tag (deleted meanwhile) is ignored."""
        if not self.is_bound:
            return {}
        self.is_valid()
        return {name: value for name, value in self.cleaned_data.items() if value}

    @property
    def active(self) -> bool:
        return bool(self.filters())


class MediaDetailsForm(forms.Form):
    alt_text = forms.CharField(
        label="Alt text",
        required=False,
        max_length=media.MAX_ALT_TEXT,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What the image shows, for people who cannot see it. Networks show it too.",
    )
    folder = forms.CharField(
        label="Folder",
        required=False,
        max_length=media.MAX_FOLDER_LENGTH,
        help_text="Type a new name to make a folder; leave empty for none.",
        widget=forms.TextInput(attrs={"list": "media-folders", "autocomplete": "off"}),
    )
    tags = forms.CharField(
        label="Tags",
        required=False,
        max_length=1000,
        help_text="Separated by commas, for example: bread, christmas.",
    )


class AltTextForm(forms.Form):
    alt_text = forms.CharField(required=False, max_length=media.MAX_ALT_TEXT)
