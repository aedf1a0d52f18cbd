from django.urls import path

from . import views

app_name = "workstreams"

urlpatterns = [
    path("actions/", views.ActionListView.as_view(), name="action-list"),
    path(
        "actions/export.xlsx",
        views.ActionExportView.as_view(file_format="xlsx"),
        name="action-export-xlsx",
    ),
    path(
        "actions/export.csv",
        views.ActionExportView.as_view(file_format="csv"),
        name="action-export-csv",
    ),
    path("actions/<str:reference>/", views.ActionDetailView.as_view(), name="action-detail"),
    path(
        "actions/<str:reference>/history/",
        views.ActionHistoryView.as_view(),
        name="action-history",
    ),
    path("actions/<str:reference>/update/", views.ActionUpdateView.as_view(), name="action-update"),
    path(
        "actions/<str:reference>/due-date/<int:change_id>/decide/",
        views.DueDateDecisionView.as_view(),
        name="due-date-decide",
    ),
    path(
        "actions/<str:reference>/evidence/accept/",
        views.EvidenceAcceptView.as_view(),
        name="evidence-accept",
    ),
    path("workstreams/<str:code>/", views.WorkstreamDetailView.as_view(), name="workstream-detail"),
    path("imports/actions/", views.ImportUploadView.as_view(), name="import"),
    path("imports/actions/<uuid:token>/", views.ImportPreviewView.as_view(), name="import-preview"),
    path(
        "imports/actions/<uuid:token>/confirm/",
        views.ImportConfirmView.as_view(),
        name="import-confirm",
    ),
    path("imports/actions/<uuid:token>/done/", views.ImportDoneView.as_view(), name="import-done"),
]
