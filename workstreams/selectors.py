"""Reads the pages need, with their joins and counts done in the database, so a page runs a
fixed number of queries however many actions it shows."""

import datetime
from dataclasses import dataclass
from urllib.parse import urlencode

from django.db.models import Count, F, OuterRef, Prefetch, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone

from .models import (
    Action,
    ActionStatus,
    ActionUpdate,
    DueDateChange,
    Indicator,
    IndicatorValue,
    Plan,
    Rag,
    Workstream,
)

# Who may update which action follows from memberships, which governance keeps. Delivery
# asks Django for one action (``has_perm``); for a list it asks this filter, which
# governance registers when it starts, the same way it registers the rules.
_updatable_actions = None


def register_updatable_actions(function) -> None:
    """``function(user, actions)`` narrows a queryset of actions to those ``user`` may update."""
    global _updatable_actions
    _updatable_actions = function


def actions_updatable_by(user, actions: QuerySet[Action]) -> QuerySet[Action]:
    if _updatable_actions is None:
        return actions.none()
    return _updatable_actions(user, actions)


def live_plan() -> Plan | None:
    return Plan.objects.live().first()


def live_plan_or_404() -> Plan:
    return get_object_or_404(Plan, status=Plan.Status.LIVE)


def action_list_url(**filters) -> str:
    """The action list filtered as given: where every count and shortlist links to."""
    query = urlencode({name: value for name, value in filters.items() if value not in (None, "")})
    return reverse("workstreams:action-list") + (f"?{query}" if query else "")


@dataclass(frozen=True)
class RagCount:
    """How many actions are in one BRAG state, and the list that shows exactly those."""

    rag: Rag
    count: int
    url: str


@dataclass(frozen=True)
class RagRow:
    """One row of a BRAG table: a workstream (None for the whole plan), its counts in order
    of severity, and its total."""

    workstream: Workstream | None
    counts: list[RagCount]
    total: int
    url: str


def _rag_row(workstream, counts: dict[Rag, int], **filters) -> RagRow:
    code = workstream.code if workstream else None
    return RagRow(
        workstream=workstream,
        counts=[
            RagCount(rag, n, action_list_url(workstream=code, status=rag.value, **filters))
            for rag, n in counts.items()
        ],
        total=sum(counts.values()),
        url=action_list_url(workstream=code, **filters),
    )


def rag_table(
    plan: Plan, today: datetime.date | None = None, workstreams=None
) -> tuple[list[RagRow], RagRow]:
    """Actions by BRAG in each of the plan's workstreams (or those given), and the total row.

    One query: the counts come from ``ActionQuerySet.with_rag``, the rule every badge and
    filter uses, so each count equals the rows of the action list it links to.
    """
    workstreams = list(workstreams if workstreams is not None else plan.workstreams.all())
    per_workstream = {w.pk: dict.fromkeys(Rag, 0) for w in workstreams}
    counted = (
        Action.objects.filter(plan=plan, workstream__in=workstreams)
        .with_rag(today)
        .order_by()
        .values("workstream_id", "rag_code")
        .annotate(n=Count("id"))
    )
    totals = dict.fromkeys(Rag, 0)
    for row in counted:
        rag = Rag(row["rag_code"])
        per_workstream[row["workstream_id"]][rag] = row["n"]
        totals[rag] += row["n"]
    rows = [_rag_row(w, per_workstream[w.pk]) for w in sorted(workstreams, key=lambda w: w.code)]
    return rows, _rag_row(None, totals)


def rag_counts(workstream: Workstream, today: datetime.date | None = None) -> RagRow:
    """One workstream's actions by BRAG, each count linked to the list of those actions."""
    return _rag_row(workstream, workstream.actions.rag_counts(today))


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
        .with_attention(today or timezone.localdate())
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


def last_update(action: Action) -> ActionUpdate | None:
    """The action's latest monthly update, with its author."""
    return action.updates.select_related("created_by").order_by("-created_at").first()


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
