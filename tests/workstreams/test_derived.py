"""Figures derived from the whole plan are cached until a committed change or a new day
(workstreams/derived.py). The suite runs with that cache off (tests/environment.py): here it
is on, and commits are what ``django_capture_on_commit_callbacks(execute=True)`` runs."""

import contextlib
import datetime
import re

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from governance.dashboard import _dashboard, dashboard, for_dashboard
from governance.models import ProgressReport
from tests.helpers import record, report_in_state
from workstreams import derived, services
from workstreams.derived import CHANGES, PAST_CHANGES, change_count
from workstreams.models import Action, ActionStatus, Finding, Plan, Rag
from workstreams.selectors import AsAt, brag_at_end_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def derived_cache(settings):
    settings.GRIP_DERIVED_CACHE_SECONDS = 600
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def board_plan(plan):
    """The plan as the dashboard's pages read it, with the days its board met."""
    return for_dashboard(Plan.objects.filter(pk=plan.pk), timezone.localdate()).get()


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


def test_a_request_reads_the_counts_of_changes_once(
    derived_cache, client, viewer, chair_mp, django_capture_on_commit_callbacks
):
    """The dashboard asks the count for its page, its figures and the past it keeps: one
    query, whether the figures are cached or worked out again after a change."""
    client.force_login(viewer)
    client.get("/dashboard/?period=2019-01")
    with django_capture_on_commit_callbacks(execute=True):
        record(Action.objects.get(plan__status="live", reference="MP-1.2"), chair_mp,
               status=ActionStatus.OFF_TRACK)  # fmt: skip
    for _ in range(2):  # worked out again, then cached
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/dashboard/?period=2019-01").status_code == 200
        counts_read = [
            query["sql"]
            for query in queries.captured_queries
            if "change_count" in query["sql"] or "changecount" in query["sql"]
        ]
        assert len(counts_read) == 1, counts_read


def test_a_change_committed_in_a_request_is_counted_for_the_rest_of_it(
    chair_mp, django_capture_on_commit_callbacks
):
    # The request's start and end as the signals mark them (sending the signals themselves
    # would also close the test's connection, as Django's test client avoids).
    derived._request_started()
    try:
        before = change_count()
        assert change_count() == before
        with django_capture_on_commit_callbacks(execute=True):
            record(Action.objects.get(plan__status="live", reference="MP-1.2"), chair_mp,
                   status=ActionStatus.OFF_TRACK)  # fmt: skip
        assert change_count() == before + 1
    finally:
        derived._request_finished()


def test_the_dashboard_is_read_from_the_cache_until_a_change_is_committed(
    derived_cache,
    plan,
    board_plan,
    chair_mp,
    django_capture_on_commit_callbacks,
    django_assert_num_queries,
):
    as_at = AsAt(today=datetime.date(2019, 1, 10), period=datetime.date(2019, 1, 1))
    first = dashboard(board_plan, as_at)
    with django_assert_num_queries(1):  # the count of changes, and nothing else
        again = dashboard(board_plan, as_at)
    assert red_in(again, "MP") == red_in(first, "MP")

    action = Action.objects.get(plan=plan, reference="MP-1.2")
    assert action.status == ActionStatus.ON_TRACK
    with django_capture_on_commit_callbacks(execute=True):
        record(action, chair_mp, status=ActionStatus.OFF_TRACK)

    after = dashboard(board_plan, as_at)
    assert red_in(after, "MP") == red_in(first, "MP") + 1
    assert red_in(after, "MP") == red_in(_dashboard(board_plan, as_at), "MP")


def test_a_new_day_is_worked_out_afresh(derived_cache, plan, board_plan, pinned_clock):
    """Overdue is judged on the day: the same records give other figures tomorrow."""
    action = Action.objects.get(plan=plan, reference="MP-1.2")
    due = action.current_due_date
    on_the_day = AsAt(today=due)
    day_after = AsAt(today=due + datetime.timedelta(days=1))
    assert action.status == ActionStatus.ON_TRACK
    cached_then, cached_after = dashboard(board_plan, on_the_day), dashboard(board_plan, day_after)
    assert red_in(cached_after, "MP") > red_in(cached_then, "MP")  # MP-1.2, and any due with it
    assert red_in(cached_after, "MP") == red_in(_dashboard(board_plan, day_after), "MP")


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


def test_a_cached_report_page_is_the_page_worked_out_afresh(
    client, settings, derived_cache, chair_mp
):
    """Each report of the reference plan, signed off or still open, as its chair sees it."""
    client.force_login(chair_mp)
    for report in ProgressReport.objects.filter(plan__status="live"):
        url = report.get_absolute_url()
        settings.GRIP_DERIVED_CACHE_SECONDS = 600
        missed, hit = page(client, url), page(client, url)
        settings.GRIP_DERIVED_CACHE_SECONDS = 0
        assert missed == hit == page(client, url), url


