"""manage.py generate_plan: a synthetic plan with months of updates and their history."""

import datetime
import html
import io
import math
import re
from io import StringIO

import openpyxl
import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from governance import dashboard, selectors, services
from governance.management.commands import generate_plan as command
from governance.models import (
    Body,
    Decision,
    Meeting,
    Membership,
    ProgressReport,
    ReportItem,
    Review,
    Risk,
)
from tests.helpers import DEMO_USERNAMES
from workstreams.models import (
    Action,
    ActionStatus,
    ActionUpdate,
    DueDateChange,
    Indicator,
    IndicatorValue,
    Plan,
    Priority,
    ServiceArea,
    WorkforceSnapshot,
    Workstream,
)
from workstreams.selectors import AsAt

pytestmark = pytest.mark.django_db

ACTIONS, MONTHS = 30, 3
START = datetime.date(2018, 5, 1)
MONTH_STARTS = [datetime.date(2018, 5, 1), datetime.date(2018, 6, 1), datetime.date(2018, 7, 1)]
TITLE = f"Synthetic plan: {ACTIONS} actions, {MONTHS} months (seed 7)"


SERVICES = [f"Synthetic service {n}" for n in range(1, 7)]


class Terminal(StringIO):
    """Output that says it is a terminal, as a console's is."""

    def isatty(self):
        return True


def generate(seed=7, out=None, **options) -> str:
    options = {"actions": ACTIONS, "months": MONTHS, "start_month": "2018-05", **options}
    out = out or StringIO()
    call_command("generate_plan", seed=seed, stdout=out, **options)
    return out.getvalue()


def actions_of(plan):
    return Action.objects.filter(plan=plan).select_related("workstream", "lead_officer")


def in_month(moment: datetime.datetime, month: datetime.date) -> bool:
    local = timezone.localtime(moment).date()
    return (local.year, local.month) == (month.year, month.month)


class RolledBack(Exception):
    pass


def generated_then_rolled_back(seed: int) -> list[tuple]:
    """What one run makes (references, statuses, dates, leads, words), then undo it."""
    made = []
    try:
        with transaction.atomic():
            generate(seed=seed)
            plan = Plan.objects.get(
                title=f"Synthetic plan: {ACTIONS} actions, {MONTHS} months (seed {seed})"
            )
            made = [
                (
                    action.reference,
                    action.status,
                    action.due_date,
                    action.revised_due_date,
                    action.lead_officer.username,
                    action.title,
                    action.progress_narrative,
                    tuple(action.updates.order_by("period").values_list("status", "created_at")),
                )
                for action in actions_of(plan).order_by("reference")
            ]
            made += list(
                IndicatorValue.objects.filter(indicator__plan=plan)
                .order_by("indicator__code", "period")
                .values_list("indicator__code", "indicator__target", "period", "value")
            )
            made += list(
                WorkforceSnapshot.objects.filter(service_area__name__in=SERVICES)
                .order_by("service_area__name", "as_of")
                .values_list("service_area__name", "as_of", "total", "locum", "joined_since_cutoff")
            )
            made += governance_of(plan)
            raise RolledBack
    except RolledBack:
        pass
    return made


def governance_of(plan) -> list[tuple]:
    """The plan's reports (with their items, reviews and seal), meetings, decisions and
    risks (with their history), by what people see of them rather than by ids."""
    made = list(
        ProgressReport.objects.filter(plan=plan)
        .order_by("period", "workstream__code")
        .values_list(
            "workstream__code",
            "period",
            "status",
            "version",
            "working_well",
            "how_we_know",
            "worried_about",
            "checksum",
            "signed_off_at",
            "created_by__username",
            "created_at",
        )
    )
    made += list(
        ReportItem.objects.filter(report__plan=plan)
        .order_by("report__period", "report__workstream__code", "due_date", "description")
        .values_list(
            "report__workstream__code",
            "report__period",
            "description",
            "owner__username",
            "due_date",
            "outcome",
            "carried_from__report__period",
        )
    )
    made += list(
        Review.objects.filter(report__plan=plan)
        .order_by("at", "report__workstream__code")
        .values_list(
            "report__workstream__code", "step", "by__username", "at", "comment", "meeting__date"
        )
    )
    meetings = Meeting.objects.filter(body__name__endswith=f"({plan.title})")
    made += [
        (
            m.body.name,
            m.date,
            m.period,
            m.minutes,
            tuple(sorted(a.username for a in m.attendees.all())),
        )
        for m in meetings.order_by("date", "body__name").prefetch_related("attendees")
    ]
    made += list(
        Decision.objects.filter(meeting__in=meetings)
        .order_by("meeting__date", "meeting__body__name", "text")
        .values_list("meeting__date", "text", "owner__username", "due_date", "closed_at__date")
    )
    made += list(
        Risk.history.filter(plan=plan)
        .order_by("history_date", "title")
        .values_list(
            "workstream__code",
            "title",
            "likelihood",
            "impact",
            "escalated",
            "status",
            "history_date",
            "history_change_reason",
        )
    )
    return made


