"""The programme board's monthly dashboard (``/dashboard/``): what it reads.

Every figure is judged as ``AsAt`` asks (the plan now, judged at the end of the month
viewed; or the plan as it stood on a past date, rebuilt from the audit history), and every
count of actions comes from the selectors the action list filters by, with a link to that
list asking for the same state, so a count always equals the rows it links to.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import Exists, F, OuterRef, QuerySet, Subquery
from django.db.models.functions import JSONObject
from django.shortcuts import get_object_or_404

from workstreams import derived
from workstreams import selectors as delivery
from workstreams.audit import display_name
from workstreams.models import (
    Action,
    ActionStatus,
    ActionUpdate,
    Finding,
    Indicator,
    IndicatorValue,
    Plan,
    Rag,
    WorkforceSnapshot,
    Workstream,
    add_months,
    month_start,
)
from workstreams.selectors import AsAt, Counted, DeliveryRow, RagChange

from .models import Body, Meeting, ProgressReport, ReportItem, Risk

# An indicator's trend covers this many periods, up to the one viewed.
TREND_PERIODS = 12
# The dashboard lists this many of the actions whose BRAG changed, the most pressing: a page
# of the action list, where its count links to all of them. Fifty cost 15 ms more to read
# and show at 20,000 actions, where hundreds change in a month and no board reads them all
# on the dashboard.
CHANGES_SHOWN = delivery.ACTIONS_PER_PAGE
# The escalated risks shown, highest score first.
TOP_RISKS = 5


def dashboard_months(plan: Plan, today: datetime.date) -> list[datetime.date]:
    """The months the dashboard can show, newest first: the plan's, up to this one, and past
    the plan's end up to its latest month with data, which the dashboard shows unless asked
    for another (a plan still live after its end date is still being updated). ``plan`` is
    read by ``for_dashboard`` on the same day."""
    first = month_start(plan.period_start)
    last = max(
        min(month_start(plan.period_end), month_start(today)),
        latest_period_with_data(plan, today),
    )
    months = []
    while last >= first:
        months.append(last)
        last = add_months(last, -1)
    return months


def for_dashboard(plans: QuerySet[Plan], today: datetime.date) -> QuerySet[Plan]:
    """Plans with what the dashboard reads of them before its figures, in the plan's own
    query: the latest month, not after this one, of their action updates, indicator values
    and reports (``latest_update``, ``latest_value``, ``latest_report``), and the days the
    programme board met since the plan began (``board_met_on``, for ``baseline``)."""
    this_month = month_start(today)

    def latest(rows: QuerySet) -> Subquery:
        rows = rows.filter(period__lte=this_month).order_by("-period")
        return Subquery(rows.values("period")[:1])

    board_meetings = Meeting.objects.filter(
        body__kind=Body.Kind.PROGRAMME_BOARD, date__gte=OuterRef("period_start")
    )
    return plans.annotate(
        latest_update=latest(ActionUpdate.objects.filter(action__plan=OuterRef("pk"))),
        latest_value=latest(IndicatorValue.objects.filter(indicator__plan=OuterRef("pk"))),
        latest_report=latest(ProgressReport.objects.filter(plan=OuterRef("pk"))),
        board_met_on=delivery.json_rows(board_meetings, "body__kind", F("date")),
    )


def live_plan_or_404(today: datetime.date) -> Plan:
    """The live plan, read as the dashboard needs it (``for_dashboard``)."""
    return get_object_or_404(for_dashboard(Plan.objects.live(), today))


def latest_period_with_data(plan: Plan, today: datetime.date) -> datetime.date:
    """The plan's latest month with an action update, an indicator value or a report, not
    after this one; the plan's first month (or this one) where there is none yet. ``plan``
    is read by ``for_dashboard`` on the same day."""
    periods = [
        period
        for period in (plan.latest_update, plan.latest_value, plan.latest_report)
        if period is not None
    ]
    if periods:
        return max(periods)
    this_month = month_start(today)
    return max(min(this_month, month_start(plan.period_end)), month_start(plan.period_start))


# --- Since the last board ------------------------------------------------------------------


@dataclass(frozen=True)
class Baseline:
    """What "since the last board" means: the day of the programme board's last meeting
    before the day viewed (``board_met``), or, where it has none, the end of the month
    before the one viewed."""

    day: datetime.date
    board_met: bool


def baseline(plan: Plan, as_at: AsAt) -> Baseline:
    """``plan`` is read by ``for_dashboard``: the days its board met come with it."""
    met_before = [
        day for day in map(datetime.date.fromisoformat, plan.board_met_on or []) if day < as_at.day
    ]
    if met_before:
        return Baseline(max(met_before), board_met=True)
    period = as_at.period or month_start(as_at.day)
    return Baseline(period - datetime.timedelta(days=1), board_met=False)


# --- Indicators ----------------------------------------------------------------------------


@dataclass
class IndicatorRow:
    """A KPI: its latest value up to the month viewed and that value's RAG against target,
    whether the month viewed has no value (stale), and its values over the last periods."""

    indicator: Indicator
    latest_period: datetime.date | None = None
    latest_value: Decimal | None = None
    trend: list[tuple[datetime.date, Decimal | None]] = field(default_factory=list)

    @property
    def rag(self) -> Rag | None:
        if self.latest_value is None:
            return None
        return Rag(self.indicator.rag_for(self.latest_value))

    @property
    def stale(self) -> bool:
        return not self.trend or self.trend[-1][1] is None


def indicator_rows(plan: Plan, as_at: AsAt, period: datetime.date) -> list[IndicatorRow]:
    """Every indicator of the plan, by workstream, with its values up to ``period`` as they
    were recorded by the day viewed. One query: each indicator's row carries its latest
    value and the value of each month of its trend, each a lookup of the (indicator,
    period) pair."""
    if as_at.recorded_before:
        # Filtered after each row's latest version is found (``rows_as_they_stood``), so a
        # filter on the indicator outside is not copied into that search.
        values = delivery.rows_as_they_stood(IndicatorValue, as_at.recorded_before)
    else:
        values = IndicatorValue.objects.all()
    values = values.filter(indicator_id=OuterRef("pk")).order_by()

    def value(rows: QuerySet, field: str = "value") -> Subquery:
        return Subquery(rows.values(field)[:1])

    latest = values.filter(period__lte=period).order_by("-period")
    months = [add_months(period, -n) for n in range(TREND_PERIODS - 1, -1, -1)]
    trend = {f"value_{n}": value(values.filter(period=month)) for n, month in enumerate(months)}
    indicators = (
        Indicator.objects.filter(plan=plan)
        .select_related("workstream")
        .annotate(latest_period=value(latest, "period"), latest_value=value(latest), **trend)
        .order_by("workstream__code", "code")
    )
    return [
        IndicatorRow(
            indicator,
            latest_period=indicator.latest_period,
            latest_value=indicator.latest_value,
            trend=[(month, getattr(indicator, f"value_{n}")) for n, month in enumerate(months)],
        )
        for indicator in indicators
    ]


# --- Workforce -----------------------------------------------------------------------------


@dataclass
class Workforce:
    """The managers table on its latest date up to the day viewed: per service, and totals;
    the share of permanent (salaried) managers, and that share on each earlier date."""

    as_of: datetime.date | None = None
    cutoff: datetime.date | None = None
    rows: list = field(default_factory=list)
    total: int = 0
    locum: int = 0
    salaried: int = 0
    in_post_before_cutoff: int = 0
    joined_since_cutoff: int = 0
    trend: list[tuple[datetime.date, Decimal]] = field(default_factory=list)

    @property
    def permanent_share(self) -> Decimal | None:
        return permanent_share(self.salaried, self.total)


def permanent_share(salaried: int, total: int) -> Decimal | None:
    """Salaried managers as a percentage of all, to one decimal place."""
    if not total:
        return None
    return (Decimal(salaried) * 100 / Decimal(total)).quantize(Decimal("0.1"))


def workforce(as_at: AsAt) -> Workforce:
    """One query: every snapshot up to the day viewed (as recorded by then)."""
    if as_at.recorded_before:
        snapshots = delivery.rows_as_they_stood(
            WorkforceSnapshot, as_at.recorded_before, as_of__lte=as_at.day
        )
    else:
        snapshots = WorkforceSnapshot.objects.filter(as_of__lte=as_at.day)
    snapshots = list(snapshots.select_related("service_area").order_by("as_of"))
    result = Workforce()
    if not snapshots:
        return result
    by_date: dict[datetime.date, list] = {}
    for snapshot in snapshots:
        by_date.setdefault(snapshot.as_of, []).append(snapshot)
    result.trend = [
        (day, permanent_share(sum(s.salaried for s in rows), sum(s.total for s in rows)))
        for day, rows in by_date.items()
    ]
    result.as_of = max(by_date)
    result.rows = sorted(by_date[result.as_of], key=lambda s: s.service_area.name)
    result.cutoff = result.rows[0].cutoff
    for name in ("total", "locum", "salaried", "in_post_before_cutoff", "joined_since_cutoff"):
        setattr(result, name, sum(getattr(s, name) for s in result.rows))
    return result


# --- Assurance -----------------------------------------------------------------------------


def findings_without_live_action(plan: Plan, as_at: AsAt) -> list[Finding]:
    """Inspection findings no action answers, or only closed ones (a gap the board must
    see): judged on the actions as they stood on the day viewed."""
    answering = as_at.actions(plan).exclude(status=ActionStatus.CLOSED).values("id")
    # Asked of each finding's few links, not of every action: "not in the findings of all
    # open actions" read the 20,000 actions for twenty findings (13 ms against 1 ms).
    answered = Action.findings.through.objects.filter(
        finding_id=OuterRef("pk"), action_id__in=answering
    )
    found = Finding.objects.filter(plan=plan).exclude(Exists(answered)).order_by("reference")
    return list(found)


@dataclass(frozen=True)
class PeriodReport:
    """A workstream's (or the programme's) report for the month viewed, if there is one."""

    workstream: Workstream | None
    report: object | None

    @property
    def subject(self) -> str:
        return self.workstream.name if self.workstream else "Programme"


def period_reports(
    plan: Plan, as_at: AsAt, period: datetime.date, workstreams
) -> list[PeriodReport]:
    """The month's four-question reports in their state on the day viewed, one per
    workstream and one for the programme (None where none was started). Of a signed-off
    report's sealed snapshot, only what the board pack shows is read (``sealed_answers``,
    ``sealed_items``): not its every action, about 1 MB at 5,000 actions (70 ms a month).
    Each report carries its items as they stand (``current_items``, a list of dicts in no
    order: see ``report_items``), which the board pack shows of a report not signed off."""
    if as_at.recorded_before:
        reports = delivery.rows_as_they_stood(
            ProgressReport, as_at.recorded_before, plan=plan, period=period
        )
        items = delivery.rows_as_they_stood(ReportItem, as_at.recorded_before)
    else:
        reports = ProgressReport.objects.filter(plan=plan, period=period)
        items = ReportItem.objects.all()
    item_fields = JSONObject(
        id="id",
        description="description",
        due_date="due_date",
        outcome="outcome",
        owner_username="owner__username",
        owner_first_name="owner__first_name",
        owner_last_name="owner__last_name",
    )
    reports = reports.defer("snapshot").annotate(
        sealed_answers=F("snapshot__answers"),
        sealed_items=F("snapshot__items"),
        current_items=delivery.json_rows(
            items.filter(report_id=OuterRef("id")), "report_id", item_fields
        ),
    )
    by_subject = {report.workstream_id: report for report in reports}
    subjects = [*workstreams, None]
    return [PeriodReport(w, by_subject.get(w.pk if w else None)) for w in subjects]


def report_items(report) -> list[dict]:
    """A report's items as ``period_reports`` read them, in the shape of a sealed snapshot's
    (what the board pack shows), by due date."""
    items = sorted(report.current_items or [], key=lambda item: (item["due_date"], item["id"]))
    User = get_user_model()
    return [
        {
            "description": item["description"],
            "owner": display_name(
                User(
                    username=item["owner_username"],
                    first_name=item["owner_first_name"],
                    last_name=item["owner_last_name"],
                )
            ),
            "due_date": item["due_date"],
            "outcome": ReportItem.Outcome(item["outcome"]).label,
        }
        for item in items
    ]


def open_risks_as_at(plan: Plan, as_at: AsAt) -> list:
    """The plan's open risks in the state ``as_at`` asks for, with owner and workstream, in
    the register's order: highest score first, then highest impact."""
    if as_at.recorded_before:
        risks = delivery.rows_as_they_stood(Risk, as_at.recorded_before, plan=plan)
    else:
        risks = Risk.objects.filter(plan=plan)
    found = list(risks.filter(status=Risk.Status.OPEN).select_related("owner", "workstream"))
    found.sort(key=lambda risk: (-risk.score, -risk.impact, risk.title))
    return found


