"""django-import-export resources for the plan, keyed by natural keys (workstream code,
action reference, username), never database ids.

A plan's spreadsheet names workstreams by code, priorities by number, findings by reference
and indicators by code, which are unique only within a plan, so the plan-scoped resources
take the plan they work on (the live plan unless told otherwise). Bulk mode stays off: it
sends no signals, so it would write no history.

Every export escapes what a spreadsheet would run as a formula, and every import reads the
escape back (``GripResource``). An action's row carries its version: an import refuses a row
whose action changed in Grip since the file was exported (``ActionResource``).
"""

import re

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from import_export import fields, resources, widgets
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from .audit import display_name
from .models import (
    Action,
    ActionStatus,
    ActionUpdate,
    DueDateChange,
    Finding,
    Indicator,
    IndicatorValue,
    Plan,
    Priority,
    Rag,
    ServiceArea,
    WorkforceSnapshot,
    Workstream,
)
from .selectors import action_rows, with_last_update
from .services import ActionChangedSinceOpened, action_version_check, link_findings, set_outcome
from .templatetags.grip import brag_words


class NaturalKeyWidget(widgets.ForeignKeyWidget):
    """A foreign key named by a natural key, with a message a spreadsheet user understands.

    ``scope`` narrows the candidates (e.g. to one plan's workstreams).
    """

    def __init__(self, model, field, *, noun, scope=None, **kwargs):
        self.noun = noun
        self.scope = scope
        super().__init__(model, field, **kwargs)

    def get_queryset(self, value, row, *args, **kwargs):
        queryset = self.model.objects.all()
        return self.scope(queryset) if self.scope else queryset

    def clean(self, value, row=None, **kwargs):
        try:
            return super().clean(value, row, **kwargs)
        except self.model.DoesNotExist:
            raise ValueError(f"{self.noun} '{value}' does not exist.") from None


class NaturalKeysWidget(widgets.ManyToManyWidget):
    """Many related rows named by natural keys ("F-01;F-03"), narrowed by ``scope`` (e.g. to
    one plan's findings); a key that names nothing is an error, not silently dropped."""

    def __init__(self, model, field, *, noun, scope=None, separator=";", **kwargs):
        self.noun = noun
        self.scope = scope
        super().__init__(model, separator=separator, field=field, **kwargs)

    def clean(self, value, row=None, **kwargs):
        found = super().clean(value, row, **kwargs)
        if self.scope:
            found = self.scope(found)
        wanted = {key.strip() for key in str(value or "").split(self.separator)} - {""}
        missing = sorted(wanted - {str(getattr(obj, self.field)) for obj in found})
        if missing:
            names = ", ".join(f"'{key}'" for key in missing)
            raise ValueError(f"{self.noun} {names} does not exist.")
        return found


def user_widget(noun="User"):
    return NaturalKeyWidget(get_user_model(), "username", noun=noun)


class ChoiceLabelWidget(widgets.Widget):
    """Exports a choice's label ("On track"); imports a label or a value, any case."""

    def __init__(self, choices, **kwargs):
        self.choices = choices
        super().__init__(**kwargs)

    def clean(self, value, row=None, **kwargs):
        text = str(value or "").strip().lower()
        for choice in self.choices:
            if text in (choice.value.lower(), choice.label.lower()):
                return choice.value
        allowed = ", ".join(choice.label for choice in self.choices)
        raise ValueError(f"'{value}' is not a status. Use one of: {allowed}.")

    def render(self, value, obj=None, **kwargs):
        return self.choices(value).label if value else ""


# A spreadsheet runs a cell that starts with one of these as a formula (=HYPERLINK(...),
# =cmd|..., @SUM(...)); a number such as -5 is only a number.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
UNESCAPED = (*FORMULA_STARTS, "\n")
PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def escape_formula(value):
    """Text a spreadsheet would run as a formula, made text: prefixed with an apostrophe.

    Numbers and dates (native, or a plain number written as text) are left as they are."""
    if (
        isinstance(value, str)
        and value.startswith(FORMULA_STARTS)
        and not PLAIN_NUMBER.fullmatch(value)
    ):
        return "'" + value
    return value


def cell_text(value):
    """A value as a spreadsheet cell may hold it: text a spreadsheet would run as a formula
    escaped (``escape_formula``), and the control characters an xlsx file (XML) cannot carry
    dropped, which would otherwise stop the export. Anything but text is left as it is."""
    if isinstance(value, str):
        return escape_formula(ILLEGAL_CHARACTERS_RE.sub("", value))
    return value


