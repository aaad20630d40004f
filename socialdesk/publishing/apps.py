from django.apps import AppConfig


class PublishingConfig(AppConfig):
    name = "socialdesk.publishing"
    label = "publishing"
