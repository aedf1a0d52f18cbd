"""Validating a row before a service saves it (``workstreams/validation.py``): what Django's
``full_clean()`` checks, with its messages, without asking the database what it knows."""

import datetime
import itertools
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection, models
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from workstreams.models import Action, ActionStatus, ActionUpdate, DueDateChange
from workstreams.services import action_lock
from workstreams.validation import NotJudged, fields_named, judge, validate

pytestmark = pytest.mark.django_db

GRIP_APPS = ("workstreams", "governance")


def conditions():
    """Every condition Grip's constraints state: each check constraint's, and each partial
    unique constraint's (which rows it covers)."""
    found = []
    for app in GRIP_APPS:
        for model in apps.get_app_config(app).get_models():
            for constraint in model._meta.constraints:
                condition = getattr(constraint, "condition", None)
                if condition is not None:
                    found.append(pytest.param(model, condition, id=constraint.name))
    return found


def literals(condition) -> dict[str, set]:
    """The values ``condition`` compares each field with (numbers with their neighbours)."""
    found = {}
    children = [condition] if isinstance(condition, tuple) else condition.children
    for child in children:
        if not isinstance(child, tuple):
            for name, values in literals(child).items():
                found.setdefault(name, set()).update(values)
            continue
        lookup, value = child
        name = lookup.split("__")[0]
        values = found.setdefault(name, set())
        if isinstance(value, F) or lookup.endswith("__isnull"):
            continue
        for one in value if isinstance(value, (list, tuple)) else [value]:
            values.add(one)
            if isinstance(one, int) and not isinstance(one, bool):
                values.update({one - 1, one + 1})
    return found


def samples(field) -> set:
    """A few values of the field's kind; fields compared with each other share them."""
    if field.is_relation or isinstance(field, models.AutoField | models.BigAutoField):
        return {1, 2}
    if isinstance(field, models.BooleanField):
        return {True, False}
    if isinstance(field, models.DateTimeField):
        return {timezone.now()}
    if isinstance(field, models.DateField):
        return {datetime.date(2019, 1, 1), datetime.date(2019, 2, 1)}
    if isinstance(field, models.DecimalField):
        return {Decimal("1.5")}
    if isinstance(field, models.IntegerField):
        return {1, 2}
    return {"", "x"}


def rows_to_judge(model, condition):
    """Unsaved rows with every combination of NULL, the values the condition names and a
    few others of each field's kind, for the fields the condition reads."""
    named = literals(condition)
    fields = [
        model._meta.pk if name == "pk" else model._meta.get_field(name)
        for name in sorted(fields_named(condition))
    ]
    pools = [sorted({None} | named.get(f.name, set()) | samples(f), key=repr) for f in fields]
    for values in itertools.product(*pools):
        row = model()
        for field, value in zip(fields, values, strict=True):
            setattr(row, field.attname, value)
        yield row


# Conditions Python leaves to the database (a pattern, sums of fields): only loading a plan
# writes these rows, so their three queries each do not matter.
JUDGED_BY_THE_DATABASE = {
    "workstream_code_format",
    "workforce_locum_plus_salaried_is_total",
    "workforce_before_plus_since_is_total",
}


@pytest.mark.parametrize(
    ("model", "condition"), [p for p in conditions() if p.id not in JUDGED_BY_THE_DATABASE]
)
def test_python_judges_every_constraint_as_the_database_does(model, condition):
    """For every row, Python and the database agree whether the condition is false (a CHECK
    refuses the row) and whether it is true (a partial unique index covers the row): so
    they agree on true, false and unknown."""
    disagree = []
    for row in rows_to_judge(model, condition):
        for stated in (condition, ~condition):
            in_python = judge(stated, row) is not False
            in_database = True
            try:
                models.CheckConstraint(condition=stated, name="judged").validate(model, row)
            except ValidationError:
                in_database = False
            if in_python != in_database:
                values = {f: getattr(row, f) for f in sorted(fields_named(condition))}
                disagree.append(f"{stated}: {values} Python {in_python}, SQL {in_database}")
    assert not disagree, "\n".join(disagree)


def test_every_other_constraint_of_grip_is_judged_in_python():
    """A condition Python does not judge is judged by the database, three queries each in a
    transaction: one added to Grip shows here first."""
    left = set()
    for param in conditions():
        model, condition = param.values
        try:
            judge(condition, model())
        except NotJudged:
            left.add(param.id)
    assert left == JUDGED_BY_THE_DATABASE


