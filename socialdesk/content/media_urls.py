"""The media library's pages, mounted under ``w/<slug>/media/`` by ``web.urls``."""

from django.urls import path

from . import media_views

urlpatterns = [
    path("", media_views.media_library, name="media_library"),
    path("upload/", media_views.media_upload, name="media_upload"),
    path("<int:media_id>/", media_views.media_detail, name="media_detail"),
    path("<int:media_id>/alt-text/", media_views.media_alt_text, name="media_alt_text"),
    path("<int:media_id>/delete/", media_views.media_delete, name="media_delete"),
]