def test_it_makes_n_actions_each_with_an_update_and_a_history_row_per_month():
    output = generate()

    plan = Plan.objects.get(title=TITLE)
    assert plan.status == Plan.Status.LIVE
    assert plan.period_start == START
    actions = list(actions_of(plan))
    assert len(actions) == ACTIONS
    assert f"{ACTIONS} actions" in output and "Took" in output

    updates = ActionUpdate.objects.filter(action__plan=plan)
    assert updates.count() == ACTIONS * MONTHS
    assert ActionUpdate.history.filter(action__plan=plan, history_type="+").count() == (
        ACTIONS * MONTHS
    )
    for action in actions:
        assert sorted(action.updates.values_list("period", flat=True)) == MONTH_STARTS
        history = list(action.history.order_by("history_date"))
        # Created, then changed once a month; the version counts the saves.
        assert [h.history_type for h in history] == ["+"] + ["~"] * MONTHS
        assert [h.version for h in history] == list(range(1, MONTHS + 2))
        assert action.version == MONTHS + 1
        assert history[0].status == ActionStatus.NOT_STARTED
        for record, month in zip(history[1:], MONTH_STARTS, strict=True):
            assert in_month(record.history_date, month)
        # The newest history row is the action as it stands.
        latest = history[-1]
        assert (latest.status, latest.progress_narrative, latest.evidence_of_impact) == (
            action.status,
            action.progress_narrative,
            action.evidence_of_impact,
        )
        # Each month's update says what the action's history row of that month says.
        by_period = {u.period: u for u in action.updates.all()}
        for record, month in zip(history[1:], MONTH_STARTS, strict=True):
            assert by_period[month].status == record.status
            assert by_period[month].progress_narrative == record.progress_narrative
            assert in_month(by_period[month].created_at, month)
            assert by_period[month].created_by_id == action.lead_officer_id


def test_the_plan_has_workstreams_priorities_task_groups_and_references_that_fit():
    generate()

    plan = Plan.objects.get(title=TITLE)
    codes = list(Workstream.objects.filter(plan=plan).values_list("code", flat=True))
    assert 4 <= len(codes) <= 6
    assert codes == list("ABCDEF"[: len(codes)])
    assert list(Priority.objects.filter(plan=plan).values_list("number", flat=True)) == [
        1,
        2,
        3,
        4,
        5,
    ]
    references = set()
    for action in actions_of(plan):
        assert re.fullmatch(rf"{action.workstream.code}-[1-5]\.\d+", action.reference)
        assert action.reference.split("-")[1].split(".")[0] == str(action.priority.number)
        assert action.lead_officer.username.startswith("synthetic.lead.")
        assert plan.period_start < action.due_date <= plan.period_end
        references.add(action.reference)
    assert len(references) == ACTIONS

    for workstream in Workstream.objects.filter(plan=plan):
        group = Body.objects.get(workstream=workstream)
        assert group.kind == Body.Kind.TASK_GROUP
        chair = group.memberships.get(role=Membership.Role.CHAIR).user
        assert chair.username == f"synthetic.chair.{workstream.code.lower()}"
        members = set(
            group.memberships.filter(role=Membership.Role.MEMBER).values_list(
                "user__username", flat=True
            )
        )
        assert members, "a task group has members"
        # The leads of a workstream's actions sit on its task group.
        leads = set(
            Action.objects.filter(workstream=workstream).values_list(
                "lead_officer__username", flat=True
            )
        )
        assert leads <= members


def test_statuses_are_mixed_and_the_database_rules_hold():
    generate()

    plan = Plan.objects.get(title=TITLE)
    actions = Action.objects.filter(plan=plan)
    statuses = set(actions.values_list("status", flat=True))
    assert len(statuses) >= 4 and ActionStatus.COMPLETE in statuses
    for action in actions:
        if action.status == ActionStatus.COMPLETE:
            assert action.evidence_of_impact.strip()
        if action.evidence_accepted_at:
            assert action.status == ActionStatus.COMPLETE
            assert action.evidence_accepted_by.username.startswith("synthetic.chair.")
        if action.revised_due_date:
            assert action.revised_due_reason.strip()
    for change in DueDateChange.objects.filter(action__plan=plan):
        assert change.decision == DueDateChange.Decision.APPROVED and change.decided_at
        assert change.to_date > change.from_date

    # The database still refuses a complete action without evidence.
    action = actions.filter(status=ActionStatus.COMPLETE).first()
    action.evidence_of_impact = ""
    with pytest.raises(IntegrityError), transaction.atomic():
        action.save()


def test_each_action_and_history_row_counts_the_slips_decided_by_then():
    generate(actions=80, months=8)  # enough months for due dates to move

    actions = Action.objects.filter(plan__title__startswith="Synthetic plan: 80 actions")
    assert actions.filter(slip_count__gt=1).exists()
    for action in actions:
        moves = action.due_date_changes.all()
        assert action.slip_count == moves.count()
        for row in action.history.all():
            assert row.slip_count == moves.filter(decided_at__lte=row.history_date).count()


