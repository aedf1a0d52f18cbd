"""The oversight: bodies and who sits on them, meetings, four-question reports and their
reviews, and risks."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from simple_history import register

from workstreams.audit import history_user
from workstreams.models import (
    GripHistoricalRecords,
    Plan,
    Versioned,
    Workstream,
    audit_history,
    validate_month_start,
)


class BodyManager(models.Manager):
    def get_by_natural_key(self, name):
        return self.get(name=name)


class Body(models.Model):
    """A board or group in the governance structure."""

    class Kind(models.TextChoices):
        IMPROVEMENT_BOARD = "improvement_board", "Improvement board"
        PROGRAMME_BOARD = "programme_board", "Programme board"
        TASK_GROUP = "task_group", "Task group"
        REFERENCE_GROUP = "reference_group", "Reference group"
        PARTNER_BOARD = "partner_board", "Partner board"

    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=30, choices=Kind.choices)
    workstream = models.OneToOneField(
        Workstream,
        on_delete=models.PROTECT,
        related_name="task_group",
        null=True,
        blank=True,
        help_text="The workstream a task group holds to account.",
    )
    reports_to = models.ForeignKey(
        "self", on_delete=models.PROTECT, related_name="reporting_bodies", null=True, blank=True
    )
    chair_title = models.CharField(
        max_length=200, blank=True, help_text="The post that chairs the body."
    )
    meets = models.CharField(max_length=100, blank=True, help_text="e.g. monthly")
    purpose = models.TextField(blank=True)

    history = audit_history()
    objects = BodyManager()

    class Meta:
        ordering = ["kind", "name"]
        verbose_name_plural = "bodies"
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="task_group", workstream__isnull=False)
                | (~Q(kind="task_group") & Q(workstream__isnull=True)),
                name="body_task_group_has_workstream",
            ),
            models.CheckConstraint(
                condition=~Q(reports_to=models.F("id")), name="body_not_reporting_to_itself"
            ),
        ]

    def __str__(self):
        return self.name

    def natural_key(self):
        return (self.name,)

    def clean(self):
        # A loop (A reports to B reports to A) would make the structure unreadable.
        seen, body = {self.pk}, self.reports_to
        while body is not None:
            if body.pk in seen:
                raise ValidationError({"reports_to": "This would make a reporting loop."})
            seen.add(body.pk)
            body = body.reports_to


class Membership(models.Model):
    """Who sits on a body, in which role. Who may do what follows from memberships."""

    class Role(models.TextChoices):
        CHAIR = "chair", "Chair"
        MEMBER = "member", "Member"
        SECRETARY = "secretary", "Secretary"

    body = models.ForeignKey(Body, on_delete=models.CASCADE, related_name="memberships")
    # PROTECT: people who leave are deactivated, never deleted (docs/decisions/0006).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MEMBER)
    title = models.CharField(max_length=200, blank=True, help_text="Their post, e.g. Head of HR.")

    history = audit_history()

    class Meta:
        ordering = ["body", "role", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["body", "user"], name="membership_once_per_body"),
            models.UniqueConstraint(
                fields=["body"], condition=Q(role="chair"), name="membership_one_chair_per_body"
            ),
            models.CheckConstraint(
                condition=Q(role__in=["chair", "member", "secretary"]),
                name="membership_role_valid",
            ),
        ]

    def __str__(self):
        return f"{self.user} ({self.get_role_display()}, {self.body})"


class Meeting(models.Model):
    """A meeting of a body: who came, what it reviewed and decided. Reviews of reports made
    at it name it; its decisions carry forward, meeting to meeting, until closed."""

    body = models.ForeignKey(Body, on_delete=models.PROTECT, related_name="meetings")
    date = models.DateField()
    period = models.DateField(
        validators=[validate_month_start],
        help_text="The month whose reports and exceptions it reviews (its first day).",
    )
    attendees = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="meetings_attended", blank=True
    )
    minutes = models.TextField(blank=True)

    history = audit_history(m2m_fields=[attendees])

    class Meta:
        ordering = ["-date", "body"]
        constraints = [
            models.UniqueConstraint(fields=["body", "date"], name="meeting_once_a_day_per_body")
        ]

    def __str__(self):
        return f"{self.body} on {self.date:%d %B %Y}"

    def get_absolute_url(self):
        return reverse("governance:meeting-detail", args=[self.pk])


class Decision(models.Model):
    """A decision or action agreed at a meeting, carried to each next meeting of the body
    until it is closed."""

    meeting = models.ForeignKey(Meeting, on_delete=models.PROTECT, related_name="decisions")
    text = models.TextField(max_length=2000)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="meeting_decisions",
        null=True,
        blank=True,
    )
    due_date = models.DateField(null=True, blank=True)
    closed_at = models.ForeignKey(
        Meeting,
        on_delete=models.PROTECT,
        related_name="closed_decisions",
        null=True,
        blank=True,
        help_text="The meeting that closed it.",
    )
    closing_note = models.TextField(blank=True, max_length=2000)

    history = audit_history()

    class Meta:
        ordering = ["meeting__date", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(closed_at__isnull=True) | ~Q(closed_at=models.F("meeting")),
                name="decision_closed_at_a_later_meeting",
            ),
        ]

    def __str__(self):
        return self.text[:80]

    @property
    def is_open(self) -> bool:
        return self.closed_at_id is None


class ProgressReport(Versioned):
    """The four-question report of a workstream (or of the whole programme) for a month.

    Its status moves only through the workflow services (submit, endorse, sign off, return,
    reopen). At sign-off ``snapshot`` keeps what the report showed (its answers, items,
    action statuses, indicator values and risks) and ``checksum`` seals it.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SUBMITTED = "submitted", "Submitted"
        ENDORSED = "endorsed", "Endorsed"
        SIGNED_OFF = "signed_off", "Signed off"

    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="progress_reports")
    workstream = models.ForeignKey(
        Workstream,
        on_delete=models.PROTECT,
        related_name="progress_reports",
        null=True,
        blank=True,
        help_text="Leave empty for the programme-level report.",
    )
    period = models.DateField(validators=[validate_month_start])
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    working_well = models.TextField("What's working well?", blank=True)
    how_we_know = models.TextField("How do we know?", blank=True)
    worried_about = models.TextField("What are we worried about?", blank=True)
    snapshot = models.JSONField(
        default=dict,
        blank=True,
        editable=False,
        help_text="What the report showed when signed off, kept as it was.",
    )
    checksum = models.CharField(
        max_length=64,
        blank=True,
        editable=False,
        help_text="SHA-256 of the signed-off snapshot: a printed copy shows it too.",
    )
    signed_off_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    history = audit_history()

    class Meta:
        ordering = ["-period", "workstream__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["workstream", "period"],
                condition=Q(workstream__isnull=False),
                name="report_one_per_workstream_per_period",
            ),
            models.UniqueConstraint(
                fields=["plan", "period"],
                condition=Q(workstream__isnull=True),
                name="report_one_programme_report_per_period",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "submitted", "endorsed", "signed_off"]),
                name="report_status_valid",
            ),
            models.CheckConstraint(
                condition=(Q(status="signed_off", signed_off_at__isnull=False) & ~Q(checksum=""))
                | (~Q(status="signed_off") & Q(signed_off_at__isnull=True, checksum="")),
                name="report_signed_off_is_sealed",
            ),
        ]

    def __str__(self):
        subject = self.workstream.name if self.workstream_id else "Programme"
        return f"{subject} report, {self.period:%B %Y}"

    def get_absolute_url(self):
        return reverse("governance:report-detail", args=[self.pk])

    @property
    def is_frozen(self) -> bool:
        return self.status == self.Status.SIGNED_OFF

    def clean(self):
        if self.workstream_id and self.plan_id and self.workstream.plan_id != self.plan_id:
            raise ValidationError({"workstream": "The workstream belongs to another plan."})


