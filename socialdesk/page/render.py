"""A post's text as safe HTML: escaped, with links, hashtags and line breaks.

Used by the page and by the feeds (with absolute hashtag links, since a feed reader has no
base URL to resolve them against).
"""

from __future__ import annotations

import re
from urllib.parse import quote

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

# A URL runs to the next space; punctuation that usually ends the sentence is not part of it.
# A hashtag needs a letter ("workshop #2" is not one).
_TOKEN = re.compile(r"(?P<url>https?://[^\s<>\"']+)|(?<![\w&/])#(?P<tag>\w*[^\W\d_][\w-]*)")
_TRAILING = ".,;:!?)]}'\""


def _split_url(url: str) -> tuple[str, str]:
    end = len(url)
    while end and url[end - 1] in _TRAILING:
        # Keep a closing parenthesis that closes one opened inside the URL (Wikipedia links).
        if url[end - 1] == ")" and url[:end].count("(") >= url[:end].count(")"):
            break
        end -= 1
    return url[:end], url[end:]


def text_to_html(text: str, tag_url: str) -> SafeString:
    """``text`` with every http(s) URL a link and every #hashtag a link to
    ``tag_url + "?tag=<tag>"``; paragraphs on blank lines, ``<br>`` on single line breaks."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    return mark_safe(  # noqa: S308 - every piece below is escaped or built by format_html
        "".join(f"<p>{_inline(p, tag_url)}</p>" for p in paragraphs)
    )


def _inline(text: str, tag_url: str) -> str:
    out: list[str] = []
    position = 0
    for match in _TOKEN.finditer(text):
        out.append(escape(text[position : match.start()]))
        if match.group("url"):
            url, rest = _split_url(match.group("url"))
            shown = re.sub(r"^https?://(www\.)?", "", url)
            if len(shown) > 40:
                shown = shown[:39] + "…"
            out.append(str(format_html('<a href="{}" rel="noopener">{}</a>', url, shown)))
            out.append(escape(rest))
        else:
            tag = match.group("tag").rstrip("-")
            rest = match.group("tag")[len(tag) :]
            href = f"{tag_url}?tag={quote(tag.lower())}"
            out.append(str(format_html('<a href="{}" class="tag">#{}</a>', href, tag)))
            out.append(escape(rest))
        position = match.end()
    out.append(escape(text[position:]))
    return "<br>".join("".join(out).split("\n"))
