"""Best-time and experiment pages, included under ``w/<slug>/analytics/``."""

from django.urls import path

from . import best_time_views

urlpatterns = [
    path("best-times/", best_time_views.best_time_list, name="best_time_list"),
    path(
        "best-times/<int:channel_id>/",
        best_time_views.best_time_channel,
        name="best_time_channel",
    ),
]