class ReportItem(models.Model):
    """One line of "What needs to happen, and by when?", followed up next month."""

    class Outcome(models.TextChoices):
        PENDING = "pending", "Still to happen"
        DONE = "done", "Happened"
        NOT_DONE = "not_done", "Did not happen"

    report = models.ForeignKey(ProgressReport, on_delete=models.PROTECT, related_name="items")
    carried_from = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        related_name="carried_to",
        null=True,
        blank=True,
        help_text="Last period's item this one follows up, so nothing said is dropped.",
    )
    action = models.ForeignKey(
        "workstreams.Action",
        on_delete=models.PROTECT,
        related_name="report_items",
        null=True,
        blank=True,
        help_text="The tracked action this item became.",
    )
    description = models.TextField()
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="report_items"
    )
    due_date = models.DateField()
    outcome = models.CharField(max_length=20, choices=Outcome.choices, default=Outcome.PENDING)

    history = audit_history()

    class Meta:
        ordering = ["report", "due_date", "pk"]

    def __str__(self):
        return f"{self.description[:60]} (by {self.due_date:%d %b %Y})"


class Reminder(models.Model):
    """A reminder e-mailed to someone (``send_reminders``): kept so nobody gets the same
    reminder twice in one day."""

    class Kind(models.TextChoices):
        UPDATES = "updates", "Actions waiting for this month's update"
        REVIEWS = "reviews", "Reports waiting for your review"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reminders"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    sent_on = models.DateField()
    sent_at = models.DateTimeField(default=timezone.now)
    about = models.TextField(help_text="What the reminder listed.")

    history = audit_history()

    class Meta:
        ordering = ["-sent_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "kind", "sent_on"], name="reminder_once_a_day_per_kind"
            )
        ]

    def __str__(self):
        return f"{self.get_kind_display()} to {self.user} on {self.sent_on:%d %B %Y}"


