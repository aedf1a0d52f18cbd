"""The plan import (/imports/actions/, issue 9 points 3 to 5): an officer uploads a tracker
(Grip's own export, or a council's own sheet), checks the preview, confirms; hostile files
are refused before they are unpacked."""

import datetime
import io
import re
import zipfile

import openpyxl
import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from workstreams import imports, services
from workstreams.models import (
    Action,
    ActionImport,
    ActionStatus,
    DueDateChange,
    ImportMapping,
    Plan,
)

pytestmark = pytest.mark.django_db

UPLOAD = "/imports/actions/"
# The action tracker's columns, as the export writes them (issue 9, point 1).
TRACKER = [
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
    "Last update narrative",
    "Next steps",
    "Evidence of impact",
    "Grip version (do not edit)",
]


# --- Making files ---------------------------------------------------------------------------


def workbook(rows, *, title_rows=(), sheet="Actions") -> bytes:
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = sheet
    for row in [*title_rows, *rows]:
        ws.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def tracker_row(action: Action) -> list:
    """An action as the tracker export writes it."""
    return [
        action.reference,
        action.workstream.name,
        action.priority.number if action.priority else None,
        action.title,
        action.lead_officer.get_full_name() if action.lead_officer else "",
        action.current_due_date,
        action.due_date,
        0,
        action.get_status_display(),
        action.rag_label,
        None,
        "",
        "",
        action.evidence_of_impact,
        action.version,
    ]


SHORT = {"Lead": "Lead officer", "Due": "Due date", "Version": "Grip version (do not edit)"}


def line(reference, **cells) -> list:
    """A tracker row with only ``cells`` filled in (by heading; Lead, Due, Version short)."""
    row = [reference] + [""] * (len(TRACKER) - 1)
    for heading, value in cells.items():
        row[TRACKER.index(SHORT.get(heading, heading))] = value
    return row


def tracker(plan, references=None, change=None) -> list[list]:
    """Tracker rows of ``references`` (default: every action), each changed by ``change``
    (reference -> {heading: new value})."""
    actions = plan.actions.select_related("workstream", "priority", "lead_officer")
    if references:
        actions = actions.filter(reference__in=references)
    rows = []
    for action in actions.order_by("reference"):
        row = tracker_row(action)
        for heading, value in (change or {}).get(action.reference, {}).items():
            row[TRACKER.index(heading)] = value
        rows.append(row)
    return [TRACKER, *rows]


def upload(client, content: bytes, name="tracker.xlsx"):
    return client.post(UPLOAD, {"file": SimpleUploadedFile(name, content)})


def latest_import() -> ActionImport:
    return ActionImport.objects.latest("uploaded_at")


def preview_rows(kind=None) -> dict[str, dict]:
    rows = latest_import().preview["rows"]
    return {r["reference"]: r for r in rows if kind is None or r["kind"] == kind}


def confirm(client, action_import=None):
    action_import = action_import or latest_import()
    return client.post(reverse("workstreams:import-confirm", args=[action_import.token]))


def the_record():
    """Every row of the plan and its history: what must not change before a confirmation."""
    models = [
        m
        for m in apps.get_models()
        if m._meta.app_label == "workstreams" and m not in (ActionImport, ImportMapping)
    ]
    return {m._meta.label: m.objects.count() for m in models} | {
        "versions": sorted(Action.objects.values_list("reference", "version"))
    }


@pytest.fixture
def as_office(client, office):
    client.force_login(office)
    return client


# --- Who may import -------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["viewer", "lead.mp", "sro.mp", "exec.director"])
def test_only_the_programme_office_imports(client, plan, username):
    user = get_user_model().objects.get(username=username)
    client.force_login(user)
    before = the_record()
    assert client.get(UPLOAD).status_code == 403
    content = workbook(tracker(plan, ["MP-1.2"], {"MP-1.2": {"Title": "Changed"}}))
    assert upload(client, content).status_code == 403
    assert not ActionImport.objects.exists() and the_record() == before
    home = client.get("/").content.decode()
    assert UPLOAD not in home  # no link in the navigation either


@pytest.mark.parametrize("username", ["office", "admin"])
def test_the_office_and_the_administrator_see_the_import_in_the_navigation(client, plan, username):
    client.force_login(get_user_model().objects.get(username=username))
    home = client.get("/").content.decode()
    assert f'href="{UPLOAD}"' in home
    assert client.get(UPLOAD).status_code == 200


# --- The preview ------------------------------------------------------------------------------


