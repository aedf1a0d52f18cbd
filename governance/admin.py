from axes import admin as axes_admin
from axes.handlers.proxy import AxesProxyHandler
from axes.models import AccessAttempt
from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.template.response import TemplateResponse
from import_export.admin import ExportMixin

from workstreams.admin import (
    AppendOnlyAdmin,
    AuditedAdmin,
    HistoryReadOnlyAdmin,
    ReadOnlyAdmin,
)

from . import resources, services
from .models import (
    Body,
    Decision,
    Meeting,
    Membership,
    ProgressReport,
    Reminder,
    ReportItem,
    Review,
    Risk,
)
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


class DecisionInline(admin.TabularInline):
    model = Decision
    fk_name = "meeting"
    extra = 0
    can_delete = False
    fields = readonly_fields = ["text", "owner", "due_date", "closed_at", "closing_note"]

    def has_add_permission(self, request, obj=None):
        return False


class KeptInThePortalAdmin(AppendOnlyAdmin):
    """Meetings, their decisions and the risk registers are kept on the portal's pages,
    through services that check who may (a body's chair or secretary, a workstream's risk
    keepers, the programme office) and refuse a stale form. Here they are read and exported,
    never edited round those checks."""


@admin.register(Meeting)
class MeetingAdmin(KeptInThePortalAdmin):
    resource_classes = [resources.MeetingResource]
    list_display = ["body", "date", "period"]
    list_filter = ["body"]
    search_fields = ["minutes", "decisions__text"]
    date_hierarchy = "date"
    filter_horizontal = ["attendees"]
    inlines = [DecisionInline]


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdmin):
    """Kept on the meeting's page in the portal (see ``KeptInThePortalAdmin``)."""

    list_display = ["text", "meeting", "owner", "due_date", "closed_at"]
    list_filter = ["meeting__body"]
    search_fields = ["text", "closing_note"]
    list_select_related = ["meeting__body", "owner", "closed_at"]


class ReportItemInline(admin.TabularInline):
    """Items change on the report's page, in a draft, through the services."""

    model = ReportItem
    fk_name = "report"
    extra = 0
    can_delete = False
    fields = readonly_fields = ["description", "owner", "due_date", "outcome", "carried_from"]

    def has_add_permission(self, request, obj=None):
        return False


class ReviewInline(admin.TabularInline):
    model = Review
    extra = 0
    can_delete = False
    readonly_fields = ["step", "by", "at", "comment", "meeting"]

    def has_add_permission(self, request, obj=None):
        return False


class StepCommentForm(forms.Form):
    comment = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 60}))


def _workflow_action(step: str, service, description: str, *, needs_comment: bool = False):
    """An admin action that runs one workflow step on each selected report through the same
    service as the portal (permission, state and lock included), reporting each refusal."""

    def run(modeladmin, request, queryset):
        comment = ""
        if needs_comment:
            form = StepCommentForm(request.POST if "apply" in request.POST else None)
            if not form.is_valid():
                context = {
                    **modeladmin.admin_site.each_context(request),
                    "title": description,
                    "form": form,
                    "queryset": queryset,
                    "action": step,
                    "opts": modeladmin.model._meta,
                    "selected": request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME),
                }
                return TemplateResponse(request, "admin/governance/report_step.html", context)
            comment = form.cleaned_data["comment"]
        for report in queryset:
            try:
                kwargs = {"comment": comment} if needs_comment else {}
                service(report=report, by=request.user, **kwargs)
            except (PermissionDenied, ValidationError) as error:
                text = " ".join(getattr(error, "messages", [str(error)]))
                modeladmin.message_user(request, f"{report}: {text}", messages.ERROR)
            else:
                modeladmin.message_user(request, f"{report}: done.", messages.SUCCESS)
        return None

    run.__name__ = step
    return admin.action(description=description, permissions=["change"])(run)


@admin.register(ProgressReport)
class ProgressReportAdmin(ExportMixin, HistoryReadOnlyAdmin):
    """Reports are written on their page in the portal. Here they are read, and moved on
    only by the workflow's steps (the same services): nothing edits a status directly."""

    resource_classes = [resources.ProgressReportResource]
    list_display = ["__str__", "workstream", "period", "status", "checksum"]
    list_filter = ["status", "period", "workstream"]
    search_fields = ["working_well", "how_we_know", "worried_about"]
    list_select_related = ["workstream"]
    inlines = [ReportItemInline, ReviewInline]
    actions = [
        _workflow_action("submit", services.report_submit, "Submit the selected reports"),
        _workflow_action("endorse", services.report_endorse, "Endorse the selected reports"),
        _workflow_action("sign_off", services.report_sign_off, "Sign off the selected reports"),
        _workflow_action(
            "return_to_author",
            services.report_return,
            "Return the selected reports to their authors",
            needs_comment=True,
        ),
        _workflow_action(
            "reopen", services.report_reopen, "Reopen the selected reports", needs_comment=True
        ),
    ]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.opts.concrete_fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ReportItem)
class ReportItemAdmin(ReadOnlyAdmin):
    """Lines change on the report's page, in a draft, through the services."""

    list_display = ["description", "report", "owner", "due_date", "outcome"]
    list_filter = ["outcome"]
    search_fields = ["description"]
    list_select_related = ["report__workstream", "owner"]


@admin.register(Reminder)
class ReminderAdmin(ReadOnlyAdmin):
    """What ``send_reminders`` sent, to whom and when: a record, read only."""

    list_display = ["user", "kind", "sent_on", "sent_at"]
    list_filter = ["kind", "sent_on"]
    search_fields = ["user__username", "about"]
    list_select_related = ["user"]


@admin.register(Review)
class ReviewAdmin(AppendOnlyAdmin):
    resource_classes = [resources.ReviewResource]
    list_display = ["report", "step", "by", "at"]
    list_filter = ["step"]
    search_fields = ["comment", "by__username"]
    list_select_related = ["report__workstream", "by"]


@admin.register(Risk)
class RiskAdmin(KeptInThePortalAdmin):
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
