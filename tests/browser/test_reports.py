"""A month's four-question report in a real headless Chromium: drafted, returned, endorsed
and signed off by three people, each in their own browser; and a report printed on A4."""

import datetime
import re

import pytest
from playwright.sync_api import expect

from governance import services as governance
from governance.models import ProgressReport
from tests.browser.test_pages import serious_violations
from tests.helpers import report_in_state

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

JANUARY = datetime.date(2019, 1, 1)
DECEMBER = datetime.date(2018, 12, 1)


def signed_in(browser, live_server, username, width=1280):
    """A browser of ``username``'s own, signed in through the form."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("grip-demo")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    return context, page


def success(page, text):
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(text)


def test_a_report_goes_from_draft_to_signed_off_by_three_people(browser, live_server, demo):
    # The lead officer starts January's Management & Practice report from the list.
    lead_browser, lead = signed_in(browser, live_server, "lead.mp")
    lead.get_by_role("link", name="Reports", exact=True).click()
    lead.goto(f"{live_server.url}/reports/?period=2019-01")
    mp = lead.locator("tr[data-workstream='MP']")
    expect(mp).to_contain_text("Not started")
    expect(lead.locator("tr[data-workstream='WF']").get_by_role("button")).to_have_count(0)
    mp.get_by_role("button", name=re.compile("^Start the January report")).click()
    expect(lead.get_by_role("heading", level=1)).to_have_text(
        "Management & Practice report, January 2019"
    )
    report = ProgressReport.objects.get(workstream__code="MP", period=JANUARY)
    assert report.status == "draft" and report.created_by.username == "lead.mp"

    # They write the answers and add what needs to happen, and by when.
    lead.get_by_role("button", name="Edit the answers").click()
    lead.get_by_label("What's working well?").fill(
        "Managers' seminars held in August.\nSupervision audited against the standards."
    )
    lead.get_by_label("How do we know?").fill("The supervision audit: 31 of 40 records met them.")
    lead.get_by_label("What are we worried about?").fill("The share of locum managers.")
    lead.get_by_role("button", name="Save the answers").click()
    success(lead, "Answers saved.")
    lead.get_by_text("Add a line to what needs to happen").click()
    lead.get_by_label("What needs to happen", exact=True).fill(
        "Equality analysis of the practice standards."
    )
    lead.get_by_label("Who owns it", exact=True).select_option(
        label="Lead officer (Management & Practice)"
    )
    lead.get_by_label("Day", exact=True).fill("31")
    lead.get_by_label("Month", exact=True).fill("1")
    lead.get_by_label("Year", exact=True).fill("2019")
    lead.get_by_role("button", name="Add the line").click()
    success(lead, "Line added to what needs to happen.")
    expect(lead.locator("#report-items")).to_contain_text("Equality analysis")
    lead.get_by_role("button", name="Submit the report").click()
    success(lead, "Submitted: the report now waits for the task group chair's endorsement.")
    expect(lead.get_by_role("button", name="Edit the answers")).to_have_count(0)

    # The task group chair finds it waiting and returns it with a comment.
    chair_browser, chair = signed_in(browser, live_server, "sro.mp")
    chair.goto(f"{live_server.url}/reports/?period=2019-01")
    mp = chair.locator("tr[data-workstream='MP']")
    expect(mp).to_contain_text("Waiting for your endorsement")
    mp.get_by_role("link").click()
    chair.get_by_label("Comment", exact=True).fill("Say when the equality analysis will be done.")
    chair.get_by_role("button", name="Return it to the author").click()
    success(chair, "Returned to its author with your comment.")
    expect(chair.locator("#report-state")).to_have_text("Draft")

    # The lead sees it returned, answers the comment and submits it again.
    lead.goto(f"{live_server.url}/reports/?period=2019-01")
    mp = lead.locator("tr[data-workstream='MP']")
    expect(mp).to_contain_text("Returned to you")
    mp.get_by_role("link").click()
    expect(lead.locator("tr[data-step='return']")).to_contain_text(
        "Say when the equality analysis will be done."
    )
    lead.get_by_label("Comment", exact=True).fill("By 31 January, as the line says.")
    lead.get_by_role("button", name="Submit the report").click()
    success(lead, "Submitted")

    # The chair endorses it.
    chair.reload()
    chair.get_by_role("button", name="Endorse the report").click()
    success(chair, "Endorsed: the report now waits for the programme board chair's sign-off.")
    expect(chair.get_by_role("button", name="Sign off the report")).to_have_count(0)

    # The programme board chair signs it off: it is sealed, and says so with its checksum.
    board_browser, board = signed_in(browser, live_server, "exec.director")
    board.goto(f"{live_server.url}/reports/?period=2019-01")
    mp = board.locator("tr[data-workstream='MP']")
    expect(mp).to_contain_text("Waiting for your sign-off")
    mp.get_by_role("link").click()
    board.get_by_role("button", name="Sign off the report").click()
    report.refresh_from_db()
    assert report.status == "signed_off" and re.fullmatch(r"[0-9a-f]{64}", report.checksum)
    success(board, f"Checksum: {report.checksum}")
    expect(board.locator("#seal")).to_contain_text(
        "Signed off by Executive Director (Children, Families and Education)"
    )
    expect(board.locator("#checksum")).to_have_text(report.checksum)
    expect(board.get_by_role("button")).to_have_count(1)  # only "Sign out"
    trail = [
        (review.step, review.by.username, review.comment)
        for review in report.reviews.select_related("by").order_by("at", "pk")
    ]
    assert trail == [
        ("submit", "lead.mp", ""),
        ("return", "sro.mp", "Say when the equality analysis will be done."),
        ("submit", "lead.mp", "By 31 January, as the line says."),
        ("endorse", "sro.mp", ""),
        ("sign_off", "exec.director", ""),
    ]
    assert report.snapshot["answers"]["how_we_know"].startswith("The supervision audit")
    assert [item["description"] for item in report.snapshot["items"]][-1] == (
        "Equality analysis of the practice standards."
    )
    # The lead now reads the report as signed off; nothing on it can be changed.
    lead.reload()
    expect(lead.locator("#checksum")).to_have_text(report.checksum)
    expect(lead.locator("main form")).to_have_count(0)
    for context in (lead_browser, chair_browser, board_browser):
        context.close()


def test_a_report_prints_on_a4_with_its_period_and_checksum(browser, live_server, demo):
    report = report_in_state(demo, "signed_off", period=DECEMBER)
    # The programme office sees a step it may take (reopen): the paper must not show it.
    context, page = signed_in(browser, live_server, "office")
    page.goto(f"{live_server.url}{report.get_absolute_url()}")
    expect(page.get_by_role("button", name="Reopen the report")).to_be_visible()
    pdf = page.pdf(format="A4", print_background=True)
    assert pdf.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert 1 <= pages <= 12, f"{pages} A4 pages"

    page.emulate_media(media="print")
    for hidden in (
        "header[role='banner']",
        ".govuk-phase-banner",
        ".govuk-breadcrumbs",
        ".govuk-footer",
        "#step-form",
    ):
        expect(page.locator(hidden)).to_be_hidden()
    expect(page.get_by_role("button", name="Reopen the report")).to_be_hidden()
    expect(page.get_by_role("link", name="Reports", exact=True)).to_be_hidden()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Management & Practice report, December 2018"
    )
    expect(page.locator("#checksum")).to_be_visible()
    expect(page.locator("#checksum")).to_have_text(report.checksum)
    # On A4's width the tables stay tables (headed columns), not a phone's stacked cards.
    page.set_viewport_size({"width": 700, "height": 1000})
    expect(page.locator("#report-actions thead th").first).to_be_visible()
    expect(page.locator("#report-actions .grip-responsive-table__label").first).to_be_hidden()
    context.close()


def test_a_draft_prints_its_lines_without_their_forms(browser, live_server, demo):
    report = report_in_state(demo, "draft", period=DECEMBER)
    governance.report_item_add(
        report=report,
        by=report.created_by,
        description="Equality analysis of the practice standards.",
        owner=report.created_by,
        due_date=datetime.date(2019, 1, 31),
    )
    context, page = signed_in(browser, live_server, "lead.mp")
    page.goto(f"{live_server.url}{report.get_absolute_url()}")
    rows = page.locator("#report-items tbody tr")
    expect(page.locator("#report-items select").first).to_be_visible()
    page.emulate_media(media="print")
    expect(page.locator("#report-items select")).to_have_count(rows.count())
    for select in page.locator("#report-items select").all():
        expect(select).to_be_hidden()
    expect(rows.first.locator(".grip-print-only")).to_be_visible()
    expect(rows.first.locator(".grip-print-only")).to_have_text("Still to happen")
    expect(page.get_by_role("button", name="Submit the report")).to_be_hidden()
    expect(page.get_by_role("button", name="Edit the answers")).to_be_hidden()
    assert serious_violations(page) == []
    context.close()
