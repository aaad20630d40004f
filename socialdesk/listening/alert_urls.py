"""Listening alert pages, under ``w/<slug>/listening/alerts/``; the mention actions and the
leads, under ``w/<slug>/listening/`` (``action_urlpatterns``)."""

from django.urls import path

from . import alert_views as views

urlpatterns = [
    path("", views.alert_list, name="listening_alerts"),
    path("<int:alert_id>/", views.alert_detail, name="listening_alert"),
    path("<int:alert_id>/seen/", views.alert_seen, name="listening_alert_seen"),
    path(
        "topics/<int:topic_id>/",
        views.alert_settings,
        name="listening_alert_settings",
    ),
]

action_urlpatterns = [
    path(
        "mentions/<int:mention_id>/answer/", views.mention_answer, name="listening_mention_answer"
    ),
    path("mentions/<int:mention_id>/idea/", views.mention_idea, name="listening_mention_idea"),
    path("mentions/<int:mention_id>/lead/", views.mention_lead, name="listening_mention_lead"),
    path("leads/", views.lead_list, name="listening_leads"),
    path("leads.csv", views.lead_csv, name="listening_leads_csv"),
]
