"""Writes to the governance structure. Each public function is one transaction."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

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