def unescape_formula(value):
    """What ``escape_formula`` wrote, read back as the text it was."""
    # A carriage return comes back from xlsx (XML) as a line feed.
    if isinstance(value, str) and value.startswith("'") and value[1:].startswith(UNESCAPED):
        return value[1:]
    return value


class GripResource(resources.ModelResource):
    """The project's base resource: blank text cells import as "", and an import is all or
    nothing (one bad row and no row is saved), as a spreadsheet user expects. Every export,
    xlsx or CSV, escapes text that a spreadsheet would run as a formula; an import of such
    a file reads the escape back, so a round trip changes nothing."""

    WIDGETS_MAP = {**resources.ModelResource.WIDGETS_MAP, "TextField": widgets.CharWidget}

    def export_field(self, field, instance, **kwargs):
        return cell_text(super().export_field(field, instance, **kwargs))

    def before_import_row(self, row, **kwargs):
        super().before_import_row(row, **kwargs)
        for column, value in row.items():
            row[column] = unescape_formula(value)

    @classmethod
    def widget_kwargs_for_field(cls, field_name, django_field):
        kwargs = super().widget_kwargs_for_field(field_name, django_field)
        if isinstance(django_field, models.TextField) and django_field.blank:
            kwargs.update({"coerce_to_string": True, "allow_blank": True})
        return kwargs

    def import_data(self, dataset, **kwargs):
        kwargs.setdefault("use_transactions", True)
        kwargs.setdefault("rollback_on_validation_errors", True)
        return super().import_data(dataset, **kwargs)


class PlanScopedResource(GripResource):
    """A resource that works on one plan: the one given, else the live plan."""

    # The path from a row to its plan: "plan" for what belongs to a plan directly.
    plan_field = "plan"

    def __init__(self, plan: Plan | None = None, **kwargs):
        super().__init__(**kwargs)
        self.plan = plan or Plan.objects.live().first()

    def in_plan(self, queryset):
        """``queryset`` (of something that belongs to a plan) narrowed to this plan."""
        return queryset.filter(plan=self.plan)

    def rows_in_plan(self, queryset):
        return queryset.filter(**{self.plan_field: self.plan})

    def before_import(self, dataset, **kwargs):
        if self.plan is None:
            raise ValueError("There is no live plan to import into.")

    def get_queryset(self):
        return self.rows_in_plan(super().get_queryset())

    def filter_export(self, queryset, **kwargs):
        return self.rows_in_plan(queryset)

    def init_instance(self, row=None):
        instance = super().init_instance(row)
        if self.plan_field == "plan":
            instance.plan = self.plan
        return instance


class PlanResource(GripResource):
    class Meta:
        model = Plan
        import_id_fields = ["title"]
        fields = ["title", "council", "description", "period_start", "period_end", "status"]
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True


class PriorityResource(PlanScopedResource):
    class Meta:
        model = Priority
        import_id_fields = ["number"]
        fields = ["number", "title", "description"]
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True


class WorkstreamResource(PlanScopedResource):
    class Meta:
        model = Workstream
        import_id_fields = ["code"]
        fields = ["code", "name", "scope", "senior_responsible_officer"]
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True


class FindingResource(PlanScopedResource):
    class Meta:
        model = Finding
        import_id_fields = ["reference"]
        fields = ["reference", "source", "date", "theme", "text"]
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True


