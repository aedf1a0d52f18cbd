from django.contrib import admin
from django.urls import include, path

from governance.views import MyWorkView

from . import views

admin.site.site_header = "Grip administration"
admin.site.site_title = "Grip admin"
admin.site.index_title = "Plan, governance and audit"

urlpatterns = [
    path("", MyWorkView.as_view(), name="home"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("healthz/", views.healthz, name="healthz"),
    path("", include("workstreams.urls")),
]
