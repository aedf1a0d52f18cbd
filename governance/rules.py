"""Who may do what (DESIGN.md, "Who may do what"), in one place.

Delivery asks Django (``user.has_perm("workstreams.change_action", action)``); the rules
library answers from the memberships governance keeps. Views, templates and the admin all
ask the same permissions, so what a role may not do is neither shown nor accepted.
"""

import rules

from .roles import roles_of


@rules.predicate
def is_programme_office(user):
    return user.is_superuser or roles_of(user).is_programme_office


@rules.predicate
def is_programme_board_chair(user):
    return roles_of(user).chairs_programme_board


@rules.predicate
def is_task_group_chair(user, workstream):
    return workstream is not None and workstream.pk in roles_of(user).chaired_workstream_ids


@rules.predicate
def may_update_action(user, action):
    """Programme office: any action; task group chair or member: their workstream's; lead
    officer: their own. Asked without an action, it answers "may they update any at all?"."""
    roles = roles_of(user)
    if roles.is_programme_office or user.is_superuser:
        return True
    if action is None:
        return bool(roles.task_group_workstream_ids or roles.leads_actions)
    return (
        action.workstream_id in roles.task_group_workstream_ids or action.lead_officer_id == user.pk
    )


@rules.predicate
def chairs_action_task_group(user, action):
    return action is not None and action.workstream_id in roles_of(user).chaired_workstream_ids


is_signed_in = rules.is_authenticated

# Everyone signed in reads everything: LoginRequiredMiddleware is that rule.
rules.add_perm("workstreams.change_action", is_signed_in & may_update_action)
rules.add_perm("workstreams.add_action", is_signed_in & is_programme_office)
rules.add_perm("workstreams.import_plan", is_signed_in & is_programme_office)