class ActionResource(PlanScopedResource):
    workstream = fields.Field(attribute="workstream", column_name="workstream")
    priority = fields.Field(attribute="priority", column_name="priority")
    lead_officer = fields.Field(
        attribute="lead_officer", column_name="lead_officer", widget=user_widget("Lead officer")
    )
    status = fields.Field(
        attribute="status", column_name="status", widget=ChoiceLabelWidget(ActionStatus)
    )
    findings = fields.Field(attribute="findings", column_name="findings")
    # The version the action stood at when exported: an import refuses a row whose action
    # changed in Grip since (see ``import_instance``). Exported, never written.
    version = fields.Field(
        attribute="version",
        column_name="version",
        readonly=True,
        widget=widgets.IntegerWidget(),
    )

    # An import never moves these on an action already in Grip: the agreed due date is set
    # once, and a revised one is asked for and decided on the action's page, where the rules
    # (limits, the chair's decision, the record of each move) live.
    DATES_NOT_IMPORTED = {
        "due_date": "The agreed due date does not change once the action is in the plan.",
        "revised_due_date": "A due date moves only on the action's update form, where the "
        "task group chair decides it.",
        "revised_due_reason": "A due date moves only on the action's update form, where the "
        "task group chair decides it.",
    }

    def __init__(self, plan: Plan | None = None, **kwargs):
        super().__init__(plan=plan, **kwargs)
        self.fields["workstream"].widget = NaturalKeyWidget(
            Workstream, "code", noun="Workstream", scope=self.in_plan
        )
        self.fields["priority"].widget = NaturalKeyWidget(
            Priority, "number", noun="Priority", scope=self.in_plan
        )
        self.fields["findings"].widget = NaturalKeysWidget(
            Finding, "reference", noun="Finding", scope=self.in_plan
        )

    def before_import(self, dataset, **kwargs):
        super().before_import(dataset, **kwargs)
        self._importing = True

    def get_queryset(self):
        queryset = super().get_queryset()
        # An import reads each action locked until it commits, so the version it checks is
        # still the version when it saves.
        if getattr(self, "_importing", False) and transaction.get_connection().in_atomic_block:
            queryset = queryset.select_for_update()
        return queryset

    @staticmethod
    def exported_version(row) -> int:
        value = row.get("version")
        if value in (None, ""):
            raise ValueError(
                "This row has no version: make changes in a file exported from Grip, which "
                "carries each action's version."
            )
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = None
        if number is None or not number.is_integer():
            raise ValueError(f"The version '{value}' is not a whole number.")
        return int(number)

    def refusals(self, action: Action, row, user=None) -> dict[str, str]:
        """Why a row may not change ``action`` (already in Grip), by column: the user may
        not change it, or it changed in Grip since the file was exported. A new action's row
        needs no version. The Excel import asks the same."""
        if user is not None and not user.has_perm("workstreams.change_action", action):
            return {"reference": f"You may not change {action.reference}."}
        try:
            action_version_check(action=action, based_on_version=self.exported_version(row))
        except ValueError as error:
            return {"version": str(error)}
        except ActionChangedSinceOpened as stale:
            return {
                "version": stale.explain(since="this file was exported")
                + " Nothing was imported: export the actions again and make your changes "
                "in the new file."
            }
        return {}

    def import_instance(self, instance, row, **kwargs):
        existing = instance.pk is not None
        errors = self.refusals(instance, row, kwargs.get("user")) if existing else {}
        dates = {name: getattr(instance, name) for name in self.DATES_NOT_IMPORTED}
        before = {"status": instance.status, "evidence_of_impact": instance.evidence_of_impact}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        if "findings" in row:
            # Read here, so a finding that is not in the plan is this row's error.
            try:
                self.fields["findings"].clean(row)
            except ValueError as error:
                errors["findings"] = str(error)
        if existing:
            for name, was in dates.items():
                if getattr(instance, name) != was:
                    errors.setdefault(name, self.DATES_NOT_IMPORTED[name])
                    setattr(instance, name, was)
        # The spreadsheet may change the outcome: the same rule as an update in the browser.
        after = {"status": instance.status, "evidence_of_impact": instance.evidence_of_impact}
        instance.status, instance.evidence_of_impact = before.values()
        set_outcome(instance, **after)
        if errors:
            raise ValidationError(errors)

    def before_save_instance(self, instance, row, **kwargs):
        super().before_save_instance(instance, row, **kwargs)
        # An action in Grip takes its findings before it is saved, so the save records them
        # at its new version; a new action takes them once it exists (``save_m2m``).
        saving = self._is_using_transactions(kwargs) or not self._is_dry_run(kwargs)
        if instance.pk is not None and "findings" in row and saving:
            link_findings(instance, self.fields["findings"].clean(row))
            instance._findings_linked = True

    def save_m2m(self, instance, row, **kwargs):
        if not getattr(instance, "_findings_linked", False):
            super().save_m2m(instance, row, **kwargs)

    class Meta:
        model = Action
        import_id_fields = ["reference"]
        fields = [
            "reference",
            "workstream",
            "priority",
            "title",
            "description",
            "lead_officer",
            "due_date",
            "revised_due_date",
            "revised_due_reason",
            "status",
            "progress_narrative",
            "evidence_of_impact",
            "findings",
            "version",
        ]
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True


