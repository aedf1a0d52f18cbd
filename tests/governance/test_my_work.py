"""My work: what needs the signed-in user's update or decision this period."""

import datetime
import re

import pytest
from django.utils import timezone

from governance.selectors import MY_WORK_ROWS, my_work
from tests.test_counts_match_lists import listed_count
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


def awaiting_evidence(plan, code):
    return plan.actions.filter(
        workstream__code=code, status="complete", evidence_accepted_at__isnull=True
    )


def test_a_chair_sees_the_first_evidence_to_accept_and_a_link_to_all_of_it(client, plan, chair_mp):
    """Completed actions waiting for the chair to accept their evidence of impact: the first
    MY_WORK_ROWS by reference, with how many in all and the list of exactly those. A chair
    of 5,000 actions once had every one of them on the page."""
    added = add_actions(plan, MY_WORK_ROWS + 5)
    Action.objects.filter(pk__in=[a.pk for a in added]).update(
        status="complete", evidence_of_impact="Audit shows the change."
    )
    waiting = awaiting_evidence(plan, "MP")
    work = my_work(chair_mp, plan)
    [shortlist] = work.awaiting_evidence
    assert shortlist.total == waiting.count() > MY_WORK_ROWS
    first = sorted(waiting.values_list("reference", flat=True))[:MY_WORK_ROWS]
    assert [a.reference for a in shortlist.rows] == first
    assert shortlist.caption == "Complete, with evidence of impact to accept"
    client.force_login(chair_mp)
    page = client.get("/").content.decode()
    caption = "Complete, with evidence of impact to accept</caption>"
    table = re.search(caption + ".*?</table>", page, re.S)
    assert re.findall(r'data-reference="([^"]+)"', table.group(0)) == first
    assert "/update/" not in table.group(0)  # the decision is on the action's page
    assert f"Showing the first {MY_WORK_ROWS} of {shortlist.total}" in page
    assert shortlist.all_url.replace("&", "&amp;") in page
    assert listed_count(client, shortlist.all_url) == shortlist.total


def test_a_chair_of_two_workstreams_sees_the_evidence_to_accept_in_each(plan, chair_mp):
    from governance.models import Membership

    Membership.objects.filter(body__workstream__code="WF", role="chair").update(user=chair_mp)
    for code in ("MP", "WF"):
        action = plan.actions.filter(workstream__code=code, status="on_track").first()
        Action.objects.filter(pk=action.pk).update(
            status="complete", evidence_of_impact="Audit shows the change."
        )
    lists = my_work(chair_mp, plan).awaiting_evidence
    assert [shortlist.caption for shortlist in lists] == [
        f"Complete, with evidence of impact to accept: {code}, {name}"
        for code, name in plan.workstreams.filter(code__in=["MP", "WF"])
        .order_by("code")
        .values_list("code", "name")
    ]
    for shortlist, code in zip(lists, ["MP", "WF"], strict=True):
        waiting = awaiting_evidence(plan, code)
        assert shortlist.total == waiting.count() == len(shortlist.rows)
        assert {a.reference for a in shortlist.rows} == set(
            waiting.values_list("reference", flat=True)
        )
        assert shortlist.all_url == f"/actions/?workstream={code}&status=awaiting_evidence"
