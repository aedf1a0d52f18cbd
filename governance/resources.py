"""django-import-export resources for governance, keyed by body name and username."""

from import_export import fields

from workstreams.resources import GripResource, NaturalKeyWidget, user_widget

from .models import Body, Meeting, Membership, ProgressReport, Review, Risk


def body_widget():
    return NaturalKeyWidget(Body, "name", noun="Body")


class BodyResource(GripResource):
    reports_to = fields.Field(
        attribute="reports_to", column_name="reports_to", widget=body_widget()
    )

    class Meta:
        model = Body
        import_id_fields = ["name"]
        fields = ["name", "kind", "reports_to", "chair_title", "meets", "purpose"]
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True


class MembershipResource(GripResource):
    body = fields.Field(attribute="body", column_name="body", widget=body_widget())
    user = fields.Field(attribute="user", column_name="user", widget=user_widget())

    class Meta:
        model = Membership
        import_id_fields = ["body", "user"]
        fields = ["body", "user", "role", "title"]
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True


class MeetingResource(GripResource):
    body = fields.Field(attribute="body", column_name="body", widget=body_widget())

    class Meta:
        model = Meeting
        import_id_fields = ["body", "date"]
        fields = ["body", "date", "period", "minutes"]
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True


class RiskResource(GripResource):
    owner = fields.Field(attribute="owner", column_name="owner", widget=user_widget("Owner"))
    workstream = fields.Field(attribute="workstream__code", column_name="workstream", readonly=True)

    class Meta:
        model = Risk
        fields = [
            "title",
            "workstream",
            "description",
            "owner",
            "likelihood",
            "impact",
            "mitigation",
            "escalated",
            "status",
        ]


class ProgressReportResource(GripResource):
    """Export only: reports move through their workflow, never by import."""

    workstream = fields.Field(attribute="workstream__code", column_name="workstream")
    plan = fields.Field(attribute="plan__title", column_name="plan")

    class Meta:
        model = ProgressReport
        fields = [
            "plan",
            "workstream",
            "period",
            "status",
            "working_well",
            "how_we_know",
            "worried_about",
        ]


class ReviewResource(GripResource):
    """Export only: the record of each workflow step."""

    report = fields.Field(attribute="report", column_name="report")
    by = fields.Field(attribute="by", column_name="by", widget=user_widget())

    class Meta:
        model = Review
        fields = ["report", "step", "by", "at", "comment"]
