"""A user's roles in the governance structure, read once per request."""

from dataclasses import dataclass

from django.contrib.auth.models import Group
from django.db.models import BigIntegerField, F, Q, Value
from django.db.models.functions import Cast

from workstreams.models import Action, Plan

from .models import Body, Membership

PROGRAMME_OFFICE_GROUP = "Programme office"


@dataclass(frozen=True)
class Roles:
    is_programme_office: bool
    chairs_programme_board: bool
    sits_on_programme_board: bool
    chaired_workstream_ids: frozenset[int]
    task_group_workstream_ids: frozenset[int]
    # Workstreams of the live plan in which they lead at least one action.
    led_workstream_ids: frozenset[int]
    user_id: int | None = None
    is_superuser: bool = False
    # Bodies whose meetings they record: those they chair or are secretary of.
    minuted_body_ids: frozenset[int] = frozenset()

    # Who may update an action: the programme office any, a task group chair their
    # workstream's, a lead officer their own. (Sitting on a task group as a member gives no
    # more: accountability for an action stays with its lead.) Stated twice, side by side:
    # for one action (permission checks) and as a filter (lists of what a user may update);
    # a test holds the two together.
    def may_update(self, action: Action) -> bool:
        if self.is_programme_office or self.is_superuser:
            return True
        return (
            action.workstream_id in self.chaired_workstream_ids
            or action.lead_officer_id == self.user_id
        )

    def updatable_actions(self) -> Q:
        if self.is_programme_office or self.is_superuser:
            return Q()
        return Q(workstream_id__in=self.chaired_workstream_ids) | Q(lead_officer_id=self.user_id)

    def may_update_any(self) -> bool:
        return (
            self.is_programme_office
            or self.is_superuser
            or bool(self.chaired_workstream_ids)
            or self.leads_actions
        )

    def chairs(self, action: Action) -> bool:
        return action.workstream_id in self.chaired_workstream_ids

    @property
    def leads_actions(self) -> bool:
        return bool(self.led_workstream_ids)

    # Four-question reports (DESIGN.md, "Who may do what"): a workstream's report is drafted
    # by its lead officers, its task group's chair and members, or the programme office; the
    # programme-wide report by the programme office. The task group chair endorses, the
    # programme board chair signs off, the programme office reopens.
    def may_draft_report(self, workstream_id: int | None) -> bool:
        if self.is_programme_office or self.is_superuser:
            return True
        return workstream_id is not None and workstream_id in (
            self.led_workstream_ids | self.task_group_workstream_ids
        )

    def may_endorse_report(self, workstream_id: int | None) -> bool:
        return workstream_id is not None and workstream_id in self.chaired_workstream_ids

    def may_sign_off_report(self) -> bool:
        return self.chairs_programme_board

    # Meetings: a body's chair and secretary record its meetings and decisions, and the
    # programme office any body's.
    def may_record_meetings(self, body_id: int | None) -> bool:
        if self.is_programme_office or self.is_superuser:
            return True
        return body_id is not None and body_id in self.minuted_body_ids

    # Risks: a workstream's register is kept by its task group chair and its lead officers;
    # the programme-level register (``workstream_id`` None) by the programme board chair;
    # the programme office keeps every register.
    def may_keep_risks(self, workstream_id: int | None) -> bool:
        if self.is_programme_office or self.is_superuser:
            return True
        if workstream_id is None:
            return self.chairs_programme_board
        return workstream_id in (self.chaired_workstream_ids | self.led_workstream_ids)


NO_ROLES = Roles(False, False, False, frozenset(), frozenset(), frozenset())


def _role_rows(user):
    """Everything roles are made of, in one query (every page asks, for its navigation):
    (source, role, body kind, workstream id, body id) for each of the user's memberships
    ("membership"), one "office" row if they are in the programme office, and one "lead" row
    for each workstream of the live plan where they lead an action."""

    def row(queryset, source, role=None, kind=None, workstream_id=None, body_id=None):
        # Every column an annotation, named and ordered alike in each part, so the parts of
        # the UNION line up (Django puts a model's own columns before its annotations).
        no_text, no_id = Value(""), Cast(Value(None), BigIntegerField())
        columns = {
            "source": Value(source),
            "row_role": F(role) if role else no_text,
            "row_kind": F(kind) if kind else no_text,
            "row_workstream": F(workstream_id) if workstream_id else no_id,
            "row_body": F(body_id) if body_id else no_id,
        }
        return queryset.order_by().annotate(**columns).values_list(*columns)

    memberships = row(
        Membership.objects.filter(user=user),
        "membership",
        role="role",
        kind="body__kind",
        workstream_id="body__workstream_id",
        body_id="body_id",
    )
    office = row(Group.objects.filter(user=user, name=PROGRAMME_OFFICE_GROUP), "office")
    led = row(
        Action.objects.filter(lead_officer=user, plan__status=Plan.Status.LIVE),
        "lead",
        workstream_id="workstream_id",
    ).distinct()
    return memberships.union(office, led, all=True)


def roles_of(user) -> Roles:
    """The user's roles, cached on the user object (a fresh one each request)."""
    if not getattr(user, "is_authenticated", False):
        return NO_ROLES
    cached = getattr(user, "_grip_roles", None)
    if cached is not None:
        return cached
    memberships, is_programme_office, led_workstream_ids = [], False, set()
    for source, role, kind, workstream_id, body_id in _role_rows(user):
        if source == "membership":
            memberships.append((role, kind, workstream_id, body_id))
        elif source == "office":
            is_programme_office = True
        else:
            led_workstream_ids.add(workstream_id)
    task_groups = [(role, ws) for role, kind, ws, _ in memberships if kind == Body.Kind.TASK_GROUP]
    board_roles = {role for role, kind, _, _ in memberships if kind == Body.Kind.PROGRAMME_BOARD}
    roles = Roles(
        is_programme_office=is_programme_office,
        chairs_programme_board=Membership.Role.CHAIR in board_roles,
        sits_on_programme_board=bool(board_roles),
        chaired_workstream_ids=frozenset(
            ws for role, ws in task_groups if role == Membership.Role.CHAIR
        ),
        task_group_workstream_ids=frozenset(ws for _, ws in task_groups),
        led_workstream_ids=frozenset(led_workstream_ids),
        user_id=user.pk,
        is_superuser=user.is_superuser,
        minuted_body_ids=frozenset(
            body
            for role, _, _, body in memberships
            if role in (Membership.Role.CHAIR, Membership.Role.SECRETARY)
        ),
    )
    user._grip_roles = roles
    return roles


def forget_roles(user) -> None:
    """Drop the cached roles (after memberships change within one request or test)."""
    user.__dict__.pop("_grip_roles", None)
