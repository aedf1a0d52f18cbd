"""The plan and its delivery: plans, priorities, workstreams, actions and their updates,
inspection findings, indicators and workforce snapshots."""

import datetime
import functools
import operator
import re
import uuid
from decimal import Decimal
from urllib.parse import quote

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.models import Case, Q, Value, When
from django.db.models.functions import Coalesce
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone
from django.utils.http import RFC3986_SUBDELIMS
from simple_history.manager import HistoricalQuerySet
from simple_history.models import HistoricalRecords
from simple_history.signals import (
    post_create_historical_m2m_records,
    pre_create_historical_m2m_records,
)

from .audit import history_user
from .validation import StoredValues


class GripHistoricalRecords(HistoricalRecords):
    """django-simple-history's records, with the author of each row protected.

    Its ``history_user`` is ``SET_NULL``: deleting a person would silently blank their name
    on everything they did. Here the database refuses to delete anyone who is named in the
    history; people who leave are deactivated instead (docs/decisions/0006).
    """

    def _get_history_user_fields(self):
        fields = super()._get_history_user_fields()
        author = fields.get("history_user")
        if isinstance(author, models.ForeignKey):
            author.remote_field.on_delete = models.PROTECT
        return fields

    def create_historical_record_m2ms(self, history_instance, instance):
        """Copy the row's many-to-many links (an action's findings) into its history row as
        they stand: in one ``INSERT ... SELECT``, where django-simple-history reads them
        into Python (joined to the row and each related row) to write them back. Its way
        is kept for a model whose link rows someone listens for (its m2m signals)."""
        copies = [(field, self.m2m_models[field]) for field in history_instance._history_m2m_fields]
        if any(
            signal.has_listeners(model)
            or not isinstance(model._meta.pk, models.fields.AutoFieldMixin)
            for _, model in copies
            for signal in (pre_create_historical_m2m_records, post_create_historical_m2m_records)
        ):
            super().create_historical_record_m2ms(history_instance, instance)
            return
        connection = connections[history_instance._state.db or DEFAULT_DB_ALIAS]
        quote = connection.ops.quote_name
        for field, m2m_history_model in copies:
            through = field.remote_field.through
            copied = list(through._meta.concrete_fields)
            into = [m2m_history_model._meta.get_field(f.name).column for f in copied]
            into.append(m2m_history_model._meta.get_field("history").column)
            source = through._meta.get_field(field.m2m_field_name()).column
            sql = "INSERT INTO {} ({}) SELECT {}, %s FROM {} WHERE {} = %s".format(
                quote(m2m_history_model._meta.db_table),
                ", ".join(map(quote, into)),
                ", ".join(quote(f.column) for f in copied),
                quote(through._meta.db_table),
                quote(source),
            )
            with connection.cursor() as cursor:
                key = getattr(instance, field.m2m_target_field_name())
                cursor.execute(sql, [history_instance.pk, key])

    def create_historical_record(self, instance, history_type, using=None):
        super().create_historical_record(instance, history_type, using=using)
        # Every change to a record writes its history row here: the one place that knows
        # figures derived from the records may have changed (``derived.count_change``), and
        # whether the row is dated by its writer, maybe in the past, where figures of a
        # past day may change too (``derived.count_past_change``).
        from .derived import count_change, count_past_change

        count_change(using)
        if getattr(instance, "_history_date", None) is not None:
            count_past_change(using)


def audit_history(**kwargs) -> HistoricalRecords:
    """History for a domain model, recording the acting user (see ``audit.acting_as``)."""
    return GripHistoricalRecords(get_user=history_user, **kwargs)


def month_start(day: datetime.date) -> datetime.date:
    """The period (a calendar month) a date falls in, as the month's first day."""
    return day.replace(day=1)


def month_end(period: datetime.date) -> datetime.date:
    """The last day of the month ``period`` falls in."""
    following = (period.replace(day=1) + datetime.timedelta(days=32)).replace(day=1)
    return following - datetime.timedelta(days=1)


def add_months(period: datetime.date, months: int) -> datetime.date:
    """The first day of the month ``months`` after ``period``'s (before, when negative)."""
    year, month = divmod(period.month - 1 + months, 12)
    return datetime.date(period.year + year, month + 1, 1)


def end_of_day(day: datetime.date) -> datetime.datetime:
    """The first moment after ``day`` in the council's time zone: what was recorded before it
    is how things stood at the end of that day."""
    following = datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time.min)
    return timezone.make_aware(following)


def validate_month_start(value: datetime.date) -> None:
    if value.day != 1:
        raise ValidationError("A period is a month: give its first day (e.g. 2018-11-01).")


