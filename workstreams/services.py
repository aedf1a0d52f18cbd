"""Writes to the plan and its delivery. Each public function is one transaction."""

import datetime
import functools
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from .audit import acting_as, display_name
from .history import FieldChange, changes_between
from .models import (
    Action,
    ActionImport,
    ActionStatus,
    ActionUpdate,
    DueDateChange,
    Finding,
    ImportMapping,
    Indicator,
    IndicatorValue,
    Plan,
    Priority,
    ServiceArea,
    WorkforceSnapshot,
    Workstream,
    month_start,
)
from .validation import validate


def create_if_missing(
    model: type[models.Model],
    *,
    lookup: dict,
    values: dict,
    recorded_at: datetime.datetime | None = None,
) -> models.Model:
    """The row found by ``lookup``; created from ``values`` (validated) when there is none.

    A row that exists is left exactly as it is: loading data again creates what is missing
    and never overwrites what people have changed since (nor writes a history row). The new
    row carries ``_created = True`` for callers that fill in its relations. ``recorded_at``
    dates its first history row (default: now).
    """
    instance = model.objects.filter(**lookup).first()
    if instance is not None:
        instance._created = False
        return instance
    instance = model(**lookup, **values)
    validate(instance)
    if recorded_at is not None:
        instance._history_date = recorded_at
    instance.save()
    instance._created = True
    return instance


def _date(text: str | None) -> datetime.date | None:
    return datetime.date.fromisoformat(text) if text else None


def _noon(text: str | None) -> datetime.datetime | None:
    """A date written in the data, as midday that day in the council's time zone."""
    if not text:
        return None
    return timezone.make_aware(datetime.datetime.combine(_date(text), datetime.time(12)))


def _period(text: str) -> datetime.date:
    """A period written "YYYY-MM", as the first day of that month."""
    return datetime.date.fromisoformat(f"{text}-01")


