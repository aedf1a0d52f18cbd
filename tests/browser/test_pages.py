"""The pages in a real headless Chromium: a chair's month of updates, what a lead cannot
reach, and an accessibility scan (axe-core, WCAG 2.2 AA) of every page."""

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from workstreams.models import Action

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def sign_in(page, live_server, username):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("grip-demo")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name=re.compile("Sign out"))).to_be_visible()


def serious_violations(page):
    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG}})
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_a_chair_updates_an_overdue_action_from_my_work(page, live_server, demo):
    sign_in(page, live_server, "sro.mp")
    overdue = page.get_by_role("table", name="Overdue")
    expect(overdue).to_be_visible()
    first_row = overdue.locator("tbody tr").first
    reference = first_row.get_attribute("data-reference")
    first_row.get_by_role("link", name=re.compile("^Update")).click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Update:")
    page.get_by_label("At risk").check()
    page.get_by_label("Progress this month").fill("Two managers' seminars rearranged for January.")
    page.get_by_role("button", name="Save update").click()

    expect(page.get_by_text(f"{reference} updated.")).to_be_visible()
    expect(page.get_by_text("Two managers' seminars rearranged for January.").first).to_be_visible()
    assert Action.objects.get(plan=demo, reference=reference).status == "at_risk"

    page.get_by_role("link", name="See every change to this action").click()
    newest = page.locator("[data-history-entry]").first
    expect(newest).to_contain_text("Changed by Senior responsible officer (Management & Practice)")
    status_row = newest.locator("tr[data-field='status']")
    expect(status_row).to_contain_text("At risk")


def test_a_lead_cannot_reach_another_workstreams_update_form(page, live_server, demo):
    sign_in(page, live_server, "lead.mp")
    other = Action.objects.filter(plan=demo, workstream__code="WF").first()
    page.goto(f"{live_server.url}/actions/{other.reference}/")
    expect(page.get_by_role("link", name="Update this action")).to_have_count(0)
    response = page.goto(f"{live_server.url}/actions/{other.reference}/update/")
    assert response.status == 403
    expect(page.get_by_role("heading", name="You cannot do that")).to_be_visible()
    assert Action.objects.get(pk=other.pk).version == other.version


def test_the_update_form_shows_errors_in_a_summary(page, live_server, demo):
    sign_in(page, live_server, "lead.mp")
    action = Action.objects.filter(plan=demo, lead_officer__username="lead.mp").first()
    page.goto(f"{live_server.url}/actions/{action.reference}/update/")
    page.get_by_label("Progress this month").fill("")
    page.get_by_label("Day", exact=True).fill("31")
    page.get_by_label("Month", exact=True).fill("2")
    page.get_by_label("Year", exact=True).fill("2019")
    page.get_by_role("button", name="Save update").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("Say what progress was made this month")
    expect(summary).to_contain_text("Enter a real date")
    assert serious_violations(page) == []


PAGES = [
    ("viewer", "/"),
    ("sro.mp", "/"),
    ("office", "/actions/"),
    ("viewer", "/actions/?status=green&sort=-due"),
    ("viewer", "/workstreams/MP/"),
    ("viewer", "/actions/MP-1.1/"),
    ("sro.mp", "/actions/MP-1.2/update/"),
    ("viewer", "/actions/MP-1.1/history/"),
    ("lead.wf", "/actions/MP-1.2/update/"),  # the 403 page
]


@pytest.mark.parametrize(("username", "path"), PAGES)
def test_every_page_passes_an_accessibility_scan(page, live_server, demo, username, path):
    sign_in(page, live_server, username)
    page.goto(f"{live_server.url}{path}")
    assert serious_violations(page) == []


def test_the_sign_in_page_passes_an_accessibility_scan(page, live_server, demo):
    page.goto(f"{live_server.url}/accounts/login/")
    assert serious_violations(page) == []


# Every page at 375 px and 1280 px: test_layout.py. (A phone's browser widens innerWidth to
# fit the page, so "scrollWidth - innerWidth" alone never finds an overflow there.)
