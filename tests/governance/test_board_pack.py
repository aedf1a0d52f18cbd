"""The board pack (``/exports/board-pack.xlsx``): one workbook of the dashboard's month, every
figure equal to the dashboard's for the same month and day, read back cell by cell."""

import datetime
import io
from decimal import Decimal

import openpyxl
import pytest
from django.core.management import call_command

from governance import selectors, services
from governance.models import ProgressReport, Risk
from tests.helpers import record, report_in_state
from workstreams.audit import display_name
from workstreams.models import Action, ActionStatus, Plan, Rag
from workstreams.resources import escape_formula

pytestmark = pytest.mark.django_db

PACK = "/exports/board-pack.xlsx"
DECEMBER = datetime.date(2018, 12, 1)
SHEETS = [
    "Summary",
    "MP Management & Practice",
    "PA Partnerships",
    "PL Platforms",
    "WF Workforce",
    "Reports",
    "Indicators",
    "Workforce",
    "Risks",
]


def pack(client, query=""):
    response = client.get(f"{PACK}{query}")
    assert response.status_code == 200, response.get("Location")
    return openpyxl.load_workbook(io.BytesIO(response.content))


def board_of(client, query=""):
    """What the dashboard page shows for the same query."""
    response = client.get(f"/dashboard/{query}")
    assert response.status_code == 200
    return response.context["board"]


def heading_at(rows, heading: str) -> int:
    """Where a block's heading is: its words, in the headings' larger type."""
    return next(i for i, row in enumerate(rows) if row[0].value == heading and row[0].font.sz == 12)


def block(sheet, heading: str) -> tuple[list[str], list[list]]:
    """A summary block: its headers (the bold row after the heading and its notes) and rows
    (until a blank row)."""
    rows = list(sheet.iter_rows())
    start = heading_at(rows, heading) + 1
    while not rows[start][0].font.b:
        start += 1
    headers = [cell.value for cell in rows[start] if cell.value is not None]
    body = []
    for row in rows[start + 1 :]:
        values = [cell.value for cell in row[: len(headers)]]
        if all(value is None for value in values):
            break
        body.append(values)
    return headers, body


def notes(sheet, heading: str) -> list[str]:
    rows = list(sheet.iter_rows())
    start = heading_at(rows, heading) + 1
    found = []
    while start < len(rows) and rows[start][0].value and not rows[start][0].font.b:
        found.append(rows[start][0].value)
        start += 1
    return found


def table(sheet) -> list[dict]:
    """A table sheet's rows (headers in row 2), by header, as values."""
    headers = [cell.value for cell in sheet[2]]
    return [
        dict(zip(headers, row, strict=True))
        for row in sheet.iter_rows(min_row=3, max_col=len(headers), values_only=True)
    ]


def as_number(value):
    return None if value is None else Decimal(str(value))


@pytest.fixture
def moved_on(plan, office):
    """The plan moved on since the board: MP-1.6 off track, PA-1.1 complete."""
    record(Action.objects.get(plan=plan, reference="MP-1.6"), office, status="off_track")
    record(
        Action.objects.get(plan=plan, reference="PA-1.1"),
        office,
        status=ActionStatus.COMPLETE,
        evidence_of_impact="The safeguarding board's audit shows it.",
    )


# --- Who, and what file ----------------------------------------------------------------------


