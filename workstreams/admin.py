"""The Django admin: where the programme office and administrators keep the plan.

The admin never goes round the rules the portal keeps (docs/decisions/0006):
- history pages only show: nobody, the superuser included, reverts or rewrites through them;
- an action's delivery (status, narrative, evidence, due-date moves) is read-only here; what
  the plan says about it is saved through the services, with the version check;
- who may change an action is asked about that action, as the portal asks;
- updates, due-date changes and reviews are the record: read and exported, never edited.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.contrib.auth import get_permission_codename
from django.core.exceptions import ValidationError
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
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
from .selectors import actions_updatable_by
from .services import (
    ACTION_PLAN_FIELDS,
    ActionChangedSinceOpened,
    action_create,
    action_lock,
    action_plan_change,
    action_version_check,
)

SAFE_METHODS = ("GET", "HEAD")


class HistoryPagesOnlyShow(admin.ModelAdmin):
    """An admin whose history page answers GET only (a POST there is refused with 405)."""

    def history_view(self, request, object_id, extra_context=None):
        if request.method not in SAFE_METHODS:
            return HttpResponseNotAllowed(SAFE_METHODS)
        return super().history_view(request, object_id, extra_context)


def history_pages_only_show(site: admin.AdminSite) -> None:
    """Make every admin registered on ``site`` refuse POSTs to its history page, other
    apps' admins included (django-axes's): each is registered again as a subclass that is
    also a ``HistoryPagesOnlyShow``. Run once every admin module is loaded (apps.py)."""
    for model, model_admin in list(site._registry.items()):
        if isinstance(model_admin, HistoryPagesOnlyShow):
            continue
        cls = type(model_admin)
        only_shows = type(cls.__name__, (HistoryPagesOnlyShow, cls), {"__module__": cls.__module__})
        site.unregister(model)
        site.register(model, only_shows)


class HistoryReadOnlyAdmin(HistoryPagesOnlyShow, SimpleHistoryAdmin):
    """History, field by field, that nobody rewrites.

    django-simple-history's record page saves what is POSTed to it even with its "revert"
    switched off, so a user allowed only to view history could rewrite a row (and send an
    action's version back). Here both history pages answer GET only, for everyone, and the
    record page shows every field read-only.
    """

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method not in SAFE_METHODS:
            return HttpResponseNotAllowed(SAFE_METHODS)
        request.grip_reading_history = True
        return super().history_form_view(request, object_id, version_id, extra_context)

    def has_change_history_permission(self, request, obj=None):
        return False

    def revert_disabled(self, request, obj=None):
        return True

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if getattr(request, "grip_reading_history", False):
            readonly += [
                field.name
                for field in self.opts.get_fields()
                if (field.concrete or field.many_to_many)
                and field.editable
                and not field.auto_created
                and field.name not in readonly
            ]
        return readonly


class AuditedAdmin(ImportExportModelAdmin, HistoryReadOnlyAdmin):
    """Admin with history (field by field) and spreadsheet import/export by natural keys."""


class ReadOnlyAdmin(HistoryReadOnlyAdmin):
    """Read here, with its history; never added, changed or deleted here, by anyone."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class AppendOnlyAdmin(ExportMixin, ReadOnlyAdmin):
    """For the record of what people did (updates, due-date changes, reviews): read and
    exported; never added, changed or deleted here, by anyone. They are made by the portal's
    services, with their author and time, and the database protects them (PROTECT)."""


# The name the admin used before append-only meant "no add, change or delete" here.
AuditedExportOnlyAdmin = AppendOnlyAdmin


class _RowsTheyMayChange(ChangeList):
    """A changelist narrowed to the rows the user may change, for a user who may change
    some rows but was not given the right to read them all (see ``ObjectPermissionAdmin``)."""

    def get_queryset(self, request, exclude_parameters=None):
        self.root_queryset = self.model_admin.rows_for_changelist(request, self.root_queryset)
        return super().get_queryset(request, exclude_parameters)


class ObjectPermissionAdmin(admin.ModelAdmin):
    """Asks Django about *this* row (``user.has_perm(perm, obj)``), as the portal does, where
    the rules library answers per object (governance/rules.py), not "may they change any?".

    - change and delete: the model permission (the right to use this admin page) and the
      permission for this row;
    - view: the model's "view" permission reads every row (read-only); without it, a user
      sees only the rows they may change, and any other row is refused (403);
    - the changelist lists only what they may open.
    """

    def _perm(self, action: str) -> str:
        return f"{self.opts.app_label}.{get_permission_codename(action, self.opts)}"

    def may_change(self, request, obj) -> bool:
        return request.user.has_perm(self._perm("change"), obj)

    def reads_every_row(self, request) -> bool:
        return request.user.has_perm(self._perm("view"))

    def rows_they_may_change(self, request, queryset):
        """``queryset`` narrowed to the rows ``request.user`` may change (per subclass)."""
        return queryset.none()

    def rows_for_changelist(self, request, queryset):
        if self.reads_every_row(request):
            return queryset
        return self.rows_they_may_change(request, queryset)

    def get_changelist(self, request, **kwargs):
        return _RowsTheyMayChange

    def has_change_permission(self, request, obj=None):
        if not super().has_change_permission(request, obj):
            return False
        return obj is None or self.may_change(request, obj)

    def has_delete_permission(self, request, obj=None):
        if not super().has_delete_permission(request, obj):
            return False
        return obj is None or self.may_change(request, obj)

    def has_view_permission(self, request, obj=None):
        if obj is None or self.reads_every_row(request):
            return super().has_view_permission(request, obj)
        return self.has_change_permission(request, obj)


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
    list_display = ["reference", "plan", "source", "date", "theme", "text"]
    list_filter = ["plan", "theme", "source"]
    search_fields = ["reference", "text", "theme"]
    date_hierarchy = "date"


class ActionAdminForm(forms.ModelForm):
    """The admin's form of an action, carrying the version it was opened on (hidden), so a
    save over someone else's later change is refused, as the update form's is."""

    based_on_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Action
        # The admin chooses the fields of each page (``ActionAdmin.get_fields``).
        fields = [*ACTION_PLAN_FIELDS, "findings"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None and "based_on_version" in self.fields:
            self.fields["based_on_version"].initial = self.instance.version

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk is None or "based_on_version" not in self.fields:
            return cleaned
        # Locked until the admin's transaction ends, so the check still holds when the
        # service saves (it locks and checks again).
        current = action_lock(self.instance)
        try:
            action_version_check(action=current, based_on_version=cleaned.get("based_on_version"))
        except ActionChangedSinceOpened as stale:
            # The form comes back with this person's entries, now based on the current
            # version: saving again is a deliberate choice, as on the portal's 409 page.
            self.data = self.data.copy()
            self.data[self.add_prefix("based_on_version")] = current.version
            raise ValidationError(
                stale.explain(since="you opened it")
                + " Nothing was saved. Check their changes below, then save again if yours "
                "should still apply.",
                code="stale",
            ) from None
        return cleaned


# What the admin shows of an action but never saves: its delivery, which moves only through
# the portal's update form and the chair's decisions (services.action_update_record ...).
ACTION_DELIVERY_FIELDS = [
    "status",
    "progress_narrative",
    "evidence_of_impact",
    "evidence_accepted_at",
    "evidence_accepted_by",
    "revised_due_date",
    "revised_due_reason",
]


@admin.register(Action)
class ActionAdmin(ObjectPermissionAdmin, AuditedAdmin):
    """Actions: the programme office adds them and keeps what the plan says about them
    (``ACTION_PLAN_FIELDS`` and findings), through the services and the version check."""

    form = ActionAdminForm
    # The plan's columns (imported and exported by natural keys), and the action tracker as
    # the portal exports it (names, BRAG, the last update's words), which is export only.
    resource_classes = [resources.ActionResource, resources.ActionTrackerResource]
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
    # Only people who lead actions, not every user (the system user among them).
    list_filter = [
        "plan",
        "workstream",
        "status",
        "priority",
        ("lead_officer", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["reference", "title", "description", "progress_narrative"]
    list_select_related = ["workstream", "lead_officer"]
    autocomplete_fields = ["lead_officer"]
    filter_horizontal = ["findings"]
    date_hierarchy = "due_date"
    history_list_display = ["status"]

    def get_import_resource_classes(self, request):
        return [resources.ActionResource]

    ADD_FIELDS = [
        "plan",
        "workstream",
        "priority",
        "reference",
        "title",
        "description",
        "lead_officer",
        "due_date",
        "findings",
    ]
    CHANGE_FIELDSETS = [
        (
            None,
            {
                "fields": [
                    "plan",
                    "workstream",
                    "reference",
                    *ACTION_PLAN_FIELDS,
                    "findings",
                    "due_date",
                    "version",
                    "based_on_version",
                ]
            },
        ),
        (
            "Delivery",
            {
                "fields": [*ACTION_DELIVERY_FIELDS, "rag_label"],
                "description": "These change only on the action's update form in the portal, "
                "where the task group chair decides due-date moves and accepts evidence, "
                "and every update is kept with its author.",
            },
        ),
    ]

    @admin.display(description="BRAG")
    def rag_label(self, action):
        return action.rag_label

    def rows_they_may_change(self, request, queryset):
        return actions_updatable_by(request.user, queryset)

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [(None, {"fields": self.ADD_FIELDS})]
        return self.CHANGE_FIELDSETS

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is None:
            return readonly
        settled = ["plan", "workstream", "reference", "due_date", *ACTION_DELIVERY_FIELDS]
        return [*readonly, *settled, "rag_label", "version"]

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        live = Plan.objects.live().first()
        if live is not None:
            initial.setdefault("plan", live.pk)
        return initial

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is not None and "findings" in form.base_fields:
            # An action answers its own plan's findings (references repeat from plan to plan).
            form.base_fields["findings"].queryset = Finding.objects.filter(plan=obj.plan_id)
        return form

    def save_model(self, request, obj, form, change):
        """Saved by the services, as the portal saves: the permission for this action, the
        version check, one transaction, the admin user recorded in the history."""
        data = form.cleaned_data
        try:
            if change:
                saved = action_plan_change(
                    action=obj,
                    by=request.user,
                    based_on_version=data["based_on_version"],
                    findings=data["findings"],
                    **{name: data[name] for name in ACTION_PLAN_FIELDS},
                )
            else:
                saved = action_create(
                    by=request.user, **{name: data[name] for name in self.ADD_FIELDS}
                )
        except ActionChangedSinceOpened as stale:  # the form checked; a race lost here
            raise ValidationError(stale.explain()) from None
        obj.pk = saved.pk
        obj._state.adding = False
        obj.refresh_from_db()

    def save_related(self, request, form, formsets, change):
        # The findings were linked by the service (recorded at the new version); saving them
        # again from the form would write history rows of their own.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ValidationError as error:
            # Refused by a service after the form's checks passed (a save raced this one):
            # nothing was saved (the admin's transaction rolled back); say so.
            self.message_user(request, " ".join(error.messages), messages.ERROR)
            return HttpResponseRedirect(request.path)


@admin.register(ActionUpdate)
class ActionUpdateAdmin(AppendOnlyAdmin):
    """Monthly updates are recorded by the update form, with their author and date."""

    resource_classes = [resources.ActionUpdateResource]
    list_display = ["action", "period", "status", "created_by", "created_at"]
    list_filter = ["status", "period", "action__workstream"]
    search_fields = ["action__reference", "progress_narrative", "next_steps"]
    list_select_related = ["action", "created_by"]
    date_hierarchy = "created_at"


@admin.register(DueDateChange)
class DueDateChangeAdmin(AppendOnlyAdmin):
    """Requests to move a due date are decided on the action page, by the chair; here they
    are only read and exported."""

    resource_classes = [resources.DueDateChangeResource]
    list_display = ["action", "from_date", "to_date", "requested_by", "decision", "decided_by"]
    list_filter = ["decision", "action__workstream"]
    search_fields = ["action__reference", "reason", "decision_comment"]
    list_select_related = ["action", "requested_by", "decided_by"]


class IndicatorValueInline(admin.TabularInline):
    model = IndicatorValue
    extra = 0


@admin.register(Indicator)
class IndicatorAdmin(AuditedAdmin):
    resource_classes = [resources.IndicatorResource]
    list_display = ["code", "name", "workstream", "unit", "target", "tolerance", "higher_is_better"]
    list_filter = ["plan", "workstream", "unit"]
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
