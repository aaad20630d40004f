"""Template filters of the media library."""

from django import template

register = template.Library()


@register.filter
def decimal_size(size: int | None) -> str:
    """Bytes in decimal units (1 MB = 1,000,000 bytes), as the networks state their limits,
    so "1.1 MB" on a card matches "Bluesky takes images up to 1 MB" in its badge."""
    if size is None:
        return ""
    for unit, factor in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= factor:
            return f"{size / factor:.1f} {unit}"
    return f"{size} bytes"
