from django.apps import AppConfig


class WorkflowConfig(AppConfig):
    name = "socialdesk.workflow"
    label = "workflow"

    def ready(self) -> None:
        from . import signals  # noqa: F401  (connects the version and workspace hooks)
