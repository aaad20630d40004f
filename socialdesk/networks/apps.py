from django.apps import AppConfig


class NetworksConfig(AppConfig):
    name = "socialdesk.networks"
    label = "networks"
