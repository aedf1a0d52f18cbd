"""Small things several test modules need."""

from django.db import IntegrityError, transaction

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
