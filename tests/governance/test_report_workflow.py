"""The four-question report's workflow (DESIGN.md, "Report workflow"): every step allowed
and refused for every role and state, the snapshot and checksum at sign-off, the pre-filled
draft and the items carried over. The suite's clock is pinned to 10 January 2019."""

import datetime
import threading

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from governance import selectors, services
from governance.models import ProgressReport, ReportItem, Review
from tests.helpers import DEMO_USERNAMES, record
from workstreams.models import Action, IndicatorValue

pytestmark = pytest.mark.django_db

NOVEMBER = datetime.date(2018, 11, 1)
DECEMBER = datetime.date(2018, 12, 1)


def user(username):
    return get_user_model().objects.get(username=username)


def start(plan, by="lead.mp", code="MP", period=DECEMBER):
    workstream = plan.workstreams.get(code=code) if code else None
    return services.report_start(by=user(by), plan=plan, period=period, workstream=workstream)


def answered(report, by="office"):
    """The draft with every question answered, saved through the service."""
    return services.report_edit(
        report=report,
        by=user(by),
        based_on_version=report.version,
        working_well=report.working_well or "Managers' seminars held.",
        how_we_know=report.how_we_know or "Audit results.",
        worried_about=report.worried_about or "Locum managers.",
    )


def at_state(plan, state, code="MP"):
    """A report brought to ``state`` by the right people, through the services."""
    report = answered(start(plan, code=code, by="office"))
    chair = f"sro.{code.lower()}" if code else None
    if state == "draft":
        return report
    services.report_submit(report=report, by=user("office"))
    if state == "submitted":
        return report
    if code:
        services.report_endorse(report=report, by=user(chair))
    if state == "endorsed":
        return report
    services.report_sign_off(report=report, by=user("exec.director"))
    return report


def state_of(report):
    fresh = ProgressReport.objects.get(pk=report.pk)
    return fresh.status, fresh.reviews.count(), fresh.version


# step -> (service, extra arguments, {state it may be taken from: who may take it}) for a
# workstream (MP) report; from any other state nobody may.
STEPS = {
    "submit": (services.report_submit, {}, {"draft": {"office", "admin", "sro.mp", "lead.mp"}}),
    "endorse": (services.report_endorse, {}, {"submitted": {"sro.mp", "admin"}}),
    "sign_off": (services.report_sign_off, {}, {"endorsed": {"exec.director", "admin"}}),
    "return": (
        services.report_return,
        {"comment": "Say more about supervision."},
        {"submitted": {"sro.mp", "admin"}, "endorsed": {"exec.director", "admin"}},
    ),
    "reopen": (
        services.report_reopen,
        {"comment": "Figures corrected."},
        {"signed_off": {"office", "admin"}},
    ),
}
STATES = ["draft", "submitted", "endorsed", "signed_off"]


@pytest.mark.parametrize("step", list(STEPS))
def test_each_step_is_taken_only_by_its_role_from_its_state(plan, step):
    service, extra, allowed = STEPS[step]
    for state in STATES:
        for username in sorted(DEMO_USERNAMES):
            report = at_state(plan, state)
            before = state_of(report)
            if username in allowed.get(state, ()):
                service(report=report, by=user(username), **extra)
                assert state_of(report) != before, (step, state, username)
                assert report.reviews.latest("at").by.username == username
            else:
                with pytest.raises((PermissionDenied, ValidationError)):
                    service(report=report, by=user(username), **extra)
                assert state_of(report) == before, (step, state, username)
            # Start again from nothing for the next combination.
            Review.objects.filter(report=report).delete()
            report.items.all().delete()
            ProgressReport.objects.filter(pk=report.pk).delete()


def test_return_and_reopen_need_a_comment(plan):
    report = at_state(plan, "submitted")
    before = state_of(report)
    with pytest.raises(ValidationError, match="Say what needs to change"):
        services.report_return(report=report, by=user("sro.mp"), comment="  ")
    assert state_of(report) == before
    signed = at_state(plan, "signed_off", code="WF")
    before = state_of(signed)
    with pytest.raises(ValidationError, match="Say why"):
        services.report_reopen(report=signed, by=user("office"), comment="")
    assert state_of(signed) == before


def test_a_draft_with_an_unanswered_question_cannot_be_submitted(plan):
    report = start(plan)
    report.working_well = ""
    report.save()
    with pytest.raises(ValidationError, match="What's working well"):
        services.report_submit(report=report, by=user("lead.mp"))
    assert ProgressReport.objects.get(pk=report.pk).status == "draft"


def test_the_programme_report_is_started_by_the_office_and_signed_off_by_the_board_chair(plan):
    with pytest.raises(PermissionDenied):
        start(plan, by="sro.mp", code=None)
    report = answered(start(plan, by="office", code=None))
    services.report_submit(report=report, by=user("office"))
    with pytest.raises(PermissionDenied):
        services.report_endorse(report=report, by=user("sro.mp"))
    services.report_sign_off(report=report, by=user("exec.director"))
    assert ProgressReport.objects.get(pk=report.pk).status == "signed_off"


