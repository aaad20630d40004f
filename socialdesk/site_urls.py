"""Every page's address, without the API: the URLconf the worker builds links with.

The worker never serves a request, but its notifications and emails link to pages, and
``reverse()`` imports the whole URLconf it reverses with. Without the API that is about
35 MB less in the worker (django-ninja builds every schema of every router at import;
bench/memory.py, issue 12 item 6). ``socialdesk.urls`` is this plus the API.
"""

from django.conf import settings
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.urls import include, path
from django.views.static import serve

from socialdesk import health


def serve_media(request: HttpRequest, path: str) -> HttpResponseBase:
    # MEDIA_ROOT is read per request, not at import, so tests may point it at a temporary folder.
    return serve(request, path, document_root=str(settings.MEDIA_ROOT))


urlpatterns = [
    path("health", health.health_view, name="health"),
    path("", include("socialdesk.analytics.urls")),
    path("", include("socialdesk.page.urls")),
    path("", include("socialdesk.web.urls")),
    # Uploaded media. In the embedded mode Django serves it; behind a proxy, serve MEDIA_ROOT
    # from the proxy instead.
    path("media/<path:path>", serve_media),
]
