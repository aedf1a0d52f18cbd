"""Due dates have sane limits, and a monthly update says something new (issue 6, items 4-5).

The clock is pinned (tests/conftest.py) to 10 January 2019; the reference plan ends on
31 March 2019 and a due date may move at most GRIP_DUE_DATE_MARGIN_DAYS beyond that.
"""

import datetime
import importlib

import pytest
from django.apps import apps as django_apps
from django.core.exceptions import ValidationError

from tests.helpers import record, unchanged
from tests.workstreams.test_views import form_data, update_url
from workstreams import services
from workstreams.models import Action, DueDateChange
from workstreams.selectors import action_rows, slips_of

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2019, 1, 10)


def move(action, by, new_date, reason="Reason."):
    return record(action, by, revised_due_date=new_date, due_date_reason=reason)


@pytest.mark.parametrize(
    "new_date, message",
    [
        (datetime.date(9999, 12, 31), "on or before"),
        (datetime.date(1, 1, 1), "today"),
        (datetime.date(2000, 1, 1), "today"),
        (TODAY - datetime.timedelta(days=1), "today"),
        (datetime.date(2020, 4, 1), "on or before 30 March 2020"),
    ],
)
def test_a_due_date_out_of_reason_is_refused_and_changes_nothing(
    action_mp, chair_mp, lead_mp, new_date, message
):
    for who in (chair_mp, lead_mp):
        before = unchanged(action_mp)
        with pytest.raises(ValidationError, match=message):
            move(action_mp, who, new_date)
        assert unchanged(action_mp) == before


def test_the_limits_follow_the_plan_and_the_setting(action_mp, chair_mp, settings):
    settings.GRIP_DUE_DATE_MARGIN_DAYS = 10
    assert services.due_date_limits(action_mp, TODAY) == (TODAY, datetime.date(2019, 4, 10))
    with pytest.raises(ValidationError, match="within 10 days of the plan's end"):
        move(action_mp, chair_mp, datetime.date(2019, 4, 11))
    move(action_mp, chair_mp, datetime.date(2019, 4, 10))
    action_mp.refresh_from_db()
    assert action_mp.revised_due_date == datetime.date(2019, 4, 10)


def test_bringing_a_date_forward_is_allowed_and_never_a_slip(action_mp, chair_mp):
    earlier = action_mp.current_due_date - datetime.timedelta(days=10)
    assert earlier >= TODAY
    move(action_mp, chair_mp, earlier, "Finished sooner than planned.")
    row = action_rows(type(action_mp).objects.filter(pk=action_mp.pk)).get()
    assert row.current_due == earlier
    assert row.slip_count == 0
    assert not action_mp.due_date_changes.get().is_slip


def test_a_chairs_own_move_settles_a_pending_request(action_mp, lead_mp, chair_mp):
    asked = action_mp.current_due_date + datetime.timedelta(days=30)
    move(action_mp, lead_mp, asked, "Waiting for HR.")
    request = action_mp.due_date_changes.get(decision=DueDateChange.Decision.PENDING)
    action_mp.refresh_from_db()
    chairs_date = action_mp.current_due_date + datetime.timedelta(days=14)
    move(action_mp, chair_mp, chairs_date, "Agreed at task group.")
    request.refresh_from_db()
    assert request.decision == DueDateChange.Decision.REJECTED
    assert request.decided_by == chair_mp
    assert "own move of the due date" in request.decision_comment
    # Approving the old request later cannot overwrite the chair's date.
    with pytest.raises(ValidationError, match="already been decided"):
        services.due_date_change_decide(change=request, by=chair_mp, approve=True)
    action_mp.refresh_from_db()
    assert action_mp.revised_due_date == chairs_date


def test_a_request_for_a_date_now_past_cannot_be_approved(
    action_mp, lead_mp, chair_mp, pinned_clock
):
    asked = TODAY + datetime.timedelta(days=5)
    move(action_mp, lead_mp, asked, "Short delay.")
    request = action_mp.due_date_changes.get()
    pinned_clock.move_to(datetime.datetime(2019, 1, 20, 10, 0))
    before = unchanged(action_mp)
    with pytest.raises(ValidationError, match="today"):
        services.due_date_change_decide(change=request, by=chair_mp, approve=True)
    assert unchanged(action_mp) == before