def test_the_same_seed_gives_the_same_plan_and_another_seed_another():
    first = generated_then_rolled_back(seed=7)
    again = generated_then_rolled_back(seed=7)
    other = generated_then_rolled_back(seed=8)

    assert len(first) > ACTIONS  # the actions, indicator values and workforce snapshots
    # ... and the governance: sealed reports among them, whose checksums come out the same.
    sealed = [row for row in first if len(row) == 11 and row[2] == "signed_off"]
    assert sealed and all(len(row[7]) == 64 for row in sealed)
    assert first == again
    assert [row[:2] for row in other] != [row[:2] for row in first]


def test_the_plan_that_was_live_is_closed_with_history(office):
    before = Plan.objects.live().get()

    generate(as_user="office")

    before.refresh_from_db()
    assert before.status == Plan.Status.CLOSED
    latest = before.history.order_by("-history_date").first()
    assert (latest.status, latest.history_user) == (Plan.Status.CLOSED, office)
    assert Plan.objects.live().get().title == TITLE


def test_every_history_row_it_writes_records_the_acting_user(office):
    generate(as_user="office", actions=60)  # enough actions for some due dates to move

    plan = Plan.objects.get(title="Synthetic plan: 60 actions, 3 months (seed 7)")
    written = [
        plan.history.all(),
        Priority.history.filter(plan=plan),
        Workstream.history.filter(plan=plan),
        Action.history.filter(plan=plan),
        ActionUpdate.history.filter(action__plan=plan),
        DueDateChange.history.filter(action__plan=plan),
        Body.history.filter(workstream__plan=plan),
        Membership.history.filter(body__workstream__plan=plan),
        Indicator.history.filter(plan=plan),
        IndicatorValue.history.filter(indicator__plan=plan),
        ServiceArea.history.filter(name__in=SERVICES),
        WorkforceSnapshot.history.filter(service_area__name__in=SERVICES),
        Body.history.filter(name=f"Programme board ({plan.title})"),
        Meeting.history.filter(body__name__endswith=f"({plan.title})"),
        Decision.history.filter(meeting__body__name__endswith=f"({plan.title})"),
        Risk.history.filter(plan=plan),
        ProgressReport.history.filter(plan=plan),
        ReportItem.history.filter(report__plan=plan),
        Review.history.filter(report__plan=plan),
    ]
    assert Action.history.filter(plan=plan).count() == 60 * (MONTHS + 1)
    for rows in written:
        assert rows.exists()
        assert set(rows.values_list("history_user__username", flat=True)) == {"office"}


def test_without_as_user_history_records_the_system_user():
    generate()

    plan = Plan.objects.get(title=TITLE)
    assert set(
        Action.history.filter(plan=plan).values_list("history_user__username", flat=True)
    ) == {"grip.system"}


def test_linked_findings_are_in_every_history_row_of_their_action():
    generate(actions=60)

    plan = Plan.objects.get(title="Synthetic plan: 60 actions, 3 months (seed 7)")
    linked = Action.objects.filter(plan=plan, findings__isnull=False).distinct()
    assert linked.exists()
    for action in linked:
        wanted = set(action.findings.values_list("pk", flat=True))
        for record in action.history.all():
            assert set(record.findings.values_list("finding_id", flat=True)) == wanted


def test_synthetic_users_cannot_sign_in_and_demo_users_are_untouched():
    User = get_user_model()
    demo_before = {
        u.username: (u.password, u.is_active)
        for u in User.objects.filter(username__in=DEMO_USERNAMES)
    }

    generate()

    synthetic = User.objects.filter(username__startswith="synthetic.")
    assert synthetic.exists()
    for user in synthetic:
        assert re.fullmatch(r"synthetic\.(chair\.[a-f]|lead\.\d+|board\.chair)", user.username)
        assert not user.has_usable_password()
    demo_after = {
        u.username: (u.password, u.is_active)
        for u in User.objects.filter(username__in=DEMO_USERNAMES)
    }
    assert demo_after == demo_before
    plan = Plan.objects.get(title=TITLE)
    assert not Membership.objects.filter(
        body__workstream__plan=plan, user__username__in=DEMO_USERNAMES
    ).exists()


def test_a_second_run_with_the_same_title_is_refused_and_changes_nothing():
    generate()
    counts = (Plan.objects.count(), Action.objects.count(), Action.history.count())

    with pytest.raises(CommandError, match="already a plan titled"):
        generate()

    assert (Plan.objects.count(), Action.objects.count(), Action.history.count()) == counts
    assert Plan.objects.live().get().title == TITLE


def test_months_that_reach_the_current_month_are_refused():
    this_month = timezone.localdate().replace(day=1)
    with pytest.raises(CommandError, match="end before the current month"):
        generate(start_month=f"{this_month:%Y-%m}", months=1)
    assert not Plan.objects.filter(title__startswith="Synthetic plan").exists()