@transaction.atomic
def plan_load(*, data: dict) -> Plan:
    """Load a plan from its data (the shape of ``fixtures/croydon-2018-19.json``).

    Rows are matched by natural key (plan title, priority number, workstream code, finding
    and action reference, indicator code, service area name). What is missing is created;
    what exists is never changed, so loading again keeps every change users have made.

    The plan's ``recorded_on`` is the day the data describes it as it stood (the reference
    plan's is the end of November 2018, its report's month): the history records the rows
    created from it on that day, so the plan "as it stood" on a later date shows them, as
    the board saw them then. Without it they are recorded now.
    """
    User = get_user_model()
    source = data["plan"]
    recorded_at = _noon(source.get("recorded_on"))
    create = functools.partial(create_if_missing, recorded_at=recorded_at)
    plan = create(
        Plan,
        lookup={"title": source["title"]},
        values={
            "council": source["council"],
            "description": source.get("description", ""),
            "period_start": _date(source["period_start"]),
            "period_end": _date(source["period_end"]),
            "status": source.get("status", Plan.Status.DRAFT),
        },
    )
    priorities = {
        item["number"]: create(
            Priority,
            lookup={"plan": plan, "number": item["number"]},
            values={"title": item["title"], "description": item.get("description", "")},
        )
        for item in data.get("priorities", [])
    }
    workstreams = {
        item["code"]: create(
            Workstream,
            lookup={"plan": plan, "code": item["code"]},
            values={
                "name": item["name"],
                "scope": item.get("scope", ""),
                "senior_responsible_officer": item.get("senior_responsible_officer", ""),
            },
        )
        for item in data.get("workstreams", [])
    }
    findings = {
        item["reference"]: create(
            Finding,
            lookup={"plan": plan, "reference": item["reference"]},
            values={
                "source": item["source"],
                "date": _date(item["date"]),
                "theme": item.get("theme", ""),
                "text": item["text"],
            },
        )
        for item in data.get("findings", [])
    }
    leads = {user.username: user for user in User.objects.all()}
    for item in data.get("actions", []):
        lead = item.get("lead_officer")
        if lead and lead not in leads:
            raise ValueError(f"Action {item['reference']}: there is no user '{lead}'.")
        action = create(
            Action,
            lookup={"plan": plan, "reference": item["reference"]},
            values={
                "workstream": workstreams[item["workstream"]],
                "priority": priorities.get(item.get("priority")),
                "title": item["title"],
                "description": item.get("description", ""),
                "lead_officer": leads.get(lead),
                "due_date": _date(item["due_date"]),
                "revised_due_date": _date(item.get("revised_due_date")),
                "revised_due_reason": item.get("revised_due_reason", ""),
                "status": item.get("status", "not_started"),
                "progress_narrative": item.get("progress_narrative", ""),
                "evidence_of_impact": item.get("evidence_of_impact", ""),
                "evidence_accepted_by": leads.get(item.get("evidence_accepted_by")),
                "evidence_accepted_at": _noon(item.get("evidence_accepted_on")),
            },
        )
        if action._created and item.get("findings"):
            action.findings.set([findings[reference] for reference in item["findings"]])
    for item in data.get("indicators", []):
        indicator = create(
            Indicator,
            lookup={"plan": plan, "code": item["code"]},
            values={
                "workstream": workstreams[item["workstream"]],
                "name": item["name"],
                "description": item.get("description", ""),
                "unit": item.get("unit", Indicator.Unit.NUMBER),
                "target": Decimal(str(item["target"])),
                "tolerance": Decimal(str(item.get("tolerance", 0))),
                "higher_is_better": item.get("higher_is_better", True),
            },
        )
        for value in item.get("values", []):
            create(
                IndicatorValue,
                lookup={"indicator": indicator, "period": _period(value["period"])},
                values={"value": Decimal(str(value["value"])), "note": value.get("note", "")},
            )
    service_areas = {
        item["name"]: create(ServiceArea, lookup={"name": item["name"]}, values={})
        for item in data.get("service_areas", [])
    }
    for item in data.get("workforce_snapshots", []):
        create(
            WorkforceSnapshot,
            lookup={
                "service_area": service_areas[item["service_area"]],
                "as_of": _date(item["as_of"]),
            },
            values={
                "cutoff": _date(item["cutoff"]),
                "total": item["total"],
                "locum": item["locum"],
                "salaried": item["salaried"],
                "in_post_before_cutoff": item["in_post_before_cutoff"],
                "joined_since_cutoff": item["joined_since_cutoff"],
            },
        )
    return plan


# --- Keeping actions up to date ------------------------------------------------------------


class ActionChangedSinceOpened(Exception):
    """Someone saved the action after this user opened it; nothing was saved.

    ``changes`` lists what they changed (readable), ``action`` is the action as it is now.
    """

    def __init__(self, action: Action, changes: list[FieldChange], changed_by: list[str]):
        self.action = action
        self.changes = changes
        self.changed_by = changed_by
        super().__init__(f"{action.reference} changed since it was opened")

    def explain(self, since: str = "it was opened") -> str:
        """One sentence for a person: what changed since ``since``, by whom, at which version.

        E.g. "MP-1.2 changed in Grip since this file was exported (now version 5; Sam Jones
        changed Status, Progress narrative)."
        """
        what = ", ".join(change.label for change in self.changes) or "it"
        who = " and ".join(self.changed_by) or "someone"
        return (
            f"{self.action.reference} changed in Grip since {since} (now version "
            f"{self.action.version}; {who} changed {what})."
        )


def _changes_since(action: Action, version: int) -> tuple[list[FieldChange], list[str]]:
    """What changed on ``action`` since it stood at ``version``, and who changed it."""
    # Rows recorded in one moment (an action made and its findings linked, by plan_load)
    # are told apart by their order of writing.
    latest_first = ("-history_date", "-history_id")
    opened = action.history.filter(version=version).order_by(*latest_first).first()
    current = action.history.order_by(*latest_first).first()
    if opened is None or current is None:
        return [], []
    later = action.history.filter(history_date__gt=opened.history_date).select_related(
        "history_user"
    )
    who = sorted({display_name(r.history_user) for r in later if r.history_user})
    return changes_between(opened, current), who


