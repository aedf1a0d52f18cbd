import datetime

import pytest

from governance.models import Body, Membership, ProgressReport, Review
from tests.helpers import rejects

pytestmark = pytest.mark.django_db


def test_a_body_has_at_most_one_chair(chair_mp, lead_mp):
    task_group = Body.objects.get(workstream__code="MP")
    assert task_group.memberships.get(role=Membership.Role.CHAIR).user == chair_mp
    membership = task_group.memberships.get(user=lead_mp)
    membership.role = Membership.Role.CHAIR
    assert rejects(membership.save)
    membership.refresh_from_db()
    assert membership.role == Membership.Role.MEMBER


def test_a_task_group_belongs_to_a_workstream():
    assert rejects(lambda: Body.objects.create(name="Orphan task group", kind=Body.Kind.TASK_GROUP))


def test_one_report_per_workstream_per_period(plan, chair_mp):
    workstream = plan.workstreams.get(code="MP")
    period = datetime.date(2018, 10, 1)  # the demo cycle (load_demo) has November's
    ProgressReport.objects.create(
        plan=plan, workstream=workstream, period=period, created_by=chair_mp
    )
    assert rejects(
        lambda: ProgressReport.objects.create(
            plan=plan, workstream=workstream, period=period, created_by=chair_mp
        )
    )


def test_one_programme_report_per_period(plan, office):
    period = datetime.date(2018, 11, 1)
    ProgressReport.objects.create(plan=plan, period=period, created_by=office)
    assert rejects(
        lambda: ProgressReport.objects.create(plan=plan, period=period, created_by=office)
    )


def test_returning_a_report_needs_a_comment(plan, chair_mp):
    report = ProgressReport.objects.create(
        plan=plan,
        workstream=plan.workstreams.get(code="MP"),
        period=datetime.date(2018, 10, 1),  # the demo cycle (load_demo) has November's
        created_by=chair_mp,
    )
    assert rejects(
        lambda: Review.objects.create(report=report, step=Review.Step.RETURN, by=chair_mp)
    )


def test_the_reference_governance_structure(plan):
    programme_board = Body.objects.get(kind=Body.Kind.PROGRAMME_BOARD)
    improvement_board = Body.objects.get(kind=Body.Kind.IMPROVEMENT_BOARD)
    assert programme_board.reports_to == improvement_board
    assert programme_board.memberships.get(role="chair").user.username == "exec.director"
    task_groups = Body.objects.filter(kind=Body.Kind.TASK_GROUP)
    assert sorted(task_groups.values_list("workstream__code", flat=True)) == [
        "MP",
        "PA",
        "PL",
        "WF",
    ]
    for task_group in task_groups:
        assert task_group.reports_to == programme_board
        chair = task_group.memberships.get(role="chair").user
        assert chair.username == f"sro.{task_group.workstream.code.lower()}"
    assert Body.objects.filter(
        kind=Body.Kind.REFERENCE_GROUP, reports_to=improvement_board
    ).exists()
    assert Body.objects.filter(kind=Body.Kind.PARTNER_BOARD).exists()
