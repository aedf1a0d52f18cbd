"""Reads that need to know who sits where: what a user may update, what waits for them."""

import datetime
import difflib
import hashlib
import json
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db.models import Count, F, OuterRef, Prefetch, Q, Subquery, Window
from django.db.models.functions import RowNumber
from django.shortcuts import get_object_or_404
from django.utils import timezone

from workstreams import derived
from workstreams import selectors as delivery
from workstreams.audit import display_name
from workstreams.models import (
    OPEN_STATUSES,
    Action,
    ActionStatus,
    Attention,
    Indicator,
    IndicatorValue,
    Plan,
    Rag,
    Workstream,
    month_end,
    month_start,
)
from workstreams.templatetags.grip import measure

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
from .roles import roles_of

# A list on My work shows this many rows; the rest are a click away on the action list.
MY_WORK_ROWS = 25
# My work's lists: the first due first.
SHORTLIST_ORDER = ["current_due", "reference"]


@dataclass
class Shortlist:
    """The first rows of a list, how many there are in all, and where to see them all."""

    rows: list
    total: int
    all_url: str
    caption: str = ""
    # Whether its rows offer their update form (the lists of what needs the user's update).
    offers_update: bool = True

    @property
    def cut(self) -> bool:
        return self.total > len(self.rows)

    def __bool__(self) -> bool:
        return bool(self.total)


# --- What waits for whom: My work and the reminders (send_reminders) read the same ---------


@dataclass
class ReportsWaiting:
    """The reports waiting for one user, by what they wait for (``reports_waiting_for``).

    Each report carries ``last_review`` (its workflow's latest step, None before any) and
    ``sent_back`` (that step when it returned or reopened the report: its comment says what
    to change; else None)."""

    to_write: list = field(default_factory=list)
    to_endorse: list = field(default_factory=list)
    to_sign_off: list = field(default_factory=list)
    for_the_board: list = field(default_factory=list)

    @property
    def to_review(self) -> list:
        """The reports waiting for this user's decision: what a reviewer is reminded of."""
        return self.to_endorse + self.to_sign_off

    def __bool__(self) -> bool:
        return any((self.to_write, self.to_endorse, self.to_sign_off, self.for_the_board))


def open_reports(plan: Plan, today: datetime.date | None = None) -> list[ProgressReport]:
    """The plan's reports not yet signed off, of this period or an earlier one (a report
    still waiting from last month still waits), oldest first, with their reviews. Two
    queries however many reports there are."""
    today = today or timezone.localdate()
    reviews = Prefetch(
        "reviews",
        queryset=Review.objects.select_related("by").order_by("at", "pk"),
        to_attr="steps",
    )
    reports = list(
        ProgressReport.objects.filter(plan=plan, period__lte=month_start(today))
        .exclude(status=ProgressReport.Status.SIGNED_OFF)
        .select_related("workstream")
        .prefetch_related(reviews)
        .order_by("period", F("workstream__code").asc(nulls_last=True))
    )
    sent_back = (Review.Step.RETURN, Review.Step.REOPEN)
    for report in reports:
        report.last_review = report.steps[-1] if report.steps else None
        back = report.status == ProgressReport.Status.DRAFT and report.last_review is not None
        report.sent_back = (
            report.last_review if back and report.last_review.step in sent_back else None
        )
    return reports


def reports_waiting_for(
    user, plan: Plan, today: datetime.date | None = None, *, reports: list | None = None
) -> ReportsWaiting:
    """The reports waiting for ``user`` now, by their part in the governance structure:

    - drafts they may write (lead officers and task group of the workstream, the programme
      office), not yet submitted, or returned to them with a comment;
    - submitted workstream reports, for their task group chair's endorsement;
    - endorsed reports, and submitted programme-wide ones (which have no task group), for
      the programme board chair's sign-off; the board's other members see them coming.

    By role, not by power: a superuser, who may take any step, is not waited for as a
    reviewer. ``reports`` (``open_reports``) lets a caller asking for many users read them
    once; alone, it costs ``open_reports``'s two queries and the user's roles.
    """
    roles = roles_of(user)
    waiting = ReportsWaiting()
    writes = roles.is_programme_office or roles.is_superuser
    writes = writes or roles.led_workstream_ids or roles.task_group_workstream_ids
    if not (writes or roles.sits_on_programme_board):
        return waiting  # a reader (viewer): no report ever waits for them
    if reports is None:
        reports = open_reports(plan, today)
    Status = ProgressReport.Status
    for report in reports:
        workstream_id = report.workstream_id
        for_the_board = report.status == Status.ENDORSED or (
            report.status == Status.SUBMITTED and workstream_id is None
        )
        if report.status == Status.DRAFT:
            if roles.may_draft_report(workstream_id):
                waiting.to_write.append(report)
        elif report.status == Status.SUBMITTED and workstream_id is not None:
            if roles.may_endorse_report(workstream_id):
                waiting.to_endorse.append(report)
        elif for_the_board and roles.may_sign_off_report():
            waiting.to_sign_off.append(report)
        elif for_the_board and roles.sits_on_programme_board:
            waiting.for_the_board.append(report)
    return waiting


def actions_waiting_for_update(plan: Plan, today: datetime.date | None = None) -> dict:
    """Each lead officer's open actions with no update yet this period, by the lead's id,
    most pressing first: My work's rule (``ActionQuerySet.with_attention``), read for
    every lead at once. One query."""
    rows = (
        delivery.action_rows(
            plan.actions.filter(status__in=OPEN_STATUSES, lead_officer__isnull=False), today
        )
        .filter(updated_this_period=False)
        .order_by("lead_officer_id", "current_due", "reference")
    )
    waiting: dict[int, list] = {}
    for action in rows:
        waiting.setdefault(action.lead_officer_id, []).append(action)
    return waiting


@dataclass
class ReminderDue:
    """One reminder to e-mail: to whom, of which kind (``Reminder.Kind``), and what it lists:
    the actions waiting for their update, or the reports waiting for their review."""

    user: object
    kind: str
    actions: list = field(default_factory=list)
    reports: ReportsWaiting = field(default_factory=ReportsWaiting)


