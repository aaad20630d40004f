"""The Listening pages, under ``w/<slug>/listening/``."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.topic_list, name="listening_topics"),
    path("topics/new/", views.topic_create, name="listening_topic_new"),
    path("topics/<int:topic_id>/", views.topic_detail, name="listening_topic"),
    path("topics/<int:topic_id>/edit/", views.topic_edit, name="listening_topic_edit"),
    path("topics/<int:topic_id>/toggle/", views.topic_toggle, name="listening_topic_toggle"),
    path(
        "topics/<int:topic_id>/export/<slug:what>.csv",
        views.topic_csv,
        name="listening_topic_csv",
    ),
    path("sources/", views.sources, name="listening_sources"),
]
