"""Reads the pages need, with their joins and counts done in the database, so a page runs a
fixed number of queries however many actions it shows."""

import datetime
import json
from dataclasses import dataclass, field
from functools import cached_property
from urllib.parse import urlencode

from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import (
    Aggregate,
    BooleanField,
    Case,
    CharField,
    Count,
    F,
    JSONField,
    Lookup,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
    Window,
)
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone

from . import derived
from .models import (
    OPEN_STATUSES,
    Action,
    ActionStatus,
    ActionUpdate,
    DueDateChange,
    Indicator,
    IndicatorValue,
    Plan,
    Rag,
    Workstream,
    add_months,
    end_of_day,
    month_end,
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


@dataclass(frozen=True)
class AsAt:
    """Which state of the plan a page shows, and the day it judges BRAG and overdue on.

    - neither ``period`` nor ``as_of``: the plan now, judged today (the working pages);
    - ``period`` (a month's first day): the plan now, judged at the end of that month, or
      today while it runs: the month the programme board reviews;
    - ``as_of``: the plan as it stood at the end of that day, rebuilt from the audit history,
      judged on that day: what the board saw at a past meeting.

    The dashboard and the action list read the same two parameters, so every count on the
    dashboard links to the list of exactly those actions.
    """

    today: datetime.date
    period: datetime.date | None = None
    as_of: datetime.date | None = None
    # Which history rows make up the plan as it stood, found once per plan (see ``actions``).
    _stood: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def day(self) -> datetime.date:
        if self.as_of:
            return self.as_of
        if self.period:
            return min(month_end(self.period), self.today)
        return self.today

    @property
    def recorded_before(self) -> datetime.datetime | None:
        """The moment the rows are read as of: None for the plan now."""
        if self.as_of and self.as_of < self.today:
            return end_of_day(self.as_of)
        return None

    @property
    def query(self) -> dict[str, str]:
        """The parameters that ask for this state again, on the dashboard or the list."""
        query = {}
        if self.period:
            query["period"] = f"{self.period:%Y-%m}"
        if self.as_of:
            query["as_of"] = self.as_of.isoformat()
        return query

    def actions(self, plan: Plan) -> QuerySet:
        """The plan's actions in this state: live rows, or history rows as they stood.

        Which history rows those are is asked once and kept: a page such as the dashboard
        reads the plan as it stood in several queries, and each then fetches its rows by
        primary key instead of finding them again (docs/decisions/0009). They are the past,
        which changes now only if history is written in the past: cached until it is
        (``derived.cached_past``)."""
        moment = self.recorded_before
        if moment is None:
            return Action.objects.filter(plan=plan)
        if plan.pk not in self._stood:
            self._stood[plan.pk] = derived.cached_past(
                "plan-as-it-stood",
                (plan.pk, moment.isoformat()),
                lambda: history_ids_as_they_stood(plan, moment),
            )
        return history_rows(self._stood[plan.pk]).exclude(history_type="-")

    def rows(self, plan: Plan) -> QuerySet:
        """The plan's actions in this state, ready for a table (see ``action_rows``)."""
        return action_rows(self.actions(plan), self.day, recorded_before=self.recorded_before)


def _latest_history_ids(actions: QuerySet[Action], moment: datetime.datetime) -> QuerySet:
    """Per action, the id of its last history row before ``moment``: one probe of the
    ``(id, history_date)`` index each (migration 0004), so it costs what the number of
    actions costs, not what the length of their history does."""
    latest = (
        Action.history.filter(id=OuterRef("pk"), history_date__lt=moment)
        .order_by("-history_date", "-history_id")
        .values("history_id")[:1]
    )
    # Unordered: the actions' default order sorted all of them after the probes (30 ms).
    return actions.order_by().values(then=Subquery(latest))


def history_ids_as_they_stood(plan: Plan, moment: datetime.datetime) -> list[int]:
    """The history rows that make up the plan as it stood before ``moment`` (an action
    created later has none)."""
    stood = _latest_history_ids(Action.objects.filter(plan=plan), moment)
    return [then for (then,) in stood.values_list("then") if then]


def array_literal(values) -> str:
    """PostgreSQL's text form of an array: whole numbers as they are ('{1,2}'), any other
    value double-quoted with its backslashes and double quotes escaped, so any text is one
    element ('{"a,b","c"}')."""
    values = list(values)
    if all(type(value) is int for value in values):
        return "{" + ",".join(map(str, values)) + "}"
    quoted = (str(value).replace("\\", "\\\\").replace('"', '\\"') for value in values)
    return "{" + ",".join(f'"{value}"' for value in quoted) + "}"


class ValueList:
    """The values of an ``EqualsAnyOf``, hashed once and written as a parameter once.

    Django hashes and compiles an expression several times a query (its select, its order,
    its grouping): as a plain list, each of 20,000 ids was made hashable one by one and
    the literal written again each time (30 ms of the dashboard after a change)."""

    def __init__(self, values):
        self.values = tuple(values)
        self._hash = hash(self.values)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other) -> bool:
        return self is other or (isinstance(other, ValueList) and self.values == other.values)

    def __iter__(self):
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)

    @cached_property
    def array_literal(self) -> str:
        return array_literal(self.values)

    @cached_property
    def json_array(self) -> str:
        return json.dumps(self.values)

    def written(self) -> "ValueList":
        """Itself, with both its parameters written now: a copy kept in a cache keeps them,
        and is not written again each time it is read."""
        self.array_literal, self.json_array  # noqa: B018 (cached_property: computed once)
        return self


