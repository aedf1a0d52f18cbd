"""Query budgets: every portal page runs the same number of queries with few rows and with
many, and no more than its budget (issue 10, point 4).

Every URL of the portal that answers GET (the admin's pages aside) is found from the URL
configuration, as the access matrix finds them (``tests/test_access_matrix.py``); one with
no page below and no budget fails ``test_every_page_has_a_budget``, so a new page joins the
table or the suite fails.

Each page is asked, by the role that sees the most on it, twice in one database:

- **few rows**: the reference plan, with the records the access matrix adds to it (a
  pending due-date request, a meeting and an earlier one, a report in each state, a risk,
  two imports) and a due date moved by the chair;
- **many rows**: the same database after ``generate_plan`` (150 actions, 6 months of updates
  and history), with the governance records a programme builds up in those months (reports
  with lines and reviews, meetings with attendees and decisions carried between them, risks
  with their changes, pending due-date requests, imports of every row). The generated plan
  is the live one then, so each page is asked about its rows.

The rows are made the evening before the suite's day and the pages asked on the day, so a
page "as of a past day" sees them too. An N+1 query shows as a difference between the two
counts, and the test names the repeated query; another test checks that the many rows have
enough more of each kind for it to show.

``BUDGETS`` holds each page's count as measured; the target is fewer than ``TARGET`` for
every page (``test_every_page_is_under_the_target`` lists those that are not). When a change
saves queries, lower the page's budget to the new count.
"""

import datetime
import io
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import Count, Q
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import resolve, reverse
from django.utils import timezone

from governance import services as governance
from governance.models import Body, Decision, Meeting, Membership, ProgressReport, Risk
from workstreams import imports, services
from workstreams.models import (
    OPEN_STATUSES,
    Action,
    ActionImport,
    ActionStatus,
    DueDateChange,
    Indicator,
    IndicatorValue,
    Plan,
    add_months,
)

from .conftest import REFERENCE_DAY
from .helpers import DEMO_USERNAMES
from .test_access_matrix import (
    admin_model_of,
    december_report,
    earlier_decision,
    make_records,
    mp_meeting,
    mp_risk,
    url_keys,
)

pytestmark = pytest.mark.django_db

# Every page should come in under this many queries, whatever the size of the plan.
TARGET = 15

# The queries each page runs, as measured (the same with few rows and with many; for a page
# in KNOWN_N_PLUS_ONE, with few rows). Lower a page's budget when a change saves queries on
# it. Measured with the dashboard's cache off, as the suite runs (decision 0013). A paginated
# list of actions reads its page in two (``selectors.IdsFirstPaginator``): its ids, its rows.
BUDGETS = {
    "home [programme office]": 10,
    "home [task group chair]": 12,
    "home [lead officer]": 10,
    "home [programme board chair]": 8,
    "home [programme board member]": 8,
    "healthz": 1,
    "login": 0,
    "password_change": 3,
    "password_change_done": 3,
    "password_reset": 0,
    "password_reset_done": 0,
    "password_reset_confirm": 1,
    "password_reset_complete": 0,
    "workstreams:action-list": 9,
    "workstreams:action-list [a workstream's]": 9,
    "workstreams:action-list [a workstream's, as of a past day]": 10,
    "workstreams:action-export-xlsx": 5,
    "workstreams:action-export-csv": 5,
    "workstreams:action-detail": 7,
    "workstreams:action-history": 11,
    "workstreams:action-update": 5,
    "workstreams:workstream-detail": 11,
    "workstreams:import": 4,
    "workstreams:import-preview": 6,
    "workstreams:import-done": 6,
    "governance:dashboard": 13,
    "governance:dashboard [as of a past day]": 14,
    "governance:board-pack": 13,
    "governance:board-pack [as of a past day]": 14,
    "governance:report-list": 7,
    "governance:report-detail": 13,
    "governance:report-detail [signed off]": 8,
    "governance:report-compare": 9,
    "governance:report-edit": 4,
    "governance:meeting-list": 8,
    "governance:meeting-record": 8,
    "governance:meeting-detail": 12,
    "governance:meeting-edit": 8,
    "governance:decision-add": 6,
    "governance:decision-close": 6,
    "governance:risk-list": 8,
    "governance:risk-add": 6,
    "governance:risk-detail": 8,
    "governance:risk-change": 6,
    "governance:risk-close": 5,
}

