"""The inbox service part's pages, under ``w/<slug>/inbox/`` (the inbox pages' own
``inbox.urls`` shares the prefix)."""

from django.urls import path

from . import service_views as views

urlpatterns = [
    path("settings/", views.inbox_service_settings, name="inbox_service_settings"),
    path("settings/rules/<int:rule_id>/delete/", views.inbox_rule_delete, name="inbox_rule_delete"),
    path("settings/rules/<int:rule_id>/toggle/", views.inbox_rule_toggle, name="inbox_rule_toggle"),
    path("report/", views.inbox_report_page, name="inbox_report"),
    path("report.csv", views.inbox_report_csv, name="inbox_report_csv"),
]
