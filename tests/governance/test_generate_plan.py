"""manage.py generate_plan: a synthetic plan with months of updates and their history."""

import datetime
import math
import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from governance.management.commands import generate_plan as command
from governance.models import Body, Membership
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
            raise RolledBack
    except RolledBack:
        pass
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


def test_the_same_seed_gives_the_same_plan_and_another_seed_another():
    first = generated_then_rolled_back(seed=7)
    again = generated_then_rolled_back(seed=7)
    other = generated_then_rolled_back(seed=8)

    assert len(first) > ACTIONS  # the actions, indicator values and workforce snapshots
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
        assert re.fullmatch(r"synthetic\.(chair\.[a-f]|lead\.\d+)", user.username)
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

    for step in ("monthly updates", "indicators", "workforce snapshots"):
        assert re.search(rf"^  {step}: \d+\.\d s$", output, re.MULTILINE)