@pytest.mark.parametrize("role", ["office", "board_chair", "board_member", "lead_wf", "viewer"])
def test_every_signed_in_role_downloads_the_pack(client, request, role):
    client.force_login(request.getfixturevalue(role))
    response = client.get(PACK, {"period": "2018-11", "as_of": "2018-12-12"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert response["Content-Disposition"] == (
        'attachment; filename="grip-board-pack-2018-11-as-of-2018-12-12.xlsx"'
    )
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == SHEETS


def test_without_a_month_the_pack_is_the_dashboards_latest_month(client, viewer):
    client.force_login(viewer)
    response = client.get(PACK)
    assert response["Content-Disposition"] == 'attachment; filename="grip-board-pack-2018-11.xlsx"'
    summary = openpyxl.load_workbook(io.BytesIO(response.content))["Summary"]
    assert summary["A1"].value == (
        "Children's Improvement Plan 2018/19: programme board pack, November 2018"
    )
    assert summary["A2"].value == (
        "Status and overdue are judged on 30 November 2018, the end of the month, on the plan "
        "as it is now."
    )
    assert summary["A3"].value.startswith("Exported 10 January 2019 10:0")
    assert summary["A3"].value.endswith(f"by {display_name(viewer)}.")


@pytest.mark.parametrize("query", ["?period=2018-13", "?period=2018-11&as_of=2019-02-01"])
def test_a_month_or_day_that_does_not_check_out_sends_back_to_the_dashboard(client, viewer, query):
    client.force_login(viewer)
    response = client.get(f"{PACK}{query}")
    assert response.status_code == 302 and response["Location"] == f"/dashboard/{query}"
    page = client.get(response["Location"]).content.decode()
    assert "Choose the month and day again" in page


def test_the_dashboard_links_to_its_pack(client, viewer):
    client.force_login(viewer)
    page = client.get("/dashboard/?period=2018-11&as_of=2018-12-12").content.decode()
    assert 'href="/exports/board-pack.xlsx?period=2018-11&amp;as_of=2018-12-12"' in page
    page = client.get("/dashboard/").content.decode()
    assert 'href="/exports/board-pack.xlsx?period=2018-11"' in page


# --- Every figure equals the dashboard's ------------------------------------------------------


QUERIES = ["", "?period=2018-11&as_of=2018-12-12", "?period=2018-12", "?period=2019-01"]


@pytest.mark.parametrize("query", QUERIES)
def test_the_summary_figures_equal_the_dashboards(client, office, moved_on, query):
    client.force_login(office)
    board = board_of(client, query)
    summary = pack(client, query)["Summary"]

    headers, rows = block(summary, "Delivery")
    assert headers == [
        "Workstream",
        *(rag.label for rag in Rag),
        "All actions",
        "Overdue",
        f"Due in {board.next_period:%B %Y}",
        "Slipped",
        "Moves of due dates",
    ]
    expected = [
        [
            name,
            *(cell.count for cell in row.rag.counts),
            row.rag.total,
            row.overdue.count,
            row.due_next.count,
            row.slipped.count,
            row.slips,
        ]
        for name, row in [(r.workstream.name, r) for r in board.delivery]
        + [("Programme", board.programme)]
    ]
    assert rows == expected

    changed = next(h for h in (c.value for c in summary["A"]) if h and h.startswith("What changed"))
    assert notes(summary, changed)[0].startswith(f"{board.changed.count} action")
    if board.changes:
        _, rows = block(summary, changed)
        assert [row[0] for row in rows] == [c.action.reference for c in board.changes]
        assert [row[2] for row in rows] == [
            c.before.label if c.before else "Added since" for c in board.changes
        ]

    _, rows = block(summary, "Indicators")
    assert [(row[1], as_number(row[4]), as_number(row[6]), row[8]) for row in rows] == [
        (
            r.indicator.code,
            r.latest_value,
            r.indicator.target,
            r.rag.label if r.rag else "No value",
        )
        for r in board.indicators
    ]

    _, rows = block(summary, "Permanent (salaried) managers")
    staff = board.workforce
    assert rows == [
        [
            datetime.datetime.combine(staff.as_of, datetime.time()),
            staff.total,
            staff.salaried,
            float(staff.permanent_share),
        ]
    ]

    _, rows = block(summary, "Assurance")
    figures = dict(rows)
    assert figures["Inspection findings no live action answers"] == len(board.gaps)
    assert figures["Open risks escalated to the board"] == board.escalated_risks
    assert figures[f"Reports for {board.period:%B %Y} expected"] == len(board.reports)


def test_the_pack_of_a_past_day_differs_from_now_as_the_dashboard_does(client, office, moved_on):
    client.force_login(office)
    then = pack(client, "?period=2018-11&as_of=2018-12-12")
    now = pack(client, "?period=2018-11")
    mp_then = {row["Reference"]: row for row in table(then["MP Management & Practice"])}
    mp_now = {row["Reference"]: row for row in table(now["MP Management & Practice"])}
    assert mp_then["MP-1.6"]["BRAG"] == "On track"
    assert mp_now["MP-1.6"]["BRAG"] == "Off track"
    assert "as it stood at the end of 12 December 2018" in then["Summary"]["A2"].value


@pytest.mark.parametrize("query", ["period=2018-11", "period=2018-11&as_of=2018-12-12"])
def test_each_workstream_sheet_is_its_tracker_as_at_the_same_day(client, office, moved_on, query):
    client.force_login(office)
    book = pack(client, f"?{query}")
    for name in SHEETS[1:5]:
        code = name.split()[0]
        tracker = client.get(f"/actions/export.xlsx?{query}&workstream={code}")
        expected = table(openpyxl.load_workbook(io.BytesIO(tracker.content))["Actions"])
        assert expected and table(book[name]) == expected, name
        sheet = book[name]
        assert sheet.freeze_panes == "A3"
        assert sheet.auto_filter.ref == f"A2:O{len(expected) + 2}"


# --- Reports ---------------------------------------------------------------------------------


def test_reports_sheet_reads_a_signed_off_report_from_its_seal(client, office, plan, lead_wf):
    signed = report_in_state(plan, "signed_off", code="MP", period=DECEMBER)
    draft = report_in_state(plan, "draft", code="WF", period=DECEMBER)
    services.report_item_add(
        report=draft,
        by=lead_wf,
        description="Launch the recruitment campaign.",
        owner=lead_wf,
        due_date=datetime.date(2019, 1, 31),
    )
    sealed = selectors.report_content(signed)
    # A change no service makes: the pack must read the seal, not the row.
    ProgressReport.objects.filter(pk=signed.pk).update(working_well="Changed behind the seal.")
    client.force_login(office)
    rows = {row["Report"]: row for row in table(pack(client, "?period=2018-12")["Reports"])}
    assert list(rows) == [
        "Management & Practice",
        "Partnerships",
        "Platforms",
        "Workforce",
        "Programme",
    ]
    mp = rows["Management & Practice"]
    assert mp["State"] == "Signed off"
    assert mp["Checksum (signed off)"] == signed.checksum
    assert mp["What's working well?"] == escape_formula(sealed["answers"]["working_well"])
    assert mp["How do we know?"] == escape_formula(sealed["answers"]["how_we_know"])
    assert mp["What are we worried about?"] == escape_formula(sealed["answers"]["worried_about"])
    assert (mp["What needs to happen, and by when?"] or "") == "\n".join(
        selectors._item_line(item) for item in sealed["items"]
    )
    wf = rows["Workforce"]
    draft.refresh_from_db()
    assert wf["State"] == "Draft" and wf["Checksum (signed off)"] is None
    assert wf["What's working well?"] == escape_formula(draft.working_well)
    assert "Launch the recruitment campaign. (" in wf["What needs to happen, and by when?"]
    assert wf["What needs to happen, and by when?"].endswith("by 31 January 2019): Still to happen")
    assert rows["Programme"]["State"] == "Not started"


def test_reports_sheet_lists_a_draft_s_items_by_due_date_as_they_stood(
    client, office, plan, lead_wf, pinned_clock
):
    """A report not signed off shows its items as they stand, soonest due first, each owner
    by name; the pack of a past day shows them as they stood at its end."""
    lead_wf.first_name, lead_wf.last_name = "Wendy", "O'Hara"
    lead_wf.save()
    draft = report_in_state(plan, "draft", code="WF", period=DECEMBER)
    later = services.report_item_add(
        report=draft,
        by=office,
        description="Open the second cohort.",
        owner=lead_wf,
        due_date=datetime.date(2019, 3, 31),
    )
    services.report_item_add(
        report=draft,
        by=office,
        description="Launch the recruitment campaign.",
        owner=office,
        due_date=datetime.date(2019, 2, 28),
    )
    pinned_clock.shift(datetime.timedelta(days=1))
    services.report_item_remove(item=later, by=office)
    services.report_item_add(
        report=draft,
        by=office,
        description="Added the day after.",
        owner=lead_wf,
        due_date=datetime.date(2019, 1, 31),
    )
    client.force_login(office)
    needs = "What needs to happen, and by when?"

    def lines(query) -> list[str]:
        """The lines of this test's items (the draft also carries the plan's own)."""
        rows = {row["Report"]: row for row in table(pack(client, query)["Reports"])}
        ours = ("Launch the", "Open the", "Added the")
        return [line for line in rows["Workforce"][needs].split("\n") if line.startswith(ours)]

    launch = (
        f"Launch the recruitment campaign. ({display_name(office)}, by 28 February 2019):"
        " Still to happen"
    )
    assert lines("?period=2018-12&as_of=2019-01-10") == [
        launch,
        "Open the second cohort. (Wendy O'Hara, by 31 March 2019): Still to happen",
    ]
    assert lines("?period=2018-12") == [
        "Added the day after. (Wendy O'Hara, by 31 January 2019): Still to happen",
        launch,
    ]


# --- Indicators, workforce, risks -------------------------------------------------------------


def test_indicators_workforce_and_risks_equal_the_dashboards(client, office, plan, chair_mp):
    Risk.objects.create(
        plan=plan,
        title="=1+1",
        owner=chair_mp,
        likelihood=5,
        impact=5,
        escalated=True,
        mitigation="@SUM(A1)",
    )
    client.force_login(office)
    board = board_of(client)
    book = pack(client)

    rows = table(book["Indicators"])
    months = [f"{month:%b %Y}" for month, _ in board.indicators[0].trend]
    assert [row["Code"] for row in rows] == [r.indicator.code for r in board.indicators]
    for row, expected in zip(rows, board.indicators, strict=True):
        assert [as_number(row[m]) for m in months] == [value for _, value in expected.trend]
        assert as_number(row["Target"]) == expected.indicator.target
        assert as_number(row["Latest"]) == expected.latest_value

    sheet = book["Workforce"]
    staff = board.workforce
    _, rows = block(sheet, f"Managers on {staff.as_of:%-d %B %Y}")
    assert rows == [
        [
            s.service_area.name,
            s.total,
            s.locum,
            s.salaried,
            s.in_post_before_cutoff,
            s.joined_since_cutoff,
        ]
        for s in staff.rows
    ] + [
        [
            "All services",
            staff.total,
            staff.locum,
            staff.salaried,
            staff.in_post_before_cutoff,
            staff.joined_since_cutoff,
        ]
    ]

    rows = table(book["Risks"])
    open_risks = Risk.objects.filter(plan=plan, status=Risk.Status.OPEN)
    assert len(rows) == open_risks.count()
    assert sum(row["Escalated to the board"] == "Yes" for row in rows) == board.escalated_risks
    assert [row["Score"] for row in rows] == sorted((row["Score"] for row in rows), reverse=True)
    assert rows[0]["Risk"] == "'=1+1" and rows[0]["Mitigation"] == "'@SUM(A1)"


def test_no_cell_of_the_pack_is_a_formula(client, office, plan, chair_mp):
    report = report_in_state(plan, "draft", code="WF", period=DECEMBER)
    ProgressReport.objects.filter(pk=report.pk).update(
        worried_about='=HYPERLINK("http://evil","x")'
    )
    Risk.objects.create(plan=plan, title="+cmd", owner=chair_mp, likelihood=1, impact=1)
    client.force_login(office)
    book = pack(client, "?period=2018-12")
    formulas = [
        f"{sheet.title}!{cell.coordinate}"
        for sheet in book
        for row in sheet.iter_rows()
        for cell in row
        if cell.data_type == "f"
    ]
    assert not formulas
    wf = next(row for row in table(book["Reports"]) if row["Report"] == "Workforce")
    assert wf["What are we worried about?"] == '\'=HYPERLINK("http://evil","x")'
    numbers = list(book["Risks"]["F"][2:])
    assert numbers and all(cell.data_type == "n" for cell in numbers)


# --- What it costs ---------------------------------------------------------------------------


# The dashboard's fixed queries, the workstreams' actions (one), the reports' lines (one), the
# risks (one), the session and the user.
MOST_QUERIES = 20


@pytest.mark.parametrize("query", ["", "?period=2018-11&as_of=2018-12-12"])
def test_the_number_of_queries_does_not_grow_with_the_plan(
    client, viewer, query, django_assert_max_num_queries
):
    client.force_login(viewer)
    client.get("/dashboard/")  # warm the session
    with django_assert_max_num_queries(MOST_QUERIES):
        assert client.get(f"{PACK}{query}").status_code == 200
    call_command("generate_plan", actions=300, months=3, start_month="2018-09", verbosity=0)
    assert Plan.objects.live().get().actions.count() == 300
    with django_assert_max_num_queries(MOST_QUERIES):
        response = client.get(f"{PACK}{query}")
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    workstream_sheets = book.sheetnames[1 : book.sheetnames.index("Reports")]
    assert sum(len(table(book[name])) for name in workstream_sheets) == 300