def action_version_check(*, action: Action, based_on_version) -> None:
    """Raise ``ActionChangedSinceOpened`` unless ``action`` (as read now, best locked) still
    stands at ``based_on_version``, the version a form was opened on or a file exported at.

    The one version check every write path shares: the update form, the admin, imports.
    """
    if action.version != based_on_version:
        changes, who = _changes_since(action, based_on_version)
        raise ActionChangedSinceOpened(action, changes, who)


def action_lock(action: Action) -> Action:
    """The action read afresh and locked until the transaction ends (its row only), with the
    plan, workstream and priority its rules and validation read."""
    return (
        Action.objects.select_for_update(of=("self",))
        .select_related("plan", "workstream", "priority")
        .get(pk=action.pk)
    )


def _lock_for_change(action: Action, by, based_on_version: int, permission: str) -> Action:
    """The action, locked for this transaction, once ``by`` may change it and nobody has
    saved it since ``based_on_version``."""
    locked = action_lock(action)
    if not by.has_perm(permission, locked):
        raise PermissionDenied(f"You may not change {locked.reference}.")
    action_version_check(action=locked, based_on_version=based_on_version)
    return locked


def set_outcome(action: Action, *, status: str, evidence_of_impact: str) -> None:
    """Set an action's status and evidence (unsaved). The chair's acceptance of the evidence
    holds only while the action stays complete with the evidence the chair saw."""
    evidence_unchanged = (
        action.status == ActionStatus.COMPLETE and action.evidence_of_impact == evidence_of_impact
    )
    action.status, action.evidence_of_impact = status, evidence_of_impact
    if status != ActionStatus.COMPLETE or not evidence_unchanged:
        action.evidence_accepted_at = action.evidence_accepted_by = None


def recorded_as_by(function):
    """Run a service in one transaction, with ``by`` recorded as the author in the history."""

    @functools.wraps(function)
    def wrapper(*, by, **kwargs):
        with transaction.atomic(), acting_as(by):
            return function(by=by, **kwargs)

    return wrapper


def _count_if_slip(action: Action, change: DueDateChange) -> None:
    """Keep the action's ``slip_count`` (``selectors.slips_of`` counts the same moves) as a
    decided change is saved: one more if it was approved and moves the date later."""
    if change.decision == DueDateChange.Decision.APPROVED and change.is_slip:
        action.slip_count += 1


def _save_action(action: Action) -> None:
    """Validate and save an action read with ``select_for_update`` in this transaction (or
    a new one)."""
    validate(action)
    action.save(locked=True)


# --- Keeping the plan: what the programme office changes in the admin ----------------------

# What the plan says about an action, which the programme office keeps (in the admin, or a
# plan spreadsheet). Its delivery (status, narrative, evidence and the chair's acceptance of
# it, a revised due date) moves only through the update form and the chair's decisions,
# where the rules live; the agreed due date is set once, when the action is added.
ACTION_PLAN_FIELDS = ("title", "description", "lead_officer", "priority")


def _findings_of(plan: Plan, findings) -> list[Finding]:
    """``findings`` as a list, once they all belong to ``plan`` (an action answers its own
    plan's findings; references repeat from plan to plan)."""
    findings = list(findings)
    elsewhere = sorted(f.reference for f in findings if f.plan_id != plan.pk)
    if elsewhere:
        raise ValidationError(
            {"findings": f"These findings belong to another plan: {', '.join(elsewhere)}."}
        )
    return findings


def link_findings(action: Action, findings) -> bool:
    """Link ``action`` to exactly ``findings`` (of its own plan); True when that changed.

    The link is made without history rows of its own: the save that follows records the
    findings with the action, at its new version, so a findings change is a version too.
    """
    findings = _findings_of(action.plan, findings)
    if {f.pk for f in findings} == set(action.findings.values_list("pk", flat=True)):
        return False
    action.skip_history_when_saving = True
    try:
        action.findings.set(findings)
    finally:
        del action.skip_history_when_saving
    return True


