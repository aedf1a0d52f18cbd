"""My work's four-question reports: what waits for each user this period, from the demo cycle
(load_demo: November 2018's Management & Practice report signed off, Workforce endorsed,
Partnerships submitted, Platforms returned to its lead as a draft). The suite's clock is
pinned to 10 January 2019."""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from governance import services
from governance.models import ProgressReport
from governance.selectors import reports_waiting_for
from tests.helpers import DEMO_USERNAMES

pytestmark = pytest.mark.django_db

NOVEMBER = datetime.date(2018, 11, 1)
DECEMBER = datetime.date(2018, 12, 1)


def user(username):
    # Fresh from the database each time: roles are cached on the user object.
    return get_user_model().objects.get(username=username)


def november(code):
    return ProgressReport.objects.get(workstream__code=code, period=NOVEMBER)


def codes(reports):
    return [report.workstream.code if report.workstream_id else "programme" for report in reports]


def waiting(username, plan):
    found = reports_waiting_for(user(username), plan)
    return {
        name: codes(getattr(found, name))
        for name in ("to_write", "to_endorse", "to_sign_off", "for_the_board")
        if getattr(found, name)
    }


# Who waits for what in the demo cycle, by role (DESIGN.md, "Who may do what"): the lead and
# task group write their workstream's draft; the task group chair endorses; the programme board
# chair signs off; the board's other members see what comes to it; readers get nothing.
EXPECTED = {
    "admin": {"to_write": ["PL"]},  # a superuser may write any draft; no review waits for them
    "office": {"to_write": ["PL"], "for_the_board": ["WF"]},  # programme office; board secretary
    "exec.director": {"to_sign_off": ["WF"]},
    "board.member": {"for_the_board": ["WF"]},
    "sro.mp": {"for_the_board": ["WF"]},  # MP's report is signed off
    "sro.wf": {"for_the_board": ["WF"]},
    "sro.pa": {"to_endorse": ["PA"], "for_the_board": ["WF"]},
    "sro.pl": {"to_write": ["PL"], "for_the_board": ["WF"]},
    "lead.mp": {},
    "lead.wf": {},
    "lead.pa": {},
    "lead.pl": {"to_write": ["PL"]},
    "viewer": {},
}


def test_every_role_has_an_expectation():
    assert set(EXPECTED) == DEMO_USERNAMES


@pytest.mark.parametrize("username", sorted(EXPECTED))
def test_each_user_sees_the_reports_waiting_for_them(plan, username):
    assert waiting(username, plan) == EXPECTED[username]


def test_a_returned_draft_carries_who_returned_it_and_why(plan):
    (draft,) = reports_waiting_for(user("lead.pl"), plan).to_write
    assert draft.sent_back.by.username == "sro.pl"
    assert "Equality Analysis" in draft.sent_back.comment


def test_the_lists_follow_the_workflow(plan):
    services.report_endorse(report=november("PA"), by=user("sro.pa"))
    assert waiting("sro.pa", plan) == {"for_the_board": ["PA", "WF"]}
    assert waiting("exec.director", plan) == {"to_sign_off": ["PA", "WF"]}
    services.report_return(report=november("WF"), by=user("exec.director"), comment="Add dates.")
    assert waiting("lead.wf", plan) == {"to_write": ["WF"]}
    assert waiting("exec.director", plan) == {"to_sign_off": ["PA"]}
    services.report_sign_off(report=november("PA"), by=user("exec.director"))
    assert waiting("exec.director", plan) == {}


def test_a_programme_wide_report_goes_straight_to_the_board_chair(plan):
    office = user("office")
    report = services.report_start(by=office, plan=plan, period=DECEMBER)
    report = services.report_edit(
        report=report,
        by=office,
        based_on_version=report.version,
        working_well="Seminars held.",
        how_we_know="Audits.",
        worried_about="Locums.",
    )
    assert waiting("office", plan)["to_write"] == ["PL", "programme"]
    services.report_submit(report=report, by=office)
    assert waiting("exec.director", plan) == {"to_sign_off": ["WF", "programme"]}
    assert "programme" not in str(waiting("sro.mp", plan).get("to_endorse", []))
    assert waiting("board.member", plan) == {"for_the_board": ["WF", "programme"]}


