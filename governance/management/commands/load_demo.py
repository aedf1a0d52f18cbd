import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError
from django.db import transaction

from governance.services import demo_cycle_load, demo_users_load, governance_load
from workstreams.commands import AuditedCommand
from workstreams.services import plan_load

DEMO_PASSWORD = "grip-demo"


class Command(AuditedCommand):
    help = (
        "Load the reference plan (Croydon Children's Improvement Plan 2018/19) and the demo "
        "users, all with the password 'grip-demo'. Running it again creates only what is "
        "missing and never changes what exists. Refused when DEBUG is off (production) "
        "unless --allow-production is given."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--plan-file", type=Path, default=settings.GRIP_REFERENCE_PLAN)
        parser.add_argument("--users-file", type=Path, default=settings.GRIP_DEMO_USERS)
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Load even though DEBUG is off (creates users with the published password).",
        )

    def handle(self, *args, **options):
        # Refused before anything is written, the system user included.
        if not settings.DEBUG and not options["allow_production"]:
            raise CommandError(
                "DEBUG is off, so this may be a production database. load_demo creates demo "
                f"users, an administrator among them, with the published password "
                f"'{DEMO_PASSWORD}'. Nothing was loaded. Run it with --allow-production if "
                "this really is a demonstration or test database."
            )
        return super().handle(*args, **options)

    def handle_audited(self, *args, **options):
        plan_data = json.loads(options["plan_file"].read_text(encoding="utf-8"))
        users_data = json.loads(options["users_file"].read_text(encoding="utf-8"))
        with transaction.atomic():
            users = demo_users_load(users=users_data, password=DEMO_PASSWORD)
            plan = plan_load(data=plan_data)
            governance_load(data=plan_data, plan=plan)
            # A month of governance, for each role to see at once: reports mid-cycle, the
            # meetings that reviewed them, risks.
            cycle = demo_cycle_load(data=plan_data, plan=plan)
        if options["verbosity"] >= 1:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Loaded '{plan}' ({plan.actions.count()} actions) and {len(users)} demo "
                    f"users (password '{DEMO_PASSWORD}'). The demo cycle: "
                    + ", ".join(f"{n} {what}" for what, n in cycle.items())
                    + " created."
                )
            )