class EqualsAnyOf(Lookup):
    """``column = ANY(%s::type[])`` on PostgreSQL, ``column IN (SELECT value FROM
    json_each(%s))`` on SQLite: the values sent as one parameter however many there are (an
    IN list of 20,000 placeholders is slow to build, and past SQLite's limit).

    On PostgreSQL the parameter is an array literal, which the server reads as a single
    value (and hashes where it is matched row by row). psycopg2 sends a list as ``ARRAY[1,
    2, ...]``, an expression the server parses element by element: for the 20,000 history
    rows of a plan as it stood, 80 ms a query against 34 ms as a literal."""

    lookup_name = "equals_any_of"
    prepare_rhs = False

    def __init__(self, lhs, rhs):
        super().__init__(lhs, rhs if isinstance(rhs, ValueList) else ValueList(rhs))

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        db_type = self.lhs.output_field.cast_db_type(connection)
        return f"{lhs} = ANY(%s::{db_type}[])", [*lhs_params, self.rhs.array_literal]

    def as_sqlite(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} IN (SELECT value FROM json_each(%s))", [*lhs_params, self.rhs.json_array]


class JSONList(Aggregate):
    """The rows' values as one JSON array: ``JSONB_AGG`` on PostgreSQL, ``JSON_GROUP_ARRAY``
    on SQLite (Django 5.2 has no aggregate for both). In no particular order."""

    function = "JSON_GROUP_ARRAY"
    output_field = JSONField()

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, function="JSONB_AGG", **extra_context)


def json_rows(rows: QuerySet, by: str, value) -> Subquery:
    """``rows`` (filtered on ``by`` by an ``OuterRef``) as a subquery of one value, a JSON
    list of ``value`` (an expression, e.g. ``JSONObject``) for each: a row of the outer query
    carries its few children instead of their being read in a query of their own. None
    where there are none."""
    return Subquery(rows.order_by().values(by).annotate(rows=JSONList(value)).values("rows"))


def history_rows(ids: list[int]) -> QuerySet:
    """The actions' history rows with these ids, sent as one parameter (``EqualsAnyOf``):
    building a statement of 20,000 placeholders costs more than running it."""
    return Action.history.filter(EqualsAnyOf(F("history_id"), ids))


def actions_as_they_stood(plan: Plan, moment: datetime.datetime) -> QuerySet:
    """Each of the plan's actions as its last history row before ``moment`` recorded it (an
    action created later is left out), in one query."""
    stood = _latest_history_ids(Action.objects.filter(plan=plan), moment)
    return Action.history.filter(history_id__in=stood).exclude(history_type="-")