class Versioned(StoredValues):
    """Optimistic locking: a save must name the version it was based on (see the services).

    Every save is a new version, whoever saves (a form, the admin, an import), so a form
    opened on an older version cannot overwrite it unseen. Counted on from the stored
    version, never from the one this copy carries: a copy rebuilt from an older history row
    must not send the version back (docs/decisions/0006).

    ``save(locked=True)``: the caller read this row with ``select_for_update`` in the
    transaction it saves in (as the services do), so the version it carries is the stored
    one, and is not read again.
    """

    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        abstract = True

    def save(self, *args, locked: bool = False, **kwargs):
        stored = None
        if self.pk is not None and locked:
            stored = self.version
        elif self.pk is not None:
            stored = (
                type(self)
                ._base_manager.filter(pk=self.pk)
                .order_by()  # not the model's ordering, which may join other tables
                .values_list("version", flat=True)
                .first()
            )
        if stored is not None:
            self.version = max(self.version, stored) + 1
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "version"}
        super().save(*args, **kwargs)


# --- Plan ----------------------------------------------------------------------------------


class PlanQuerySet(models.QuerySet):
    def live(self):
        return self.filter(status=Plan.Status.LIVE)


class PlanManager(models.Manager.from_queryset(PlanQuerySet)):
    def get_by_natural_key(self, title):
        return self.get(title=title)


class Plan(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        LIVE = "live", "Live"
        CLOSED = "closed", "Closed"

    title = models.CharField(max_length=200, unique=True)
    council = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    period_start = models.DateField()
    period_end = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)

    history = audit_history()
    objects = PlanManager()

    class Meta:
        ordering = ["-period_start"]
        constraints = [
            models.CheckConstraint(
                condition=Q(period_end__gt=models.F("period_start")),
                name="plan_period_ends_after_start",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "live", "closed"]), name="plan_status_valid"
            ),
            # A council refreshes its plan yearly: plans coexist, but only one is live.
            models.UniqueConstraint(
                fields=["status"], condition=Q(status="live"), name="plan_one_live"
            ),
        ]

    def __str__(self):
        return self.title

    def natural_key(self):
        return (self.title,)


# --- Priority ------------------------------------------------------------------------------


class Priority(models.Model):
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="priorities")
    number = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)

    history = audit_history()

    class Meta:
        ordering = ["plan", "number"]
        verbose_name_plural = "priorities"
        constraints = [
            models.UniqueConstraint(fields=["plan", "number"], name="priority_number_unique"),
        ]

    def __str__(self):
        return f"Priority {self.number}: {self.title}"


# --- Workstream ----------------------------------------------------------------------------


class WorkstreamManager(models.Manager):
    def get_by_natural_key(self, plan_title, code):
        return self.get(plan__title=plan_title, code=code)


class Workstream(models.Model):
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="workstreams")
    code = models.CharField(
        max_length=10, help_text="Short code that starts every action reference, e.g. MP."
    )
    name = models.CharField(max_length=200)
    scope = models.TextField(blank=True)
    senior_responsible_officer = models.CharField(
        max_length=200, blank=True, help_text="The post accountable for the workstream."
    )

    history = audit_history()
    objects = WorkstreamManager()

    class Meta:
        ordering = ["plan", "code"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "code"], name="workstream_code_unique"),
            models.CheckConstraint(
                condition=Q(code__regex=r"^[A-Z][A-Z0-9]*$"), name="workstream_code_format"
            ),
        ]

    def __str__(self):
        return f"{self.code}: {self.name}"

    def get_absolute_url(self):
        return reverse("workstreams:workstream-detail", args=[self.code])

    def natural_key(self):
        return (self.plan.title, self.code)


# --- Finding -------------------------------------------------------------------------------


class FindingManager(models.Manager):
    def get_by_natural_key(self, plan_title, reference):
        return self.get(plan__title=plan_title, reference=reference)


class Finding(models.Model):
    """What an inspection or monitoring visit said; actions answer findings.

    A finding belongs to a plan, as an action does (docs/decisions/0004): next year's plan
    numbers its findings afresh (F-01 again)."""

    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="findings")
    reference = models.CharField(max_length=30)
    source = models.CharField(max_length=200, help_text="e.g. Ofsted monitoring visit, July 2018")
    date = models.DateField()
    theme = models.CharField(max_length=100, blank=True)
    text = models.TextField()

    history = audit_history()
    objects = FindingManager()

    class Meta:
        ordering = ["date", "reference"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "reference"], name="finding_reference_unique"),
        ]

    def __str__(self):
        return f"{self.reference}: {self.text[:80]}"

    def natural_key(self):
        return (self.plan.title, self.reference)

    natural_key.dependencies = ["workstreams.plan"]


