from django.apps import AppConfig


class ContentConfig(AppConfig):
    name = "socialdesk.content"
    label = "content"