# N+1 queries found and not yet fixed: each page's test is expected to fail (strictly, so
# the fix shows as an unexpected pass: then take the page out of this table).
KNOWN_N_PLUS_ONE: dict[str, str] = {}


# --- The state each page is asked in -------------------------------------------------------


@dataclass
class Subjects:
    """Who asks and what about, in one state of the database: for each role the user who
    sees the most in that role, and the records with the most rows of their kind."""

    users: dict
    action: str  # a reference of the live plan, with a due-date request pending
    workstream: str  # a code of the live plan
    meeting: int  # a task group meeting, with decisions carried to it from earlier ones
    decision: int  # an open decision of an earlier meeting of the same body
    risk: int
    draft_report: int  # a draft with lines, its month's meetings, a month before to compare
    signed_off_report: int
    waiting_import: str  # the token of an upload previewed, not yet imported
    done_import: str  # the token of an upload imported


def sizes(s: Subjects) -> dict[str, int]:
    """How many rows of each kind the pages are asked about: what the many rows must have
    more of, for an N+1 query to show."""
    plan = Plan.objects.live().get()
    action = plan.actions.get(reference=s.action)
    meeting = Meeting.objects.get(pk=s.meeting)
    draft = ProgressReport.objects.get(pk=s.draft_report)
    imported = {t: ActionImport.objects.get(token=t) for t in (s.waiting_import, s.done_import)}
    chair, lead = s.users["task group chair"], s.users["lead officer"]
    chaired = Membership.objects.filter(user=chair, role=Membership.Role.CHAIR)
    return {
        "actions": plan.actions.count(),
        "the action's updates": action.updates.count(),
        "the action's history": action.history.count(),
        "the workstream's actions": plan.actions.filter(workstream__code=s.workstream).count(),
        "meetings": Meeting.objects.count(),
        "the meeting's decisions": meeting.decisions.count(),
        "decisions carried to the meeting": Decision.objects.filter(
            meeting__body=meeting.body, meeting__date__lt=meeting.date, closed_at=None
        ).count(),
        "the meeting's attendees": meeting.attendees.count(),
        "risks": plan.risks.count(),
        "the risk's history": Risk.objects.get(pk=s.risk).history.count(),
        "reports": plan.progress_reports.count(),
        "the draft's lines": draft.items.count(),
        "the draft's reviews": draft.reviews.count(),
        "indicator values of the draft's month": IndicatorValue.objects.filter(
            indicator__workstream=draft.workstream, period=draft.period
        ).count(),
        "rows of the import waiting": len(imported[s.waiting_import].preview["rows"]),
        "rows of the import done": len(imported[s.done_import].preview["rows"]),
        "due-date requests for the chair": DueDateChange.objects.filter(
            action__plan=plan,
            action__workstream__in=chaired.values("body__workstream"),
            decision=DueDateChange.Decision.PENDING,
        ).count(),
        "the chair's actions awaiting acceptance of their evidence": plan.actions.filter(
            workstream__in=chaired.values("body__workstream"),
            status=ActionStatus.COMPLETE,
            evidence_accepted_at=None,
        ).count(),
        "the lead officer's open actions": plan.actions.filter(
            lead_officer=lead, status__in=OPEN_STATUSES
        ).count(),
    }


def demo_users() -> dict:
    User = get_user_model()
    return {user.username: user for user in User.objects.filter(username__in=DEMO_USERNAMES)}


