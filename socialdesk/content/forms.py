"""Forms of the post pages: the list's filters and the composer.

Forms only parse and present; the rules (what belongs to the workspace, what is in the past,
what may be removed) are ``content.services``'s, whose errors the views put next to fields.
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime, time, timedelta
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone

from socialdesk.ids import ModelMultipleChoiceField
from socialdesk.networks.bluesky import MAX_IMAGES
from socialdesk.networks.models import Channel
from socialdesk.publishing import wallclock
from socialdesk.publishing.models import Delivery, DeliveryState
from socialdesk.workspaces.models import Workspace

from . import composer
from .media import MAX_ALT_TEXT
from .models import Campaign, HashtagGroup, Label, MediaAsset, MediaKind, Pillar, Post, PostTemplate
from .services import PostContent

THREAD_PARTS = 4  # the main text plus up to three replies


class ChannelChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.get_network_display()} · {obj.handle}"


class ChannelsField(ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.get_network_display()} · {obj.handle}"


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%d")


class PostFilterForm(forms.Form):
    """The post list's filters, read from the query string; an invalid filter is ignored."""

    start = forms.DateField(label="From", required=False, widget=DateInput())
    end = forms.DateField(label="To", required=False, widget=DateInput())
    channel = ChannelChoiceField(
        label="Channel", queryset=Channel.objects.none(), required=False, empty_label="All"
    )
    state = forms.ChoiceField(
        label="State", choices=[("", "All"), *DeliveryState.choices], required=False
    )
    label = forms.ModelChoiceField(
        label="Label", queryset=Label.objects.none(), required=False, empty_label="All"
    )
    pillar = forms.ModelChoiceField(
        label="Pillar", queryset=Pillar.objects.none(), required=False, empty_label="All"
    )
    campaign = forms.ModelChoiceField(
        label="Campaign", queryset=Campaign.objects.none(), required=False, empty_label="All"
    )

    def __init__(self, data: Any, workspace: Workspace) -> None:
        super().__init__(data)
        self.workspace = workspace
        scoped = {
            "channel": Channel,
            "label": Label,
            "pillar": Pillar,
            "campaign": Campaign,
        }
        for name, model in scoped.items():
            self.fields[name].queryset = model.objects.in_workspace(workspace)  # type: ignore[attr-defined]

    @property
    def active(self) -> bool:
        return any(self.filters().values())

    def filters(self) -> dict[str, Any]:
        if not self.is_bound or not self.is_valid():
            return getattr(self, "cleaned_data", {}) if self.is_bound else {}
        return self.cleaned_data

    def apply(self, posts: QuerySet[Post]) -> QuerySet[Post]:
        """Narrow ``posts``; the channel, state and dates must hold for one same delivery."""
        values = self.filters()
        deliveries = Delivery.objects.in_workspace(self.workspace)
        narrowed = False
        if values.get("channel"):
            deliveries = deliveries.filter(channel=values["channel"])
            narrowed = True
        if values.get("state"):
            deliveries = deliveries.filter(state=values["state"])
            narrowed = True
        zone = self.workspace.zone
        # Days are the workspace's days. A midnight that DST skips (a few zones) starts the
        # day an hour late here; accepted for a filter.
        if values.get("start"):
            since = datetime.combine(values["start"], time.min, tzinfo=zone)
            deliveries = deliveries.filter(scheduled_at__gte=since)
            narrowed = True
        if values.get("end"):
            until = datetime.combine(values["end"] + timedelta(days=1), time.min, tzinfo=zone)
            deliveries = deliveries.filter(scheduled_at__lt=until)
            narrowed = True
        if narrowed:
            posts = posts.filter(pk__in=deliveries.values("post_id"))
        if values.get("label"):
            posts = posts.filter(labels=values["label"])
        if values.get("pillar"):
            posts = posts.filter(pillar=values["pillar"])
        if values.get("campaign"):
            posts = posts.filter(campaign=values["campaign"])
        return posts


class LocalDateTimeField(forms.DateTimeField):
    """A wall-clock date and time, cleaned to a *naive* datetime.

    Which zone reads it depends on the channels chosen, so ``PostForm.clean`` turns it into
    UTC with ``publishing.wallclock`` (Django's own field would read it in the *active*
    zone). An aware initial value is shown on the wall clock of ``zone``.
    """

    input_formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "widget",
            forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        )
        super().__init__(**kwargs)
        self.zone = zoneinfo.ZoneInfo("UTC")

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, datetime) and timezone.is_aware(value):
            return value.astimezone(self.zone).replace(tzinfo=None)
        return value

    def to_python(self, value: Any) -> datetime | None:
        if value in self.empty_values:
            return None
        if isinstance(value, datetime):
            return value.replace(tzinfo=None)
        for pattern in self.input_formats:
            try:
                return datetime.strptime(str(value).strip(), pattern)
            except ValueError:
                continue
        raise forms.ValidationError("Enter a date and time, e.g. 2026-12-01 09:00.", code="invalid")


