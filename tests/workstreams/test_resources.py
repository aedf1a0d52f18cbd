"""Spreadsheet import/export of the plan, keyed by natural keys."""

import pytest
import tablib
from django.urls import reverse
from import_export.formats.base_formats import XLSX

from workstreams.models import Action
from workstreams.resources import ActionResource

pytestmark = pytest.mark.django_db


def snapshot_of_actions():
    return {
        a.reference: (
            a.workstream.code,
            a.priority_id,
            a.title,
            a.lead_officer_id,
            a.due_date,
            a.status,
            a.progress_narrative,
            a.evidence_of_impact,
            tuple(sorted(f.reference for f in a.findings.all())),
        )
        for a in Action.objects.select_related("workstream").prefetch_related("findings")
    }


def test_export_uses_natural_keys_not_ids(plan):
    dataset = ActionResource().export()
    assert dataset.headers[:3] == ["reference", "workstream", "priority"]
    row = dict(zip(dataset.headers, dataset[0], strict=True))
    action = Action.objects.get(plan=plan, reference=row["reference"])
    assert row["workstream"] == action.workstream.code
    assert row["lead_officer"] == action.lead_officer.username
    assert row["status"] == action.get_status_display()
    assert "id" not in dataset.headers


def test_an_xlsx_round_trip_through_the_admin_resource_changes_nothing(plan):
    before = snapshot_of_actions()
    history_before = Action.history.count()
    xlsx = XLSX().export_data(ActionResource().export())
    dataset = tablib.Dataset().load(xlsx, format="xlsx")
    result = ActionResource().import_data(dataset, dry_run=False, raise_errors=False)
    assert not result.has_errors() and not result.has_validation_errors()
    assert result.totals["skip"] == len(before)
    assert result.totals["update"] == 0 and result.totals["new"] == 0
    assert snapshot_of_actions() == before
    assert Action.history.count() == history_before


def test_an_import_changes_what_changed_and_writes_history(plan, office):
    from workstreams.audit import acting_as

    dataset = ActionResource().export()
    dataset.append_col(lambda row: row, header="x")  # an unknown column is ignored
    del dataset["x"]
    reference = dataset["reference"][0]
    status_col = dataset.headers.index("status")
    row = list(dataset[0])
    row[status_col] = "Off track"
    dataset[0] = row
    with acting_as(office):
        result = ActionResource().import_data(dataset, dry_run=False)
    assert result.totals["update"] == 1
    action = Action.objects.get(plan=plan, reference=reference)
    assert action.status == "off_track"
    assert action.history.latest().history_user == office


def test_a_bad_row_is_explained_and_nothing_is_imported(plan):
    before = snapshot_of_actions()
    dataset = ActionResource().export()
    rows = [list(r) for r in dataset]
    headers = dataset.headers
    rows[0][headers.index("status")] = "Off track"  # a valid change on a good row...
    rows[1][headers.index("workstream")] = "XX"  # ...and a bad workstream on another
    rows[2][headers.index("lead_officer")] = "nobody"
    rows[3][headers.index("status")] = "Finished"
    bad = tablib.Dataset(*rows, headers=headers)
    result = ActionResource().import_data(bad, dry_run=False, use_transactions=True)
    assert result.has_validation_errors() or result.has_errors()
    messages = " ".join(
        str(error) for row in result.invalid_rows for error in row.error_dict.values()
    )
    assert "Workstream 'XX' does not exist." in messages
    assert "Lead officer 'nobody' does not exist." in messages
    assert "'Finished' is not a status." in messages
    assert snapshot_of_actions() == before


def test_admin_export_and_import_pages_render(client, admin_user_demo):
    client.force_login(admin_user_demo)
    assert client.get(reverse("admin:workstreams_action_export")).status_code == 200
    assert client.get(reverse("admin:workstreams_action_import")).status_code == 200
