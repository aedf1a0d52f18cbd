"""A synthetic plan for load tests and benchmarks (DESIGN.md, "Stable interfaces").

    python manage.py generate_plan --actions N --months M [--seed S] [--as-user USERNAME]

Everything comes from ``random.Random(seed)``, so one seed always gives the same plan:
workstreams, priorities, references, leads, due dates and each month's statuses and words.
Dates are laid out from ``--start-month`` (default: the M months before the current one).

Rows are written in bulk for speed, always with their history (``bulk_create_with_history``
and ``bulk_update_with_history``): each monthly update of an action is one history row
dated within that month and recorded against the acting user, as the services would.
Bulk writes go in batches of ``BATCH_SIZE`` rows: Django's ``bulk_update`` builds a
``CASE WHEN`` per row for each field, so one statement over every action costs the database
the square of their number.

Besides the actions, the plan carries what the programme board's dashboard reads: two
indicators per workstream with a value for most months, and quarterly workforce snapshots
of six synthetic service areas.

And the governance around it, as the workflow would have left it:

- a programme board (chaired by ``synthetic.board.chair``, the workstreams' chairs its
  members) to which the task groups report; it meets on the 12th of each month, reviewing
  the month before, and the task groups in the first week; decisions made at the meetings,
  due by a later meeting, most closed at one; the board's next meeting, still to come;
- each workstream's risk register: a few risks a year, open, escalated or closed, their
  scores moving month by month (each change a history row, with why);
- each workstream's four-question report for each month: its "what needs to happen" items
  carried from month to month until settled; earlier months signed off at the board, the
  last two months endorsed, submitted, returned or still drafts. A signed-off report is
  sealed by the sign-off's own ``report_snapshot`` and ``snapshot_checksum``: like
  ``load_demo``'s (docs/decisions/0008), on the rows as they stand when it runs, judged on
  the report's month. Each step is a ``Review`` by the person the workflow names (the lead
  officer submits, the task group chair endorses, the programme board's chair signs off,
  either returns), taken at its meeting; a step that would fall after now is not taken.

Rows that change after they are made (risks, reports, their items, decisions) are created in
their first state and then given one history row per later state, dated when it happened;
the live row is written once, with its last state.
"""

import calendar
import copy
import datetime
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from governance.models import (
    Body,
    Decision,
    Meeting,
    Membership,
    ProgressReport,
    ReportItem,
    Review,
    Risk,
)
from governance.selectors import report_snapshot, snapshot_checksum
from workstreams.audit import history_user
from workstreams.commands import AuditedCommand
from workstreams.models import (
    Action,
    ActionStatus,
    ActionUpdate,
    DueDateChange,
    Finding,
    Indicator,
    IndicatorValue,
    Plan,
    Priority,
    ServiceArea,
    WorkforceSnapshot,
    Workstream,
    add_months,
    month_end,
    month_start,
)
from workstreams.templatetags.grip import measure

MAX_ACTIONS = 200_000
MAX_MONTHS = 120
# Rows per statement of every bulk write. Django's bulk_update writes one CASE WHEN per row
# for each field, which the database evaluates row by row: the cost of a statement grows
# with the square of its rows. (On PostgreSQL with JIT on, one UPDATE of 20,000 actions was
# still compiling its CASE expressions in LLVM after 15 minutes; in batches of 500 it takes
# about 14 s.)
BATCH_SIZE = 500
# A signed-off report carries its snapshot, about 200 bytes an action (1 MB for a workstream
# of 5,000): its writes go in smaller batches, or one statement would carry half a gigabyte
# (and, measured on 91 such reports, take 10.8 s where batches of 50 take 6 s).
SEALED_BATCH_SIZE = 50

WORKSTREAMS = [
    ("Management oversight", "Supervision, management grip and decision making."),
    ("Workforce", "Recruiting and keeping permanent social workers and managers."),
    ("Partnerships", "Working with police, health, schools and the safeguarding board."),
    ("Practice quality", "Assessments, plans and visits that make a difference."),
    ("Data and systems", "Performance reporting and the case management system."),
    ("Voice of the child", "Children's views heard and acted on."),
]
PRIORITIES = [
    "Strengthen management oversight and grip",
    "Improve the quality of practice",
    "Build a stable, skilled workforce",
    "Work better with partners",
    "Know ourselves through performance and audit",
]
VERBS = ["Embed", "Audit", "Review", "Introduce", "Strengthen", "Publish", "Monitor", "Train"]
OBJECTS = [
    "supervision standards",
    "case file audits",
    "the quality assurance framework",
    "return home interviews",
    "the front door threshold guidance",
    "manager caseload reviews",
    "the practice model",
    "the performance scorecard",
    "the recruitment campaign",
    "the induction programme",
    "multi-agency strategy meetings",
    "care plan reviews",
    "the learning and development offer",
    "the case recording policy",
]
NARRATIVES = {
    ActionStatus.NOT_STARTED: ["Scoping started; owner confirmed.", "Waiting on a decision."],
    ActionStatus.ON_TRACK: [
        "Milestones met this month.",
        "Pilot running in two teams; feedback positive.",
        "Plan agreed and delivery under way.",
    ],
    ActionStatus.AT_RISK: [
        "Capacity in the team is stretched; milestone may slip.",
        "Dependency on partners not yet met.",
    ],
    ActionStatus.OFF_TRACK: [
        "Milestone missed: staffing gaps.",
        "Delivery stalled pending funding.",
    ],
    ActionStatus.COMPLETE: [
        "Delivered; impact being monitored.",
        "Complete; now business as usual.",
    ],
    ActionStatus.CLOSED: ["Closed: superseded by another action."],
}
NEXT_STEPS = [
    "Report to the task group next month.",
    "Audit a sample of cases.",
    "Agree the timetable with partners.",
    "Brief team managers.",
]
# Two indicators for each workstream (in WORKSTREAMS' order): name, unit, higher is better.
INDICATORS = [
    [
        ("Supervisions held within timescale", Indicator.Unit.PERCENT, True),
        ("Cases open beyond timescale", Indicator.Unit.NUMBER, False),
    ],
    [
        ("Social workers in permanent posts", Indicator.Unit.PERCENT, True),
        ("Vacant social worker posts", Indicator.Unit.NUMBER, False),
    ],
    [
        ("Strategy meetings attended by police and health", Indicator.Unit.PERCENT, True),
        ("Referrals without partner information", Indicator.Unit.NUMBER, False),
    ],
    [
        ("Case audits rated good or better", Indicator.Unit.PERCENT, True),
        ("Assessments completed late", Indicator.Unit.NUMBER, False),
    ],
    [
        ("Performance returns on time", Indicator.Unit.PERCENT, True),
        ("Records with missing data", Indicator.Unit.NUMBER, False),
    ],
    [
        ("Children seen alone at visits", Indicator.Unit.PERCENT, True),
        ("Return home interviews not offered", Indicator.Unit.NUMBER, False),
    ],
]
SERVICE_AREAS = [f"Synthetic service {n}" for n in range(1, 7)]