@recorded_as_by
def action_plan_change(
    *, action: Action, by, based_on_version: int, findings=None, **fields
) -> Action:
    """Change what the plan says about an action (``ACTION_PLAN_FIELDS`` and its findings),
    as the programme office does in the admin.

    Like an update: the row is locked, ``by`` must be allowed to change this action, and a
    save based on an older version is refused (``ActionChangedSinceOpened``), changing
    nothing. A save that changes nothing writes nothing (no version, no history row).
    """
    unknown = set(fields) - set(ACTION_PLAN_FIELDS)
    if unknown:
        raise TypeError(f"Not part of an action's plan: {', '.join(sorted(unknown))}.")
    action = _lock_for_change(action, by, based_on_version, "workstreams.change_action")
    changed = [name for name, value in fields.items() if getattr(action, name) != value]
    for name in changed:
        setattr(action, name, fields[name])
    if findings is not None and link_findings(action, findings):
        changed.append("findings")
    if changed:
        _save_action(action)
    return action


@recorded_as_by
def action_create(
    *,
    by,
    plan: Plan,
    workstream: Workstream,
    reference: str,
    title: str,
    due_date: datetime.date,
    description: str = "",
    lead_officer=None,
    priority: Priority | None = None,
    findings=(),
) -> Action:
    """Add an action to a plan (the programme office). It starts "not started", with the due
    date the plan agreed; everything after that happens through updates."""
    if not by.has_perm("workstreams.add_action"):
        raise PermissionDenied("Only the programme office adds actions to the plan.")
    action = Action(
        plan=plan,
        workstream=workstream,
        reference=reference,
        title=title,
        due_date=due_date,
        description=description,
        lead_officer=lead_officer,
        priority=priority,
        status=ActionStatus.NOT_STARTED,
    )
    findings = _findings_of(plan, findings)
    _save_action(action)
    if findings:
        action.findings.set(findings)  # recorded in the history at the first version
    return action


@recorded_as_by
def action_update_record(
    *,
    action: Action,
    by,
    based_on_version: int,
    status: str,
    progress_narrative: str,
    evidence_of_impact: str = "",
    next_steps: str = "",
    revised_due_date: datetime.date | None = None,
    due_date_reason: str = "",
) -> ActionUpdate:
    """Record a monthly update of an action and bring the action to it, in one transaction.

    - Refused (``PermissionDenied``) unless ``by`` may update the action, and
      (``ActionChangedSinceOpened``) when someone saved it after ``based_on_version``.
    - "Complete" needs evidence of impact. It counts as evidenced (blue) only once the
      workstream's task group chair accepts the evidence; a chair's own "complete" is
      accepted at once. Leaving "complete" withdraws the acceptance.
    - A new due date needs a reason. From the chair it applies at once; from anyone else it
      is a request for the chair to decide. The original due date is never overwritten.
    """
    action = _lock_for_change(action, by, based_on_version, "workstreams.change_action")
    chair = by.has_perm("workstreams.decide_due_date", action)
    today = timezone.localdate()
    _require_new_words(action, progress_narrative)

    set_outcome(action, status=status, evidence_of_impact=evidence_of_impact)
    action.progress_narrative = progress_narrative
    if status == ActionStatus.COMPLETE and chair and not action.evidence_accepted:
        action.evidence_accepted_at, action.evidence_accepted_by = timezone.now(), by

    if revised_due_date and revised_due_date != action.current_due_date:
        if not due_date_reason.strip():
            raise ValidationError({"due_date_reason": "Say why the due date needs to move."})
        validate_new_due_date(action, revised_due_date, today)
        change = DueDateChange(
            action=action,
            from_date=action.current_due_date,
            to_date=revised_due_date,
            reason=due_date_reason,
            requested_by=by,
        )
        pending = action.due_date_changes.filter(decision=DueDateChange.Decision.PENDING).first()
        if chair:
            change.decision = DueDateChange.Decision.APPROVED
            change.decided_by, change.decided_at = by, timezone.now()
            change.decision_comment = "Moved by the task group chair."
            action.revised_due_date, action.revised_due_reason = revised_due_date, due_date_reason
            if pending is not None:
                _settle_by_chairs_move(pending, by=by, new_date=revised_due_date)
                _count_if_slip(action, pending)
        elif pending is not None:
            raise ValidationError(
                {
                    "revised_due_date": "A request to move the due date is already waiting for "
                    "the task group chair. Ask them to decide it first."
                }
            )
        validate(change)
        change.save()
        _count_if_slip(action, change)

    # The month "no update yet this month" reads (``with_attention``), kept with the update.
    action.last_update_period = month_start(today)
    _save_action(action)
    update = ActionUpdate(
        action=action,
        period=action.last_update_period,
        status=status,
        progress_narrative=progress_narrative,
        evidence_of_impact=evidence_of_impact,
        next_steps=next_steps,
        revised_due_date=revised_due_date,
        created_by=by,
    )
    validate(update)
    update.save()
    return update


