"""A base for management commands that change audited data."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from .audit import acting_as, system_user
from .derived import count_change, count_past_change


class AuditedCommand(BaseCommand):
    """Runs ``handle_audited`` with its changes recorded against a user in the history:
    the one named by ``--as-user``, or Grip's system user."""

    def add_arguments(self, parser):
        parser.add_argument(
            "--as-user",
            metavar="USERNAME",
            help="Record the changes as made by this user (default: the system user).",
        )

    def handle(self, *args, **options):
        username = options.get("as_user")
        if username:
            try:
                user = get_user_model().objects.get(username=username)
            except get_user_model().DoesNotExist:
                raise CommandError(f"There is no user '{username}'.") from None
        else:
            user = system_user()
        with acting_as(user):
            result = self.handle_audited(*args, **options)
        # Bulk writes record their history without passing through the history's own
        # save, and may date it in the past (generate_plan): count the command's changes
        # here, for the figures cached under both counts.
        count_change()
        count_past_change()
        return result

    def handle_audited(self, *args, **options):
        raise NotImplementedError
