"""``{% load once %}{% capture name %}…{% endcapture %}``: render a piece once and show it as
``{{ name }}`` as often as needed. The sidebar shows the workspace's navigation twice (wide
screens, and the phone's Menu) and rendering its ~110 lines twice cost every page about a
millisecond; Django's template language has no such tag of its own."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import mark_safe

register = template.Library()


class CaptureNode(template.Node):
    def __init__(self, nodelist: template.NodeList, name: str) -> None:
        self.nodelist = nodelist
        self.name = name

    def render(self, context: Any) -> str:
        # Already escaped by the template that rendered it, like an {% include %}'s output.
        context[self.name] = mark_safe(self.nodelist.render(context))  # noqa: S308
        return ""


@register.tag
def capture(parser: template.base.Parser, token: template.base.Token) -> CaptureNode:
    bits = token.split_contents()
    if len(bits) != 2:
        raise template.TemplateSyntaxError("Use {% capture name %}…{% endcapture %}.")
    nodelist = parser.parse(("endcapture",))
    parser.delete_first_token()
    return CaptureNode(nodelist, bits[1])
