import datetime
import itertools

import pytest
from django.core.exceptions import ValidationError
from django.urls import NoReverseMatch, reverse, set_script_prefix
from django.utils import timezone
from simple_history.signals import pre_create_historical_m2m_records

from tests.helpers import record, rejects
from workstreams import services
from workstreams.models import (
    Action,
    ActionStatus,
    Plan,
    Rag,
    ServiceArea,
    WorkforceSnapshot,
    Workstream,
    action_is_overdue,
    action_rag,
    action_url,
    in_rag,
    overdue_condition,
)

pytestmark = pytest.mark.django_db


def new_action(plan, workstream, reference, **fields):
    fields.setdefault("due_date", datetime.date(2019, 1, 31))
    return Action.objects.create(
        plan=plan, workstream=workstream, reference=reference, title="A test action", **fields
    )


def test_action_reference_is_unique_within_a_plan(plan):
    workstream = plan.workstreams.get(code="MP")
    existing = plan.actions.first()
    assert rejects(lambda: new_action(plan, workstream, existing.reference))


def test_the_same_reference_may_be_used_in_another_plan(plan):
    other = Plan.objects.create(
        title="Plan 2019/20",
        council="Test council",
        period_start=datetime.date(2019, 4, 1),
        period_end=datetime.date(2020, 3, 31),
    )
    workstream = Workstream.objects.create(plan=other, code="MP", name="Management & Practice")
    reference = plan.actions.first().reference
    assert new_action(other, workstream, reference).pk


def test_only_one_plan_is_live(plan):
    assert rejects(
        lambda: Plan.objects.create(
            title="Another live plan",
            council="Test council",
            period_start=datetime.date(2019, 4, 1),
            period_end=datetime.date(2020, 3, 31),
            status=Plan.Status.LIVE,
        )
    )


def test_a_plan_ends_after_it_starts():
    assert rejects(
        lambda: Plan.objects.create(
            title="Backwards",
            council="Test council",
            period_start=datetime.date(2019, 4, 1),
            period_end=datetime.date(2019, 3, 31),
        )
    )


@pytest.mark.parametrize(
    "fields",
    [
        {"status": "finished"},  # not a status
        {"status": ActionStatus.COMPLETE, "evidence_of_impact": ""},  # complete needs evidence
        {"revised_due_date": datetime.date(2019, 6, 30), "revised_due_reason": ""},
    ],
    ids=["unknown-status", "complete-without-evidence", "moved-due-date-without-reason"],
)
def test_the_database_refuses_an_inconsistent_action(plan, fields):
    workstream = plan.workstreams.get(code="MP")
    before = Action.objects.count()
    assert rejects(lambda: new_action(plan, workstream, "MP-9.9", **fields))
    assert Action.objects.count() == before


def test_workstream_codes_are_unique_within_a_plan(plan):
    assert rejects(lambda: Workstream.objects.create(plan=plan, code="MP", name="Again"))


@pytest.mark.parametrize(
    "counts",
    [
        {
            "total": 10,
            "locum": 2,
            "salaried": 9,
            "in_post_before_cutoff": 6,
            "joined_since_cutoff": 4,
        },
        {
            "total": 10,
            "locum": 1,
            "salaried": 9,
            "in_post_before_cutoff": 6,
            "joined_since_cutoff": 5,
        },
    ],
    ids=["locum-plus-salaried-is-not-total", "before-plus-since-is-not-total"],
)
def test_a_workforce_snapshot_must_add_up(counts):
    area = ServiceArea.objects.create(name="Test service")
    assert rejects(
        lambda: WorkforceSnapshot.objects.create(
            service_area=area,
            as_of=datetime.date(2018, 10, 31),
            cutoff=datetime.date(2017, 9, 1),
            **counts,
        )
    )
    assert not WorkforceSnapshot.objects.filter(service_area=area).exists()


def test_workforce_snapshot_clean_explains_what_does_not_add_up():
    snapshot = WorkforceSnapshot(
        service_area=ServiceArea(name="x"),
        as_of=datetime.date(2018, 10, 31),
        cutoff=datetime.date(2017, 9, 1),
        total=10,
        locum=2,
        salaried=9,
        in_post_before_cutoff=6,
        joined_since_cutoff=4,
    )
    with pytest.raises(Exception) as error:
        snapshot.clean()
    assert "must add up to the total (10)" in str(error.value)