def reminders_due(plan: Plan, today: datetime.date | None = None) -> list[ReminderDue]:
    """Who is to be reminded of what today, as My work shows it: each lead officer of the
    open actions they lead with no update yet this period; each task group chair and the
    programme board chair of the reports waiting for their endorsement or sign-off. People
    who are inactive or have no e-mail address are in the list: the sender skips and counts
    them. A fixed number of queries, and each reviewer's roles."""
    today = today or timezone.localdate()
    due = [
        ReminderDue(user=actions[0].lead_officer, kind=Reminder.Kind.UPDATES, actions=actions)
        for actions in actions_waiting_for_update(plan, today).values()
    ]
    reports = open_reports(plan, today)
    if reports:
        reviewers = (
            get_user_model()
            .objects.filter(
                memberships__role=Membership.Role.CHAIR,
                memberships__body__kind__in=(Body.Kind.TASK_GROUP, Body.Kind.PROGRAMME_BOARD),
            )
            .distinct()
            .order_by("username")
        )
        for reviewer in reviewers:
            waiting = reports_waiting_for(reviewer, plan, today, reports=reports)
            if waiting.to_review:
                due.append(ReminderDue(user=reviewer, kind=Reminder.Kind.REVIEWS, reports=waiting))
    return sorted(due, key=lambda reminder: (reminder.user.get_username(), reminder.kind))


@dataclass
class MyWork:
    period: datetime.date
    may_update: bool = False
    without_update_count: int = 0
    needs_update: Shortlist = field(default_factory=lambda: Shortlist([], 0, ""))
    overdue: Shortlist = field(default_factory=lambda: Shortlist([], 0, ""))
    due_soon: Shortlist = field(default_factory=lambda: Shortlist([], 0, ""))
    due_date_requests: list = field(default_factory=list)
    # A chair's completed actions waiting for them to accept the evidence of impact: a
    # Shortlist for each workstream they chair that has any (``_awaiting_evidence``).
    awaiting_evidence: list = field(default_factory=list)
    chaired_workstreams: list = field(default_factory=list)
    # The plan at a glance: its actions by BRAG in each workstream, and in all
    # (``rag_table``); a chair's own workstreams are rows of it.
    plan_rows: list = field(default_factory=list)
    plan_total: object = None
    reports: ReportsWaiting = field(default_factory=ReportsWaiting)
    # They review or receive reports (a task group chair, the programme board): told so when
    # none is waiting.
    reviews_reports: bool = False

    @property
    def has_anything(self) -> bool:
        return any(
            (
                self.needs_update,
                self.overdue,
                self.due_soon,
                self.due_date_requests,
                self.awaiting_evidence,
            )
        )


def _attention_shortlists(actions, today: datetime.date) -> tuple[dict, int]:
    """The first MY_WORK_ROWS of ``actions`` (open actions the user updates) for each reason
    they need attention, most pressing first, each with its total and its list's link; and
    how many have no update this month. Two queries whatever the number of actions: the
    database ranks and counts them (a window), then only the rows shown are read whole. The
    programme office updates every action, so reading them all, as this once did, grew with
    the plan (9,000 open actions at 20,000: benchmarks/README.md)."""
    first = (
        actions.with_rag(today)
        .with_attention(today)
        .exclude(attention="")  # every open action without an update this month has a reason
        .annotate(
            place=Window(RowNumber(), partition_by=F("attention"), order_by=SHORTLIST_ORDER),
            in_list=Window(Count("id"), partition_by=F("attention")),
            without_update=Window(Count("id", filter=Q(updated_this_period=False))),
        )
        .filter(place__lte=MY_WORK_ROWS)
        .values_list("id", "attention", "in_list", "without_update")
    )
    totals, without_update, reasons = dict.fromkeys(Attention, 0), 0, {}
    for action_id, attention, in_list, without_update_in_all in first:
        totals[Attention(attention)], without_update = in_list, without_update_in_all
        reasons[action_id] = Attention(attention)
    lists = {reason: [] for reason in Attention}
    rows = delivery.action_rows(actions.model.objects.filter(id__in=list(reasons)), today)
    for action in rows.order_by(*SHORTLIST_ORDER):
        action.can_update = True  # the actions given are the ones the user may update
        # Listed under the reason it was counted with: an update saved between the two
        # queries may have changed its reason since (or left it none).
        lists[reasons[action.id]].append(action)
    shortlists = {
        reason: Shortlist(
            rows=lists[reason],
            total=totals[reason],
            all_url=delivery.action_list_url(mine="true", attention=reason.value),
        )
        for reason in Attention
    }
    return shortlists, without_update


def my_work(user, plan: Plan, today: datetime.date | None = None) -> MyWork:
    """What needs this user's update or decision this period.

    - of the open actions they may update, by the reason they need attention
      (``ActionQuerySet.with_attention``): overdue; due in the next 30 days; no update
      recorded this month. The lists do not overlap, each links to the action list filtered
      to exactly its rows, and ``without_update_count`` counts every one not yet updated
      this month;
    - for a task group chair: due-date moves and evidence waiting for their decision, and
      their workstream's actions by BRAG;
    - the plan at a glance: every workstream's actions by BRAG;
    - the four-question reports waiting for them (``reports_waiting_for``): to write, to
      endorse, to sign off, or coming to the programme board they sit on.
    """
    today = today or timezone.localdate()
    roles = roles_of(user)
    plan_rows, plan_total = derived.cached(
        "rag-table", (plan.pk, today), lambda: delivery.rag_table(plan, today)
    )
    work = MyWork(
        period=month_start(today),
        plan_rows=plan_rows,
        plan_total=plan_total,
        may_update=roles.may_update_any(),
        reports=reports_waiting_for(user, plan, today),
        reviews_reports=bool(roles.chaired_workstream_ids or roles.sits_on_programme_board),
    )
    if work.may_update:
        mine = delivery.actions_updatable_by(user, plan.actions.filter(status__in=OPEN_STATUSES))
        shortlists, work.without_update_count = _attention_shortlists(mine, today)
        work.overdue, work.due_soon, work.needs_update = (
            shortlists[reason] for reason in Attention
        )
    if roles.chaired_workstream_ids:
        chaired = plan.actions.filter(workstream_id__in=roles.chaired_workstream_ids)
        work.due_date_requests = list(delivery.pending_due_date_changes(chaired))
        work.chaired_workstreams = [
            row for row in work.plan_rows if row.workstream.pk in roles.chaired_workstream_ids
        ]
        work.awaiting_evidence = _awaiting_evidence(work.chaired_workstreams, chaired)
    return work


