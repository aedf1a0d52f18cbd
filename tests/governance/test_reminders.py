"""``manage.py send_reminders``: each lead officer is e-mailed the actions they lead with no
update yet this month, each reviewer the reports waiting for them, never the same reminder
twice in one day. Mail goes to Django's locmem backend (pytest-django's ``mailoutbox``); the
suite's clock is pinned to 10 January 2019, and the demo cycle (load_demo) has November's
Workforce report waiting for the board chair's sign-off and Partnerships' for its task group
chair's endorsement."""

import datetime
import io
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.core.management import call_command
from django.core.management.base import CommandError

from governance import services
from governance.models import ProgressReport, Reminder
from tests.helpers import record
from workstreams.models import OPEN_STATUSES, Action

pytestmark = pytest.mark.django_db

NOVEMBER = datetime.date(2018, 11, 1)
NEXT_DAY = datetime.datetime(2019, 1, 11, 7, 0, tzinfo=ZoneInfo("Europe/London"))


def send(*args) -> str:
    out = io.StringIO()
    call_command("send_reminders", *args, stdout=out)
    return out.getvalue()


def user(username):
    return get_user_model().objects.get(username=username)


def mail_to(outbox, username):
    return [message for message in outbox if message.to == [user(username).email]]


def open_actions_led_by(username):
    actions = Action.objects.filter(lead_officer__username=username, status__in=OPEN_STATUSES)
    return set(actions.values_list("reference", flat=True))


def report(code):
    return ProgressReport.objects.get(workstream__code=code, period=NOVEMBER)


def test_leads_and_reviewers_get_what_waits_for_them(mailoutbox):
    output = send()

    # Nobody in the demo has updated an action this month: every lead officer with open
    # actions is reminded of exactly those they lead (the chairs lead a few too).
    leads = {"lead.mp", "lead.wf", "lead.pa", "lead.pl", "sro.mp", "sro.wf", "sro.pa", "sro.pl"}
    for username in leads:
        (message,) = [m for m in mail_to(mailoutbox, username) if "update" in m.subject]
        listed = {line.split(":")[0] for line in message.body.splitlines() if line.startswith("- ")}
        assert listed == {f"- {ref}" for ref in open_actions_led_by(username)}, username
        for reference in open_actions_led_by(username):
            assert f"http://127.0.0.1:8000/actions/{reference}/update/" in message.body
        assert message.subject.endswith("waiting for your January 2019 update")

    # Reviewers: the board chair signs off Workforce, Partnerships' chair endorses it.
    (chair,) = mail_to(mailoutbox, "exec.director")
    assert chair.subject == "Grip: 1 report waiting for your review"
    assert "Workforce report, November 2018: waiting for your sign-off" in chair.body
    assert f"http://127.0.0.1:8000/reports/{report('WF').pk}/" in chair.body
    (pa_review,) = [m for m in mail_to(mailoutbox, "sro.pa") if "review" in m.subject]
    assert "Partnerships report, November 2018: waiting for your endorsement" in pa_review.body
    assert f"/reports/{report('PA').pk}/" in pa_review.body

    # Nothing waits for the others: no mail. Management & Practice is signed off and the
    # Platforms draft is back with its lead (a draft is not a review).
    for username in ("viewer", "board.member", "office", "admin"):
        assert mail_to(mailoutbox, username) == []
    assert not [m for m in mail_to(mailoutbox, "sro.mp") if "review" in m.subject]
    assert not [m for m in mail_to(mailoutbox, "sro.pl") if "review" in m.subject]

    assert len(mailoutbox) == len(leads) + 2
    recorded = set(Reminder.objects.values_list("user__username", "kind", "sent_on"))
    today = datetime.date(2019, 1, 10)
    assert recorded == {(u, "updates", today) for u in leads} | {
        ("exec.director", "reviews", today),
        ("sro.pa", "reviews", today),
    }
    assert "Sent 10 reminders: 8 of actions waiting for this month's update, 2 of reports" in output


def test_nothing_twice_in_one_day_and_again_the_next_day(mailoutbox, pinned_clock):
    send()
    first = len(mailoutbox)
    assert first == 10
    output = send()
    assert len(mailoutbox) == first  # the same day: nothing again
    assert "Sent 0 reminders" in output and "Already sent today, not sent again: 10." in output
    assert Reminder.objects.count() == first

    pinned_clock.move_to(NEXT_DAY)
    send()
    assert len(mailoutbox) == 2 * first
    assert Reminder.objects.filter(sent_on=NEXT_DAY.date()).count() == first