class ActionTrackerResource(GripResource):
    """The action tracker, as an officer reads it: one row per action with human headers,
    names rather than keys (the workstream's name, the lead officer's name), the due date
    now and as agreed, how often it slipped, the status as reported and the BRAG as the pages
    judge it, and the last update's progress and next steps. Export only.

    It reads the annotations of ``selectors.action_rows`` (judged on the day asked for) and
    ``with_last_update``; given plain actions (the admin's export), it adds them, judged
    today. So the portal's export (``exports.tracker_xlsx`` and ``tracker_csv``, which take
    the action list's filters) and the admin's write the same rows. Each row ends with the
    action's version, so an import can refuse a row changed in Grip since it was exported.

    Each action is read as a plain row of the values below (``READS``), not as model objects:
    20,000 actions with their workstream, priority and lead officer took longer to become
    objects than to come from the database.
    """

    reference = fields.Field(column_name="Reference")
    workstream = fields.Field(column_name="Workstream")
    priority = fields.Field(column_name="Priority")
    title = fields.Field(column_name="Title")
    lead_officer = fields.Field(column_name="Lead officer")
    due_date = fields.Field(column_name="Due date")
    original_due_date = fields.Field(column_name="Original due date")
    slips = fields.Field(column_name="Slips")
    status = fields.Field(column_name="Status")
    brag = fields.Field(column_name="BRAG")
    last_update = fields.Field(column_name="Last update")
    progress = fields.Field(column_name="Progress at last update")
    next_steps = fields.Field(column_name="Next steps")
    evidence_of_impact = fields.Field(column_name="Evidence of impact")
    version = fields.Field(column_name="Grip version (do not edit)")

    # How a spreadsheet writes each column (``spreadsheets.Column`` kinds); text otherwise.
    KINDS = {
        "priority": "number",
        "due_date": "date",
        "original_due_date": "date",
        "slips": "number",
        "brag": "brag",
        "last_update": "date",
        "title": "long_text",
        "progress": "long_text",
        "next_steps": "long_text",
        "evidence_of_impact": "long_text",
        "version": "number",
    }
    SHEET_TITLE = "Actions"
    # What a row reads: the action's own values, its workstream's, priority's and lead
    # officer's, and the annotations of ``action_rows`` and ``with_last_update``.
    READS = (
        "reference",
        "title",
        "status",
        "due_date",
        "progress_narrative",
        "evidence_of_impact",
        "version",
        "workstream_id",
        "workstream__name",
        "priority__number",
        "lead_officer__first_name",
        "lead_officer__last_name",
        "lead_officer__username",
        "current_due",
        "overdue",
        "rag_code",
        "slip_count",
        "last_update_at",
        "last_update_next_steps",
    )

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._readers: dict[tuple | None, list] = {}
        self._people: dict[tuple, str] = {}

    def filter_export(self, queryset, **kwargs):
        queryset = super().filter_export(queryset, **kwargs)
        if "rag_code" not in queryset.query.annotations:
            queryset = action_rows(queryset)
        if "last_update_next_steps" not in queryset.query.annotations:
            queryset = with_last_update(queryset)
        return queryset.values(*self.READS)

    def export(self, queryset=None, **kwargs):
        dataset = super().export(queryset, **kwargs)
        dataset.title = self.SHEET_TITLE
        return dataset

    def export_resource(self, instance, selected_fields=None, **kwargs):
        return [cell_text(value) for value in self.export_values(instance, selected_fields)]

    def export_values(self, row, selected_fields=None) -> list:
        """The row's cells before ``cell_text`` makes their text safe for a spreadsheet
        (``export_resource`` gives them made safe): for ``spreadsheets.Book``, which makes
        every text cell safe as it writes it, and made each of the tracker's cells safe
        twice (a tenth of its export at 20,000 actions).

        The same cells as ``export_field`` gives, read through each field's dehydrate
        method found once per export rather than once per cell: a tracker has 20,000 rows."""
        key = tuple(selected_fields) if selected_fields else None
        readers = self._readers.get(key)
        if readers is None:
            readers = self._readers[key] = [
                getattr(self, f"dehydrate_{self.get_field_name(field)}")
                for field in self.get_export_fields(selected_fields)
            ]
        return [read(row) for read in readers]

    def before_import(self, dataset, **kwargs):
        raise ValueError(
            "The action tracker is an export: import actions with the plan's action import."
        )

    def dehydrate_reference(self, row):
        return row["reference"]

    def dehydrate_workstream(self, row):
        return row["workstream__name"]

    def dehydrate_priority(self, row):
        return row["priority__number"]

    def dehydrate_title(self, row):
        return row["title"]

    def dehydrate_lead_officer(self, row):
        """The lead officer as people know them (``display_name``); blank if none."""
        username = row["lead_officer__username"]
        if username is None:
            return ""
        key = (row["lead_officer__first_name"], row["lead_officer__last_name"], username)
        if key not in self._people:
            first_name, last_name, username = key
            person = get_user_model()(first_name=first_name, last_name=last_name, username=username)
            self._people[key] = display_name(person)
        return self._people[key]

    def dehydrate_due_date(self, row):
        return row["current_due"]

    def dehydrate_original_due_date(self, row):
        return row["due_date"]

    def dehydrate_slips(self, row):
        return row["slip_count"]

    def dehydrate_status(self, row):
        return ActionStatus(row["status"]).label

    def dehydrate_brag(self, row):
        """The BRAG as the pages' tag says it: "Off track: overdue"."""
        return brag_words(Rag(row["rag_code"]), row["overdue"])

    def dehydrate_last_update(self, row):
        when = row["last_update_at"]
        return timezone.localtime(when).date() if when else None

    def dehydrate_progress(self, row):
        """The progress the last update reported (each update sets it on the action), or
        the plan's own words where it has had no update in Grip."""
        return row["progress_narrative"]

    def dehydrate_next_steps(self, row):
        return row["last_update_next_steps"] or ""

    def dehydrate_evidence_of_impact(self, row):
        return row["evidence_of_impact"]

    def dehydrate_version(self, row):
        return row["version"]

    class Meta:
        model = Action
        fields = [
            "reference",
            "workstream",
            "priority",
            "title",
            "lead_officer",
            "due_date",
            "original_due_date",
            "slips",
            "status",
            "brag",
            "last_update",
            "progress",
            "next_steps",
            "evidence_of_impact",
            "version",
        ]
        export_order = fields