def test_action_clean_checks_reference_prefix_and_plan(plan):
    workstream = plan.workstreams.get(code="MP")
    action = Action(
        plan=plan,
        workstream=workstream,
        reference="WF-1.1",
        title="x",
        due_date=datetime.date.today(),
    )
    with pytest.raises(Exception) as error:
        action.full_clean()
    assert "must start with the workstream's code (MP-)" in str(error.value)
    # A '/' would make every link to the action fail (and each page listing it with them).
    action.reference = "MP-1/2"
    with pytest.raises(ValidationError) as error:
        action.full_clean()
    assert error.value.message_dict["reference"] == [
        "A reference has no spaces and none of / ? # % \\ in it."
    ]


@pytest.fixture
def every_state(plan):
    """Actions in every status, due yesterday, today and tomorrow (some by a revised due
    date), with their evidence accepted or not: every BRAG state and every way into it."""
    today = timezone.localdate()
    workstream = plan.workstreams.get(code="MP")
    dates = [today - datetime.timedelta(days=1), today, today + datetime.timedelta(days=1)]
    combos = [
        (status, due, revised, accepted)
        for status, due, revised, accepted in itertools.product(
            ActionStatus.values, dates, [None, *dates], [False, True]
        )
        if status == ActionStatus.COMPLETE or not accepted
    ]
    for n, (status, due, revised, accepted) in enumerate(combos):
        new_action(
            plan,
            workstream,
            f"MP-99.{n}",
            status=status,
            due_date=due,
            revised_due_date=revised,
            revised_due_reason="Agreed by the task group" if revised else "",
            evidence_of_impact="Evidence" if status == ActionStatus.COMPLETE else "",
            evidence_accepted_at=timezone.now() if accepted else None,
        )
    actions = Action.objects.filter(reference__startswith="MP-99.")
    assert actions.count() == len(combos)
    return actions


def test_rag_in_python_and_in_sql_agree(every_state):
    """RAG is defined once in Python and once in SQL (for filtering); they must not drift."""
    today = timezone.localdate()
    for action in every_state.with_rag(today):
        due = action.current_due_date
        expected = action_rag(action.status, due, today, action.evidence_accepted)
        assert action.rag_code == expected
        assert action.rag_rank == expected.severity
        assert action.overdue == action_is_overdue(action.status, due, today)


@pytest.mark.parametrize("history", [False, True], ids=["actions", "history rows"])
def test_choosing_rows_by_rag_finds_the_rows_the_rag_names(every_state, history):
    """``in_rag`` (what the list's status filter asks) picks exactly the rows ``rag_code``
    (what every badge and count shows) puts in those states, on any day, alone or together."""
    rows = Action.history.filter(id__in=every_state.values("id")) if history else every_state
    today = timezone.localdate()
    for day in (today - datetime.timedelta(days=2), today, today + datetime.timedelta(days=2)):
        judged = rows.with_rag(day)
        if day == today:
            assert {rag for rag in Rag if judged.filter(rag_code=rag).exists()} == set(Rag)
        asked = [{rag} for rag in Rag] + [set(pair) for pair in itertools.combinations(Rag, 2)]
        for rags in [*asked, set(), set(Rag)]:
            chosen = judged.filter(in_rag(rags, day))
            assert sorted(chosen.values_list("pk", flat=True)) == sorted(
                judged.filter(rag_code__in=rags).values_list("pk", flat=True)
            ), (day, rags)
        overdue = judged.filter(overdue_condition(day)).values_list("pk", flat=True)
        assert sorted(overdue) == sorted(judged.filter(overdue=True).values_list("pk", flat=True))


def test_rag_follows_the_council_brag_scale():
    today = datetime.date(2018, 11, 30)
    future, past = datetime.date(2019, 1, 1), datetime.date(2018, 11, 1)
    assert action_rag(ActionStatus.COMPLETE, past, today, True) == Rag.BLUE
    assert action_rag(ActionStatus.COMPLETE, past, today, False) == Rag.AWAITING_EVIDENCE
    assert action_rag(ActionStatus.ON_TRACK, future, today, False) == Rag.GREEN
    assert action_rag(ActionStatus.AT_RISK, future, today, False) == Rag.AMBER
    assert action_rag(ActionStatus.OFF_TRACK, future, today, False) == Rag.RED
    assert action_rag(ActionStatus.ON_TRACK, past, today, False) == Rag.RED  # overdue
    assert action_rag(ActionStatus.NOT_STARTED, future, today, False) == Rag.NOT_STARTED
    assert action_rag(ActionStatus.NOT_STARTED, past, today, False) == Rag.RED  # overdue
    assert action_rag(ActionStatus.CLOSED, past, today, False) == Rag.CLOSED


