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
"""

import calendar
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

from governance.models import Body, Membership
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
    month_start,
)

MAX_ACTIONS = 200_000
MAX_MONTHS = 120
# Rows per statement of every bulk write. Django's bulk_update writes one CASE WHEN per row
# for each field, which the database evaluates row by row: the cost of a statement grows
# with the square of its rows. (On PostgreSQL with JIT on, one UPDATE of 20,000 actions was
# still compiling its CASE expressions in LLVM after 15 minutes; in batches of 500 it takes
# about 14 s.)
BATCH_SIZE = 500

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


@dataclass
class Made:
    """What the command made, for its report."""

    rows: dict[str, int] = field(default_factory=dict)
    history: int = 0

    def add(self, label: str, count: int, history: int | None = None) -> None:
        self.rows[label] = self.rows.get(label, 0) + count
        self.history += count if history is None else history


def add_months(day: datetime.date, months: int) -> datetime.date:
    """The first day of the month ``months`` after ``day``'s month."""
    year, month = divmod(day.month - 1 + months, 12)
    return datetime.date(day.year + year, month + 1, 1)


def at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


def last_day(period: datetime.date) -> datetime.date:
    """The last day of ``period``'s month."""
    return period.replace(day=calendar.monthrange(period.year, period.month)[1])


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
    fields = ("status", "progress_narrative", "version")
    if action.evidence_of_impact:
        fields += ("evidence_of_impact", "evidence_accepted_at", "evidence_accepted_by")
    if action.revised_due_date:
        fields += ("revised_due_date", "revised_due_reason")
    return fields


class Command(AuditedCommand):
    help = (
        "Create a synthetic live plan of N actions with M months of updates and history, for "
        "load tests and benchmarks. The plan that was live is closed. Synthetic users "
        "(synthetic.chair.<code>, synthetic.lead.<n>) cannot sign in."
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
        # The plan existed (and its rows were created) before its first month of updates.
        self.created = min(at(self.start, 8), timezone.now())

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
        self.chairs, leads_of = self.users(plan, workstreams)
        self.timed("plan, people and task groups")
        findings = self.findings(plan)
        actions = self.actions(plan, workstreams, priorities, leads_of)
        links = self.link_findings(actions, findings)
        self.timed("findings and actions")
        for number, period in enumerate(self.months, start=1):
            self.month(period, actions, last=period == self.months[-1])
            self.progress("Monthly updates", number, len(self.months))
        self.timed("monthly updates")
        self.findings_history(links)
        self.timed("findings in the actions' history")
        # Drawn after the actions' months, so a seed's actions are as they always were.
        self.indicators(plan, workstreams)
        self.timed("indicators")
        self.workforce()
        self.timed("workforce snapshots")
        return plan, closed

    # --- People and bodies -----------------------------------------------------------------

    def users(self, plan, workstreams):
        """A chair per workstream and leads shared among them; task groups with memberships.

        Synthetic users are reused between synthetic plans and can never sign in.
        """
        User = get_user_model()
        n_leads = max(len(workstreams), min(200, math.ceil(self.n_actions / 10)))
        wanted = {f"synthetic.chair.{ws.code.lower()}": ("Chair", ws.code) for ws in workstreams}
        wanted |= {f"synthetic.lead.{n}": ("Lead", str(n)) for n in range(1, n_leads + 1)}
        existing = {u.username: u for u in User.objects.filter(username__in=list(wanted))}
        for user in existing.values():
            if user.has_usable_password():
                user.set_unusable_password()
                user.save(update_fields=["password"])
        new = []
        for username, (role, suffix) in wanted.items():
            if username not in existing:
                user = User(
                    username=username,
                    first_name="Synthetic",
                    last_name=f"{role} {suffix}",
                    is_active=True,
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

        bodies = self.bulk_create(
            "task groups",
            [
                Body(
                    name=f"{ws.name} task group ({plan.title})",
                    kind=Body.Kind.TASK_GROUP,
                    workstream=ws,
                    chair_title=ws.senior_responsible_officer,
                    meets="monthly",
                )
                for ws in workstreams
            ],
            Body,
        )
        memberships = []
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
        # (findings_history, below).
        through.objects.bulk_create(links, batch_size=BATCH_SIZE)
        self.made.add("finding links", len(links), history=0)
        return links

    def findings_history(self, links):
        """Write each linked action's findings into all its history rows, as
        django-simple-history does for an m2m field on a save (bulk writes skip it)."""
        if not links:
            return
        historical = Action.history.model
        m2m_history = historical.findings.model
        by_action: dict[int, list] = {}
        for link in Action.findings.through.objects.filter(
            action_id__in={link.action_id for link in links}
        ):
            by_action.setdefault(link.action_id, []).append(link)
        rows = [
            m2m_history(
                history=record, id=link.id, action_id=link.action_id, finding_id=link.finding_id
            )
            for record in historical.objects.filter(id__in=list(by_action)).only("history_id", "id")
            for link in by_action[record.id]
        ]
        m2m_history.objects.bulk_create(rows, batch_size=BATCH_SIZE)

    # --- The monthly rhythm ----------------------------------------------------------------

    def month(self, period: datetime.date, actions: list[Action], *, last: bool) -> None:
        rng = self.rng
        last_day = calendar.monthrange(period.year, period.month)[1]
        month_end = period.replace(day=last_day)
        updates, moves = [], []
        for action in actions:
            when = at(period.replace(day=rng.randint(1, last_day)), rng.randint(9, 17))
            when += datetime.timedelta(minutes=rng.randint(0, 59))
            chair = self.chairs[action.workstream_id]
            due = action.revised_due_date or action.due_date
            was = action.status
            status = next_status(rng, was, due_soon=due <= month_end + datetime.timedelta(days=31))
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
                and due <= month_end + datetime.timedelta(days=45)
                and rng.random() < 0.25
            ):
                revised = max(due, month_end) + datetime.timedelta(days=rng.randint(30, 90))
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
            action.version += 1
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
        self.bulk_create("indicator values", values, IndicatorValue)

    def workforce(self):
        """Managers in six synthetic service areas at the end of each quarter that ends in
        the generated months, counted against a cut-off a year before the first month: the
        share of locums falls, and people who joined since the cut-off replace those who
        leave. A service's snapshot for a date that already has one is left as it is (the
        service areas are shared by every plan)."""
        rng = self.rng
        quarter_ends = [last_day(p) for p in self.months if p.month in (3, 6, 9, 12)]
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
