"""Meetings: who records them, the agenda built from the data, decisions carried forward
from meeting to meeting until closed, the pages and what they cost."""

import datetime
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from simple_history.utils import bulk_create_with_history

from governance import selectors, services
from governance.models import Body, Decision, Meeting, Membership, ProgressReport, Review
from tests.helpers import DEMO_USERNAMES
from workstreams.models import Action, ActionUpdate, DueDateChange, Workstream

pytestmark = pytest.mark.django_db

DEC_2018 = datetime.date(2018, 12, 1)
NOV_2018 = datetime.date(2018, 11, 1)


def user(username):
    return get_user_model().objects.get(username=username)


@pytest.fixture
def mp_group(plan):
    return Body.objects.get(workstream__plan=plan, workstream__code="MP")


@pytest.fixture
def board(db):
    return Body.objects.get(kind=Body.Kind.PROGRAMME_BOARD)


def meeting_of(body, date, period=None, by="office", **fields):
    return services.meeting_record(
        by=user(by),
        body=body,
        date=date,
        period=period or (date.replace(day=1) - datetime.timedelta(days=1)).replace(day=1),
        attendees=fields.pop("attendees", []),
        minutes=fields.pop("minutes", ""),
    )


# --- Who records meetings ------------------------------------------------------------------

# A body's chair and secretary record its meetings; the programme office (and the
# administrator, a superuser) any body's. Members and everyone else may not.
RECORDERS = {
    "mp_group": {"admin", "office", "sro.mp"},
    "board": {"admin", "office", "exec.director"},
}


@pytest.mark.parametrize("which", sorted(RECORDERS))
@pytest.mark.parametrize("username", sorted(DEMO_USERNAMES))
def test_who_records_a_bodys_meetings(request, which, username):
    body = request.getfixturevalue(which)
    by = user(username)
    people = [user("sro.mp"), user("lead.mp")]
    arguments = {
        "by": by,
        "body": body,
        "date": datetime.date(2019, 1, 15),
        "period": datetime.date(2018, 12, 17),  # any day of the month: its first is kept
        "attendees": people,
        "minutes": "Went through the exceptions.",
    }
    if username not in RECORDERS[which]:
        with pytest.raises(PermissionDenied):
            services.meeting_record(**arguments)
        assert not Meeting.objects.filter(body=body, date=arguments["date"]).exists()
        return
    meeting = services.meeting_record(**arguments)
    meeting = Meeting.objects.get(pk=meeting.pk)
    assert (meeting.body, meeting.date, meeting.period) == (body, arguments["date"], DEC_2018)
    assert set(meeting.attendees.all()) == set(people)
    assert meeting.minutes == "Went through the exceptions."
    assert {row.history_user for row in meeting.history.all()} == {by}


def test_the_secretary_records_the_bodys_meetings_and_a_member_does_not(mp_group):
    Membership.objects.create(body=mp_group, user=user("lead.wf"), role="secretary")
    meeting = meeting_of(mp_group, datetime.date(2019, 1, 15), by="lead.wf")
    assert meeting.history.first().history_user == user("lead.wf")
    with pytest.raises(PermissionDenied):  # lead.mp sits on the task group as a member
        meeting_of(mp_group, datetime.date(2019, 1, 16), by="lead.mp")
    # Secretary of the task group, not of the board.
    board = Body.objects.get(kind=Body.Kind.PROGRAMME_BOARD)
    with pytest.raises(PermissionDenied):
        meeting_of(board, datetime.date(2019, 1, 16), by="lead.wf")


@pytest.mark.parametrize(
    ("date", "period", "message"),
    [
        (datetime.date(2019, 1, 15), datetime.date(2019, 2, 1), "its own month or an earlier"),
        (datetime.date(2019, 1, 10), DEC_2018, "already has a meeting on 10 January 2019"),
    ],
)
def test_a_meeting_is_refused_with_a_clear_message(mp_group, date, period, message):
    meeting_of(mp_group, datetime.date(2019, 1, 10))
    before = Meeting.objects.count()
    with pytest.raises(ValidationError, match=message):
        meeting_of(mp_group, date, period)
    assert Meeting.objects.count() == before