def test_one_report_per_workstream_per_month(plan):
    start(plan)
    with pytest.raises(ValidationError, match="already been started"):
        start(plan, by="sro.mp")
    assert ProgressReport.objects.filter(workstream__code="MP", period=DECEMBER).count() == 1


def test_a_lead_drafts_only_their_own_workstreams_report(plan):
    with pytest.raises(PermissionDenied):
        start(plan, by="lead.mp", code="WF")
    report = start(plan, by="lead.wf", code="WF")
    with pytest.raises(PermissionDenied):
        services.report_edit(
            report=report,
            by=user("lead.mp"),
            based_on_version=report.version,
            working_well="x",
            how_we_know="y",
            worried_about="z",
        )


def test_a_stale_edit_is_refused_and_a_submitted_report_cannot_be_edited(plan):
    report = start(plan)
    opened = report.version
    services.report_edit(
        report=report,
        by=user("sro.mp"),
        based_on_version=opened,
        working_well="Chair's words.",
        how_we_know="Audit.",
        worried_about="Locums.",
    )
    with pytest.raises(services.ReportChangedSinceOpened):
        services.report_edit(
            report=report,
            by=user("lead.mp"),
            based_on_version=opened,
            working_well="Lead's older words.",
            how_we_know="",
            worried_about="",
        )
    fresh = ProgressReport.objects.get(pk=report.pk)
    assert fresh.working_well == "Chair's words."
    services.report_submit(report=fresh, by=user("lead.mp"))
    fresh = ProgressReport.objects.get(pk=report.pk)
    with pytest.raises(ValidationError, match="submitted"):
        services.report_edit(
            report=fresh,
            by=user("lead.mp"),
            based_on_version=fresh.version,
            working_well="Too late.",
            how_we_know="",
            worried_about="",
        )


def test_every_change_to_a_report_is_in_its_history_with_its_author(plan):
    report = at_state(plan, "signed_off")
    authors = [row.history_user.username for row in report.history.order_by("history_date")]
    assert authors[0] == "office"
    assert {"office", "sro.mp", "exec.director"} <= set(authors)
    steps = [(r.step, r.by.username) for r in report.reviews.order_by("at")]
    assert steps == [("submit", "office"), ("endorse", "sro.mp"), ("sign_off", "exec.director")]


# --- Signed off means frozen -------------------------------------------------------------


def test_sign_off_seals_what_the_report_showed_and_it_does_not_move(plan):
    report = at_state(plan, "endorsed")
    services.report_sign_off(report=report, by=user("exec.director"))
    report.refresh_from_db()
    snapshot, checksum = report.snapshot, report.checksum
    assert checksum == selectors.snapshot_checksum(snapshot) and len(checksum) == 64
    shown = {a["reference"]: a for a in snapshot["actions"]}
    assert set(shown) == set(
        plan.actions.filter(workstream__code="MP").values_list("reference", flat=True)
    )
    # Judged at the end of December 2018: MP-1.5 (due 31 Dec, off track) is red.
    assert snapshot["report"]["judged_on"] == "2018-12-31"
    assert shown["MP-1.5"]["rag"] == "red"
    assert shown["MP-1.2"]["rag"] == "green"
    # The action moves on; the report keeps what it showed.
    action = Action.objects.get(reference="MP-1.2")
    record(action, user("lead.mp"), status="off_track", progress_narrative="Trainer left.")
    report.refresh_from_db()
    assert report.snapshot == snapshot and report.checksum == checksum
    assert report.snapshot["answers"]["working_well"] == report.working_well
    # A changed snapshot no longer matches its checksum: the seal shows tampering.
    tampered = {**snapshot, "answers": {**snapshot["answers"], "working_well": "Changed."}}
    assert selectors.snapshot_checksum(tampered) != checksum


def test_reopening_keeps_the_signed_off_content_in_the_history(plan):
    report = at_state(plan, "signed_off")
    report.refresh_from_db()
    checksum = report.checksum
    services.report_reopen(report=report, by=user("office"), comment="A figure was wrong.")
    report.refresh_from_db()
    assert report.status == "draft" and report.checksum == "" and report.snapshot == {}
    assert report.history.filter(checksum=checksum, status="signed_off").exists()
    assert report.reviews.latest("at").comment == "A figure was wrong."


# --- Drafting from the data --------------------------------------------------------------


def test_the_draft_is_prefilled_from_the_data(plan, pinned_clock):
    pinned_clock.move_to(datetime.datetime(2019, 2, 12, 10, 0))
    february = datetime.date(2019, 2, 1)
    lead = user("lead.mp")
    mp_14 = Action.objects.get(reference="MP-1.4")  # at risk since the plan was loaded
    record(mp_14, lead, status="on_track", progress_narrative="Supervision audit done.")
    mp_12 = Action.objects.get(reference="MP-1.2")  # on track, and still on track
    record(mp_12, lead, status="on_track", progress_narrative="Two sessions held.")
    indicator = plan.indicators.filter(workstream__code="MP").first()
    IndicatorValue.objects.create(indicator=indicator, period=february, value=indicator.target)
    report = start(plan, period=february)
    assert "MP-1.4" in report.working_well and "now on track" in report.working_well
    assert "MP-1.2" not in report.working_well  # it did not turn: it was on track already
    assert indicator.name in report.how_we_know
    # Judged on the report's day (12 February 2019): MP-1.2 and MP-1.3 (due 31 January) are
    # overdue, MP-1.5 is off track.
    for reference in ("MP-1.2", "MP-1.3", "MP-1.5"):
        assert reference in report.worried_about
    assert "MP-1.4" not in report.worried_about