def test_a_preview_shows_what_would_change_and_writes_nothing(as_office, plan):
    rows = tracker(
        plan,
        ["MP-1.2", "MP-1.3", "MP-1.4", "MP-1.6"],
        {
            "MP-1.2": {"Status": "At risk", "Next steps": "Second round of interviews."},
            "MP-1.3": {"Due date": datetime.date(2019, 2, 28)},
            "MP-1.4": {"Title": "Supervision audited monthly", "Lead officer": "sro.mp"},
        },
    )
    rows.append(
        line(
            "MP-9.1",
            Workstream="MP",
            Priority=1,
            Title="A new action",
            Lead="Lead officer (Management & Practice)",
            Due="31/03/2019",
        )
    )
    before = the_record()

    response = upload(as_office, workbook(rows))

    found = latest_import()
    assert response.status_code == 302 and response["Location"] == found.get_absolute_url()
    assert the_record() == before  # nothing written to the plan or its history
    assert found.preview["counts"] == {"create": 1, "change": 3, "same": 1, "error": 0}
    rows = preview_rows()
    assert rows["MP-1.2"]["changes"] == [
        ["Status", "On track", "At risk"],
        ["Next steps", "", "Second round of interviews."],
    ]
    assert rows["MP-1.3"]["changes"] == [
        ["Due date", "31 Jan 2019", "28 Feb 2019 (a request for the task group chair to decide)"]
    ]
    assert rows["MP-1.4"]["changes"] == [
        ["Title", plan.actions.get(reference="MP-1.4").title, "Supervision audited monthly"],
        ["Lead officer", "Lead officer (Management & Practice)", "Senior responsible officer "
         "(Management & Practice)"],
    ]  # fmt: skip
    assert rows["MP-1.6"]["kind"] == "same" and rows["MP-1.6"]["changes"] == []
    assert rows["MP-9.1"]["kind"] == "create"
    assert ["Due date", "", "31 Mar 2019"] in rows["MP-9.1"]["changes"]
    # The rows are numbered as in the sheet: the header is row 1.
    assert [r["row"] for r in found.preview["rows"]] == [2, 3, 4, 5, 6]

    page = as_office.get(found.get_absolute_url())
    html = page.content.decode()
    assert page.status_code == 200
    assert "Second round of interviews." in html and "Import 4 actions" in html
    assert the_record() == before


def errors_of(reference):
    return preview_rows()[reference]["errors"]


def test_each_kind_of_error_is_shown_with_its_row_and_column(as_office, plan):
    mp12 = plan.actions.get(reference="MP-1.2")
    old_version = mp12.version
    # MP-1.2 changes in Grip after the file was exported.
    services.action_update_record(
        action=mp12,
        by=get_user_model().objects.get(username="lead.mp"),
        based_on_version=mp12.version,
        status=ActionStatus.AT_RISK,
        progress_narrative="The interviews were cancelled.",
    )
    rows = [
        TRACKER,
        line("XX-1.1", Workstream="Housing", Title="New", Due="31/03/2019"),  # 2: workstream
        line("MP-1.3", Lead="Nobody Known", Status="On track"),  # 3: an unknown lead
        line("MP-9.2", Workstream="MP", Title="New", Due="31/02/2019"),  # 4: not a date
        line("MP-9.3", Workstream="MP", Title="New", Due="31/03/2019"),  # 5: twice
        line("MP-9.3", Workstream="MP", Title="New", Due="31/03/2019"),  # 6: twice
        line("MP-9.4", Workstream="MP", Due="31/03/2019"),  # 7: a new action without a title
        line("MP-1.2", Status="Off track", Version=old_version),  # 8: changed since
        line("MP-1.4", Status="Sort of"),  # 9: not a status
        line("", Title="Orphan"),  # 10: no reference
    ]
    before = the_record()
    upload(as_office, workbook(rows))
    found = latest_import()
    assert the_record() == before
    assert found.preview["counts"] == {"create": 0, "change": 0, "same": 0, "error": 9}
    errors = {r["row"]: r["errors"] for r in found.preview["rows"]}
    assert errors[2] == [
        [
            "Workstream (column B)",
            "There is no workstream 'Housing' in the plan. Use its code (MP, PA, PL, WF) or "
            "its name.",
        ]
    ]
    assert errors[3][0][0] == "Lead officer (column E)"
    assert "Nobody called 'Nobody Known'" in errors[3][0][1]
    assert errors[4] == [
        [
            "Due date (column F)",
            "'31/02/2019' is not a date. Write it as 30/11/2018 or 30 Nov 2018.",
        ]
    ]
    assert errors[5] == [
        ["Reference (column A)", "MP-9.3 is on more than one row (also row 6): keep one."]
    ]
    assert errors[6] == [
        ["Reference (column A)", "MP-9.3 is on more than one row (also row 5): keep one."]
    ]
    assert errors[7] == [["Title (column D)", "MP-9.4 is new: it needs a title."]]
    assert errors[8][0][0] == "Grip version (do not edit) (column O)"
    assert "MP-1.2 changed in Grip since this file was exported" in errors[8][0][1]
    assert "Status" in errors[8][0][1] and "Lead officer (Management & Practice)" in errors[8][0][1]
    assert errors[9][0][0] == "Status (column I)" and "'Sort of' is not a status" in errors[9][0][1]
    assert errors[10] == [["Reference (column A)", "The reference is missing."]]

    page = as_office.get(found.get_absolute_url()).content.decode()
    assert "Errors: these rows will not be imported" in page
    assert "There is nothing to import" in page and "Import 0" not in page
    # Nothing to confirm: confirming anyway imports nothing.
    confirm(as_office)
    assert the_record() == before


def test_a_due_date_the_rules_refuse_is_an_error_at_the_preview(as_office, plan):
    rows = tracker(
        plan,
        ["MP-1.2", "MP-1.3"],
        {
            "MP-1.2": {"Due date": datetime.date(2018, 12, 1)},  # in the past
            "MP-1.3": {"Due date": "1 April 2021"},  # beyond the plan's end and margin
        },
    )
    upload(as_office, workbook(rows))
    assert "The new due date must be today (10 January 2019) or later." in errors_of("MP-1.2")[0]
    assert errors_of("MP-1.3")[0][0] == "Due date (column F)"
    assert "on or before 30 March 2020" in errors_of("MP-1.3")[0][1]


