"""Writes to the governance structure. Each public function is one transaction."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from workstreams.audit import acting_as
from workstreams.models import Plan
from workstreams.services import create_if_missing

from .models import Body, Membership
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
            body.full_clean()
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