@pytest.mark.parametrize(
    "day, month, year, expected",
    [
        ("31", "02", "2019", "Enter a real date, for example 31 3 2019"),
        ("ab", "3", "2019", "Enter the date as numbers, for example 31 3 2019"),
        ("1", "1", "19", "Enter the year as 4 digits, for example 2019"),
    ],
)
def test_a_wrong_date_gives_one_error(client, action_mp, lead_mp, day, month, year, expected):
    client.force_login(lead_mp)
    before = unchanged(action_mp)
    data = form_data(
        action_mp,
        revised_due_date_0=day,
        revised_due_date_1=month,
        revised_due_date_2=year,
        due_date_reason="The supplier is late.",
    )
    page = client.post(update_url(action_mp), data)
    assert page.status_code == 200
    errors = page.context["form"].errors
    assert list(errors) == ["revised_due_date"]
    assert errors["revised_due_date"] == [expected]
    assert unchanged(action_mp) == before


def test_the_form_shows_last_months_words_but_does_not_prefill_them(client, action_mp, lead_mp):
    record(action_mp, lead_mp, progress_narrative="Seminar held; 40 managers attended.")
    action_mp.refresh_from_db()
    client.force_login(lead_mp)
    page = client.get(update_url(action_mp))
    assert page.context["form"]["progress_narrative"].value() in (None, "")
    assert "Seminar held; 40 managers attended." in page.content.decode()  # for reference


def test_saving_last_months_words_again_is_refused(client, action_mp, lead_mp):
    record(action_mp, lead_mp, progress_narrative="Seminar held; 40 managers attended.")
    action_mp.refresh_from_db()
    client.force_login(lead_mp)
    before = unchanged(action_mp)
    page = client.post(
        update_url(action_mp),
        form_data(action_mp, progress_narrative="Seminar held; 40 managers attended.  "),
    )
    assert page.status_code == 200
    assert "same as the last update" in page.content.decode()
    assert unchanged(action_mp) == before
    # An empty narrative is refused too: the field starts empty, so Save alone says nothing.
    page = client.post(update_url(action_mp), form_data(action_mp, progress_narrative=""))
    assert page.status_code == 200 and unchanged(action_mp) == before


def slip_counts(action):
    """The action's slip count now, and on each of its history rows, oldest first."""
    action.refresh_from_db()
    rows = action.history.order_by("history_date", "history_id")
    return action.slip_count, [row.slip_count for row in rows]


def test_the_action_keeps_count_of_its_slips_as_they_are_decided(action_mp, lead_mp, chair_mp):
    def pending():
        return action_mp.due_date_changes.get(decision=DueDateChange.Decision.PENDING)

    later = action_mp.current_due_date + datetime.timedelta(days=30)
    move(action_mp, lead_mp, later, "Waiting for HR.")
    assert slip_counts(action_mp)[0] == 0  # asked for, not decided
    services.due_date_change_decide(change=pending(), by=chair_mp, approve=True)
    assert slip_counts(action_mp)[0] == 1
    action_mp.refresh_from_db()
    move(action_mp, lead_mp, later + datetime.timedelta(days=30), "Still waiting.")
    services.due_date_change_decide(
        change=pending(), by=chair_mp, approve=False, comment="Keep to the date."
    )
    assert slip_counts(action_mp)[0] == 1  # refused: no slip
    action_mp.refresh_from_db()
    move(action_mp, chair_mp, later - datetime.timedelta(days=5), "Finished sooner.")
    assert slip_counts(action_mp)[0] == 1  # brought forward: no slip
    action_mp.refresh_from_db()
    move(action_mp, chair_mp, later + datetime.timedelta(days=20), "Agreed at task group.")
    count, history = slip_counts(action_mp)
    assert count == 2 == slips_of(Action.objects.filter(pk=action_mp.pk)).count()
    assert action_rows(Action.objects.filter(pk=action_mp.pk)).get().slip_count == 2
    # Each history row carries the count as it stood: what the plan as it stood reads.
    assert history == sorted(history) and set(history) == {0, 1, 2}
    # A chair's own move to the date a waiting request asked for grants it: both are
    # approved moves, both counted, as slips_of counts them.
    asked = later + datetime.timedelta(days=40)
    move(action_mp, lead_mp, asked, "Waiting for HR again.")
    action_mp.refresh_from_db()
    move(action_mp, chair_mp, asked, "Agreed at task group.")
    assert (
        slip_counts(action_mp)[0] == 4 == slips_of(Action.objects.filter(pk=action_mp.pk)).count()
    )


