"""The action tracker export (``/actions/export.xlsx`` and ``.csv``): the action list's rows
with its filters, as a workbook an officer can work in, checked cell by cell."""

import csv
import datetime
import io
import re

import openpyxl
import pytest
from django.core.management import call_command
from django.urls import reverse

from tests.helpers import record
from workstreams.audit import acting_as, display_name
from workstreams.models import Action, ActionStatus, Plan
from workstreams.resources import ActionTrackerResource
from workstreams.services import due_date_change_decide

pytestmark = pytest.mark.django_db

XLSX = "/actions/export.xlsx"
CSV = "/actions/export.csv"
HEADERS = [
    "Reference",
    "Workstream",
    "Priority",
    "Title",
    "Lead officer",
    "Due date",
    "Original due date",
    "Slips",
    "Status",
    "BRAG",
    "Last update",
    "Progress at last update",
    "Next steps",
    "Evidence of impact",
    "Grip version (do not edit)",
]
# The tags' colours (static/govuk/css/grip.css): background, text.
RED = ("F4D7D7", "651B1B")
GREEN = ("CFE4DC", "083D29")


def colours(cell) -> tuple[str, str]:
    """A cell's fill and text colours as RGB: the alpha byte before them is the writer's
    choice ("FF" from XlsxWriter, "00" from openpyxl) and Excel ignores it."""
    return cell.fill.fgColor.rgb[-6:], cell.font.color.rgb[-6:]


def column_widths(sheet) -> dict[int, int]:
    """Each column's width in characters as Excel shows it, by column number. A file may give
    neighbouring columns of one width a single <col> range (openpyxl files it under the first
    column's letter only), and XlsxWriter stores a width with Excel's cell padding (60
    characters as 60.7109375), hence the range and the whole characters."""
    return {
        number: int(dimension.width)
        for dimension in sheet.column_dimensions.values()
        for number in range(dimension.min, dimension.max + 1)
    }


def workbook(response):
    assert response.status_code == 200, response.get("Location")
    return openpyxl.load_workbook(io.BytesIO(response.content))


def rows_of(sheet) -> list[dict]:
    """The table under the title row, each row by header, as openpyxl cells."""
    headers = [cell.value for cell in sheet[2]]
    return [
        dict(zip(headers, row, strict=True))
        for row in sheet.iter_rows(min_row=3, max_col=len(headers))
    ]


def listed(client, query: str) -> list[str]:
    """The references the action list shows for ``query``, page after page, in order."""
    references, page = [], 1
    while True:
        response = client.get(f"/actions/?{query}&page={page}")
        assert response.status_code == 200
        references += [action.reference for action in response.context["actions"]]
        if not response.context["page_obj"].has_next():
            return references
        page += 1


def csv_rows(response) -> list[dict]:
    assert response.content.startswith(b"\xef\xbb\xbf")  # the BOM, so Excel reads UTF-8
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


# --- Who, and what file ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "role", ["office", "board_chair", "board_member", "chair_mp", "lead_wf", "viewer"]
)
def test_every_signed_in_role_downloads_the_tracker_as_xlsx_and_csv(client, request, role):
    client.force_login(request.getfixturevalue(role))
    xlsx = client.get(XLSX)
    assert xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
    assert xlsx["Content-Disposition"] == 'attachment; filename="grip-actions-2019-01-10.xlsx"'
    assert workbook(xlsx).sheetnames == ["Actions"]
    tracker = client.get(CSV)
    assert tracker["Content-Type"] == "text/csv; charset=utf-8"
    assert tracker["Content-Disposition"] == 'attachment; filename="grip-actions-2019-01-10.csv"'
    assert len(csv_rows(tracker)) == 28


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get(XLSX)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_filters_that_do_not_check_out_send_back_to_the_list_with_its_errors(client, viewer):
    client.force_login(viewer)
    response = client.get(XLSX, {"period": "2018-13", "status": "red"})
    assert response.status_code == 302
    assert response["Location"] == "/actions/?period=2018-13&status=red"
    page = client.get(response["Location"]).content.decode()
    assert "Give the month as YYYY-MM" in page and "Correct the filters" in page


# --- The workbook ----------------------------------------------------------------------------