def rows_as_they_stood(model, moment: datetime.datetime, **filters) -> QuerySet:
    """A small table's rows as they stood before ``moment``: each row's last history row
    (django-simple-history's ``latest_of_each``), rows deleted by then left out."""
    return (
        model.history.filter(history_date__lt=moment, **filters)
        .latest_of_each()
        .exclude(history_type="-")
    )


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


def due_in(period: datetime.date) -> Q:
    """Open actions whose current due date falls in the month ``period`` (after ``with_rag``)."""
    return Q(status__in=OPEN_STATUSES, current_due__range=(period, month_end(period)))


# Slipped: the due date was moved later at least once.
SLIPPED = Q(slip_count__gt=0)


@dataclass(frozen=True)
class Counted:
    """A number of actions, and the list that shows exactly those."""

    count: int
    url: str


@dataclass(frozen=True)
class DeliveryRow:
    """A workstream's delivery (None: the programme's): actions by BRAG; overdue; due in the
    next period; slipped (actions whose due date moved later), and the moves in all."""

    workstream: Workstream | None
    rag: RagRow
    overdue: Counted
    due_next: Counted
    slipped: Counted
    slips: int


def delivery_table(
    plan: Plan, as_at: AsAt, workstreams=None
) -> tuple[list[DeliveryRow], DeliveryRow]:
    """Each workstream's delivery and the programme's, in the state ``as_at`` asks for.

    One query whatever the plan's size, counted by the list filters' own conditions
    (``with_rag``, ``due_in``, ``SLIPPED``), so each count equals the rows of its link.
    """
    next_period = add_months(as_at.period or as_at.day, 1)
    counted = (
        as_at.actions(plan)
        .with_rag(as_at.day)
        .order_by()
        .values("workstream_id", "rag_code")
        .annotate(
            n=Count("id"),
            overdue_n=Count("id", filter=Q(overdue=True)),
            due_next_n=Count("id", filter=due_in(next_period)),
            slipped_n=Count("id", filter=SLIPPED),
            slips_n=Sum("slip_count"),
        )
    )

    workstreams = sorted(
        workstreams if workstreams is not None else plan.workstreams.all(), key=lambda w: w.code
    )
    keys = [w.pk for w in workstreams] + [None]
    rags = {key: dict.fromkeys(Rag, 0) for key in keys}
    measures = ("overdue_n", "due_next_n", "slipped_n", "slips_n")
    sums = {key: dict.fromkeys(measures, 0) for key in keys}
    if as_at.recorded_before is None:
        counted = list(counted)
    else:  # the plan as it stood, and its slips decided by then: the past
        asked = (plan.pk, as_at.recorded_before.isoformat(), as_at.day, next_period)
        counted = derived.cached_past("delivery-as-it-stood", asked, lambda: list(counted))
    for row in counted:
        for key in (row["workstream_id"], None):
            if key not in rags:  # moved since to another plan's workstream: counted in all
                continue
            rags[key][Rag(row["rag_code"])] += row["n"]
            for measure in measures:
                sums[key][measure] += row[measure]

    def delivery_row(workstream):
        key = workstream.pk if workstream else None
        filters = {"workstream": workstream.code if workstream else None, **as_at.query}
        return DeliveryRow(
            workstream=workstream,
            rag=_rag_row(workstream, rags[key], **as_at.query),
            overdue=Counted(sums[key]["overdue_n"], action_list_url(overdue="true", **filters)),
            due_next=Counted(
                sums[key]["due_next_n"],
                action_list_url(due_in=f"{next_period:%Y-%m}", **filters),
            ),
            slipped=Counted(sums[key]["slipped_n"], action_list_url(slipped="true", **filters)),
            slips=sums[key]["slips_n"],
        )

    return [delivery_row(w) for w in workstreams], delivery_row(None)


