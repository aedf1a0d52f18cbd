"""My work: what needs the signed-in user's update or decision this period."""

import datetime

import pytest
from django.utils import timezone

from governance.selectors import MY_WORK_ROWS, my_work
from tests.workstreams.test_views import add_actions, form_data, update_url
from workstreams.models import Action, ActionUpdate

pytestmark = pytest.mark.django_db


def references(shortlist):
    return {a.reference for a in shortlist.rows}


def test_a_lead_sees_only_their_own_open_actions(plan, lead_mp):
    work = my_work(lead_mp, plan)
    shown = references(work.overdue) | references(work.due_soon) | references(work.needs_update)
    own_open = set(
        plan.actions.filter(lead_officer=lead_mp)
        .exclude(status__in=["complete", "closed"])
        .values_list("reference", flat=True)
    )
    assert shown == own_open
    assert not work.chaired_workstreams and not work.due_date_requests


def test_the_lists_do_not_overlap_and_say_what_they_hold(plan, chair_mp):
    today = timezone.localdate()
    work = my_work(chair_mp, plan, today)
    overdue, soon, rest = (references(x) for x in (work.overdue, work.due_soon, work.needs_update))
    assert overdue and not (overdue & soon) and not (overdue & rest) and not (soon & rest)
    for action in work.overdue.rows:
        assert action.current_due < today and action.workstream.code == "MP"
    assert [row.workstream.code for row in work.chaired_workstreams] == ["MP"]


def test_an_update_this_month_takes_an_action_off_the_no_update_list(client, plan, lead_mp):
    future = timezone.localdate() + datetime.timedelta(days=90)
    action = plan.actions.filter(lead_officer=lead_mp).exclude(status="complete").first()
    action.due_date = future
    action.save()
    assert action.reference in references(my_work(lead_mp, plan).needs_update)
    client.force_login(lead_mp)
    row = client.get("/").content.decode().split(f'data-reference="{action.reference}"')[1]
    row = row.split("</tr>")[0]
    assert f'href="/actions/{action.reference}/"' in row
    assert f'href="/actions/{action.reference}/update/"' in row
    fresh = Action.objects.get(pk=action.pk)
    assert client.post(update_url(fresh), form_data(fresh)).status_code == 302
    assert ActionUpdate.objects.filter(action=action).exists()
    assert action.reference not in references(my_work(lead_mp, plan).needs_update)


def test_a_long_list_shows_its_first_rows_and_links_to_the_rest(client, plan, office):
    add_actions(plan, MY_WORK_ROWS + 15)
    work = my_work(office, plan)
    longest = max((work.overdue, work.due_soon, work.needs_update), key=lambda s: s.total)
    assert longest.cut and len(longest.rows) == MY_WORK_ROWS
    client.force_login(office)
    page = client.get("/").content.decode()
    assert f"Showing the first {MY_WORK_ROWS} of {longest.total}" in page
    assert longest.all_url.replace("&", "&amp;") in page


def test_readers_see_the_plan_at_a_glance(client, viewer):
    client.force_login(viewer)
    page = client.get("/").content.decode()
    assert "The plan at a glance" in page
    assert "/update/" not in page  # nothing to update is offered


def test_waiting_for_your_decision_links_to_the_decision(client, plan, lead_mp, chair_mp):
    import re

    from tests.helpers import record

    action = plan.actions.filter(lead_officer=lead_mp, status="on_track").first()
    later = action.current_due_date + datetime.timedelta(days=20)
    record(action, lead_mp, revised_due_date=later, due_date_reason="Trainer unavailable.")
    client.force_login(chair_mp)
    home = client.get("/").content.decode()
    link = f"/actions/{action.reference}/#pending-due-date"
    assert link in home
    page = client.get(link.split("#")[0]).content.decode()
    decision = re.search(r'id="pending-due-date".*?</form>', page, re.S)
    assert decision and f"/actions/{action.reference}/due-date/" in decision.group(0)
    assert "Approve the new date" in decision.group(0)
