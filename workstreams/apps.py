from django.apps import AppConfig


class WorkstreamsConfig(AppConfig):
    name = "workstreams"
    verbose_name = "Plan and delivery"

    def ready(self):
        from django.contrib import admin

        from .admin import history_pages_only_show

        # Every admin module is loaded by now (the admin app, first in INSTALLED_APPS, loads
        # them all when it is ready): every admin history page only shows (0006).
        history_pages_only_show(admin.site)
