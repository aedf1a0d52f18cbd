"""The programme board's dashboard (``/dashboard/``): its figures against known data, the
plan as it stood on a past date, what changed since the last board, and every count equal
to the rows of the list it links to."""

import datetime
import html
import json
import re
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from governance.models import Body, Meeting
from tests.helpers import record
from workstreams.models import (
    Action,
    ActionStatus,
    Finding,
    Indicator,
    IndicatorValue,
    Plan,
    Rag,
    action_is_overdue,
    action_rag,
)

pytestmark = pytest.mark.django_db

REFERENCE = json.loads(
    (Path(__file__).resolve().parents[2] / "fixtures" / "croydon-2018-19.json").read_text()
)
NOVEMBER = datetime.date(2018, 11, 1)
END_OF_NOVEMBER = datetime.date(2018, 11, 30)
COUNT_LINK = re.compile(r'<a class="govuk-link" href="(/actions/[^"]*)">\s*(\d+)')
RESULT_COUNT = re.compile(r'id="result-count"[^>]*>\s*(\d+) action')


def board_of(client, query=""):
    response = client.get(f"/dashboard/{query}")
    assert response.status_code == 200
    return response.context["board"], response.content.decode()


def counts(row) -> dict[Rag, int]:
    return {cell.rag: cell.count for cell in row.rag.counts}


def reference_counts(day: datetime.date) -> Counter:
    """The reference plan's BRAG on ``day``, worked out from its data file with the Python
    rule, independently of the SQL the dashboard counts with."""
    return Counter(
        action_rag(
            item["status"],
            datetime.date.fromisoformat(item["due_date"]),
            day,
            bool(item.get("evidence_accepted_on")),
        )
        for item in REFERENCE["actions"]
    )


def listed(client, url) -> int:
    page = client.get(url)
    assert page.status_code == 200, url
    return int(RESULT_COUNT.search(page.content.decode()).group(1))


# --- The reference plan --------------------------------------------------------------------


def test_the_reference_plan_opens_on_november_2018_as_the_board_saw_it(client, board_member):
    client.force_login(board_member)
    board, page = board_of(client)
    assert board.period == NOVEMBER
    assert board.judged_on == END_OF_NOVEMBER
    expected = reference_counts(END_OF_NOVEMBER)
    assert counts(board.programme) == {rag: expected[rag] for rag in Rag}
    assert board.programme.rag.total == 28
    # Judged at the end of November, nothing of the plan was overdue yet.
    assert board.programme.overdue.count == 0
    assert "Programme dashboard: November 2018" in page


def test_the_reference_plan_still_opens_on_november_2018_years_later(
    client, board_member, pinned_clock
):
    """Not with 21 of 28 actions red against 2026: judged at the end of the month viewed."""
    pinned_clock.move_to(datetime.datetime(2026, 11, 25, 9, 0))
    client.force_login(board_member)
    board, _ = board_of(client)
    assert board.period == NOVEMBER
    assert counts(board.programme)[Rag.RED] == reference_counts(END_OF_NOVEMBER)[Rag.RED] == 2
    # The same plan judged today is almost all red: the dashboard is not.
    assert Action.objects.filter(plan__status="live").overdue().count() >= 15


def test_a_plan_updated_after_its_end_shows_and_offers_its_latest_month(
    client, viewer, pinned_clock
):
    """The plan ends in March 2019; still live in June, it is updated then. The dashboard
    shows June, and its month choice offers and selects June, not March."""
    pinned_clock.move_to(datetime.datetime(2019, 6, 10, 10, 0))
    client.force_login(viewer)
    board, page = board_of(client)
    assert board.period == NOVEMBER  # the latest month with data
    assert '<option value="2019-03">' in page and 'value="2019-04"' not in page
    action = Action.objects.get(plan__status="live", reference="MP-1.2")
    record(action, action.lead_officer, progress_narrative="Still at it in June.")
    board, page = board_of(client)
    assert board.period == datetime.date(2019, 6, 1)
    assert "Programme dashboard: June 2019" in page
    assert '<option value="2019-06" selected>June 2019</option>' in page
    assert board_of(client, "?period=2019-05")[0].period == datetime.date(2019, 5, 1)
    assert client.get("/dashboard/?period=2019-07").status_code == 200
    assert (
        "2019-07"
        not in board_of(client, "?period=2019-07")[1].split("<select")[1].split("</select>")[0]
    )