def test_a_stale_row_that_changes_nothing_is_left_alone(as_office, plan):
    """The version guards against overwriting: a row that would change nothing is no risk."""
    rows = tracker(plan, ["MP-1.2"], {"MP-1.2": {"Grip version (do not edit)": 1}})
    plan.actions.filter(reference="MP-1.2").get().save()  # now a later version
    upload(as_office, workbook(rows))
    assert preview_rows()["MP-1.2"]["kind"] == "same"


def test_a_lead_officer_who_left_is_still_read_as_the_actions_own(as_office, plan, lead_mp):
    rows = tracker(plan, ["MP-1.2"])
    lead_mp.is_active = False
    lead_mp.save()
    upload(as_office, workbook(rows))
    assert preview_rows()["MP-1.2"]["kind"] == "same"
    rows = tracker(plan, ["MP-1.3"], {"MP-1.3": {"Lead officer": "sro.mp"}})
    rows.append(line("MP-1.7", Lead="lead.mp"))  # but nobody is given an action by them
    upload(as_office, workbook(rows))
    assert preview_rows()["MP-1.3"]["kind"] == "change"
    assert "Nobody called 'lead.mp' can sign in" in errors_of("MP-1.7")[0][1]


def test_a_new_reference_must_be_usable_in_an_address(as_office, plan):
    rows = [TRACKER, line("MP-9/1", Workstream="MP", Title="New", Due="31/03/2019")]
    upload(as_office, workbook(rows))
    assert errors_of("MP-9/1") == [
        ["Reference (column A)", "A reference has no spaces and none of / ? # % \\ in it."]
    ]


# --- Confirming ----------------------------------------------------------------------------


def test_confirming_applies_each_change_through_the_services_as_the_officer(
    as_office, plan, office
):
    mp12, mp13, mp14 = (plan.actions.get(reference=r) for r in ("MP-1.2", "MP-1.3", "MP-1.4"))
    history = {a.reference: a.history.count() for a in (mp12, mp13, mp14)}
    rows = tracker(
        plan,
        ["MP-1.2", "MP-1.3", "MP-1.4", "MP-1.6"],
        {
            "MP-1.2": {"Status": "At risk"},
            "MP-1.3": {"Due date": datetime.date(2019, 2, 28)},
            "MP-1.4": {"Title": "Supervision audited monthly"},
        },
    )
    uploaded = upload(as_office, workbook(rows, title_rows=[["Actions: all; exported today"]]))
    preview = as_office.get(uploaded["Location"]).content.decode()
    response = confirm(as_office)

    found = latest_import()
    assert response.status_code == 302
    assert response["Location"] == reverse("workstreams:import-done", args=[found.token])
    assert (found.state, found.created, found.changed, found.left_alone) == ("imported", 0, 3, 1)
    # Both pages link each changed row to its action.
    done = as_office.get(response["Location"]).content.decode()
    for reference in ("MP-1.2", "MP-1.3", "MP-1.4"):
        link = f'<a class="govuk-link" href="/actions/{reference}/">{reference}</a>'
        assert link in preview and link in done
    assert found.imported_by == office and found.rows == []

    # A status change is a monthly update, by the officer, saying where it came from.
    mp12.refresh_from_db()
    update = mp12.updates.get()
    assert mp12.status == update.status == ActionStatus.AT_RISK
    assert update.created_by == office
    assert update.progress_narrative == (
        "Updated from the spreadsheet tracker.xlsx, imported by Programme office (Officer) on "
        "10 January 2019 (status)."
    )
    # A due date from the programme office is a request for the task group chair.
    mp13.refresh_from_db()
    request = mp13.due_date_changes.get()
    assert (request.decision, request.requested_by, request.to_date) == (
        DueDateChange.Decision.PENDING,
        office,
        datetime.date(2019, 2, 28),
    )
    assert mp13.revised_due_date is None and mp13.current_due_date == datetime.date(2019, 1, 31)
    # What the plan says changes through the plan's own service: no update.
    mp14.refresh_from_db()
    assert mp14.title == "Supervision audited monthly" and not mp14.updates.exists()
    # Each change is in the history, as the officer.
    for action in (mp12, mp13, mp14):
        assert action.history.count() == history[action.reference] + 1
        assert action.history.latest().history_user == office

    page = as_office.get(response["Location"]).content.decode()
    assert "Import complete" in page
    assert reverse("workstreams:action-history", args=["MP-1.3"]) in page
    # The preview page of an imported file now sends to what it did.
    assert as_office.get(reverse("workstreams:import-preview", args=[found.token]))[
        "Location"
    ] == reverse("workstreams:import-done", args=[found.token])


def test_importing_the_same_file_again_changes_nothing(as_office, plan):
    rows = tracker(
        plan,
        ["MP-1.2", "MP-1.3", "MP-1.4"],
        {
            "MP-1.2": {"Status": "At risk", "Next steps": "Second round."},
            "MP-1.3": {"Due date": datetime.date(2019, 2, 28)},
            "MP-1.4": {"Last update narrative": "Supervision audit done in December."},
        },
    )
    content = workbook(rows)
    upload(as_office, content)
    confirm(as_office)
    after_first = the_record()

    upload(as_office, content)

    found = latest_import()
    assert found.preview["counts"] == {"create": 0, "change": 0, "same": 3, "error": 0}
    assert (
        "Grip already says everything the file says"
        in as_office.get(found.get_absolute_url()).content.decode()
    )
    confirm(as_office)
    assert the_record() == after_first


