from django.contrib import admin
from import_export.admin import ExportMixin, ImportExportModelAdmin
from simple_history.admin import SimpleHistoryAdmin

from . import resources
from .models import (
    Action,
    ActionUpdate,
    DueDateChange,
    Finding,
    Indicator,
    IndicatorValue,
    Plan,
    Priority,
    ServiceArea,
    WorkforceSnapshot,
    Workstream,
)


class AuditedAdmin(ImportExportModelAdmin, SimpleHistoryAdmin):
    """Admin with history (field by field) and spreadsheet import/export by natural keys."""


class AuditedExportOnlyAdmin(ExportMixin, SimpleHistoryAdmin):
    """For append-only records (updates, reviews): exported, never imported or edited."""

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Plan)
class PlanAdmin(AuditedAdmin):
    resource_classes = [resources.PlanResource]
    list_display = ["title", "council", "period_start", "period_end", "status"]
    list_filter = ["status"]
    search_fields = ["title", "council"]


@admin.register(Priority)
class PriorityAdmin(AuditedAdmin):
    resource_classes = [resources.PriorityResource]
    list_display = ["number", "title", "plan"]
    list_filter = ["plan"]
    search_fields = ["title", "description"]


class ActionInline(admin.TabularInline):
    model = Action
    fields = ["reference", "title", "lead_officer", "due_date", "status"]
    readonly_fields = fields
    show_change_link = True
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Workstream)
class WorkstreamAdmin(AuditedAdmin):
    resource_classes = [resources.WorkstreamResource]
    list_display = ["code", "name", "senior_responsible_officer", "plan"]
    list_filter = ["plan"]
    search_fields = ["code", "name", "scope"]
    inlines = [ActionInline]


@admin.register(Finding)
class FindingAdmin(AuditedAdmin):
    resource_classes = [resources.FindingResource]
    list_display = ["reference", "source", "date", "theme", "text"]
    list_filter = ["theme", "source"]
    search_fields = ["reference", "text", "theme"]
    date_hierarchy = "date"


@admin.register(Action)
class ActionAdmin(AuditedAdmin):
    resource_classes = [resources.ActionResource]
    list_display = [
        "reference",
        "title",
        "workstream",
        "lead_officer",
        "due_date",
        "revised_due_date",
        "status",
        "rag_label",
    ]
    list_filter = ["plan", "workstream", "status", "priority", "lead_officer"]
    search_fields = ["reference", "title", "description", "progress_narrative"]
    list_select_related = ["workstream", "lead_officer"]
    autocomplete_fields = ["lead_officer"]
    filter_horizontal = ["findings"]
    date_hierarchy = "due_date"
    history_list_display = ["status"]

    @admin.display(description="BRAG")
    def rag_label(self, action):
        return action.rag_label


@admin.register(ActionUpdate)
class ActionUpdateAdmin(AuditedExportOnlyAdmin):
    resource_classes = [resources.ActionUpdateResource]
    list_display = ["action", "period", "status", "created_by", "created_at"]
    list_filter = ["status", "period", "action__workstream"]
    search_fields = ["action__reference", "progress_narrative", "next_steps"]
    list_select_related = ["action", "created_by"]
    date_hierarchy = "created_at"


@admin.register(DueDateChange)
class DueDateChangeAdmin(SimpleHistoryAdmin):
    """Requests to move a due date are decided on the action page, by the chair; here they
    are only read."""

    list_display = ["action", "from_date", "to_date", "requested_by", "decision", "decided_by"]
    list_filter = ["decision", "action__workstream"]
    search_fields = ["action__reference", "reason", "decision_comment"]
    list_select_related = ["action", "requested_by", "decided_by"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class IndicatorValueInline(admin.TabularInline):
    model = IndicatorValue
    extra = 0


@admin.register(Indicator)
class IndicatorAdmin(AuditedAdmin):
    resource_classes = [resources.IndicatorResource]
    list_display = ["code", "name", "workstream", "unit", "target", "tolerance", "higher_is_better"]
    list_filter = ["workstream", "unit"]
    search_fields = ["code", "name", "description"]
    inlines = [IndicatorValueInline]


@admin.register(IndicatorValue)
class IndicatorValueAdmin(AuditedAdmin):
    resource_classes = [resources.IndicatorValueResource]
    list_display = ["indicator", "period", "value", "rag"]
    list_filter = ["indicator__workstream", "indicator"]
    search_fields = ["indicator__code", "indicator__name", "note"]
    list_select_related = ["indicator"]


@admin.register(ServiceArea)
class ServiceAreaAdmin(AuditedAdmin):
    resource_classes = [resources.ServiceAreaResource]
    list_display = ["name"]
    search_fields = ["name"]


@admin.register(WorkforceSnapshot)
class WorkforceSnapshotAdmin(AuditedAdmin):
    resource_classes = [resources.WorkforceSnapshotResource]
    list_display = [
        "service_area",
        "as_of",
        "total",
        "locum",
        "salaried",
        "in_post_before_cutoff",
        "joined_since_cutoff",
    ]
    list_filter = ["as_of", "service_area"]
    search_fields = ["service_area__name"]
    list_select_related = ["service_area"]