def test_overdue_is_judged_at_the_end_of_the_month_viewed(client, viewer):
    client.force_login(viewer)
    for period, day in (("2018-11", END_OF_NOVEMBER), ("2018-12", datetime.date(2018, 12, 31))):
        board, _ = board_of(client, f"?period={period}")
        overdue = sum(
            action_is_overdue(item["status"], datetime.date.fromisoformat(item["due_date"]), day)
            for item in REFERENCE["actions"]
        )
        assert board.programme.overdue.count == overdue
    assert overdue == 1  # PL-5.1, due 1 December 2018, still on track at the end of December


def test_the_workforce_table_shows_the_reports_figures(client, viewer):
    client.force_login(viewer)
    board, page = board_of(client)
    workforce = board.workforce
    assert workforce.as_of == datetime.date(2018, 10, 31)
    assert workforce.cutoff == datetime.date(2017, 9, 1)
    totals = (
        workforce.total,
        workforce.locum,
        workforce.salaried,
        workforce.in_post_before_cutoff,
        workforce.joined_since_cutoff,
    )
    assert totals == (77, 25, 52, 50, 27)
    by_service = {
        row.service_area.name: (
            row.total,
            row.locum,
            row.salaried,
            row.in_post_before_cutoff,
            row.joined_since_cutoff,
        )
        for row in workforce.rows
    }
    assert by_service == {
        "Adolescent services": (10, 1, 9, 6, 4),
        "Care planning": (19, 6, 13, 9, 10),
        "Children with disabilities": (7, 4, 3, 4, 3),
        "Corporate parenting": (22, 7, 15, 17, 5),
        "Early Help": (7, 1, 6, 6, 1),
        "SPOC and assessments": (12, 6, 6, 8, 4),
    }
    assert str(workforce.permanent_share) == "67.5"
    assert workforce.trend == [(datetime.date(2018, 10, 31), workforce.permanent_share)]
    # And on the page, in the table's own cells.
    total_row = re.search(r'data-service="all".*?</tr>', page, re.S).group(0)
    figures = re.findall(r'data-figure="(\w+)".*?</span>(\d+)</td>', total_row, re.S)
    assert figures == [
        ("total", "77"),
        ("locum", "25"),
        ("salaried", "52"),
        ("before", "50"),
        ("since", "27"),
    ]
    assert "<strong>67.5%</strong> (52 of 77)" in page


def test_indicators_show_the_latest_value_its_rag_and_when_it_is_stale(client, viewer):
    client.force_login(viewer)
    november, _ = board_of(client, "?period=2018-11")
    december, _ = board_of(client, "?period=2018-12")
    source = {item["code"]: item for item in REFERENCE["indicators"]}
    for row in november.indicators:
        item = source[row.indicator.code]
        last = item["values"][-1]
        assert row.latest_period == datetime.date.fromisoformat(f"{last['period']}-01")
        assert float(row.latest_value) == last["value"]
        assert not row.stale
        assert len(row.trend) == 12 and row.trend[-1][0] == NOVEMBER
    # December has no values yet: the November value stands, flagged stale.
    for row in december.indicators:
        assert row.stale
        assert row.latest_period == NOVEMBER
    supervision = next(r for r in november.indicators if r.indicator.code == "MP-KPI-1")
    # 83% against 90% with 5 points' tolerance, higher is better: short by 7, so red.
    assert supervision.rag == Rag.RED


def test_indicators_of_a_past_day_show_the_values_recorded_by_then(client, viewer, pinned_clock):
    """A value corrected and one added after the day viewed are not what the board saw."""
    supervision = Indicator.objects.get(code="MP-KPI-1")
    november = IndicatorValue.objects.get(indicator=supervision, period=NOVEMBER)
    pinned_clock.shift(datetime.timedelta(days=1))
    november.value = Decimal("85.50")
    november.save()
    IndicatorValue.objects.create(
        indicator=supervision, period=datetime.date(2018, 12, 1), value=Decimal("88.25")
    )
    client.force_login(viewer)

    def supervision_row(query):
        board, _ = board_of(client, query)
        return next(row for row in board.indicators if row.indicator.code == "MP-KPI-1")

    now = supervision_row("?period=2018-12")
    assert (now.latest_period, now.latest_value, now.stale) == (
        datetime.date(2018, 12, 1),
        Decimal("88.25"),
        False,
    )
    december = datetime.date(2018, 12, 1)
    assert now.trend[-2:] == [(NOVEMBER, Decimal("85.50")), (december, Decimal("88.25"))]
    then = supervision_row("?period=2018-12&as_of=2019-01-10")
    assert (then.latest_period, then.latest_value, then.stale) == (NOVEMBER, Decimal("83.00"), True)
    assert then.trend[-2:] == [(NOVEMBER, Decimal("83.00")), (december, None)]
    assert [value for _, value in then.trend[:-2]] == [value for _, value in now.trend[:-2]]


