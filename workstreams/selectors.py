"""Reads the pages need, with their joins and counts done in the database."""

from django.db.models import Count, Q, QuerySet

from .models import ActionStatus, Plan, Workstream


def live_plan() -> Plan | None:
    return Plan.objects.live().first()


def workstreams_with_status_counts(plan: Plan) -> QuerySet[Workstream]:
    """The plan's workstreams, each annotated ``count_<status>`` and ``action_count``."""
    per_status = {
        f"count_{status}": Count("actions", filter=Q(actions__status=status))
        for status in ActionStatus.values
    }
    return plan.workstreams.annotate(action_count=Count("actions"), **per_status).order_by("code")


def status_table(workstreams) -> list[dict]:
    """Rows for a workstreams-by-status table: the workstream and its counts in status order."""
    return [
        {
            "workstream": workstream,
            "counts": [getattr(workstream, f"count_{status}") for status in ActionStatus.values],
            "total": workstream.action_count,
        }
        for workstream in workstreams
    ]
