from django.apps import AppConfig


class PageConfig(AppConfig):
    name = "socialdesk.page"
    label = "page"
    verbose_name = "Public page"