# --- The same checks and messages as full_clean() -------------------------------------------


def locked(action):
    return action_lock(action)


def same_errors(row) -> dict:
    """``validate(row)``'s errors, once checked to be ``full_clean()``'s."""
    try:
        row.full_clean()
    except ValidationError as error:
        expected = error.message_dict
    else:
        expected = {}
    try:
        validate(row)
    except ValidationError as error:
        found = error.message_dict
    else:
        found = {}
    assert found == expected
    return found


def other_action(action):
    return Action.objects.filter(plan=action.plan).exclude(pk=action.pk).first()


@pytest.mark.parametrize(
    "change",
    [
        {"status": "finished"},
        {"status": ActionStatus.COMPLETE, "evidence_of_impact": ""},
        {"revised_due_date": datetime.date(2019, 6, 1), "revised_due_reason": ""},
        {"evidence_accepted_at": datetime.datetime(2019, 1, 1, tzinfo=datetime.UTC)},
        {"lead_officer_id": 999999},
        {"due_date": None},
        {"reference": "taken"},
        {"title": ""},
        {"status": ActionStatus.AT_RISK, "progress_narrative": "Slipping."},
    ],
    ids=[
        "unknown-status",
        "complete-without-evidence",
        "new-date-without-reason",
        "accepted-but-not-complete",
        "no-such-lead",
        "no-due-date",
        "reference-taken",
        "no-title",
        "valid",
    ],
)
def test_an_action_gets_the_errors_full_clean_gives(action_mp, change):
    action = locked(action_mp)
    if change.get("reference") == "taken":
        change = {"reference": other_action(action).reference}
    for name, value in change.items():
        setattr(action, name, value)
    errors = same_errors(action)
    assert bool(errors) is (change.get("status") != ActionStatus.AT_RISK)


def test_a_new_row_gets_the_errors_full_clean_gives(action_mp, lead_mp):
    taken = Action(
        plan=action_mp.plan,
        workstream=action_mp.workstream,
        reference=action_mp.reference,
        title="Again",
        due_date=datetime.date(2019, 3, 1),
    )
    assert "__all__" in same_errors(taken)  # the reference is taken in this plan
    same_date = DueDateChange(
        action=action_mp,
        from_date=action_mp.due_date,
        to_date=action_mp.due_date,
        reason="Why",
        requested_by=lead_mp,
    )
    assert same_errors(same_date)
    update = ActionUpdate(
        action=action_mp,
        period=datetime.date(2019, 1, 2),
        status="finished",
        created_by_id=999999,
    )
    assert set(same_errors(update)) == {"period", "status", "created_by"}


# --- What it asks the database ------------------------------------------------------------


def test_an_update_of_a_locked_action_asks_the_database_nothing(action_mp, chair_mp):
    action = locked(action_mp)
    action.status, action.evidence_of_impact = ActionStatus.COMPLETE, "Audit results."
    action.evidence_accepted_at, action.evidence_accepted_by = timezone.now(), chair_mp
    update = ActionUpdate(
        action=action,
        period=datetime.date(2019, 1, 1),
        status=action.status,
        progress_narrative="Done.",
        created_by=chair_mp,
    )
    with CaptureQueriesContext(connection) as queries:
        validate(action)
        validate(update)
    assert [q["sql"] for q in queries] == []


def test_a_key_or_a_unique_field_that_changed_is_asked_about(action_mp):
    action = locked(action_mp)
    action.lead_officer_id = get_user_model().objects.get(username="lead.wf").pk
    with CaptureQueriesContext(connection) as queries:
        validate(action)
    assert len(queries) == 1 and "auth_user" in queries[0]["sql"]
    action = locked(action_mp)
    action.reference = f"{action.workstream.code}-9.9"
    with CaptureQueriesContext(connection) as queries:
        validate(action)
    assert len(queries) == 1 and "workstreams_action" in queries[0]["sql"]


def test_a_row_not_read_from_the_database_is_checked_in_full(action_mp):
    """A copy made in memory (as from a history row) has no values as read: every key and
    unique field is asked about, as full_clean() does."""
    copy = Action(**{f.attname: getattr(action_mp, f.attname) for f in Action._meta.fields})
    copy._state.adding = False
    with CaptureQueriesContext(connection) as queries:
        validate(copy)
    asked = " ".join(q["sql"] for q in queries)
    assert "workstreams_plan" in asked and "workstreams_workstream" in asked
    assert '"reference" = ' in asked
