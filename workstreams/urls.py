from django.urls import path  # noqa: F401  (pages of the workstreams app are added here)

app_name = "workstreams"

urlpatterns: list = []
