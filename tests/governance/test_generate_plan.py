"""manage.py generate_plan: a synthetic plan with months of updates and their history."""

import datetime
import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, transaction
from django.utils import timezone

from governance.models import Body, Membership
from tests.helpers import DEMO_USERNAMES
from workstreams.models import (
    Action,
    ActionStatus,
    ActionUpdate,
    DueDateChange,
    Plan,
    Priority,
    Workstream,
)

pytestmark = pytest.mark.django_db

ACTIONS, MONTHS = 30, 3
START = datetime.date(2018, 5, 1)
MONTH_STARTS = [datetime.date(2018, 5, 1), datetime.date(2018, 6, 1), datetime.date(2018, 7, 1)]
TITLE = f"Synthetic plan: {ACTIONS} actions, {MONTHS} months (seed 7)"


def generate(seed=7, **options) -> str:
    options = {"actions": ACTIONS, "months": MONTHS, "start_month": "2018-05", **options}
    out = StringIO()
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

    assert len(first) == ACTIONS
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
