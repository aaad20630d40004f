from django.apps import AppConfig


class WorkflowConfig(AppConfig):
    name = "socialdesk.workflow"
    label = "workflow"

    def ready(self) -> None:
        from socialdesk.content import rules

        from . import signals  # noqa: F401  (connects the version and workspace hooks)
        from .voice import scheduling_rule

        # What scheduling refuses at every door (content.rules says why it comes down here).
        rules.register(scheduling_rule)
