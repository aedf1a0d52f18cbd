"""Writes to the governance structure. Each public function is one transaction."""

import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from workstreams import services as delivery_services
from workstreams.audit import acting_as, display_name
from workstreams.history import changes_between
from workstreams.models import Action, Plan, Workstream, month_start
from workstreams.services import create_if_missing, recorded_as_by
from workstreams.validation import validate

from . import selectors
from .models import (
    Body,
    Decision,
    Meeting,
    Membership,
    ProgressReport,
    Reminder,
    ReportItem,
    Review,
    Risk,
)
from .roles import PROGRAMME_OFFICE_GROUP

GROUPS = (PROGRAMME_OFFICE_GROUP,)


@transaction.atomic
def demo_users_load(*, users: list[dict], password: str) -> list:
    """Create the demo users that are missing (and their groups), with ``password``.

    A user who exists is left as they are (name, password, rights, active or not), so
    running again keeps whatever an administrator changed.
    """
    User = get_user_model()
    for name in GROUPS:
        Group.objects.get_or_create(name=name)
    loaded = []
    for item in users:
        values = {
            "first_name": item.get("first_name", ""),
            "last_name": item.get("last_name", ""),
            "email": item.get("email", ""),
            "is_staff": item.get("is_staff", False),
            "is_superuser": item.get("is_superuser", False),
            "is_active": True,
        }
        user = User.objects.filter(username=item["username"]).first()
        if user is None:
            user = User(username=item["username"], **values)
            user.set_password(password)
            user.save()
            user.groups.set(Group.objects.filter(name__in=item.get("groups", [])))
        loaded.append(user)
    return loaded


@transaction.atomic
def governance_load(*, data: dict, plan: Plan) -> list[Body]:
    """Load the bodies (who reports to whom) and memberships of a plan's data file: what is
    missing is created, what exists is left as people have changed it."""
    User = get_user_model()
    workstreams = {workstream.code: workstream for workstream in plan.workstreams.all()}
    bodies = {}
    # Two passes: a body may report to one listed after it.
    for item in data.get("bodies", []):
        bodies[item["name"]] = create_if_missing(
            Body,
            lookup={"name": item["name"]},
            values={
                "kind": item["kind"],
                "workstream": workstreams[item["workstream"]] if item.get("workstream") else None,
                "chair_title": item.get("chair_title", ""),
                "meets": item.get("meets", ""),
                "purpose": item.get("purpose", ""),
            },
        )
    for item in data.get("bodies", []):
        body = bodies[item["name"]]
        if body._created and item.get("reports_to"):
            body.reports_to = bodies[item["reports_to"]]
            validate(body)
            body.save()
    for item in data.get("memberships", []):
        user = User.objects.filter(username=item["username"]).first()
        if user is None:
            raise ValueError(
                f"Membership of {item['body']}: there is no user '{item['username']}'."
            )
        create_if_missing(
            Membership,
            lookup={"body": bodies[item["body"]], "user": user},
            values={"role": item["role"], "title": item.get("title", "")},
        )
    return list(bodies.values())


def sign_in_record(*, user) -> None:
    """Note when ``user`` signed in (``last_login``), as Django does, but without a save:
    ``last_login`` is left out of people's history, and a save would write a history row
    that changes nothing at every sign-in."""
    user.last_login = timezone.now()
    type(user)._default_manager.filter(pk=user.pk).update(last_login=user.last_login)


def people_deactivate(*, people, by) -> list:
    """Deactivate people who have left: they can no longer sign in, and their name stays on
    everything they did (people are never deleted). Each is saved, so the history records
    the change and who made it. Returns those deactivated (the already inactive are left)."""
    if not by.has_perm("auth.change_user"):
        raise PermissionDenied("Only an administrator deactivates people.")
    User = get_user_model()
    with transaction.atomic(), acting_as(by):
        people = list(User.objects.select_for_update().filter(pk__in=[p.pk for p in people]))
        if any(person.pk == by.pk for person in people):
            raise ValidationError(
                "You cannot deactivate yourself: ask another administrator. Nobody was deactivated."
            )
        done = []
        for person in people:
            if person.is_active:
                person.is_active = False
                person.save(update_fields=["is_active"])
                done.append(person)
    return done


