"""Every page fits a phone (375 px) and reads well on a desktop (1280 px), in headless Chromium.

Each page is opened as the user who sees it, at both widths: nothing may scroll sideways
and no element may reach past the viewport's edges; statuses stay in words; axe finds no
serious or critical problem. A screenshot of each page at each width is saved (to
``$GRIP_SHOTS``, /tmp/grip-shots by default) for a person to look at.

The phone is emulated as a phone (``is_mobile``). Such a browser widens its layout viewport
to whatever the page needs, so ``window.innerWidth`` grows with the overflow: the checks
hold the page to the width the test set, not to ``innerWidth`` alone.
"""

import datetime
import os
import re
from pathlib import Path

import pytest
import time_machine
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from governance import services as governance
from governance.models import Body, Risk
from tests.browser.test_import import show_import_done, show_import_errors, show_import_preview
from tests.browser.test_pages import serious_violations
from tests.helpers import report_in_state
from workstreams import services
from workstreams.models import Action, Rag

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE, DESKTOP = 375, 1280
SHOTS = Path(os.environ.get("GRIP_SHOTS", "/tmp/grip-shots"))
# A day inside the reference plan's year, when moving MP-1.2's due date is within reason.
IN_THE_PLAN_YEAR = datetime.datetime(2018, 11, 20, 12, tzinfo=datetime.UTC)

# The page's width, and whatever reaches past either edge of the viewport. Visually hidden
# content (text for screen readers, a table's header row on a phone) sits in a 1 px box that
# clips it: it cannot be seen or scrolled to, so it is left out.
MEASURE = """(width) => {
  const clipped = (element) => {
    for (let box = element.parentElement; box; box = box.parentElement) {
      const style = getComputedStyle(box);
      if (style.overflow !== "visible" && box.getBoundingClientRect().width <= 1) return true;
    }
    return false;
  };
  const outside = [];
  for (const element of document.querySelectorAll("body *")) {
    const box = element.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    if (element.closest(".govuk-visually-hidden") || clipped(element)) continue;
    if (box.right > width + 0.5 || box.left < -0.5) {
      const name = element.tagName.toLowerCase() + (element.id ? "#" + element.id : "")
        + [...element.classList].map((c) => "." + c).join("");
      outside.push(`${name} (${Math.round(box.left)} to ${Math.round(box.right)} px)`);
    }
  }
  return {
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    outside: outside.slice(0, 5),
  };
}"""


def sign_in(page, live_server, username):
    """Sign in through the form; works at any width (on a phone the menu is folded)."""
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("grip-demo")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def open_page(browser, live_server, width, username):
    """A fresh browser context at ``width`` (a phone below 400 px), signed in as ``username``."""
    phone = width < 400
    context = browser.new_context(
        viewport={"width": width, "height": 800}, is_mobile=phone, has_touch=phone
    )
    page = context.new_page()
    if username:
        sign_in(page, live_server, username)
    return context, page


