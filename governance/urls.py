from django.urls import path  # noqa: F401  (the report and meeting pages add theirs here)

from . import views  # noqa: F401

app_name = "governance"

urlpatterns = []
