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
def may_update_action(user, action):
    """Programme office: any action; task group chair: their workstream's; lead officer:
    their own. Asked without an action, it answers "may they update any at all?"."""
    roles = roles_of(user)
    return roles.may_update_any() if action is None else roles.may_update(action)


@rules.predicate
def chairs_action_task_group(user, action):
    return action is not None and roles_of(user).chairs(action)


is_signed_in = rules.is_authenticated

# Everyone signed in reads everything: LoginRequiredMiddleware is that rule.
rules.add_perm("workstreams.change_action", is_signed_in & may_update_action)
# Deciding a due-date move and accepting evidence of impact: the workstream's task group chair.
rules.add_perm("workstreams.decide_due_date", is_signed_in & chairs_action_task_group)
rules.add_perm("workstreams.accept_evidence", is_signed_in & chairs_action_task_group)
rules.add_perm("workstreams.add_action", is_signed_in & is_programme_office)
rules.add_perm("workstreams.import_plan", is_signed_in & is_programme_office)


# --- Four-question reports: asked with the report (or, to start one, with its workstream;
# None for the programme-wide report). The report's state is the services' to check.
def _workstream_id(subject):
    return getattr(subject, "workstream_id", getattr(subject, "pk", None))


@rules.predicate
def may_draft_report(user, subject):
    return roles_of(user).may_draft_report(_workstream_id(subject))


@rules.predicate
def chairs_report_task_group(user, report):
    return report is not None and roles_of(user).may_endorse_report(report.workstream_id)


@rules.predicate
def chairs_programme_board(user):
    return roles_of(user).may_sign_off_report()


rules.add_perm("governance.draft_report", is_signed_in & may_draft_report)
rules.add_perm("governance.endorse_report", is_signed_in & chairs_report_task_group)
rules.add_perm("governance.sign_off_report", is_signed_in & chairs_programme_board)
rules.add_perm("governance.reopen_report", is_signed_in & is_programme_office)


# --- Meetings: asked with the body (or a meeting of it). Risks: asked with the risk, or its
# workstream to add one (None for the programme-level register).
def _body_id(subject):
    return getattr(subject, "body_id", getattr(subject, "pk", None))


@rules.predicate
def may_record_meetings(user, subject):
    return roles_of(user).may_record_meetings(_body_id(subject))


@rules.predicate
def may_keep_risks(user, subject):
    return roles_of(user).may_keep_risks(_workstream_id(subject))


rules.add_perm("governance.record_meeting", is_signed_in & may_record_meetings)
rules.add_perm("governance.keep_risk", is_signed_in & may_keep_risks)