AWAITING_EVIDENCE_CAPTION = "Complete, with evidence of impact to accept"


def _awaiting_evidence(chaired_rows: list, chaired_actions) -> list:
    """For each workstream the chair chairs with completed actions waiting for them to accept
    the evidence of impact: the first MY_WORK_ROWS of those by reference, with the count and
    the link of the workstream's own "Delivered, awaiting evidence" (its row of counts, from
    ``rag_table``), so the number shown is the rows of the list it opens. One query whatever
    their number, and whether or not there are any (a page's queries do not depend on its
    data); a chair of 5,000 actions had all 67 on the page."""
    first = (
        delivery.awaiting_evidence(chaired_actions)
        .annotate(place=Window(RowNumber(), partition_by=F("workstream_id"), order_by="reference"))
        .filter(place__lte=MY_WORK_ROWS)
    )
    rows = {row.workstream.pk: [] for row in chaired_rows}
    for action in first:  # by reference: the window's order is the query's too
        rows[action.workstream_id].append(action)
    waiting = []
    for row in sorted(chaired_rows, key=lambda row: row.workstream.code):
        state = next(count for count in row.counts if count.rag == Rag.AWAITING_EVIDENCE)
        if state.count:
            waiting.append((row.workstream, state))
    return [
        Shortlist(
            rows=rows[workstream.pk],
            total=state.count,
            all_url=state.url,
            caption=AWAITING_EVIDENCE_CAPTION
            + (f": {workstream.code}, {workstream.name}" if len(waiting) > 1 else ""),
            offers_update=False,
        )
        for workstream, state in waiting
    ]


# --- Four-question reports -----------------------------------------------------------------


def report_day(period: datetime.date, today: datetime.date | None = None) -> datetime.date:
    """The day a report for ``period`` judges BRAG and overdue on: the period's end, or today
    while the period is still running."""
    return min(month_end(period), today or timezone.localdate())


def report_actions(plan: Plan, workstream: Workstream | None):
    """The actions a report covers: its workstream's, or the whole plan's."""
    actions = plan.actions.all()
    return actions.filter(workstream=workstream) if workstream else actions


def report_indicators(
    plan: Plan, workstream: Workstream | None, period: datetime.date
) -> list[tuple[Indicator, IndicatorValue | None]]:
    """The indicators a report covers (its workstream's, or the plan's for the programme),
    each with its value for ``period`` (None where none is recorded): one query, the value
    read with its indicator."""
    value = IndicatorValue.objects.filter(indicator=OuterRef("pk"), period=period)
    indicators = (
        Indicator.objects.filter(plan=plan)
        .select_related("workstream")
        .annotate(period_value=Subquery(value.values("value")[:1]))
    )
    if workstream:
        indicators = indicators.filter(workstream=workstream)
    return [
        (
            indicator,
            IndicatorValue(indicator=indicator, period=period, value=indicator.period_value)
            if indicator.period_value is not None
            else None,
        )
        for indicator in indicators
    ]


def report_risks(plan: Plan, workstream: Workstream | None):
    risks = Risk.objects.filter(plan=plan, status=Risk.Status.OPEN).select_related(
        "owner", "workstream"
    )
    risks = risks.filter(workstream=workstream) if workstream else risks
    return sorted(risks, key=lambda risk: (-risk.score, risk.title))


def _lines(lines: list[str], none: str) -> str:
    return "\n".join(f"- {line}" for line in lines) if lines else none


def _statuses_as_of(actions, day: datetime.date) -> dict[int, str]:
    """Each action's status at the start of ``day`` (before anything recorded that day),
    read from its history."""
    moment = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
    rows = (
        Action.history.filter(id__in=actions.values("pk"), history_date__lt=moment)
        .order_by("id", "history_date")
        .values_list("id", "status")
    )
    return dict(rows)  # the last row of each action wins


def report_prefill(plan: Plan, workstream: Workstream | None, period: datetime.date) -> dict:
    """A draft's answers to the first three questions, from the data, for its author to edit.

    - What's working well: actions completed or turned on track this period;
    - How do we know: the period's indicator values against target, and evidence of impact
      accepted this period;
    - What are we worried about: actions off track (overdue or slipping included) at the
      report's day, indicators off target and open risks.
    """
    day = report_day(period)
    start, end = period, month_end(period)
    actions = report_actions(plan, workstream)
    # What each action became this period, from the audit history: its status at the
    # period's start against its status at the report's day.
    was = _statuses_as_of(actions, start)
    became = _statuses_as_of(actions, day + datetime.timedelta(days=1))
    working_well = []
    for action in actions.filter(pk__in=list(became)).order_by("reference"):
        now = became[action.pk]
        before = was.get(action.pk)  # None: the action is new this period, nothing turned
        if now in (ActionStatus.COMPLETE, ActionStatus.ON_TRACK) and before not in (None, now):
            done = "completed" if now == ActionStatus.COMPLETE else "now on track"
            working_well.append(f"{action.reference} {action.title}: {done}.")

    how_we_know = []
    indicators = report_indicators(plan, workstream, period)
    for indicator, value in indicators:
        if value is not None:
            how_we_know.append(
                f"{indicator.name}: {measure(value.value, indicator)} against a target of "
                f"{measure(indicator.target, indicator)} ({Rag(value.rag).label.lower()})."
            )
    accepted = actions.filter(evidence_accepted_at__date__range=(start, end)).order_by("reference")
    for action in accepted:
        how_we_know.append(f"{action.reference}: {action.evidence_of_impact}")

    worried = []
    slipped = set(
        delivery.slips_of(actions)
        .filter(decided_at__date__range=(start, end))
        .values_list("action_id", flat=True)
    )
    for action in actions.with_rag(day).order_by("rag_rank", "reference"):
        if action.rag_code == Rag.RED:
            why = "overdue" if action.overdue else "off track"
            worried.append(f"{action.reference} {action.title}: {why}.")
        elif action.pk in slipped:
            worried.append(f"{action.reference} {action.title}: its due date slipped.")
    for indicator, value in indicators:
        if value is not None and value.rag != Rag.GREEN:
            worried.append(
                f"{indicator.name} is {measure(value.value, indicator)}, short of its target "
                f"of {measure(indicator.target, indicator)}."
            )
    for risk in report_risks(plan, workstream):
        worried.append(f"Risk: {risk.title} (score {risk.score}).")
    return {
        "working_well": _lines(working_well, ""),
        "how_we_know": _lines(how_we_know, ""),
        "worried_about": _lines(worried, ""),
    }


