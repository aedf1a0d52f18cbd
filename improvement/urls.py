from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from governance.views import MyWorkView

from . import views
from .sign_in import offered_with_email

admin.site.site_header = "Grip administration"
admin.site.site_title = "Grip admin"
admin.site.index_title = "Plan, governance and audit"

urlpatterns = [
    path("", MyWorkView.as_view(), name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password_change/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "accounts/password_change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    # Password reset sends an e-mail: offered only where e-mail is set up (404 otherwise).
    path(
        "accounts/password_reset/",
        offered_with_email(auth_views.PasswordResetView.as_view()),
        name="password_reset",
    ),
    path(
        "accounts/password_reset/done/",
        offered_with_email(auth_views.PasswordResetDoneView.as_view()),
        name="password_reset_done",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        offered_with_email(auth_views.PasswordResetConfirmView.as_view()),
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/",
        offered_with_email(auth_views.PasswordResetCompleteView.as_view()),
        name="password_reset_complete",
    ),
    path("admin/", admin.site.urls),
    path("healthz/", views.healthz, name="healthz"),
    path("", include("workstreams.urls")),
    path("", include("governance.urls")),
]
