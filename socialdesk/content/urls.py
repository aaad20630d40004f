"""The composer's endpoints and settings page, mounted under ``w/<slug>/composer/``."""

from django.urls import path

from . import views

urlpatterns = [
    path("autosave/", views.composer_autosave, name="composer_autosave"),
    path("discard/", views.composer_discard, name="composer_discard"),
    path("utm/", views.composer_utm, name="composer_utm"),
    path("settings/", views.composer_settings, name="composer_settings"),
]