def test_a_change_made_between_the_preview_and_the_confirmation_stops_the_whole_import(
    as_office, plan, lead_mp
):
    """Atomic: the second row fails when applied, so the first is not saved either."""
    rows = tracker(
        plan,
        ["MP-1.2", "MP-1.3"],
        {"MP-1.2": {"Status": "At risk"}, "MP-1.3": {"Status": "Off track"}},
    )
    upload(as_office, workbook(rows))
    assert latest_import().preview["counts"]["change"] == 2
    mp13 = plan.actions.get(reference="MP-1.3")
    services.action_update_record(  # someone updates MP-1.3 after the preview
        action=mp13,
        by=lead_mp,
        based_on_version=mp13.version,
        status=ActionStatus.ON_TRACK,
        progress_narrative="Training dates agreed.",
    )
    before = the_record()

    response = confirm(as_office, latest_import())

    assert the_record() == before  # MP-1.2's change was rolled back with the rest
    assert plan.actions.get(reference="MP-1.2").status == ActionStatus.ON_TRACK
    found = latest_import()
    assert found.state == "previewed" and response["Location"] == found.get_absolute_url()
    page = as_office.get(response["Location"]).content.decode()
    assert "Nothing was imported. Row 3 (MP-1.3): MP-1.3 changed in Grip since the preview" in page
    # The preview is read again: the file's version of MP-1.3 is now out of date.
    assert found.preview["counts"] == {"create": 0, "change": 1, "same": 0, "error": 1}
    assert "changed in Grip since this file was exported" in errors_of("MP-1.3")[0][1]
    assert counts_on(page) == found.preview["counts"]
    assert rows_on(page, "import-errors") == [3] and rows_on(page, "import-changed") == [2]


def test_confirming_twice_imports_once(as_office, plan):
    upload(as_office, workbook(tracker(plan, ["MP-1.2"], {"MP-1.2": {"Status": "At risk"}})))
    found = latest_import()
    confirm(as_office, found)
    after = the_record()
    response = confirm(as_office, found)
    assert response["Location"] == reverse("workstreams:import-done", args=[found.token])
    assert the_record() == after


def test_the_administrator_moves_a_due_date_at_once(client, plan, admin_user_demo):
    """The due-date rule is the service's: whoever may decide due dates moves it at once."""
    client.force_login(admin_user_demo)
    rows = tracker(plan, ["MP-1.3"], {"MP-1.3": {"Due date": datetime.date(2019, 2, 28)}})
    upload(client, workbook(rows))
    assert "moved at once" in preview_rows()["MP-1.3"]["changes"][0][2]
    confirm(client)
    mp13 = plan.actions.get(reference="MP-1.3")
    assert mp13.current_due_date == datetime.date(2019, 2, 28)
    assert mp13.due_date_changes.get().decision == DueDateChange.Decision.APPROVED


def test_a_new_action_is_added_with_its_first_update(as_office, plan, office):
    rows = [
        ["Reference", "Workstream", "Title", "Lead", "Target date", "Status", "Update"],
        ["WF-9.1", "Workforce", "Exit interviews", "lead.wf", "30 Nov 2019", "On track",
         "Interviews started."],
    ]  # fmt: skip
    upload(as_office, workbook(rows))
    confirm(as_office)
    action = plan.actions.get(reference="WF-9.1")
    assert (action.workstream.code, action.title, action.lead_officer.username) == (
        "WF",
        "Exit interviews",
        "lead.wf",
    )
    assert action.due_date == datetime.date(2019, 11, 30)
    assert action.status == ActionStatus.ON_TRACK
    assert action.updates.get().progress_narrative == "Interviews started."
    assert {h.history_user for h in action.history.all()} == {office}


# --- Councils' own sheets ----------------------------------------------------------------------


def test_title_rows_blank_rows_names_and_dates_written_as_text(as_office, plan):
    rows = [
        ["", "Workstream", "Action", "Lead officer", "Deadline"],
        ["PA-9.1", "Partnerships", "Written date", "Lead officer (Partnerships)", "30/11/2018"],
        [],
        ["PA-9.2", "partnerships", "Short month", "lead.pa", "30 Nov 2018"],
        ["PA-9.3", "PA: Partnerships", "Long month", "", "30 November 2018"],
        [None, None, None, None, None],
        ["PA-9.4", "PA", "ISO", "", "2018-11-30"],
        ["PA-9.5", "PA", "Excel date", "", datetime.datetime(2018, 11, 30)],
        ["PA-9.6", "PA", "Not a date", "", "next month"],
    ]
    rows[0][0] = "Ref"
    content = workbook(
        rows, title_rows=[["Croydon improvement tracker"], ["Updated November 2018"], []]
    )
    upload(as_office, content)
    found = latest_import()
    assert found.header_row == 4
    created = preview_rows("create")
    assert sorted(created) == ["PA-9.1", "PA-9.2", "PA-9.3", "PA-9.4", "PA-9.5"]
    for reference in created:
        assert ["Due date", "", "30 Nov 2018"] in created[reference]["changes"]
        assert ["Workstream", "", "PA: Partnerships"] in created[reference]["changes"]
    assert [r["row"] for r in found.preview["rows"]] == [5, 7, 8, 10, 11, 12]
    assert errors_of("PA-9.6") == [
        [
            "Deadline (column E)",
            "'next month' is not a date. Write it as 30/11/2018 or 30 Nov 2018.",
        ]
    ]


