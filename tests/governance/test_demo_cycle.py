"""The demo's month of governance (``load_demo``, from the plan's data file): November 2018's
report of each workstream in the states a board sees mid-cycle, made through the services by
the people whose step it is, with the programme board meeting that reviewed them, a task
group meeting, decisions and risks."""

import datetime
import io
import json

import pytest
from django.core.management import call_command
from django.db.models import Sum

from governance import services
from governance.models import Decision, Meeting, ProgressReport, Review, Risk
from governance.selectors import snapshot_checksum
from workstreams.models import WorkforceSnapshot

pytestmark = pytest.mark.django_db

NOVEMBER = datetime.date(2018, 11, 1)
BOARD = "Children's Improvement Programme Board"


def report(code):
    return ProgressReport.objects.get(workstream__code=code, period=NOVEMBER)


def steps(report):
    reviews = report.reviews.select_related("by").order_by("at", "pk")  # made in one instant
    return [(review.step, review.by.username) for review in reviews]


def test_each_workstream_has_its_november_report_in_a_state_of_the_cycle(plan):
    states = dict(
        ProgressReport.objects.filter(plan=plan, period=NOVEMBER).values_list(
            "workstream__code", "status"
        )
    )
    assert states == {"MP": "signed_off", "WF": "endorsed", "PA": "submitted", "PL": "draft"}
    # Each step taken by the person whose step it is, through the services (a Review each).
    assert steps(report("MP")) == [
        ("submit", "lead.mp"),
        ("endorse", "sro.mp"),
        ("sign_off", "exec.director"),
    ]
    assert steps(report("WF")) == [("submit", "lead.wf"), ("endorse", "sro.wf")]
    assert steps(report("PA")) == [("submit", "lead.pa")]
    assert steps(report("PL")) == [("submit", "lead.pl"), ("return", "sro.pl")]
    assert report("MP").created_by.username == "lead.mp"
    assert report("MP").history.earliest().history_user.username == "lead.mp"


def test_the_signed_off_report_is_sealed_as_the_board_saw_it():
    signed = report("MP")
    assert signed.checksum == snapshot_checksum(signed.snapshot)
    assert signed.snapshot["report"]["judged_on"] == "2018-11-30"  # the month's end
    assert signed.snapshot["answers"]["working_well"] == signed.working_well
    assert [r["title"] for r in signed.snapshot["risks"]] == [
        "The quality of supervision stays inconsistent"
    ]
    assert {a["reference"] for a in signed.snapshot["actions"]} >= {"MP-1.1", "MP-1.5"}
    for other in ("WF", "PA", "PL"):
        assert report(other).snapshot == {} and report(other).checksum == ""


def test_the_reviews_name_the_meetings_that_made_them():
    board = Meeting.objects.get(body__name=BOARD, date=datetime.date(2018, 12, 12))
    task_group = Meeting.objects.get(body__workstream__code="MP", date=datetime.date(2018, 12, 5))
    assert board.period == task_group.period == NOVEMBER
    by_step = {review.step: review.meeting for review in report("MP").reviews.all()}
    assert by_step == {"submit": None, "endorse": task_group, "sign_off": board}
    assert set(board.attendees.values_list("username", flat=True)) == {
        "exec.director",
        "board.member",
        "office",
        "sro.mp",
        "sro.wf",
        "sro.pa",
        "sro.pl",
    }
    assert "signed off" in board.minutes and board.history.earliest().history_user.username == (
        "office"  # the board's secretary recorded it
    )
    assert board.decisions.count() == 3 and all(d.is_open for d in board.decisions.all())
    assert Decision.objects.filter(meeting=task_group).count() == 1


def test_risks_in_the_programme_register_and_the_workstreams():
    risks = Risk.objects.select_related("workstream", "owner")
    registers = {(r.workstream.code if r.workstream else None) for r in risks}
    assert registers == {None, "MP", "WF", "PA", "PL"}
    programme = risks.get(workstream=None)
    assert programme.owner.username == "exec.director" and programme.escalated
    locums = risks.get(workstream__code="WF")
    assert "25 of the 77 managers were locums" in locums.description and locums.score == 16


def test_the_content_is_the_council_reports_where_it_says_something():
    mp, wf, pl = report("MP"), report("WF"), report("PL")
    # The August seminars (section 5.3) and the training they led to (5.4).
    assert "one of three seminars over August" in mp.working_well
    assert "appraisals, managing performance and managing sickness" in mp.working_well
    # The share of locum managers, from the managers table (section 4, table 1).
    table = WorkforceSnapshot.objects.filter(as_of="2018-10-31").aggregate(
        total=Sum("total"), locum=Sum("locum"), salaried=Sum("salaried")
    )
    share = round(100 * table["locum"] / table["total"])
    assert f"{table['total']} managers, of whom {table['locum']} locum ({share}%)" in wf.how_we_know
    # The Equality Analysis, by 1 December 2018 (section 10.1): an item with that date.
    equality = pl.items.get(description__icontains="Equality Analysis")
    assert equality.due_date == datetime.date(2018, 12, 1)
    assert "Equality Analysis" in pl.reviews.get(step=Review.Step.RETURN).comment
    # Where the report says nothing, the line says it is illustrative.
    for text in (mp.how_we_know, mp.worried_about, wf.worried_about):
        for line in text.splitlines():
            if "%" in line or "target" in line:
                assert line.startswith("- Illustrative:"), line


def test_the_data_file_holds_the_cycle(settings):
    data = json.loads(settings.GRIP_REFERENCE_PLAN.read_text(encoding="utf-8"))
    assert {"meetings", "risks", "reports"} <= set(data)
    assert {(r["workstream"], r["period"]) for r in data["reports"]} == {
        (code, "2018-11") for code in ("MP", "WF", "PA", "PL")
    }


def load_again() -> str:
    out = io.StringIO()
    call_command("load_demo", "--allow-production", stdout=out)
    return out.getvalue()


def test_loading_again_creates_nothing_and_keeps_what_people_changed(plan):
    """The lead answers the board's question in the returned draft and the chair closes a
    risk; load_demo runs again next morning: both stay, and nothing of the cycle is added."""
    from django.contrib.auth import get_user_model

    User = get_user_model()
    draft = report("PL")
    services.report_edit(
        report=draft,
        by=User.objects.get(username="lead.pl"),
        based_on_version=draft.version,
        working_well=draft.working_well,
        how_we_know=draft.how_we_know,
        worried_about="The Equality Analysis was completed on 30 November 2018.",
    )
    risk = Risk.objects.get(workstream__code="PA")
    services.risk_close(by=User.objects.get(username="sro.pa"), risk=risk, note="Agreed.")
    counts = (
        ProgressReport.objects.count(),
        Review.objects.count(),
        Meeting.objects.count(),
        Decision.objects.count(),
        Risk.objects.count(),
        ProgressReport.history.count(),
    )
    sealed = report("MP").checksum

    output = load_again()

    assert "The demo cycle: 0 meetings, 0 decisions, 0 risks, 0 reports created." in output
    assert report("PL").worried_about == "The Equality Analysis was completed on 30 November 2018."
    assert Risk.objects.get(pk=risk.pk).status == Risk.Status.CLOSED
    assert report("MP").checksum == sealed
    assert (
        ProgressReport.objects.count(),
        Review.objects.count(),
        Meeting.objects.count(),
        Decision.objects.count(),
        Risk.objects.count(),
        ProgressReport.history.count(),
    ) == counts
