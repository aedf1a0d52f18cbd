"""The plan import in a real headless Chromium: the programme office brings in a council's own
tracker, whose headings are not Grip's, maps its columns on the preview page, checks what
will change and confirms. The page-preparing helpers here also serve the layout checks
(test_layout.py)."""

import io
import re

import openpyxl
import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from tests.browser.test_pages import serious_violations
from tests.browser.test_reports import signed_in
from workstreams.models import Action, ActionImport, ActionStatus, ImportMapping

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def council_tracker() -> bytes:
    """A council's own tracker: a title row, its own headings, a blank row, RAG colours."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Improvement tracker"
    for row in [
        ["Children's improvement plan: tracker for the January task groups"],
        [],
        ["Ref", "Action", "Target date", "Lead", "RAG", "Update"],
        ["MP-1.3", "", "", "", "Amber", "The training provider cancelled the January dates."],
        [],
        ["MP-1.6", "", "", "Lead officer (Management & Practice)", "Red", ""],
        ["MP-9.1", "Audit supervision of newly qualified social workers", "31/03/2019",
         "lead.mp", "Green", "Audit tool agreed."],
    ]:  # fmt: skip
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(page, content: bytes, name="tracker.xlsx"):
    page.goto(f"{site(page)}/imports/actions/")
    page.get_by_label("Upload a spreadsheet").set_input_files(
        files=[{"name": name, "mimeType": XLSX, "buffer": content}]
    )
    page.get_by_role("button", name="Upload and preview").click()


def site(page):
    return "/".join(page.url.split("/", 3)[:3])


def test_an_officer_imports_a_council_tracker_through_the_mapping_and_the_preview(
    browser, live_server, demo
):
    context, page = signed_in(browser, live_server, "office")
    page.get_by_role("link", name="Import", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import actions from a spreadsheet")
    upload(page, council_tracker())

    # The preview: the RAG column is not read until the officer says what it holds.
    expect(page.get_by_role("heading", level=1)).to_have_text("Check the import before you confirm")
    expect(page.locator("#unread-columns")).to_contain_text("RAG (column E)")
    expect(page.locator("[data-count='change'] dd")).to_have_text("1")
    changed = page.locator("#import-changed")
    expect(changed.locator("tr[data-field='Status']")).to_have_count(0)
    # The headings Grip knows in other words are read already.
    expect(page.get_by_label("Target date")).to_have_value("due_date")
    expect(page.get_by_label("Lead", exact=True)).to_have_value("lead_officer")
    expect(page.get_by_label("Update")).to_have_value("progress_narrative")
    assert serious_violations(page) == []

    page.get_by_label("RAG").select_option(label="Status")
    page.get_by_role("button", name="Read the columns again").click()

    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(
        "Grip will read them this way the next time"
    )
    expect(page.locator("#unread-columns")).to_have_count(0)
    status = changed.locator("tr[data-row='4'][data-field='Status']")
    expect(status).to_contain_text("On track")
    expect(status).to_contain_text("At risk")
    progress = changed.locator("tr[data-row='4'][data-field='Progress']")
    expect(progress).to_contain_text("The training provider cancelled")
    mp16 = changed.locator("tr[data-row='6']")
    expect(mp16).to_have_count(1)  # only its status: the lead officer is the same
    expect(mp16).to_contain_text("Off track")
    expect(page.locator("#import-created")).to_contain_text("Audit supervision of newly")
    expect(page.locator("[data-count='error'] dd")).to_have_text("0")
    assert Action.objects.get(reference="MP-1.3").status == ActionStatus.ON_TRACK  # not yet

    page.get_by_role("button", name="Import 3 actions").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Import complete")
    expect(page.locator("[data-count='created'] dd")).to_have_text("1")
    expect(page.locator("[data-count='changed'] dd")).to_have_text("2")
    office = get_user_model().objects.get(username="office")
    mp13 = Action.objects.get(reference="MP-1.3")
    assert mp13.status == ActionStatus.AT_RISK
    assert mp13.history.latest().history_user == office
    assert mp13.updates.get().progress_narrative.startswith("The training provider cancelled")
    assert Action.objects.get(reference="MP-9.1").lead_officer.username == "lead.mp"
    assert ImportMapping.objects.get().fields[4] == "status"

    # Each changed action links to its history, which says who changed it.
    page.locator("tr[data-reference='MP-1.3']").get_by_role(
        "link", name=re.compile("History")
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Every change to this action")
    expect(page.locator("[data-history-entry]").first).to_contain_text("Programme office (Officer)")
    context.close()


# --- Pages for the layout checks (test_layout.py) ---------------------------------------------


def a_long_tracker() -> bytes:
    """A sheet with every kind of row the preview shows, with words as long as people write."""
    book = openpyxl.Workbook()
    sheet = book.active
    long = (
        "The second round of interviews for the two team manager posts in the assessment "
        "service found one appointable candidate; the other post is covered by an interim."
    )
    for row in [
        ["Tracker maintained by the programme office for the programme board, January 2019"],
        ["Ref", "Action", "Target date", "Lead", "RAG", "Update", "Comments from the board"],
        ["MP-1.4", "", "", "", "Red", long, "Escalate to the board in February"],
        ["MP-1.6", "", "", "", "", "", ""],
        ["MP-9.1", "Audit supervision of newly qualified social workers against the "
         "practice standards", "31 March 2019", "lead.mp", "", long, ""],
        ["MP-9.2", "No date", "sometime in spring", "Someone Unknown", "", "", ""],
        ["MP-9.3", "Twice", "31/03/2019", "", "", "", ""],
        ["MP-9.3", "Twice", "31/03/2019", "", "", "", "the same reference twice"],
    ]:  # fmt: skip
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def show_import_errors(page):
    """A text file renamed .xlsx, refused on the upload page with the reason."""
    upload(page, b"Reference,Title\nMP-1.2,Changed\n", "renamed.xlsx")
    expect(page.locator(".govuk-error-summary")).to_be_visible()


def show_import_preview(page):
    upload(page, a_long_tracker())
    expect(page.locator("#import-errors")).to_be_visible()
    page.get_by_label("RAG").select_option(label="Status")
    page.get_by_role("button", name="Read the columns again").click()
    expect(page.locator("#import-changed")).to_be_visible()


def show_import_done(page):
    show_import_preview(page)
    page.get_by_role("button", name=re.compile(r"^Import \d+ action")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import complete")
    assert ActionImport.objects.get().state == "imported"