# --- Four-question reports -----------------------------------------------------------------
# Each step is one transaction that locks the report's row, so two reviewers acting at once
# cannot both succeed, checks the actor's permission and the report's state, and records
# an append-only Review. Nothing else moves a report's status.


class ReportChangedSinceOpened(Exception):
    """Someone changed the report after this user opened it; nothing was saved."""

    def __init__(self, report: ProgressReport):
        self.report = report
        super().__init__(f"{report} changed since it was opened")


def _lock_report(report: ProgressReport, based_on_version: int | None = None) -> ProgressReport:
    """The report read afresh and locked until the transaction ends; with
    ``based_on_version`` (the version the reviewer read), refused if it changed since: an
    endorsement or sign-off applies to the words the reviewer saw."""
    # Only the report's row is locked (a programme-wide report has no workstream to join).
    locked = (
        ProgressReport.objects.select_for_update(of=("self",))
        .select_related("plan", "workstream")
        .get(pk=report.pk)
    )
    if based_on_version is not None and locked.version != based_on_version:
        raise ReportChangedSinceOpened(locked)
    return locked


def _require(by, permission: str, subject, message: str) -> None:
    if not by.has_perm(permission, subject):
        raise PermissionDenied(message)


def _require_state(report: ProgressReport, *states, doing: str) -> None:
    if report.status not in states:
        raise ValidationError(
            f"This report is {report.get_status_display().lower()}, so it cannot be {doing}."
        )


def _review(report, *, step, by, comment="", meeting=None) -> Review:
    if meeting is not None and meeting.period != report.period:
        raise ValidationError("That meeting reviews another month's reports.")
    review = Review(report=report, step=step, by=by, comment=comment, meeting=meeting)
    validate(review)
    review.save()
    return review


@recorded_as_by
def report_start(
    *, by, plan: Plan, period: datetime.date, workstream: Workstream | None = None
) -> ProgressReport:
    """Start the period's report of a workstream (or the programme-wide report), pre-filled
    from the data, with last period's open "what needs to happen" items carried over."""
    _require(
        by,
        "governance.draft_report",
        workstream,
        "Only the workstream's lead officers, its task group or the programme office start "
        "its report; the programme office starts the programme-wide report.",
    )
    if workstream is not None and workstream.plan_id != plan.pk:
        raise ValidationError("That workstream belongs to another plan.")
    period = month_start(period)
    exists = ProgressReport.objects.filter(plan=plan, workstream=workstream, period=period)
    if exists.exists():
        raise ValidationError(f"The {period:%B %Y} report has already been started.")
    report = ProgressReport(
        plan=plan,
        workstream=workstream,
        period=period,
        created_by=by,
        **selectors.report_prefill(plan, workstream, period),
    )
    validate(report)
    report.save()
    for item in selectors.open_items_before(plan, workstream, period):
        carried = ReportItem(
            report=report,
            description=item.description,
            owner=item.owner,
            due_date=item.due_date,
            carried_from=item,
        )
        validate(carried)
        carried.save()
    return report


def _lock_draft(report: ProgressReport, by, based_on_version: int | None) -> ProgressReport:
    report = _lock_report(report)
    _require(by, "governance.draft_report", report, "You may not change this report.")
    _require_state(report, ProgressReport.Status.DRAFT, doing="changed")
    if based_on_version is not None and report.version != based_on_version:
        raise ReportChangedSinceOpened(report)
    return report


@recorded_as_by
def report_edit(
    *,
    report: ProgressReport,
    by,
    based_on_version: int,
    working_well: str,
    how_we_know: str,
    worried_about: str,
) -> ProgressReport:
    """Change a draft's answers. Refused once submitted, and when someone saved the report
    after ``based_on_version``."""
    report = _lock_draft(report, by, based_on_version)
    report.working_well, report.how_we_know = working_well, how_we_know
    report.worried_about = worried_about
    validate(report)
    report.save(locked=True)
    return report