def test_without_a_start_month_the_updates_end_last_month():
    generate(start_month=None, months=2, actions=5)

    plan = Plan.objects.get(title="Synthetic plan: 5 actions, 2 months (seed 7)")
    this_month = timezone.localdate().replace(day=1)
    last_month = (this_month - datetime.timedelta(days=1)).replace(day=1)
    periods = set(ActionUpdate.objects.filter(action__plan=plan).values_list("period", flat=True))
    assert max(periods) == last_month
    assert len(periods) == 2


def test_the_last_write_of_the_actions_goes_in_batches_and_keeps_every_history_row(monkeypatch):
    """bulk_update writes a CASE WHEN per row and field: one statement over every action
    costs the database the square of their number, so the actions are written in batches."""
    monkeypatch.setattr(command, "BATCH_SIZE", 7)

    with CaptureQueriesContext(connection) as queries:
        generate()

    plan = Plan.objects.get(title=TITLE)
    updates = [q["sql"] for q in queries if q["sql"].startswith('UPDATE "workstreams_action"')]
    assert len(updates) >= math.ceil(ACTIONS / 7)
    assert all(sql.count("WHEN") <= 7 * 6 for sql in updates)  # 7 rows, up to 6 fields
    assert Action.history.filter(plan=plan).count() == ACTIONS * (MONTHS + 1)
    for action in actions_of(plan):
        latest = action.history.order_by("-history_date").first()
        assert (latest.status, latest.progress_narrative, latest.version) == (
            action.status,
            action.progress_narrative,
            action.version,
        )
        assert latest.revised_due_date == action.revised_due_date
        assert latest.evidence_accepted_at == action.evidence_accepted_at
    # The reports, their items, the risks and the decisions that change go in batches too.
    for table in ("progressreport", "reportitem", "risk", "decision"):
        table = f"governance_{table}"
        statements = [q["sql"] for q in queries if q["sql"].startswith(f'UPDATE "{table}"')]
        assert statements, table
        for sql in statements:
            assert 0 < len(set(re.findall(rf'WHEN \("{table}"\."id" = (\d+)\)', sql))) <= 7


def test_each_workstream_has_two_indicators_with_a_value_for_most_months():
    generate(actions=60, months=6)

    plan = Plan.objects.get(title="Synthetic plan: 60 actions, 6 months (seed 7)")
    months = [datetime.date(2018, month, 1) for month in range(5, 11)]
    workstreams = list(plan.workstreams.order_by("code"))
    indicators = list(Indicator.objects.filter(plan=plan).order_by("code"))
    assert [i.code for i in indicators] == [
        f"{ws.code}-KPI-{n}" for ws in workstreams for n in (1, 2)
    ]
    values = IndicatorValue.objects.filter(indicator__plan=plan)
    # About one month in ten goes unreported.
    assert 0.75 * len(indicators) * 6 <= values.count() < len(indicators) * 6
    for indicator in indicators:
        assert indicator.workstream.code == indicator.code.split("-")[0]
        assert indicator.unit in (Indicator.Unit.PERCENT, Indicator.Unit.NUMBER)
        assert indicator.target > 0 and indicator.tolerance > 0
        assert indicator.higher_is_better == (indicator.unit == Indicator.Unit.PERCENT)
        series = list(indicator.values.order_by("period"))
        assert series and {v.period for v in series} <= set(months)
        if indicator.unit == Indicator.Unit.PERCENT:
            assert all(0 <= v.value <= 100 for v in series)
        # Each value was recorded in the first week of the month after its period.
        for value in series:
            (record,) = value.history.all()
            recorded = timezone.localtime(record.history_date).date()
            following = (value.period + datetime.timedelta(days=32)).replace(day=1)
            assert following <= recorded <= following.replace(day=7)
    # Trending towards target: the last values are nearer it than the first, on the whole.
    nearer = 0
    for indicator in indicators:
        series = list(indicator.values.order_by("period").values_list("value", flat=True))
        nearer += abs(series[-1] - indicator.target) < abs(series[0] - indicator.target)
    assert nearer >= 0.75 * len(indicators)


def test_workforce_snapshots_are_quarterly_and_add_up():
    generate(months=8)  # May to December 2018: quarters ending June, September, December

    snapshots = WorkforceSnapshot.objects.filter(service_area__name__in=SERVICES)
    assert set(
        ServiceArea.objects.filter(name__startswith="Synthetic").values_list("name", flat=True)
    ) == set(SERVICES)
    ends = [datetime.date(2018, 6, 30), datetime.date(2018, 9, 30), datetime.date(2018, 12, 31)]
    for name in SERVICES:
        mine = list(snapshots.filter(service_area__name=name).order_by("as_of"))
        assert [s.as_of for s in mine] == ends
        assert {s.cutoff for s in mine} == {datetime.date(2017, 5, 1)}
        for snapshot in mine:
            assert snapshot.total == snapshot.locum + snapshot.salaried
            assert snapshot.total == snapshot.in_post_before_cutoff + snapshot.joined_since_cutoff
            assert snapshot.total >= 1
        # Nobody joins "before the cut-off" after it: that count never grows.
        befores = [s.in_post_before_cutoff for s in mine]
        assert befores == sorted(befores, reverse=True)


