from django.apps import AppConfig
from django.db.backends.signals import connection_created


class WebConfig(AppConfig):
    name = "socialdesk.web"
    label = "web"

    def ready(self) -> None:
        from socialdesk.database import tune_connection

        connection_created.connect(tune_connection, dispatch_uid="socialdesk.tune_connection")
