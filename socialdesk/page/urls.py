from django.urls import path
from django.views.generic import RedirectView

from . import settings_views, views

urlpatterns = [
    path("@<slug:slug>", views.page, name="public_page"),
    path(
        "@<slug:slug>/",
        RedirectView.as_view(pattern_name="public_page", query_string=True, permanent=True),
    ),
    path("@<slug:slug>/posts", views.page_posts, name="public_page_posts"),
    path("@<slug:slug>/ask", views.ask, name="public_page_ask"),
    path("@<slug:slug>/ask/thanks", views.ask_thanks, name="public_page_ask_thanks"),
    path("@<slug:slug>/<int:entry_id>", views.entry, name="public_entry"),
    path("@<slug:slug>/feed.<str:kind>", views.feed, name="public_feed"),
    path("w/<slug:slug>/settings/page/", settings_views.page_settings, name="page_settings"),
]