def due_date_limits(action: Action, today: datetime.date) -> tuple[datetime.date, datetime.date]:
    """The earliest and latest date an action's due date may move to: not in the past, and
    not later than the plan's end plus ``GRIP_DUE_DATE_MARGIN_DAYS``."""
    margin = datetime.timedelta(days=settings.GRIP_DUE_DATE_MARGIN_DAYS)
    return today, action.plan.period_end + margin


def validate_new_due_date(action: Action, new_date: datetime.date, today: datetime.date) -> None:
    earliest, latest = due_date_limits(action, today)
    if new_date < earliest:
        raise ValidationError(
            {"revised_due_date": f"The new due date must be today ({earliest:%-d %B %Y}) or later"}
        )
    if new_date > latest:
        raise ValidationError(
            {
                "revised_due_date": f"The new due date must be on or before {latest:%-d %B %Y}, "
                f"within {settings.GRIP_DUE_DATE_MARGIN_DAYS} days of the plan's end"
            }
        )


def _settle_by_chairs_move(pending: DueDateChange, *, by, new_date: datetime.date) -> None:
    """The chair moved the date themselves while a request waited: their move settles it,
    so approving the request later cannot overwrite the chair's date."""
    granted = pending.to_date == new_date
    pending.decision = (
        DueDateChange.Decision.APPROVED if granted else DueDateChange.Decision.REJECTED
    )
    pending.decided_by, pending.decided_at = by, timezone.now()
    pending.decision_comment = (
        f"Settled by the task group chair's own move of the due date to {new_date:%-d %B %Y}."
    )
    validate(pending)
    pending.save()


def _require_new_words(action: Action, progress_narrative: str) -> None:
    """A monthly update says what happened this month, not last month's words again."""
    last = action.updates.order_by("-created_at").values_list("progress_narrative", flat=True)
    previous = last.first()
    if previous is not None and previous.strip() == progress_narrative.strip():
        raise ValidationError(
            {
                "progress_narrative": "Say what progress was made this month: this is the same "
                "as the last update"
            }
        )


@recorded_as_by
def due_date_change_decide(
    *, change: DueDateChange, by, approve: bool, comment: str = ""
) -> DueDateChange:
    """The task group chair approves (the action's due date moves) or rejects a request."""
    change = DueDateChange.objects.select_for_update().select_related("action").get(pk=change.pk)
    action = action_lock(change.action)
    if not by.has_perm("workstreams.decide_due_date", action):
        raise PermissionDenied("Only the workstream's task group chair decides due dates.")
    if change.decision != DueDateChange.Decision.PENDING:
        raise ValidationError("This request has already been decided.")
    if not approve and not comment.strip():
        raise ValidationError({"comment": "Say why the request is rejected."})
    if approve and change.from_date != action.current_due_date:
        raise ValidationError(
            "The due date has changed since this request was made. Reject it and ask for a new "
            "request if the date still needs to move."
        )
    if approve:
        validate_new_due_date(action, change.to_date, timezone.localdate())
    change.decision = (
        DueDateChange.Decision.APPROVED if approve else DueDateChange.Decision.REJECTED
    )
    change.decided_by, change.decided_at, change.decision_comment = by, timezone.now(), comment
    validate(change)
    change.save()
    if approve:
        action.revised_due_date, action.revised_due_reason = change.to_date, change.reason
        _count_if_slip(action, change)
        _save_action(action)
    return change