def _rag_at_end_of(since: datetime.date) -> Subquery:
    """An action's BRAG as it stood at the end of ``since`` (its last history row before
    then, judged on that day), as a subquery of the action (``OuterRef("id")``): one probe of
    the history each."""
    then = (
        Action.history.filter(id=OuterRef("id"), history_date__lt=end_of_day(since))
        .order_by("-history_date", "-history_id")
        .with_rag(since)
        .values("rag_code")[:1]
    )
    return Subquery(then)


def brag_at_end_of(since: datetime.date) -> dict[str, ValueList] | None:
    """Every action's BRAG as it stood at the end of ``since``, as the ids of the actions in
    each state (an action not recorded by then is in none). A day that has ended is the past,
    so this is cached until history is written in the past (``derived.cached_past``): the
    dashboard worked out again after a change then does not probe the history of each of
    the plan's 20,000 actions again (60 ms), nor write their ids out again (4 ms). None for
    a day not over yet, or with the cache off: the caller asks the history itself."""
    if end_of_day(since) > timezone.now() or not settings.GRIP_DERIVED_CACHE_SECONDS:
        return None

    def read() -> dict[str, ValueList]:
        by_rag: dict[str, list[int]] = {}
        rows = Action.objects.order_by().annotate(rag_before=_rag_at_end_of(since))
        for action_id, rag in rows.values_list("id", "rag_before"):
            if rag is not None:
                by_rag.setdefault(rag, []).append(action_id)
        return {rag: ValueList(ids).written() for rag, ids in by_rag.items()}

    return derived.cached_past("brag-at-end-of", (since.isoformat(),), read)


def with_rag_before(actions: QuerySet, since: datetime.date) -> QuerySet:
    """Annotate ``rag_before``: each action's BRAG as it stood at the end of ``since`` (from
    its history, judged on that day); None where the action did not exist yet. From the ids
    of each state where they are cached (``brag_at_end_of``), else from the history."""
    by_rag = brag_at_end_of(since)
    if by_rag is None:
        return actions.annotate(rag_before=_rag_at_end_of(since))
    states = [When(EqualsAnyOf(F("id"), ids), then=Value(rag)) for rag, ids in by_rag.items()]
    return actions.annotate(rag_before=Case(*states, default=Value(None), output_field=CharField()))


def rag_changed_since(actions: QuerySet, since: datetime.date) -> QuerySet:
    """Actions (after ``with_rag``) whose BRAG differs from theirs at the end of ``since``,
    new actions included. The earlier BRAG is looked up once per action: a CASE, rather than
    "was none, or was another" (which asks for it twice)."""
    return (
        with_rag_before(actions, since)
        .annotate(
            rag_changed=Case(
                When(rag_before=F("rag_code"), then=Value(False)),
                default=Value(True),
                output_field=BooleanField(),
            )
        )
        .filter(rag_changed=True)
    )


@dataclass(frozen=True)
class RagChange:
    """An action whose BRAG changed: from what (None: it was not in the plan yet) to what,
    and the change that did it (who and when; none when only time passed its due date)."""

    action: object
    before: Rag | None
    after: Rag
    by: object | None
    at: datetime.datetime | None

    @property
    def only_time_passed(self) -> bool:
        return self.by is None and self.at is None


# The fields BRAG is judged from: a history row that changes one of them can change it.
RAG_FIELDS = ("status", "due_date", "revised_due_date", "evidence_accepted_at")


def rag_changes(plan: Plan, as_at: AsAt, since: datetime.date, limit: int = 50):
    """Actions whose BRAG changed between the end of ``since`` and ``as_at``: how many, the
    list of exactly those, and the most pressing ``limit`` of them, each with the recorded
    change that made it (the last one that moved a field BRAG is judged from). Of the plan
    as it stood on a past day, read from its history alone: cached as the past is
    (``derived.cached_past``)."""
    if as_at.recorded_before is None:
        return _rag_changes(plan, as_at, since, limit)
    asked = (
        plan.pk,
        as_at.recorded_before.isoformat(),
        as_at.day,
        since,
        limit,
        urlencode(as_at.query),
    )
    return derived.cached_past(
        "rag-changes-as-they-stood", asked, lambda: _rag_changes(plan, as_at, since, limit)
    )