def test_workforce_snapshots_already_there_are_left_alone():
    area = ServiceArea.objects.create(name="Synthetic service 2")
    kept = WorkforceSnapshot.objects.create(
        service_area=area,
        as_of=datetime.date(2018, 6, 30),
        cutoff=datetime.date(2017, 1, 1),
        total=3,
        locum=1,
        salaried=2,
        in_post_before_cutoff=2,
        joined_since_cutoff=1,
    )

    generate()
    generate(seed=8)  # another synthetic plan over the same months

    assert ServiceArea.objects.filter(name__in=SERVICES).count() == 6
    june = WorkforceSnapshot.objects.filter(as_of=datetime.date(2018, 6, 30))
    assert june.filter(service_area__name__in=SERVICES).count() == 6
    assert june.get(service_area=area) == kept
    kept.refresh_from_db()
    assert (kept.total, kept.cutoff) == (3, datetime.date(2017, 1, 1))


def test_figures_of_the_last_months_are_never_recorded_after_now():
    generate(start_month="2018-10", months=3)  # December's figures, recorded in January

    plan = Plan.objects.get(title=TITLE)
    now = timezone.now()
    recorded = [
        *IndicatorValue.history.filter(indicator__plan=plan).values_list("history_date", flat=True),
        *WorkforceSnapshot.history.filter(service_area__name__in=SERVICES).values_list(
            "history_date", flat=True
        ),
    ]
    assert recorded and max(recorded) <= now


def test_a_terminal_sees_a_progress_line_per_month_and_other_output_does_not():
    on_terminal = generate(out=Terminal())
    assert "\rMonthly updates: 1 of 3\rMonthly updates: 2 of 3\rMonthly updates: 3 of 3\n" in (
        on_terminal
    )

    other = generate(seed=8)
    assert "\r" not in other and "Monthly updates" not in other
    assert "Took" in other

    quiet = generate(seed=9, out=Terminal(), verbosity=0)
    assert quiet == ""


def test_verbosity_2_says_how_long_each_step_took():
    output = generate(verbosity=2)

    for step in (
        "monthly updates",
        "indicators",
        "workforce snapshots",
        "risks",
        "meetings and decisions",
        "four-question reports",
    ):
        assert re.search(rf"^  {step}: \d+\.\d s$", output, re.MULTILINE)


# --- Reports, meetings and risks ---------------------------------------------------------------
# Six months, May to October 2018, read on the suite's pinned day (10 January 2019): every
# step of the workflow has happened by then, and the board's next meeting is still to come.

SIX_MONTHS = [datetime.date(2018, month, 1) for month in range(5, 11)]
GOVERNED = "Synthetic plan: 50 actions, 6 months (seed 7)"


def governed_plan(**options) -> Plan:
    generate(actions=50, months=6, **options)
    return Plan.objects.get(title=GOVERNED)


def board_of(plan) -> Body:
    return Body.objects.get(name=f"Programme board ({plan.title})")


def meetings_of(plan):
    return Meeting.objects.filter(body__name__endswith=f"({plan.title})")


# What each step does to a report, as the services allow it (governance/services.py): from
# which states, to which, and who may take it (a return: the chair while it is submitted, the
# programme board's chair once it is endorsed).
STEPS = {
    Review.Step.SUBMIT: ({"draft"}, "submitted"),
    Review.Step.ENDORSE: ({"submitted"}, "endorsed"),
    Review.Step.SIGN_OFF: ({"endorsed"}, "signed_off"),
    Review.Step.RETURN: ({"submitted", "endorsed"}, "draft"),
}


def permission_for(step: str, status: str) -> str:
    if step == Review.Step.RETURN:
        step = Review.Step.ENDORSE if status == "submitted" else Review.Step.SIGN_OFF
    return {
        Review.Step.SUBMIT: "governance.draft_report",
        Review.Step.ENDORSE: "governance.endorse_report",
        Review.Step.SIGN_OFF: "governance.sign_off_report",
    }[step]