def count_on_report(response, rag: Rag) -> int:
    counts = response.content.decode().split('id="report-rag-counts"')[1].split("</ul>")[0]
    found = re.search(rf'data-rag="{rag.value}">.*?</strong> (\d+)</li>', counts, re.S)
    return int(found.group(1)) if found else 0


def test_a_report_page_shows_a_committed_change_at_once(
    client, derived_cache, chair_mp, django_capture_on_commit_callbacks
):
    """A report not yet signed off shows the live evidence: cached, it still shows a change
    on the next view. A signed-off report keeps its sealed picture."""
    live = ProgressReport.objects.filter(plan__status="live").exclude(
        status=ProgressReport.Status.SIGNED_OFF
    )
    report = live.filter(workstream__isnull=False).first()
    sealed = ProgressReport.objects.get(
        plan__status="live", status=ProgressReport.Status.SIGNED_OFF
    )
    client.force_login(chair_mp)
    before = count_on_report(client.get(report.get_absolute_url()), Rag.RED)
    assert count_on_report(client.get(report.get_absolute_url()), Rag.RED) == before  # cached
    sealed_before = page(client, sealed.get_absolute_url())
    action = report.workstream.actions.filter(status=ActionStatus.ON_TRACK).first()
    with django_capture_on_commit_callbacks(execute=True):
        record(action, action.lead_officer, status=ActionStatus.OFF_TRACK)
    assert count_on_report(client.get(report.get_absolute_url()), Rag.RED) == before + 1
    assert page(client, sealed.get_absolute_url()) == sealed_before


def test_a_signed_off_reports_snapshot_is_not_read_again_after_a_change(
    client, derived_cache, chair_mp, django_capture_on_commit_callbacks
):
    """Its sealed evidence is kept under the snapshot's checksum, not the count of changes:
    an update elsewhere does not make the page read the snapshot (1 MB at 5,000 actions)."""
    sealed = ProgressReport.objects.get(
        plan__status="live", status=ProgressReport.Status.SIGNED_OFF
    )
    client.force_login(chair_mp)
    first = page(client, sealed.get_absolute_url())
    action = Action.objects.filter(status=ActionStatus.ON_TRACK).first()
    with django_capture_on_commit_callbacks(execute=True):
        record(action, action.lead_officer, status=ActionStatus.OFF_TRACK)
    with CaptureQueriesContext(connection) as queries:
        again = page(client, sealed.get_absolute_url())
    assert again == first
    assert not [q for q in queries.captured_queries if '"snapshot"' in q["sql"]]


@contextlib.contextmanager
def committed(django_capture_on_commit_callbacks):
    """Run the block as if its transaction committed: its on-commit callbacks run and are
    then gone, as after a real commit, so that a later change in the test counts again (the
    test's own transaction never commits)."""
    connection = transaction.get_connection()
    start = len(connection.run_on_commit)
    with django_capture_on_commit_callbacks(execute=True):
        yield
    del connection.run_on_commit[start:]


def test_a_cached_comparison_of_two_months_shows_a_committed_change_at_once(
    client, settings, derived_cache, plan, lead_mp, django_capture_on_commit_callbacks
):
    with committed(django_capture_on_commit_callbacks):
        december = report_in_state(plan, "signed_off", period=datetime.date(2018, 12, 1))
        january = report_in_state(plan, "draft", period=datetime.date(2019, 1, 1))
    url = reverse("governance:report-compare", args=[january.pk])
    client.force_login(lead_mp)
    missed, hit = page(client, url), page(client, url)
    settings.GRIP_DERIVED_CACHE_SECONDS = 0
    assert missed == hit == page(client, url)
    settings.GRIP_DERIVED_CACHE_SECONDS = 600

    action = Action.objects.get(plan=plan, reference="MP-1.2")
    assert action.status == ActionStatus.ON_TRACK
    row = page(client, url).split('data-reference="MP-1.2"')[1].split("</tr>")[0]
    assert "Off track" not in row
    with committed(django_capture_on_commit_callbacks):
        record(action, lead_mp, status=ActionStatus.OFF_TRACK)
    row = page(client, url).split('data-reference="MP-1.2"')[1].split("</tr>")[0]
    assert "Off track" in row and "Changed" in row
    assert december.status == ProgressReport.Status.SIGNED_OFF


# --- The past ------------------------------------------------------------------------------


# The reference plan as the board saw it on 12 December 2018, looked at on 10 January 2019.
def as_it_stood() -> AsAt:
    return AsAt(
        today=datetime.date(2019, 1, 10),
        period=datetime.date(2018, 12, 1),
        as_of=datetime.date(2018, 12, 12),
    )


def both_counts() -> tuple[int, int]:
    return change_count(count=CHANGES), change_count(count=PAST_CHANGES)


