"""Small things several test modules need."""

from django.db import IntegrityError, transaction

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