@recorded_as_by
def report_item_add(
    *, report: ProgressReport, by, description: str, owner, due_date: datetime.date
) -> ReportItem:
    """Add a line to "What needs to happen, and by when?" of a draft."""
    report = _lock_draft(report, by, None)
    item = ReportItem(report=report, description=description, owner=owner, due_date=due_date)
    validate(item)
    item.save()
    report.save(locked=True)  # a new version: a form opened before this item cannot save over it
    return item


@recorded_as_by
def report_item_settle(*, item: ReportItem, by, outcome: str) -> ReportItem:
    """Say whether an item happened (in the draft it belongs to)."""
    report = _lock_draft(item.report, by, None)
    item = ReportItem.objects.select_for_update().get(pk=item.pk)
    item.outcome = outcome
    validate(item)
    item.save()
    report.save(locked=True)
    return item


@recorded_as_by
def report_item_remove(*, item: ReportItem, by) -> None:
    """Take a line the author added out of a draft. A line carried from last period stays:
    it is settled (happened or not), never dropped."""
    report = _lock_draft(item.report, by, None)
    if item.carried_from_id is not None:
        raise ValidationError(
            "A line carried from last period cannot be removed: say whether it happened."
        )
    ReportItem.objects.filter(pk=item.pk).get().delete()
    report.save(locked=True)


@recorded_as_by
def report_item_to_action(*, item: ReportItem, by, reference: str, priority=None) -> Action:
    """Make an item a tracked action of the report's workstream (the programme office adds
    actions), led by the item's owner and due when the item is."""
    item = ReportItem.objects.select_for_update().select_related("report").get(pk=item.pk)
    report = item.report
    if report.workstream_id is None:
        raise ValidationError("Only a workstream report's items become that workstream's actions.")
    if item.action_id is not None:
        raise ValidationError(f"This item is already tracked as {item.action.reference}.")
    action = delivery_services.action_create(
        by=by,
        plan=report.plan,
        workstream=report.workstream,
        reference=reference,
        title=item.description[:200],
        description=item.description,
        lead_officer=item.owner,
        due_date=item.due_date,
        priority=priority,
    )
    item.action = action
    item.save()
    return action


@recorded_as_by
def report_submit(
    *, report: ProgressReport, by, comment: str = "", meeting=None, based_on_version=None
) -> Review:
    """The author sends the draft for endorsement (a programme-wide report, which has no task
    group, goes straight to the programme board chair)."""
    report = _lock_report(report, based_on_version)
    _require(by, "governance.draft_report", report, "You may not submit this report.")
    _require_state(report, ProgressReport.Status.DRAFT, doing="submitted")
    for question in ("working_well", "how_we_know", "worried_about"):
        if not getattr(report, question).strip():
            label = ProgressReport._meta.get_field(question).verbose_name
            raise ValidationError(f"Answer “{label}” before submitting the report.")
    report.status = ProgressReport.Status.SUBMITTED
    report.save(locked=True)
    return _review(report, step=Review.Step.SUBMIT, by=by, comment=comment, meeting=meeting)


@recorded_as_by
def report_endorse(
    *, report: ProgressReport, by, comment: str = "", meeting=None, based_on_version=None
) -> Review:
    """The workstream's task group chair endorses a submitted report for the board."""
    report = _lock_report(report, based_on_version)
    _require(
        by,
        "governance.endorse_report",
        report,
        "Only the workstream's task group chair endorses its report.",
    )
    if report.workstream_id is None:
        raise ValidationError(
            "The programme-wide report has no task group: it goes straight to the programme "
            "board chair for sign-off."
        )
    _require_state(report, ProgressReport.Status.SUBMITTED, doing="endorsed")
    report.status = ProgressReport.Status.ENDORSED
    report.save(locked=True)
    return _review(report, step=Review.Step.ENDORSE, by=by, comment=comment, meeting=meeting)