def a_finding_recorded_in_the_past(plan) -> Finding:
    """A row loaded as a file loads it: its history dated on the day the file describes."""
    return services.create_if_missing(
        Finding,
        lookup={"plan": plan, "reference": "F-99"},
        values={"source": "A late report", "date": datetime.date(2018, 11, 1), "text": "Late."},
        recorded_at=datetime.datetime(2018, 11, 30, 12, tzinfo=datetime.UTC),
    )


def test_only_history_dated_by_its_writer_counts_as_a_change_to_the_past(
    plan, chair_mp, django_capture_on_commit_callbacks
):
    changes, past = both_counts()
    action = Action.objects.get(plan=plan, reference="MP-1.2")
    with committed(django_capture_on_commit_callbacks):
        record(action, chair_mp, status=ActionStatus.OFF_TRACK)  # recorded now
    assert both_counts() == (changes + 1, past)
    with committed(django_capture_on_commit_callbacks):
        a_finding_recorded_in_the_past(plan)
    assert both_counts() == (changes + 2, past + 1)
    with committed(django_capture_on_commit_callbacks):
        call_command("generate_plan", actions=5, months=1, seed=1, verbosity=0)
    assert both_counts() > (changes + 2, past + 1)
    assert both_counts()[1] > past + 1


def test_the_plan_as_it_stood_is_worked_out_again_only_when_the_past_is_written(
    derived_cache, settings, plan, board_plan, chair_mp, django_capture_on_commit_callbacks
):
    """A past day's figures come from history before it, which a change made now never
    touches: they are kept through such changes, and worked out again once history is
    written in the past."""
    stood = dashboard(board_plan, as_it_stood())
    assert stood.from_history and stood.programme.rag.total == 28
    # A change no service makes: an action's history gone, as if it had never been.
    gone = Action.objects.get(plan=plan, reference="MP-1.2")
    Action.history.filter(id=gone.pk).delete()
    with committed(django_capture_on_commit_callbacks):
        record(Action.objects.get(plan=plan, reference="MP-1.3"), chair_mp, status="at_risk")
    kept = dashboard(board_plan, as_it_stood())
    assert kept is not stood  # worked out again for the change, but not its past
    assert kept.programme.rag.total == 28
    settings.GRIP_DERIVED_CACHE_SECONDS = 0
    assert dashboard(board_plan, as_it_stood()).programme.rag.total == 27
    settings.GRIP_DERIVED_CACHE_SECONDS = 600
    with committed(django_capture_on_commit_callbacks):
        a_finding_recorded_in_the_past(plan)
    assert dashboard(board_plan, as_it_stood()).programme.rag.total == 27


def changes_of(board) -> list[tuple]:
    return [(c.action.reference, c.before, c.after, c.only_time_passed) for c in board.changes]


def listed_references(client, url) -> list[str]:
    return re.findall(r'<tr [^>]*data-reference="([^"]+)"', client.get(url).content.decode())


def test_brag_at_the_last_board_is_kept_as_the_past_and_agrees_with_the_history(
    derived_cache,
    settings,
    client,
    viewer,
    plan,
    board_plan,
    chair_mp,
    django_capture_on_commit_callbacks,
):
    """What changed since the last board reads each action's BRAG at that board from the
    cache (the ids in each state, the past) where it can: the same changes, on the dashboard
    and on the list its count links to, as the history gives; kept through changes made now,
    read again once history is written in the past."""
    client.force_login(viewer)
    with committed(django_capture_on_commit_callbacks):
        record(Action.objects.get(plan=plan, reference="MP-1.2"), chair_mp, status="off_track")
    january = AsAt(today=datetime.date(2019, 1, 10), period=datetime.date(2019, 1, 1))
    board = dashboard(board_plan, january)
    assert brag_at_end_of(board.baseline.day) is not None  # read from the cache
    assert ("MP-1.2", Rag.GREEN, Rag.RED, False) in changes_of(board)
    listed = listed_references(client, board.changed.url)
    settings.GRIP_DERIVED_CACHE_SECONDS = 0
    assert brag_at_end_of(board.baseline.day) is None  # read from the history
    assert changes_of(_dashboard(board_plan, january)) == changes_of(board)
    assert (
        listed_references(client, board.changed.url)
        == listed
        == sorted(reference for reference, *_ in changes_of(board))
    )

    # A change no service makes: the history of an action unchanged since the board gone.
    settings.GRIP_DERIVED_CACHE_SECONDS = 600
    unchanged = Action.objects.get(plan=plan, reference="MP-1.6")
    assert "MP-1.6" not in listed
    Action.history.filter(id=unchanged.pk).delete()
    with committed(django_capture_on_commit_callbacks):
        record(Action.objects.get(plan=plan, reference="MP-1.3"), chair_mp, status="at_risk")
    kept = changes_of(dashboard(board_plan, january))
    assert "MP-1.6" not in [change[0] for change in kept]  # the past kept
    with committed(django_capture_on_commit_callbacks):
        a_finding_recorded_in_the_past(plan)
    assert ("MP-1.6", None) in [c[:2] for c in changes_of(dashboard(board_plan, january))]
