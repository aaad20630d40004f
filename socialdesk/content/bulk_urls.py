"""Import/export pages, mounted under ``w/<slug>/posts/bulk/``."""

from django.urls import path

from . import bulk_views

urlpatterns = [
    path("", bulk_views.bulk_page, name="bulk_page"),
    path("import/", bulk_views.bulk_import, name="bulk_import"),
    path("export.csv", bulk_views.bulk_export, name="bulk_export"),
    path("example.csv", bulk_views.bulk_example, name="bulk_example"),
]