def test_an_action_updated_this_month_is_not_reminded(mailoutbox):
    lead = user("lead.pa")
    for action in Action.objects.filter(lead_officer=lead, status__in=OPEN_STATUSES):
        record(action, lead)
    send()
    assert mail_to(mailoutbox, "lead.pa") == []
    assert not Reminder.objects.filter(user=lead).exists()


def test_a_reviewer_is_reminded_as_the_report_moves(mailoutbox, pinned_clock):
    send()
    services.report_endorse(report=report("PA"), by=user("sro.pa"))
    pinned_clock.move_to(NEXT_DAY)
    mailoutbox.clear()
    send()
    (chair,) = mail_to(mailoutbox, "exec.director")
    assert chair.subject == "Grip: 2 reports waiting for your review"
    assert "Partnerships report, November 2018: waiting for your sign-off" in chair.body
    assert not [m for m in mail_to(mailoutbox, "sro.pa") if "review" in m.subject]


def test_inactive_people_and_people_without_an_address_are_skipped_and_counted(mailoutbox):
    left = user("lead.wf")
    left.is_active = False
    left.save()
    no_address = user("lead.pa")
    no_address.email = ""
    no_address.save()
    output = send()
    assert mail_to(mailoutbox, "lead.wf") == []
    assert not [m for m in mailoutbox if m.to == [""]]
    assert not Reminder.objects.filter(user__in=[left, no_address]).exists()
    assert "Skipped: 1 person inactive, 1 person without an e-mail address." in output
    assert len(mailoutbox) == 8


def test_a_dry_run_lists_what_would_be_sent_and_sends_nothing(mailoutbox):
    output = send("--dry-run")
    assert mailoutbox == [] and not Reminder.objects.exists()
    assert "Would send to exec.director <exec.director@grip.example>:" in output
    assert "Workforce report, November 2018: waiting for your sign-off" in output
    assert "Would send 10 reminders" in output and "Dry run: nothing was sent" in output


class RefusingBackend(BaseEmailBackend):
    """A mail server that refuses everything, as an unreachable SMTP server does."""

    def send_messages(self, email_messages):
        raise ConnectionRefusedError("Connection refused")


def test_a_refused_message_leaves_no_record_so_the_next_run_sends_it(settings, mailoutbox):
    settings.EMAIL_BACKEND = "tests.governance.test_reminders.RefusingBackend"
    with pytest.raises(CommandError, match="10 reminders could not be sent"):
        send()
    assert not Reminder.objects.exists()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    send()
    assert len(mail.outbox) == 10 and Reminder.objects.count() == 10


def test_without_a_mail_server_it_refuses_and_records_nothing(settings, mailoutbox):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = ""
    with pytest.raises(CommandError, match="EMAIL_HOST"):
        send()
    assert not Reminder.objects.exists()


def mail_settings(**env) -> list[str]:
    """The e-mail backend and site address Grip starts with in ``env`` (a fresh process)."""
    import os
    import subprocess
    import sys

    from django.conf import settings

    left_out = {"SECRET_KEY", "DEBUG", "EMAIL_HOST", "EMAIL_BACKEND", "GRIP_SITE_URL"}
    environment = {k: v for k, v in os.environ.items() if k not in left_out}
    environment.update({"GRIP_ENV_FILE": "", "SECRET_KEY": "x" * 50, **env})
    show = "from django.conf import settings; print(settings.EMAIL_BACKEND, settings.GRIP_SITE_URL)"
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", show],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_development_prints_mail_and_production_sends_it_by_smtp():
    console, smtp = (
        "django.core.mail.backends.console.EmailBackend",
        "django.core.mail.backends.smtp.EmailBackend",
    )
    assert mail_settings(DEBUG="1") == [console, "http://127.0.0.1:8000"]
    assert mail_settings(DEBUG="1", EMAIL_HOST="smtp.council.example")[0] == smtp
    assert mail_settings(
        DEBUG="0", EMAIL_HOST="smtp.council.example", ALLOWED_HOSTS="grip.council.example"
    ) == [smtp, "https://grip.council.example"]
    assert mail_settings(DEBUG="0", GRIP_SITE_URL="https://grip.council.example/")[1] == (
        "https://grip.council.example"
    )