def few_rows() -> Subjects:
    """The reference plan and the access matrix's records."""
    users = demo_users()
    make_records(users, Plan.objects.live().get())
    # A due date moved by the chair: a slip, which the dashboard reads only when there is one.
    moved = Action.objects.select_related("plan").get(plan__status="live", reference="MP-1.2")
    services.action_update_record(
        action=moved,
        by=users["sro.mp"],
        based_on_version=moved.version,
        status=moved.status,
        progress_narrative="Moved by the chair.",
        revised_due_date=datetime.date(2019, 3, 29),
        due_date_reason="The provider moved the training.",
    )
    return Subjects(
        users={
            "programme office": users["office"],
            "task group chair": users["sro.mp"],
            "lead officer": users["lead.mp"],
            "programme board chair": users["exec.director"],
            "programme board member": users["board.member"],
            "anonymous": None,
        },
        action="MP-1.3",
        workstream="MP",
        meeting=mp_meeting(None).pk,
        decision=earlier_decision(None).pk,
        risk=mp_risk(None).pk,
        draft_report=december_report("WF").pk,
        signed_off_report=december_report(None).pk,
        waiting_import=str(ActionImport.objects.get(file_name="waiting.csv").token),
        done_import=str(ActionImport.objects.get(file_name="imported.csv").token),
    )


MANY_ACTIONS, MANY_MONTHS = 150, 6
MANY = 30  # meetings, risks, report lines, due-date requests ...: more than a page of each
# The generated plan's months of updates: the six before this one.
MONTHS = [
    add_months(REFERENCE_DAY.date().replace(day=1), n - MANY_MONTHS) for n in range(MANY_MONTHS)
]


def many_rows() -> Subjects:
    """A generated plan, live, with what a programme records in its months.

    Added through the services, as people would, to whatever governance ``generate_plan``
    makes itself: a report, a meeting of a body on a day, is made only where there is none.
    """
    call_command(
        "generate_plan", actions=MANY_ACTIONS, months=MANY_MONTHS, seed=MANY_ACTIONS, verbosity=0
    )
    users = demo_users()
    office, board_chair = users["office"], users["exec.director"]
    plan = Plan.objects.live().get()
    # The workstream with the most actions, its task group and chair.
    workstream = plan.workstreams.annotate(n=Count("actions")).order_by("-n", "code").first()
    body = Body.objects.get(workstream=workstream)
    chair = body.memberships.get(role=Membership.Role.CHAIR).user
    lead = busy_lead(office, plan)
    action = due_date_requests(workstream)
    done_import = import_titles(office, plan, "imported.csv", every=2, apply=True)
    waiting_import = import_titles(office, plan, "waiting.csv", every=3, apply=False)
    people = list(get_user_model().objects.filter(is_active=True).order_by("username")[:MANY])
    meeting, decision = meetings(office, body, people)
    risk = risks(office, plan, chair)
    indicators(workstream)
    draft_report, signed_off_report = reports(office, board_chair, plan, chair, workstream)
    return Subjects(
        users={
            "programme office": office,
            "task group chair": chair,
            "lead officer": lead,
            "programme board chair": board_chair,
            "programme board member": users["board.member"],
            "anonymous": None,
        },
        action=action.reference,
        workstream=workstream.code,
        meeting=meeting.pk,
        decision=decision.pk,
        risk=risk.pk,
        draft_report=draft_report.pk,
        signed_off_report=signed_off_report.pk,
        waiting_import=str(waiting_import.token),
        done_import=str(done_import.token),
    )


def busy_lead(office, plan):
    """The lead officer of the most open actions, given more until they lead ``MANY``: a
    generated lead leads about ten."""
    open_actions = plan.actions.filter(status__in=OPEN_STATUSES)
    lead = (
        get_user_model()
        .objects.annotate(n=Count("led_actions", filter=Q(led_actions__in=open_actions)))
        .order_by("-n", "username")
        .first()
    )
    others = open_actions.exclude(lead_officer=lead).select_related("plan").order_by("reference")
    for action in others[: max(0, MANY - open_actions.filter(lead_officer=lead).count())]:
        services.action_plan_change(
            action=action, by=office, based_on_version=action.version, lead_officer=lead
        )
    return lead


