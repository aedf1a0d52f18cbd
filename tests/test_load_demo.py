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
    call_command("load_demo", verbosity=0)
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
    data["actions"][0]["progress_narrative"] += " Updated by the programme office."
    changed = tmp_path / "plan.json"
    changed.write_text(json.dumps(data))
    history_before = Action.history.count()
    call_command("load_demo", "--plan-file", str(changed), "--as-user", "office", verbosity=0)
    action = Action.objects.get(reference=data["actions"][0]["reference"])
    latest = action.history.latest()
    assert latest.history_type == "~"
    assert latest.history_user.username == "office"
    assert Action.history.count() == history_before + 1  # that action, nothing else


def test_a_command_refuses_an_unknown_user():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="There is no user 'nobody'"):
        call_command("load_demo", "--as-user", "nobody", verbosity=0)
