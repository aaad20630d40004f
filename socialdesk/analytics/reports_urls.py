"""Report pages, included under ``w/<slug>/analytics/reports/``."""

from django.urls import path

from . import reports_views

urlpatterns = [
    path("", reports_views.report_list, name="report_list"),
    path("new/", reports_views.report_create, name="report_create"),
    path("<int:report_id>/", reports_views.report_detail, name="report_detail"),
    path("<int:report_id>/report.pdf", reports_views.report_pdf, name="report_pdf"),
    path("<int:report_id>/edit/", reports_views.report_edit, name="report_edit"),
    path("<int:report_id>/delete/", reports_views.report_delete, name="report_delete"),
    path("<int:report_id>/send/", reports_views.report_send, name="report_send"),
]
