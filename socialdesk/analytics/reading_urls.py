from django.urls import include, path

from . import post_detail_views, views

urlpatterns = [
    path("", views.overview, name="analytics_overview"),
    path("posts/", views.posts, name="analytics_posts"),
    path("posts/<int:delivery_id>/", post_detail_views.post_detail, name="analytics_post_detail"),
    path("mix/", views.mix, name="analytics_mix"),
    path("reports/", include("socialdesk.analytics.reports_urls")),
]
