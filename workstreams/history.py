"""Reading the audit history as a person would: names, not ids; labels, not codes.

django-simple-history's ``diff_against`` runs two queries per many-to-many field for every
pair of rows, so a history page would cost more the longer the history. Here the
many-to-many rows are read once and compared in Python, and related objects are looked up
once for all rows, so a page costs a fixed number of queries.
"""

import datetime
from dataclasses import dataclass

from django.db import models
from django.utils.formats import date_format
from simple_history.utils import get_m2m_reverse_field_name

from .audit import display_name

# Bookkeeping fields that say nothing to a reader: the month of the last update is the
# update itself, which the action's page lists (decision 0016).
HIDDEN_FIELDS = {"version", "last_update_period"}
KINDS = {"+": "Created", "~": "Changed", "-": "Deleted"}


@dataclass(frozen=True)
class FieldChange:
    field: str
    label: str
    old: str
    new: str


@dataclass(frozen=True)
class HistoryEntry:
    when: datetime.datetime
    who: str
    kind: str
    changes: list[FieldChange]
    reason: str = ""  # why, when the change said so (e.g. why a risk was closed)


def _name_of(obj) -> str:
    if hasattr(obj, "get_full_name"):
        return display_name(obj)
    if hasattr(obj, "reference"):
        return obj.reference
    return str(obj)


class _Reader:
    """Describes the changes between historical rows of one model."""

    def __init__(self, model: type[models.Model], rows: list):
        self.model = model
        self.m2m = {f.name: get_m2m_reverse_field_name(f) for f in rows[0]._history_m2m_fields}
        # {(m2m field name, history id): ids of the related objects at that point}
        self.m2m_ids: dict[tuple[str, int], frozenset] = {}
        for name, target in self.m2m.items():
            through = getattr(rows[0], name).model  # the historical through model
            pairs = through.objects.filter(history__in=rows).values_list(
                "history_id", f"{target}_id"
            )
            grouped: dict[int, set] = {}
            for history_id, related_id in pairs:
                grouped.setdefault(history_id, set()).add(related_id)
            for row in rows:
                self.m2m_ids[(name, row.history_id)] = frozenset(grouped.get(row.history_id, ()))
        self.names: dict[tuple[type, object], str] = {}
        self._look_up_related(rows)

    def _field(self, name: str) -> models.Field:
        return self.model._meta.get_field(name)

    def _m2m_ids(self, row, name: str) -> frozenset:
        return self.m2m_ids[(name, row.history_id)]

    def _look_up_related(self, rows) -> None:
        wanted: dict[type, set] = {}
        for field in self.model._meta.concrete_fields:
            if field.is_relation:
                ids = {getattr(row, field.attname) for row in rows} - {None}
                wanted.setdefault(field.related_model, set()).update(ids)
        for name in self.m2m:
            related = self._field(name).related_model
            for row in rows:
                wanted.setdefault(related, set()).update(self._m2m_ids(row, name))
        for model, ids in wanted.items():
            for obj in model._default_manager.filter(pk__in=ids):
                self.names[(model, obj.pk)] = _name_of(obj)

    def _show(self, field: models.Field, value) -> str:
        if value is None or value == "":
            return "(none)"
        if field.is_relation:
            return self.names.get((field.related_model, value), "(removed)")
        if field.choices:
            return str(dict(field.flatchoices).get(value, value))
        if isinstance(value, datetime.datetime):
            return date_format(value, "j F Y, H:i")
        if isinstance(value, datetime.date):
            return date_format(value, "j F Y")
        if isinstance(value, bool):
            return "Yes" if value else "No"
        return str(value)

    def _show_many(self, field: models.Field, ids) -> str:
        names = sorted(self.names.get((field.related_model, pk), "(removed)") for pk in ids)
        return ", ".join(names) or "(none)"

    def _change(self, field: models.Field, old: str, new: str) -> FieldChange:
        label = str(field.verbose_name)
        return FieldChange(field=field.name, label=label[:1].upper() + label[1:], old=old, new=new)

    def changes(self, old_row, new_row) -> list[FieldChange]:
        delta = new_row.diff_against(old_row, excluded_fields=list(self.m2m))
        result = [
            self._change(
                self._field(c.field), *(self._show(self._field(c.field), v) for v in (c.old, c.new))
            )
            for c in delta.changes
            if c.field not in HIDDEN_FIELDS
        ]
        for name in self.m2m:
            old_ids, new_ids = self._m2m_ids(old_row, name), self._m2m_ids(new_row, name)
            if old_ids != new_ids:
                field = self._field(name)
                result.append(
                    self._change(
                        field, self._show_many(field, old_ids), self._show_many(field, new_ids)
                    )
                )
        return result


def _rows(records) -> list:
    return list(records.select_related("history_user").order_by("history_date", "history_id"))


def history_entries(records) -> list[HistoryEntry]:
    """Readable entries for the historical rows of one object, newest first. The first row
    is "Created", with no field changes listed; rows that changed nothing are left out."""
    rows = _rows(records)
    if not rows:
        return []
    reader = _Reader(rows[0].instance_type, rows)
    entries = [_entry(rows[0], [])]
    for old_row, new_row in zip(rows, rows[1:], strict=False):
        changes = reader.changes(old_row, new_row)
        if changes:
            entries.append(_entry(new_row, changes))
    entries.reverse()
    return entries


def changes_between(old_record, new_record) -> list[FieldChange]:
    """What changed from one historical row of an object to a later one."""
    records = type(old_record).objects.filter(pk__in=[old_record.pk, new_record.pk])
    old_row, new_row = _rows(records)
    return _Reader(new_row.instance_type, [old_row, new_row]).changes(old_row, new_row)


def _entry(row, changes) -> HistoryEntry:
    who = _name_of(row.history_user) if row.history_user else "(unknown)"
    return HistoryEntry(
        when=row.history_date,
        who=who,
        kind=KINDS[row.history_type],
        changes=changes,
        reason=row.history_change_reason or "",
    )