def _to_minute(value: datetime | None) -> datetime | None:
    return value.replace(second=0, microsecond=0) if value else None


# Service field names → editor field names, for errors.
SERVICE_FIELDS = {
    "channel_ids": "channels",
    "label_ids": "labels",
    "pillar_id": "pillar",
    "campaign_id": "campaign",
    "media_ids": None,
    "post": None,
}


class LibraryField(ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj) + ("" if obj.alt_text.strip() else " (needs alt text)")


class PostForm(forms.Form):
    """The composer: shared text and thread, a version and first comment per channel, media
    from the library or uploaded, one time for all, taxonomy."""

    text = forms.CharField(
        label="Text",
        strip=False,
        widget=forms.Textarea(attrs={"rows": 8, "data-count": "text-count"}),
        error_messages={"required": "Write the post's text."},
    )
    title = forms.CharField(
        label="Title",
        max_length=200,
        required=False,
        help_text="An internal name to find the post by; it is not published.",
    )
    channels = ChannelsField(
        label="Channels",
        queryset=Channel.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    scheduled_at = LocalDateTimeField(label="Publish at", required=False)
    # Which reading of a time the clocks show twice: "earlier" or "later" (offered with the
    # error that says the time is repeated; ``wallclock.fold_of`` turns it into ``fold``).
    repeated_time = forms.CharField(required=False, widget=forms.HiddenInput)
    labels = ModelMultipleChoiceField(
        label="Labels",
        queryset=Label.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    pillar = forms.ModelChoiceField(
        label="Pillar", queryset=Pillar.objects.none(), required=False, empty_label="No pillar"
    )
    campaign = forms.ModelChoiceField(
        label="Campaign",
        queryset=Campaign.objects.none(),
        required=False,
        empty_label="No campaign",
    )

    def __init__(self, *args: Any, workspace: Workspace, post: Post | None = None, **kwargs: Any):
        if post is not None and "initial" not in kwargs:
            kwargs["initial"] = self.initial_for(post)
        super().__init__(*args, **kwargs)
        self.workspace = workspace
        self.post = post
        self.channel_list = list(Channel.objects.in_workspace(workspace))  # type: ignore[attr-defined]
        self._add_media_fields()
        self._add_thread_and_channel_fields()
        self.fields["channels"].queryset = Channel.objects.in_workspace(workspace)  # type: ignore[attr-defined]
        self.fields["labels"].queryset = Label.objects.in_workspace(workspace)  # type: ignore[attr-defined]
        self.fields["pillar"].queryset = Pillar.objects.in_workspace(workspace)  # type: ignore[attr-defined]
        self.fields["campaign"].queryset = Campaign.objects.in_workspace(workspace)  # type: ignore[attr-defined]
        # Set by ``clean`` when the typed time happens twice: the two readings to choose from.
        self.repeated_choices: list[wallclock.WallClockChoice] = []
        when: LocalDateTimeField = self.fields["scheduled_at"]  # type: ignore[assignment]
        when.zone = self.zone_for(self._typed_channels())[0]
        when.help_text = "Leave empty to keep it a draft."

    def zone_for(self, channels: list[Channel]) -> tuple[zoneinfo.ZoneInfo, str]:
        """The zone the typed time is read in, and whose zone it is in words: the channel's
        own when the post goes to one channel that has a zone, else the workspace's (a post on
        several channels goes out at one instant on all of them)."""
        if len(channels) == 1 and channels[0].time_zone:
            return channels[0].zone, f"the time zone of {channels[0].handle}"
        return self.workspace.zone, "the workspace's time zone"

    def _typed_channels(self) -> list[Channel]:
        """The channels ticked in the data sent (or the post's, before anything is sent)."""
        if self.is_bound:
            getlist = getattr(self.data, "getlist", None)
            ids = getlist("channels") if getlist else self.data.get("channels") or []
        else:
            ids = self.initial.get("channels") or []
        wanted = {str(i) for i in ids}
        return [c for c in self.channel_list if str(c.pk) in wanted]

    @property
    def zone_note(self) -> str:
        """What the page says next to the time: which zone reads it."""
        zone, whose = self.zone_for(self._typed_channels())
        return f"Read in {zone.key}, {whose}."

    def zone_of_channels(self) -> dict[str, str]:
        """Channel id → its own zone name (empty: it uses the workspace's), for the script that
        updates ``zone_note`` as channels are ticked."""
        return {str(c.pk): c.time_zone for c in self.channel_list}

    def repeated_options(self) -> list[tuple[str, str, bool]]:
        """(value, label, checked) for the radio buttons shown with a repeated-time error."""
        chosen = self.data.get("repeated_time") if self.is_bound else None
        options = []
        for choice in self.repeated_choices:
            value = "earlier" if choice.fold == 0 else "later"
            options.append((value, f"The {value} {choice.label}", chosen == value))
        return options

    def _add_media_fields(self) -> None:
        """Per attached image: its alt text and a "remove" box; then one upload slot (file and
        alt text) per image the post may still take. Plain fields, so the editor works as a
        multipart form without JavaScript."""
        self.attached = list(self.post.media.order_by("id")) if self.post is not None else []
        for asset in self.attached:
            self.fields[f"alt_media_{asset.pk}"] = forms.CharField(
                # "Describe", not "Alt text": the editor's "Text" label must stay unique.
                label=f"Describe {asset}",
                required=False,
                max_length=MAX_ALT_TEXT,
                initial=asset.alt_text,
                widget=forms.Textarea(attrs={"rows": 2}),
            )
            self.fields[f"remove_media_{asset.pk}"] = forms.BooleanField(
                label=f"Remove {asset}", required=False
            )
        library = MediaAsset.objects.in_workspace(self.workspace).exclude(  # type: ignore[attr-defined]
            kind=MediaKind.VIDEO
        )
        self.fields["library"] = LibraryField(
            label="From the media library",
            queryset=library.exclude(pk__in=[a.pk for a in self.attached]),
            required=False,
            widget=forms.CheckboxSelectMultiple,
            help_text="Images already uploaded to this workspace.",
        )
        self.upload_slots = []
        for number in range(1, max(0, MAX_IMAGES - len(self.attached)) + 1):
            self.fields[f"image_{number}"] = forms.FileField(
                label=f"Image {number}",
                required=False,
                widget=forms.ClearableFileInput(
                    attrs={"accept": "image/jpeg,image/png,image/gif,image/webp"}
                ),
            )
            self.fields[f"alt_{number}"] = forms.CharField(
                label=f"Describe image {number}",
                required=False,
                max_length=MAX_ALT_TEXT,
                widget=forms.Textarea(
                    attrs={"rows": 2, "placeholder": "Alt text: what the image shows"}
                ),
            )
            self.upload_slots.append((self[f"image_{number}"], self[f"alt_{number}"]))

    def _add_thread_and_channel_fields(self) -> None:
        """Thread parts after the main text, then per channel its own version of the text and
        its first comment (empty: the shared text, no comment)."""
        thread = list(self.post.thread) if self.post is not None else []
        for number in range(2, THREAD_PARTS + 1):
            self.fields[f"thread_{number}"] = forms.CharField(
                label=f"Thread part {number}",
                required=False,
                strip=False,
                initial=thread[number - 2] if len(thread) > number - 2 else "",
                widget=forms.Textarea(attrs={"rows": 3, "data-part": number}),
            )
        overrides = {}
        if self.post is not None:
            overrides = {d.channel_id: d for d in self.post.deliveries.all()}
        for channel in self.channel_list:
            delivery = overrides.get(channel.pk)
            name = f"{channel.handle} on {channel.get_network_display()}"
            self.fields[f"override_{channel.pk}"] = forms.CharField(
                # Not "Text for …": the shared text's "Text" label must stay unique.
                label=f"Version for {name}",
                required=False,
                strip=False,
                initial=delivery.text_override if delivery else "",
                help_text="Leave empty to publish the shared text.",
                widget=forms.Textarea(attrs={"rows": 5, "data-channel": channel.pk}),
            )
            self.fields[f"first_comment_{channel.pk}"] = forms.CharField(
                label=f"First comment for {name}",
                required=False,
                strip=False,
                initial=delivery.first_comment if delivery else "",
                widget=forms.Textarea(attrs={"rows": 2, "data-comment": channel.pk}),
            )

    def channel_tabs(self) -> list[tuple[Channel, Any, Any]]:
        """(channel, version field, first comment field) per channel, for the template."""
        return [
            (c, self[f"override_{c.pk}"], self[f"first_comment_{c.pk}"]) for c in self.channel_list
        ]

    @property
    def wants_queue(self) -> bool:
        """The "Add to queue" button was pressed: each channel's queue gives the time."""
        return self.is_bound and self.data.get("action") == "queue"

    def library_rows(self) -> list[tuple[Any, MediaAsset]]:
        """(checkbox, asset) per library image, for a picker with thumbnails."""
        field: LibraryField = self.fields["library"]  # type: ignore[assignment]
        return list(zip(self["library"], field.queryset or [], strict=True))

    def thread_fields(self) -> list[Any]:
        return [self[f"thread_{n}"] for n in range(2, THREAD_PARTS + 1)]

    @property
    def attached_rows(self) -> list[tuple[Any, Any, Any]]:
        """(asset, alt text field, remove field) per attached image, for the template."""
        return [
            (asset, self[f"alt_media_{asset.pk}"], self[f"remove_media_{asset.pk}"])
            for asset in self.attached
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.wants_queue:
            if data.get("scheduled_at"):
                self.add_error(
                    "scheduled_at", "Choose a time or add the post to the queue, not both."
                )
            if not data.get("channels"):
                self.add_error("channels", "Choose the channels whose queues get the post.")
        if data.get("scheduled_at") is not None:
            self._read_wall_clock(data)
        # Alt text is required for an image of a post that is being scheduled: networks show
        # it to people who cannot see the image, and it cannot be added once published.
        if data.get("scheduled_at") or self.wants_queue:
            for number in range(1, len(self.upload_slots) + 1):
                if data.get(f"image_{number}") and not data.get(f"alt_{number}", "").strip():
                    self.add_error(
                        f"alt_{number}",
                        "Describe this image before scheduling the post (alt text).",
                    )
            for asset in self.attached:
                removed = data.get(f"remove_media_{asset.pk}")
                if not removed and not data.get(f"alt_media_{asset.pk}", "").strip():
                    self.add_error(
                        f"alt_media_{asset.pk}",
                        f"Describe {asset} before scheduling the post (alt text).",
                    )
            for asset in data.get("library") or []:
                if not asset.alt_text.strip():
                    self.add_error(
                        "library",
                        f"{asset} has no alt text: describe it in the media library, or "
                        "attach it, before scheduling the post.",
                    )
            self._check_lengths(data)
        kept = [a for a in self.attached if not data.get(f"remove_media_{a.pk}")]
        uploads = [n for n in range(1, len(self.upload_slots) + 1) if data.get(f"image_{n}")]
        total = len(kept) + len(data.get("library") or []) + len(uploads)
        if total > MAX_IMAGES:
            self.add_error(
                "library", f"A post takes up to {MAX_IMAGES} images; this one would have {total}."
            )
        return data

    def _read_wall_clock(self, data: dict[str, Any]) -> None:
        """Turn the typed wall-clock time into UTC in ``zone_for`` the chosen channels, with
        ``publishing.wallclock`` as every door does; the zone used goes in ``time_zone``.

        A time the clocks skip is refused with the module's message (it names the minutes on
        both sides of the jump); a time they show twice is refused until ``repeated_time``
        says which reading, and ``repeated_choices`` lets the page offer both. An unchanged
        time of a saved post keeps the reading it has.
        """
        local: datetime = data["scheduled_at"]
        zone, _ = self.zone_for(list(data.get("channels") or []))
        data["time_zone"] = zone.key
        try:
            fold = wallclock.fold_of(data.get("repeated_time") or None)
        except ValidationError:
            self.add_error("scheduled_at", "Choose the earlier or the later reading of this time.")
            return
        saved = self.initial.get("scheduled_at")
        if fold is None and isinstance(saved, datetime) and timezone.is_aware(saved):
            shown = saved.astimezone(zone)
            if shown.replace(tzinfo=None, second=0, microsecond=0) == local:
                fold = shown.fold
        try:
            wallclock.to_utc(local, zone)
        except wallclock.WallClockError as refusal:
            # Offered whenever the time is a repeated one, chosen or not, so a choice made
            # stays visible when another field sends the form back.
            if refusal.kind == "repeated":
                self.repeated_choices = refusal.choices
        try:
            data["scheduled_at"] = wallclock.to_utc(local, zone, fold=fold)
        except wallclock.WallClockError as refusal:
            self.add_error("scheduled_at", refusal.message_text)

    def _check_lengths(self, data: dict[str, Any]) -> None:
        """Each chosen channel's network counts its own text (the connectors' rules, see
        ``content.composer``); a text too long for one is refused before scheduling."""
        thread = {f"thread_{n}": data.get(f"thread_{n}") or "" for n in range(2, THREAD_PARTS + 1)}
        for channel in data.get("channels") or []:
            override = data.get(f"override_{channel.pk}") or ""
            texts = (
                {f"override_{channel.pk}": override}
                if override
                else {"text": data.get("text") or ""}
            )
            texts.update({name: part for name, part in thread.items() if part.strip()})
            texts[f"first_comment_{channel.pk}"] = data.get(f"first_comment_{channel.pk}") or ""
            for name, messages in composer.length_problems(channel, texts).items():
                for message in messages:
                    if name in self.fields:
                        self.add_error(name, message)

    def media_plan(
        self,
    ) -> tuple[list[MediaAsset], dict[MediaAsset, str], list[tuple[int, Any, str]]]:
        """What to do with images: the attached ones to keep, their alt texts, and the new
        files to upload, each as (slot number, file, alt text)."""
        data = self.cleaned_data
        kept = [a for a in self.attached if not data.get(f"remove_media_{a.pk}")]
        alts = {a: data.get(f"alt_media_{a.pk}", "") for a in kept}
        kept += list(data.get("library") or [])
        uploads = [
            (n, data[f"image_{n}"], data.get(f"alt_{n}", ""))
            for n in range(1, len(self.upload_slots) + 1)
            if data.get(f"image_{n}")
        ]
        return kept, alts, uploads

    @staticmethod
    def initial_for(post: Post) -> dict[str, Any]:
        deliveries = list(post.deliveries.all())
        times = sorted(d.scheduled_at for d in deliveries if d.scheduled_at)
        return {
            "text": post.text,
            "title": post.title,
            "channels": [d.channel_id for d in deliveries],
            "scheduled_at": times[0] if times else None,
            "labels": list(post.labels.values_list("pk", flat=True)),
            "pillar": post.pillar_id,
            "campaign": post.campaign_id,
        }

    def content(self) -> PostContent:
        """What to give ``create_post``/``update_post``; on update, an unchanged time is left
        alone (so editing the text of a post whose time has passed is not refused)."""
        data = self.cleaned_data
        content = PostContent(
            text=data["text"],
            title=data["title"],
            thread=[data[f"thread_{n}"] for n in range(2, THREAD_PARTS + 1)],
            channel_ids=[c.pk for c in data["channels"]],
            label_ids=[label.pk for label in data["labels"]],
            pillar_id=data["pillar"].pk if data["pillar"] else None,
            campaign_id=data["campaign"].pk if data["campaign"] else None,
            scheduled_at=data["scheduled_at"],
            time_zone=data.get("time_zone") or None,
        )
        if self.post is not None:
            if data["scheduled_at"] is None:
                content.cleared.add("scheduled_at")
            elif data["scheduled_at"] == _to_minute(self.initial.get("scheduled_at")):
                content.scheduled_at = None
            for name in ("pillar", "campaign"):
                if data[name] is None:
                    content.cleared.add(f"{name}_id")
        return content

    def delivery_texts(self) -> dict[int, tuple[str, str]]:
        """Channel id → (its version of the text, its first comment), for the chosen ones."""
        data = self.cleaned_data
        return {
            c.pk: (data.get(f"override_{c.pk}") or "", data.get(f"first_comment_{c.pk}") or "")
            for c in data["channels"]
        }


class HashtagGroupForm(forms.ModelForm):
    class Meta:
        model = HashtagGroup
        fields = ["name", "hashtags"]
        labels = {"name": "Group name", "hashtags": "Hashtags"}

    # The hashtags are checked and normalised by ``HashtagGroup.clean`` (the API's rule too).


class PostTemplateForm(forms.ModelForm):
    class Meta:
        model = PostTemplate
        fields = ["name", "text"]
        labels = {"name": "Template name", "text": "Template"}
        help_texts = {
            "text": "Use {placeholders} such as {product} or {date}; the composer asks for them."
        }
        widgets = {"text": forms.Textarea(attrs={"rows": 4})}


class UtmDefaultsForm(forms.Form):
    source = forms.CharField(
        label="utm_source",
        max_length=100,
        help_text="Per network links use the network's name instead.",
    )
    medium = forms.CharField(label="utm_medium", max_length=100)
    campaign = forms.CharField(
        label="utm_campaign",
        max_length=100,
        required=False,
        help_text="Used when the post's campaign has no UTM name of its own.",
    )


class SignatureForm(forms.Form):
    """One signature per channel, offered at the end of that channel's text."""

    def __init__(self, *args: Any, channels: list[Channel], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.channels = channels
        for channel in channels:
            self.fields[f"signature_{channel.pk}"] = forms.CharField(
                label=f"Signature for {channel.handle} on {channel.get_network_display()}",
                max_length=300,
                required=False,
                initial=channel.signature,
            )