@recorded_as_by
def action_evidence_accept(*, action: Action, by, based_on_version: int) -> Action:
    """The task group chair accepts a complete action's evidence of impact: it turns blue."""
    action = _lock_for_change(action, by, based_on_version, "workstreams.accept_evidence")
    if action.status != ActionStatus.COMPLETE:
        raise ValidationError("Only a complete action's evidence can be accepted.")
    if action.evidence_accepted:
        raise ValidationError("The evidence has already been accepted.")
    action.evidence_accepted_at, action.evidence_accepted_by = timezone.now(), by
    _save_action(action)
    return action


# --- Importing the plan from a spreadsheet -------------------------------------------------


class ImportRowRefused(Exception):
    """A row of a confirmed import could not be applied; nothing of the import was saved.

    ``row`` is its row number in the sheet, ``reason`` what stopped it, for the person."""

    def __init__(self, row: int, reference: str, reason: str):
        self.row, self.reference, self.reason = row, reference, reason
        super().__init__(f"Row {row} ({reference}): {reason}")


@dataclass(frozen=True)
class ImportedAction:
    """One row of a confirmed import, as ``imports.preview`` planned it.

    ``action`` is the action in Grip (None: ``new`` holds ``action_create``'s fields), read
    at ``based_on_version``; ``plan`` holds the ``ACTION_PLAN_FIELDS`` that change; ``update``
    ``action_update_record``'s fields when its delivery changes, with ``progress_narrative``
    None when the file's words are not new, and ``changed`` naming what changed."""

    row: int
    reference: str
    action: Action | None = None
    based_on_version: int | None = None
    new: dict = dataclass_field(default_factory=dict)
    plan: dict = dataclass_field(default_factory=dict)
    update: dict | None = None
    changed: tuple[str, ...] = ()


# An upload waits this long for its confirmation; each person's latest upload only.
IMPORT_KEPT_FOR = datetime.timedelta(days=1)


def _may_import(by) -> None:
    if not by.has_perm("workstreams.import_plan"):
        raise PermissionDenied("Only the programme office imports the plan.")


@transaction.atomic
def action_import_start(
    *, by, plan: Plan, file_name: str, sheet: str, header_row: int, headings, fields, rows, preview
) -> ActionImport:
    """Keep an uploaded sheet as read (``imports.read_and_preview``) until ``by`` confirms
    it. What waits is bounded: ``by``'s earlier uploads still waiting, and anyone's older
    than ``IMPORT_KEPT_FOR``, are dropped."""
    from .imports import preview_summary

    _may_import(by)
    stale = Q(uploaded_by=by) | Q(uploaded_at__lt=timezone.now() - IMPORT_KEPT_FOR)
    ActionImport.objects.filter(stale, state=ActionImport.State.PREVIEWED).delete()
    return ActionImport.objects.create(
        plan=plan,
        uploaded_by=by,
        file_name=file_name,
        sheet=sheet,
        header_row=header_row,
        headings=headings,
        fields=fields,
        rows=rows,
        preview=preview,
        summary=preview_summary(preview, rows),
    )


@transaction.atomic
def action_import_read_again(
    *, action_import: ActionImport, by, fields, preview, remember: bool = True
) -> ActionImport:
    """The waiting import, its columns read as ``fields`` and its ``preview`` made afresh
    (``imports.preview_if_readable``). ``remember``: keep the mapping for the next sheet with
    the same headings (``ImportMapping``), whoever uploads it."""
    from .imports import headings_key, normalise, preview_summary

    _may_import(by)
    action_import = ActionImport.objects.select_for_update().get(pk=action_import.pk)
    if action_import.state != ActionImport.State.PREVIEWED:
        raise ValidationError("This file has been imported already.")
    action_import.fields, action_import.preview = list(fields), preview
    action_import.summary = preview_summary(preview, action_import.rows)
    action_import.save(update_fields=["fields", "preview", "summary"])
    if remember:
        ImportMapping.objects.update_or_create(
            headings_key=headings_key(action_import.headings),
            defaults={
                "headings": [normalise(h) for h in action_import.headings],
                "fields": list(fields),
                "saved_by": by,
                "saved_at": timezone.now(),
            },
        )
    return action_import


