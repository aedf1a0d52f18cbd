"""Figures derived from the whole plan are cached until a committed change or a new day
(workstreams/derived.py). The suite runs with that cache off (tests/environment.py): here it
is on, and commits are what ``django_capture_on_commit_callbacks(execute=True)`` runs."""

import datetime
import re

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import transaction

from governance.dashboard import _dashboard, dashboard
from tests.helpers import record
from workstreams.derived import change_count
from workstreams.models import Action, ActionStatus, Rag
from workstreams.selectors import AsAt

pytestmark = pytest.mark.django_db


@pytest.fixture
def derived_cache(settings):
    settings.GRIP_DERIVED_CACHE_SECONDS = 600
    cache.clear()
    yield
    cache.clear()


def counting(callbacks) -> list:
    return [callback for callback in callbacks if getattr(callback, "counts_changes", False)]


def page(client, url) -> str:
    """The page, without the sign-out form's CSRF token, which differs each time."""
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", client.get(url).content.decode())


def red_in(board, code: str) -> int:
    row = next(row for row in board.delivery if row.workstream.code == code)
    return next(cell.count for cell in row.rag.counts if cell.rag == Rag.RED)


def test_a_committed_change_counts_once_however_many_rows_it_writes(
    chair_mp, django_capture_on_commit_callbacks
):
    action = Action.objects.get(plan__status="live", reference="MP-1.2")
    before = change_count()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        record(action, chair_mp, status=ActionStatus.OFF_TRACK)  # the action and its update
    assert len(counting(callbacks)) == 1
    assert change_count() == before + 1


def test_a_rolled_back_change_does_not_count(chair_mp, django_capture_on_commit_callbacks):
    action = Action.objects.get(plan__status="live", reference="MP-1.2")
    before = change_count()
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        record(action, chair_mp, status=ActionStatus.OFF_TRACK)
        raise RuntimeError("the request failed after the update")
    assert counting(callbacks) == []
    assert change_count() == before


def test_a_command_that_writes_in_bulk_counts_its_changes(django_capture_on_commit_callbacks):
    before = change_count()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("generate_plan", actions=5, months=1, seed=1, verbosity=0)
    assert change_count() > before


def test_the_dashboard_is_read_from_the_cache_until_a_change_is_committed(
    derived_cache, plan, chair_mp, django_capture_on_commit_callbacks, django_assert_num_queries
):
    as_at = AsAt(today=datetime.date(2019, 1, 10), period=datetime.date(2019, 1, 1))
    first = dashboard(plan, as_at)
    with django_assert_num_queries(1):  # the count of changes, and nothing else
        again = dashboard(plan, as_at)
    assert red_in(again, "MP") == red_in(first, "MP")

    action = Action.objects.get(plan=plan, reference="MP-1.2")
    assert action.status == ActionStatus.ON_TRACK
    with django_capture_on_commit_callbacks(execute=True):
        record(action, chair_mp, status=ActionStatus.OFF_TRACK)

    after = dashboard(plan, as_at)
    assert red_in(after, "MP") == red_in(first, "MP") + 1
    assert red_in(after, "MP") == red_in(_dashboard(plan, as_at), "MP")


def test_a_new_day_is_worked_out_afresh(derived_cache, plan, pinned_clock):
    """Overdue is judged on the day: the same records give other figures tomorrow."""
    action = Action.objects.get(plan=plan, reference="MP-1.2")
    due = action.current_due_date
    on_the_day = AsAt(today=due)
    day_after = AsAt(today=due + datetime.timedelta(days=1))
    assert action.status == ActionStatus.ON_TRACK
    cached_then, cached_after = dashboard(plan, on_the_day), dashboard(plan, day_after)
    assert red_in(cached_after, "MP") > red_in(cached_then, "MP")  # MP-1.2, and any due with it
    assert red_in(cached_after, "MP") == red_in(_dashboard(plan, day_after), "MP")


@pytest.mark.parametrize(
    ("username", "url"),
    [
        ("board.member", "/dashboard/"),
        ("board.member", "/dashboard/?period=2018-11&as_of=2018-12-12"),
        ("office", "/"),
        ("sro.mp", "/"),
    ],
)
def test_a_cached_page_is_the_page_worked_out_afresh(
    client, settings, derived_cache, username, url, django_user_model
):
    client.force_login(django_user_model.objects.get(username=username))
    missed, hit = page(client, url), page(client, url)
    settings.GRIP_DERIVED_CACHE_SECONDS = 0
    assert missed == hit == page(client, url)


def red_on_page(response, code: str) -> int:
    row = response.content.decode().split(f'data-workstream="{code}"')[1].split("</tr>")[0]
    return int(re.search(r'data-rag="red".*?<a [^>]*>(\d+)', row, re.S).group(1))


def test_the_dashboard_page_shows_a_committed_change_at_once(
    client, derived_cache, board_member, chair_mp, django_capture_on_commit_callbacks
):
    """The page is cached as rendered: a change must show on the next view all the same."""
    client.force_login(board_member)
    url = "/dashboard/?period=2019-01"
    before = red_on_page(client.get(url), "MP")
    assert red_on_page(client.get(url), "MP") == before  # read from the cache
    action = Action.objects.get(plan__status="live", reference="MP-1.2")
    with django_capture_on_commit_callbacks(execute=True):
        record(action, chair_mp, status=ActionStatus.OFF_TRACK)
    assert red_on_page(client.get(url), "MP") == before + 1