def test_the_record_of_a_meeting_is_corrected_by_who_records_it(mp_group):
    meeting = meeting_of(mp_group, datetime.date(2019, 1, 10), attendees=[user("sro.mp")])
    with pytest.raises(PermissionDenied):
        services.meeting_edit(
            by=user("lead.mp"),
            meeting=meeting,
            date=meeting.date,
            period=meeting.period,
            attendees=[],
            minutes="Rewritten.",
        )
    services.meeting_edit(
        by=user("sro.mp"),
        meeting=meeting,
        date=datetime.date(2019, 1, 11),
        period=NOV_2018,
        attendees=[user("sro.mp"), user("lead.mp")],
        minutes="Minutes agreed.",
    )
    meeting = Meeting.objects.get(pk=meeting.pk)
    assert (meeting.date, meeting.period, meeting.minutes) == (
        datetime.date(2019, 1, 11),
        NOV_2018,
        "Minutes agreed.",
    )
    assert set(meeting.attendees.values_list("username", flat=True)) == {"sro.mp", "lead.mp"}
    assert meeting.history.first().history_user == user("sro.mp")


# --- Decisions -----------------------------------------------------------------------------


def test_decisions_are_added_by_who_records_the_meeting(mp_group):
    meeting = meeting_of(mp_group, datetime.date(2018, 12, 13))
    with pytest.raises(PermissionDenied):
        services.decision_add(by=user("lead.mp"), meeting=meeting, text="Audit supervision.")
    with pytest.raises(ValidationError, match="Say what was decided"):
        services.decision_add(by=user("sro.mp"), meeting=meeting, text="  ")
    decision = services.decision_add(
        by=user("sro.mp"),
        meeting=meeting,
        text="Audit supervision records.",
        owner=user("lead.mp"),
        due_date=datetime.date(2019, 1, 31),
    )
    decision = Decision.objects.get(pk=decision.pk)
    assert (decision.meeting, decision.text, decision.owner, decision.due_date) == (
        meeting,
        "Audit supervision records.",
        user("lead.mp"),
        datetime.date(2019, 1, 31),
    )
    assert decision.is_open
    assert decision.history.get().history_user == user("sro.mp")


def test_a_decision_is_closed_only_at_a_later_meeting_of_its_body(mp_group, board):
    first = meeting_of(mp_group, datetime.date(2018, 12, 13))
    later = meeting_of(mp_group, datetime.date(2019, 1, 10))
    elsewhere = meeting_of(board, datetime.date(2019, 1, 10))
    decision = services.decision_add(by=user("sro.mp"), meeting=later, text="Audit.")
    close = {"by": user("sro.mp"), "decision": decision, "note": "Done."}
    with pytest.raises(ValidationError, match="later meeting"):
        services.decision_close(**close, at_meeting=first)
    with pytest.raises(ValidationError, match="later meeting"):
        services.decision_close(**close, at_meeting=later)
    decision = services.decision_add(by=user("sro.mp"), meeting=first, text="Audit.")
    close["decision"] = decision
    with pytest.raises(ValidationError, match="body that made it"):
        services.decision_close(**close, at_meeting=elsewhere)
    with pytest.raises(ValidationError, match="Say what came of"):
        services.decision_close(**{**close, "note": " "}, at_meeting=later)
    with pytest.raises(PermissionDenied):
        services.decision_close(**{**close, "by": user("lead.mp")}, at_meeting=later)
    assert Decision.objects.get(pk=decision.pk).is_open

    services.decision_close(**close, at_meeting=later)
    decision = Decision.objects.get(pk=decision.pk)
    assert (decision.closed_at, decision.closing_note) == (later, "Done.")
    assert decision.history.order_by("history_id").last().history_user == user("sro.mp")
    with pytest.raises(ValidationError, match="already closed at the meeting of 10 January"):
        services.decision_close(**close, at_meeting=later)


def states(rows):
    return [(row.decision.text, row.state) for row in rows]