def test_the_workbook_has_a_title_bold_headers_frozen_panes_an_autofilter_and_widths(
    client, office
):
    client.force_login(office)
    sheet = workbook(client.get(XLSX, {"status": "red", "workstream": "MP", "period": "2018-11"}))[
        "Actions"
    ]
    assert re.fullmatch(
        r"Actions: status Off track, workstream MP; judged on 30 November 2018; "
        r"exported 10 January 2019 10:0\d by " + re.escape(display_name(office)),
        sheet["A1"].value,
    )
    assert [cell.value for cell in sheet[2]] == HEADERS
    assert all(cell.font.b for cell in sheet[2])
    rows = rows_of(sheet)
    # MP-1.5 is off track (as reported); nothing else of MP is red at the end of November.
    assert [row["Reference"].value for row in rows] == ["MP-1.5"]
    assert sheet.freeze_panes == "A3"
    assert sheet.auto_filter.ref == "A2:O3"
    by_number = column_widths(sheet)
    widths = {header: by_number[n] for n, header in enumerate(HEADERS, 1)}
    assert all(8 <= width <= 60 for width in widths.values()), widths
    assert widths["Title"] > widths["Reference"] > widths["Slips"] - 1
    assert rows[0]["Title"].alignment.wrap_text
    narratives = [
        row["Progress at last update"] for row in rows if row["Progress at last update"].value
    ]
    assert narratives and all(cell.alignment.wrap_text for cell in narratives)


def test_each_cell_has_its_type_dates_are_real_and_brag_is_coloured_and_in_words(
    client, office, plan
):
    """PL-1.1 (on track, due 31 December 2018) is overdue on the suite's day: red, and
    named so; its update today gives the last update's date, words and next steps."""
    action = Action.objects.get(plan=plan, reference="PL-1.1")
    record(
        action,
        office,
        progress_narrative="Partners met; the protocol is drafted.",
        next_steps="Sign the protocol at the partnership board.",
    )
    action.refresh_from_db()
    client.force_login(office)
    rows = {row["Reference"].value: row for row in rows_of(workbook(client.get(XLSX))["Actions"])}
    assert len(rows) == 28
    row = rows["PL-1.1"]
    assert row["Workstream"].value == action.workstream.name
    assert row["Priority"].value == action.priority.number and row["Priority"].data_type == "n"
    assert row["Title"].value == action.title
    assert row["Lead officer"].value == display_name(action.lead_officer)
    assert row["Lead officer"].value != action.lead_officer.username
    for header, day in (
        ("Due date", datetime.date(2018, 12, 31)),
        ("Original due date", datetime.date(2018, 12, 31)),
        ("Last update", datetime.date(2019, 1, 10)),
    ):
        cell = row[header]
        assert cell.is_date and cell.value == datetime.datetime.combine(day, datetime.time())
        assert cell.number_format == "dd/mm/yyyy"
    assert row["Slips"].value == 0 and row["Slips"].data_type == "n"
    assert row["Status"].value == "On track"  # as reported
    assert row["BRAG"].value == "Off track: overdue"  # as the pages judge it today
    assert colours(row["BRAG"]) == RED
    assert row["Progress at last update"].value == "Partners met; the protocol is drafted."
    assert row["Next steps"].value == "Sign the protocol at the partnership board."
    assert row["Evidence of impact"].value in (None, action.evidence_of_impact or None)
    assert row["Grip version (do not edit)"].value == action.version
    green = rows["MP-1.2"]["BRAG"]
    assert green.value == "On track" and colours(green) == GREEN


def test_a_slipped_due_date_shows_now_and_as_agreed(client, plan, lead_mp, chair_mp):
    action = Action.objects.get(plan=plan, reference="MP-1.2")
    record(
        action,
        lead_mp,
        revised_due_date=datetime.date(2019, 3, 29),
        due_date_reason="The training provider moved the course.",
    )
    change = action.due_date_changes.get()
    due_date_change_decide(change=change, by=chair_mp, approve=True, comment="Agreed.")
    client.force_login(lead_mp)
    row = next(
        r
        for r in rows_of(workbook(client.get(XLSX))["Actions"])
        if r["Reference"].value == "MP-1.2"
    )
    assert row["Due date"].value.date() == datetime.date(2019, 3, 29)
    assert row["Original due date"].value.date() == datetime.date(2019, 1, 31)
    assert row["Slips"].value == 1