def due_date_requests(workstream) -> Action:
    """Lead officers ask to move the due dates of ``MANY`` open actions of ``workstream``;
    the first of them, one answering findings, is the action asked about."""
    actions = list(
        workstream.actions.filter(status__in=OPEN_STATUSES, lead_officer__isnull=False)
        .exclude(due_date_changes__decision=DueDateChange.Decision.PENDING)
        .annotate(findings_n=Count("findings"))
        .select_related("lead_officer", "plan")
        .order_by("-findings_n", "reference")[:MANY]
    )
    for n, action in enumerate(actions):
        services.action_update_record(
            action=action,
            by=action.lead_officer,
            based_on_version=action.version,
            status=action.status,
            progress_narrative=f"January: waiting on partners ({n}).",
            revised_due_date=datetime.date(2019, 6, 28) - datetime.timedelta(days=n),
            due_date_reason="Partners asked for more time.",
        )
    return actions[0]


def import_titles(office, plan, name, *, every, apply) -> ActionImport:
    """An upload of every action of the plan, each ``every``-th with a new title, and a row
    in ten with a status that is not one; imported if ``apply``."""
    lines = ["Reference,Title,Status"]
    for n, (reference, title, status) in enumerate(
        plan.actions.order_by("reference").values_list("reference", "title", "status")
    ):
        title = f"{title} ({name})" if n % every == 0 else title
        status = "Not a status" if n % 10 == 5 else status.replace("_", " ")
        lines.append(f"{reference},{title},{status}")
    content = "\n".join(lines).encode()
    read = imports.read_and_preview(file=io.BytesIO(content), name=name, plan=plan, by=office)
    found = services.action_import_start(by=office, plan=plan, **read)
    if apply:
        services.plan_import_apply(
            by=office, action_import=found, rows=imports.rows_to_apply(found)
        )
    found.refresh_from_db()
    return found


def meetings(office, body, people) -> tuple[Meeting, Decision]:
    """``MANY`` meetings of ``body``, every few days back from today, each with ``people``
    at it and two decisions; today's with ``MANY`` decisions of its own and some earlier
    ones closed at it. Returns today's and an open decision of an earlier meeting."""
    today = timezone.localdate()
    for n in reversed(range(MANY)):
        day = today - datetime.timedelta(days=3 * n)
        meeting = Meeting.objects.filter(body=body, date=day).first()
        if meeting is None:
            meeting = governance.meeting_record(
                by=office,
                body=body,
                date=day,
                period=add_months(day.replace(day=1), -1),
                attendees=people,
                minutes=f"Met {n}.",
            )
        for d in range(MANY if n == 0 else 2):
            governance.decision_add(
                by=office,
                meeting=meeting,
                text=f"Decision {d} of {day}.",
                owner=people[d % len(people)],
                due_date=today + datetime.timedelta(days=30),
            )
    earlier = Decision.objects.filter(
        meeting__body=body, meeting__date__lt=today, closed_at=None
    ).order_by("pk")
    for decision in earlier[:5]:
        governance.decision_close(by=office, decision=decision, at_meeting=meeting, note="Done.")
    return meeting, earlier.first()


