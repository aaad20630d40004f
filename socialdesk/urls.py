from django.conf import settings
from django.urls import include, path
from django.views.static import serve

from socialdesk import health
from socialdesk.api import api

urlpatterns = [
    path("health", health.health_view, name="health"),
    path("api/v1/", api.urls),
    path("", include("socialdesk.page.urls")),
    path("", include("socialdesk.web.urls")),
    # Uploaded media. In the embedded mode Django serves it; behind a proxy, serve MEDIA_ROOT
    # from the proxy instead.
    path("media/<path:path>", serve, {"document_root": settings.MEDIA_ROOT}),
]