@recorded_as_by
def report_sign_off(
    *, report: ProgressReport, by, comment: str = "", meeting=None, based_on_version=None
) -> Review:
    """The programme board chair signs the report off: it is frozen as it stands, with what
    it reported on (actions, indicators, risks) written into its snapshot and sealed by a
    checksum."""
    report = _lock_report(report, based_on_version)
    _require(
        by,
        "governance.sign_off_report",
        report,
        "Only the programme board chair signs reports off.",
    )
    ready = (
        ProgressReport.Status.ENDORSED if report.workstream_id else ProgressReport.Status.SUBMITTED
    )
    _require_state(report, ready, doing="signed off")
    report.snapshot = selectors.report_snapshot(report)
    report.checksum = selectors.snapshot_checksum(report.snapshot)
    report.signed_off_at = timezone.now()
    report.status = ProgressReport.Status.SIGNED_OFF
    validate(report)
    report.save(locked=True)
    return _review(report, step=Review.Step.SIGN_OFF, by=by, comment=comment, meeting=meeting)


@recorded_as_by
def report_return(
    *, report: ProgressReport, by, comment: str, meeting=None, based_on_version=None
) -> Review:
    """A reviewer sends the report back to its author with a comment: the task group chair a
    submitted one, the programme board chair an endorsed one (or a submitted programme-wide
    one)."""
    report = _lock_report(report, based_on_version)
    _require_state(
        report, ProgressReport.Status.SUBMITTED, ProgressReport.Status.ENDORSED, doing="returned"
    )
    chairs_turn = report.status == ProgressReport.Status.SUBMITTED and report.workstream_id
    permission = "governance.endorse_report" if chairs_turn else "governance.sign_off_report"
    _require(by, permission, report, "You may not return this report.")
    if not comment.strip():
        raise ValidationError("Say what needs to change before the report comes back.")
    report.status = ProgressReport.Status.DRAFT
    report.save(locked=True)
    return _review(report, step=Review.Step.RETURN, by=by, comment=comment, meeting=meeting)


@recorded_as_by
def report_reopen(*, report: ProgressReport, by, comment: str, based_on_version=None) -> Review:
    """The programme office reopens a signed-off report, with a reason. The signed-off
    content stays in the report's history (with its checksum) and the reviews."""
    report = _lock_report(report, based_on_version)
    _require(by, "governance.reopen_report", report, "Only the programme office reopens reports.")
    _require_state(report, ProgressReport.Status.SIGNED_OFF, doing="reopened")
    if not comment.strip():
        raise ValidationError("Say why the signed-off report is reopened.")
    report.status = ProgressReport.Status.DRAFT
    report.snapshot, report.checksum, report.signed_off_at = {}, "", None
    validate(report)
    report.save(locked=True)
    return _review(report, step=Review.Step.REOPEN, by=by, comment=comment)


# --- Meetings and their decisions ----------------------------------------------------------
# Recorded by the body's chair or secretary, or the programme office. A decision stays open,
# carried to each next meeting of the body, until a later meeting closes it.


def _require_recorder(by, body: Body) -> None:
    _require(
        by,
        "governance.record_meeting",
        body,
        f"Only the chair or secretary of the {body} or the programme office records its "
        "meetings and decisions.",
    )


def _meeting_fields(meeting: Meeting, *, date, period, minutes) -> None:
    period = month_start(period)
    if period > month_start(date):
        raise ValidationError(
            {"period": "A meeting reviews its own month or an earlier one, not a later month."}
        )
    clash = Meeting.objects.filter(body_id=meeting.body_id, date=date).exclude(pk=meeting.pk)
    if clash.exists():
        raise ValidationError(
            {"date": f"The {meeting.body} already has a meeting on {date:%-d %B %Y}."}
        )
    meeting.date, meeting.period, meeting.minutes = date, period, minutes
    validate(meeting)


@recorded_as_by
def meeting_record(
    *, by, body: Body, date: datetime.date, period: datetime.date, attendees, minutes: str = ""
) -> Meeting:
    """Record a meeting of ``body``: when, which month it reviewed, who came, the minutes."""
    _require_recorder(by, body)
    meeting = Meeting(body=body)
    _meeting_fields(meeting, date=date, period=period, minutes=minutes)
    meeting.save()
    meeting.attendees.set(attendees)
    return meeting


