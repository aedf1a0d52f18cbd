"""Reads the pages need, with their joins and counts done in the database, so a page runs a
fixed number of queries however many actions it shows."""

import datetime

from django.db.models import Count, F, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from django.utils import timezone

from .models import (
    Action,
    ActionStatus,
    ActionUpdate,
    DueDateChange,
    Indicator,
    IndicatorValue,
    Plan,
    Workstream,
)


def live_plan() -> Plan | None:
    return Plan.objects.live().first()


def live_plan_or_404() -> Plan:
    return get_object_or_404(Plan, status=Plan.Status.LIVE)


def workstreams_with_status_counts(plan: Plan) -> QuerySet[Workstream]:
    """The plan's workstreams, each annotated ``count_<status>`` and ``action_count``."""
    per_status = {
        f"count_{status}": Count("actions", filter=Q(actions__status=status))
        for status in ActionStatus.values
    }
    return plan.workstreams.annotate(action_count=Count("actions"), **per_status).order_by("code")


def status_table(workstreams) -> list[dict]:
    """Rows for a workstreams-by-status table: the workstream, its counts in status order,
    and the same as (status label, count) pairs."""
    rows = []
    for workstream in workstreams:
        counts = [getattr(workstream, f"count_{status}") for status in ActionStatus.values]
        rows.append(
            {
                "workstream": workstream,
                "counts": counts,
                "by_status": list(zip(ActionStatus.labels, counts, strict=True)),
                "total": workstream.action_count,
            }
        )
    return rows


def status_counts(actions: QuerySet[Action]) -> list[tuple[str, int]]:
    """(status label, count) for every status, in the order of the scale."""
    counts = actions.status_counts()
    return [(label, counts[value]) for value, label in ActionStatus.choices]


def _slips():
    """Approved moves of the due date to a later date, per action."""
    return (
        DueDateChange.objects.filter(
            action=OuterRef("pk"),
            decision=DueDateChange.Decision.APPROVED,
            to_date__gt=F("from_date"),
        )
        .order_by()
        .values("action")
        .annotate(n=Count("pk"))
        .values("n")
    )


def action_rows(actions: QuerySet[Action], today: datetime.date | None = None) -> QuerySet[Action]:
    """Actions ready for a table: workstream, priority and lead joined; RAG, overdue, the
    last update's date and the number of slips annotated."""
    last_update = (
        ActionUpdate.objects.filter(action=OuterRef("pk"))
        .order_by("-created_at")
        .values("created_at")[:1]
    )
    return (
        actions.select_related("workstream", "priority", "lead_officer")
        .with_rag(today or timezone.localdate())
        .annotate(
            last_update_at=Subquery(last_update),
            slip_count=Coalesce(Subquery(_slips()), 0),
        )
    )


def action_for_page(plan: Plan, reference: str) -> Action:
    """One action of the plan with all its page shows: findings, updates (newest first) with
    their authors, due-date requests, and who accepted the evidence."""
    queryset = (
        action_rows(Action.objects.filter(plan=plan))
        .select_related("evidence_accepted_by")
        .prefetch_related(
            "findings",
            Prefetch(
                "updates",
                queryset=ActionUpdate.objects.select_related("created_by").order_by("-created_at"),
            ),
            Prefetch(
                "due_date_changes",
                queryset=DueDateChange.objects.select_related("requested_by", "decided_by"),
            ),
        )
    )
    return get_object_or_404(queryset, reference=reference)


def action_for_update(plan: Plan, reference: str) -> Action:
    return get_object_or_404(
        Action.objects.select_related("workstream", "lead_officer").filter(plan=plan),
        reference=reference,
    )


def workstream_for_page(plan: Plan, code: str) -> Workstream:
    return get_object_or_404(plan.workstreams.all(), code=code)


def workstream_actions(workstream: Workstream) -> QuerySet[Action]:
    """A workstream's actions in priority order, ready for a table."""
    return action_rows(workstream.actions.all()).order_by(
        F("priority__number").asc(nulls_last=True), "reference"
    )


def workstream_indicators(workstream: Workstream) -> QuerySet[Indicator]:
    """The workstream's indicators, each with its values oldest first."""
    return workstream.indicators.prefetch_related(
        Prefetch("values", queryset=IndicatorValue.objects.order_by("period"))
    )


def pending_due_date_changes(actions: QuerySet[Action]) -> QuerySet[DueDateChange]:
    return (
        DueDateChange.objects.filter(action__in=actions, decision=DueDateChange.Decision.PENDING)
        .select_related("action", "requested_by")
        .order_by("requested_at")
    )


def awaiting_evidence(actions: QuerySet[Action]) -> QuerySet[Action]:
    return action_rows(
        actions.filter(status=ActionStatus.COMPLETE, evidence_accepted_at__isnull=True)
    ).order_by("reference")
