"""Best-time and experiment pages, included under ``w/<slug>/analytics/``."""

from django.urls import path

from . import best_time_views, experiments_views

urlpatterns = [
    path("best-times/", best_time_views.best_time_list, name="best_time_list"),
    path(
        "best-times/suggestions/",
        best_time_views.best_time_suggestions,
        name="best_time_suggestions",
    ),
    path(
        "best-times/<int:channel_id>/",
        best_time_views.best_time_channel,
        name="best_time_channel",
    ),
    path("experiments/", experiments_views.experiment_list, name="experiment_list"),
    path("experiments/new/", experiments_views.experiment_create, name="experiment_create"),
    path(
        "experiments/<int:experiment_id>/",
        experiments_views.experiment_detail,
        name="experiment_detail",
    ),
    path(
        "experiments/<int:experiment_id>/conclude/",
        experiments_views.experiment_conclude,
        name="experiment_conclude",
    ),
    path(
        "experiments/<int:experiment_id>/stop/",
        experiments_views.experiment_stop,
        name="experiment_stop",
    ),
    path(
        "experiments/<int:experiment_id>/requeue/",
        experiments_views.experiment_requeue,
        name="experiment_requeue",
    ),
]