def open_items_before(plan: Plan, workstream: Workstream | None, period: datetime.date):
    """Last period's "what needs to happen" items not yet settled: the next report shows each
    of them, so nothing said to the board is silently dropped."""
    previous = (
        ProgressReport.objects.filter(plan=plan, workstream=workstream, period__lt=period)
        .order_by("-period")
        .first()
    )
    if previous is None:
        return ReportItem.objects.none()
    return previous.items.filter(
        outcome=ReportItem.Outcome.PENDING, carried_to__isnull=True
    ).select_related("owner")


def report_snapshot(
    report: ProgressReport,
    actions_shown: int | None = None,
    items: list | None = None,
    indicators_and_risks: bool = True,
) -> dict:
    """What a report shows, as plain data: its answers and items, and the action statuses,
    indicator values and risks it reported on, judged on the report's day. Written at
    sign-off; a signed-off report's page reads this, never the live rows. ``actions_shown``:
    only that many actions, the most pressing (a page's excerpt, never a seal); ``items``:
    the report's items as ``report_items`` read them, when the caller has them;
    ``indicators_and_risks``: False leaves both out, for a page that shows neither."""
    if items is None:
        items = report.items.select_related("owner").order_by("due_date", "pk")
    day = report_day(report.period)
    # Its BRAG, due date, slips and lead alone: not the table rows of ``action_rows``, whose
    # "updated this month" reads every update of the month in the plan, twice (16 ms of a
    # draft's page at 20,000 actions, for a column the report does not show); and only the
    # columns written below, so the sort for the most pressing does not carry each action's
    # narratives (13 ms of a draft's first view after a change, at 5,000 in the workstream).
    actions = (
        report_actions(report.plan, report.workstream)
        .select_related("lead_officer")
        .only(
            "plan",  # the plan's actions are told their plan (a related manager's rows)
            "reference",
            "title",
            "slip_count",
            "lead_officer",
            "lead_officer__first_name",
            "lead_officer__last_name",
            "lead_officer__username",
        )
    )
    actions = actions.with_rag(day).order_by("rag_rank", "reference")[:actions_shown]
    snapshot = {
        "report": {
            "plan": report.plan.title,
            "workstream": report.workstream.name if report.workstream_id else "Programme",
            "workstream_code": report.workstream.code if report.workstream_id else "",
            "period": report.period.isoformat(),
            "judged_on": day.isoformat(),
        },
        "answers": {
            "working_well": report.working_well,
            "how_we_know": report.how_we_know,
            "worried_about": report.worried_about,
        },
        "items": [
            {
                "description": item.description,
                "owner": display_name(item.owner),
                "due_date": item.due_date.isoformat(),
                "outcome": item.get_outcome_display(),
                "carried": item.carried_from_id is not None,
            }
            for item in items
        ],
        "actions": [
            {
                "reference": action.reference,
                "title": action.title,
                "lead_officer": display_name(action.lead_officer) if action.lead_officer else "",
                "due_date": action.current_due.isoformat(),
                "rag": action.rag_code,
                "status": Rag(action.rag_code).label + (": overdue" if action.overdue else ""),
                "slips": action.slip_count,
            }
            for action in actions
        ],
    }
    if not indicators_and_risks:
        return snapshot
    indicators = report_indicators(report.plan, report.workstream, report.period)
    snapshot |= {
        "indicators": [
            {
                "code": indicator.code,
                "name": indicator.name,
                "target": measure(indicator.target, indicator),
                "value": measure(value.value, indicator) if value else "",
                "rag": value.rag if value else "",
                "rag_label": Rag(value.rag).label if value else "No value this period",
            }
            for indicator, value in indicators
        ],
        "risks": [
            {
                "title": risk.title,
                "owner": display_name(risk.owner),
                "likelihood": risk.likelihood,
                "impact": risk.impact,
                "score": risk.score,
                "escalated": risk.escalated,
                "mitigation": risk.mitigation,
            }
            for risk in report_risks(report.plan, report.workstream)
        ],
    }
    return snapshot