def test_the_months_reports_and_their_state(client, viewer):
    client.force_login(viewer)
    board, page = board_of(client, "?period=2018-11")
    states = {
        (item.workstream.code if item.workstream else "programme"): (
            item.report.status if item.report else None
        )
        for item in board.reports
    }
    assert states == {
        "MP": "signed_off",
        "WF": "endorsed",
        "PA": "submitted",
        "PL": "draft",
        "programme": None,
    }


def test_findings_with_no_live_action_are_gaps(client, viewer, plan, office):
    client.force_login(viewer)
    board, _ = board_of(client)
    answered = {ref for item in REFERENCE["actions"] for ref in item.get("findings", [])}
    unanswered = sorted({item["reference"] for item in REFERENCE["findings"]} - answered)
    assert unanswered == ["F-07"]  # the reference plan's own gap
    assert [finding.reference for finding in board.gaps] == unanswered
    lonely = Finding.objects.create(
        plan=plan, reference="F-99", source="Monitoring visit", date=NOVEMBER, text="Drift."
    )
    closed_only = Finding.objects.create(
        plan=plan, reference="F-98", source="Monitoring visit", date=NOVEMBER, text="Visits."
    )
    closed = Action.objects.get(plan=plan, reference="WF-2.2")
    closed.findings.add(closed_only)
    # Set straight in the database: the portal's forms never close an action.
    Action.objects.filter(pk=closed.pk).update(status=ActionStatus.CLOSED)
    board, page = board_of(client, "?period=2019-01")
    assert [finding.reference for finding in board.gaps] == ["F-07", "F-98", "F-99"]
    assert lonely.text in page and closed_only.text in page


# --- The plan as it stood ------------------------------------------------------------------


def test_as_of_shows_the_brag_an_action_had_before_it_changed(client, viewer, chair_mp):
    action = Action.objects.get(plan__status="live", reference="MP-1.2")
    assert action.status == ActionStatus.ON_TRACK
    record(action, chair_mp, status=ActionStatus.OFF_TRACK)
    client.force_login(viewer)

    now, _ = board_of(client, "?period=2019-01")
    then, page = board_of(client, "?period=2019-01&as_of=2019-01-09")
    mp_now = counts(next(r for r in now.delivery if r.workstream.code == "MP"))
    mp_then = counts(next(r for r in then.delivery if r.workstream.code == "MP"))
    assert mp_now[Rag.RED] == mp_then[Rag.RED] + 1
    assert mp_now[Rag.GREEN] == mp_then[Rag.GREEN] - 1
    assert then.from_history and "rebuilt from the audit history" in page

    # The list it links to shows the action as it stood, with no update link.
    listing = client.get("/actions/", {"period": "2019-01", "as_of": "2019-01-09", "q": "MP-1.2"})
    row = re.search(r'data-reference="MP-1.2".*?</tr>', listing.content.decode(), re.S).group(0)
    assert "On track" in row and "Off track" not in row
    assert "/update/" not in row


def test_as_of_before_the_plan_was_recorded_shows_no_actions(client, viewer):
    client.force_login(viewer)
    board, _ = board_of(client, "?period=2018-10&as_of=2018-10-31")
    assert board.programme.rag.total == 0


