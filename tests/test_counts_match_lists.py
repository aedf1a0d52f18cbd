"""Every number on a page equals the rows of the list it links to (issue: "counts tell the
truth"). The pages' counts, the action list's filter and every badge come from one BRAG rule
(``ActionQuerySet.with_rag``); these tests follow each count's link and count the rows."""

import datetime
import html
import re
from zoneinfo import ZoneInfo

import pytest

from governance.selectors import my_work
from tests.helpers import DEMO_USERNAMES
from workstreams.models import Rag

pytestmark = pytest.mark.django_db

# A count that links to the action list: <a ... href="/actions/?...">12<span ...
COUNT_LINK = re.compile(r'<a class="govuk-link" href="(/actions/[^"]*)">\s*(?:See all )?(\d+)')
RESULT_COUNT = re.compile(r'id="result-count"[^>]*>\s*(\d+) action')
ROW_REFERENCE = re.compile(r'data-reference="([^"]+)"')

# The tests' own day (a mix of overdue, due soon and later actions) and a day long after the
# plan ended, when every open action is overdue: the counts must hold on both.
DAYS = {
    "in the plan's year": None,
    "years later": datetime.datetime(2026, 11, 25, 9, 0, tzinfo=ZoneInfo("Europe/London")),
}


@pytest.fixture(params=list(DAYS), ids=list(DAYS))
def day(request, pinned_clock):
    if DAYS[request.param] is not None:
        pinned_clock.move_to(DAYS[request.param])
    return request.param


def listed_count(client, url) -> int:
    page = client.get(url, {"page": 1} if "?" not in url else None)
    assert page.status_code == 200, url
    found = RESULT_COUNT.search(page.content.decode())
    assert found, f"{url} shows no result count"
    return int(found.group(1))


def links_with_counts(client, path) -> list[tuple[str, int]]:
    page = client.get(path)
    assert page.status_code == 200
    return [(html.unescape(url), int(n)) for url, n in COUNT_LINK.findall(page.content.decode())]


@pytest.mark.parametrize("username", sorted(DEMO_USERNAMES))
def test_every_count_on_my_work_equals_the_list_it_links_to(client, day, username, plan):
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.get(username=username))
    counts = links_with_counts(client, "/")
    # Every workstream's row and the total row: 4 × (7 states + all) + 8 at the least.
    assert len(counts) >= (plan.workstreams.count() + 1) * (len(Rag) + 1)
    for url, shown in counts:
        assert listed_count(client, url) == shown, url


@pytest.mark.parametrize("code", ["MP", "WF", "PA", "PL"])
def test_every_count_on_a_workstream_page_equals_its_list(client, day, viewer, code):
    client.force_login(viewer)
    counts = links_with_counts(client, f"/workstreams/{code}/")
    assert len(counts) == len(Rag) + 1
    for url, shown in counts:
        assert listed_count(client, url) == shown, url
    # The page's own table shows every one of the workstream's actions once.
    page = client.get(f"/workstreams/{code}/").content.decode()
    assert len(ROW_REFERENCE.findall(page)) == dict(counts)[f"/actions/?workstream={code}"]


def test_the_badges_agree_with_the_counts(client, day, viewer, plan):
    """A list filtered to one state shows only badges of that state: an overdue action is
    off track, never on track."""
    client.force_login(viewer)
    for rag in Rag:
        page = client.get("/actions/", {"status": rag.value}).content.decode()
        badges = re.findall(r'class="govuk-tag grip-rag [^"]*">([^<]+)<', page)
        expected = {a.reference for a in plan.actions.all() if a.rag == rag}
        assert set(ROW_REFERENCE.findall(page)) == expected
        assert all(badge.split(":")[0] == rag.label for badge in badges), (rag, badges)


def test_status_sorts_by_severity_not_by_name(client, day, viewer, plan):
    client.force_login(viewer)
    page = client.get("/actions/", {"sort": "status"}).content.decode()
    order = [plan.actions.get(reference=r).rag.severity for r in ROW_REFERENCE.findall(page)]
    assert order == sorted(order) and len(set(order)) > 1


# sro.wf chairs a workstream with an action awaiting acceptance of its evidence.
@pytest.mark.parametrize("username", ["office", "sro.mp", "sro.wf", "lead.mp", "lead.pl"])
def test_my_work_see_all_links_reproduce_their_lists(client, day, username, plan):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(username=username)
    client.force_login(user)
    work = my_work(user, plan)
    assert bool(work.awaiting_evidence) == (username == "sro.wf")
    for shortlist in (work.overdue, work.due_soon, work.needs_update, *work.awaiting_evidence):
        page = client.get(shortlist.all_url).content.decode()
        assert int(RESULT_COUNT.search(page).group(1)) == shortlist.total, shortlist.all_url
        assert {a.reference for a in shortlist.rows} <= set(ROW_REFERENCE.findall(page))
        if not shortlist.cut:
            assert {a.reference for a in shortlist.rows} == set(ROW_REFERENCE.findall(page))


@pytest.fixture
def large_plan(db):
    """A live plan with more open actions per list than My work shows (generate_plan closes
    the reference plan), judged on a day inside its months."""
    from django.core.management import call_command

    call_command("generate_plan", actions=240, months=3, seed=7, verbosity=0)
    from workstreams.models import Plan

    return Plan.objects.live().get()


def test_my_work_shows_the_first_due_of_long_lists_and_counts_them_all(client, large_plan):
    from django.contrib.auth import get_user_model

    from governance.selectors import MY_WORK_ROWS

    office = get_user_model().objects.get(username="office")
    client.force_login(office)
    work = my_work(office, large_plan)
    assert any(shortlist.cut for shortlist in (work.overdue, work.due_soon, work.needs_update))
    for shortlist in (work.overdue, work.due_soon, work.needs_update):
        listed = []
        for number in range(1, 20):
            page = client.get(f"{shortlist.all_url}&page={number}").content.decode()
            listed += ROW_REFERENCE.findall(page)
            if f'aria-label="Page {number + 1}"' not in page:
                break
        assert len(listed) == shortlist.total
        assert len(shortlist.rows) == min(MY_WORK_ROWS, shortlist.total)
        shown = [(a.current_due, a.reference) for a in shortlist.rows]
        assert shown == sorted(shown)
        rest = large_plan.actions.filter(reference__in=set(listed)).exclude(
            reference__in=[a.reference for a in shortlist.rows]
        )
        if shown:  # the first due are shown: none left out is due before the last shown
            assert all(a.current_due_date >= shown[-1][0] for a in rest)
    # Every action on the "no update" list has none, and so may overdue and due-soon ones.
    assert work.without_update_count >= work.needs_update.total


def test_the_workstream_page_lists_its_actions_a_page_at_a_time(client, large_plan, viewer):
    client.force_login(viewer)
    workstream = large_plan.workstreams.order_by("code").first()
    expected = set(workstream.actions.values_list("reference", flat=True))
    assert len(expected) > 25
    seen = []
    for number in range(1, 20):
        response = client.get(f"/workstreams/{workstream.code}/", {"page": number})
        page = response.content.decode()
        rows = ROW_REFERENCE.findall(page)
        assert 0 < len(rows) <= 25
        seen += rows
        assert f"{len(expected)} actions, in priority order" in page
        if 'rel="next"' not in page:
            break
    assert len(seen) == len(set(seen)) == len(expected) and set(seen) == expected
    # The status counts are the whole workstream's, on every page.
    total = re.search(r'href="/actions/\?workstream=' + workstream.code + r'">\s*(\d+)', page)
    assert total and int(total.group(1)) == len(expected)
