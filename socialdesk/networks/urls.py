"""The Channels pages, included under ``w/<slug>/channels/``."""

from django.urls import path

from . import connect_views, views

urlpatterns = [
    path("", views.channel_list, name="channel_list"),
    path("bluesky/connect/", views.bluesky_connect, name="bluesky_connect"),
    path("mastodon/connect/", views.mastodon_connect, name="mastodon_connect"),
    path("connect/<str:network>/", connect_views.connect_page, name="network_connect"),
    path("choose/<str:key>/", connect_views.network_choose, name="network_choose"),
    path("<int:channel_id>/reconnect/", views.channel_reconnect, name="channel_reconnect"),
    path("<int:channel_id>/check/", views.channel_check, name="channel_check"),
    path("<int:channel_id>/pause/", views.channel_pause, name="channel_pause"),
    path("<int:channel_id>/resume/", views.channel_resume, name="channel_resume"),
    path("<int:channel_id>/disconnect/", views.channel_disconnect, name="channel_disconnect"),
]

# Mastodon redirects back to one fixed address per registration, so the callback lives
# outside any workspace (the workspace is in the flow the session keeps).
callback_urlpatterns = [
    path("mastodon/callback/", views.mastodon_callback, name="mastodon_callback"),
    # The networks of issue 16 (``connect_views``): one fixed address per network.
    path(
        "connect/<str:network>/callback/",
        connect_views.network_callback,
        name="network_callback",
    ),
]
