"""Small things several test modules need."""

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from governance import services as governance
from workstreams import services
from workstreams.models import Action, ActionUpdate, DueDateChange

# DESIGN.md, "Stable interfaces": the users load_demo creates, one per role.
DEMO_USERNAMES = frozenset(
    {
        "admin",
        "office",
        "exec.director",
        "board.member",
        "sro.mp",
        "sro.wf",
        "sro.pa",
        "sro.pl",
        "lead.mp",
        "lead.wf",
        "lead.pa",
        "lead.pl",
        "viewer",
    }
)


def rejects(create) -> bool:
    """True when the database refuses the write (and nothing of it stays)."""
    try:
        with transaction.atomic():
            create()
    except IntegrityError:
        return True
    return False


def record(action, by, **fields):
    """An update as the form sends it, saying something new each time."""
    values = {
        "action": action,
        "by": by,
        "based_on_version": action.version,
        "status": action.status,
        "progress_narrative": f"Progress, update {action.updates.count() + 1}.",
    }
    values.update(fields)
    return services.action_update_record(**values)


def unchanged(action):
    """The action's row and its history, to compare before and after a refused step."""
    fresh = Action.objects.get(pk=action.pk)
    return (
        {f.name: getattr(fresh, f.attname) for f in Action._meta.concrete_fields},
        fresh.history.count(),
        ActionUpdate.objects.filter(action=action).count(),
        DueDateChange.objects.filter(action=action).count(),
    )


def report_in_state(plan, state, *, code="MP", period, by="office"):
    """A four-question report brought to ``state`` (draft, submitted, endorsed, signed_off)
    by the right people, through the services: started and answered by ``by``, endorsed by
    the workstream's task group chair (sro.<code>), signed off by exec.director. ``code``
    None: the programme-wide report."""
    users = get_user_model().objects
    workstream = plan.workstreams.get(code=code) if code else None
    report = governance.report_start(
        by=users.get(username=by), plan=plan, period=period, workstream=workstream
    )
    report = governance.report_edit(
        report=report,
        by=users.get(username=by),
        based_on_version=report.version,
        working_well=report.working_well or "Managers' seminars held.",
        how_we_know=report.how_we_know or "Audit results.",
        worried_about=report.worried_about or "Locum managers.",
    )
    if state == "draft":
        return report
    governance.report_submit(report=report, by=users.get(username=by))
    if state == "submitted":
        return report
    if code:
        chair = users.get(username=f"sro.{code.lower()}")
        governance.report_endorse(report=report, by=chair)
    if state == "endorsed":
        return report
    governance.report_sign_off(report=report, by=users.get(username="exec.director"))
    report.refresh_from_db()
    return report
