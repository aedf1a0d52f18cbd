import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Sum

from governance.models import Body, Membership
from tests.helpers import DEMO_USERNAMES
from workstreams.models import Action, Finding, Plan, WorkforceSnapshot

pytestmark = pytest.mark.django_db

# Table 1 of the council report (section 4): managers on 31 October 2018.
MANAGERS_TABLE = {
    "Adolescent services": (10, 1, 9, 6, 4),
    "Care planning": (19, 6, 13, 9, 10),
    "Children with disabilities": (7, 4, 3, 4, 3),
    "Corporate parenting": (22, 7, 15, 17, 5),
    "Early Help": (7, 1, 6, 6, 1),
    "SPOC and assessments": (12, 6, 6, 8, 4),
}


def every_row_and_history_count():
    from django.apps import apps

    counts = {}
    for model in apps.get_models():
        if model._meta.app_label in {"workstreams", "governance", "auth"}:
            counts[model._meta.label] = model.objects.count()
    return counts


def test_the_managers_table_comes_out_exactly():
    snapshots = WorkforceSnapshot.objects.filter(as_of="2018-10-31").select_related("service_area")
    table = {
        s.service_area.name: (
            s.total,
            s.locum,
            s.salaried,
            s.in_post_before_cutoff,
            s.joined_since_cutoff,
        )
        for s in snapshots
    }
    assert table == MANAGERS_TABLE
    totals = snapshots.aggregate(
        total=Sum("total"),
        locum=Sum("locum"),
        salaried=Sum("salaried"),
        before=Sum("in_post_before_cutoff"),
        since=Sum("joined_since_cutoff"),
    )
    assert totals == {"total": 77, "locum": 25, "salaried": 52, "before": 50, "since": 27}


def test_the_reference_plan_is_loaded():
    plan = Plan.objects.live().get()
    assert plan.title == "Children's Improvement Plan 2018/19"
    assert dict(plan.workstreams.values_list("code", "name")) == {
        "MP": "Management & Practice",
        "WF": "Workforce",
        "PA": "Partnerships",
        "PL": "Platforms",
    }
    assert plan.priorities.get(number=4).title.lower().startswith("recruit")
    for workstream in plan.workstreams.all():
        assert workstream.actions.count() >= 3
        for action in workstream.actions.all():
            assert action.reference.startswith(f"{workstream.code}-")
    equality = Action.objects.get(plan=plan, title__icontains="equality analysis")
    assert str(equality.due_date) == "2018-12-01"
    assert Finding.objects.filter(text__icontains="too variable").exists()


def test_demo_users_one_per_role():
    User = get_user_model()
    assert set(User.objects.values_list("username", flat=True)) >= DEMO_USERNAMES
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff
    assert User.objects.get(username="office").groups.filter(name="Programme office").exists()
    for username in DEMO_USERNAMES:
        assert User.objects.get(username=username).check_password("grip-demo")
    chairs = Membership.objects.filter(role="chair").values_list("user__username", "body__kind")
    assert ("exec.director", Body.Kind.PROGRAMME_BOARD) in chairs
    for code in ("mp", "wf", "pa", "pl"):
        assert Action.objects.filter(lead_officer__username=f"lead.{code}").exists()


def test_load_demo_twice_changes_nothing():
    before = every_row_and_history_count()
    histories = {
        model: model.history.count() for model in (Action, Plan, WorkforceSnapshot, Membership)
    }
    call_command("load_demo", "--allow-production", verbosity=0)
    assert every_row_and_history_count() == before
    assert {m: m.history.count() for m in histories} == histories


def test_load_demo_records_the_system_user_in_history():
    action = Action.objects.first()
    first = action.history.earliest()
    assert first.history_type == "+"
    assert first.history_user.username == "grip.system"
    assert not first.history_user.is_active


def test_a_command_records_the_user_it_is_given(tmp_path, settings):
    import json

    data = json.loads(settings.GRIP_REFERENCE_PLAN.read_text())
    data["actions"].append({**data["actions"][0], "reference": "MP-9.9", "findings": []})
    changed = tmp_path / "plan.json"
    changed.write_text(json.dumps(data))
    history_before = Action.history.count()
    call_command(
        "load_demo", "--plan-file", str(changed), "--as-user", "office", "--allow-production"
    )
    latest = Action.objects.get(reference="MP-9.9").history.latest()
    assert latest.history_type == "+"
    assert latest.history_user.username == "office"
    assert Action.history.count() == history_before + 1  # the new action, nothing else


def test_loading_again_keeps_what_users_changed_and_adds_what_is_missing(
    chair_mp, tmp_path, settings
):
    """A chair sets MP-1.2 off track; bin/serve runs again next morning: it stays off track,
    and nothing is recorded as changed by the system."""
    import json

    from django.contrib.auth.models import Group

    from workstreams.audit import acting_as

    action = Action.objects.get(reference="MP-1.2")
    with acting_as(chair_mp):
        action.status, action.progress_narrative = "off_track", "Trainer left."
        action.save()
    viewer = get_user_model().objects.get(username="viewer")
    viewer.first_name, viewer.is_active = "Renamed", False
    viewer.save()
    viewer.groups.add(Group.objects.get(name="Programme office"))
    body = Body.objects.get(workstream__code="MP")
    body.purpose = "Changed by the programme office."
    body.save()
    Membership.objects.filter(user__username="lead.mp", body=body).delete()
    data = json.loads(settings.GRIP_REFERENCE_PLAN.read_text())
    data["actions"][1]["title"] = "A title the file changed"
    changed = tmp_path / "plan.json"
    changed.write_text(json.dumps(data))
    history = Action.history.count()

    call_command("load_demo", "--plan-file", str(changed), "--allow-production", verbosity=0)

    action.refresh_from_db()
    assert (action.status, action.progress_narrative) == ("off_track", "Trainer left.")
    assert action.title != "A title the file changed"
    assert action.history.latest().history_user == chair_mp
    assert Action.history.count() == history
    viewer.refresh_from_db()
    assert viewer.first_name == "Renamed" and not viewer.is_active
    assert viewer.groups.filter(name="Programme office").exists()
    body.refresh_from_db()
    assert body.purpose == "Changed by the programme office."
    # What was missing (the membership removed) is created again.
    assert Membership.objects.filter(user__username="lead.mp", body=body).exists()


def test_load_demo_refuses_in_production_mode_unless_told(settings):
    from django.core.management.base import CommandError

    settings.DEBUG = False
    before = every_row_and_history_count()
    with pytest.raises(CommandError, match="--allow-production"):
        call_command("load_demo", verbosity=0)
    assert every_row_and_history_count() == before
    settings.DEBUG = True
    call_command("load_demo", verbosity=0)  # local use: no flag needed
    assert every_row_and_history_count() == before


def test_a_command_refuses_an_unknown_user():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="There is no user 'nobody'"):
        call_command("load_demo", "--as-user", "nobody", "--allow-production", verbosity=0)


def test_an_action_sits_under_a_priority_only_where_the_report_puts_it():
    """The report places the safeguarding board and budget actions under none of its
    priorities; they are not filed under "management oversight" or "the workforce"."""
    unplaced = Action.objects.filter(reference__in=["PA-1.1", "PA-1.2", "PL-4.1", "PL-4.2"])
    assert unplaced.count() == 4
    assert not unplaced.filter(priority__isnull=False).exists()
    workforce = Action.objects.filter(priority__number=4)
    assert set(workforce.values_list("workstream__code", flat=True)) == {"WF"}