def test_reports_meetings_decisions_and_risks_are_there_in_every_state():
    output = generate(actions=50, months=6)

    plan = Plan.objects.get(title=GOVERNED)
    workstreams = list(plan.workstreams.order_by("code"))
    reports = ProgressReport.objects.filter(plan=plan)
    # One report per workstream and month, none for the programme as a whole.
    assert sorted(reports.values_list("workstream__code", "period")) == sorted(
        (ws.code, month) for ws in workstreams for month in SIX_MONTHS
    )
    assert f"{len(workstreams) * 6} reports" in output
    by_state = {status: set() for status in ProgressReport.Status.values}
    for report in reports:
        by_state[report.status].add(report.period)
    # The earlier months signed off; the last two in every state of the workflow.
    assert by_state["signed_off"] >= set(SIX_MONTHS[:4])
    assert by_state["draft"] and by_state["submitted"] and by_state["endorsed"]
    assert max(by_state["draft"]) == SIX_MONTHS[-1]
    assert by_state["draft"] | by_state["submitted"] | by_state["endorsed"] <= set(SIX_MONTHS[4:])
    returned = reports.filter(status="draft", reviews__step=Review.Step.RETURN).distinct()
    # Returned by a task group chair, and by the programme board's chair.
    returners = set(returned.values_list("reviews__by__username", flat=True))
    assert "synthetic.board.chair" in returners
    assert any(name.startswith("synthetic.chair.") for name in returners)
    for review in Review.objects.filter(report__plan=plan, step=Review.Step.RETURN):
        assert review.comment.strip()
    outcomes = set(ReportItem.objects.filter(report__plan=plan).values_list("outcome", flat=True))
    assert outcomes == set(ReportItem.Outcome.values)
    assert ReportItem.objects.filter(report__plan=plan, carried_from__isnull=False).exists()

    # The board meets on the 12th, reviewing the month before; its next meeting is to come.
    board = list(meetings_of(plan).filter(body=board_of(plan)).order_by("date"))
    assert [(m.date, m.period) for m in board] == [
        *[(datetime.date(2018, m + 1, 12), datetime.date(2018, m, 1)) for m in range(5, 11)],
        (datetime.date(2019, 1, 12), datetime.date(2018, 12, 1)),
    ]
    today = timezone.localdate()
    held, to_come = board[:-1], board[-1]
    assert to_come.date > today and not to_come.attendees.exists() and not to_come.minutes
    assert all(m.attendees.exists() and m.minutes for m in held)
    for ws in workstreams:
        mine = meetings_of(plan).filter(body__workstream=ws).order_by("date")
        assert list(mine.values_list("period", flat=True)) == SIX_MONTHS
        assert all(m.date.weekday() < 5 and m.date.day <= 9 for m in mine)
    decisions = Decision.objects.filter(meeting__in=meetings_of(plan))
    assert decisions.filter(closed_at__isnull=False).exists()
    assert decisions.filter(closed_at__isnull=True, due_date__lt=today).exists()  # overdue
    assert decisions.filter(closed_at__isnull=True, due_date__gte=today).exists()  # not yet due
    assert decisions.filter(meeting__date__gte=today).count() == 0

    for ws in workstreams:
        risks = Risk.objects.filter(plan=plan, workstream=ws)
        assert risks.filter(status="open", escalated=False).exists()
        assert risks.filter(status="open", escalated=True).exists()
        assert risks.filter(status="closed").exists()
    scores = set(Risk.history.filter(plan=plan).values_list("likelihood", "impact"))
    assert len(scores) >= 6
    for label in ("risks", "meetings", "decisions", "reviews", "report items"):
        assert re.search(rf"\b\d+ {label}\b", output)


def test_the_reports_follow_the_workflow_as_the_services_and_rules_allow():
    plan = governed_plan()

    acting = get_user_model().objects.get(username="grip.system")
    now = timezone.now()
    for report in ProgressReport.objects.filter(plan=plan).select_related("workstream"):
        report.full_clean()
        status = "draft"
        for review in report.reviews.select_related("by", "meeting").order_by("at", "pk"):
            review.full_clean()
            allowed_from, to = STEPS[review.step]
            assert status in allowed_from, (report, review.step, status)
            assert review.by.has_perm(permission_for(review.step, status), report)
            if review.meeting is not None:
                assert review.meeting.period == report.period  # services._review's rule
                assert review.meeting.date == timezone.localtime(review.at).date()
            assert review.at <= now
            status = to
        assert status == report.status
        if report.status == "signed_off":
            assert report.signed_off_at == report.reviews.get(step="sign_off").at
        # A history row for each save, numbered by the version, by the acting user, in order.
        history = list(report.history.order_by("history_date", "history_id"))
        assert [h.version for h in history] == list(range(1, report.version + 1))
        assert history[0].history_type == "+" and history[0].status == "draft"
        assert history[-1].status == report.status
        assert {h.history_user_id for h in history} == {acting.pk}
        assert history[-1].history_date <= now
        assert in_month(history[0].history_date, report.period)
        assert report.created_by.has_perm("governance.draft_report", report)

    # Nothing said to the board is dropped: each month's items still to happen are carried
    # into the next report (as report_start carries them), and only those.
    for report in ProgressReport.objects.filter(plan=plan).exclude(period=SIX_MONTHS[-1]):
        assert not selectors.open_items_before(plan, report.workstream, SIX_MONTHS[-1]).exists()
    for item in ReportItem.objects.filter(report__plan=plan).select_related("carried_from__report"):
        item.full_clean()
        earlier = item.carried_from
        if earlier is not None:
            assert earlier.outcome == ReportItem.Outcome.PENDING
            assert earlier.report.workstream_id == item.report.workstream_id
            assert (earlier.description, earlier.owner_id, earlier.due_date) == (
                item.description,
                item.owner_id,
                item.due_date,
            )
            previous = selectors.report_before(item.report)
            assert earlier.report == previous

    # Decisions close at a later meeting of their own body (services.decision_close).
    for decision in Decision.objects.filter(meeting__in=meetings_of(plan)).select_related(
        "meeting", "closed_at"
    ):
        decision.full_clean()
        if decision.closed_at is not None:
            assert decision.closed_at.body_id == decision.meeting.body_id
            assert decision.closed_at.date > decision.meeting.date
            assert decision.closing_note.strip()
            rows = list(decision.history.order_by("history_date"))
            assert [r.history_type for r in rows] == ["+", "~"]
            assert timezone.localtime(rows[1].history_date).date() == decision.closed_at.date
    for meeting in meetings_of(plan):
        meeting.full_clean()
        assert meeting.history.get().attendees.count() == meeting.attendees.count()
    for risk in Risk.objects.filter(plan=plan):
        risk.full_clean()
        rows = list(risk.history.order_by("history_date", "history_id"))
        assert rows[-1].history_id == selectors.risk_state(risk)  # the latest is the risk now
        assert (rows[-1].likelihood, rows[-1].impact, rows[-1].status) == (
            risk.likelihood,
            risk.impact,
            risk.status,
        )
        assert [r.status for r in rows[:-1]] == ["open"] * (len(rows) - 1)
        for before, after in zip(rows, rows[1:], strict=False):
            assert after.history_change_reason
            fields = ("likelihood", "impact", "escalated", "status")
            assert [getattr(before, f) for f in fields] != [getattr(after, f) for f in fields]