@recorded_as_by
def meeting_edit(
    *, by, meeting: Meeting, date: datetime.date, period: datetime.date, attendees, minutes: str
) -> Meeting:
    """Correct a meeting's record. Its body stays: a meeting of another body is another
    meeting."""
    meeting = (
        Meeting.objects.select_for_update(of=("self",)).select_related("body").get(pk=meeting.pk)
    )
    _require_recorder(by, meeting.body)
    if meeting.closed_decisions.filter(meeting__date__gte=date).exists():
        raise ValidationError(
            {"date": "This meeting closed decisions made on or after that date: keep it later."}
        )
    if meeting.decisions.filter(closed_at__date__lte=date).exists():
        raise ValidationError(
            {"date": "Decisions made at this meeting were closed on or before that date."}
        )
    _meeting_fields(meeting, date=date, period=period, minutes=minutes)
    meeting.save()
    if {user.pk for user in attendees} != set(meeting.attendees.values_list("pk", flat=True)):
        meeting.attendees.set(attendees)
    return meeting


@recorded_as_by
def decision_add(
    *, by, meeting: Meeting, text: str, owner=None, due_date: datetime.date | None = None
) -> Decision:
    """A decision or action agreed at ``meeting``: open until a later meeting closes it."""
    meeting = Meeting.objects.select_related("body").get(pk=meeting.pk)
    _require_recorder(by, meeting.body)
    if not text.strip():
        raise ValidationError({"text": "Say what was decided."})
    decision = Decision(meeting=meeting, text=text.strip(), owner=owner, due_date=due_date)
    validate(decision)
    decision.save()
    return decision


@recorded_as_by
def decision_close(*, by, decision: Decision, at_meeting: Meeting, note: str) -> Decision:
    """Close a decision at a later meeting of the same body, saying what came of it."""
    decision = (
        Decision.objects.select_for_update(of=("self",))
        .select_related("meeting__body")
        .get(pk=decision.pk)
    )
    _require_recorder(by, decision.meeting.body)
    if not decision.is_open:
        closed_on = decision.closed_at.date
        raise ValidationError(
            f"This decision was already closed at the meeting of {closed_on:%-d %B %Y}."
        )
    if at_meeting.body_id != decision.meeting.body_id:
        raise ValidationError("A decision is closed at a meeting of the body that made it.")
    if at_meeting.date <= decision.meeting.date:
        raise ValidationError("A decision is closed at a later meeting than the one that made it.")
    if not note.strip():
        raise ValidationError({"closing_note": "Say what came of the decision."})
    decision.closed_at, decision.closing_note = at_meeting, note.strip()
    validate(decision)
    decision.save()
    return decision


# --- Risks ---------------------------------------------------------------------------------
# A workstream's register is kept by its task group chair and lead officers, the
# programme-level register by the programme board chair; the programme office keeps all.
# Risk has no version: a change locks the row, and a form opened on an older state (its
# latest history row) is refused with what changed, never saved over it.

RISK_FIELDS = ("title", "description", "owner", "likelihood", "impact", "mitigation", "escalated")


class RiskChangedSinceOpened(Exception):
    """Someone changed the risk after this user opened it; nothing was saved."""

    def __init__(self, risk: Risk, changes: list, changed_by: list[str]):
        self.risk, self.changes, self.changed_by = risk, changes, changed_by
        super().__init__(f"{risk} changed since it was opened")


def _lock_risk(risk: Risk, by, based_on: int | None, *, doing: str) -> Risk:
    risk = Risk.objects.select_for_update(of=("self",)).select_related("workstream").get(pk=risk.pk)
    _require(
        by,
        "governance.keep_risk",
        risk,
        "Only the workstream's task group chair and lead officers or the programme office "
        "keep its risks; the programme board chair and the programme office keep the "
        "programme's.",
    )
    if risk.status != Risk.Status.OPEN:
        raise ValidationError(f"This risk is closed, so it cannot be {doing}.")
    current = selectors.risk_state(risk)
    if based_on is not None and current != based_on:
        opened = risk.history.filter(history_id=based_on).first()
        latest = risk.history.get(history_id=current)
        later = risk.history.filter(history_id__gt=based_on).select_related("history_user")
        who = sorted({display_name(r.history_user) for r in later if r.history_user})
        changes = changes_between(opened, latest) if opened is not None else []
        raise RiskChangedSinceOpened(risk, changes, who)
    return risk