def test_decisions_are_carried_forward_until_closed(testing):
    november = meeting_of(testing, datetime.date(2018, 11, 15))
    december = meeting_of(testing, datetime.date(2018, 12, 13))
    january = meeting_of(testing, datetime.date(2019, 1, 10))
    chair = user("sro.mp")
    audit = services.decision_add(by=chair, meeting=november, text="Audit supervision.")
    seminars = services.decision_add(by=chair, meeting=november, text="Rearrange seminars.")
    locums = services.decision_add(by=chair, meeting=december, text="Report on locums.")
    services.decision_close(by=chair, decision=audit, at_meeting=december, note="Audited.")

    assert states(selectors.meeting_agenda(november).carried) == []
    assert states(selectors.meeting_agenda(november).decisions) == [
        ("Audit supervision.", "Open then; closed at the meeting of 13 December 2018"),
        ("Rearrange seminars.", "Open"),
    ]
    assert states(selectors.meeting_agenda(december).carried) == [
        ("Audit supervision.", "Closed at this meeting"),
        ("Rearrange seminars.", "Open"),
    ]
    assert states(selectors.meeting_agenda(january).carried) == [
        ("Rearrange seminars.", "Open"),
        ("Report on locums.", "Open"),
    ]
    services.decision_close(by=chair, decision=seminars, at_meeting=january, note="Held.")
    services.decision_close(by=chair, decision=locums, at_meeting=january, note="Reported.")
    assert states(selectors.meeting_agenda(january).carried) == [
        ("Rearrange seminars.", "Closed at this meeting"),
        ("Report on locums.", "Closed at this meeting"),
    ]
    # Once closed they are carried no further, and the earlier meeting keeps how it stood.
    february = meeting_of(testing, datetime.date(2019, 2, 14))
    assert states(selectors.meeting_agenda(february).carried) == []
    assert states(selectors.meeting_agenda(december).carried)[1] == (
        "Rearrange seminars.",
        "Open then; closed at the meeting of 10 January 2019",
    )
    assert not any(row.still_open for row in selectors.meeting_agenda(december).carried)


# --- The agenda, from known data -----------------------------------------------------------


def at_noon(day):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(12)))


@pytest.fixture
def testing(plan):
    """A workstream of its own ("TX") with a task group and actions whose state is known:

    - TX-1 on track, due 15 Dec 2018, no update: overdue at December's end;
    - TX-2 reported off track, due in March, updated in December;
    - TX-3 at risk, its due date moved from 31 Jan to 28 Feb (approved 10 Dec), updated;
    - TX-4 complete: never an exception;
    - TX-5 on track, updated, with a request to move its due date waiting;
    - TX-6 on track, due 5 Jan 2019 (overdue today, 10 Jan, but not at December's end),
      updated in December;
    - TX-7 on track, last updated in November: no update for December.
    """
    workstream = Workstream.objects.create(plan=plan, code="TX", name="Testing")
    body = Body.objects.create(name="Testing Task Group", kind="task_group", workstream=workstream)
    lead, chair = user("lead.mp"), user("sro.mp")
    Membership.objects.create(body=body, user=chair, role="chair")
    march = datetime.date(2019, 3, 31)
    specs = {
        1: ("on_track", datetime.date(2018, 12, 15), None),
        2: ("off_track", march, None),
        3: ("at_risk", datetime.date(2019, 1, 31), datetime.date(2019, 2, 28)),
        4: ("complete", datetime.date(2018, 12, 1), None),
        5: ("on_track", march, None),
        6: ("on_track", datetime.date(2019, 1, 5), None),
        7: ("on_track", march, None),
    }
    actions = {}
    for n, (status, due, revised) in specs.items():
        actions[n] = Action.objects.create(
            plan=plan,
            workstream=workstream,
            reference=f"TX-{n}",
            title=f"Testing action {n}",
            lead_officer=lead,
            due_date=due,
            revised_due_date=revised,
            revised_due_reason="Provider cancelled." if revised else "",
            status=status,
            evidence_of_impact="Shown." if status == "complete" else "",
        )
    for n, period in ((2, DEC_2018), (3, DEC_2018), (5, DEC_2018), (6, DEC_2018), (7, NOV_2018)):
        ActionUpdate.objects.create(
            action=actions[n],
            period=period,
            status=actions[n].status,
            progress_narrative="Progress.",
            created_by=lead,
            created_at=at_noon(period + datetime.timedelta(days=9)),
        )
        # as ``action_update_record`` keeps it with the update
        Action.objects.filter(pk=actions[n].pk).update(last_update_period=period)
    DueDateChange.objects.create(
        action=actions[3],
        from_date=datetime.date(2019, 1, 31),
        to_date=datetime.date(2019, 2, 28),
        reason="Provider cancelled.",
        requested_by=lead,
        requested_at=at_noon(datetime.date(2018, 12, 3)),
        decision="approved",
        decided_by=chair,
        decided_at=at_noon(datetime.date(2018, 12, 10)),
    )
    DueDateChange.objects.create(
        action=actions[5],
        from_date=march,
        to_date=datetime.date(2019, 4, 30),
        reason="Waiting for the new system.",
        requested_by=lead,
    )
    return body