def test_the_generated_reports_take_their_next_step_through_the_services():
    """A draft, a submitted and an endorsed report of the generated plan are each taken a
    step on by the services, by the person the workflow names: the rows fit the services."""
    plan = governed_plan()

    User = get_user_model()
    reports = ProgressReport.objects.filter(plan=plan)
    draft = reports.filter(status="draft").first()
    submitted = reports.filter(status="submitted").first()
    endorsed = reports.filter(status="endorsed").first()
    chair = User.objects.get(username=f"synthetic.chair.{submitted.workstream.code.lower()}")
    board_chair = User.objects.get(username="synthetic.board.chair")

    services.report_submit(report=draft, by=draft.created_by, based_on_version=draft.version)
    services.report_endorse(report=submitted, by=chair, based_on_version=submitted.version)
    services.report_sign_off(report=endorsed, by=board_chair, based_on_version=endorsed.version)

    for report, now in ((draft, "submitted"), (submitted, "endorsed"), (endorsed, "signed_off")):
        report.refresh_from_db()
        assert report.status == now
    assert endorsed.checksum == selectors.snapshot_checksum(endorsed.snapshot)


def test_signed_off_reports_are_sealed_as_the_sign_off_seals_them_and_their_pages_show_it(
    client, office
):
    plan = governed_plan()

    client.force_login(office)
    signed = ProgressReport.objects.filter(plan=plan, status="signed_off").select_related(
        "plan", "workstream"
    )
    assert signed.count() >= 4 * 4
    for report in signed:
        # What report_sign_off would seal on these rows, and its checksum, verified.
        assert report.snapshot == selectors.report_snapshot(report)
        assert report.checksum == selectors.snapshot_checksum(report.snapshot)
        assert report.snapshot["answers"]["working_well"] == report.working_well
        assert len(report.snapshot["items"]) == report.items.count()
    for report in [signed.first(), signed.last()]:
        response = client.get(reverse("governance:report-detail", args=[report.pk]))
        assert response.status_code == 200
        assert f'id="checksum">{report.checksum}</code>' in response.content.decode()
        assert html.escape(report.worried_about.splitlines()[0]) in response.content.decode()
    for status in ("draft", "submitted", "endorsed"):
        report = ProgressReport.objects.filter(plan=plan, status=status).first()
        response = client.get(reverse("governance:report-detail", args=[report.pk]))
        assert response.status_code == 200
        assert f'data-status="{status}"' in response.content.decode()

    # The board pack's Reports sheet of a signed-off month gives each report's checksum.
    response = client.get(reverse("governance:board-pack"), {"period": "2018-06"})
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
    cells = {cell for row in book["Reports"].iter_rows(values_only=True) for cell in row}
    june = signed.filter(period=SIX_MONTHS[1])
    assert set(june.values_list("checksum", flat=True)) <= cells