def test_last_periods_open_items_are_carried_and_settled_never_dropped(plan):
    # September and October: the demo cycle (load_demo) has November's reports.
    september = answered(start(plan, period=datetime.date(2018, 9, 1)))
    lead = user("lead.mp")
    kept = services.report_item_add(
        report=september, by=lead, description="Equality analysis", owner=lead, due_date=DECEMBER
    )
    done = services.report_item_add(
        report=september, by=lead, description="Seminar 3", owner=lead, due_date=DECEMBER
    )
    services.report_item_settle(item=done, by=lead, outcome=ReportItem.Outcome.DONE)
    october = start(plan, period=datetime.date(2018, 10, 1))
    carried = list(october.items.all())
    assert [(i.description, i.carried_from_id) for i in carried] == [("Equality analysis", kept.pk)]
    with pytest.raises(ValidationError, match="cannot be removed"):
        services.report_item_remove(item=carried[0], by=lead)
    services.report_item_settle(item=carried[0], by=lead, outcome=ReportItem.Outcome.NOT_DONE)
    assert ReportItem.objects.get(pk=carried[0].pk).outcome == "not_done"


def test_an_item_becomes_a_tracked_action(plan):
    report = start(plan)
    lead = user("lead.mp")
    item = services.report_item_add(
        report=report,
        by=lead,
        description="Audit supervision records",
        owner=lead,
        due_date=datetime.date(2019, 2, 28),
    )
    with pytest.raises(PermissionDenied):
        services.report_item_to_action(item=item, by=lead, reference="MP-1.8")
    action = services.report_item_to_action(item=item, by=user("office"), reference="MP-1.8")
    assert (action.workstream.code, action.lead_officer, action.due_date) == (
        "MP",
        lead,
        item.due_date,
    )
    assert ReportItem.objects.get(pk=item.pk).action == action


# --- Two reviewers at once ---------------------------------------------------------------


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="Two threads on the test's in-memory SQLite share one connection's lock; CI runs "
    "this on PostgreSQL, the production database.",
)
@pytest.mark.django_db(transaction=True)
def test_two_sign_offs_at_once_cannot_both_succeed(demo):
    """The row lock makes the second wait, then find the report already signed off."""
    plan = demo
    report = at_state(plan, "endorsed")
    chair, admin = user("exec.director"), user("admin")
    barrier = threading.Barrier(2)
    outcomes = []

    def sign(by):
        try:
            barrier.wait()
            services.report_sign_off(report=ProgressReport.objects.get(pk=report.pk), by=by)
            outcomes.append("signed")
        except ValidationError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=sign, args=(who,)) for who in (chair, admin)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused", "signed"]
    assert ProgressReport.objects.get(pk=report.pk).reviews.filter(step="sign_off").count() == 1


def test_a_step_on_a_report_changed_since_the_reviewer_read_it_is_refused(client, plan):
    report = at_state(plan, "submitted")
    read = ProgressReport.objects.get(pk=report.pk).version
    # Returned, changed and submitted again while the chair had the old words open.
    services.report_return(report=report, by=user("sro.mp"), comment="Add the audit.")
    answered(ProgressReport.objects.get(pk=report.pk))
    report = ProgressReport.objects.get(pk=report.pk)
    services.report_edit(
        report=report,
        by=user("lead.mp"),
        based_on_version=report.version,
        working_well="Different words.",
        how_we_know="Audit of 40 files.",
        worried_about="Locums.",
    )
    services.report_submit(report=report, by=user("lead.mp"))
    before = state_of(report)
    with pytest.raises(services.ReportChangedSinceOpened):
        services.report_endorse(report=report, by=user("sro.mp"), based_on_version=read)
    assert state_of(report) == before
    # Through the page: the hidden version the chair's page carried.
    client.force_login(user("sro.mp"))
    page = client.post(f"/reports/{report.pk}/endorse/", {"version": read}, follow=True)
    assert "changed after you opened it" in page.content.decode()
    assert state_of(report) == before
    current = ProgressReport.objects.get(pk=report.pk).version
    client.post(f"/reports/{report.pk}/endorse/", {"version": current})
    assert ProgressReport.objects.get(pk=report.pk).status == "endorsed"


def test_the_programme_report_is_never_endorsed_not_even_by_the_administrator(plan):
    report = answered(start(plan, by="office", code=None))
    services.report_submit(report=report, by=user("office"))
    before = state_of(report)
    with pytest.raises(ValidationError, match="no task group"):
        services.report_endorse(report=report, by=user("admin"))
    assert state_of(report) == before