def test_a_csv_in_windows_1252_with_semicolons(as_office, plan):
    text = "Ref;Title;Due date;Evidence of impact\nMP-1.2;;;Costs £1,200 less\n"
    upload(as_office, text.encode("cp1252"), name="tracker.csv")
    assert preview_rows()["MP-1.2"]["changes"] == [["Evidence of impact", "", "Costs £1,200 less"]]


def test_a_csv_in_utf8_with_its_byte_order_mark(as_office, plan):
    text = "Reference,Title\r\nMP-1.2,Café visits\r\n"
    upload(as_office, text.encode("utf-8-sig"), name="tracker.csv")
    assert preview_rows()["MP-1.2"]["changes"][0][2] == "Café visits"


def test_other_headings_are_mapped_on_the_preview_and_the_mapping_kept(as_office, plan, office):
    rows = [
        ["Ref", "Action", "Target date", "Lead", "RAG", "Update", "Comments"],
        ["MP-1.2", "", "", "", "Amber", "Interviews booked.", "ignore me"],
        ["MP-1.3", "", "", "", "Green", "", ""],
    ]
    content = workbook(rows)
    upload(as_office, content)
    found = latest_import()
    assert found.fields == [
        "reference",
        "title",
        "due_date",
        "lead_officer",
        "",
        "progress_narrative",
        "",
    ]
    page = as_office.get(found.get_absolute_url()).content.decode()
    assert "RAG (column E); Comments (column G)" in page
    assert preview_rows()["MP-1.2"]["changes"] == [
        ["Progress", plan.actions.get(reference="MP-1.2").progress_narrative, "Interviews booked."]
    ]

    # The officer reads RAG as the status.
    form = {f"column-{i}": field for i, field in enumerate(found.fields)}
    form["column-4"] = "status"
    response = as_office.post(found.get_absolute_url(), form)
    assert response.status_code == 302
    found.refresh_from_db()
    assert found.fields[4] == "status"
    assert preview_rows()["MP-1.2"]["changes"][0] == ["Status", "On track", "At risk"]
    assert preview_rows()["MP-1.3"]["kind"] == "same"  # green is on track already
    page = as_office.get(found.get_absolute_url()).content.decode()
    assert counts_on(page) == {"create": 0, "change": 1, "same": 1, "error": 0}
    assert rows_on(page, "import-changed") == [2] and "At risk" in page
    mapping = ImportMapping.objects.get()
    assert mapping.saved_by == office and mapping.fields == found.fields
    assert mapping.headings == ["ref", "action", "target date", "lead", "rag", "update", "comments"]

    # Next month's sheet with the same headings is read the same way at once.
    upload(as_office, content)
    assert latest_import().fields[4] == "status"
    assert preview_rows()["MP-1.2"]["changes"][0] == ["Status", "On track", "At risk"]