@recorded_as_by
def risk_add(
    *,
    by,
    plan: Plan,
    workstream: Workstream | None,
    title: str,
    owner,
    likelihood: int,
    impact: int,
    description: str = "",
    mitigation: str = "",
    escalated: bool = False,
) -> Risk:
    """Add a risk to a workstream's register (``workstream`` None: the programme's)."""
    _require(
        by,
        "governance.keep_risk",
        workstream,
        "Only the workstream's task group chair and lead officers or the programme office "
        "add its risks; the programme board chair and the programme office the programme's.",
    )
    if workstream is not None and workstream.plan_id != plan.pk:
        raise ValidationError("That workstream belongs to another plan.")
    risk = Risk(
        plan=plan,
        workstream=workstream,
        title=title.strip(),
        description=description,
        owner=owner,
        likelihood=likelihood,
        impact=impact,
        mitigation=mitigation,
        escalated=escalated,
    )
    validate(risk)
    risk.save()
    return risk


@recorded_as_by
def risk_change(*, by, risk: Risk, based_on: int | None = None, note: str = "", **values) -> Risk:
    """Change an open risk's title, description, owner, likelihood, impact, mitigation or
    escalation (any of them, by keyword).

    ``based_on``: the risk's state (``selectors.risk_state``) when the form was opened; a
    change made since is refused (``RiskChangedSinceOpened``). ``note``, if given, says why,
    and is kept in the history. Nothing changed: nothing saved."""
    unknown = set(values) - set(RISK_FIELDS)
    if unknown:
        raise TypeError(f"Not a risk's field: {', '.join(sorted(unknown))}")
    risk = _lock_risk(risk, by, based_on, doing="changed")
    if "title" in values:
        values["title"] = values["title"].strip()
    changed = {
        name: value
        for name, value in values.items()
        if getattr(risk, "owner_id" if name == "owner" else name)
        != (getattr(value, "pk", value) if name == "owner" else value)
    }
    if not changed:
        return risk
    for name, value in changed.items():
        setattr(risk, name, value)
    validate(risk)
    risk._change_reason = note.strip() or None
    risk.save()
    return risk


@recorded_as_by
def risk_close(*, by, risk: Risk, note: str, based_on: int | None = None) -> Risk:
    """Close a risk that no longer threatens the plan, saying why (kept in its history)."""
    risk = _lock_risk(risk, by, based_on, doing="closed")
    if not note.strip():
        raise ValidationError({"note": "Say why the risk is closed."})
    risk.status = Risk.Status.CLOSED
    validate(risk)
    risk._change_reason = note.strip()
    risk.save()
    return risk


# --- The demo governance cycle (load_demo) ---------------------------------------------------
# The reference plan's data file may carry a month's cycle: meetings with their decisions,
# risks and reports (keys "meetings", "risks", "reports"). Each is loaded through the services
# above, acting as the person the data names (the lead drafts, the chair endorses, the board's
# chair signs off), so its reviews, snapshot and checksum are real ones. Only what is missing
# is created: a meeting (body and date), a risk (title in its register) or a report
# (workstream and month) that exists is left as people have changed it, with all it holds.

DEMO_STEPS = {
    Review.Step.SUBMIT: report_submit,
    Review.Step.ENDORSE: report_endorse,
    Review.Step.SIGN_OFF: report_sign_off,
    Review.Step.RETURN: report_return,
}


def _day(text: str | None) -> datetime.date | None:
    return datetime.date.fromisoformat(text) if text else None


def _month(text: str) -> datetime.date:
    """A period written "YYYY-MM", as the first day of that month."""
    return datetime.date.fromisoformat(f"{text}-01")


def _lines(lines) -> str:
    """An answer written as a list of points, as a draft's answers are written."""
    return "\n".join(f"- {line}" for line in lines) if isinstance(lines, list) else lines


