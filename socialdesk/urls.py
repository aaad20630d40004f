from django.conf import settings
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.urls import include, path
from django.views.static import serve

from socialdesk import health
from socialdesk.api import api


def serve_media(request: HttpRequest, path: str) -> HttpResponseBase:
    # MEDIA_ROOT is read per request, not at import, so tests may point it at a temporary folder.
    return serve(request, path, document_root=str(settings.MEDIA_ROOT))


urlpatterns = [
    path("health", health.health_view, name="health"),
    path("api/v1/", api.urls),
    path("", include("socialdesk.analytics.urls")),
    path("", include("socialdesk.page.urls")),
    path("", include("socialdesk.web.urls")),
    # Uploaded media. In the embedded mode Django serves it; behind a proxy, serve MEDIA_ROOT
    # from the proxy instead.
    path("media/<path:path>", serve_media),
]
