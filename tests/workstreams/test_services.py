"""Keeping actions up to date: the rules of the update, the due date and the evidence."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from governance.roles import forget_roles
from tests.helpers import record, unchanged
from workstreams import services
from workstreams.models import Action, DueDateChange, Rag

pytestmark = pytest.mark.django_db


def test_an_update_changes_the_action_and_records_who_in_one_go(action_mp, lead_mp):
    version = action_mp.version
    update = record(action_mp, lead_mp, status="at_risk", progress_narrative="Slipping.")
    action_mp.refresh_from_db()
    assert action_mp.status == "at_risk"
    assert action_mp.progress_narrative == "Slipping."
    assert action_mp.version == version + 1
    assert update.created_by == lead_mp
    assert update.period == timezone.localdate().replace(day=1)
    assert action_mp.history.latest().history_user == lead_mp


@pytest.mark.parametrize("who", ["lead_wf", "viewer", "board_chair", "chair_wf"])
def test_someone_who_may_not_update_is_refused_and_nothing_changes(request, action_mp, who):
    user = request.getfixturevalue(who)
    before = unchanged(action_mp)
    with pytest.raises(PermissionDenied):
        record(action_mp, user, status="off_track")
    assert unchanged(action_mp) == before


def test_a_lead_updates_only_their_own_actions(plan, lead_mp):
    other = plan.actions.filter(workstream__code="MP").exclude(lead_officer=lead_mp).first()
    with pytest.raises(PermissionDenied):
        record(other, lead_mp)


def test_a_stale_version_is_refused_and_says_what_changed(action_mp, lead_mp, chair_mp):
    opened_version = action_mp.version
    record(action_mp, chair_mp, status="at_risk", progress_narrative="Chair's view.")
    stale = Action.objects.get(pk=action_mp.pk)
    before = unchanged(action_mp)
    with pytest.raises(services.ActionChangedSinceOpened) as conflict:
        services.action_update_record(
            action=stale,
            by=lead_mp,
            based_on_version=opened_version,
            status="on_track",
            progress_narrative="Lead's view.",
        )
    assert unchanged(action_mp) == before
    changed = {c.field: (c.old, c.new) for c in conflict.value.changes}
    assert changed["status"][1] == "At risk"
    assert changed["progress_narrative"][1] == "Chair's view."
    assert set(changed) == {"status", "progress_narrative"}, changed  # no bookkeeping
    assert conflict.value.changed_by == [chair_mp.get_full_name()]


def test_complete_needs_evidence(action_mp, lead_mp):
    before = unchanged(action_mp)
    with pytest.raises(ValidationError):
        record(action_mp, lead_mp, status="complete", evidence_of_impact="  ")
    assert unchanged(action_mp) == before


def test_a_lead_completing_is_delivered_awaiting_evidence_until_the_chair_accepts(
    action_mp, lead_mp, chair_mp
):
    record(action_mp, lead_mp, status="complete", evidence_of_impact="Audit shows 80%.")
    action_mp.refresh_from_db()
    assert action_mp.rag == Rag.AWAITING_EVIDENCE
    assert Action.objects.with_rag().get(pk=action_mp.pk).rag_code == Rag.AWAITING_EVIDENCE
    with pytest.raises(PermissionDenied):
        services.action_evidence_accept(
            action=action_mp, by=lead_mp, based_on_version=action_mp.version
        )
    services.action_evidence_accept(
        action=action_mp, by=chair_mp, based_on_version=action_mp.version
    )
    action_mp.refresh_from_db()
    assert action_mp.rag == Rag.BLUE
    assert action_mp.evidence_accepted_by == chair_mp


def test_new_evidence_needs_accepting_again_and_reopening_withdraws_acceptance(
    action_mp, lead_mp, chair_mp
):
    record(action_mp, chair_mp, status="complete", evidence_of_impact="Chair's evidence.")
    action_mp.refresh_from_db()
    assert action_mp.rag == Rag.BLUE  # the chair's own "complete" is accepted at once
    record(action_mp, lead_mp, status="complete", evidence_of_impact="Different evidence.")
    action_mp.refresh_from_db()
    assert action_mp.rag == Rag.AWAITING_EVIDENCE
    record(action_mp, lead_mp, status="on_track", evidence_of_impact="")
    action_mp.refresh_from_db()
    assert action_mp.evidence_accepted_at is None


def test_a_lead_moving_the_due_date_asks_the_chair(action_mp, lead_mp, chair_mp):
    original = action_mp.due_date
    new_date = original + datetime.timedelta(days=60)
    record(action_mp, lead_mp, revised_due_date=new_date, due_date_reason="Waiting for HR.")
    action_mp.refresh_from_db()
    assert action_mp.revised_due_date is None  # nothing moves until the chair decides
    change = action_mp.due_date_changes.get()
    assert change.decision == DueDateChange.Decision.PENDING
    with pytest.raises(PermissionDenied):
        services.due_date_change_decide(change=change, by=lead_mp, approve=True)
    services.due_date_change_decide(change=change, by=chair_mp, approve=True)
    action_mp.refresh_from_db()
    assert action_mp.due_date == original
    assert action_mp.revised_due_date == new_date
    assert action_mp.revised_due_reason == "Waiting for HR."
    from workstreams.selectors import action_rows

    assert action_rows(Action.objects.filter(pk=action_mp.pk)).get().slip_count == 1


def test_moving_the_due_date_needs_a_reason(action_mp, lead_mp):
    before = unchanged(action_mp)
    with pytest.raises(ValidationError):
        record(action_mp, lead_mp, revised_due_date=action_mp.due_date + datetime.timedelta(days=7))
    assert unchanged(action_mp) == before


def test_one_request_at_a_time_and_a_rejection_needs_a_comment(action_mp, lead_mp, chair_mp):
    later = action_mp.due_date + datetime.timedelta(days=30)
    record(action_mp, lead_mp, revised_due_date=later, due_date_reason="One")
    action_mp.refresh_from_db()
    with pytest.raises(ValidationError, match="already waiting"):
        record(
            action_mp,
            lead_mp,
            revised_due_date=later + datetime.timedelta(days=1),
            due_date_reason="Two",
        )
    change = action_mp.due_date_changes.get()
    with pytest.raises(ValidationError):
        services.due_date_change_decide(change=change, by=chair_mp, approve=False)
    services.due_date_change_decide(
        change=change, by=chair_mp, approve=False, comment="Deliver on time."
    )
    action_mp.refresh_from_db()
    assert action_mp.revised_due_date is None
    with pytest.raises(ValidationError, match="already been decided"):
        services.due_date_change_decide(change=change, by=chair_mp, approve=True)


def test_the_chairs_own_due_date_change_applies_at_once(action_mp, chair_mp):
    later = action_mp.due_date + datetime.timedelta(days=30)
    record(action_mp, chair_mp, revised_due_date=later, due_date_reason="Agreed at task group.")
    action_mp.refresh_from_db()
    assert action_mp.revised_due_date == later
    change = action_mp.due_date_changes.get()
    assert change.decision == DueDateChange.Decision.APPROVED
    assert change.decided_by == chair_mp


def test_the_permission_check_and_the_list_filter_agree(plan, django_user_model):
    """``Roles.may_update`` and ``Roles.updatable_actions`` state one rule twice."""
    from governance.roles import roles_of
    from workstreams.selectors import actions_updatable_by

    actions = list(plan.actions.all())
    for user in django_user_model.objects.all():
        forget_roles(user)
        listed = set(actions_updatable_by(user, plan.actions.all()).values_list("pk", flat=True))
        allowed = {a.pk for a in actions if user.has_perm("workstreams.change_action", a)}
        assert listed == allowed, user.username
        assert roles_of(user).may_update_any() == bool(allowed) or user.is_superuser