def _rag_changes(plan: Plan, as_at: AsAt, since: datetime.date, limit: int):
    # BRAG and due date are all the list here shows: not the full table rows of action_rows.
    changed = (
        rag_changed_since(as_at.actions(plan).with_rag(as_at.day), since)
        .annotate(changed_count=Window(Count("id")))  # how many in all, in the same pass
        .order_by("rag_rank", "reference")
    )
    shown = list(changed[:limit])
    count = shown[0].changed_count if shown else 0
    until = as_at.recorded_before or timezone.now()
    since_moment = end_of_day(since)
    # A change made before ``since`` is not shown, so the rows recorded since are read, with
    # the last one before them (what the first of them changed): not all of the actions'
    # history (2,700 rows at 24 months for 50 actions, most of this page's Python time).
    shown_actions = Action.objects.filter(id__in=[row.id for row in shown])
    history = (
        Action.history.filter(id__in=shown_actions.values("id"), history_date__lt=until)
        .filter(
            Q(history_date__gte=since_moment)
            | Q(history_id__in=_latest_history_ids(shown_actions, since_moment))
        )
        .select_related("history_user")
        .order_by("id", "history_date", "history_id")
        .only("id", "history_date", "history_user", *RAG_FIELDS)
    )
    made_by: dict[int, tuple] = {}
    previous: dict[int, tuple] = {}
    for row in history:
        state = tuple(getattr(row, name) for name in RAG_FIELDS)
        if previous.get(row.id) != state:  # the first row, or one that moved a field
            made_by[row.id] = (row.history_user, row.history_date)
        previous[row.id] = state
    changes = []
    for row in shown:
        by, at = made_by.get(row.id, (None, None))
        if at is not None and at < since_moment:
            by, at = None, None  # nothing recorded since: the due date passed
        before = Rag(row.rag_before) if row.rag_before else None
        changes.append(RagChange(row, before, Rag(row.rag_code), by, at))
    url = action_list_url(changed_since=since.isoformat(), **as_at.query)
    return Counted(count, url), changes


def rag_counts(workstream: Workstream, today: datetime.date | None = None) -> RagRow:
    """One workstream's actions by BRAG, each count linked to the list of those actions."""
    return _rag_row(workstream, workstream.actions.rag_counts(today))


def slips_of(actions: QuerySet[Action]) -> QuerySet[DueDateChange]:
    """The slips of ``actions``: approved moves of the due date to a later date (what each
    action's ``slip_count`` counts)."""
    return DueDateChange.objects.filter(
        action__in=actions, decision=DueDateChange.Decision.APPROVED, to_date__gt=F("from_date")
    )


# An action's updates, its last one first: the latest period's, the last recorded in it. An
# update's period is the month it was recorded in, so this is also the order they were
# recorded in; ordered so, the database finds the last one through the (action, period)
# index, reading one or two of an action's updates instead of sorting all of them (for
# 20,000 actions with two years of updates: 0.2 s instead of 1.5 s on PostgreSQL).
LATEST_UPDATE_FIRST = ("-period", "-created_at", "-pk")


# A page of the action list (and of a workstream's actions). What other pages show as "a page
# of the list" their count links to (a report's most pressing actions, the dashboard's
# changes) is this many too.
ACTIONS_PER_PAGE = 25


class IdsFirstPaginator(Paginator):
    """Pages of a long list of rows, each page read in two queries: the ids of its rows, in
    the list's order, then those rows whole.

    A page of a sorted list asked at once made the database carry every row of the list
    whole (its long texts, its workstream, priority and lead officer joined) through the
    sort, to keep 25: 13 ms of a workstream of 5,000 actions in priority order, 40 to 60 ms
    of the action list of 20,000 sorted by status or due date. Sorting the ids alone takes
    a third of that, and reading 25 rows by id well under a millisecond."""

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:  # as Django's ``Paginator.page``
            top = self.count
        ids = list(self.object_list.values_list("pk", flat=True)[bottom:top])
        rows = self.object_list.order_by().filter(pk__in=ids).in_bulk()
        # A row gone between the two queries (deleted, or out of the filter) is left out.
        return self._get_page([rows[pk] for pk in ids if pk in rows], number, self)


