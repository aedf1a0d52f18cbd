from django.urls import path  # noqa: F401  (the report and meeting pages add theirs here)

from . import views  # noqa: F401

app_name = "governance"

urlpatterns = [
    # Four-question reports
    path("reports/", views.ReportListView.as_view(), name="report-list"),
    path("reports/start/", views.ReportStartView.as_view(), name="report-start"),
    path("reports/<int:pk>/", views.ReportDetailView.as_view(), name="report-detail"),
    path("reports/<int:pk>/edit/", views.ReportEditView.as_view(), name="report-edit"),
    path("reports/<int:pk>/compare/", views.ReportCompareView.as_view(), name="report-compare"),
    path("reports/<int:pk>/submit/", views.ReportSubmitView.as_view(), name="report-submit"),
    path("reports/<int:pk>/endorse/", views.ReportEndorseView.as_view(), name="report-endorse"),
    path("reports/<int:pk>/sign-off/", views.ReportSignOffView.as_view(), name="report-sign-off"),
    path("reports/<int:pk>/return/", views.ReportReturnView.as_view(), name="report-return"),
    path("reports/<int:pk>/reopen/", views.ReportReopenView.as_view(), name="report-reopen"),
    path("reports/<int:pk>/items/", views.ReportItemAddView.as_view(), name="report-item-add"),
    path(
        "reports/<int:pk>/items/<int:item_id>/settle/",
        views.ReportItemSettleView.as_view(),
        name="report-item-settle",
    ),
    path(
        "reports/<int:pk>/items/<int:item_id>/remove/",
        views.ReportItemRemoveView.as_view(),
        name="report-item-remove",
    ),
    path(
        "reports/<int:pk>/items/<int:item_id>/action/",
        views.ReportItemToActionView.as_view(),
        name="report-item-to-action",
    ),
]
