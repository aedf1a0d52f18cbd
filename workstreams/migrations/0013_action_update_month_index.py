"""The month index of action updates carries the action: "updated this month" is then read
from the index alone (docs/scaling.md)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("workstreams", "0012_action_slip_count"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="actionupdate",
            name="action_update_latest_idx",
        ),
        migrations.AddIndex(
            model_name="actionupdate",
            index=models.Index(fields=["-period", "action"], name="action_update_month_idx"),
        ),
    ]