# --- The same rows as the list ----------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "",
        "status=red",
        "workstream=MP&sort=-due",
        "overdue=true&sort=lead",
        "status=green&status=amber&sort=status",
        "q=managers",
        "attention=due_soon",
        "period=2018-11&status=green",
        "period=2018-11&as_of=2018-12-12",
        "period=2018-11&due_in=2018-12",
        "mine=true",
    ],
)
def test_an_export_has_the_rows_of_the_list_in_its_order(client, chair_mp, query):
    client.force_login(chair_mp)
    expected = listed(client, query)
    xlsx = rows_of(workbook(client.get(f"{XLSX}?{query}"))["Actions"])
    assert [row["Reference"].value for row in xlsx] == expected
    assert [row["Reference"] for row in csv_rows(client.get(f"{CSV}?{query}"))] == expected


def test_a_past_day_shows_the_brag_and_words_as_they_stood(client, office, plan):
    """An action moved off track today still reads on track as the plan stood at the board of
    12 December 2018; without as_of it reads off track."""
    action = Action.objects.get(plan=plan, reference="MP-1.6")
    before_version = action.version
    record(action, office, status=ActionStatus.OFF_TRACK, progress_narrative="Stalled.")
    client.force_login(office)
    then = workbook(client.get(XLSX, {"period": "2018-11", "as_of": "2018-12-12"}))["Actions"]
    assert "as the plan stood at the end of 12 December 2018" in then["A1"].value
    row = next(r for r in rows_of(then) if r["Reference"].value == "MP-1.6")
    assert row["Status"].value == "On track" and row["BRAG"].value == "On track"
    assert row["Progress at last update"].value != "Stalled."
    assert row["Grip version (do not edit)"].value == before_version
    now = workbook(client.get(XLSX, {"period": "2018-11"}))["Actions"]
    row = next(r for r in rows_of(now) if r["Reference"].value == "MP-1.6")
    assert row["Status"].value == "Off track" and row["BRAG"].value == "Off track"
    assert row["Progress at last update"].value == "Stalled."


# --- Formulas, and text a spreadsheet cannot hold ------------------------------------------


@pytest.fixture
def hostile(plan, office):
    """An action titled with a formula and updated with another; one titled -5."""
    action = Action.objects.get(plan=plan, reference="MP-1.3")
    with acting_as(office):
        action.title = '=HYPERLINK("http://evil","x")'
        action.save()
    record(action, office, progress_narrative="@SUM(1)", next_steps="\t=1+1")
    number = Action.objects.get(plan=plan, reference="MP-1.4")
    with acting_as(office):
        number.title = "-5"
        number.save()
    control = Action.objects.get(plan=plan, reference="MP-1.6")
    with acting_as(office):
        control.title = "Vertical\x0btab and bell\x07"
        control.save()
    return action


def test_formulas_are_written_as_text_in_the_workbook(client, office, hostile):
    client.force_login(office)
    book = workbook(client.get(XLSX))
    sheet = book["Actions"]
    assert not [c.coordinate for row in sheet.iter_rows() for c in row if c.data_type == "f"]
    rows = {row["Reference"].value: row for row in rows_of(sheet)}
    title = rows["MP-1.3"]["Title"]
    assert title.data_type == "s" and title.value == '\'=HYPERLINK("http://evil","x")'
    narrative = rows["MP-1.3"]["Progress at last update"]
    assert narrative.data_type == "s" and narrative.value == "'@SUM(1)"
    assert rows["MP-1.3"]["Next steps"].value == "'\t=1+1"
    assert rows["MP-1.4"]["Title"].value == "-5"  # a number is not a formula: left as it is
    assert rows["MP-1.4"]["Slips"].data_type == "n"
    assert rows["MP-1.6"]["Title"].value == "Verticaltab and bell"


def test_formulas_are_written_as_text_in_the_board_packs_action_sheets(client, office, hostile):
    client.force_login(office)
    book = workbook(client.get("/exports/board-pack.xlsx"))
    formulas = [
        f"{sheet.title}!{c.coordinate}"
        for sheet in book.worksheets
        for row in sheet.iter_rows()
        for c in row
        if c.data_type == "f"
    ]
    assert not formulas
    sheet = next(sheet for sheet in book.worksheets if sheet.title.startswith("MP "))
    rows = {row["Reference"].value: row for row in rows_of(sheet)}
    assert rows["MP-1.3"]["Title"].value == '\'=HYPERLINK("http://evil","x")'
    assert rows["MP-1.3"]["Next steps"].value == "'\t=1+1"
    assert rows["MP-1.6"]["Title"].value == "Verticaltab and bell"