# A report's answer names this many actions of a kind, then says how many more.
EXAMPLES = 4
# Risks added to each workstream's register a year (at least three each, one to end in each
# state), and to the programme's.
RISKS_A_YEAR, PROGRAMME_RISKS_A_YEAR = 4, 1
# The programme board meets on this day of each month, reviewing the month before.
BOARD_DAY = 12
# Title, description, mitigation.
RISKS = [
    (
        "Permanent social workers leave faster than we recruit them",
        "Turnover among permanent staff outpaces the recruitment campaign.",
        "Retention offer agreed; exit interviews reviewed monthly.",
    ),
    (
        "Partners do not commit the staff they agreed",
        "Police and health have not yet named people for the multi-agency meetings.",
        "Escalation route agreed with the safeguarding board.",
    ),
    (
        "Caseloads rise beyond what teams can hold",
        "Referrals have grown faster than the teams' capacity.",
        "Weekly caseload review; agency cover for the busiest teams.",
    ),
    (
        "The case management system upgrade slips",
        "The supplier has moved the release date twice.",
        "Contract milestones monitored; manual workarounds ready.",
    ),
    (
        "Audit findings are not acted on",
        "Actions from case audits are not followed up in supervision.",
        "Audit actions tracked at the task group each month.",
    ),
    (
        "Managers lack time for reflective supervision",
        "Team managers spend their time on allocation and cover.",
        "Business support added to the teams with the most vacancies.",
    ),
    (
        "Funding for the programme is reduced",
        "The council's budget round may cut the programme's funding.",
        "Costed plan presented to the cabinet member.",
    ),
    (
        "Demand at the front door grows faster than capacity",
        "Contacts to the front door are up on last year.",
        "Threshold guidance relaunched with partners.",
    ),
    (
        "Poor data quality undermines performance reporting",
        "Missing fields make the scorecard unreliable.",
        "Data cleansing sprint; recording standards in induction.",
    ),
    (
        "Children's views are not heard in their plans",
        "Audits find the child's voice missing from many plans.",
        "Practice standard on direct work; audits check for it.",
    ),
    (
        "Key leaders leave during the programme",
        "Interim cover in two senior posts.",
        "Succession plan agreed; permanent recruitment under way.",
    ),
    (
        "Training is not taken up by frontline staff",
        "Attendance at the practice model training is low.",
        "Training protected in rotas; managers follow up non-attendance.",
    ),
]
# A risk's monthly review: what moved and why (the note kept in its history).
RISK_NOTES = {
    ("likelihood", 1): "More likely: this month's updates show slippage.",
    ("likelihood", -1): "Less likely: the mitigation is working.",
    ("impact", 1): "Impact raised at the task group's review.",
    ("impact", -1): "Impact lowered at the task group's review.",
}
ESCALATED = "Escalated to the programme board: the score is high."
DE_ESCALATED = "No longer escalated: the score has come down."
RISK_CLOSED = "Closed: the mitigation is in place and the risk has not recurred."
BOARD_DECISIONS = [
    "{code} to bring a recovery plan for its off-track actions to the board.",
    "{code} to report the impact of {obj}, with evidence from audits.",
    "Review the governance of {obj} and report back.",
    "Agree the timetable for {obj} with partners and report it to the board.",
]
TASK_GROUP_DECISIONS = [
    "Audit a sample of cases against {obj} and bring the findings back.",
    "Lead officers to update the milestones for {obj}.",
    "Bring the data on {obj} to the next task group.",
    "Agree how the impact of {obj} will be evidenced.",
]
CLOSING_NOTES = [
    "Done: reported to this meeting.",
    "Done; the paper is filed with the minutes.",
    "Done, and the findings taken into the plan.",
]
ITEMS = [
    "Audit {obj} and bring the findings to the task group",
    "Agree a recovery plan for {obj}",
    "Report the impact of {obj}, with evidence",
    "Brief team managers on {obj}",
    "Confirm the funding for {obj}",
]
RETURN_REASONS = [
    "Say what the slipped due dates mean for the milestones the board agreed.",
    "The evidence of impact needs figures, not activity: add the audit results.",
    "Add the risks the task group discussed, with their owners.",
    "Say which of last month's items did not happen, and why.",
]
# How far each workstream's report for a month has gone: the earlier months' are signed
# off; the last two months' are these, shuffled among the workstreams (so every state is
# there). Returned: back with its author as a draft, with the reviewer's reason.
DRAFT, SUBMITTED = ProgressReport.Status.DRAFT, ProgressReport.Status.SUBMITTED
ENDORSED, SIGNED_OFF = ProgressReport.Status.ENDORSED, ProgressReport.Status.SIGNED_OFF
RETURNED_BY_CHAIR, RETURNED_BY_BOARD = "returned by the task group chair", "returned by the board"
LAST_MONTH = [DRAFT, SUBMITTED, RETURNED_BY_CHAIR, DRAFT, SUBMITTED, DRAFT]
MONTH_BEFORE = [ENDORSED, SIGNED_OFF, RETURNED_BY_BOARD, SIGNED_OFF, ENDORSED, SIGNED_OFF]
# The share of signed-off reports the task group chair returned once on the way.
RETURNED_ON_THE_WAY = 0.15
REVISED = "Added after the report was returned: what the task group asked for, with owners."


@dataclass
class Made:
    """What the command made, for its report."""

    rows: dict[str, int] = field(default_factory=dict)
    history: int = 0

    def add(self, label: str, count: int, history: int | None = None) -> None:
        self.rows[label] = self.rows.get(label, 0) + count
        self.history += count if history is None else history


def at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


@dataclass
class Examples:
    """How many, and the first few by name: what a report's answer lists."""

    count: int = 0
    names: list[str] = field(default_factory=list)

    def add(self, name: str) -> None:
        self.count += 1
        if len(self.names) < EXAMPLES:
            self.names.append(name)

    def lines(self, says: str, more: str) -> list[str]:
        lines = [f"{name}: {says}." for name in self.names]
        if self.count > len(self.names):
            lines.append(f"And {self.count - len(self.names)} more {more}.")
        return lines


@dataclass
class MonthNote:
    """A workstream's month, as its report tells it."""

    completed: Examples = field(default_factory=Examples)
    recovered: Examples = field(default_factory=Examples)
    off_track: Examples = field(default_factory=Examples)
    slipped: Examples = field(default_factory=Examples)


# Told how far a step has gone: (step, done, total).
Progress = Callable[[str, int, int], None]


def no_progress(step: str, done: int, total: int) -> None:
    pass


class ProgressLine:
    """A line that counts a step's progress in place (``\\r``), for a terminal only."""

    def __init__(self, out):
        self.out = out

    def __call__(self, step: str, done: int, total: int) -> None:
        self.out.write(f"\r{step}: {done} of {total}", ending="")
        if done == total:
            self.out.write("")
        self.out.flush()


def next_status(rng: random.Random, status: str, due_soon: bool) -> str:
    """Where an action goes in a month: mostly forward, sometimes into trouble."""
    r = rng.random()
    if status in (ActionStatus.COMPLETE, ActionStatus.CLOSED):
        return status
    if status == ActionStatus.NOT_STARTED:
        steps = [(0.55, ActionStatus.ON_TRACK), (0.1, ActionStatus.AT_RISK)]
        steps.append((0.05, ActionStatus.OFF_TRACK))
    elif status == ActionStatus.ON_TRACK:
        steps = [(0.25 if due_soon else 0.03, ActionStatus.COMPLETE)]
        steps += [(0.12, ActionStatus.AT_RISK), (0.01, ActionStatus.CLOSED)]
    elif status == ActionStatus.AT_RISK:
        steps = [(0.35, ActionStatus.ON_TRACK), (0.15, ActionStatus.OFF_TRACK)]
        steps.append((0.08 if due_soon else 0.02, ActionStatus.COMPLETE))
    else:  # off track
        steps = [(0.35, ActionStatus.AT_RISK), (0.1, ActionStatus.ON_TRACK)]
    for chance, outcome in steps:
        if r < chance:
            return outcome
        r -= chance
    return status


