from django.apps import AppConfig


class ListeningConfig(AppConfig):
    name = "socialdesk.listening"
    label = "listening"
