from axes import admin as axes_admin
from axes.handlers.proxy import AxesProxyHandler
from axes.models import AccessAttempt
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from import_export.admin import ExportMixin

from workstreams.admin import AppendOnlyAdmin, AuditedAdmin, HistoryReadOnlyAdmin

from . import resources
from .models import Body, Meeting, Membership, ProgressReport, ReportItem, Review, Risk
from .services import people_deactivate


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Body)
class BodyAdmin(AuditedAdmin):
    resource_classes = [resources.BodyResource]
    list_display = ["name", "kind", "workstream", "reports_to", "chair_title", "meets"]
    list_filter = ["kind"]
    search_fields = ["name", "purpose", "chair_title"]
    list_select_related = ["workstream", "reports_to"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(AuditedAdmin):
    resource_classes = [resources.MembershipResource]
    list_display = ["user", "body", "role", "title"]
    list_filter = ["role", "body"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "title"]
    list_select_related = ["user", "body"]
    autocomplete_fields = ["user"]


@admin.register(Meeting)
class MeetingAdmin(AuditedAdmin):
    resource_classes = [resources.MeetingResource]
    list_display = ["body", "date"]
    list_filter = ["body"]
    search_fields = ["minutes", "decisions"]
    date_hierarchy = "date"


class ReportItemInline(admin.TabularInline):
    model = ReportItem
    extra = 0
    autocomplete_fields = ["owner"]


class ReviewInline(admin.TabularInline):
    model = Review
    extra = 0
    can_delete = False
    readonly_fields = ["step", "by", "at", "comment", "meeting"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ProgressReport)
class ProgressReportAdmin(ExportMixin, HistoryReadOnlyAdmin):
    resource_classes = [resources.ProgressReportResource]
    list_display = ["__str__", "workstream", "period", "status"]
    list_filter = ["status", "period", "workstream"]
    search_fields = ["working_well", "how_we_know", "worried_about"]
    list_select_related = ["workstream"]
    # The status moves only through the workflow (submit, endorse, sign off), never by hand.
    readonly_fields = ["status", "snapshot"]
    inlines = [ReportItemInline, ReviewInline]


@admin.register(ReportItem)
class ReportItemAdmin(HistoryReadOnlyAdmin):
    list_display = ["description", "report", "owner", "due_date", "outcome"]
    list_filter = ["outcome"]
    search_fields = ["description"]
    list_select_related = ["report__workstream", "owner"]
    autocomplete_fields = ["owner"]


@admin.register(Review)
class ReviewAdmin(AppendOnlyAdmin):
    resource_classes = [resources.ReviewResource]
    list_display = ["report", "step", "by", "at"]
    list_filter = ["step"]
    search_fields = ["comment", "by__username"]
    list_select_related = ["report__workstream", "by"]


@admin.register(Risk)
class RiskAdmin(ExportMixin, HistoryReadOnlyAdmin):
    resource_classes = [resources.RiskResource]
    list_display = ["title", "workstream", "owner", "likelihood", "impact", "escalated", "status"]
    list_filter = ["status", "escalated", "workstream"]
    search_fields = ["title", "description", "mitigation"]
    list_select_related = ["workstream", "owner"]
    autocomplete_fields = ["owner"]


# --- People ----------------------------------------------------------------------------------

User = get_user_model()


@admin.action(
    description="Deactivate the selected people (they can no longer sign in)",
    permissions=["change"],
)
def deactivate(modeladmin, request, queryset):
    try:
        done = people_deactivate(people=queryset, by=request.user)
    except ValidationError as error:
        modeladmin.message_user(request, " ".join(error.messages), messages.ERROR)
        return
    names = ", ".join(person.get_username() for person in done) or "nobody (already inactive)"
    modeladmin.message_user(request, f"Deactivated: {names}.", messages.SUCCESS)


admin.site.unregister(User)


@admin.register(User)
class PersonAdmin(HistoryReadOnlyAdmin, UserAdmin):
    """People who leave are deactivated, never deleted: their name stays on everything they
    did (the database refuses to delete anyone named in the history). Every change to a
    person, their groups (the programme office group grants rights) and their permissions
    is in their history."""

    actions = [deactivate]
    list_display = [*UserAdmin.list_display, "is_active"]
    history_list_display = ["is_active", "is_staff", "is_superuser"]

    def has_delete_permission(self, request, obj=None):
        return False


admin.site.unregister(Group)


@admin.register(Group)
class RightsGroupAdmin(HistoryReadOnlyAdmin, GroupAdmin):
    """Groups grant rights (the programme office group among them): what each grants is in
    the history."""


class LockoutRecordsAdmin(axes_admin.AccessAttemptAdmin):
    """django-axes's failed sign-ins. Its "clean up expired attempts" action reads the time
    axes stamps on sign-in requests only, so on an admin request it failed (a 500); here it
    stamps the request first, and only who may delete the records may run it."""

    @admin.action(description="Clean up expired attempts", permissions=["delete"])
    def cleanup_expired_attempts(self, request, queryset):
        AxesProxyHandler.update_request(request)
        return super().cleanup_expired_attempts(request, queryset)


admin.site.unregister(AccessAttempt)
admin.site.register(AccessAttempt, LockoutRecordsAdmin)
