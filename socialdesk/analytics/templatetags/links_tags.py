"""The composer's short-link lengths, so its live counter counts a link as it will go out."""

from __future__ import annotations

from django import template
from django.utils.html import json_script
from django.utils.safestring import SafeString

from socialdesk.analytics.links import counted_link_length
from socialdesk.networks.models import Channel

register = template.Library()


@register.simple_tag
def short_link_lengths(channels: list[Channel]) -> SafeString:
    """A JSON block ``composer-short-links`` ({channel id: length}) that ``composer.js``
    reads: content never imports analytics, so the block comes with analytics' hint."""
    lengths = {str(pk): length for pk, length in counted_link_length(list(channels)).items()}
    return json_script(lengths, "composer-short-links")