def test_a_report_of_a_month_still_to_come_does_not_wait_yet(plan):
    lead = user("lead.mp")
    march = datetime.date(2019, 3, 1)
    services.report_start(
        by=lead, plan=plan, workstream=plan.workstreams.get(code="MP"), period=march
    )
    assert waiting("lead.mp", plan) == {}


def submitted(plan, code, period=DECEMBER):
    """A workstream's report for ``period``, answered and submitted by the programme office."""
    office = user("office")
    report = services.report_start(
        by=office, plan=plan, period=period, workstream=plan.workstreams.get(code=code)
    )
    report = services.report_edit(
        report=report,
        by=office,
        based_on_version=report.version,
        working_well="Seminars held.",
        how_we_know="Audits.",
        worried_about="Locums.",
    )
    services.report_submit(report=report, by=office)
    return report


def queries(function) -> int:
    with CaptureQueriesContext(connection) as captured:
        function()
    return len(captured)


def test_the_selector_runs_a_fixed_number_of_queries(plan):
    """Two for the reports and their reviews, and the user's roles, however many reports."""
    before = queries(lambda: reports_waiting_for(user("office"), plan))
    for code in ("MP", "WF", "PA", "PL"):
        submitted(plan, code)
    found = reports_waiting_for(user("office"), plan)
    assert codes(found.to_write) == ["PL"] and len(found.to_review) == 0
    assert queries(lambda: reports_waiting_for(user("office"), plan)) == before
    assert queries(lambda: reports_waiting_for(user("viewer"), plan)) <= 4  # roles only


def test_my_work_page_queries_do_not_grow_with_the_reports(client, plan):
    client.force_login(user("exec.director"))
    before = queries(lambda: client.get("/"))
    for code in ("MP", "PA", "PL"):
        report = submitted(plan, code)
        services.report_endorse(report=report, by=user(f"sro.{code.lower()}"))
    page = client.get("/").content.decode()
    assert page.count('data-report="') == 4
    assert queries(lambda: client.get("/")) == before


# --- The page ----------------------------------------------------------------------------------


def test_the_board_chair_has_the_report_to_sign_off_on_my_work(client):
    client.force_login(user("exec.director"))
    page = client.get("/").content.decode()
    assert "My work for January 2019" in page
    assert 'id="reports-to-sign-off"' in page and "Waiting for your sign-off" in page
    workforce = november("WF")
    assert f'href="{workforce.get_absolute_url()}">Workforce report, November 2018</a>' in page
    assert f"/reports/{november('MP').pk}/" not in page  # signed off: nothing waits


def test_a_board_member_sees_what_comes_to_the_board(client):
    client.force_login(user("board.member"))
    page = client.get("/").content.decode()
    assert "My work for January 2019" in page
    assert 'id="reports-for-the-board"' in page
    assert november("WF").get_absolute_url() in page
    assert 'id="reports-to-sign-off"' not in page


def test_a_lead_sees_the_draft_returned_to_them_with_the_comment(client):
    client.force_login(user("lead.pl"))
    page = client.get("/").content.decode()
    assert 'id="reports-to-write"' in page
    assert november("PL").get_absolute_url() in page
    assert "Returned by Senior responsible officer (Platforms)" in page
    assert "Say where the Equality Analysis stands" in page


def test_a_chair_with_nothing_waiting_is_told_so(client, plan):
    services.report_endorse(report=november("PA"), by=user("sro.pa"))
    client.force_login(user("sro.pa"))
    page = client.get("/").content.decode()
    assert 'id="reports-to-endorse"' not in page
    services.report_sign_off(report=november("PA"), by=user("exec.director"))
    services.report_sign_off(report=november("WF"), by=user("exec.director"))
    page = client.get("/").content.decode()
    assert 'id="no-reports-waiting"' in page


def test_readers_get_no_reports_section(client):
    client.force_login(user("viewer"))
    page = client.get("/").content.decode()
    assert "The plan at a glance" in page
    assert 'id="reports-waiting"' not in page and 'data-report="' not in page