# --- Action --------------------------------------------------------------------------------


class ActionStatus(models.TextChoices):
    NOT_STARTED = "not_started", "Not started"
    ON_TRACK = "on_track", "On track"
    AT_RISK = "at_risk", "At risk"
    OFF_TRACK = "off_track", "Off track"
    COMPLETE = "complete", "Complete"
    CLOSED = "closed", "Closed"


# Statuses of an action still being delivered: only these can be overdue.
OPEN_STATUSES = (
    ActionStatus.NOT_STARTED,
    ActionStatus.ON_TRACK,
    ActionStatus.AT_RISK,
    ActionStatus.OFF_TRACK,
)


class Rag(models.TextChoices):
    """BRAG: the one derived state of an action that every badge, count, filter, sort and
    export shows. Listed from the most to the least pressing: that order is its severity.
    One label per state; the words always carry it, colour only repeats it."""

    RED = "red", "Off track"
    AMBER = "amber", "At risk"
    NOT_STARTED = "not_started", "Not started"
    GREEN = "green", "On track"
    AWAITING_EVIDENCE = "awaiting_evidence", "Delivered, awaiting evidence"
    BLUE = "blue", "Complete, impact evidenced"
    CLOSED = "closed", "Closed"

    @property
    def severity(self) -> int:
        """0 for the most pressing state (red); sorting by it puts what needs attention first."""
        return list(Rag).index(self)


def action_is_overdue(status: str, current_due_date: datetime.date, today: datetime.date) -> bool:
    """An action is overdue when it is still open and its current due date has passed.

    ``ActionQuerySet.with_rag`` states the same rule in SQL; a test holds the two together.
    """
    return status in OPEN_STATUSES and current_due_date < today


def action_rag(
    status: str, current_due_date: datetime.date, today: datetime.date, evidence_accepted: bool
) -> Rag:
    """BRAG as judged on ``today``: red = off track, or overdue (still open past its due date:
    overdue is the reason it is red, not a state of its own); amber = at risk; green = on
    track; blue = complete with its impact evidenced (the task group chair accepted the
    evidence). A complete action whose evidence is not yet accepted is "delivered, awaiting
    evidence", never blue.
    """
    if action_is_overdue(status, current_due_date, today) or status == ActionStatus.OFF_TRACK:
        return Rag.RED
    if status == ActionStatus.COMPLETE:
        return Rag.BLUE if evidence_accepted else Rag.AWAITING_EVIDENCE
    return {
        ActionStatus.ON_TRACK: Rag.GREEN,
        ActionStatus.AT_RISK: Rag.AMBER,
        ActionStatus.NOT_STARTED: Rag.NOT_STARTED,
        ActionStatus.CLOSED: Rag.CLOSED,
    }[status]


# "Due soon" on My work and in the action list's filter: due within this many days.
DUE_SOON_DAYS = 30


def overdue_condition(today: datetime.date) -> Q:
    """``action_is_overdue`` as a condition on rows annotated with ``current_due``."""
    return Q(status__in=OPEN_STATUSES, current_due__lt=today)


def rag_states(today: datetime.date) -> list[tuple[Q, Rag]]:
    """``action_rag`` as conditions on a row's own columns (and ``current_due``), judged on
    ``today``: each BRAG state with its condition, most pressing first. A row is in the
    first state whose condition holds."""
    by_status = {
        ActionStatus.ON_TRACK: Rag.GREEN,
        ActionStatus.AT_RISK: Rag.AMBER,
        ActionStatus.NOT_STARTED: Rag.NOT_STARTED,
        ActionStatus.CLOSED: Rag.CLOSED,
    }
    return [
        (overdue_condition(today) | Q(status=ActionStatus.OFF_TRACK), Rag.RED),
        (Q(status=ActionStatus.COMPLETE, evidence_accepted_at__isnull=False), Rag.BLUE),
        (Q(status=ActionStatus.COMPLETE), Rag.AWAITING_EVIDENCE),
        *((Q(status=status), rag) for status, rag in by_status.items()),
    ]


def in_rag(rags, today: datetime.date) -> Q:
    """Rows (annotated by ``with_rag`` on the same ``today``) whose BRAG is one of ``rags``:
    each state's own condition, and none of those before it.

    The same rows as ``rag_code__in=rags``, asked in a way the database can use its indexes
    for: compared with ``rag_code``, PostgreSQL works out the whole CASE for every row (the
    red actions of 20,000 took 12 ms to count that way, 1.5 ms this way, from the status
    index)."""
    wanted, before = [], Q()
    for condition, rag in rag_states(today):
        if rag in rags:
            wanted.append(condition & ~before if before else condition)
        before |= condition
    return functools.reduce(operator.or_, wanted) if wanted else Q(pk__in=[])


