"""Reads that need to know who sits where: what a user may update, what waits for them."""

import datetime
from dataclasses import dataclass, field

from django.utils import timezone

from workstreams import selectors as delivery
from workstreams.models import OPEN_STATUSES, Attention, Plan, month_start

from .roles import roles_of

# A list on My work shows this many rows; the rest are a click away on the action list.
MY_WORK_ROWS = 25


@dataclass
class Shortlist:
    """The first rows of a list, how many there are in all, and where to see them all."""

    rows: list
    total: int
    all_url: str

    @classmethod
    def of(cls, rows: list, **filters) -> "Shortlist":
        return cls(
            rows=rows[:MY_WORK_ROWS], total=len(rows), all_url=delivery.action_list_url(**filters)
        )

    @property
    def cut(self) -> bool:
        return self.total > len(self.rows)

    def __bool__(self) -> bool:
        return bool(self.total)


@dataclass
class MyWork:
    period: datetime.date
    may_update: bool = False
    without_update_count: int = 0
    needs_update: Shortlist = field(default_factory=lambda: Shortlist([], 0, ""))
    overdue: Shortlist = field(default_factory=lambda: Shortlist([], 0, ""))
    due_soon: Shortlist = field(default_factory=lambda: Shortlist([], 0, ""))
    due_date_requests: list = field(default_factory=list)
    awaiting_evidence: list = field(default_factory=list)
    chaired_workstreams: list = field(default_factory=list)

    @property
    def has_anything(self) -> bool:
        return any(
            (
                self.needs_update,
                self.overdue,
                self.due_soon,
                self.due_date_requests,
                self.awaiting_evidence,
            )
        )


def my_work(user, plan: Plan, today: datetime.date | None = None) -> MyWork:
    """What needs this user's update or decision this period.

    - of the open actions they may update, by the reason they need attention
      (``ActionQuerySet.with_attention``): overdue; due in the next 30 days; no update
      recorded this month. The lists do not overlap, each links to the action list filtered
      to exactly its rows, and ``without_update_count`` counts every one not yet updated
      this month;
    - for a task group chair: due-date moves and evidence waiting for their decision, and
      their workstream's actions by BRAG.
    """
    today = today or timezone.localdate()
    roles = roles_of(user)
    work = MyWork(period=month_start(today), may_update=roles.may_update_any())
    if work.may_update:
        mine = delivery.action_rows(
            delivery.actions_updatable_by(user, plan.actions.filter(status__in=OPEN_STATUSES)),
            today,
        )
        rows = list(mine.order_by("current_due", "reference"))
        for action in rows:
            action.can_update = True  # the query above holds only what they may update
        lists = {reason: [] for reason in Attention}
        for action in rows:
            if action.attention:
                lists[Attention(action.attention)].append(action)
        work.overdue, work.due_soon, work.needs_update = (
            Shortlist.of(lists[reason], mine="true", attention=reason.value) for reason in Attention
        )
        work.without_update_count = sum(1 for a in rows if not a.updated_this_period)
    if roles.chaired_workstream_ids:
        chaired = plan.actions.filter(workstream_id__in=roles.chaired_workstream_ids)
        work.due_date_requests = list(delivery.pending_due_date_changes(chaired))
        work.awaiting_evidence = list(delivery.awaiting_evidence(chaired))
        work.chaired_workstreams, _ = delivery.rag_table(
            plan, today, plan.workstreams.filter(pk__in=roles.chaired_workstream_ids)
        )
    return work