class ActionUpdateResource(GripResource):
    """Export only: updates are made through the update form, never imported."""

    action = fields.Field(
        attribute="action",
        column_name="action",
        widget=NaturalKeyWidget(Action, "reference", noun="Action"),
    )
    created_by = fields.Field(
        attribute="created_by", column_name="created_by", widget=user_widget()
    )
    status = fields.Field(
        attribute="status", column_name="status", widget=ChoiceLabelWidget(ActionStatus)
    )

    class Meta:
        model = ActionUpdate
        fields = [
            "action",
            "period",
            "status",
            "progress_narrative",
            "evidence_of_impact",
            "next_steps",
            "revised_due_date",
            "created_by",
            "created_at",
        ]


class DueDateChangeResource(GripResource):
    """Export only: due dates move through the update form and the chair's decision."""

    action = fields.Field(
        attribute="action",
        column_name="action",
        widget=NaturalKeyWidget(Action, "reference", noun="Action"),
    )
    requested_by = fields.Field(
        attribute="requested_by", column_name="requested_by", widget=user_widget()
    )
    decided_by = fields.Field(
        attribute="decided_by", column_name="decided_by", widget=user_widget()
    )

    class Meta:
        model = DueDateChange
        fields = [
            "action",
            "from_date",
            "to_date",
            "reason",
            "requested_by",
            "requested_at",
            "decision",
            "decided_by",
            "decided_at",
            "decision_comment",
        ]


class IndicatorResource(PlanScopedResource):
    workstream = fields.Field(attribute="workstream", column_name="workstream")

    def __init__(self, plan: Plan | None = None, **kwargs):
        super().__init__(plan=plan, **kwargs)
        self.fields["workstream"].widget = NaturalKeyWidget(
            Workstream, "code", noun="Workstream", scope=self.in_plan
        )

    class Meta:
        model = Indicator
        import_id_fields = ["code"]
        fields = [
            "code",
            "workstream",
            "name",
            "description",
            "unit",
            "target",
            "tolerance",
            "higher_is_better",
        ]
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True


class IndicatorValueResource(PlanScopedResource):
    plan_field = "indicator__plan"
    indicator = fields.Field(attribute="indicator", column_name="indicator")

    def __init__(self, plan: Plan | None = None, **kwargs):
        super().__init__(plan=plan, **kwargs)
        self.fields["indicator"].widget = NaturalKeyWidget(
            Indicator, "code", noun="Indicator", scope=self.in_plan
        )

    class Meta:
        model = IndicatorValue
        import_id_fields = ["indicator", "period"]
        fields = ["indicator", "period", "value", "note"]
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True


class ServiceAreaResource(GripResource):
    class Meta:
        model = ServiceArea
        import_id_fields = ["name"]
        fields = ["name"]
        skip_unchanged = True
        report_skipped = True


class WorkforceSnapshotResource(GripResource):
    service_area = fields.Field(
        attribute="service_area",
        column_name="service_area",
        widget=NaturalKeyWidget(ServiceArea, "name", noun="Service area"),
    )

    class Meta:
        model = WorkforceSnapshot
        import_id_fields = ["service_area", "as_of"]
        fields = [
            "service_area",
            "as_of",
            "cutoff",
            "total",
            "locum",
            "salaried",
            "in_post_before_cutoff",
            "joined_since_cutoff",
        ]
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True