class Attention(models.TextChoices):
    """Why an open action needs its lead's attention now (see ``with_attention``)."""

    OVERDUE = "overdue", "Overdue"
    DUE_SOON = "due_soon", f"Due in the next {DUE_SOON_DAYS} days"
    NO_UPDATE = "no_update", "No update yet this month"


class ActionStateQuerySet:
    """BRAG and attention annotations for any rows carrying an action's state: the actions
    themselves, or their history rows as they stood on a past date (``actions_as_at``). The
    action's own id is ``id`` in both (a history row's ``pk`` is its ``history_id``)."""

    def with_rag(self, today: datetime.date | None = None):
        """Annotate, judged on ``today``: ``current_due`` (revised or original), ``overdue``,
        ``rag_code`` (a ``Rag`` value) and ``rag_rank`` (its severity, for sorting).

        The one BRAG rule in SQL (``rag_states``), for counting and sorting; ``action_rag``
        states it in Python for one action, and a test holds the two together. To choose
        rows by BRAG, filter on ``in_rag`` rather than on ``rag_code``.
        """
        today = today or timezone.localdate()
        # BRAG and its severity are each one CASE over the row's own columns: a severity read
        # from the BRAG's CASE evaluated it once per state, and sorting a workstream of 5,000
        # actions by it cost 15 ms.
        states = rag_states(today)
        return self.annotate(current_due=Coalesce("revised_due_date", "due_date")).annotate(
            overdue=Case(
                When(overdue_condition(today), then=Value(True)),
                default=Value(False),
                output_field=models.BooleanField(),
            ),
            rag_code=Case(
                *(When(when, then=Value(rag.value)) for when, rag in states),
                output_field=models.CharField(),
            ),
            rag_rank=Case(
                *(When(when, then=Value(rag.severity)) for when, rag in states),
                output_field=models.IntegerField(),
            ),
        )

    def overdue(self, today: datetime.date | None = None):
        today = today or timezone.localdate()
        return self.with_rag(today).filter(overdue_condition(today))

    def with_attention(self, today: datetime.date | None = None):
        """Annotate (after ``with_rag``) ``updated_this_period`` and ``attention``: why an
        open action needs its lead's attention now, the most pressing reason only, so My
        work's lists never repeat each other and each is one filter of the action list.
        "Updated" reads the row's ``last_update_period``: on a history row, the month of the
        last update recorded by then (the plan as it stood)."""
        today = today or timezone.localdate()
        soon = today + datetime.timedelta(days=DUE_SOON_DAYS)
        updated = Q(last_update_period__gte=month_start(today))
        return self.annotate(
            updated_this_period=Case(
                When(updated, then=Value(True)),
                default=Value(False),
                output_field=models.BooleanField(),
            )
        ).annotate(
            attention=Case(
                When(overdue=True, then=Value(Attention.OVERDUE.value)),
                When(
                    status__in=OPEN_STATUSES,
                    current_due__lte=soon,
                    then=Value(Attention.DUE_SOON.value),
                ),
                When(
                    status__in=OPEN_STATUSES,
                    updated_this_period=False,
                    then=Value(Attention.NO_UPDATE.value),
                ),
                default=Value(""),
                output_field=models.CharField(),
            )
        )

    def rag_counts(self, today: datetime.date | None = None) -> dict[Rag, int]:
        """How many actions are in each BRAG state on ``today``, every state present (zero
        where none), in order of severity."""
        counts = dict.fromkeys(Rag, 0)
        rows = self.with_rag(today).order_by().values("rag_code").annotate(n=models.Count("id"))
        for row in rows:
            counts[Rag(row["rag_code"])] = row["n"]
        return counts


class ActionQuerySet(ActionStateQuerySet, models.QuerySet):
    pass


class HistoricalActionQuerySet(ActionStateQuerySet, HistoricalQuerySet):
    """An action's history rows, judged by the same BRAG rule as the live actions."""


def action_url(name: str, reference: str) -> str:
    """``reverse(name, args=[reference])`` for an action's pages, the pattern resolved once
    (per script prefix and URLconf) rather than per link: a list of 75 actions reversed 150
    links, 10 ms of My work for a chair. Raises ``NoReverseMatch`` where ``reverse`` would
    (no reference, or a '/' in it)."""
    if not reference or "/" in reference:
        return reverse(name, args=[reference])
    before, after = _around_reference(name, get_script_prefix(), get_urlconf())
    return before + quote(reference, safe=URL_SAFE) + after


# What ``reverse`` leaves unquoted in a path (django.urls.resolvers._reverse_with_prefix).
URL_SAFE = RFC3986_SUBDELIMS + "/~:@"
_MARKER = "0reference0"


