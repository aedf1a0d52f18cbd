"""Writes to the governance structure. Each public function is one transaction."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from workstreams.models import Plan
from workstreams.services import save_if_changed

from .models import Body, Membership
from .roles import PROGRAMME_OFFICE_GROUP

GROUPS = (PROGRAMME_OFFICE_GROUP,)


@transaction.atomic
def demo_users_load(*, users: list[dict], password: str) -> list:
    """Create the demo users (and their groups); existing ones are brought to the data.

    A password is set only when a user is created, so running again changes nothing.
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
        elif any(getattr(user, field) != value for field, value in values.items()):
            for field, value in values.items():
                setattr(user, field, value)
            user.save()
        wanted = set(Group.objects.filter(name__in=item.get("groups", [])))
        if set(user.groups.all()) != wanted:
            user.groups.set(wanted)
        loaded.append(user)
    return loaded


@transaction.atomic
def governance_load(*, data: dict, plan: Plan) -> list[Body]:
    """Load the bodies (who reports to whom) and memberships of a plan's data file."""
    User = get_user_model()
    workstreams = {workstream.code: workstream for workstream in plan.workstreams.all()}
    bodies = {}
    # Two passes: a body may report to one listed after it.
    for item in data.get("bodies", []):
        bodies[item["name"]] = save_if_changed(
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
        reports_to = bodies[item["reports_to"]] if item.get("reports_to") else None
        save_if_changed(Body, lookup={"name": item["name"]}, values={"reports_to": reports_to})
    for item in data.get("memberships", []):
        user = User.objects.filter(username=item["username"]).first()
        if user is None:
            raise ValueError(
                f"Membership of {item['body']}: there is no user '{item['username']}'."
            )
        save_if_changed(
            Membership,
            lookup={"body": bodies[item["body"]], "user": user},
            values={"role": item["role"], "title": item.get("title", "")},
        )
    return list(bodies.values())
