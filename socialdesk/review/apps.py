from django.apps import AppConfig


class ReviewConfig(AppConfig):
    name = "socialdesk.review"
    label = "review"