def references(actions):
    return [action.reference for action in actions]


def test_a_task_groups_agenda_is_its_workstreams_exceptions_for_the_month(testing, plan):
    meeting = meeting_of(testing, datetime.date(2019, 1, 10), DEC_2018)
    report = ProgressReport.objects.create(
        plan=plan, workstream=testing.workstream, period=DEC_2018, created_by=user("lead.mp")
    )
    agenda = selectors.meeting_agenda(meeting)
    assert agenda.judged_on == datetime.date(2018, 12, 31)
    lists = {item.key: references(item.actions) for item in agenda.exceptions}
    assert lists == {
        "overdue": ["TX-1"],
        "off_track": ["TX-2"],
        "slipped": ["TX-3"],
        "no_update": ["TX-1", "TX-7"],
    }
    assert [item.title for item in agenda.exceptions] == [
        "Overdue",
        "Reported off track",
        "Due date slipped in December 2018",
        "No update for December 2018",
    ]
    assert [c.action.reference for c in agenda.due_date_requests] == ["TX-5"]
    assert [(row.workstream, row.report) for row in agenda.reports] == [
        (testing.workstream, report)
    ]


def test_a_months_agenda_is_judged_on_today_while_the_month_runs(testing):
    """January's meeting on 10 January: TX-6 (due 5 January) is overdue today, and every
    open action lacks January's update."""
    meeting = meeting_of(testing, datetime.date(2019, 1, 10), datetime.date(2019, 1, 1))
    agenda = selectors.meeting_agenda(meeting)
    assert agenda.judged_on == datetime.date(2019, 1, 10)
    lists = {item.key: references(item.actions) for item in agenda.exceptions}
    assert lists["overdue"] == ["TX-1", "TX-6"]
    assert lists["slipped"] == []  # TX-3 slipped in December
    assert sorted(lists["no_update"]) == ["TX-1", "TX-2", "TX-3", "TX-5", "TX-6", "TX-7"]
    assert [row.report for row in agenda.reports] == [None]


def test_the_programme_boards_agenda_is_every_workstreams_report_with_its_state(plan, board):
    mp, wf = plan.workstreams.get(code="MP"), plan.workstreams.get(code="WF")
    lead = user("lead.mp")
    reports = {
        "MP": ProgressReport.objects.create(
            plan=plan, workstream=mp, period=DEC_2018, created_by=lead, status="submitted"
        ),
        "WF": ProgressReport.objects.create(
            plan=plan, workstream=wf, period=DEC_2018, created_by=lead
        ),
        "": ProgressReport.objects.create(plan=plan, period=DEC_2018, created_by=user("office")),
    }
    ProgressReport.objects.create(
        plan=plan, workstream=mp, period=datetime.date(2019, 1, 1), created_by=lead
    )
    meeting = meeting_of(board, datetime.date(2019, 1, 16), DEC_2018)
    agenda = selectors.meeting_agenda(meeting)
    assert agenda.exceptions == [] and not agenda.is_task_group
    assert [
        (row.workstream.code if row.workstream else "", row.report) for row in agenda.reports
    ] == [
        ("MP", reports["MP"]),
        ("PA", None),
        ("PL", None),
        ("WF", reports["WF"]),
        ("", reports[""]),
    ]


def test_the_reviews_made_at_a_meeting_are_on_its_record(plan, board):
    meeting = meeting_of(board, datetime.date(2019, 1, 16), DEC_2018)
    report = ProgressReport.objects.create(
        plan=plan,
        workstream=plan.workstreams.get(code="MP"),
        period=DEC_2018,
        created_by=user("lead.mp"),
    )
    review = Review.objects.create(
        report=report, step="return", by=user("exec.director"), comment="More.", meeting=meeting
    )
    Review.objects.create(report=report, step="submit", by=user("lead.mp"))
    assert selectors.meeting_agenda(meeting).reviews == [review]