@functools.lru_cache(maxsize=32)
def _around_reference(name: str, script_prefix: str, urlconf) -> tuple[str, str]:
    before, after = reverse(name, args=[_MARKER], urlconf=urlconf).rsplit(_MARKER, 1)
    return before, after


class ActionState:
    """What a row carrying an action's state says about it: its current due date, whether it
    is overdue and its BRAG. Shared by ``Action`` and its history rows, so a page showing the
    plan as it stood on a date renders those rows with the same table and tags."""

    @property
    def current_due_date(self) -> datetime.date:
        return self.revised_due_date or self.due_date

    @property
    def is_overdue(self) -> bool:
        overdue = getattr(self, "overdue", None)  # judged by ``with_rag``, as ``rag`` is
        if overdue is not None:
            return overdue
        return action_is_overdue(self.status, self.current_due_date, timezone.localdate())

    @property
    def evidence_accepted(self) -> bool:
        return self.evidence_accepted_at is not None

    @property
    def rag(self) -> Rag:
        """BRAG today. A row from ``with_rag`` already carries it, judged on the date the
        query was asked for: that one wins, so a page judged "as at" a date stays so."""
        code = getattr(self, "rag_code", None)
        if code is not None:
            return Rag(code)
        return action_rag(
            self.status, self.current_due_date, timezone.localdate(), self.evidence_accepted
        )

    @property
    def rag_label(self) -> str:
        return self.rag.label

    def get_absolute_url(self):
        return action_url("workstreams:action-detail", self.reference)

    @property
    def update_url(self) -> str:
        return action_url("workstreams:action-update", self.reference)


class ActionManager(models.Manager.from_queryset(ActionQuerySet)):
    def get_by_natural_key(self, plan_title, reference):
        return self.get(plan__title=plan_title, reference=reference)


# A reference is part of the action's web address (/actions/<reference>/): with a '/' no
# link to it could be made, and every page listing it would fail. The import says so too.
UNSAFE_IN_REFERENCE = re.compile(r"[\s/?#%\\]")
UNSAFE_REFERENCE_MESSAGE = "A reference has no spaces and none of / ? # % \\ in it."


class Action(ActionState, Versioned):
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="actions")
    workstream = models.ForeignKey(Workstream, on_delete=models.PROTECT, related_name="actions")
    priority = models.ForeignKey(
        Priority, on_delete=models.PROTECT, related_name="actions", null=True, blank=True
    )
    reference = models.CharField(
        max_length=30, help_text="Starts with the workstream's code, e.g. MP-1.3."
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    lead_officer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="led_actions",
        null=True,
        blank=True,
    )
    due_date = models.DateField(help_text="The due date the plan agreed.")
    revised_due_date = models.DateField(null=True, blank=True)
    revised_due_reason = models.TextField(blank=True)
    # How many approved moves took the due date later (``DueDateChange.is_slip``), kept by
    # the services that approve them: the dashboard sums it over every action, and a
    # subquery per action cost 35 ms at 20,000 actions. Its history rows carry the count as
    # it stood (decision 0015).
    slip_count = models.PositiveIntegerField(default=0, editable=False)
    # The month of its latest monthly update, kept by the service that records updates:
    # "no update yet this month" (``with_attention``) reads it on every list, where looking
    # for an update of the month hashed the month's 20,000 updates twice a query. Its
    # history rows carry it as it stood (decision 0016).
    last_update_period = models.DateField(null=True, blank=True, editable=False)
    status = models.CharField(
        max_length=20, choices=ActionStatus.choices, default=ActionStatus.NOT_STARTED
    )
    progress_narrative = models.TextField(blank=True, max_length=5000)
    evidence_of_impact = models.TextField(blank=True, max_length=5000)
    evidence_accepted_at = models.DateTimeField(null=True, blank=True)
    evidence_accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        help_text="The task group chair who accepted the evidence of impact.",
    )
    findings = models.ManyToManyField(Finding, related_name="actions", blank=True)
    history = audit_history(
        m2m_fields=[findings],
        historical_queryset=HistoricalActionQuerySet,
        bases=[ActionState, models.Model],
    )
    objects = ActionManager()

    class Meta:
        ordering = ["plan", "workstream__code", "reference"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "reference"], name="action_reference_unique"),
            models.CheckConstraint(
                condition=Q(status__in=ActionStatus.values), name="action_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(revised_due_date__isnull=True) | ~Q(revised_due_reason=""),
                name="action_revised_due_date_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(status=ActionStatus.COMPLETE) | ~Q(evidence_of_impact=""),
                name="action_complete_has_evidence",
            ),
            models.CheckConstraint(
                condition=Q(evidence_accepted_at__isnull=True) | Q(status=ActionStatus.COMPLETE),
                name="action_evidence_accepted_only_when_complete",
            ),
        ]
        indexes = [models.Index(fields=["status", "due_date"], name="action_status_due_idx")]

    def __str__(self):
        return f"{self.reference}: {self.title}"

    def natural_key(self):
        return (self.plan.title, self.reference)

    def clean(self):
        errors = {}
        if self.workstream_id and self.plan_id and self.workstream.plan_id != self.plan_id:
            errors["workstream"] = "The workstream belongs to another plan."
        if self.priority_id and self.plan_id and self.priority.plan_id != self.plan_id:
            errors["priority"] = "The priority belongs to another plan."
        if self.workstream_id and not self.reference.startswith(f"{self.workstream.code}-"):
            errors["reference"] = (
                f"The reference must start with the workstream's code ({self.workstream.code}-)."
            )
        elif self._state.adding and UNSAFE_IN_REFERENCE.search(self.reference):
            # Checked as the action is made: a reference never changes after (an action
            # made before the rule keeps being saved).
            errors["reference"] = UNSAFE_REFERENCE_MESSAGE
        if self.status == ActionStatus.COMPLETE and not self.evidence_of_impact.strip():
            errors["evidence_of_impact"] = "A complete action needs evidence of its impact."
        if self.revised_due_date and not self.revised_due_reason.strip():
            errors["revised_due_reason"] = "Say why the due date moved."
        if errors:
            raise ValidationError(errors)

    @property
    def awaits_evidence_acceptance(self) -> bool:
        return self.status == ActionStatus.COMPLETE and not self.evidence_accepted