def action_rows(
    actions: QuerySet[Action],
    today: datetime.date | None = None,
    *,
    recorded_before: datetime.datetime | None = None,
) -> QuerySet[Action]:
    """Actions ready for a table: workstream, priority and lead joined; RAG, overdue and
    the last update's date annotated. ``actions`` may be history rows (``AsAt.actions``):
    then only updates recorded before ``recorded_before`` count (the slips are the row's).
    """
    today = today or timezone.localdate()
    updates = ActionUpdate.objects.filter(action=OuterRef("id"))
    if recorded_before is not None:
        updates = updates.filter(created_at__lt=recorded_before)
    last_update = updates.order_by(*LATEST_UPDATE_FIRST).values("created_at")[:1]
    return (
        actions.select_related("workstream", "priority", "lead_officer")
        .with_rag(today)
        .with_attention(today)
        .annotate(last_update_at=Subquery(last_update))
    )


def with_last_update(
    actions: QuerySet, *, recorded_before: datetime.datetime | None = None
) -> QuerySet:
    """Annotate (after ``action_rows``) ``last_update_next_steps``: the next steps the last
    update gave (its progress is the action's own ``progress_narrative``, which each update
    sets); only updates recorded before ``recorded_before`` count, as in ``action_rows``. For
    the action tracker export, which shows them; the pages do not."""
    updates = ActionUpdate.objects.filter(action=OuterRef("id"))
    if recorded_before is not None:
        updates = updates.filter(created_at__lt=recorded_before)
    last = updates.order_by(*LATEST_UPDATE_FIRST).values("next_steps")[:1]
    return actions.annotate(last_update_next_steps=Subquery(last))


def action_for_page(reference: str) -> Action:
    """One action of the live plan with all its page shows: findings, updates (newest first)
    with their authors, due-date requests, and who accepted the evidence."""
    queryset = (
        action_rows(Action.objects.filter(plan__status=Plan.Status.LIVE))
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


def action_for_update(reference: str) -> Action:
    """One action of the live plan, with its plan and what the permission rules read (its
    workstream and lead officer): the page's plan and action in one query."""
    return get_object_or_404(
        Action.objects.select_related("plan", "workstream", "lead_officer").filter(
            plan__status=Plan.Status.LIVE
        ),
        reference=reference,
    )


def workstream_for_page(plan: Plan, code: str) -> Workstream:
    return get_object_or_404(plan.workstreams.all(), code=code)


def workstream_actions(workstream: Workstream) -> QuerySet[Action]:
    """A workstream's actions in priority order, ready for a table."""
    return action_rows(workstream.actions.all()).order_by(
        F("priority__number").asc(nulls_last=True), "reference"
    )


# The workstream page shows an indicator's values for this many months at most, one column
# a month: two years of them did not fit a desktop's width. The dashboard has the trend.
INDICATOR_MONTHS_SHOWN = 12


def workstream_indicators(workstream: Workstream) -> list[Indicator]:
    """The workstream's indicators, each with ``recent_values``: its values for the latest
    INDICATOR_MONTHS_SHOWN months it has, oldest first; and ``older_values``, whether it has
    values before those."""
    indicators = list(
        workstream.indicators.prefetch_related(
            Prefetch("values", queryset=IndicatorValue.objects.order_by("period"))
        )
    )
    for indicator in indicators:
        values = list(indicator.values.all())
        indicator.recent_values = values[-INDICATOR_MONTHS_SHOWN:]
        indicator.older_values = len(values) > INDICATOR_MONTHS_SHOWN
    return indicators


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
