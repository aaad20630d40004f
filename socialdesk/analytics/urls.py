from django.urls import path

from . import clicks, links_views

urlpatterns = [
    # Answered by ``clicks.ShortLinkMiddleware`` before it gets here; named for ``reverse``.
    path("l/<str:code>", clicks.follow, name="short_link"),
    path(
        "hooks/conversions/<slug:slug>",
        links_views.conversion_report,
        name="conversion_report",
    ),
    path("w/<slug:slug>/settings/links/", links_views.link_settings, name="link_settings"),
]