def test_what_changed_since_the_last_board(client, viewer, chair_mp):
    """Since the programme board of 12 December 2018: MP-1.2 set off track by its chair,
    and PL-1.1 turned red because its due date (31 December) passed, with nobody's change."""
    record(Action.objects.get(plan__status="live", reference="MP-1.2"), chair_mp,
           status=ActionStatus.OFF_TRACK)  # fmt: skip
    client.force_login(viewer)
    board, page = board_of(client, "?period=2019-01")
    assert board.baseline.board_met
    assert board.baseline.day == datetime.date(2018, 12, 12)
    changes = {change.action.reference: change for change in board.changes}
    mp = changes["MP-1.2"]
    assert (mp.before, mp.after, mp.by.username) == (Rag.GREEN, Rag.RED, "sro.mp")
    assert mp.at.date() == datetime.date(2019, 1, 10)
    pl = changes["PL-1.1"]
    assert (pl.before, pl.after, pl.only_time_passed) == (Rag.GREEN, Rag.RED, True)
    assert board.changed.count == len(board.changes)
    assert "the board of 12 December 2018" in page
    # Its count links to exactly those actions.
    assert listed(client, board.changed.url) == board.changed.count


def test_only_the_most_pressing_changes_are_listed_and_the_count_links_to_all(
    client, viewer, chair_mp, monkeypatch
):
    """A large plan changes by hundreds a month: the dashboard lists a page's worth, most
    pressing first, and says so; its count and link are of every one."""
    for reference in ("MP-1.2", "MP-1.3"):
        action = Action.objects.get(plan__status="live", reference=reference)
        record(action, chair_mp, status=ActionStatus.OFF_TRACK)
    client.force_login(viewer)
    everything, _ = board_of(client, "?period=2019-01")
    assert everything.changed.count == len(everything.changes) == 3
    monkeypatch.setattr("governance.dashboard.CHANGES_SHOWN", 2)
    board, page = board_of(client, "?period=2019-01")
    assert board.changes == everything.changes[:2]
    assert (board.changed.count, board.changes_not_shown) == (3, 1)
    assert "The 2 most pressing are below." in page
    table = page.split('id="changes-table"')[1].split("</table>")[0]
    shown = re.findall(r'data-reference="([^"]+)"', table)
    assert shown == [change.action.reference for change in everything.changes[:2]]
    links = re.findall(r'<a class="govuk-link" href="([^"]+)"', table)
    assert links == [f"/actions/{reference}/" for reference in shown]
    assert listed(client, board.changed.url) == 3


def test_since_the_last_board_counts_only_its_meetings_within_the_plan_before_the_day(
    client, viewer
):
    """The programme board first met on 12 December 2018: November is judged since the end
    of October. A meeting before the plan began, or another body's, is not a board of it."""
    board_body = Body.objects.get(kind=Body.Kind.PROGRAMME_BOARD)
    Meeting.objects.create(body=board_body, date=datetime.date(2018, 3, 12), period=NOVEMBER)
    task_group = Body.objects.filter(kind=Body.Kind.TASK_GROUP).first()
    Meeting.objects.create(body=task_group, date=datetime.date(2018, 11, 20), period=NOVEMBER)
    client.force_login(viewer)
    board, page = board_of(client, "?period=2018-11")
    assert (board.baseline.day, board.baseline.board_met) == (datetime.date(2018, 10, 31), False)
    assert "the programme board has no earlier meeting recorded" in page
    board, page = board_of(client, "?period=2018-12&as_of=2018-12-12")
    assert (board.baseline.day, board.baseline.board_met) == (datetime.date(2018, 11, 30), False)
    board, page = board_of(client, "?period=2018-12&as_of=2018-12-13")
    assert (board.baseline.day, board.baseline.board_met) == (datetime.date(2018, 12, 12), True)
    assert "What changed since the board of 12 December 2018" in page


def test_a_change_is_named_only_where_it_moved_the_brag(client, viewer, chair_mp):
    """An update since the last board that moved nothing BRAG is judged from does not take
    the credit: not from the change before it (MP-1.2 set off track by its chair), nor from
    the due date passing (PL-1.1, whose last BRAG-moving change was before the board)."""
    mp = Action.objects.get(plan__status="live", reference="MP-1.2")
    record(mp, chair_mp, status=ActionStatus.OFF_TRACK)
    mp.refresh_from_db()
    pl = Action.objects.get(plan__status="live", reference="PL-1.1")
    for action in (mp, pl):
        record(action, action.lead_officer, progress_narrative="Nothing new on the dates.")
    client.force_login(viewer)
    board, _ = board_of(client, "?period=2019-01")
    changes = {change.action.reference: change for change in board.changes}
    assert (changes["MP-1.2"].after, changes["MP-1.2"].by) == (Rag.RED, chair_mp)
    assert changes["PL-1.1"].only_time_passed