class DueDateChange(StoredValues):
    """A request to move an action's due date, decided by the workstream's task group chair.

    The original due date stays on the action; each approved move is a slip.
    """

    class Decision(models.TextChoices):
        PENDING = "pending", "Waiting for the task group chair"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    # PROTECT: the record of what people asked and decided outlives any tidying of the plan.
    action = models.ForeignKey(Action, on_delete=models.PROTECT, related_name="due_date_changes")
    from_date = models.DateField(help_text="The due date when the move was asked for.")
    to_date = models.DateField()
    reason = models.TextField(max_length=2000)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    decision = models.CharField(max_length=10, choices=Decision.choices, default=Decision.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_comment = models.TextField(blank=True, max_length=2000)

    history = audit_history()

    class Meta:
        ordering = ["action", "-requested_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["action"],
                condition=Q(decision="pending"),
                name="due_date_change_one_pending_per_action",
            ),
            models.CheckConstraint(condition=~Q(reason=""), name="due_date_change_has_reason"),
            models.CheckConstraint(
                condition=~Q(to_date=models.F("from_date")), name="due_date_change_moves_date"
            ),
            models.CheckConstraint(
                condition=Q(decision="pending", decided_at__isnull=True)
                | (~Q(decision="pending") & Q(decided_at__isnull=False)),
                name="due_date_change_decided_has_when",
            ),
        ]

    def __str__(self):
        return f"{self.action.reference}: {self.from_date} to {self.to_date} ({self.decision})"

    @property
    def is_slip(self) -> bool:
        """Only a move to a later date is a slip; bringing a date forward is not."""
        return self.to_date > self.from_date


class ActionUpdate(models.Model):
    """One dated update of an action: the monthly rhythm. Append-only."""

    action = models.ForeignKey(Action, on_delete=models.PROTECT, related_name="updates")
    period = models.DateField(validators=[validate_month_start])
    status = models.CharField(max_length=20, choices=ActionStatus.choices)
    progress_narrative = models.TextField(blank=True, max_length=5000)
    evidence_of_impact = models.TextField(blank=True, max_length=5000)
    next_steps = models.TextField(blank=True, max_length=5000)
    revised_due_date = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="action_updates"
    )
    created_at = models.DateTimeField(default=timezone.now)

    history = audit_history()

    class Meta:
        ordering = ["action", "-created_at"]
        get_latest_by = "created_at"
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=ActionStatus.values), name="action_update_status_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["action", "period"], name="action_update_period_idx"),
            # The dashboard opens on the plan's latest month with updates: the newest
            # period first, with the action that says whose plan it is, read from the index
            # alone (updates are only added, so autovacuum keeps them visible).
            models.Index(fields=["-period", "action"], name="action_update_month_idx"),
        ]

    def __str__(self):
        return f"{self.action.reference} update {self.period:%Y-%m} by {self.created_by}"


# --- Indicators ----------------------------------------------------------------------------


class IndicatorManager(models.Manager):
    def get_by_natural_key(self, plan_title, code):
        return self.get(plan__title=plan_title, code=code)


