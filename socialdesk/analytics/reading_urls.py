from django.urls import path

from . import views

urlpatterns = [
    path("", views.overview, name="analytics_overview"),
    path("posts/", views.posts, name="analytics_posts"),
    path("mix/", views.mix, name="analytics_mix"),
]