def test_a_mapping_must_name_the_reference_and_each_field_once(as_office, plan):
    rows = [["Ref", "Title", "Name"], ["MP-1.2", "A", "B"]]
    upload(as_office, workbook(rows))
    found = latest_import()
    before = (found.fields, found.preview)
    response = as_office.post(
        found.get_absolute_url(), {"column-0": "", "column-1": "title", "column-2": "title"}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Choose the column that holds each action&#x27;s reference." in page
    assert "Only one column can be read as Title: Title (column B), Name (column C)." in page
    found.refresh_from_db()
    assert (found.fields, found.preview) == before and not ImportMapping.objects.exists()


def test_a_sheet_without_a_reference_column_asks_for_it(as_office, plan):
    rows = [["Number", "Title", "Target date"], ["MP-1.2", "Changed", ""]]
    upload(as_office, workbook(rows))
    found = latest_import()
    assert found.preview == {}
    page = as_office.get(found.get_absolute_url()).content.decode()
    assert "Grip cannot tell which column holds each action" in page
    form = {"column-0": "reference", "column-1": "title", "column-2": "due_date"}
    as_office.post(found.get_absolute_url(), form)
    assert preview_rows()["MP-1.2"]["changes"][0][2] == "Changed"
    page = as_office.get(found.get_absolute_url()).content.decode()
    assert "Grip cannot tell which column" not in page
    assert counts_on(page) == {"create": 0, "change": 1, "same": 0, "error": 0}


# --- Hostile files ----------------------------------------------------------------------------


def zip_of(members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def zip_bomb(size: int) -> bytes:
    """A zip that looks like a workbook and declares a member of ``size`` bytes of zeros."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            block = b"\0" * (1024 * 1024)
            for _ in range(size // len(block)):
                member.write(block)
    return out.getvalue()


def encrypted_workbook() -> bytes:
    """What Excel saves when a workbook has a password: a compound (OLE) file."""
    return imports.OLE_MAGIC + bytes(504) + b"EncryptionInfo" + bytes(1000)


PNG = b"\x89PNG\r\n\x1a\n" + bytes(200)
TEXT = b"Reference,Title\nMP-1.2,Changed\n"
HOSTILE = {
    "not a spreadsheet": ("photo.png", PNG, imports.NOT_A_SPREADSHEET),
    "a text file renamed": ("plan.xlsx", TEXT, imports.NOT_A_WORKBOOK),
    "a corrupt zip": ("plan.xlsx", b"PK\x03\x04" + b"\x13" * 400, imports.CORRUPT),
    "a zip that is not a workbook": (
        "plan.xlsx", zip_of({"hello.txt": b"hello"}), imports.NOT_A_WORKBOOK
    ),
    "a damaged workbook": (
        "plan.xlsx",
        zip_of({"[Content_Types].xml": b"<not xml", "xl/workbook.xml": b"<nor this"}),
        imports.CORRUPT,
    ),
    "a password-protected workbook": ("plan.xlsx", encrypted_workbook(), imports.PROTECTED),
    "an old .xls": ("plan.xls", encrypted_workbook(), imports.PROTECTED),
    "binary named .csv": ("plan.csv", b"Ref\x00\x01\x02" * 50, imports.NOT_A_SPREADSHEET),
    "an empty file": ("plan.csv", b"", "The file is empty"),
    "no headings Grip knows": (
        "plan.csv", b"a,b,c\n1,2,3\n", "Grip could not find the row of column headings"
    ),
}  # fmt: skip


@pytest.mark.parametrize("name, content, message", HOSTILE.values(), ids=list(HOSTILE))
def test_a_hostile_file_is_refused_with_a_clear_message_and_changes_nothing(
    as_office, plan, name, content, message
):
    before = the_record()
    response = upload(as_office, content, name)
    assert response.status_code == 200
    page = response.content.decode().replace("&#x27;", "'")
    assert "There is a problem" in page and message in page
    assert the_record() == before and not ActionImport.objects.exists()


def test_a_zip_bomb_is_refused_before_it_is_unpacked(as_office, plan):
    bomb = zip_bomb(200 * 1024 * 1024)
    assert len(bomb) < 1024 * 1024  # 200 MB of zeros, packed into a few hundred KB
    before = the_record()
    response = upload(as_office, bomb)
    assert "zip bomb" in response.content.decode()
    assert the_record() == before and not ActionImport.objects.exists()


def test_a_zip_bomb_is_refused_from_its_directory_in_bounded_memory():
    import tracemalloc

    bomb = io.BytesIO(zip_bomb(60 * 1024 * 1024))  # under the total: caught by its ratio
    tracemalloc.start()
    with pytest.raises(imports.ImportRefused, match="zip bomb"):
        imports.read_upload(bomb, "plan.xlsx", is_header=imports.header_test())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 2 * 1024 * 1024


@override_settings(GRIP_IMPORT_MAX_ROWS=5)
def test_a_sheet_over_the_row_limit_is_refused(as_office, plan):
    rows = [["Reference", "Title"]] + [[f"MP-9.{n}", "New"] for n in range(6)]
    before = the_record()
    response = upload(as_office, workbook(rows))
    assert "The sheet has more than 5 rows of actions" in response.content.decode()
    assert the_record() == before and not ActionImport.objects.exists()


@override_settings(GRIP_IMPORT_MAX_BYTES=2000)
def test_a_file_over_the_size_limit_is_dropped_as_it_arrives(as_office, plan):
    content = b"Reference,Title\n" + b"MP-1.2,Changed\n" * 200
    before = the_record()
    response = upload(as_office, content, "big.csv")
    page = response.content.decode()
    assert response.status_code == 200
    assert "The file is larger than 1 KB, the most Grip reads in one import." in page
    assert the_record() == before and not ActionImport.objects.exists()


def test_an_upload_without_a_file_is_asked_for(as_office):
    response = as_office.post(UPLOAD, {})
    assert "Choose an Excel workbook (.xlsx) or a CSV file (.csv) to upload" in (
        response.content.decode()
    )


# --- Reading, unit by unit ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["30/11/2018", "30-11-2018", "30.11.2018", "30 Nov 2018", "30 November 2018", "30th Nov 2018",
     "2018-11-30", "2018-11-30 00:00:00", "30-Nov-2018"],
)  # fmt: skip
def test_dates_as_councils_write_them(text):
    assert imports.parse_date(text) == datetime.date(2018, 11, 30)


@pytest.mark.parametrize("text", ["31/02/2019", "11/30/2018", "30/11/18", "Nov 2018", "soon"])
def test_what_is_not_a_date_names_the_value(text):
    with pytest.raises(ValueError, match=f"'{text}' is not a date"):
        imports.parse_date(text)


def test_headings_are_matched_with_case_spacing_and_punctuation_forgiven():
    headings = ["  REF ", "work-stream", "Lead Officer:", "Target  Date", "BRAG", "Notes", "Ref"]
    assert imports.guess_fields(headings) == [
        "reference",
        "workstream",
        "lead_officer",
        "due_date",
        "",
        "",
        "",  # a field is read from its first column only
    ]
    assert imports.unread_columns(headings, imports.guess_fields(headings)) == [
        "Notes (column F)",
        "Ref (column G)",
    ]


def test_statuses_and_rag_colours():
    assert imports.parse_status("on track") == imports.parse_status("GREEN") == "on_track"
    assert imports.parse_status("Red") == "off_track"
    assert imports.parse_status("Amber") == "at_risk"
    assert imports.parse_status("Blue") == imports.parse_status("Completed") == "complete"
    with pytest.raises(ValueError, match="'Purple' is not a status"):
        imports.parse_status("Purple")


def test_formulas_escaped_by_an_export_are_read_back_as_text():
    assert imports.cell_text('\'=HYPERLINK("x")') == '=HYPERLINK("x")'
    assert imports.cell_text(3.0) == "3" and imports.cell_text(2.5) == "2.5"
    assert imports.cell_text(datetime.datetime(2018, 11, 30, 0, 0)) == "2018-11-30"


# --- The round trip (issue 9, point 5) --------------------------------------------------------


def exported_tracker(client) -> openpyxl.Workbook:
    response = client.get(reverse("workstreams:action-export-xlsx"))
    assert response.status_code == 200
    return openpyxl.load_workbook(io.BytesIO(response.content))


def test_export_change_a_status_and_a_due_date_in_excel_import_exactly_those(
    as_office, plan, office
):
    book = exported_tracker(as_office)
    sheet = book.active
    header = next(
        number for number, row in enumerate(sheet.iter_rows(values_only=True), 1)
        if row and row[0] == "Reference"
    )  # fmt: skip
    headings = [cell.value for cell in sheet[header]]
    by_reference = {
        row[0].value: row for row in sheet.iter_rows(min_row=header + 1) if row[0].value
    }
    by_reference["MP-1.2"][headings.index("Status")].value = "At risk"
    by_reference["WF-4.2"][headings.index("Due date")].value = datetime.datetime(2019, 3, 29)
    out = io.BytesIO()
    book.save(out)
    before = {a.reference: a.history.count() for a in plan.actions.all()}

    upload(as_office, out.getvalue(), "grip-actions.xlsx")

    found = latest_import()
    assert found.preview["counts"] == {
        "create": 0,
        "change": 2,
        "same": plan.actions.count() - 2,
        "error": 0,
    }
    changed = preview_rows("change")
    assert changed["MP-1.2"]["changes"] == [["Status", "On track", "At risk"]]
    assert changed["WF-4.2"]["changes"] == [
        ["Due date", "31 Mar 2019", "29 Mar 2019 (a request for the task group chair to decide)"]
    ]

    confirm(as_office)

    after = {a.reference: a.history.count() for a in plan.actions.all()}
    assert {r for r in after if after[r] != before[r]} == {"MP-1.2", "WF-4.2"}
    assert plan.actions.get(reference="MP-1.2").status == ActionStatus.AT_RISK
    request = DueDateChange.objects.get(action__reference="WF-4.2")
    assert (request.to_date, request.requested_by, request.decision) == (
        datetime.date(2019, 3, 29),
        office,
        "pending",
    )
    # Exported again and imported, the plan is left alone.
    book = exported_tracker(as_office)
    out = io.BytesIO()
    book.save(out)
    upload(as_office, out.getvalue(), "grip-actions.xlsx")
    assert latest_import().preview["counts"]["same"] == plan.actions.count()


def test_a_long_preview_lists_the_first_rows_of_each_kind_and_counts_the_rest(as_office, plan):
    # New actions with nothing but a reference: each one a row with errors.
    upload(as_office, workbook([TRACKER, *(line(f"MP-9.{n}") for n in range(1, 131))]))
    assert len(preview_rows("error")) == 130
    page = as_office.get(latest_import().get_absolute_url()).content.decode()
    shown = imports.SHOWN
    assert shown < 130
    assert len(set(re.findall(r"MP-9\.\d+", page))) == shown
    assert f"And {130 - shown} more rows with errors." in page


def counts_on(page: str) -> dict[str, int]:
    """The preview page's counts, as it shows them."""
    found = re.findall(
        r'data-count="(\w+)">.*?<dd class="govuk-summary-list__value">(\d+)</dd>', page
    )
    return {kind: int(count) for kind, count in found}


def rows_on(page: str, table: str) -> list[int]:
    """The sheet's row numbers listed in one of the preview page's tables, in order, once each."""
    found = re.search(rf'<table [^>]*id="{table}".*?</table>', page, re.S)
    numbers = re.findall(r'data-row="(\d+)"', found[0]) if found else []
    return list(dict.fromkeys(int(n) for n in numbers))


def test_the_preview_page_reads_what_it_shows_not_the_sheet_or_the_whole_preview(
    as_office, plan, django_assert_max_num_queries
):
    """The page reads the upload's summary (``ActionImport.summary``): for a 10,000-row sheet
    its rows and whole preview were megabytes read back for a page that lists 100 rows of each
    kind (290 ms at 20,000 actions, issue 10)."""
    actions = plan.actions.exclude(status=ActionStatus.OFF_TRACK).order_by("reference")
    changed = list(actions.values_list("reference", flat=True)[:4])
    rows = tracker(plan, change={r: {"Status": "Off track"} for r in changed})
    rows += [line(f"MP-9.{n}", Workstream="MP") for n in range(1, 4)]  # no title: errors
    upload(as_office, workbook(rows))
    found = latest_import()
    assert found.preview["counts"] == {
        "create": 0,
        "change": 4,
        "same": plan.actions.count() - 4,
        "error": 3,
    }

    with django_assert_max_num_queries(6) as ran:  # the page's budget (test_query_budgets)
        response = as_office.get(found.get_absolute_url())

    assert response.status_code == 200
    read = [q["sql"] for q in ran.captured_queries if '"workstreams_actionimport"' in q["sql"]]
    assert len(read) == 1
    assert '"workstreams_actionimport"."summary"' in read[0]
    assert '"workstreams_actionimport"."rows"' not in read[0]
    assert '"workstreams_actionimport"."preview"' not in read[0]
    # What it shows is what the preview found.
    page = response.content.decode()
    assert counts_on(page) == found.preview["counts"]
    by_kind = {
        kind: [r["row"] for r in found.preview["rows"] if r["kind"] == kind]
        for kind in ("change", "error", "same")
    }
    assert rows_on(page, "import-changed") == by_kind["change"]
    assert rows_on(page, "import-errors") == by_kind["error"]
    same = [r["reference"] for r in found.preview["rows"] if r["kind"] == "same"]
    assert ", ".join(same) in page
    assert "Import 4 actions" in page
    # The first row's cells, beside the choice of what each column holds.
    first = plan.actions.order_by("reference").first()
    assert re.search(rf'data-column="3">.*?<span>{re.escape(first.title[:77])}', page, re.S)


def without_csrf(page: str) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page)


def test_a_long_preview_page_lists_the_first_rows_of_each_kind_from_its_summary(
    as_office, plan, monkeypatch
):
    monkeypatch.setattr(imports, "SHOWN", 10)  # fewer than the plan's actions
    references = sorted(plan.actions.values_list("reference", flat=True))
    rows = tracker(plan, change={r: {"Status": "Off track"} for r in references})
    rows += [line(f"MP-9.{n}", Workstream="MP") for n in range(1, 131)]
    upload(as_office, workbook(rows))
    found = latest_import()
    page = as_office.get(found.get_absolute_url()).content.decode()
    changes = [r["row"] for r in found.preview["rows"] if r["kind"] == "change"]
    errors = [r["row"] for r in found.preview["rows"] if r["kind"] == "error"]
    assert len(errors) == 130 and 10 < len(changes) <= len(references)
    assert rows_on(page, "import-changed") == changes[:10]
    assert rows_on(page, "import-errors") == errors[:10]
    assert f"And {len(changes) - 10} more actions to change." in page
    assert "And 120 more rows with errors." in page
    assert counts_on(page) == found.preview["counts"]


def test_an_upload_kept_before_the_summary_existed_shows_as_before(as_office, plan):
    """An upload without a summary (kept before migration 0010, or by a server not yet
    updated: the column's default is empty) shows as it would with one, made from its
    preview."""
    changes = {"MP-1.2": {"Status": "At risk"}}
    rows = tracker(plan, ["MP-1.2", "MP-1.3"], changes) + [line("MP-9.1", Workstream="MP")]
    upload(as_office, workbook(rows))
    found = latest_import()
    assert found.summary == imports.preview_summary(found.preview, found.rows)
    page = without_csrf(as_office.get(found.get_absolute_url()).content.decode())
    ActionImport.objects.filter(pk=found.pk).update(summary={})

    assert without_csrf(as_office.get(found.get_absolute_url()).content.decode()) == page
    assert counts_on(page) == {"create": 0, "change": 1, "same": 1, "error": 1}
    assert rows_on(page, "import-changed") == [2] and rows_on(page, "import-errors") == [4]


def test_an_import_confirmed_from_the_page_imports_every_row_of_its_preview(
    as_office, plan, monkeypatch
):
    """The page lists from the summary; the confirmation applies the whole preview, not the
    rows the page lists; and what is kept of the import holds neither the sheet's cells nor
    the summary."""
    monkeypatch.setattr(imports, "SHOWN", 3)  # the page lists fewer than are imported
    references = sorted(plan.actions.values_list("reference", flat=True))
    off_track = set(plan.actions.filter(status=ActionStatus.OFF_TRACK).values_list("reference"))
    changed = [r for r in references[::2] if (r,) not in off_track]
    rows = tracker(plan, change={r: {"Status": "Off track"} for r in changed})
    upload(as_office, workbook(rows))
    found = latest_import()
    before = {a.reference: (a.status, a.history.count()) for a in plan.actions.all()}
    assert len(found.summary["rows"]["change"]) == 3 < len(changed)
    assert as_office.get(found.get_absolute_url()).status_code == 200

    confirm(as_office, found)

    found.refresh_from_db()
    assert (found.state, found.changed, found.left_alone) == (
        "imported",
        len(changed),
        len(references) - len(changed),
    )
    assert found.rows == [] and found.summary == {}
    after = {a.reference: (a.status, a.history.count()) for a in plan.actions.all()}
    assert {r for r in references if after[r] != before[r]} == set(changed)
    assert all(after[r] == (ActionStatus.OFF_TRACK, before[r][1] + 1) for r in changed)


def test_the_upload_runs_as_many_queries_for_a_long_sheet_as_for_a_short_one(as_office, plan):
    """The plan is read once for the whole file, however many rows it has (it was read 500
    references at a time: 34 queries for 10,000 rows against 15 for 28, issue 10)."""
    call_command("generate_plan", actions=600, months=1, seed=11, verbosity=0)
    live = Plan.objects.live().get()
    references = sorted(live.actions.values_list("reference", flat=True))
    assert len(references) > 500

    def queries_to_upload(chosen) -> int:
        new_words = {r: {"Last update narrative": f"New words for {r}."} for r in chosen}
        content = workbook(tracker(live, chosen, new_words))
        with CaptureQueriesContext(connection) as ran:
            response = upload(as_office, content)
        assert response.status_code == 302
        counts = latest_import().preview["counts"]
        assert counts["change"] == len(chosen) and counts["error"] == 0
        return len(ran.captured_queries)

    short = queries_to_upload(references[:3])
    long = queries_to_upload(references)
    assert long == short <= 14