def changed_fields(action: Action) -> tuple[str, ...]:
    """The fields the monthly updates may have moved from an action's first state."""
    fields = ("status", "progress_narrative", "version", "last_update_period")
    if action.evidence_of_impact:
        fields += ("evidence_of_impact", "evidence_accepted_at", "evidence_accepted_by")
    if action.revised_due_date:
        fields += ("revised_due_date", "revised_due_reason", "slip_count")
    return fields


class Command(AuditedCommand):
    help = (
        "Create a synthetic live plan of N actions with M months of updates and history, and "
        "its governance (meetings and decisions, risks, four-question reports in every state "
        "of the workflow), for load tests and benchmarks. The plan that was live is closed. "
        "Synthetic users (synthetic.board.chair, synthetic.chair.<code>, synthetic.lead.<n>) "
        "cannot sign in."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--actions", type=int, required=True, metavar="N")
        parser.add_argument("--months", type=int, required=True, metavar="M")
        parser.add_argument("--seed", type=int, default=1, metavar="S")
        parser.add_argument(
            "--start-month",
            metavar="YYYY-MM",
            help="The first month of updates (default: M months before the current month).",
        )

    def handle_audited(self, *args, **options):
        started = time.perf_counter()
        n_actions, n_months, seed = options["actions"], options["months"], options["seed"]
        if not 1 <= n_actions <= MAX_ACTIONS:
            raise CommandError(f"--actions must be between 1 and {MAX_ACTIONS}.")
        if not 0 <= n_months <= MAX_MONTHS:
            raise CommandError(f"--months must be between 0 and {MAX_MONTHS}.")
        this_month = month_start(timezone.localdate())
        if options["start_month"]:
            try:
                first = datetime.date.fromisoformat(f"{options['start_month']}-01")
            except ValueError:
                raise CommandError("--start-month must look like 2019-04.") from None
        else:
            first = add_months(this_month, -n_months)
        if add_months(first, n_months) > this_month:
            raise CommandError("The months of updates must end before the current month.")

        title = f"Synthetic plan: {n_actions} actions, {n_months} months (seed {seed})"
        if Plan.objects.filter(title=title).exists():
            raise CommandError(f"There is already a plan titled '{title}'.")

        verbosity = options["verbosity"]
        generator = Generator(
            rng=random.Random(seed),
            actor=history_user(),
            title=title,
            n_actions=n_actions,
            start=first,
            months=[add_months(first, i) for i in range(n_months)],
            progress=ProgressLine(self.stdout)
            if verbosity >= 1 and self.stdout.isatty()
            else no_progress,
        )
        with transaction.atomic():
            plan, closed = generator.run()
        elapsed = time.perf_counter() - started
        if verbosity < 1:
            return

        made = ", ".join(f"{count} {label}" for label, count in generator.made.rows.items())
        self.stdout.write(
            self.style.SUCCESS(
                f"Created '{plan}' (live, {plan.period_start} to {plan.period_end}): {made}; "
                f"{generator.made.history} history rows, recorded as {generator.actor}."
            )
        )
        if closed:
            self.stdout.write(f"Closed the plan that was live: {', '.join(map(str, closed))}.")
        self.stdout.write(f"Took {elapsed:.1f} s.")
        if verbosity >= 2:
            for step, seconds in generator.seconds.items():
                self.stdout.write(f"  {step}: {seconds:.1f} s")


class Generator:
    """Builds the plan; every random choice is drawn from ``rng`` in a fixed order."""

    def __init__(self, *, rng, actor, title, n_actions, start, months, progress=no_progress):
        self.rng, self.actor, self.title = rng, actor, title
        self.n_actions, self.start, self.months = n_actions, start, months
        self.progress: Progress = progress
        self.made = Made()
        self.seconds: dict[str, float] = {}  # how long each step took (verbosity 2)
        self._clock = time.perf_counter()
        # Nothing is dated after now: a step that would come later is not taken (yet).
        self.now, self.today = timezone.now(), timezone.localdate()
        # The plan existed (and its rows were created) before its first month of updates.
        self.created = min(at(self.start, 8), self.now)
        # What each workstream's month held, and its indicators' values, for its report.
        self.notes: dict[tuple[int, datetime.date], MonthNote] = {}
        self.values_of: dict[tuple[int, datetime.date], list[IndicatorValue]] = {}

    def timed(self, step: str) -> None:
        """Record the time since the last step as ``step``'s."""
        now = time.perf_counter()
        self.seconds[step] = self.seconds.get(step, 0.0) + now - self._clock
        self._clock = now

    def bulk_create(self, label, objs, model, **kwargs):
        kwargs.setdefault("default_date", self.created)
        objs = bulk_create_with_history(
            objs, model, batch_size=BATCH_SIZE, default_user=self.actor, **kwargs
        )
        self.made.add(label, len(objs))
        return objs

    def run(self):
        closed = []
        for old in Plan.objects.select_for_update().live():
            old.status = Plan.Status.CLOSED
            old.full_clean()
            old.save()
            closed.append(old)
            self.made.history += 1

        plan = Plan(
            title=self.title,
            council="Synthetic council",
            description="Generated by manage.py generate_plan for load tests and benchmarks.",
            period_start=self.start,
            period_end=add_months(self.start, max(12, len(self.months) + 1))
            - datetime.timedelta(days=1),
            status=Plan.Status.LIVE,
        )
        plan._history_date = self.created
        plan.full_clean()
        plan.save()
        self.made.add("plan", 1)

        rng = self.rng
        priorities = self.bulk_create(
            "priorities",
            [
                Priority(plan=plan, number=number, title=text)
                for number, text in enumerate(PRIORITIES, start=1)
            ],
            Priority,
        )
        n_workstreams = rng.randint(4, 6)
        workstreams = self.bulk_create(
            "workstreams",
            [
                Workstream(
                    plan=plan,
                    code=code,
                    name=name,
                    scope=scope,
                    senior_responsible_officer=f"Synthetic chair {code}",
                )
                for code, (name, scope) in zip(
                    "ABCDEF"[:n_workstreams], WORKSTREAMS[:n_workstreams], strict=True
                )
            ],
            Workstream,
        )
        self.chairs, self.leads_of = self.users(plan, workstreams)
        leads_of = self.leads_of
        self.timed("plan, people and task groups")
        findings = self.findings(plan)
        actions = self.actions(plan, workstreams, priorities, leads_of)
        links = self.link_findings(actions, findings)
        self.timed("findings and actions")
        for number, period in enumerate(self.months, start=1):
            self.month(period, actions, last=period == self.months[-1])
            self.progress("Monthly updates", number, len(self.months))
        self.timed("monthly updates")
        self.m2m_history(Action, "findings", {link.action_id for link in links})
        self.timed("findings in the actions' history")
        # Drawn after the actions' months, so a seed's actions are as they always were.
        self.indicators(plan, workstreams)
        self.timed("indicators")
        self.workforce()
        self.timed("workforce snapshots")
        lives = self.risks(plan, workstreams)
        self.timed("risks")
        meetings = self.meetings(workstreams)
        self.timed("meetings and decisions")
        self.reports(plan, workstreams, meetings, lives)
        self.timed("four-question reports")
        return plan, closed

    # --- People and bodies -----------------------------------------------------------------

    def users(self, plan, workstreams):
        """A chair per workstream, leads shared among them and a programme board chair; the
        programme board and the task groups that report to it, with their memberships.

        Synthetic users are reused between synthetic plans and can never sign in.
        """
        User = get_user_model()
        n_leads = max(len(workstreams), min(200, math.ceil(self.n_actions / 10)))
        wanted = {"synthetic.board.chair": "Programme board chair"}
        wanted |= {f"synthetic.chair.{ws.code.lower()}": f"Chair {ws.code}" for ws in workstreams}
        wanted |= {f"synthetic.lead.{n}": f"Lead {n}" for n in range(1, n_leads + 1)}
        existing = {u.username: u for u in User.objects.filter(username__in=list(wanted))}
        for user in existing.values():
            if user.has_usable_password():
                user.set_unusable_password()
                user.save(update_fields=["password"])
        new = []
        for username, last_name in wanted.items():
            if username not in existing:
                user = User(
                    username=username, first_name="Synthetic", last_name=last_name, is_active=True
                )
                user.set_unusable_password()
                new.append(user)
        self.bulk_create("new users", new, User)
        users = {u.username: u for u in User.objects.filter(username__in=list(wanted))}

        chairs = {ws.pk: users[f"synthetic.chair.{ws.code.lower()}"] for ws in workstreams}
        leads_of = {ws.pk: [] for ws in workstreams}
        for n in range(1, n_leads + 1):
            leads_of[workstreams[(n - 1) % len(workstreams)].pk].append(
                users[f"synthetic.lead.{n}"]
            )

        self.board_chair = users["synthetic.board.chair"]
        (self.board,) = self.bulk_create(
            "programme board",
            [
                Body(
                    name=f"Programme board ({plan.title})",
                    kind=Body.Kind.PROGRAMME_BOARD,
                    chair_title="Synthetic programme board chair",
                    meets="monthly",
                    purpose="Signs off the workstreams' reports; the task groups report to it.",
                )
            ],
            Body,
        )
        bodies = self.bulk_create(
            "task groups",
            [
                Body(
                    name=f"{ws.name} task group ({plan.title})",
                    kind=Body.Kind.TASK_GROUP,
                    workstream=ws,
                    reports_to=self.board,
                    chair_title=ws.senior_responsible_officer,
                    meets="monthly",
                )
                for ws in workstreams
            ],
            Body,
        )
        self.task_groups = {ws.pk: body for ws, body in zip(workstreams, bodies, strict=True)}
        memberships = [
            Membership(
                body=self.board,
                user=self.board_chair,
                role=Membership.Role.CHAIR,
                title="Chair of the programme board",
            )
        ]
        memberships += [
            Membership(
                body=self.board,
                user=chairs[ws.pk],
                role=Membership.Role.MEMBER,
                title="Senior responsible officer",
            )
            for ws in workstreams
        ]
        for ws, body in zip(workstreams, bodies, strict=True):
            memberships.append(
                Membership(
                    body=body,
                    user=chairs[ws.pk],
                    role=Membership.Role.CHAIR,
                    title="Senior responsible officer",
                )
            )
            memberships += [
                Membership(body=body, user=lead, role=Membership.Role.MEMBER, title="Lead officer")
                for lead in leads_of[ws.pk]
            ]
        self.bulk_create("memberships", memberships, Membership)
        return chairs, leads_of

    # --- Findings and actions --------------------------------------------------------------

    def findings(self, plan):
        # References are unique within a plan, so each synthetic plan numbers its own from F-01.
        count = max(3, min(20, self.n_actions // 20))
        references = [f"F-{i:02d}" for i in range(1, count + 1)]
        day = self.start - datetime.timedelta(days=60)
        return self.bulk_create(
            "findings",
            [
                Finding(
                    plan=plan,
                    reference=reference,
                    source="Synthetic monitoring visit",
                    date=day,
                    theme=self.rng.choice(OBJECTS),
                    text=f"Inspectors found weaknesses in {self.rng.choice(OBJECTS)}.",
                )
                for reference in references
            ],
            Finding,
        )

    def actions(self, plan, workstreams, priorities, leads_of):
        rng = self.rng
        plan_days = (plan.period_end - plan.period_start).days
        per_group: dict[tuple[str, int], int] = {}
        actions = []
        for _ in range(self.n_actions):
            ws = rng.choice(workstreams)
            priority = rng.choice(priorities)
            key = (ws.code, priority.number)
            per_group[key] = per_group.get(key, 0) + 1
            action = Action(
                plan=plan,
                workstream=ws,
                priority=priority,
                reference=f"{ws.code}-{priority.number}.{per_group[key]}",
                title=f"{rng.choice(VERBS)} {rng.choice(OBJECTS)}",
                description="Synthetic action for load tests.",
                lead_officer=rng.choice(leads_of[ws.pk]),
                due_date=plan.period_start + datetime.timedelta(days=rng.randint(28, plan_days)),
                status=ActionStatus.NOT_STARTED,
                version=1,
            )
            action.clean()  # the model's own rules; the database checks the constraints
            actions.append(action)
        actions.sort(key=lambda a: (a.workstream.code, a.priority.number, a.reference))
        return self.bulk_create("actions", actions, Action)

    def link_findings(self, actions, findings):
        """About one action in ten answers one or two findings (linked at creation)."""
        through = Action.findings.through
        links = []
        for action in actions:
            if self.rng.random() < 0.1:
                for finding in self.rng.sample(findings, self.rng.randint(1, 2)):
                    links.append(through(action_id=action.pk, finding_id=finding.pk))
        # The link table has no history of its own: the actions' history rows carry it
        # (m2m_history, below).
        through.objects.bulk_create(links, batch_size=BATCH_SIZE)
        self.made.add("finding links", len(links), history=0)
        return links

    def m2m_history(self, model, name: str, ids) -> None:
        """Write the ``name`` links of the rows ``ids`` into all their history rows, as
        django-simple-history does for an m2m field on a save (bulk writes skip it)."""
        if not ids:
            return
        relation = getattr(model, name)
        through, own = relation.through, f"{relation.field.m2m_field_name()}_id"
        historical = model.history.model
        m2m_history = getattr(historical, name).model
        by_row: dict[int, list] = {}
        for link in through.objects.filter(**{f"{own}__in": ids}):
            by_row.setdefault(getattr(link, own), []).append(link)
        columns = [f.attname for f in through._meta.concrete_fields]
        rows = [
            m2m_history(history=record, **{column: getattr(link, column) for column in columns})
            for record in historical.objects.filter(id__in=list(by_row)).only("history_id", "id")
            for link in by_row[record.id]
        ]
        m2m_history.objects.bulk_create(rows, batch_size=BATCH_SIZE)

    # --- The monthly rhythm ----------------------------------------------------------------

    def month(self, period: datetime.date, actions: list[Action], *, last: bool) -> None:
        rng = self.rng
        last_day = calendar.monthrange(period.year, period.month)[1]
        end = period.replace(day=last_day)
        updates, moves = [], []
        for action in actions:
            when = at(period.replace(day=rng.randint(1, last_day)), rng.randint(9, 17))
            when += datetime.timedelta(minutes=rng.randint(0, 59))
            chair = self.chairs[action.workstream_id]
            due = action.revised_due_date or action.due_date
            was = action.status
            status = next_status(rng, was, due_soon=due <= end + datetime.timedelta(days=31))
            words = f"{period:%B %Y}: {rng.choice(NARRATIVES[status])}"
            action.status, action.progress_narrative = status, words
            if status == ActionStatus.COMPLETE and was != ActionStatus.COMPLETE:
                action.evidence_of_impact = (
                    f"Audit of {rng.randint(20, 60)} cases in {period:%B %Y}: "
                    f"{rng.randint(70, 98)}% met the new standard."
                )
            # The chair accepts the evidence, often in the month it is given, else later.
            accepts = rng.random() < 0.6
            if status == ActionStatus.COMPLETE and not action.evidence_accepted_at and accepts:
                action.evidence_accepted_at, action.evidence_accepted_by = when, chair
            revised = None
            if (
                status in (ActionStatus.AT_RISK, ActionStatus.OFF_TRACK)
                and due <= end + datetime.timedelta(days=45)
                and rng.random() < 0.25
            ):
                revised = max(due, end) + datetime.timedelta(days=rng.randint(30, 90))
                reason = f"{period:%B %Y}: {rng.choice(NARRATIVES[status])}"
                moves.append(
                    DueDateChange(
                        action=action,
                        from_date=due,
                        to_date=revised,
                        reason=reason,
                        requested_by=action.lead_officer,
                        requested_at=when,
                        decision=DueDateChange.Decision.APPROVED,
                        decided_by=chair,
                        decided_at=when,
                        decision_comment="Agreed at the task group.",
                    )
                )
                moves[-1]._history_date = when
                action.revised_due_date, action.revised_due_reason = revised, reason
                action.slip_count += 1  # as the services keep it: every move here is later
            self.note(action, period, was, slipped=revised is not None)
            action.version += 1
            action.last_update_period = period  # as the services keep it
            action._history_date = when
            update = ActionUpdate(
                action=action,
                period=period,
                status=status,
                progress_narrative=words,
                evidence_of_impact=action.evidence_of_impact,
                next_steps=rng.choice(NEXT_STEPS),
                revised_due_date=revised,
                created_by=action.lead_officer,
                created_at=when,
            )
            update._history_date = when
            updates.append(update)

        mid_month = at(period.replace(day=15), 12)
        # Each month writes one history row per action (its state as the month left it).
        # The action rows themselves are written once, with the last month's history row:
        # the same end state inside one transaction, without rewriting every row each month.
        # That write goes in batches: bulk_update's CASE WHEN per row and field costs the
        # square of the rows in one statement.
        groups: dict[tuple[str, ...], list[Action]] = {(): actions}
        if last:
            groups = {}
            for action in actions:
                groups.setdefault(changed_fields(action), []).append(action)
        for fields, group in groups.items():
            bulk_update_with_history(
                group,
                Action,
                fields=list(fields),
                batch_size=BATCH_SIZE,
                default_user=self.actor,
                default_date=mid_month,
            )
        self.made.add("action changes", len(actions))
        self.bulk_create("updates", updates, ActionUpdate, default_date=mid_month)
        if moves:
            self.bulk_create("due date changes", moves, DueDateChange, default_date=mid_month)

    def note(self, action: Action, period: datetime.date, was: str, *, slipped: bool) -> None:
        """Keep what the workstream's report for ``period`` will say of the action's month."""
        status = action.status
        if status == was and status != ActionStatus.OFF_TRACK and not slipped:
            return
        note = self.notes.setdefault((action.workstream_id, period), MonthNote())
        name = f"{action.reference} {action.title}"
        if status != was and status == ActionStatus.COMPLETE:
            note.completed.add(name)
        elif status != was and status == ActionStatus.ON_TRACK and was != ActionStatus.NOT_STARTED:
            note.recovered.add(name)
        elif status == ActionStatus.OFF_TRACK:
            note.off_track.add(name)
        if slipped:
            note.slipped.add(name)

    # --- What the programme board's dashboard reads ----------------------------------------

    def recorded(self, day: datetime.date) -> datetime.datetime:
        """When a figure for a past period was recorded: a working morning of ``day``, or
        now if that is still to come (the last month's figures, this month)."""
        return min(at(day, self.rng.randint(9, 11), self.rng.randint(0, 59)), timezone.now())

    def indicators(self, plan, workstreams):
        """Two indicators per workstream, each with a value for about nine months in ten,
        moving from a poor start towards its target; each value recorded in the first week
        of the month after its period."""
        rng = self.rng
        indicators, series = [], []
        for index, ws in enumerate(workstreams):
            for number, (name, unit, higher) in enumerate(INDICATORS[index], start=1):
                if unit == Indicator.Unit.PERCENT:
                    target = Decimal(rng.randrange(80, 96, 5))
                    tolerance = Decimal(rng.choice([5, 10]))
                    start = float(target) - rng.uniform(15, 35)
                else:
                    target = Decimal(rng.randrange(5, 30, 5))
                    tolerance = Decimal(rng.choice([2, 5]))
                    start = float(target) * rng.uniform(1.8, 3.5)
                indicators.append(
                    Indicator(
                        plan=plan,
                        workstream=ws,
                        code=f"{ws.code}-KPI-{number}",
                        name=name,
                        description="Synthetic indicator for load tests.",
                        unit=unit,
                        target=target,
                        tolerance=tolerance,
                        higher_is_better=higher,
                    )
                )
                series.append(start)
        indicators = self.bulk_create("indicators", indicators, Indicator)

        values = []
        for indicator, value in zip(indicators, series, strict=True):
            target = float(indicator.target)
            for period in self.months:
                # A third of the way to target each month, give or take, with noise.
                value += (target - value) * rng.uniform(0.05, 0.35)
                value += rng.gauss(0, max(1.0, abs(target) * 0.03))
                if rng.random() < 0.1:
                    continue  # not reported this month
                if indicator.unit == Indicator.Unit.PERCENT:
                    shown = Decimal(f"{min(100.0, max(0.0, value)):.1f}")
                else:
                    shown = Decimal(max(0, round(value)))
                row = IndicatorValue(indicator=indicator, period=period, value=shown)
                row._history_date = self.recorded(
                    add_months(period, 1).replace(day=rng.randint(1, 7))
                )
                values.append(row)
                self.values_of.setdefault((indicator.workstream_id, period), []).append(row)
        self.bulk_create("indicator values", values, IndicatorValue)

    def workforce(self):
        """Managers in six synthetic service areas at the end of each quarter that ends in
        the generated months, counted against a cut-off a year before the first month: the
        share of locums falls, and people who joined since the cut-off replace those who
        leave. A service's snapshot for a date that already has one is left as it is (the
        service areas are shared by every plan)."""
        rng = self.rng
        quarter_ends = [month_end(p) for p in self.months if p.month in (3, 6, 9, 12)]
        cutoff = add_months(self.start, -12)
        existing = {area.name: area for area in ServiceArea.objects.filter(name__in=SERVICE_AREAS)}
        self.bulk_create(
            "service areas",
            [ServiceArea(name=name) for name in SERVICE_AREAS if name not in existing],
            ServiceArea,
        )
        areas = ServiceArea.objects.filter(name__in=SERVICE_AREAS).order_by("name")
        taken = set(
            WorkforceSnapshot.objects.filter(
                service_area__in=areas, as_of__in=quarter_ends
            ).values_list("service_area_id", "as_of")
        )
        snapshots = []
        for area in sorted(areas, key=lambda a: SERVICE_AREAS.index(a.name)):
            total = rng.randint(8, 25)
            before = round(total * rng.uniform(0.6, 0.9))
            locum_share = rng.uniform(0.25, 0.5)
            for as_of in quarter_ends:
                total = max(1, total + rng.randint(-1, 2))
                before = min(total, max(0, before - rng.randint(0, 2)))
                locum_share = max(0.05, locum_share - rng.uniform(0.0, 0.05))
                locum = round(total * locum_share)
                recorded = self.recorded(as_of + datetime.timedelta(days=rng.randint(3, 10)))
                if (area.pk, as_of) in taken:
                    continue
                snapshot = WorkforceSnapshot(
                    service_area=area,
                    as_of=as_of,
                    cutoff=cutoff,
                    total=total,
                    locum=locum,
                    salaried=total - locum,
                    in_post_before_cutoff=before,
                    joined_since_cutoff=total - before,
                )
                snapshot.clean()
                snapshot._history_date = recorded
                snapshots.append(snapshot)
        self.bulk_create("workforce snapshots", snapshots, WorkforceSnapshot)

    # --- Rows that change after they are made ----------------------------------------------

    def replay(self, label: str, model, timelines: list["Timeline"], batch_size=None) -> None:
        """Write the later states of rows already created in their first state: a history
        row for each state, dated when it happened and recorded as the acting user, and the
        live row once, in its last state (as the actions' months are written)."""
        between, last = [], {}
        for timeline in timelines:
            row, changed = timeline.row, set()
            for number, (when, changes, why) in enumerate(timeline.states, start=1):
                for name, value in changes.items():
                    setattr(row, name, value)
                changed |= changes.keys()
                state = row if number == len(timeline.states) else copy.copy(row)
                state._history_date, state._change_reason = when, why
                if state is not row:
                    between.append(state)
            if changed:
                last.setdefault(tuple(sorted(changed)), []).append(row)
        # The states between first, so each row's newest history row is its last state.
        options = {"batch_size": batch_size or BATCH_SIZE, "default_user": self.actor}
        bulk_update_with_history(between, model, fields=[], **options)
        for fields, rows in last.items():
            bulk_update_with_history(rows, model, fields=list(fields), **options)
        self.made.add(label, len(between) + sum(len(rows) for rows in last.values()))

    # --- Risks -----------------------------------------------------------------------------

    def risks(self, plan, workstreams) -> list["RiskLife"]:
        """Each workstream's register: a few risks a year, added over the months and
        reviewed each month after (a point up or down, escalated to the board while the
        score stays high, closed when the mitigation works). The first three of a register
        end open, escalated and closed, in an order drawn; the rest as their reviews take
        them. And the programme's register, kept by the programme board's chair."""
        rng, n_months = self.rng, len(self.months)
        if not n_months:
            return []
        lives = []
        for ws in [*workstreams, None]:
            if ws is None:
                count = max(1, round(n_months * PROGRAMME_RISKS_A_YEAR / 12))
                fates = [None] * count
            else:
                count = max(3, round(n_months * RISKS_A_YEAR / 12))
                fates = ["open", "escalated", "closed"]
                rng.shuffle(fates)
                fates += [None] * (count - 3)
            kinds = rng.sample(range(len(RISKS)), min(count, len(RISKS)))
            for number, fate in enumerate(fates):
                # The first three are on the register from the plan's first month.
                month = 0 if number < 3 else rng.randrange(n_months)
                title, description, mitigation = RISKS[kinds[number % len(kinds)]]
                if number >= len(kinds):
                    title = f"{title} (raised again in {self.months[month]:%B %Y})"
                if ws is None:
                    owner = self.board_chair
                else:
                    owner = rng.choice([self.chairs[ws.pk], *self.leads_of[ws.pk][:3]])
                risk = Risk(
                    plan=plan,
                    workstream=ws,
                    title=title,
                    description=description,
                    owner=owner,
                    likelihood=rng.randint(2, 4),
                    impact=rng.randint(2, 5),
                    mitigation=mitigation,
                )
                added = at(self.months[month].replace(day=rng.randint(1, 9)), rng.randint(9, 16))
                risk._history_date = added
                closes = rng.randint(min(month + 1, n_months - 1), n_months - 1)
                life = RiskLife(risk, added, first=RiskLife.state_of(risk))
                self.risk_reviews(life, fate, month, closes if fate == "closed" else None)
                lives.append(life)
        self.bulk_create("risks", [life.risk for life in lives], Risk)
        self.replay("risk changes", Risk, lives)
        return lives

    def risk_reviews(self, life: "RiskLife", fate, month: int, closes: int | None) -> None:
        """A risk's monthly reviews from the month it was added, until it is closed."""
        rng, state = self.rng, dict(life.first)
        for m in range(month, len(self.months)):
            when = at(self.months[m].replace(day=rng.randint(10, 27)), rng.randint(9, 16))
            when += datetime.timedelta(minutes=rng.randint(0, 59))
            changes, why = {}, None
            if m == closes or (fate is None and m > month + 1 and rng.random() < 0.05):
                changes, why = {"status": Risk.Status.CLOSED}, RISK_CLOSED
            else:
                if rng.random() < 0.35:
                    name, step = rng.choice(("likelihood", "impact")), rng.choice((1, -1))
                    value = min(5, max(1, state[name] + step))
                    if value != state[name]:
                        changes[name], why = value, RISK_NOTES[(name, step)]
                likelihood = changes.get("likelihood", state["likelihood"])
                impact = changes.get("impact", state["impact"])
                if fate == "escalated" and m == len(self.months) - 1 and not state["escalated"]:
                    # Whatever came before, it ends escalated, its score high.
                    likelihood, impact = max(likelihood, 4), max(impact, 4)
                    changes.update(likelihood=likelihood, impact=impact)
                if fate != "open" and not state["escalated"] and likelihood * impact >= 15:
                    changes["escalated"], why = True, ESCALATED
                elif state["escalated"] and fate != "escalated" and likelihood * impact <= 9:
                    changes["escalated"], why = False, DE_ESCALATED
            if changes:
                life.then(when, why, **changes)
                state.update(changes)
            if state["status"] == Risk.Status.CLOSED:
                return

    # --- Meetings and their decisions ------------------------------------------------------

    def meetings(self, workstreams) -> dict[tuple[int, datetime.date], Meeting]:
        """A meeting of each task group and of the programme board reviewing each month:
        the task groups' on a weekday in the first week of the month after, the board's on
        the 12th; and the board's next meeting, if none is still to come. Those held have
        attendees, minutes and decisions. Returns them by body and the month reviewed."""
        rng = self.rng
        meetings: dict[tuple[int, datetime.date], Meeting] = {}
        for period in self.months:
            following = add_months(period, 1)
            for ws in workstreams:
                body = self.task_groups[ws.pk]
                day = weekday(following.replace(day=rng.randint(3, 7)))
                meetings[(body.pk, period)] = Meeting(body=body, date=day, period=period)
            day = following.replace(day=BOARD_DAY)
            meetings[(self.board.pk, period)] = Meeting(body=self.board, date=day, period=period)
        board = [m for m in meetings.values() if m.body_id == self.board.pk]
        if board and all(m.date <= self.today for m in board):
            following = month_start(self.today)
            if self.today.day >= BOARD_DAY:
                following = add_months(following, 1)
            period = add_months(following, -1)
            day = following.replace(day=BOARD_DAY)
            meetings[(self.board.pk, period)] = Meeting(body=self.board, date=day, period=period)

        rows = sorted(meetings.values(), key=lambda m: (m.date, m.body_id))
        attendances = []
        for meeting in rows:
            meeting._history_date = min(at(meeting.date, 17), self.now)
            if meeting.date >= self.today:
                continue  # still to come (or under way): nobody recorded as there yet
            if meeting.body_id == self.board.pk:
                people = [self.board_chair, *self.chairs.values()]
                meeting.minutes = (
                    f"Reviewed the workstreams' {meeting.period:%B %Y} reports and the "
                    "dashboard; decisions below."
                )
            else:
                ws = meeting.body.workstream_id
                leads = self.leads_of[ws]
                people = [self.chairs[ws], *rng.sample(leads, min(len(leads), 5))]
                meeting.minutes = (
                    f"Reviewed the {meeting.period:%B %Y} exceptions and the draft report; "
                    "decisions below."
                )
            attendances += [(meeting, person) for person in people]
        self.bulk_create("meetings", rows, Meeting)
        through = Meeting.attendees.through
        links = [through(meeting_id=m.pk, user_id=person.pk) for m, person in attendances]
        through.objects.bulk_create(links, batch_size=BATCH_SIZE)
        self.made.add("meeting attendances", len(links), history=0)
        self.m2m_history(Meeting, "attendees", {link.meeting_id for link in links})
        self.decisions(workstreams, rows)
        return meetings

    def decisions(self, workstreams, meetings: list[Meeting]) -> None:
        """Decisions of the meetings held, each due by one of its body's next two meetings
        (or four weeks on); most closed at the first meeting held on or after that, some at
        the one after, some left open."""
        rng = self.rng
        of_body: dict[int, list[Meeting]] = {}
        for meeting in meetings:
            of_body.setdefault(meeting.body_id, []).append(meeting)
        decisions, closings = [], []
        for meeting in meetings:
            if meeting.date >= self.today:
                continue
            later = [m for m in of_body[meeting.body_id] if m.date > meeting.date]
            held = [m for m in later if m.date < self.today]
            board = meeting.body_id == self.board.pk
            for _ in range(rng.randint(1, 3) if board else rng.randint(0, 2)):
                template = rng.choice(BOARD_DECISIONS if board else TASK_GROUP_DECISIONS)
                code = rng.choice(workstreams).code
                if board:
                    owner = rng.choice(list(self.chairs.values()))
                else:
                    ws = meeting.body.workstream_id
                    owner = rng.choice([self.chairs[ws], *self.leads_of[ws][:4]])
                ahead = rng.randint(0, 1)
                due = (
                    later[ahead].date
                    if ahead < len(later)
                    else meeting.date + datetime.timedelta(days=28)
                )
                decision = Decision(
                    meeting=meeting,
                    text=template.format(code=code, obj=rng.choice(OBJECTS)),
                    owner=owner,
                    due_date=due,
                )
                decision._history_date = min(at(meeting.date, 17), self.now)
                decisions.append(decision)
                closing = [m for m in held if m.date >= due]
                r = rng.random()
                closed_at = None
                if closing and r < 0.7:
                    closed_at = closing[0]
                elif len(closing) > 1 and r < 0.85:
                    closed_at = closing[1]  # late
                if closed_at is not None:
                    timeline = Timeline(decision)
                    timeline.then(
                        at(closed_at.date, 16, rng.randint(0, 59)),
                        closed_at=closed_at,
                        closing_note=rng.choice(CLOSING_NOTES),
                    )
                    closings.append(timeline)
        self.bulk_create("decisions", decisions, Decision)
        self.replay("decisions closed", Decision, closings)

    # --- Four-question reports -------------------------------------------------------------

    def reports(self, plan, workstreams, meetings, lives: list["RiskLife"]) -> None:
        """Each workstream's report for each month, taken as far through the workflow as
        ``report_ends`` says (and now allows), with its items, reviews and history; the
        signed-off ones sealed by the sign-off's own snapshot and checksum."""
        rng = self.rng
        lives_of: dict[int | None, list[RiskLife]] = {}
        for life in lives:
            lives_of.setdefault(life.risk.workstream_id, []).append(life)
        pending = {ws.pk: [] for ws in workstreams}  # last month's items still to happen
        timelines, settled, reviews = [], [], []
        for index, period in enumerate(self.months):
            ends = self.report_ends(len(self.months) - 1 - index, len(workstreams))
            reports, items = [], []
            for rank, (ws, end) in enumerate(zip(workstreams, ends, strict=True)):
                author = rng.choice(self.leads_of[ws.pk])
                drafted = at(period.replace(day=rng.randint(20, 26)), rng.randint(9, 15))
                report = ProgressReport(
                    plan=plan,
                    workstream=ws,
                    period=period,
                    created_by=author,
                    created_at=drafted,
                    **self.answers(ws, period, drafted, lives_of.get(ws.pk, [])),
                )
                report._history_date = drafted
                reports.append(report)
                life = ReportLife(report)
                timelines.append(life)
                made, pending[ws.pk], outcomes = self.draft(life, drafted, pending[ws.pk])
                items += made
                settled += outcomes
                tg = meetings[(self.task_groups[ws.pk].pk, period)]
                board = meetings[(self.board.pk, period)]
                reviews += self.workflow(life, end, author, ws, tg, board, rank)
            self.bulk_create("reports", reports, ProgressReport)
            self.bulk_create("report items", items, ReportItem)
        self.replay("item outcomes", ReportItem, settled)
        sealed = [life for life in timelines if life.signed_off]
        for number, life in enumerate(sealed, start=1):
            life.seal()
            self.progress("Signed-off reports sealed", number, len(sealed))
        batch = min(BATCH_SIZE, SEALED_BATCH_SIZE)
        self.replay("report changes", ProgressReport, timelines, batch_size=batch)
        self.bulk_create("reviews", reviews, Review)

    def draft(self, life: "ReportLife", drafted, carried_over: list[ReportItem]):
        """A draft's "what needs to happen" items, as ``report_start`` and its author make
        them: last month's items still to happen carried over, then settled (or left to
        happen), and one to three new ones, each a save of the report. Returns the items,
        those still to happen, and how the carried ones were settled."""
        rng, report = self.rng, life.row
        ws = report.workstream
        carried = []
        for earlier in carried_over:
            item = ReportItem(
                report=report,
                carried_from=earlier,
                description=earlier.description,
                owner=earlier.owner,
                due_date=earlier.due_date,
            )
            item._history_date = drafted
            carried.append(item)
        when, added = drafted, []
        for _ in range(rng.randint(1, 3)):
            when += datetime.timedelta(minutes=rng.randint(5, 40))
            item = ReportItem(
                report=report,
                description=rng.choice(ITEMS).format(obj=rng.choice(OBJECTS)),
                owner=rng.choice([self.chairs[ws.pk], *self.leads_of[ws.pk][:4]]),
                due_date=month_end(report.period) + datetime.timedelta(days=rng.randint(14, 75)),
            )
            item._history_date = when
            added.append(item)
            life.save(when)
        still, settled = [], []
        for item in carried:
            outcome = self.outcome(due=item.due_date <= month_end(report.period))
            if outcome == ReportItem.Outcome.PENDING:
                still.append(item)
                continue
            when += datetime.timedelta(minutes=rng.randint(2, 10))
            settled.append(Timeline(item))
            settled[-1].then(when, outcome=outcome)
            life.save(when)
        return carried + added, still + added, settled

    def outcome(self, *, due: bool) -> str:
        """Whether a carried item happened: most of those due did, most of those not yet
        due are left to happen."""
        r, Outcome = self.rng.random(), ReportItem.Outcome
        if due:
            return Outcome.DONE if r < 0.7 else Outcome.NOT_DONE
        return Outcome.PENDING if r < 0.65 else Outcome.DONE

    def report_ends(self, months_ago: int, n_workstreams: int) -> list[str]:
        """How far each workstream's report for a month has gone (in workstream order)."""
        if months_ago > 1:
            return [SIGNED_OFF] * n_workstreams
        ends = list((LAST_MONTH if months_ago == 0 else MONTH_BEFORE)[:n_workstreams])
        self.rng.shuffle(ends)
        return ends

    def workflow(self, life, end, author, ws, tg, board, rank) -> list[Review]:
        """The report's steps up to ``end``, each a save and a ``Review`` by the person the
        workflow names, at its meeting; a step that would come after now is not taken."""
        rng, Status, Step = self.rng, ProgressReport.Status, Review.Step
        chair, reviews = self.chairs[ws.pk], []

        def step(when, name, by, comment="", meeting=None, **changes) -> bool:
            if when > self.now or (meeting is not None and meeting.date >= self.today):
                return False
            life.save(when, **changes)
            review = Review(
                report=life.row, step=name, by=by, at=when, comment=comment, meeting=meeting
            )
            review._history_date = when
            reviews.append(review)
            return True

        following = add_months(life.row.period, 1)
        # Sent in the first two days of the month after, before the task group meets.
        submitted = at(following.replace(day=rng.randint(1, 2)), rng.randint(9, 17))
        at_task_group = at(tg.date, 14, rng.randint(0, 50))
        at_board = at(board.date, 10, 6 * rank)
        reason = rng.choice(RETURN_REASONS)
        revised = rng.random() < RETURNED_ON_THE_WAY
        if end == DRAFT or not step(submitted, Step.SUBMIT, author, status=Status.SUBMITTED):
            return reviews
        if end == SUBMITTED:
            return reviews
        if end == RETURNED_BY_CHAIR:
            step(at_task_group, Step.RETURN, chair, reason, tg, status=Status.DRAFT)
            return reviews
        if end == SIGNED_OFF and revised:
            # Returned once at the task group, revised and endorsed before the board.
            if not step(at_task_group, Step.RETURN, chair, reason, tg, status=Status.DRAFT):
                return reviews
            when = at_task_group + datetime.timedelta(days=1)
            if when > self.now:
                return reviews
            life.save(when, worried_about=f"{life.row.worried_about}\n- {REVISED}")
            when += datetime.timedelta(hours=1)
            if not step(when, Step.SUBMIT, author, "Revised as asked.", status=Status.SUBMITTED):
                return reviews
            when += datetime.timedelta(days=1)
            if not step(when, Step.ENDORSE, chair, "Endorsed as revised.", status=Status.ENDORSED):
                return reviews
        else:
            endorsed = f"Endorsed at the task group of {tg.date:%-d %B %Y}."
            if not step(at_task_group, Step.ENDORSE, chair, endorsed, tg, status=Status.ENDORSED):
                return reviews
        if end == ENDORSED:
            return reviews
        if end == RETURNED_BY_BOARD:
            step(at_board, Step.RETURN, self.board_chair, reason, board, status=Status.DRAFT)
            return reviews
        signed = f"Signed off at the programme board of {board.date:%-d %B %Y}."
        step(
            at_board,
            Step.SIGN_OFF,
            self.board_chair,
            signed,
            board,
            status=Status.SIGNED_OFF,
            signed_off_at=at_board,
        )
        return reviews

    def answers(self, ws, period, drafted, lives: list["RiskLife"]) -> dict[str, str]:
        """What the lead officer wrote for the month: from what its actions, indicators and
        risks did (the three questions' answers, each a list of points)."""
        note = self.notes.get((ws.pk, period), MonthNote())
        working = note.completed.lines("completed", "actions completed")
        working += note.recovered.lines("back on track", "actions back on track")
        know = [
            f"{value.indicator.name}: {measure(value.value, value.indicator)} against a "
            f"target of {measure(value.indicator.target, value.indicator)}."
            for value in self.values_of.get((ws.pk, period), [])
        ]
        if note.completed.count:
            know.append(f"Evidence of impact given for the {note.completed.count} completed.")
        worried = note.off_track.lines("off track", "actions off track")
        if note.slipped.count:
            worried.append(f"{note.slipped.count} due dates moved, agreed at the task group.")
        for life in lives:
            state = life.as_at(drafted)
            if state and state["status"] == Risk.Status.OPEN:
                score = state["likelihood"] * state["impact"]
                if score >= 12:
                    worried.append(f"Risk: {life.risk.title} (score {score}).")
        answers = {
            "working_well": working or ["Every action has its update for the month."],
            "how_we_know": know or ["The task group checked the updates against evidence."],
            "worried_about": worried or ["Nothing new: the risks on the register hold."],
        }
        return {name: "\n".join(f"- {line}" for line in lines) for name, lines in answers.items()}


def weekday(day: datetime.date) -> datetime.date:
    """``day``, or the Monday after it when it falls at a weekend."""
    return day + datetime.timedelta(days=7 - day.weekday() if day.weekday() >= 5 else 0)


@dataclass
class Timeline:
    """A row's states after its first, each (when, changes, why): for ``Generator.replay``."""

    row: object
    states: list = field(default_factory=list)

    def then(self, when: datetime.datetime, why: str | None = None, **changes) -> None:
        self.states.append((when, changes, why))


class RiskLife(Timeline):
    """A risk: when it was added, in which state, and its reviews since."""

    def __init__(self, risk: Risk, added: datetime.datetime, first: dict):
        super().__init__(risk)
        self.added, self.first = added, first

    @property
    def risk(self) -> Risk:
        return self.row

    @staticmethod
    def state_of(risk: Risk) -> dict:
        return {
            "likelihood": risk.likelihood,
            "impact": risk.impact,
            "escalated": risk.escalated,
            "status": risk.status,
        }

    def as_at(self, moment: datetime.datetime) -> dict | None:
        """The risk's state at ``moment`` (None before it was added)."""
        if moment < self.added:
            return None
        state = dict(self.first)
        for when, changes, _why in self.states:
            if when > moment:
                break
            state.update(changes)
        return state


class ReportLife(Timeline):
    """A report's saves after it was started: each a new version, as the services save."""

    def save(self, when: datetime.datetime, **changes) -> None:
        self.then(when, version=len(self.states) + 2, **changes)

    @property
    def signed_off(self) -> bool:
        return any(
            changes.get("status") == ProgressReport.Status.SIGNED_OFF
            for _when, changes, _why in self.states
        )

    def seal(self) -> None:
        """Seal the sign-off as ``services.report_sign_off`` does: what the report shows
        (``report_snapshot`` of the report as it stands when signed off, on the plan's rows
        as they stand now) and its checksum, written with the sign-off's save."""
        report = copy.copy(self.row)
        for _when, changes, _why in self.states:
            for name, value in changes.items():
                setattr(report, name, value)
        snapshot = report_snapshot(report)
        self.states[-1][1].update(snapshot=snapshot, checksum=snapshot_checksum(snapshot))