def test_the_report_list_meetings_and_risks_pages_show_the_generated_data(client, office):
    plan = governed_plan()
    client.force_login(office)

    response = client.get(reverse("governance:report-list"))
    assert response.status_code == 200
    page = response.content.decode()
    for report in ProgressReport.objects.filter(plan=plan, period=SIX_MONTHS[-1]):
        row = re.search(rf'data-workstream="{report.workstream.code}".*?</tr>', page, re.S)[0]
        assert f'data-status="{report.status}"' in row
    # A workstream chair sees the submitted report of the month waiting for them.
    submitted = ProgressReport.objects.filter(plan=plan, status="submitted").first()
    client.force_login(
        get_user_model().objects.get(
            username=f"synthetic.chair.{submitted.workstream.code.lower()}"
        )
    )
    page = client.get(
        reverse("governance:report-list"), {"period": f"{submitted.period:%Y-%m}"}
    ).content.decode()
    row = re.search(rf'data-workstream="{submitted.workstream.code}".*?</tr>', page, re.S)[0]
    assert "Waiting for your endorsement" in row
    client.force_login(office)

    board = board_of(plan)
    response = client.get(reverse("governance:meeting-list"), {"body": board.pk})
    assert response.status_code == 200
    assert f"{meetings_of(plan).filter(body=board).count()} meetings" in response.content.decode()
    october = meetings_of(plan).get(body=board, period=SIX_MONTHS[-1])
    response = client.get(reverse("governance:meeting-detail", args=[october.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    for decision in october.decisions.all():
        assert f'data-decision="{decision.pk}"' in page
    for report in ProgressReport.objects.filter(plan=plan, period=SIX_MONTHS[-1]):
        row = re.search(
            rf'id="agenda-reports".*?data-workstream="{report.workstream.code}".*?</tr>', page, re.S
        )[0]
        assert f"<span>{report.get_status_display()}</span>" in row

    response = client.get(reverse("governance:risk-list"))
    assert response.status_code == 200
    page = response.content.decode()
    open_risks = Risk.objects.filter(plan=plan, status="open")
    assert f"{open_risks.count()} risks" in page
    for risk in open_risks:
        assert f'data-risk="{risk.pk}"' in page
    closed = client.get(reverse("governance:risk-list"), {"status": "closed"}).content.decode()
    for risk in Risk.objects.filter(plan=plan, status="closed"):
        assert f'data-risk="{risk.pk}"' in closed


def test_the_dashboard_shows_the_latest_month_s_reports_and_escalated_risks(client, office):
    plan = governed_plan()
    client.force_login(office)

    response = client.get(reverse("governance:dashboard"))
    assert response.status_code == 200
    board = response.context["board"]
    assert board.period == SIX_MONTHS[-1]
    # Since the last board: its meeting of 12 October 2018, before the month's end.
    assert board.baseline.board_met
    assert board.baseline.day == meetings_of(plan).get(date=datetime.date(2018, 10, 12)).date
    page = response.content.decode()
    table = page[page.index('id="reports-table"') : page.index('id="risks-table"')]
    for report in ProgressReport.objects.filter(plan=plan, period=SIX_MONTHS[-1]):
        row = re.search(rf'data-subject="{report.workstream.code}".*?</tr>', table, re.S)[0]
        assert f'data-status="{report.status}"' in row
    escalated = sorted(
        Risk.objects.filter(plan=plan, status="open", escalated=True),
        key=lambda risk: (-risk.score, risk.title),
    )
    assert board.escalated_risks == len(escalated) >= 4
    assert [risk.pk for risk in board.risks] == [risk.pk for risk in escalated[:5]]
    for risk in escalated[:5]:
        assert f"{risk.score} ({risk.likelihood} × {risk.impact})" in page


def test_risks_as_they_stood_on_a_past_day_show_their_scores_then():
    plan = governed_plan()

    today = timezone.localdate()
    changed = 0
    for risk in Risk.objects.filter(plan=plan, status="open"):
        rows = list(risk.history.order_by("history_date"))
        for before, after in zip(rows, rows[1:], strict=False):
            day = timezone.localtime(after.history_date).date() - datetime.timedelta(days=1)
            if timezone.localtime(before.history_date).date() > day:
                continue
            stood = dashboard.open_risks_as_at(plan, AsAt(today=today, as_of=day))
            (then,) = [row for row in stood if row.id == risk.pk]
            assert (then.likelihood, then.impact, then.score) == (
                before.likelihood,
                before.impact,
                before.likelihood * before.impact,
            )
            changed += (before.likelihood, before.impact) != (after.likelihood, after.impact)
    assert changed >= 5


def test_each_action_and_history_row_keeps_the_month_of_its_latest_update():
    generate(actions=20, months=3)

    actions = Action.objects.filter(plan__title__startswith="Synthetic plan: 20 actions")
    months = set()
    for action in actions.prefetch_related("updates"):
        periods = sorted(update.period for update in action.updates.all())
        assert action.last_update_period == periods[-1]
        for row in action.history.all():
            by_then = [u.period for u in action.updates.all() if u.created_at <= row.history_date]
            assert row.last_update_period == max(by_then, default=None)
            months.add(row.last_update_period)
    assert len(months) == 4  # none yet, then each of the three months
