"""The Channels pages, included under ``w/<slug>/channels/``."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.channel_list, name="channel_list"),
    path("bluesky/connect/", views.bluesky_connect, name="bluesky_connect"),
    path("<int:channel_id>/reconnect/", views.channel_reconnect, name="channel_reconnect"),
    path("<int:channel_id>/disconnect/", views.channel_disconnect, name="channel_disconnect"),
]