def risks(office, plan, owner) -> Risk:
    """``MANY`` risks over the workstreams' registers and the programme's, a third escalated,
    a few closed; the first (a workstream's) changed ten times. Returns that one."""
    registers = [*plan.workstreams.order_by("code"), None]
    made = [
        governance.risk_add(
            by=office,
            plan=plan,
            workstream=registers[n % len(registers)],
            title=f"Risk {n}",
            owner=owner,
            likelihood=1 + n % 5,
            impact=1 + (n // 5) % 5,
            escalated=n % 3 == 0,
        )
        for n in range(MANY)
    ]
    for n in range(10):
        governance.risk_change(by=office, risk=made[0], likelihood=2 + n % 4, note=f"Change {n}.")
    for risk in made[-3:]:
        governance.risk_close(by=office, risk=risk, note="Passed.")
    return made[0]


def indicators(workstream) -> None:
    """``MANY // 3`` more indicators of ``workstream``, as the programme office adds them in
    the admin, each with a value for every month: a generated workstream has two."""
    for n in range(MANY // 3):
        indicator = Indicator.objects.create(
            plan=workstream.plan,
            workstream=workstream,
            code=f"{workstream.code}-KPI-{n + 10}",
            name=f"Indicator {n}",
            target=Decimal(80),
            tolerance=Decimal(5),
        )
        for m, period in enumerate(MONTHS):
            IndicatorValue.objects.create(
                indicator=indicator, period=period, value=Decimal(60 + 3 * m + n)
            )


def reports(office, board_chair, plan, chair, workstream):
    """Every workstream's report and the programme's for each month, where there is none:
    signed off, the last month's in every state; ``workstream``'s for the last month a draft
    with ``MANY`` more lines, returned twice, and for the month before endorsed (not signed
    off, so compared with the draft as it reads now, as in the few rows). Returns the draft
    and the latest programme report signed off."""
    Status = ProgressReport.Status
    chairs = {
        m.body.workstream_id: m.user
        for m in Membership.objects.filter(
            role=Membership.Role.CHAIR, body__workstream__plan=plan
        ).select_related("body", "user")
    }

    def brought_to(state, workstream, period):
        existing = ProgressReport.objects.filter(plan=plan, workstream=workstream, period=period)
        if existing.exists():
            return existing.get()
        report = governance.report_start(by=office, plan=plan, period=period, workstream=workstream)
        report = governance.report_edit(
            report=report,
            by=office,
            based_on_version=report.version,
            working_well=report.working_well or "Supervision is regular.",
            how_we_know=report.how_we_know or "Audits.",
            worried_about=report.worried_about or "Locum managers.",
        )
        for n in range(2):
            governance.report_item_add(
                report=report,
                by=office,
                description=f"Line {n}.",
                owner=chair,
                due_date=datetime.date(2019, 2, 1) + datetime.timedelta(days=n),
            )
        if state == Status.DRAFT:
            return report
        governance.report_submit(report=report, by=office)
        if workstream is not None and state != Status.SUBMITTED:
            governance.report_endorse(report=report, by=chairs[workstream.pk])
        if state == Status.SIGNED_OFF:
            governance.report_sign_off(report=report, by=board_chair)
        return report

    def not_sealed(report):
        """A report signed off (by ``generate_plan``) reopened, to be read live."""
        if report.status == Status.SIGNED_OFF:
            governance.report_reopen(report=report, by=office, comment="To be read again.")
            report.refresh_from_db()
        return report

    others = [*plan.workstreams.exclude(pk=workstream.pk).order_by("code"), None]
    states = [Status.SUBMITTED, Status.ENDORSED, Status.SIGNED_OFF]
    for period in MONTHS[:-2]:
        for other in [workstream, *others]:
            brought_to(Status.SIGNED_OFF, other, period)
    for n, other in enumerate(others):
        brought_to(Status.SIGNED_OFF, other, MONTHS[-2])
        brought_to(states[n % len(states)], other, MONTHS[-1])
    not_sealed(brought_to(Status.ENDORSED, workstream, MONTHS[-2]))

    draft = not_sealed(brought_to(Status.DRAFT, workstream, MONTHS[-1]))
    if draft.status == Status.SUBMITTED:
        governance.report_return(report=draft, by=chair, comment="Say more.")
    elif draft.status == Status.ENDORSED:
        governance.report_return(report=draft, by=board_chair, comment="Say more.")
    for n in range(MANY):
        governance.report_item_add(
            report=draft,
            by=office,
            description=f"Line {n} to add.",
            owner=chair,
            due_date=datetime.date(2019, 2, 1) + datetime.timedelta(days=n),
        )
    for _ in range(2):
        governance.report_submit(report=draft, by=office)
        governance.report_return(report=draft, by=chair, comment="Say more.")
    signed_off = ProgressReport.objects.filter(
        plan=plan, workstream=None, status=Status.SIGNED_OFF
    ).latest("period")
    return draft, signed_off


# --- The pages -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """One page asked: its URL's name, who asks, its arguments in a state, and its query."""

    key: str
    role: str = "programme office"
    kwargs: Callable[[Subjects], dict] = lambda s: {}
    query: str | Callable[[Subjects], str] = ""
    variant: str = ""  # a second way of asking the same URL
    settings: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.key} [{self.variant}]" if self.variant else self.key

    def url(self, subjects: Subjects) -> str:
        query = self.query(subjects) if callable(self.query) else self.query
        return reverse(self.key, kwargs=self.kwargs(subjects)) + query


def action(s):
    return {"reference": s.action}


def meeting(s):
    return {"pk": s.meeting}


def risk(s):
    return {"pk": s.risk}


def draft(s):
    return {"pk": s.draft_report}


# The plan as it stood at the end of the day before, when every row was made (MADE).
PAST = "?period=2018-12&as_of=2019-01-09"
RESET = {"GRIP_PASSWORD_RESET": True}  # password reset is offered where e-mail is set up

PAGES = [
    Page("home", variant="programme office"),
    Page("home", "task group chair", variant="task group chair"),
    Page("home", "lead officer", variant="lead officer"),
    Page("home", "programme board chair", variant="programme board chair"),
    Page("home", "programme board member", variant="programme board member"),
    Page("healthz", "anonymous"),
    Page("login", "anonymous"),
    Page("password_change"),
    Page("password_change_done"),
    Page("password_reset", "anonymous", settings=RESET),
    Page("password_reset_done", "anonymous", settings=RESET),
    Page(
        "password_reset_confirm",
        "anonymous",
        lambda s: {"uidb64": "MQ", "token": "not-a-token"},
        settings=RESET,
    ),
    Page("password_reset_complete", "anonymous", settings=RESET),
    # The list shows 25 actions a page, with few rows as with many: filtered to a workstream,
    # it shows fewer with few rows, so that a query per row shows.
    Page("workstreams:action-list"),
    Page(
        "workstreams:action-list",
        query=lambda s: f"?workstream={s.workstream}",
        variant="a workstream's",
    ),
    Page(
        "workstreams:action-list",
        query=lambda s: f"{PAST}&workstream={s.workstream}",
        variant="a workstream's, as of a past day",
    ),
    Page("workstreams:action-export-xlsx"),
    Page("workstreams:action-export-csv"),
    # The chair sees the most on an action: the pending request's decision form.
    Page("workstreams:action-detail", "task group chair", action),
    Page("workstreams:action-history", kwargs=action),
    Page("workstreams:action-update", "task group chair", action),
    Page("workstreams:workstream-detail", kwargs=lambda s: {"code": s.workstream}),
    Page("workstreams:import"),
    Page("workstreams:import-preview", kwargs=lambda s: {"token": s.waiting_import}),
    Page("workstreams:import-done", kwargs=lambda s: {"token": s.done_import}),
    Page("governance:dashboard"),
    Page("governance:dashboard", query=PAST, variant="as of a past day"),
    # The month the board reviews, with reports in every state (their lines are read only
    # when one is not signed off).
    Page("governance:board-pack", query="?period=2018-12"),
    Page("governance:board-pack", query=PAST, variant="as of a past day"),
    Page("governance:report-list"),
    Page("governance:report-detail", kwargs=draft),
    Page(
        "governance:report-detail",
        kwargs=lambda s: {"pk": s.signed_off_report},
        variant="signed off",
    ),
    Page("governance:report-compare", kwargs=draft),
    Page("governance:report-edit", kwargs=draft),
    Page("governance:meeting-list"),
    Page("governance:meeting-record"),
    Page("governance:meeting-detail", kwargs=meeting),
    Page("governance:meeting-edit", kwargs=meeting),
    Page("governance:decision-add", kwargs=meeting),
    Page(
        "governance:decision-close",
        kwargs=lambda s: {"pk": s.meeting, "decision_id": s.decision},
    ),
    Page("governance:risk-list"),
    Page("governance:risk-add"),
    Page("governance:risk-detail", kwargs=risk),
    Page("governance:risk-change", kwargs=risk),
    Page("governance:risk-close", kwargs=risk),
]
PAGES_BY_NAME = {page.name: page for page in PAGES}


# --- The portal's GET pages, from the URL configuration -------------------------------------

SAMPLES = {"int": "1", "uuid": "00000000-0000-0000-0000-000000000000"}


def answers_get(route: str) -> bool:
    """Whether the view at ``route`` answers GET (a POST-only step does not)."""
    path = "/" + re.sub(r"<(?:(\w+):)?\w+>", lambda m: SAMPLES.get(m[1], "x"), route)
    view = resolve(path).func
    view_class = getattr(view, "view_class", None)
    if view_class is None:  # a function view
        return True
    return "get" in view_class.http_method_names and hasattr(view_class, "get")


def portal_pages() -> list[str]:
    """The name of every URL outside the admin that answers GET."""
    return [
        key
        for key, route in url_keys()
        if not key.startswith("admin:") and admin_model_of(key) is None and answers_get(route)
    ]


PORTAL_PAGES = portal_pages()


# --- Measuring -----------------------------------------------------------------------------


@dataclass
class Measured:
    status: int | None = None
    queries: list[str] = field(default_factory=list)
    error: str = ""

    def __len__(self):
        return len(self.queries)


def client_of(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def measure_all(subjects: Subjects) -> dict[str, Measured]:
    """Each page asked once to warm up (the session, the first request's reads), then once
    counted."""
    clients = {role: client_of(user) for role, user in subjects.users.items()}
    measured = {}
    for page in PAGES:
        client = clients[page.role]
        try:
            url = page.url(subjects)
            with override_settings(**page.settings):
                client.get(url)
                with CaptureQueriesContext(connection) as queries:
                    response = client.get(url)
            measured[page.name] = Measured(
                response.status_code, [q["sql"] for q in queries.captured_queries]
            )
        except Exception as error:  # noqa: BLE001  (one page's error fails that page's test)
            measured[page.name] = Measured(error=f"{type(error).__name__}: {error}")
    return measured


@dataclass
class Counts:
    pages: dict[str, tuple[Measured, Measured]]  # queries with few rows, with many
    sizes: dict[str, tuple[int, int]]  # rows of each kind asked about, few and many


# The rows are made the evening before the suite's day and the pages asked on the day, so
# that "as of the day before" (PAST) sees every row of both states.
MADE = REFERENCE_DAY - datetime.timedelta(hours=12)


@pytest.fixture(scope="module")
def measured(django_db_setup, django_db_blocker):
    """Every page counted with few rows, then with many, in one transaction rolled back when
    the module ends."""
    with django_db_blocker.unblock(), transaction.atomic():
        with time_machine.travel(MADE, tick=True):
            subjects = few_rows()
        with time_machine.travel(REFERENCE_DAY, tick=True):
            few, few_sizes = measure_all(subjects), sizes(subjects)
        with time_machine.travel(MADE + datetime.timedelta(hours=1), tick=True):
            subjects = many_rows()
        with time_machine.travel(REFERENCE_DAY + datetime.timedelta(hours=1), tick=True):
            many, many_sizes = measure_all(subjects), sizes(subjects)
        yield Counts(
            pages={name: (few[name], many[name]) for name in few},
            sizes={kind: (few_sizes[kind], many_sizes[kind]) for kind in few_sizes},
        )
        transaction.set_rollback(True)


# --- Reading the queries -------------------------------------------------------------------

TABLE = re.compile(r'(?:FROM|INTO|UPDATE)\s+"?(\w+)"?', re.IGNORECASE)


def shape(sql: str) -> str:
    """A query with its values taken out: the same query for another row looks the same."""
    sql = re.sub(r"'(?:[^']|'')*'", "?", sql)
    sql = re.sub(r"\b\d+(?:\.\d+)?\b", "?", sql)
    return re.sub(r"\(\?(?:, \?)*\)", "(...)", sql)


def purpose(sql: str) -> str:
    """What a query is for, as far as its first table tells: the session, the user, the
    user's roles (navigation and permissions), or the page's own reads."""
    match = TABLE.search(sql)
    table = match[1] if match else "?"
    if table == "django_session":
        return "session"
    if table in ("auth_user_groups", "auth_group", "governance_membership"):
        return f"roles ({table})"
    if table == "auth_user" and '"auth_user"."id" = ' in sql and "LIMIT 21" in sql:
        return "user (auth_user)"
    return f"page ({table})"


def described(queries: list[str]) -> str:
    by_purpose = Counter(purpose(sql) for sql in queries)
    lines = [f"  {n:3} {what}" for what, n in sorted(by_purpose.items())]
    lines += [f"    {sql[:300]}" for sql in queries]
    return "\n".join(lines)


def repeated(few: list[str], many: list[str]) -> str:
    """The queries run more often with many rows: an N+1's repeated query."""
    extra = Counter(map(shape, many)) - Counter(map(shape, few))
    return "\n".join(f"  {n} more: {sql[:400]}" for sql, n in extra.most_common())


# --- The tests -----------------------------------------------------------------------------


def asked(name):
    if name in KNOWN_N_PLUS_ONE:
        return pytest.param(
            name, marks=pytest.mark.xfail(strict=True, reason=KNOWN_N_PLUS_ONE[name])
        )
    return name


# Every page below, and every GET page of the portal that has none (to fail).
ASKED = sorted(set(PAGES_BY_NAME) | (set(PORTAL_PAGES) - {page.key for page in PAGES}))


@pytest.mark.parametrize("name", map(asked, ASKED))
def test_a_page_runs_a_fixed_number_of_queries_within_its_budget(measured, name):
    if name not in PAGES_BY_NAME:
        pytest.fail(f"{name} has no page in PAGES: add it, with its budget in BUDGETS")
    if name not in BUDGETS:
        pytest.fail(f"{name} has no budget: add it to BUDGETS")
    few, many = measured.pages[name]
    assert not few.error and not many.error, few.error or many.error
    assert few.status == many.status == 200, (few.status, many.status)
    with_few, with_many, budget = len(few), len(many), BUDGETS[name]
    assert with_many == with_few, (
        f"{name}: {with_few} queries with few rows, {with_many} with many. Repeated:\n"
        + repeated(few.queries, many.queries)
    )
    assert with_many <= budget, (
        f"{name}: {with_many} queries, over its budget of {budget}:\n" + described(many.queries)
    )


def test_the_many_rows_have_many_of_every_kind_the_pages_show(measured):
    """Each kind of row the pages are asked about is at least twice as many, and four more,
    with many rows: a query run once per row shows as a difference."""
    few_as_many = {
        kind: counts for kind, counts in measured.sizes.items() if counts[1] < 2 * counts[0] + 4
    }
    assert not few_as_many, f"Not many more rows with many (few, many): {few_as_many}"


def test_every_page_has_a_budget():
    missing = sorted(set(PORTAL_PAGES) - {page.key for page in PAGES})
    assert not missing, f"Pages with no budget (add them to PAGES and BUDGETS): {missing}"
    assert set(BUDGETS) == set(PAGES_BY_NAME), set(BUDGETS) ^ set(PAGES_BY_NAME)
    stale = sorted({page.key for page in PAGES} - set(PORTAL_PAGES))
    assert not stale, f"In PAGES, not a GET page of the portal: {stale}"


def test_every_page_is_under_the_target():
    over = {name: n for name, n in BUDGETS.items() if n >= TARGET}
    assert not over, f"{len(over)} pages at {TARGET} queries or more: {over}"