@recorded_as_by
def plan_import_apply(*, by, action_import, rows: list[ImportedAction]) -> ActionImport:
    """Apply a previewed import (``ActionImport``), in one transaction: every row or none.

    Each row goes through the services an officer's own change would: a new action through
    ``action_create``; what the plan says through ``action_plan_change``; status, progress,
    next steps, evidence and the due date through ``action_update_record``, with its due-date
    rule (from the programme office, a request for the task group chair; from the chair,
    their own move), its permission and version check, recorded in the history as ``by``.
    An update whose words the file did not change says it came from the import (the service
    refuses the same words twice). The first row refused (its action changed since the
    preview, its reference taken since, a rule) raises ``ImportRowRefused``, and nothing is
    saved. The import is marked imported once, so confirming twice does not apply it twice.
    """
    _may_import(by)
    action_import = ActionImport.objects.select_for_update().get(pk=action_import.pk)
    if action_import.state != ActionImport.State.PREVIEWED:
        raise ValidationError("This file has been imported already.")
    if not action_import.preview:
        raise ValidationError("Choose what the columns hold first: nothing can be imported yet.")
    today = timezone.localdate()
    source = f"the spreadsheet {action_import.file_name}, imported by {display_name(by)}"
    counts = {"created": 0, "changed": 0}
    for row in rows:
        try:
            _apply_row(row, by=by, plan=action_import.plan, source=source, today=today)
        except ActionChangedSinceOpened as stale:
            raise ImportRowRefused(
                row.row, row.reference, stale.explain(since="the preview")
            ) from stale
        except (ValidationError, PermissionDenied) as refused:
            reason = " ".join(getattr(refused, "messages", None) or [str(refused)])
            raise ImportRowRefused(row.row, row.reference, reason) from refused
        counts["created" if row.action is None else "changed"] += 1
    # What stays of it: who imported what, and the rows that changed something (without
    # what was needed to apply them); the sheet's rows are not kept.
    previewed = action_import.preview
    done = [
        {key: row[key] for key in ("row", "reference", "kind", "changes")}
        for row in previewed.get("rows", [])
        if row["kind"] in ("create", "change")
    ]
    action_import.state = ActionImport.State.IMPORTED
    action_import.imported_by, action_import.imported_at = by, timezone.now()
    action_import.created, action_import.changed = counts["created"], counts["changed"]
    action_import.left_alone = previewed.get("counts", {}).get("same", 0)
    action_import.left_out = previewed.get("counts", {}).get("error", 0)
    action_import.rows, action_import.preview, action_import.summary = [], {"rows": done}, {}
    action_import.save()
    return action_import


def _apply_row(row: ImportedAction, *, by, plan: Plan, source: str, today) -> None:
    if row.action is None:
        action = action_create(by=by, plan=plan, reference=row.reference, **row.new)
        version = action.version
    else:
        action, version = row.action, row.based_on_version
        if row.plan:
            action = action_plan_change(action=action, by=by, based_on_version=version, **row.plan)
            version = action.version
    if row.update is None:
        return
    update = dict(row.update)
    when = f"{today:%-d %B %Y}"
    if not update.get("progress_narrative"):
        what = " and ".join(", ".join(label.lower() for label in row.changed).rsplit(", ", 1))
        update["progress_narrative"] = f"Updated from {source} on {when}" + (
            f" ({what})." if what else "."
        )
    if update.get("revised_due_date") and not update.get("due_date_reason"):
        update["due_date_reason"] = f"New due date given in {source} on {when}."
    action_update_record(action=action, by=by, based_on_version=version, **update)