def assert_fits(page, width, name):
    """Nothing scrolls sideways at ``width``; saves the screenshot to look at."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"{name}-{width}.png", full_page=True)
    measured = page.evaluate(MEASURE, width)
    assert measured["scrollWidth"] <= measured["innerWidth"] == width, (
        f"{name} is {measured['scrollWidth']} px wide at {width} px: {measured['outside']}"
    )
    assert measured["outside"] == [], f"{name} at {width} px: {measured['outside']}"


@pytest.fixture
def moved_action(demo):
    """MP-1.2 with three monthly updates and three due-date moves: approved, rejected and
    one waiting for the chair, made on a day in the plan's year (the reasons are long, as
    people write them)."""
    users = get_user_model().objects
    lead, chair = users.get(username="lead.mp"), users.get(username="sro.mp")
    action = Action.objects.get(plan=demo, reference="MP-1.2")
    moves = [
        (
            datetime.date(2019, 2, 28),
            "The recruitment partner needs six more weeks to run a second campaign across "
            "the region.",
            "Agreed at the task group meeting.",
        ),
        (
            datetime.date(2019, 3, 31),
            "Notice periods of the preferred candidates run to the end of March.",
            "Keep to February: interim cover is in place, so the managers can start later "
            "without moving the action.",
        ),
        (datetime.date(2019, 3, 15), "Start dates agreed for the middle of March.", None),
    ]
    with time_machine.travel(IN_THE_PLAN_YEAR, tick=False):
        for number, (to_date, reason, decision) in enumerate(moves, start=1):
            action.refresh_from_db()
            services.action_update_record(
                action=action,
                by=lead,
                based_on_version=action.version,
                status="at_risk",
                progress_narrative=f"Update {number}: the first round of interviews found no "
                "appointable candidates for the two team manager posts; a second round is "
                "booked with the regional recruitment partner.",
                next_steps="Second round of interviews in December.",
                revised_due_date=to_date,
                due_date_reason=reason,
            )
            if decision:
                services.due_date_change_decide(
                    change=action.due_date_changes.get(decision="pending"),
                    by=chair,
                    approve=number == 1,
                    comment=decision,
                )
    action.refresh_from_db()
    return action


def show_errors(page):
    page.get_by_label("Progress this month").fill("")
    page.get_by_label("Day", exact=True).fill("31")
    page.get_by_label("Month", exact=True).fill("2")
    page.get_by_label("Year", exact=True).fill("2019")
    page.get_by_role("button", name="Save update").click()
    expect(page.locator(".govuk-error-summary")).to_be_visible()


def show_conflict(page):
    """Someone else saves the action while the form is open; saving it then shows what
    they changed (the 409 page)."""
    action = Action.objects.get(reference="MP-1.2")
    services.action_update_record(
        action=action,
        by=get_user_model().objects.get(username="lead.mp"),
        based_on_version=action.version,
        status="off_track",
        progress_narrative="The second round of interviews was cancelled by the partner.",
    )
    page.get_by_label("Progress this month").fill("Offers made to two candidates.")
    page.get_by_role("button", name="Save update").click()
    expect(page.locator("#conflict-changes")).to_be_visible()


def person(username):
    return get_user_model().objects.get(username=username)


def site(page):
    """The live server's address, from the page's."""
    return "/".join(page.url.split("/", 3)[:3])


def show_meeting(kind):
    """A meeting of the MP task group (or the programme board) reviewing December 2018, with
    a decision carried from an earlier meeting and two made at it, opened as recorded."""

    def prepare(page):
        office = person("office")
        body = (
            Body.objects.get(workstream__code="MP", workstream__plan__status="live")
            if kind == "task_group"
            else Body.objects.get(kind="programme_board")
        )
        record = {"by": office, "body": body, "attendees": [person("sro.mp"), person("lead.mp")]}
        earlier = governance.meeting_record(
            **record, date=datetime.date(2018, 12, 14), period=datetime.date(2018, 11, 1)
        )
        governance.decision_add(
            by=office,
            meeting=earlier,
            text="Audit a sample of supervision records against the managers' practice "
            "standards and bring the findings to the January meeting.",
            owner=person("lead.mp"),
            due_date=datetime.date(2019, 1, 9),
        )
        meeting = governance.meeting_record(
            **record,
            date=datetime.date(2019, 1, 9),
            period=datetime.date(2018, 12, 1),
            minutes="The meeting went through the month's exceptions with each lead officer.",
        )
        for text in ("Bring the recruitment plan to February.", "Escalate MP-1.5 to the board."):
            governance.decision_add(by=office, meeting=meeting, text=text, owner=person("sro.mp"))
        page.goto(f"{site(page)}{meeting.get_absolute_url()}")
        expect(page.get_by_role("heading", level=1)).to_contain_text("Meeting on 9 January")

    return prepare


def submit_empty(page):
    page.get_by_role("button", name=re.compile("^(Save|Add)")).click()
    expect(page.locator(".govuk-error-summary")).to_be_visible()


def a_risk(by="sro.mp"):
    plan = Action.objects.get(reference="MP-1.2").plan
    return governance.risk_add(
        by=person(by),
        plan=plan,
        workstream=plan.workstreams.get(code="MP"),
        title="Team managers leave before the practice standards are embedded in supervision",
        description="Turnover of team managers in the assessment service remains high.",
        owner=person("sro.mp"),
        likelihood=4,
        impact=5,
        mitigation="Retention payments; a development programme for aspiring team managers.",
        escalated=True,
    )


def show_risk_history(page):
    """A risk changed twice (once with a reason) and closed, on its page."""
    risk = a_risk()
    governance.risk_change(by=person("lead.mp"), risk=risk, likelihood=3, note="Two posts filled.")
    governance.risk_change(by=person("office"), risk=risk, mitigation="Retention payments.")
    governance.risk_close(by=person("sro.mp"), risk=risk, note="All the posts are filled.")
    page.goto(f"{site(page)}/risks/{risk.pk}/")
    expect(page.locator("[data-history-entry]")).to_have_count(4)


def show_risk_conflict(page):
    """Someone else changes the risk while the form is open; saving then shows what."""
    risk = a_risk()
    page.goto(f"{site(page)}/risks/{risk.pk}/change/")
    governance.risk_change(
        by=person("office"),
        risk=Risk.objects.get(pk=risk.pk),
        mitigation="Retention payments, and a review of caseloads in the assessment service.",
    )
    page.get_by_label("Why it changed (optional)").fill("The second round of recruitment failed.")
    page.get_by_role("button", name="Save the changes").click()
    expect(page.locator("#conflict-changes")).to_be_visible()


DECEMBER, JANUARY = datetime.date(2018, 12, 1), datetime.date(2019, 1, 1)


def december_report(state, code="MP"):
    """December 2018's report of a workstream in ``state``, with a line of what needs to
    happen whose words are as long as people write them."""
    plan = Action.objects.get(reference="MP-1.2").plan
    report = report_in_state(plan, "draft", code=code, period=DECEMBER)
    governance.report_item_add(
        report=report,
        by=person("office"),
        description="Complete the equality analysis of the practice standards and share it "
        "with the staff reference group before the standards are relaunched.",
        owner=person(f"lead.{code.lower()}"),
        due_date=datetime.date(2019, 1, 31),
    )
    steps = [
        (governance.report_submit, person("office")),
        (governance.report_endorse, person(f"sro.{code.lower()}")),
        (governance.report_sign_off, person("exec.director")),
    ]
    for step, by in steps[: ["draft", "submitted", "endorsed", "signed_off"].index(state)]:
        step(report=report, by=by)
    report.refresh_from_db()
    return report


def show_reports(page):
    """December 2018's reports, one in each state, the programme's not started."""
    states = {"MP": "draft", "WF": "submitted", "PA": "endorsed", "PL": "signed_off"}
    for code, state in states.items():
        december_report(state, code)
    page.goto(f"{site(page)}/reports/?period=2018-12")
    expect(page.locator("tr[data-workstream='PL']")).to_contain_text("Signed off")


def show_report(state):
    def prepare(page):
        report = december_report(state)
        page.goto(f"{site(page)}{report.get_absolute_url()}")
        expect(page.get_by_role("heading", level=1)).to_contain_text("December 2018")

    return prepare


def show_report_conflict(page):
    """The draft's answers opened, then saved by someone else: saving shows what they
    saved (the 409 page), the words typed kept."""
    report = december_report("draft")
    page.goto(f"{site(page)}/reports/{report.pk}/edit/")
    governance.report_edit(
        report=report,
        by=person("sro.mp"),
        based_on_version=report.version,
        working_well="Managers' seminars held in August; supervision audited against the "
        "new practice standards in November, 31 of 40 records meeting them.",
        how_we_know=report.how_we_know,
        worried_about=report.worried_about,
    )
    page.get_by_label("What's working well?").fill("Managers' seminars held in August.")
    page.get_by_role("button", name="Save the answers").click()
    expect(page.locator("#conflict-changes")).to_be_visible()


def show_comparison(page):
    """December's signed-off report against January's draft, its answers rewritten."""
    december = december_report("signed_off")
    january = governance.report_start(
        by=person("lead.mp"), plan=december.plan, period=JANUARY, workstream=december.workstream
    )
    governance.report_edit(
        report=january,
        by=person("lead.mp"),
        based_on_version=january.version,
        working_well="Managers' seminars held in August were attended by 40 of the 77 "
        "managers.\nSupervision audited against the new practice standards.",
        how_we_know=january.how_we_know or "Audit results.",
        worried_about="The share of locum managers (25 of 77) is still too high.",
    )
    page.goto(f"{site(page)}/reports/{january.pk}/compare/")
    expect(page.locator("#compared-actions")).to_be_visible()


# name, user, address, what to do on the page before measuring it
PAGES = [
    ("sign-in", None, "/accounts/login/", None),
    ("my-work-office", "office", "/", None),
    ("my-work-chair", "sro.mp", "/", None),
    ("my-work-lead", "lead.mp", "/", None),
    ("my-work-viewer", "viewer", "/", None),
    ("my-work-board-chair", "exec.director", "/", None),
    ("my-work-board-member", "board.member", "/", None),
    ("my-work-returned-report", "lead.pl", "/", None),
    ("dashboard", "board.member", "/dashboard/", None),
    ("dashboard-as-of", "exec.director", "/dashboard/?period=2018-11&as_of=2018-12-12", None),
    ("dashboard-errors", "viewer", "/dashboard/?period=2031-01&as_of=31-02-2019", None),
    ("actions-as-of", "viewer", "/actions/?period=2018-11&as_of=2018-12-12&status=green", None),
    ("actions", "office", "/actions/", None),
    ("actions-page-2", "office", "/actions/?page=2", None),
    ("actions-filtered", "viewer", "/actions/?status=red&status=amber&sort=-due", None),
    ("actions-filter-error", "viewer", "/actions/?due_before=31/02/2019", None),
    ("workstream", "viewer", "/workstreams/MP/", None),
    ("workstream-chair", "sro.mp", "/workstreams/MP/", None),
    ("action-moved", "viewer", "/actions/MP-1.2/", None),
    ("action-moved-chair", "sro.mp", "/actions/MP-1.2/", None),
    ("update", "sro.mp", "/actions/MP-1.2/update/", None),
    ("update-errors", "sro.mp", "/actions/MP-1.2/update/", show_errors),
    ("update-conflict", "sro.mp", "/actions/MP-1.2/update/", show_conflict),
    ("history", "viewer", "/actions/MP-1.2/history/", None),
    ("forbidden", "lead.wf", "/actions/MP-1.2/update/", None),
    ("not-found", "viewer", "/actions/NO-SUCH-1/", None),
    ("password-change", "lead.mp", "/accounts/password_change/", None),
    ("reports", "sro.mp", "/reports/", show_reports),
    ("report-draft", "lead.mp", "/reports/", show_report("draft")),
    ("report-signed-off", "office", "/reports/", show_report("signed_off")),
    ("report-compare", "viewer", "/reports/", show_comparison),
    ("report-edit-conflict", "lead.mp", "/reports/", show_report_conflict),
    ("meetings", "viewer", "/meetings/", None),
    ("meeting-task-group", "sro.mp", "/meetings/", show_meeting("task_group")),
    ("meeting-board", "viewer", "/meetings/", show_meeting("programme_board")),
    ("meeting-record-errors", "office", "/meetings/record/", submit_empty),
    ("risks", "viewer", "/risks/", None),
    ("risk-history", "lead.mp", "/risks/", show_risk_history),
    ("risk-add-errors", "lead.mp", "/risks/add/", submit_empty),
    ("risk-change-conflict", "sro.mp", "/risks/", show_risk_conflict),
    ("import", "office", "/imports/actions/", None),
    ("import-errors", "office", "/imports/actions/", show_import_errors),
    ("import-preview", "office", "/imports/actions/", show_import_preview),
    ("import-done", "office", "/imports/actions/", show_import_done),
]


@pytest.mark.parametrize("width", [PHONE, DESKTOP])
@pytest.mark.parametrize(
    ("name", "username", "path", "prepare"), PAGES, ids=[page[0] for page in PAGES]
)
def test_page_fits_the_screen(
    browser, live_server, moved_action, name, username, path, prepare, width
):
    context, page = open_page(browser, live_server, width, username)
    page.goto(f"{live_server.url}{path}")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    if prepare:
        prepare(page)
    assert_fits(page, width, name)
    assert serious_violations(page) == []
    context.close()


def test_the_action_list_gives_the_title_room_on_a_desktop(browser, live_server, demo):
    context, page = open_page(browser, live_server, DESKTOP, "office")
    page.goto(f"{live_server.url}/actions/")
    rows = page.locator("tbody tr[data-reference]")
    expect(rows).to_have_count(25)
    # The filters sit above the list, open, so the list has the page's full width.
    expect(page.locator("#filters")).to_have_attribute("open", "")
    title = rows.first.locator("td").first.bounding_box()
    assert title["width"] >= 300, f"the title column is {title['width']} px wide"
    # 25 rows within 3,000 px: 120 px a row on average, room for five lines of 16 px text
    # (a long title on three lines, its workstream, a lead officer's name on two) and the
    # cell padding. The old layout, filters beside the list, ran to 5,745 px.
    top, bottom = rows.first.bounding_box(), rows.last.bounding_box()
    height = bottom["y"] + bottom["height"] - top["y"]
    assert height <= 3000, f"25 rows take {height} px"
    context.close()


def test_on_a_phone_the_list_comes_first_and_each_row_reads_as_a_card(browser, live_server, demo):
    context, page = open_page(browser, live_server, PHONE, "office")
    page.goto(f"{live_server.url}/actions/")
    # The filters are folded above the list; opening them shows the fields.
    filters = page.locator("#filters")
    expect(filters).not_to_have_attribute("open", "")
    expect(page.get_by_label("Workstream")).to_be_hidden()
    first = page.locator("tbody tr[data-reference]").first
    assert first.bounding_box()["y"] < 800, "the first action is not on the first screen"
    page.get_by_text("Filter actions").click()
    expect(page.get_by_label("Workstream")).to_be_visible()

    # Each row: the action's title across the width, then each column by name.
    row_box = first.bounding_box()
    assert row_box["width"] <= PHONE - 30
    for label in ("Status", "Lead officer", "Due date", "Last update"):
        expect(first.get_by_text(label, exact=True)).to_be_visible()
    # The status is in words in every row; colour only repeats it.
    labels = "|".join(re.escape(rag.label) for rag in Rag)
    for tag in page.locator("tbody tr[data-reference] .grip-rag").all():
        expect(tag).to_be_visible()
        expect(tag).to_have_text(re.compile(rf"^({labels})(: overdue)?$"))
    # Sorting is still offered, as a line of links above the cards.
    expect(page.get_by_role("link", name="Due date", exact=True)).to_be_visible()
    context.close()


def test_filters_stay_open_on_a_phone_when_one_needs_correcting(browser, live_server, demo):
    context, page = open_page(browser, live_server, PHONE, "viewer")
    page.goto(f"{live_server.url}/actions/?due_before=31/02/2019")
    expect(page.locator("#filters")).to_have_attribute("open", "")
    expect(page.get_by_label("Due on or before")).to_be_visible()
    context.close()