def test_slipped_counts_actions_and_their_moves(client, viewer, chair_mp):
    action = Action.objects.get(plan__status="live", reference="MP-1.3")
    record(
        action,
        chair_mp,
        revised_due_date=datetime.date(2019, 2, 28),
        due_date_reason="Waiting for the audit results.",
    )
    action.refresh_from_db()
    record(
        action,
        chair_mp,
        revised_due_date=datetime.date(2019, 3, 29),
        due_date_reason="The audit slipped again.",
    )
    client.force_login(viewer)
    board, _ = board_of(client, "?period=2019-01")
    mp = next(r for r in board.delivery if r.workstream.code == "MP")
    assert (mp.slipped.count, mp.slips) == (1, 2)
    assert (board.programme.slipped.count, board.programme.slips) == (1, 2)
    assert listed(client, mp.slipped.url) == 1
    # As it stood before the moves, nothing had slipped.
    before, _ = board_of(client, "?period=2019-01&as_of=2019-01-09")
    assert before.programme.slipped.count == 0


@pytest.mark.parametrize(
    "query",
    ["", "?period=2018-12", "?period=2019-01", "?period=2019-01&as_of=2019-01-09"],
    ids=["default", "december", "this month", "as of"],
)
def test_every_count_equals_the_rows_of_its_list(client, viewer, chair_mp, query):
    record(Action.objects.get(plan__status="live", reference="MP-1.2"), chair_mp,
           status=ActionStatus.AT_RISK)  # fmt: skip
    client.force_login(viewer)
    board, page = board_of(client, query)
    links = [(html.unescape(url), int(n)) for url, n in COUNT_LINK.findall(page)]
    # 4 workstreams and the programme: 7 states, all, overdue, due next month, slipped.
    assert len(links) == 5 * (len(Rag) + 4)
    for url, shown in links:
        assert listed(client, url) == shown, url
    assert listed(client, board.changed.url) == board.changed.count


def test_a_wrong_month_or_date_is_explained_and_the_latest_month_shown(client, viewer):
    client.force_login(viewer)
    response = client.get("/dashboard/", {"period": "2031-01", "as_of": "2030-02-31"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "There is a problem" in page
    assert "Choose a month from the list." in page or "Choose a month of the plan" in page
    assert "Enter a real date" in page
    assert response.context["board"].period == NOVEMBER
    future = client.get("/dashboard/", {"as_of": "2019-02-01"})
    assert "Choose a date no later than today" in future.content.decode()
    before = client.get("/dashboard/", {"period": "2018-11", "as_of": "2018-10-01"})
    assert "on or after the start of the month viewed" in before.content.decode()


# --- Queries -------------------------------------------------------------------------------


def dashboard_queries(client) -> list[int]:
    found = []
    for query in ("", "?period=2018-11&as_of=2018-12-12"):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/dashboard/{query}").status_code == 200
        found.append(len(queries))
    return found


def test_the_number_of_queries_does_not_grow_with_the_plan(client, viewer):
    """With 50 actions and with 500 (each with four months of updates and history), the
    dashboard and its "as of" view run the same number of queries."""
    client.force_login(viewer)
    found = {}
    for size in (50, 500):
        call_command(
            "generate_plan", actions=size, months=4, start_month="2018-09", seed=size, verbosity=0
        )
        assert Plan.objects.live().get().actions.count() == size
        found[size] = dashboard_queries(client)
    assert found[50] == found[500]
    assert max(found[500]) <= 24


def test_escalated_risks_as_they_stood_show_their_scores(client, viewer):
    """The risks of a past day are history rows: they are scored as the risks are."""
    client.force_login(viewer)
    now, _ = board_of(client, "?period=2019-01")
    then, page = board_of(client, "?period=2019-01&as_of=2019-01-09")
    assert then.from_history and then.escalated_risks == now.escalated_risks > 0
    for risk in then.risks:
        assert risk.score == risk.likelihood * risk.impact
        assert f"{risk.score} ({risk.likelihood} × {risk.impact})" in page
