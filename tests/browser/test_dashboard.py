"""The programme board's dashboard in a real browser: a board member follows a count to the
action list and finds that many actions, today's and as the plan stood on a past day; and
the page prints on A4 for the board papers."""

import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from tests.browser.test_reports import signed_in
from tests.helpers import record
from workstreams.models import Action, ActionStatus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def listed(page) -> int:
    return int(re.match(r"(\d+) action", page.locator("#result-count").inner_text()).group(1))


@pytest.mark.parametrize("width", [375, 1280])
def test_a_board_member_follows_a_count_to_the_same_number_of_actions(
    browser, live_server, demo, width
):
    context, page = signed_in(browser, live_server, "board.member", width=width)
    page.goto(f"{live_server.url}/dashboard/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Programme dashboard: November 2018")
    on_track = page.locator("#delivery-table tfoot [data-rag='green'] a")
    shown = int(re.match(r"\d+", on_track.inner_text()).group(0))
    assert shown > 0
    on_track.click()
    page.wait_for_url(re.compile(r"/actions/\?"))
    assert listed(page) == shown
    assert page.locator("tbody tr[data-reference]").count() == min(shown, 25)
    expect(page.locator("#as-at")).to_contain_text("30 November 2018")
    context.close()


def test_the_board_sees_the_plan_as_it_stood_on_the_day_of_its_meeting(browser, live_server, demo):
    """An action set off track after the board still shows on track as the board saw it,
    on the dashboard and on the list its count opens."""
    chair = get_user_model().objects.get(username="sro.mp")
    record(Action.objects.get(plan=demo, reference="MP-1.2"), chair, status=ActionStatus.OFF_TRACK)

    context, page = signed_in(browser, live_server, "exec.director")
    page.goto(f"{live_server.url}/dashboard/?period=2019-01")
    now = page.locator("#delivery-table [data-workstream='MP'] [data-rag='red'] a").inner_text()

    page.get_by_label("As the plan stood on (optional)").fill("2019-01-09")
    page.get_by_role("button", name="Show the dashboard").click()
    expect(page.locator("#as-it-stood")).to_contain_text("9 January 2019")
    red = page.locator("#delivery-table [data-workstream='MP'] [data-rag='red'] a")
    then = int(re.match(r"\d+", red.inner_text()).group(0))
    assert then == int(re.match(r"\d+", now).group(0)) - 1

    page.locator("#delivery-table [data-workstream='MP'] [data-rag='green'] a").click()
    page.wait_for_url(re.compile(r"as_of=2019-01-09"))
    row = page.locator("tr[data-reference='MP-1.2']")
    expect(row).to_contain_text("On track")
    expect(row.get_by_role("link", name=re.compile("Update"))).to_have_count(0)
    context.close()


def test_the_dashboard_prints_on_a4(browser, live_server, demo):
    context, page = signed_in(browser, live_server, "board.member")
    page.goto(f"{live_server.url}/dashboard/")
    pdf = page.pdf(format="A4", print_background=True)
    assert pdf.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert 1 <= pages <= 12, f"{pages} A4 pages"

    page.emulate_media(media="print")
    for hidden in ("header[role='banner']", ".govuk-breadcrumbs", ".govuk-footer", "main form"):
        expect(page.locator(hidden)).to_be_hidden()
    expect(page.get_by_role("heading", level=1)).to_have_text("Programme dashboard: November 2018")
    expect(page.locator("#delivery-chart-title")).to_be_attached()
    expect(page.locator("svg[aria-labelledby^='delivery-chart']")).to_be_visible()
    # On A4's width the tables stay tables (headed columns), not a phone's stacked cards.
    page.set_viewport_size({"width": 700, "height": 1000})
    expect(page.locator("#workforce-table thead th").first).to_be_visible()
    expect(page.locator("#delivery-table .grip-responsive-table__label").first).to_be_hidden()
    context.close()