class Indicator(models.Model):
    """A KPI of a workstream, judged against its target with a tolerance."""

    class Unit(models.TextChoices):
        PERCENT = "%", "Percentage"
        NUMBER = "number", "Number"
        DAYS = "days", "Days"

    # Stored beside the workstream, as an action's is (docs/decisions/0004), so a code is
    # unique within its plan: a constraint cannot reach through the workstream.
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="indicators")
    workstream = models.ForeignKey(Workstream, on_delete=models.PROTECT, related_name="indicators")
    code = models.CharField(max_length=30)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    unit = models.CharField(max_length=10, choices=Unit.choices, default=Unit.NUMBER)
    target = models.DecimalField(max_digits=12, decimal_places=2)
    tolerance = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text="How far short of target still counts as amber rather than red.",
    )
    higher_is_better = models.BooleanField(default=True)

    history = audit_history()
    objects = IndicatorManager()

    class Meta:
        ordering = ["workstream", "code"]
        constraints = [
            models.CheckConstraint(condition=Q(tolerance__gte=0), name="indicator_tolerance_gte_0"),
            models.UniqueConstraint(fields=["plan", "code"], name="indicator_code_unique"),
        ]

    def __str__(self):
        return f"{self.code}: {self.name}"

    def natural_key(self):
        return (self.plan.title, self.code)

    natural_key.dependencies = ["workstreams.plan"]

    def clean(self):
        if self.workstream_id and self.plan_id and self.workstream.plan_id != self.plan_id:
            raise ValidationError({"workstream": "The workstream belongs to another plan."})

    def rag_for(self, value: Decimal) -> str:
        """Green on or better than target, amber within tolerance, red beyond it."""
        shortfall = (self.target - value) if self.higher_is_better else (value - self.target)
        if shortfall <= 0:
            return Rag.GREEN
        if shortfall <= self.tolerance:
            return Rag.AMBER
        return Rag.RED


class IndicatorValue(models.Model):
    indicator = models.ForeignKey(Indicator, on_delete=models.CASCADE, related_name="values")
    period = models.DateField(validators=[validate_month_start])
    value = models.DecimalField(max_digits=12, decimal_places=2)
    note = models.TextField(blank=True)

    history = audit_history()

    class Meta:
        ordering = ["indicator", "period"]
        constraints = [
            models.UniqueConstraint(
                fields=["indicator", "period"], name="indicator_value_one_per_period"
            )
        ]

    def __str__(self):
        return f"{self.indicator.code} {self.period:%Y-%m}: {self.value}"

    @property
    def rag(self) -> str:
        return self.indicator.rag_for(self.value)


# --- Workforce -----------------------------------------------------------------------------


class ServiceAreaManager(models.Manager):
    def get_by_natural_key(self, name):
        return self.get(name=name)


class ServiceArea(models.Model):
    name = models.CharField(max_length=200, unique=True)

    history = audit_history()
    objects = ServiceAreaManager()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def natural_key(self):
        return (self.name,)


class WorkforceSnapshot(models.Model):
    """Managers in a service on a date: locum or salaried, in post before a cut-off or since."""

    service_area = models.ForeignKey(
        ServiceArea, on_delete=models.PROTECT, related_name="workforce_snapshots"
    )
    as_of = models.DateField()
    cutoff = models.DateField(help_text="The date 'in post before' and 'joined since' refer to.")
    total = models.PositiveIntegerField()
    locum = models.PositiveIntegerField()
    salaried = models.PositiveIntegerField()
    in_post_before_cutoff = models.PositiveIntegerField()
    joined_since_cutoff = models.PositiveIntegerField()

    history = audit_history()

    class Meta:
        ordering = ["-as_of", "service_area__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["service_area", "as_of"], name="workforce_snapshot_one_per_date"
            ),
            models.CheckConstraint(
                condition=Q(total=models.F("locum") + models.F("salaried")),
                name="workforce_locum_plus_salaried_is_total",
            ),
            models.CheckConstraint(
                condition=Q(
                    total=models.F("in_post_before_cutoff") + models.F("joined_since_cutoff")
                ),
                name="workforce_before_plus_since_is_total",
            ),
            models.CheckConstraint(
                condition=Q(cutoff__lt=models.F("as_of")), name="workforce_cutoff_before_as_of"
            ),
        ]

    def __str__(self):
        return f"{self.service_area} on {self.as_of:%d %B %Y}: {self.total} managers"

    def clean(self):
        errors = {}
        counts = (self.total, self.locum, self.salaried)
        if None not in counts and self.locum + self.salaried != self.total:
            errors["total"] = (
                f"Locum ({self.locum}) and salaried ({self.salaried}) must add up to "
                f"the total ({self.total})."
            )
        counts = (self.total, self.in_post_before_cutoff, self.joined_since_cutoff)
        if (
            None not in counts
            and self.in_post_before_cutoff + self.joined_since_cutoff != self.total
        ):
            errors["joined_since_cutoff"] = (
                f"In post before ({self.in_post_before_cutoff}) and joined since "
                f"({self.joined_since_cutoff}) must add up to the total ({self.total})."
            )
        if errors:
            raise ValidationError(errors)