# --- Pages ---------------------------------------------------------------------------------


def test_the_meeting_list_is_newest_first_and_filters_by_body(client, mp_group, board):
    older = meeting_of(mp_group, datetime.date(2018, 12, 13))
    newer = meeting_of(board, datetime.date(2018, 12, 18))
    client.force_login(user("viewer"))
    page = client.get(reverse("governance:meeting-list")).content.decode()
    assert page.index(f'data-meeting="{newer.pk}"') < page.index(f'data-meeting="{older.pk}"')
    assert "Record a meeting" not in page  # the viewer records nothing
    page = client.get(reverse("governance:meeting-list"), {"body": mp_group.pk}).content.decode()
    assert f'data-meeting="{older.pk}"' in page and f'data-meeting="{newer.pk}"' not in page
    page = client.get(reverse("governance:meeting-list"), {"body": "x"}).content.decode()
    assert "Choose a body from the list" in page


def test_recording_a_meeting_from_its_page(client, mp_group, board):
    client.force_login(user("sro.mp"))
    page = client.get(reverse("governance:meeting-record")).content.decode()
    assert escape(mp_group.name) in page and escape(board.name) not in page
    response = client.post(
        reverse("governance:meeting-record"),
        {
            "body": mp_group.pk,
            "date_0": "10",
            "date_1": "1",
            "date_2": "2019",
            "period": "2018-12",
            "attendees": [user("sro.mp").pk, user("lead.mp").pk],
            "minutes": "Agreed the exceptions.",
        },
    )
    meeting = Meeting.objects.get(body=mp_group, date=datetime.date(2019, 1, 10))
    assert response.status_code == 302 and response["Location"] == meeting.get_absolute_url()
    assert meeting.period == DEC_2018 and meeting.attendees.count() == 2
    assert meeting.history.first().history_user == user("sro.mp")
    # The same day again: refused, with the reason beside the date.
    response = client.post(
        reverse("governance:meeting-record"),
        {"body": mp_group.pk, "date_0": "10", "date_1": "1", "date_2": "2019", "period": "2018-12"},
    )
    assert response.status_code == 200
    assert "already has a meeting on 10 January 2019" in response.content.decode()


def test_a_decision_is_added_and_closed_from_the_meeting_pages(client, mp_group):
    december = meeting_of(mp_group, datetime.date(2018, 12, 13))
    january = meeting_of(mp_group, datetime.date(2019, 1, 10))
    client.force_login(user("sro.mp"))
    response = client.post(
        reverse("governance:decision-add", args=[december.pk]),
        {"text": "Audit supervision.", "owner": user("lead.mp").pk, "due_date_0": ""},
    )
    assert response.status_code == 302
    decision = december.decisions.get()
    assert decision.owner == user("lead.mp")
    page = client.get(january.get_absolute_url()).content.decode()
    close_url = reverse("governance:decision-close", args=[january.pk, decision.pk])
    assert close_url in page  # carried to January, and closable there
    response = client.post(close_url, {"closing_note": ""})
    assert "Say what came of the decision" in response.content.decode()
    response = client.post(close_url, {"closing_note": "Audited: 9 of 10 up to date."})
    assert response.status_code == 302
    decision.refresh_from_db()
    assert decision.closed_at == january
    page = client.get(january.get_absolute_url()).content.decode()
    assert "Closed at this meeting: Audited: 9 of 10 up to date." in page
    # A decision can be closed only at a later meeting of its own body.
    assert (
        client.get(
            reverse("governance:decision-close", args=[december.pk, decision.pk])
        ).status_code
        == 404
    )


def test_only_who_records_the_meeting_is_offered_and_accepted(client, mp_group):
    meeting = meeting_of(mp_group, datetime.date(2019, 1, 10))
    client.force_login(user("lead.mp"))
    page = client.get(meeting.get_absolute_url()).content.decode()
    assert "Add a decision" not in page and "Change the record" not in page
    for name in ("governance:decision-add", "governance:meeting-edit"):
        url = reverse(name, args=[meeting.pk])
        assert client.get(url).status_code == 403
        assert client.post(url, {"text": "Sneaked in."}).status_code == 403
    assert client.get(reverse("governance:meeting-record")).status_code == 403
    assert not meeting.decisions.exists()


