from django.urls import path  # noqa: F401  (the report and meeting pages add theirs here)

from . import views  # noqa: F401

app_name = "governance"

urlpatterns = [
    path("dashboard/", views.DashboardView.as_view(), name="dashboard"),
    path("exports/board-pack.xlsx", views.BoardPackView.as_view(), name="board-pack"),
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
    # Meetings and their decisions
    path("meetings/", views.MeetingListView.as_view(), name="meeting-list"),
    path("meetings/record/", views.MeetingCreateView.as_view(), name="meeting-record"),
    path("meetings/<int:pk>/", views.MeetingDetailView.as_view(), name="meeting-detail"),
    path("meetings/<int:pk>/edit/", views.MeetingEditView.as_view(), name="meeting-edit"),
    path(
        "meetings/<int:pk>/decisions/add/",
        views.DecisionAddView.as_view(),
        name="decision-add",
    ),
    path(
        "meetings/<int:pk>/decisions/<int:decision_id>/close/",
        views.DecisionCloseView.as_view(),
        name="decision-close",
    ),
    # The risk registers
    path("risks/", views.RiskListView.as_view(), name="risk-list"),
    path("risks/add/", views.RiskCreateView.as_view(), name="risk-add"),
    path("risks/<int:pk>/", views.RiskDetailView.as_view(), name="risk-detail"),
    path("risks/<int:pk>/change/", views.RiskChangeView.as_view(), name="risk-change"),
    path("risks/<int:pk>/close/", views.RiskCloseView.as_view(), name="risk-close"),
]