def top_escalated_risks(open_risks: list) -> tuple[int, list]:
    """Of the open risks, those escalated to the board: how many, and the highest scored."""
    risks = [risk for risk in open_risks if risk.escalated]
    risks.sort(key=lambda risk: (-risk.score, risk.title))
    return len(risks), risks[:TOP_RISKS]


# --- The page ------------------------------------------------------------------------------


@dataclass
class Dashboard:
    plan: Plan
    as_at: AsAt
    period: datetime.date
    next_period: datetime.date
    baseline: Baseline
    workstreams: list[Workstream]
    delivery: list[DeliveryRow]
    programme: DeliveryRow
    changed: Counted
    changes: list[RagChange]
    indicators: list[IndicatorRow]
    workforce: Workforce
    gaps: list[Finding]
    reports: list[PeriodReport]
    # Every open risk (the board pack's register), how many are escalated, and the highest
    # scored of those (the page's).
    open_risks: list
    escalated_risks: int
    risks: list

    @property
    def judged_on(self) -> datetime.date:
        return self.as_at.day

    @property
    def from_history(self) -> bool:
        """Whether the page shows the plan as it stood (rebuilt from the audit history)."""
        return self.as_at.recorded_before is not None

    @property
    def changes_not_shown(self) -> int:
        return self.changed.count - len(self.changes)