def test_formulas_are_written_as_text_in_the_csv(client, office, hostile):
    client.force_login(office)
    rows = {row["Reference"]: row for row in csv_rows(client.get(CSV))}
    assert rows["MP-1.3"]["Title"] == '\'=HYPERLINK("http://evil","x")'
    assert rows["MP-1.3"]["Progress at last update"] == "'@SUM(1)"
    assert rows["MP-1.4"]["Title"] == "-5"
    assert not any(
        value.startswith(("=", "+", "@", "\t", "\r"))
        for row in rows.values()
        for value in row.values()
    )


# --- CSV and the admin agree with the workbook -------------------------------------------------


def test_the_csv_has_the_workbooks_columns_and_cells(client, office):
    client.force_login(office)
    sheet = workbook(client.get(XLSX))["Actions"]
    in_csv = csv_rows(client.get(CSV))
    assert list(in_csv[0]) == HEADERS
    for xlsx_row, csv_row in zip(rows_of(sheet), in_csv, strict=True):
        for header in HEADERS:
            value = xlsx_row[header].value
            if isinstance(value, datetime.datetime):
                value = value.date().isoformat()
            assert csv_row[header] == ("" if value is None else str(value)), header


def test_the_admin_offers_the_same_tracker(client, admin_user_demo):
    """The Action admin exports the tracker too (its second resource), with the same rows."""
    client.force_login(admin_user_demo)
    url = reverse("admin:workstreams_action_export")
    form = client.get(url).context["form"]
    choices = dict(form.fields["resource"].choices)
    tracker = next(k for k, label in choices.items() if "ActionTracker" in label)
    csv_format = next(v for v, label in form.fields["format"].choices if label == "csv")
    data = {"format": csv_format, "resource": tracker}
    for name in form.fields:
        if name.startswith("actiontrackerresource_"):
            data[name] = "on"
    response = client.post(url, data)
    assert response.status_code == 200
    content = b"".join(response.streaming_content) if response.streaming else response.content
    admin_rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    page_rows = csv_rows(client.get(CSV))
    key = lambda row: row["Reference"]  # noqa: E731
    assert sorted(admin_rows, key=key) == sorted(page_rows, key=key)
    assert ActionTrackerResource().export().title == "Actions"


def test_the_admin_imports_with_the_plans_resource_only(client, admin_user_demo):
    client.force_login(admin_user_demo)
    form = client.get(reverse("admin:workstreams_action_import")).context["form"]
    assert "resource" not in form.fields or len(form.fields["resource"].choices) == 1


# --- Links, and what it costs ------------------------------------------------------------------


def test_the_list_and_the_workstream_page_link_to_the_export(client, viewer):
    client.force_login(viewer)
    page = client.get("/actions/?status=red&period=2018-11&page=1").content.decode()
    assert 'href="/actions/export.xlsx?status=red&amp;period=2018-11"' in page
    assert 'href="/actions/export.csv?status=red&amp;period=2018-11"' in page
    page = client.get("/workstreams/MP/").content.decode()
    assert 'href="/actions/export.xlsx?workstream=MP"' in page


# The session, the user, the live plan, the lead officers the filter offers, the rows.
MOST_QUERIES = 6


@pytest.mark.parametrize(
    "url", [XLSX, CSV, f"{XLSX}?period=2018-11&as_of=2018-12-12&status=green&sort=-due"]
)
def test_the_number_of_queries_does_not_grow_with_the_rows(
    client, viewer, url, django_assert_max_num_queries
):
    client.force_login(viewer)
    client.get("/actions/")  # warm the session
    with django_assert_max_num_queries(MOST_QUERIES):
        assert client.get(url).status_code == 200
    call_command("generate_plan", actions=300, months=3, start_month="2018-09", verbosity=0)
    assert Plan.objects.live().get().actions.count() == 300
    with django_assert_max_num_queries(MOST_QUERIES):
        response = client.get(url.split("?")[0])
    assert len(response.content) > 0
    if url.startswith(XLSX):
        assert len(rows_of(workbook(response)["Actions"])) == 300
    else:
        assert len(csv_rows(response)) == 300
