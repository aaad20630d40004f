from django.apps import AppConfig


class InboxConfig(AppConfig):
    name = "socialdesk.inbox"
    label = "inbox"

    def ready(self) -> None:
        # The engine tells how an inbox write ended; the inbox records it (inbox.answering).
        from socialdesk.publishing.states import delivery_finished

        from .answering import on_delivery_finished

        delivery_finished.connect(on_delivery_finished, dispatch_uid="inbox.answering")