def test_the_migration_counts_the_slips_decided_before_it(action_mp, chair_mp, pinned_clock):
    move(action_mp, chair_mp, action_mp.current_due_date + datetime.timedelta(days=10))
    pinned_clock.shift(datetime.timedelta(days=1))
    action_mp.refresh_from_db()
    move(action_mp, chair_mp, action_mp.current_due_date + datetime.timedelta(days=10))
    kept = slip_counts(action_mp)
    assert kept[0] == 2 and set(kept[1]) == {0, 1, 2}
    Action.objects.update(slip_count=0)
    Action.history.model.objects.update(slip_count=0)

    migration = importlib.import_module("workstreams.migrations.0012_action_slip_count")
    migration.count_slips(django_apps, schema_editor=None)

    assert slip_counts(action_mp) == kept


def update_months(action):
    """The month of the action's latest update now, and on each of its history rows."""
    action.refresh_from_db()
    rows = action.history.order_by("history_date", "history_id")
    return action.last_update_period, [row.last_update_period for row in rows]


def updated_this_month(action, today):
    return action_rows(Action.objects.filter(pk=action.pk), today).get().updated_this_period


def test_the_action_keeps_the_month_of_its_latest_update(action_mp, lead_mp, pinned_clock):
    january, february = datetime.date(2019, 1, 1), datetime.date(2019, 2, 1)
    first, rows_before = update_months(action_mp)
    assert first is None and set(rows_before) == {None}
    assert not updated_this_month(action_mp, TODAY)

    record(action_mp, lead_mp)
    action_mp.refresh_from_db()
    record(action_mp, lead_mp)  # a second update in the month keeps the month
    assert update_months(action_mp) == (january, rows_before + [january, january])
    assert updated_this_month(action_mp, TODAY)
    # Next month it needs its update again, until it has one.
    pinned_clock.shift(datetime.timedelta(days=31))
    assert not updated_this_month(action_mp, TODAY + datetime.timedelta(days=31))
    action_mp.refresh_from_db()
    record(action_mp, lead_mp)
    assert update_months(action_mp) == (february, rows_before + [january, january, february])
    assert [update.period for update in action_mp.updates.order_by("created_at")] == [
        january,
        january,
        february,
    ]


def test_the_migration_reads_the_month_of_each_rows_latest_update(
    action_mp, lead_mp, chair_mp, pinned_clock
):
    record(action_mp, lead_mp)
    pinned_clock.shift(datetime.timedelta(days=31))
    action_mp.refresh_from_db()
    record(action_mp, chair_mp, status="at_risk")
    pinned_clock.shift(datetime.timedelta(days=1))
    action_mp.refresh_from_db()
    # A save with no update after them: its row keeps the month of the last one.
    services.action_plan_change(
        action=action_mp, by=chair_mp, based_on_version=action_mp.version, title="Renamed."
    )
    kept = update_months(action_mp)
    assert kept[0] == datetime.date(2019, 2, 1) and kept[1][-1] == kept[1][-2] == kept[0]
    Action.objects.update(last_update_period=None)
    Action.history.model.objects.update(last_update_period=None)

    migration = importlib.import_module("workstreams.migrations.0014_action_last_update_period")
    migration.keep_update_months(django_apps, schema_editor=None)

    assert update_months(action_mp) == kept
