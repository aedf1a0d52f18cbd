"""django-import-export resources for the plan, keyed by natural keys (workstream code,
action reference, username), never database ids.

A plan's spreadsheet names workstreams by code and priorities by number, which are unique
only within a plan, so the plan-scoped resources take the plan they work on (the live plan
unless told otherwise). Bulk mode stays off: it sends no signals, so it would write no
history.
"""

from django.contrib.auth import get_user_model
from django.db import models
from import_export import fields, resources, widgets

from .models import (
    Action,
    ActionStatus,
    ActionUpdate,
    Finding,
    Indicator,
    IndicatorValue,
    Plan,
    Priority,
    ServiceArea,
    WorkforceSnapshot,
    Workstream,
)
from .services import set_outcome


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


class GripResource(resources.ModelResource):
    """The project's base resource: blank text cells import as "", and an import is all or
    nothing (one bad row and no row is saved), as a spreadsheet user expects."""

    WIDGETS_MAP = {**resources.ModelResource.WIDGETS_MAP, "TextField": widgets.CharWidget}

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

    def __init__(self, plan: Plan | None = None, **kwargs):
        super().__init__(**kwargs)
        self.plan = plan or Plan.objects.live().first()

    def in_plan(self, queryset):
        return queryset.filter(plan=self.plan)

    def before_import(self, dataset, **kwargs):
        if self.plan is None:
            raise ValueError("There is no live plan to import into.")

    def get_queryset(self):
        return self.in_plan(super().get_queryset())

    def filter_export(self, queryset, **kwargs):
        return self.in_plan(queryset)

    def init_instance(self, row=None):
        instance = super().init_instance(row)
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


class FindingResource(GripResource):
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
    findings = fields.Field(
        attribute="findings",
        column_name="findings",
        widget=widgets.ManyToManyWidget(Finding, field="reference", separator=";"),
    )

    def import_instance(self, instance, row, **kwargs):
        before = {"status": instance.status, "evidence_of_impact": instance.evidence_of_impact}
        super().import_instance(instance, row, **kwargs)
        # The spreadsheet may change the outcome: the same rule as an update in the browser.
        after = {"status": instance.status, "evidence_of_impact": instance.evidence_of_impact}
        instance.status, instance.evidence_of_impact = before.values()
        set_outcome(instance, **after)

    def __init__(self, plan: Plan | None = None, **kwargs):
        super().__init__(plan=plan, **kwargs)
        self.fields["workstream"].widget = NaturalKeyWidget(
            Workstream, "code", noun="Workstream", scope=self.in_plan
        )
        self.fields["priority"].widget = NaturalKeyWidget(
            Priority, "number", noun="Priority", scope=self.in_plan
        )

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
        ]
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True


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


class IndicatorResource(GripResource):
    workstream = fields.Field(attribute="workstream", column_name="workstream")

    def __init__(self, plan: Plan | None = None, **kwargs):
        super().__init__(**kwargs)
        plan = plan or Plan.objects.live().first()
        self.fields["workstream"].widget = NaturalKeyWidget(
            Workstream, "code", noun="Workstream", scope=lambda qs: qs.filter(plan=plan)
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


class IndicatorValueResource(GripResource):
    indicator = fields.Field(
        attribute="indicator",
        column_name="indicator",
        widget=NaturalKeyWidget(Indicator, "code", noun="Indicator"),
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
