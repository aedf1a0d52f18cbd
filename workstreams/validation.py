"""Validating a row before a service saves it: what ``full_clean()`` checks, without asking
the database what it already knows.

Every service validates the rows it writes (``validate``), inside its transaction. There,
Django's ``full_clean()`` asks the database whether each row a foreign key points to exists,
and judges each check constraint in the database, each in a savepoint of its own since
Django 5.2 (three queries a constraint): 22 of the 39 queries of an action's monthly update.
``validate`` checks the same things, with the same messages, and asks the database only
what Python cannot know:

- A check constraint is judged in Python by SQL's rules (``judge``): a comparison with NULL
  is unknown, and a CHECK refuses only what is false. One Python does not judge (an
  expression, a join) is left to Django, which asks the database.
  ``tests/workstreams/test_validation.py`` holds the two judges together for every check
  constraint in Grip.
- A foreign key is looked up only when its value is new: neither the value the row was read
  with (``StoredValues``) nor that of the object the instance holds (read from the database,
  or saved). The database's foreign key constraint still refuses a write naming a row that
  has gone since.
- A unique constraint is checked only when one of its fields changed since the row was read,
  and a partial one only for a row its condition covers. The database's unique index still
  refuses a duplicate that another transaction makes meanwhile.
"""

import operator

from django.core.exceptions import NON_FIELD_ERRORS, FieldDoesNotExist, ValidationError
from django.db import models, router
from django.db.models import F, Q
from django.db.models.constants import LOOKUP_SEP


class StoredValues(models.Model):
    """A model whose rows remember the values they were read from the database with
    (Django's ``from_db`` hook, as its documentation shows), so that ``validate`` does not
    ask the database again about a foreign key or a unique field left as it was."""

    class Meta:
        abstract = True

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._stored_values = (field_names, values)  # made a dict only when validated
        return instance


def stored_values(instance: models.Model) -> dict:
    """The values (by attribute name) ``instance``'s row had when it was read, if it is that
    row as read (a ``StoredValues`` model, same primary key); empty otherwise."""
    stored = getattr(instance, "_stored_values", None)
    if stored is None or instance._state.adding:
        return {}
    values = dict(zip(*stored, strict=True))
    pk = instance._meta.pk.attname
    return values if pk in values and values[pk] == getattr(instance, pk) else {}


def validate(instance: models.Model) -> None:
    """``instance.full_clean()``: the same checks and messages, in fewer queries (above).

    Raises ``ValidationError`` with every error found, by field, as ``full_clean()`` does:
    the fields, then the model's ``clean()``, then unique checks and constraints of the
    fields that passed.
    """
    stored = stored_values(instance)
    errors = {}
    try:
        instance.clean_fields(exclude=_known_foreign_keys(instance, stored))
    except ValidationError as error:
        errors = error.update_error_dict(errors)
    try:
        instance.clean()
    except ValidationError as error:
        errors = error.update_error_dict(errors)
    try:
        instance.validate_unique(exclude=_failed(errors))
    except ValidationError as error:
        errors = error.update_error_dict(errors)
    try:
        _validate_constraints(instance, stored, exclude=_failed(errors))
    except ValidationError as error:
        errors = error.update_error_dict(errors)
    if errors:
        raise ValidationError(errors)


def _failed(errors: dict) -> set[str]:
    """The fields with an error: their unique checks and constraints are not judged."""
    return {name for name in errors if name != NON_FIELD_ERRORS}


def _known_foreign_keys(instance: models.Model, stored: dict) -> list[str]:
    """The foreign keys of ``instance`` whose value the database has already shown to exist:
    the value its row was read with, or that of the related object it holds. Not looked up
    again: the database's foreign key constraint refuses the write if the row has gone."""
    known = []
    for field in instance._meta.concrete_fields:
        if not field.many_to_one and not field.one_to_one:
            continue
        value = getattr(instance, field.attname)
        if value is None:
            continue  # no lookup for NULL: whether it may be NULL is checked as ever
        held = field.get_cached_value(instance, None) if field.is_cached(instance) else None
        holds_it = (
            held is not None
            and not held._state.adding
            and getattr(held, field.target_field.attname) == value
        )
        if holds_it or (field.attname in stored and stored[field.attname] == value):
            known.append(field.name)
    return known


def _changed(instance: models.Model, stored: dict, names) -> bool:
    """Whether any of the fields ``names`` differs from the row as read (yes for a new row)."""
    if not stored:
        return True
    for name in names:
        attname = instance._meta.get_field(name).attname
        if attname not in stored or stored[attname] != getattr(instance, attname):
            return True
    return False