@transaction.atomic
def demo_cycle_load(*, data: dict, plan: Plan) -> dict[str, int]:
    """Load the meetings, risks and reports of a plan's data file that are missing, through
    the services, as the users it names. Returns how many of each were created."""
    User = get_user_model()
    people: dict[str, object] = {}

    def person(username):
        if not username:
            return None
        if username not in people:
            # Fresh from the database: their roles (memberships) as loaded just before.
            people[username] = User.objects.filter(username=username).first()
            if people[username] is None:
                raise ValueError(f"The demo cycle names '{username}', who is not a user.")
        return people[username]

    workstreams = {workstream.code: workstream for workstream in plan.workstreams.all()}
    created = {"meetings": 0, "decisions": 0, "risks": 0, "reports": 0}

    def meeting_of(reference):
        if not reference:
            return None
        return Meeting.objects.filter(
            body__name=reference["body"], date=_day(reference["date"])
        ).first()

    for item in data.get("meetings", []):
        body = Body.objects.get(name=item["body"])
        if Meeting.objects.filter(body=body, date=_day(item["date"])).exists():
            continue
        recorder = person(item["recorded_by"])
        meeting = meeting_record(
            by=recorder,
            body=body,
            date=_day(item["date"]),
            period=_month(item["period"]),
            attendees=[person(name) for name in item.get("attendees", [])],
            minutes=item.get("minutes", ""),
        )
        created["meetings"] += 1
        for decision in item.get("decisions", []):
            decision_add(
                by=recorder,
                meeting=meeting,
                text=decision["text"],
                owner=person(decision.get("owner")),
                due_date=_day(decision.get("due_date")),
            )
            created["decisions"] += 1

    # Risks before reports: what a report is worried about, and its snapshot, include them.
    for item in data.get("risks", []):
        workstream = workstreams[item["workstream"]] if item.get("workstream") else None
        if Risk.objects.filter(plan=plan, workstream=workstream, title=item["title"]).exists():
            continue
        risk_add(
            by=person(item["added_by"]),
            plan=plan,
            workstream=workstream,
            title=item["title"],
            description=item.get("description", ""),
            owner=person(item["owner"]),
            likelihood=item["likelihood"],
            impact=item["impact"],
            mitigation=item.get("mitigation", ""),
            escalated=item.get("escalated", False),
        )
        created["risks"] += 1

    for item in data.get("reports", []):
        workstream = workstreams[item["workstream"]] if item.get("workstream") else None
        period = _month(item["period"])
        exists = ProgressReport.objects.filter(plan=plan, workstream=workstream, period=period)
        if exists.exists():
            continue
        author = person(item["drafted_by"])
        report = report_start(by=author, plan=plan, period=period, workstream=workstream)
        report = report_edit(
            report=report,
            by=author,
            based_on_version=report.version,
            working_well=_lines(item["working_well"]),
            how_we_know=_lines(item["how_we_know"]),
            worried_about=_lines(item["worried_about"]),
        )
        for line in item.get("items", []):
            report_item_add(
                report=report,
                by=author,
                description=line["description"],
                owner=person(line["owner"]),
                due_date=_day(line["due_date"]),
            )
        for step in item.get("steps", []):
            DEMO_STEPS[step["step"]](
                report=report,
                by=person(step["by"]),
                comment=step.get("comment", ""),
                meeting=meeting_of(step.get("meeting")),
            )
        created["reports"] += 1
    return created


# --- Reminders (send_reminders) ----------------------------------------------------------------


def reminder_send(
    *,
    user,
    kind: str,
    subject: str,
    body: str,
    about: str,
    today: datetime.date,
    connection=None,
) -> Reminder | None:
    """E-mail ``user`` one reminder of ``kind``, unless they had that kind of reminder today
    (then None). The record (``Reminder``, unique per user, kind and day) is written in the
    same transaction as the sending: a second run the same day finds it and sends nothing,
    two runs at once cannot both send (the second waits on the first's row), and a message
    the mail server refuses leaves no record, so the next run tries again."""
    with transaction.atomic():
        reminder, created = Reminder.objects.get_or_create(
            user=user, kind=kind, sent_on=today, defaults={"about": about}
        )
        if not created:
            return None
        EmailMessage(subject, body, to=[user.email], connection=connection).send()
    return reminder