def test_brag_has_one_label_per_state_and_sorts_by_severity():
    labels = [rag.label for rag in Rag]
    assert len(set(labels)) == len(labels)
    assert not any("overdue" in label.lower() for label in labels)  # a reason, not a state
    assert [rag.severity for rag in Rag] == list(range(len(Rag)))
    assert Rag.RED.severity < Rag.AMBER.severity < Rag.GREEN.severity < Rag.BLUE.severity


def test_revised_due_date_is_the_one_that_counts_for_overdue(plan):
    today = timezone.localdate()
    workstream = plan.workstreams.get(code="MP")
    action = new_action(
        plan,
        workstream,
        "MP-98.1",
        status=ActionStatus.ON_TRACK,
        due_date=today - datetime.timedelta(days=10),
        revised_due_date=today + datetime.timedelta(days=10),
        revised_due_reason="Waiting for the new case management system",
    )
    assert not action.is_overdue
    assert not Action.objects.overdue(today).filter(pk=action.pk).exists()


def history_findings(action) -> list[set[tuple[int, int]]]:
    """Each history row's links to findings, oldest first: (link id, finding id)."""
    return [
        set(row.findings.values_list("id", "finding_id"))
        for row in action.history.order_by("history_date", "history_id")
    ]


def test_each_history_row_keeps_the_findings_as_they_stood(plan, action_mp, lead_mp, office):
    """Copied in the database (``GripHistoricalRecords.create_historical_record_m2ms``), the
    links are the action's own, link ids and all, at every version."""
    before = set(
        action_mp.findings.through.objects.filter(action=action_mp).values_list("id", "finding_id")
    )
    assert before
    record(action_mp, lead_mp)
    fresh = Action.objects.get(pk=action_mp.pk)
    added = plan.findings.exclude(actions=fresh)[:2]
    services.action_plan_change(
        action=fresh,
        by=office,
        based_on_version=fresh.version,
        findings=[*fresh.findings.all(), *added],
    )
    after = set(fresh.findings.through.objects.filter(action=fresh).values_list("id", "finding_id"))
    assert len(after) == len(before) + 2
    assert history_findings(fresh)[-2:] == [before, after]


def test_someone_listening_for_the_copied_links_hears_of_them(action_mp, lead_mp):
    """django-simple-history's own way (and its signals) for a model whose links someone
    listens for."""
    heard = []

    def listener(sender, rows, **kwargs):
        heard.append({(row.id, row.finding_id) for row in rows})

    model = Action.history.model.findings.model  # HistoricalAction_findings
    pre_create_historical_m2m_records.connect(listener, sender=model)
    try:
        record(action_mp, lead_mp)
    finally:
        pre_create_historical_m2m_records.disconnect(listener, sender=model)
    assert heard == history_findings(action_mp)[-1:]
    assert heard[0]


@pytest.mark.parametrize(
    "reference", ["MP-1.2", "MP-1 2", "MP-1?a#b", "MP-100%", "MP-é\\ü", "MP-~:@!$&'()*+,;="]
)
def test_an_actions_links_are_the_ones_reverse_makes(reference):
    for name in ("workstreams:action-detail", "workstreams:action-update"):
        assert action_url(name, reference) == reverse(name, args=[reference])
    action = Action(reference=reference)
    assert action.get_absolute_url() == reverse("workstreams:action-detail", args=[reference])
    assert action.update_url == reverse("workstreams:action-update", args=[reference])


@pytest.mark.parametrize("reference", ["", "MP-1/2"])
def test_no_link_is_made_to_a_reference_reverse_refuses(reference):
    with pytest.raises(NoReverseMatch):
        action_url("workstreams:action-detail", reference)


def test_an_actions_links_follow_the_script_prefix():
    set_script_prefix("/council/grip/")
    try:
        assert action_url("workstreams:action-detail", "MP-1.2") == "/council/grip/actions/MP-1.2/"
    finally:
        set_script_prefix("/")
    assert action_url("workstreams:action-detail", "MP-1.2") == "/actions/MP-1.2/"