def _validate_constraints(instance: models.Model, stored: dict, *, exclude: set) -> None:
    """``instance.validate_constraints(exclude)``, judging in Python what it can (above)."""
    using = router.db_for_write(type(instance), instance=instance)
    errors = {}
    for model, constraints in instance.get_constraints():
        for constraint in constraints:
            try:
                _validate_constraint(constraint, model, instance, stored, exclude, using)
            except ValidationError as error:  # filed as Django files them
                if getattr(error, "code", None) == "unique" and len(constraint.fields) == 1:
                    errors.setdefault(constraint.fields[0], []).append(error)
                else:
                    errors = error.update_error_dict(errors)
    if errors:
        raise ValidationError(errors)


def _validate_constraint(constraint, model, instance, stored, exclude, using) -> None:
    if isinstance(constraint, models.CheckConstraint):
        try:
            if exclude & fields_named(constraint.condition):
                return  # as Django: a constraint on a field that failed is not judged
            holds = judge(constraint.condition, instance)
        except NotJudged:
            constraint.validate(model, instance, exclude=exclude, using=using)
            return
        if holds is False:
            raise ValidationError(
                constraint.get_violation_error_message(), code=constraint.violation_error_code
            )
        return
    if isinstance(constraint, models.UniqueConstraint) and constraint.fields:
        if not _changed(instance, stored, constraint.fields):
            return
        if constraint.condition is not None:
            try:
                if judge(constraint.condition, instance) is not True:
                    return  # a row the condition does not cover cannot be a duplicate
            except NotJudged:
                pass
    constraint.validate(model, instance, exclude=exclude, using=using)


# --- Judging a condition in Python, as SQL does -------------------------------------------


class NotJudged(Exception):
    """A condition (or part of one) that ``judge`` leaves to the database."""


_COMPARISONS = {
    "exact": operator.eq,
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}


def judge(condition, instance: models.Model) -> bool | None:
    """``condition`` (a ``Q``, as in a ``CheckConstraint``) over ``instance``'s own fields,
    judged as SQL judges it: True, False, or None when unknown (a comparison with NULL).

    Knows ``Q`` trees (and, or, not) of the lookups exact, in, isnull, gt, gte, lt and lte on
    a field of the model, against a value or another field (``F``). Raises ``NotJudged`` for
    anything else, and for ordering text (which follows the database's collation).
    """
    if isinstance(condition, Q):
        verdicts = [judge(child, instance) for child in condition.children]
        if condition.connector == Q.AND:
            verdict = False if False in verdicts else None if None in verdicts else True
        elif condition.connector == Q.OR:
            verdict = True if True in verdicts else None if None in verdicts else False
        else:
            raise NotJudged(condition)
        return verdict if verdict is None or not condition.negated else not verdict
    if not isinstance(condition, tuple) or len(condition) != 2:
        raise NotJudged(condition)
    lookup, wanted = condition
    name, _, operation = lookup.partition(LOOKUP_SEP)
    value = _value_of(instance, name)
    operation = operation or "exact"
    if isinstance(wanted, F):  # another field: NULL there is unknown, as anywhere
        wanted = _value_of(instance, wanted.name)
        if operation in ("isnull", "in"):
            raise NotJudged(condition)
    elif isinstance(wanted, models.Model):
        wanted = wanted.pk
    elif hasattr(wanted, "resolve_expression"):
        raise NotJudged(condition)
    elif operation == "exact" and wanted is None:  # Django reads ``field=None`` as IS NULL
        operation, wanted = "isnull", True
    if operation == "isnull":
        if not isinstance(wanted, bool):
            raise NotJudged(condition)
        return (value is None) == wanted
    if operation == "in":
        choices = list(wanted)
        if value is None:
            return None
        if value in choices:
            return True
        return None if None in choices else False
    compare = _COMPARISONS.get(operation)
    if compare is None:
        raise NotJudged(condition)
    if value is None or wanted is None:
        return None
    if operation != "exact" and (isinstance(value, str) or isinstance(wanted, str)):
        raise NotJudged(condition)
    try:
        return bool(compare(value, wanted))
    except TypeError as error:
        raise NotJudged(condition) from error


def fields_named(condition) -> set[str]:
    """The names of the fields ``condition`` reads (``NotJudged`` if it is not a plain
    ``Q`` tree)."""
    if isinstance(condition, Q):
        return set().union(*(fields_named(child) for child in condition.children))
    if not isinstance(condition, tuple) or len(condition) != 2:
        raise NotJudged(condition)
    lookup, wanted = condition
    names = {lookup.split(LOOKUP_SEP, 1)[0]}
    if isinstance(wanted, F):
        names.add(wanted.name)
    return names


def _value_of(instance: models.Model, name: str):
    """The value a field of ``instance`` has in its row (a foreign key's: the key)."""
    if LOOKUP_SEP in name:
        raise NotJudged(name)
    try:
        field = instance._meta.pk if name == "pk" else instance._meta.get_field(name)
    except FieldDoesNotExist as error:
        raise NotJudged(name) from error
    if not field.concrete or field.many_to_many:
        raise NotJudged(name)
    return getattr(instance, field.attname)