def test_the_meeting_page_shows_its_agenda_and_record(client, testing, plan):
    meeting = meeting_of(
        testing, datetime.date(2019, 1, 10), DEC_2018, attendees=[user("sro.mp")], minutes="Met."
    )
    report = ProgressReport.objects.create(
        plan=plan, workstream=testing.workstream, period=DEC_2018, created_by=user("lead.mp")
    )
    client.force_login(user("viewer"))
    page = client.get(meeting.get_absolute_url()).content.decode()
    overdue = page[page.index('id="agenda-overdue"') : page.index('id="agenda-off_track"')]
    assert "Overdue (1)" in overdue and 'data-reference="TX-1"' in overdue
    assert "Off track: overdue" in overdue  # in words, judged on 31 December
    assert 'data-reference="TX-5"' in page[page.index('id="agenda-due-date-requests"') :]
    assert reverse("governance:report-detail", args=[report.pk]) in page
    assert "Draft" in page[page.index('id="agenda-reports"') :]
    assert "Senior responsible officer (Management &amp; Practice)" in page  # attended


def add_exceptions(workstream, n):
    """``n`` more overdue actions without an update in the workstream."""
    lead = user("lead.mp")
    bulk_create_with_history(
        [
            Action(
                plan=workstream.plan,
                workstream=workstream,
                reference=f"{workstream.code}-9.{i}",
                title=f"Synthetic action {i}",
                lead_officer=lead,
                due_date=datetime.date(2018, 12, 1),
                status="on_track",
            )
            for i in range(n)
        ],
        Action,
    )


def test_the_meeting_page_runs_a_fixed_number_of_queries(client, testing, plan):
    earlier = meeting_of(testing, datetime.date(2018, 12, 13), NOV_2018)
    meeting = meeting_of(testing, datetime.date(2019, 1, 10), DEC_2018, attendees=[user("sro.mp")])
    client.force_login(user("sro.mp"))
    url = meeting.get_absolute_url()
    client.get(url)

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    few = count()
    add_exceptions(testing.workstream, 30)
    for n in range(10):
        services.decision_add(by=user("sro.mp"), meeting=earlier, text=f"Carried {n}.")
        services.decision_add(by=user("sro.mp"), meeting=meeting, text=f"Made {n}.")
    meeting.attendees.set(get_user_model().objects.all())
    assert count() == few
    assert few <= 20, f"{few} queries"


def test_the_meeting_list_runs_a_fixed_number_of_queries(client, mp_group, board):
    client.force_login(user("office"))
    url = reverse("governance:meeting-list")
    meeting_of(mp_group, datetime.date(2018, 12, 13))
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for day in range(1, 20):
        meeting = meeting_of(board, datetime.date(2018, 10, day), attendees=[user("viewer")])
        services.decision_add(by=user("office"), meeting=meeting, text="Decided.")
    with CaptureQueriesContext(connection) as many:
        page = client.get(url).content.decode()
    assert len(many) == len(few)
    assert page.count("data-meeting=") == min(Meeting.objects.count(), 25) >= 20


def test_every_meeting_form_opens_for_who_records_the_meeting(client, mp_group):
    december = meeting_of(mp_group, datetime.date(2018, 12, 13))
    january = meeting_of(mp_group, datetime.date(2019, 1, 10), attendees=[user("lead.mp")])
    decision = services.decision_add(by=user("sro.mp"), meeting=december, text="Audit.")
    client.force_login(user("sro.mp"))
    pages = {
        reverse("governance:meeting-record"): "Record a meeting",
        reverse("governance:meeting-edit", args=[january.pk]): "Change the record",
        reverse("governance:decision-add", args=[january.pk]): "Add a decision",
        reverse("governance:decision-close", args=[january.pk, decision.pk]): "Close a decision",
    }
    for url, heading in pages.items():
        response = client.get(url)
        assert response.status_code == 200 and heading in response.content.decode(), url
    form = client.get(reverse("governance:meeting-edit", args=[january.pk])).content.decode()
    checked = {
        int(box.group(1))
        for box in re.finditer(r'<input[^>]*name="attendees"[^>]*value="(\d+)"[^>]*>', form, re.S)
        if "checked" in box.group(0)
    }
    assert checked == {user("lead.mp").pk}
    assert re.search(r'<option value="2018-12"\s+selected', form)
