# A meeting reviews a month's reports: its period is required. Meetings already recorded
# review the month they were held in.

from django.db import migrations, models

import workstreams.models


def period_from_date(apps, schema_editor):
    for name in ("Meeting", "HistoricalMeeting"):
        for row in apps.get_model("governance", name).objects.filter(period__isnull=True):
            row.period = row.date.replace(day=1)
            row.save(update_fields=["period"])


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0003_reports_workflow_meetings_decisions_reminders"),
    ]

    operations = [
        migrations.RunPython(period_from_date, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="meeting",
            name="period",
            field=models.DateField(
                help_text="The month whose reports and exceptions it reviews (its first day).",
                validators=[workstreams.models.validate_month_start],
            ),
        ),
        migrations.AlterField(
            model_name="historicalmeeting",
            name="period",
            field=models.DateField(
                help_text="The month whose reports and exceptions it reviews (its first day).",
                validators=[workstreams.models.validate_month_start],
            ),
        ),
    ]