# --- Importing the plan from a spreadsheet -------------------------------------------------
# Neither model below has history, deliberately. Neither is part of the plan or its record:
# a mapping is a reading aid (which of a council's columns holds which of Grip's fields), and
# an import is a working copy of an uploaded sheet between its preview and its confirmation.
# Everything an import changes is written through the services, so each action's own history
# records the change, field by field, as the officer who confirmed it.


class ChangeCount(models.Model):
    """How many committed transactions have changed Grip's records (row 1), and how many of
    them wrote history dated in the past (row 2), on SQLite (PostgreSQL keeps sequences).
    Figures derived from the records (the dashboard, the plan's BRAG table) are cached under
    these numbers, so a change makes them be worked out again (``derived.cached``). It
    records nothing of its own, so it keeps no history and is not in the admin
    (docs/decisions/0013)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    value = models.BigIntegerField(default=0)

    def __str__(self):
        return f"{self.value} changes"


class ImportMapping(models.Model):
    """How to read a council's own spreadsheet: the Grip field of each column, kept for the
    next file with the same headings (the same tracker, next month)."""

    # The sheet's headings as the import compares them (``imports.normalise``), in order.
    headings = models.JSONField()
    # One per heading: the Grip field read from that column, or "" to ignore it.
    fields = models.JSONField()
    # A digest of ``headings``, so the mapping for a sheet is found by one indexed lookup.
    headings_key = models.CharField(max_length=64)
    saved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    saved_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-saved_at"]
        constraints = [
            models.UniqueConstraint(fields=["headings_key"], name="import_mapping_headings_unique")
        ]

    def __str__(self):
        return f"Columns of a sheet headed {', '.join(h for h in self.headings if h)[:120]}"


class ActionImport(models.Model):
    """One uploaded spreadsheet of actions: the rows as read, how its columns are read, and
    its preview, kept between the upload and the officer's confirmation (so the confirmation
    trusts nothing the browser sends back but the token); once imported, what it did."""

    class State(models.TextChoices):
        PREVIEWED = "previewed", "Waiting for confirmation"
        IMPORTED = "imported", "Imported"

    token = models.UUIDField(default=uuid.uuid4, editable=False)
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="+")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)
    file_name = models.CharField(max_length=255)
    sheet = models.CharField(max_length=255, blank=True)
    header_row = models.PositiveIntegerField(default=1)
    # The headings as written in the file, and the Grip field read from each column ("" to
    # ignore it): the same length.
    headings = models.JSONField(default=list)
    fields = models.JSONField(default=list)
    # The data rows as read: [sheet row number, [cell text, ...]], at most
    # GRIP_IMPORT_MAX_ROWS of them; emptied once imported.
    rows = models.JSONField(default=list)
    # What the preview found, row by row (``imports.preview``); once imported, only the
    # rows that changed something.
    preview = models.JSONField(default=dict)
    # What the preview page shows, written with the preview (``imports.preview_summary``):
    # its counts, the first rows of each kind, the first row's cells; so the page reads
    # neither ``rows`` nor ``preview`` (megabytes for a long sheet). Emptied once imported;
    # empty too for an upload kept before it existed (the page makes it then).
    summary = models.JSONField(default=dict, db_default={})
    state = models.CharField(max_length=10, choices=State.choices, default=State.PREVIEWED)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    imported_at = models.DateTimeField(null=True, blank=True)
    created = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0)
    left_alone = models.PositiveIntegerField(default=0)
    left_out = models.PositiveIntegerField(default=0, help_text="Rows with errors, not imported.")

    class Meta:
        ordering = ["-uploaded_at"]
        constraints = [
            models.UniqueConstraint(fields=["token"], name="action_import_token_unique"),
            models.CheckConstraint(
                condition=Q(state="previewed", imported_at__isnull=True)
                | Q(state="imported", imported_at__isnull=False),
                name="action_import_imported_has_when",
            ),
        ]

    def __str__(self):
        return f"{self.file_name}, uploaded {self.uploaded_at:%d %B %Y %H:%M}"

    def get_absolute_url(self):
        name = "import-done" if self.state == self.State.IMPORTED else "import-preview"
        return reverse(f"workstreams:{name}", args=[self.token])
