from collections import Counter
from dataclasses import dataclass

from django.conf import settings
from django.core import mail
from django.core.management.base import CommandError
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from governance import selectors, services
from governance.models import Reminder
from workstreams.audit import display_name
from workstreams.commands import AuditedCommand
from workstreams.models import Attention, month_start
from workstreams.selectors import live_plan


@dataclass
class Message:
    subject: str
    body: str
    about: str  # what it lists, one line each: kept in the Reminder record


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def compose(due: selectors.ReminderDue, plan, today) -> Message:
    """The e-mail for one reminder: its subject, its plain-text body (with the portal's links)
    and the lines it lists."""
    site = settings.GRIP_SITE_URL
    period = month_start(today)
    context = {
        "name": display_name(due.user),
        "plan": plan,
        "period": period,
        "my_work_url": site + reverse("home"),
    }
    if due.kind == Reminder.Kind.UPDATES:
        rows = [
            {
                "action": action,
                "reason": Attention(action.attention).label if action.attention else "No update",
                "due": action.current_due if action.attention != Attention.NO_UPDATE else None,
                "url": site + reverse("workstreams:action-update", args=[action.reference]),
            }
            for action in due.actions
        ]
        return Message(
            subject=f"Grip: {_plural(len(rows), 'action')} waiting for your {period:%B %Y} update",
            body=render_to_string(
                "governance/email/reminder_updates.txt", {**context, "rows": rows}
            ),
            about="\n".join(f"{row['action'].reference}: {row['reason']}" for row in rows),
        )
    waiting = [(report, "waiting for your endorsement") for report in due.reports.to_endorse]
    waiting += [(report, "waiting for your sign-off") for report in due.reports.to_sign_off]
    rows = [
        {
            "report": report,
            "waiting": words,
            "since": report.last_review,
            "since_by": display_name(report.last_review.by) if report.last_review else "",
            "url": site + report.get_absolute_url(),
        }
        for report, words in waiting
    ]
    return Message(
        subject=f"Grip: {_plural(len(rows), 'report')} waiting for your review",
        body=render_to_string("governance/email/reminder_reviews.txt", {**context, "rows": rows}),
        about="\n".join(f"{row['report']}: {row['waiting']}" for row in rows),
    )


class Command(AuditedCommand):
    help = (
        "E-mail each lead officer the actions they lead with no update yet this month, and "
        "each task group chair and the programme board chair the four-question reports "
        "waiting for their review. Safe to run daily (cron): nobody gets the same reminder "
        "twice in one day. People who are inactive or have no e-mail address are skipped "
        "and counted."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="List the reminders that would be sent; send and record nothing.",
        )

    def handle_audited(self, *args, **options):
        dry_run = options["dry_run"]
        plan = live_plan()
        if plan is None:
            self.stdout.write("There is no live plan, so there is nothing to remind anyone of.")
            return
        smtp = settings.EMAIL_BACKEND == "django.core.mail.backends.smtp.EmailBackend"
        if smtp and not settings.EMAIL_HOST and not dry_run:
            raise CommandError(
                "E-mail is not set up: set EMAIL_HOST (with EMAIL_PORT, EMAIL_HOST_USER, "
                "EMAIL_HOST_PASSWORD, EMAIL_USE_TLS and DEFAULT_FROM_EMAIL). Nothing was sent."
            )
        today = timezone.localdate()
        sent_today = set(Reminder.objects.filter(sent_on=today).values_list("user_id", "kind"))
        counts, skipped = Counter(), {"inactive": set(), "without an e-mail address": set()}
        failures = []
        connection = None if dry_run else mail.get_connection()
        for due in selectors.reminders_due(plan, today):
            user = due.user
            if not user.is_active:
                skipped["inactive"].add(user.pk)
                continue
            if not user.email:
                skipped["without an e-mail address"].add(user.pk)
                continue
            if (user.pk, due.kind) in sent_today:
                counts["already"] += 1
                continue
            message = compose(due, plan, today)
            if dry_run:
                self.stdout.write(f"Would send to {user.get_username()} <{user.email}>:")
                self.stdout.write(f"  {message.subject}")
                for line in message.about.splitlines():
                    self.stdout.write(f"    {line}")
                counts[due.kind] += 1
                continue
            try:
                reminder = services.reminder_send(
                    user=user,
                    kind=due.kind,
                    subject=message.subject,
                    body=message.body,
                    about=message.about,
                    today=today,
                    connection=connection,
                )
            except OSError as error:  # the mail server refused or could not be reached
                failures.append(f"{user.get_username()}: {error}")
                continue
            counts[due.kind if reminder else "already"] += 1
        self.report(counts, skipped, dry_run)
        if failures:
            raise CommandError(
                f"{_plural(len(failures), 'reminder')} could not be sent (they will be tried "
                "again on the next run):\n  " + "\n  ".join(failures)
            )

    def report(self, counts, skipped, dry_run):
        total = counts[Reminder.Kind.UPDATES] + counts[Reminder.Kind.REVIEWS]
        verb = "Would send" if dry_run else "Sent"
        self.stdout.write(
            f"{verb} {_plural(total, 'reminder')}: "
            f"{counts[Reminder.Kind.UPDATES]} of actions waiting for this month's update, "
            f"{counts[Reminder.Kind.REVIEWS]} of reports waiting for review."
        )
        self.stdout.write(f"Already sent today, not sent again: {counts['already']}.")
        self.stdout.write(
            "Skipped: "
            + ", ".join(
                f"{len(ids)} {'person' if len(ids) == 1 else 'people'} {why}"
                for why, ids in skipped.items()
            )
            + "."
        )
        if dry_run:
            self.stdout.write("Dry run: nothing was sent or recorded.")
