from django.urls import include, path

from . import views

urlpatterns = [
    path("", views.overview, name="analytics_overview"),
    path("posts/", views.posts, name="analytics_posts"),
    path("mix/", views.mix, name="analytics_mix"),
    path("reports/", include("socialdesk.analytics.reports_urls")),
]
