"""The notification centre and the webhook settings, included under ``w/<slug>/``."""

from django.urls import path

from . import views

urlpatterns = [
    path("notifications/", views.notification_list, name="notification_list"),
    path("notifications/read-all/", views.notification_read_all, name="notification_read_all"),
    path("notifications/email/", views.notification_email, name="notification_email"),
    path(
        "notifications/<int:notification_id>/read/",
        views.notification_read,
        name="notification_read",
    ),
    path(
        "notifications/<int:notification_id>/open/",
        views.notification_open,
        name="notification_open",
    ),
    path("settings/webhooks/", views.webhook_list, name="webhook_list"),
    path("settings/webhooks/<int:webhook_id>/test/", views.webhook_test, name="webhook_test"),
    path("settings/webhooks/<int:webhook_id>/toggle/", views.webhook_toggle, name="webhook_toggle"),
    path("settings/webhooks/<int:webhook_id>/delete/", views.webhook_delete, name="webhook_delete"),
]
