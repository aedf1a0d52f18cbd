"""Reads that need to know who sits where: what a user may update, what waits for them."""

import datetime
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.db.models import Exists, OuterRef, QuerySet
from django.urls import reverse
from django.utils import timezone

from workstreams import selectors as delivery
from workstreams.models import OPEN_STATUSES, Action, ActionUpdate, Plan, Workstream, month_start

from .roles import roles_of

DUE_SOON_DAYS = 30
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
            rows=rows[:MY_WORK_ROWS],
            total=len(rows),
            all_url=f"{reverse('workstreams:action-list')}?{urlencode(filters)}",
        )

    @property
    def cut(self) -> bool:
        return self.total > len(self.rows)

    def __bool__(self) -> bool:
        return bool(self.total)


def actions_updatable_by(user, plan: Plan) -> QuerySet[Action]:
    """The plan's actions this user may update (the same rule as ``change_action``)."""
    return plan.actions.filter(roles_of(user).updatable_actions())


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

    - of the open actions they may update: those overdue; those due in the next 30 days;
      the others with no update recorded this month (the three lists do not overlap, and
      ``without_update_count`` counts every one not yet updated this month);
    - for a task group chair: due-date moves and evidence waiting for their decision, and
      their workstream's actions by status.
    """
    today = today or timezone.localdate()
    period = month_start(today)
    roles = roles_of(user)
    work = MyWork(period=period, may_update=roles.may_update_any())
    if work.may_update:
        updated_this_period = ActionUpdate.objects.filter(action=OuterRef("pk"), period=period)
        mine = delivery.action_rows(
            actions_updatable_by(user, plan).filter(status__in=OPEN_STATUSES), today
        ).annotate(updated_this_period=Exists(updated_this_period))
        rows = list(mine.order_by("current_due", "reference"))
        for action in rows:
            action.can_update = True  # the query above holds only what they may update
        # Three lists that do not repeat each other, most pressing first.
        soon = today + datetime.timedelta(days=DUE_SOON_DAYS)
        scope = _list_scope(user, plan, roles)
        work.overdue = Shortlist.of([a for a in rows if a.overdue], overdue="true", **scope)
        work.due_soon = Shortlist.of(
            [a for a in rows if not a.overdue and a.current_due <= soon],
            due_before=soon.strftime("%d/%m/%Y"),
            **scope,
        )
        work.needs_update = Shortlist.of(
            [
                a
                for a in rows
                if not a.updated_this_period and not a.overdue and a.current_due > soon
            ],
            sort="updated",
            **scope,
        )
        work.without_update_count = sum(1 for a in rows if not a.updated_this_period)
    if roles.chaired_workstream_ids:
        chaired = plan.actions.filter(workstream_id__in=roles.chaired_workstream_ids)
        work.due_date_requests = list(delivery.pending_due_date_changes(chaired))
        work.awaiting_evidence = list(delivery.awaiting_evidence(chaired))
        workstreams = Workstream.objects.filter(pk__in=roles.chaired_workstream_ids, plan=plan)
        work.chaired_workstreams = delivery.status_table(
            delivery.workstreams_with_status_counts(plan).filter(pk__in=workstreams)
        )
    return work


def _list_scope(user, plan: Plan, roles) -> dict:
    """The action list's filter nearest to "the actions this user updates"."""
    if roles.is_programme_office or user.is_superuser:
        return {}
    if len(roles.chaired_workstream_ids) == 1:
        return {
            "workstream": plan.workstreams.get(pk=next(iter(roles.chaired_workstream_ids))).code
        }
    return {"lead": user.get_username()}