def dashboard(plan: Plan, as_at: AsAt) -> Dashboard:
    """Everything the dashboard shows for the month ``as_at.period``, as ``as_at`` asks.
    Worked out once until a record changes or the day does (``derived.cached``): the page and
    the board pack read the same figures."""
    asked = (plan.pk, as_at.today, as_at.period, as_at.as_of)
    return derived.cached("dashboard", asked, lambda: _dashboard(plan, as_at))


def _dashboard(plan: Plan, as_at: AsAt) -> Dashboard:
    """The dashboard worked out from the records: a fixed number of queries, whatever the
    size of the plan."""
    period = as_at.period or month_start(as_at.day)
    workstreams = sorted(plan.workstreams.all(), key=lambda w: w.code)
    rows, programme = delivery.delivery_table(plan, as_at, workstreams=workstreams)
    since = baseline(plan, as_at)
    changed, changes = delivery.rag_changes(plan, as_at, since.day, limit=CHANGES_SHOWN)
    open_risks = open_risks_as_at(plan, as_at)
    escalated, risks = top_escalated_risks(open_risks)
    return Dashboard(
        plan=plan,
        as_at=as_at,
        period=period,
        next_period=add_months(period, 1),
        baseline=since,
        workstreams=workstreams,
        delivery=rows,
        programme=programme,
        changed=changed,
        changes=changes,
        indicators=indicator_rows(plan, as_at, period),
        workforce=workforce(as_at),
        gaps=findings_without_live_action(plan, as_at),
        reports=period_reports(plan, as_at, period, workstreams),
        open_risks=open_risks,
        escalated_risks=escalated,
        risks=risks,
    )
