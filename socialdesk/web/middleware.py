"""Input refused at the edge of the web pages, before any view reads it."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render


def _has_nul(data: QueryDict) -> bool:
    return any("\x00" in key or any("\x00" in v for v in values) for key, values in data.lists())


class RefuseNulMiddleware:
    """A page address, query string or form with a NUL character gets a 400 page that says
    so, and reaches no view. PostgreSQL cannot store NUL in text (nor compare with it), and
    views read some values straight from ``request.GET``/``POST`` into queries; Django's form
    fields refuse NUL, but only where a form reads the value. The API answers the same
    input field by field (``api_support.Text``), so it is left to the API."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith("/api/") and (
            "\x00" in request.path or _has_nul(request.GET) or _has_nul(request.POST)
        ):
            return render(request, "web/nul_refused.html", status=400)
        return self.get_response(request)