class Review(models.Model):
    """One step of a report's workflow: who, when, what they decided. Append-only."""

    class Step(models.TextChoices):
        SUBMIT = "submit", "Submitted"
        RETURN = "return", "Returned"
        ENDORSE = "endorse", "Endorsed"
        SIGN_OFF = "sign_off", "Signed off"
        REOPEN = "reopen", "Reopened"

    # PROTECT: the record of a report's workflow outlives any tidying of reports.
    report = models.ForeignKey(ProgressReport, on_delete=models.PROTECT, related_name="reviews")
    step = models.CharField(max_length=20, choices=Step.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    comment = models.TextField(blank=True)
    meeting = models.ForeignKey(
        Meeting, on_delete=models.PROTECT, related_name="reviews", null=True, blank=True
    )

    history = audit_history()

    class Meta:
        ordering = ["report", "at"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(step__in=["return", "reopen"]) | ~Q(comment=""),
                name="review_return_or_reopen_has_comment",
            ),
        ]

    def __str__(self):
        return f"{self.report}: {self.get_step_display()} by {self.by}"


class RiskScore:
    """A risk's score, for the risk and for its history rows alike (a page showing the risks
    as they stood on a past day renders history rows)."""

    @property
    def score(self) -> int:
        return self.likelihood * self.impact


class Risk(RiskScore, models.Model):
    """What we are worried about, kept between reports."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="risks")
    workstream = models.ForeignKey(
        Workstream, on_delete=models.PROTECT, related_name="risks", null=True, blank=True
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_risks"
    )
    likelihood = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(5)], help_text="1 (rare) to 5"
    )
    impact = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(5)], help_text="1 (minor) to 5"
    )
    mitigation = models.TextField(blank=True)
    escalated = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)

    history = audit_history(bases=[RiskScore, models.Model])

    class Meta:
        ordering = ["plan", "status", "title"]
        constraints = [
            models.CheckConstraint(
                condition=Q(likelihood__gte=1, likelihood__lte=5), name="risk_likelihood_1_to_5"
            ),
            models.CheckConstraint(
                condition=Q(impact__gte=1, impact__lte=5), name="risk_impact_1_to_5"
            ),
        ]

    def __str__(self):
        return self.title


# People and their rights are part of the record: who was added, deactivated, or put in the
# programme office group (which grants rights), and what a group grants, are in the history,
# shown in the user and group admin.
# The historical model lives here, in governance, which keeps who may do what. Passwords
# (hashes) and sign-in times are left out: the one is secret, the other is not a change.
register(
    Group,
    app="governance",
    records_class=GripHistoricalRecords,
    get_user=history_user,
    m2m_fields=["permissions"],
)
register(
    get_user_model(),
    app="governance",
    records_class=GripHistoricalRecords,
    get_user=history_user,
    excluded_fields=["password", "last_login"],
    m2m_fields=["groups", "user_permissions"],
)