def snapshot_checksum(snapshot: dict) -> str:
    """SHA-256 of the snapshot written canonically (sorted keys, no spaces): the same content
    always gives the same checksum, on the page and on paper."""
    canonical = json.dumps(snapshot, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# --- The report pages ----------------------------------------------------------------------
# What each page reads. The workflow's rules stay in the services; ``report_steps`` says which
# of them a user may take now, for the page to offer only those (a test holds the two
# together).

EDIT, SUBMIT, ENDORSE, SIGN_OFF, RETURN, REOPEN = (
    "edit",
    "submit",
    "endorse",
    "sign_off",
    "return",
    "reopen",
)


def report_steps(user, report: ProgressReport) -> frozenset[str]:
    """The steps ``user`` may take on ``report`` now, as the services decide them: the
    drafters edit and submit a draft; the workstream's task group chair endorses or returns
    a submitted report; the programme board chair signs off or returns an endorsed one (a
    programme-wide report, which has no task group, as soon as it is submitted); the
    programme office reopens a signed-off one."""
    Status = ProgressReport.Status
    steps = set()
    if report.status == Status.DRAFT and user.has_perm("governance.draft_report", report):
        steps |= {EDIT, SUBMIT}
    has_task_group = report.workstream_id is not None
    if (
        report.status == Status.SUBMITTED
        and has_task_group
        and user.has_perm("governance.endorse_report", report)
    ):
        steps |= {ENDORSE, RETURN}
    ready = Status.ENDORSED if has_task_group else Status.SUBMITTED
    if report.status == ready and user.has_perm("governance.sign_off_report", report):
        steps |= {SIGN_OFF, RETURN}
    if report.status == Status.SIGNED_OFF and user.has_perm("governance.reopen_report", report):
        steps.add(REOPEN)
    return frozenset(steps)


def report_waiting_words(user, plan: Plan, reports: list[ProgressReport]) -> dict[int, str]:
    """What each of ``reports`` waits for from ``user``, in words, by report id (those that
    wait for nothing from them are left out): as My work and the reminders read it
    (``reports_waiting_for``: by their part in the governance structure, not by power). A
    draft returned or reopened says so; ``last_step`` (``reports_with_last_step``) is each
    report's latest step."""
    waiting = reports_waiting_for(user, plan, reports=reports)
    drafts = {
        Review.Step.RETURN: "Returned to you",
        Review.Step.REOPEN: "Reopened: back with you",
    }
    words = {}
    for report in waiting.to_write:
        last = getattr(report, "last_step", None)
        words[report.pk] = drafts.get(last, "Draft: yours to finish and submit")
    for report in waiting.to_endorse:
        words[report.pk] = "Waiting for your endorsement"
    for report in waiting.to_sign_off:
        words[report.pk] = "Waiting for your sign-off"
    for report in waiting.for_the_board:
        words[report.pk] = "Coming to the programme board for sign-off"
    return words


def report_waiting_for(user, report: ProgressReport) -> str:
    """What ``report`` waits for from ``user``, in words ("" when nothing)."""
    return report_waiting_words(user, report.plan, [report]).get(report.pk, "")


def reports_with_last_step(reports):
    """Reports with ``last_step``: the step of their latest review (None before any)."""
    latest = Review.objects.filter(report=OuterRef("pk")).order_by("-at", "-pk").values("step")
    return reports.annotate(last_step=Subquery(latest[:1]))


@dataclass(frozen=True)
class ReportRow:
    """A line of the list of reports: a workstream (None: the programme), its report for the
    period if started, what it waits for from the reader, and whether they may start it."""

    workstream: Workstream | None
    report: ProgressReport | None
    waiting: str
    may_start: bool


def report_rows(user, plan: Plan, period: datetime.date) -> list[ReportRow]:
    """Each workstream's report for ``period`` and the programme-wide one (last), in two
    queries however many there are."""
    reports = reports_with_last_step(
        ProgressReport.objects.filter(plan=plan, period=period).select_related("workstream")
    )
    by_workstream = {report.workstream_id: report for report in reports}
    waiting = report_waiting_words(user, plan, list(by_workstream.values()))
    rows = []
    for workstream in [*plan.workstreams.order_by("code"), None]:
        report = by_workstream.get(workstream.pk if workstream else None)
        rows.append(
            ReportRow(
                workstream=workstream,
                report=report,
                waiting=waiting.get(report.pk, "") if report else "",
                may_start=report is None and user.has_perm("governance.draft_report", workstream),
            )
        )
    return rows


@dataclass(frozen=True)
class ReportPeriod:
    """A month with reports: how many, in each state (in the workflow's order)."""

    period: datetime.date
    counts: list[tuple[str, int]]

    @property
    def total(self) -> int:
        return sum(n for _, n in self.counts)


def report_periods(plan: Plan) -> list[ReportPeriod]:
    """The months the plan has reports for, newest first, with their counts by state."""
    rows = (
        ProgressReport.objects.filter(plan=plan)
        .order_by()
        .values("period", "status")
        .annotate(n=Count("pk"))
    )
    counts: dict[datetime.date, dict[str, int]] = {}
    for row in rows:
        counts.setdefault(row["period"], {})[row["status"]] = row["n"]
    return [
        ReportPeriod(
            period,
            [
                (label, counts[period][value])
                for value, label in ProgressReport.Status.choices
                if value in counts[period]
            ],
        )
        for period in sorted(counts, reverse=True)
    ]


def report_for_page(pk: int) -> ProgressReport:
    """The report for its page, without its sealed snapshot (about 1 MB at 5,000 actions):
    the page shows it through ``report_evidence``, which reads it only when not cached."""
    return get_object_or_404(
        reports_with_last_step(
            ProgressReport.objects.select_related("plan", "workstream", "created_by").defer(
                "snapshot"
            )
        ),
        pk=pk,
    )


def report_items(report: ProgressReport):
    """The report's "what needs to happen" items, with their owners, the report each was
    carried from and the action it became. The report carried from is read without its
    snapshot (about 1 MB at 5,000 actions, once per item carried): the page shows its month."""
    return (
        report.items.select_related("owner", "carried_from__report", "action")
        .defer("carried_from__report__snapshot")
        .order_by("due_date", "pk")
    )


def report_reviews(report: ProgressReport):
    """The report's workflow, oldest first: who, when, which step, the comment, the meeting."""
    return report.reviews.select_related("by", "meeting__body").order_by("at", "pk")


def report_sign_off_review(reviews) -> Review | None:
    """The review that signed the report off as it stands (the latest sign-off)."""
    signed = [review for review in reviews if review.step == Review.Step.SIGN_OFF]
    return signed[-1] if signed else None


def report_content(report: ProgressReport, indicators_and_risks: bool = True) -> dict:
    """What the report shows, in the snapshot's shape: a signed-off report its snapshot, as
    the board signed it off (never the live rows); any other the live picture, judged on
    the report's day, as it would be sealed if signed off now (``indicators_and_risks`` as
    ``report_snapshot`` takes it)."""
    if report.is_frozen:
        return report.snapshot
    return report_snapshot(report, indicators_and_risks=indicators_and_risks)


# A report's page lists this many of its actions, the most pressing first; its counts are of
# them all. A workstream of thousands of actions made a page of thousands of rows (870 ms at
# 20,000 actions: docs/scaling.md), which no board member reads down. As the dashboard's
# changes: a page of the action list, the first page of the list a draft links to (sorted
# by status, most pressing first) and shows in full.
REPORT_ACTIONS_SHOWN = delivery.ACTIONS_PER_PAGE


@dataclass(frozen=True)
class ReportEvidence:
    """What a report's page shows of its content: the content with its actions cut to the
    most pressing REPORT_ACTIONS_SHOWN, how many were in each BRAG state, and in all."""

    content: dict
    rag_counts: list[tuple[Rag, int]]
    action_count: int
    # The items as rows (``report_items``), for a report still open to change.
    items: list = field(default_factory=list)
    # Where every one of them is listed, for a live plan's report not yet signed off: the
    # action list judged on the report's day. A signed-off report's are in its sealed record.
    all_url: str = ""

    @property
    def cut(self) -> bool:
        return self.action_count > len(self.content["actions"])


def report_evidence(report: ProgressReport) -> ReportEvidence:
    """The report's content as its page shows it (``report_content``, cut to the most pressing
    actions). A signed-off report's from its snapshot; any other's from the live rows, where
    only the actions shown are read whole and the rest are counted by the database.

    Worked out once until a record changes or the day does (``derived.cached``): a
    workstream's report reads and sorts its 5,000 actions at 20,000 in the plan, while the
    board reads it many times a month. A signed-off report's comes from its sealed snapshot
    (about 1 MB), which no change today alters: it is kept as the past is
    (``derived.cached_past``), under the snapshot's checksum, so a chair's update does not
    make every signed-off report be read again."""
    today = timezone.localdate()
    if report.is_frozen:
        asked = (report.pk, report.checksum)
        return derived.cached_past(
            "sealed-report-evidence", asked, lambda: _report_evidence(report, today)
        )
    return derived.cached(
        "report-evidence", (report.pk, today), lambda: _report_evidence(report, today)
    )


def _report_evidence(report: ProgressReport, today: datetime.date) -> ReportEvidence:
    if report.is_frozen:
        content = report.snapshot
        return ReportEvidence(
            content={**content, "actions": content["actions"][:REPORT_ACTIONS_SHOWN]},
            rag_counts=content_rag_counts(content["actions"]),
            action_count=len(content["actions"]),
        )
    day = report_day(report.period, today)
    counts = report_actions(report.plan, report.workstream).rag_counts(day)
    code = report.workstream.code if report.workstream_id else None
    live = report.plan.status == Plan.Status.LIVE
    month = f"{report.period:%Y-%m}"
    items = list(report_items(report))
    return ReportEvidence(
        content=report_snapshot(report, actions_shown=REPORT_ACTIONS_SHOWN, items=items),
        items=items,
        rag_counts=[(rag, n) for rag, n in counts.items() if n],
        action_count=sum(counts.values()),
        all_url=delivery.action_list_url(workstream=code, period=month, sort="status")
        if live
        else "",
    )


def report_before(report: ProgressReport) -> ProgressReport | None:
    """The same workstream's (or the programme's) report for the latest earlier month,
    without its snapshot (about 1 MB at 5,000 actions): read when its content is needed."""
    return (
        ProgressReport.objects.defer("snapshot")
        .filter(
            plan_id=report.plan_id, workstream_id=report.workstream_id, period__lt=report.period
        )
        .select_related("plan", "workstream")
        .order_by("-period")
        .first()
    )


@dataclass(frozen=True)
class ComparedLine:
    text: str
    changed: bool  # removed (on the earlier side) or added (on the later side)


@dataclass(frozen=True)
class ComparedQuestion:
    question: str
    before: list[ComparedLine]
    after: list[ComparedLine]

    @property
    def removed(self) -> int:
        return sum(line.changed for line in self.before)

    @property
    def added(self) -> int:
        return sum(line.changed for line in self.after)


def compare_lines(question: str, before: str, after: str) -> ComparedQuestion:
    """Two answers line by line (difflib): the lines only the earlier one has are marked
    removed, those only the later one has are marked added."""
    old, new = before.splitlines(), after.splitlines()
    kept_old, kept_new = set(), set()
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for block in matcher.get_matching_blocks():
        kept_old.update(range(block.a, block.a + block.size))
        kept_new.update(range(block.b, block.b + block.size))
    return ComparedQuestion(
        question,
        [ComparedLine(line, i not in kept_old) for i, line in enumerate(old) if line.strip()],
        [ComparedLine(line, i not in kept_new) for i, line in enumerate(new) if line.strip()],
    )


def _item_line(item: dict) -> str:
    due = datetime.date.fromisoformat(item["due_date"])
    return f"{item['description']} ({item['owner']}, by {due:%-d %B %Y}): {item['outcome']}"


@dataclass(frozen=True)
class ComparedAction:
    reference: str
    title: str
    before: dict | None  # the action's row in each report's content; None: not in it
    after: dict | None

    @property
    def changed(self) -> bool:
        return (self.before or {}).get("status") != (self.after or {}).get("status")


@dataclass(frozen=True)
class Comparison:
    before: ProgressReport
    after: ProgressReport
    questions: list[ComparedQuestion]
    # The actions shown: those whose status changed first, each group in the later report's
    # order (most pressing first), at most REPORT_ACTIONS_SHOWN; and how many in all.
    actions: list[ComparedAction]
    action_count: int = 0
    changed_count: int = 0

    @property
    def cut(self) -> bool:
        return self.action_count > len(self.actions)


QUESTIONS = (
    ("working_well", "What's working well?"),
    ("how_we_know", "How do we know?"),
    ("worried_about", "What are we worried about?"),
)


def report_comparison(one: ProgressReport, other: ProgressReport) -> Comparison:
    """Two reports side by side, the earlier month first: each question's lines (what needs
    to happen as one line an item), what changed marked, and each action's BRAG in both,
    each read as its page shows it (``report_content``).

    Worked out once until a record changes or the day does (``derived.cached``): it reads
    every action of both (a live report's from the plan, a signed-off one's sealed)."""
    before, after = sorted((one, other), key=lambda report: (report.period, report.pk))
    asked = (before.pk, after.pk, timezone.localdate())
    return derived.cached("report-comparison", asked, lambda: _report_comparison(before, after))


def _report_comparison(before: ProgressReport, after: ProgressReport) -> Comparison:
    # The comparison shows the answers, items and actions: not the indicators and risks.
    old, new = (report_content(report, indicators_and_risks=False) for report in (before, after))
    questions = [
        compare_lines(label, old["answers"][name], new["answers"][name])
        for name, label in QUESTIONS
    ]
    questions.append(
        compare_lines(
            "What needs to happen, and by when?",
            "\n".join(_item_line(item) for item in old["items"]),
            "\n".join(_item_line(item) for item in new["items"]),
        )
    )
    old_actions = {row["reference"]: row for row in old["actions"]}
    new_actions = {row["reference"]: row for row in new["actions"]}
    actions = [
        ComparedAction(
            reference,
            (new_actions.get(reference) or old_actions[reference])["title"],
            old_actions.get(reference),
            new_actions.get(reference),
        )
        # In the later report's order (most pressing first), then those it no longer has.
        for reference in [*new_actions, *(r for r in old_actions if r not in new_actions)]
    ]
    changed = [action for action in actions if action.changed]
    same = [action for action in actions if not action.changed]
    return Comparison(
        before,
        after,
        questions,
        actions=(changed + same)[:REPORT_ACTIONS_SHOWN],
        action_count=len(actions),
        changed_count=len(changed),
    )


def report_meetings(report: ProgressReport):
    """The meetings a step on ``report`` may be taken at: those reviewing its month."""
    return Meeting.objects.filter(period=report.period).select_related("body").order_by("date")


def report_last_changed_by(report: ProgressReport):
    """Who saved the report last (from its history), for a save refused as stale."""
    latest = (
        report.history.select_related("history_user")
        .order_by("-history_date", "-history_id")
        .first()
    )
    return latest.history_user if latest else None


def content_rag_counts(actions: list[dict]) -> list[tuple[Rag, int]]:
    """How many of a report's actions were in each BRAG state (those with any), most
    pressing first."""
    counts = dict.fromkeys(Rag, 0)
    for row in actions:
        counts[Rag(row["rag"])] += 1
    return [(rag, n) for rag, n in counts.items() if n]


# --- Meetings ------------------------------------------------------------------------------


def meetings_for_list(body: Body | None = None):
    """Meetings, newest first, with their body and how many decisions each made."""
    meetings = Meeting.objects.select_related("body").annotate(
        decision_count=Count("decisions", distinct=True),
        attendee_count=Count("attendees", distinct=True),
    )
    if body is not None:
        meetings = meetings.filter(body=body)
    return meetings.order_by("-date", "body__name")


def meeting_for_page(pk: int) -> Meeting:
    return get_object_or_404(
        Meeting.objects.select_related("body__workstream__plan").prefetch_related("attendees"),
        pk=pk,
    )


def bodies_recorded_by(user) -> list[Body]:
    """The bodies whose meetings ``user`` may record."""
    return [
        body
        for body in Body.objects.order_by("name")
        if user.has_perm("governance.record_meeting", body)
    ]


def meeting_plan(meeting: Meeting) -> Plan | None:
    """The plan a meeting reviews: its task group's workstream's, else the plan whose year
    holds the month it reviewed (the live one first), else the live plan."""
    if meeting.body.workstream_id:
        return meeting.body.workstream.plan
    covering = Plan.objects.filter(
        period_start__lte=month_end(meeting.period), period_end__gte=meeting.period
    )
    live_first = sorted(covering, key=lambda plan: (plan.status != Plan.Status.LIVE, plan.pk))
    return live_first[0] if live_first else delivery.live_plan()


@dataclass
class AgendaList:
    """One kind of exception on a task group's agenda, and the actions it holds."""

    key: str
    title: str
    actions: list

    @property
    def heading(self) -> str:
        return f"{self.title} ({len(self.actions)})"


@dataclass
class AgendaReport:
    """A report on the agenda: its workstream (None: programme-wide) and the report, or None
    when it has not been started."""

    workstream: Workstream | None
    report: ProgressReport | None


@dataclass
class DecisionRow:
    """A decision as it stood at a meeting: ``state`` says so in words."""

    decision: Decision
    state: str
    still_open: bool


@dataclass
class Agenda:
    meeting: Meeting
    judged_on: datetime.date | None = None
    exceptions: list[AgendaList] = field(default_factory=list)
    due_date_requests: list = field(default_factory=list)
    reports: list[AgendaReport] = field(default_factory=list)
    carried: list[DecisionRow] = field(default_factory=list)
    decisions: list[DecisionRow] = field(default_factory=list)
    reviews: list[Review] = field(default_factory=list)

    @property
    def is_task_group(self) -> bool:
        return self.meeting.body.workstream_id is not None


def _task_group_exceptions(agenda: Agenda, workstream: Workstream, today) -> None:
    """Its workstream's exceptions for the meeting's month, judged (BRAG, overdue, updated
    this month) on the report's day: the month's end, or today while the month runs."""
    meeting = agenda.meeting
    day = agenda.judged_on = report_day(meeting.period, today)
    actions = workstream.actions.all()
    rows = list(delivery.action_rows(actions, day).order_by("rag_rank", "current_due", "reference"))
    slipped = set(
        delivery.slips_of(actions)
        .filter(decided_at__date__range=(meeting.period, month_end(meeting.period)))
        .values_list("action_id", flat=True)
    )
    month = f"{meeting.period:%B %Y}"
    agenda.exceptions = [
        AgendaList("overdue", "Overdue", [a for a in rows if a.overdue]),
        AgendaList(
            "off_track",
            "Reported off track",
            [a for a in rows if a.rag_code == Rag.RED and not a.overdue],
        ),
        AgendaList("slipped", f"Due date slipped in {month}", [a for a in rows if a.pk in slipped]),
        AgendaList(
            "no_update",
            f"No update for {month}",
            [a for a in rows if a.status in OPEN_STATUSES and not a.updated_this_period],
        ),
    ]
    agenda.due_date_requests = list(delivery.pending_due_date_changes(actions))


def _reports(agenda: Agenda, plan: Plan | None) -> None:
    """The reports the body reviews for the month, with their state: a task group its
    workstream's; the programme board every workstream's and the programme-wide one; the
    improvement board the programme-wide one."""
    meeting, body = agenda.meeting, agenda.meeting.body
    if plan is None:
        return
    if body.kind == Body.Kind.TASK_GROUP:
        subjects = [body.workstream]
    elif body.kind == Body.Kind.PROGRAMME_BOARD:
        subjects = [*plan.workstreams.order_by("code"), None]
    elif body.kind == Body.Kind.IMPROVEMENT_BOARD:
        subjects = [None]
    else:
        return
    reports = {
        report.workstream_id: report
        for report in ProgressReport.objects.filter(plan=plan, period=meeting.period).filter(
            Q(workstream__in=[s for s in subjects if s is not None]) | Q(workstream__isnull=True)
        )
    }
    agenda.reports = [
        AgendaReport(subject, reports.get(subject.pk if subject else None)) for subject in subjects
    ]


def _as_it_stood(decision: Decision, meeting: Meeting) -> DecisionRow:
    """A decision in the words of ``meeting``: open, closed there, or closed since."""
    if decision.closed_at_id is None:
        return DecisionRow(decision, "Open", still_open=True)
    closed = decision.closed_at
    if closed.pk == meeting.pk:
        return DecisionRow(decision, "Closed at this meeting", still_open=False)
    if closed.date > meeting.date:
        return DecisionRow(
            decision, f"Open then; closed at the meeting of {closed.date:%-d %B %Y}", False
        )
    return DecisionRow(decision, f"Closed at the meeting of {closed.date:%-d %B %Y}", False)


def meeting_agenda(meeting: Meeting, today: datetime.date | None = None) -> Agenda:
    """A meeting's agenda, built from the data, and its record:

    - a task group's: its workstream's exceptions for the month reviewed (actions overdue,
      reported off track, slipped in the month, with no update for the month; due-date moves
      waiting for the chair), and the workstream's report for the month;
    - the programme board's: every workstream's report for the month and the programme-wide
      one, each with its state;
    - every body's: decisions of its earlier meetings still open when this one met (carried
      forward, meeting to meeting, until closed), the decisions made here, and the reviews
      of reports made at it.

    A fixed number of queries, however many actions, reports and decisions.
    """
    agenda = Agenda(meeting=meeting)
    body = meeting.body
    if body.workstream_id:
        _task_group_exceptions(agenda, body.workstream, today)
    _reports(agenda, meeting_plan(meeting))
    carried = (
        Decision.objects.filter(meeting__body=body, meeting__date__lt=meeting.date)
        .filter(Q(closed_at__isnull=True) | Q(closed_at__date__gte=meeting.date))
        .select_related("meeting", "owner", "closed_at")
        .order_by("meeting__date", "pk")
    )
    agenda.carried = [_as_it_stood(decision, meeting) for decision in carried]
    made = meeting.decisions.select_related("owner", "closed_at").order_by("pk")
    agenda.decisions = [_as_it_stood(decision, meeting) for decision in made]
    agenda.reviews = list(
        Review.objects.filter(meeting=meeting)
        .select_related("report__workstream", "by")
        .order_by("at", "pk")
    )
    return agenda


def decision_for_closing(meeting: Meeting, decision_id: int) -> Decision:
    """A decision of an earlier meeting of ``meeting``'s body: what it may close."""
    return get_object_or_404(
        Decision.objects.select_related("meeting__body", "owner"),
        pk=decision_id,
        meeting__body_id=meeting.body_id,
        meeting__date__lt=meeting.date,
    )


# --- Risks ---------------------------------------------------------------------------------


@dataclass
class Register:
    """One register: a workstream's (None: the programme's), its risks by score."""

    workstream: Workstream | None
    risks: list[Risk]


class RiskFilter:
    OPEN, CLOSED, ALL = "open", "closed", "all"
    PROGRAMME = "programme"


def risk_register(
    plan: Plan, *, workstream: str = "", escalated: bool = False, status: str = RiskFilter.OPEN
) -> list[Register]:
    """The plan's risk registers, the programme's first then each workstream's, each sorted
    by score (likelihood × impact), highest first. ``workstream``: a code, "programme", or
    empty for all; ``escalated``: only those escalated to the board; ``status``: open,
    closed or all. One query for the risks, one for the workstreams."""
    risks = (
        Risk.objects.filter(plan=plan)
        .select_related("owner", "workstream")
        .annotate(ranking=F("likelihood") * F("impact"))
        .order_by("-ranking", "-impact", "title")
    )
    if status in (RiskFilter.OPEN, RiskFilter.CLOSED):
        risks = risks.filter(status=status)
    if escalated:
        risks = risks.filter(escalated=True)
    subjects = [None, *plan.workstreams.order_by("code")]
    if workstream == RiskFilter.PROGRAMME:
        subjects = [None]
    elif workstream:
        subjects = [w for w in subjects if w is not None and w.code == workstream]
    registers = {subject.pk if subject else None: Register(subject, []) for subject in subjects}
    for risk in risks:
        register = registers.get(risk.workstream_id)
        if register is not None:
            register.risks.append(risk)
    return list(registers.values())


def risk_for_page(pk: int) -> Risk:
    return get_object_or_404(Risk.objects.select_related("plan", "workstream", "owner"), pk=pk)


def risk_state(risk: Risk) -> int | None:
    """The id of the risk's latest history row: what a form opened on it is based on (a
    risk has no version; every save writes a history row)."""
    return risk.history.order_by("-history_id").values_list("history_id", flat=True).first()


def registers_kept_by(user, plan: Plan) -> list[tuple[str, str]]:
    """The registers ``user`` may add risks to, as (value, name): "programme" for the
    programme's, else a workstream's code."""
    registers = [("programme", "Programme")] if user.has_perm("governance.keep_risk", None) else []
    return registers + [
        (workstream.code, f"{workstream.code}: {workstream.name}")
        for workstream in plan.workstreams.order_by("code")
        if user.has_perm("governance.keep_risk", workstream)
    ]
