"""Each action keeps the month of its latest update (decision 0016), read from the updates
already recorded: on the action, the latest period of all its updates; on each history row,
of those recorded before the action's next history row (an update and the action's save
are one transaction, the action saved first: a row carries the update saved with it)."""

import datetime

from django.db import migrations, models
from django.db.models import Max, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

NEVER = datetime.datetime(9999, 12, 31, tzinfo=datetime.UTC)


def keep_update_months(apps, schema_editor):
    ActionUpdate = apps.get_model("workstreams", "ActionUpdate")
    Action = apps.get_model("workstreams", "Action")
    HistoricalAction = apps.get_model("workstreams", "HistoricalAction")

    def latest(updates):
        return Subquery(
            updates.order_by().values("action").annotate(latest=Max("period")).values("latest")
        )

    Action.objects.update(
        last_update_period=latest(ActionUpdate.objects.filter(action=OuterRef("pk")))
    )
    next_row = (
        HistoricalAction.objects.filter(
            id=OuterRef(OuterRef("id")), history_date__gt=OuterRef(OuterRef("history_date"))
        )
        .order_by("history_date")
        .values("history_date")[:1]
    )
    updated = HistoricalAction.objects.filter(id__in=ActionUpdate.objects.values("action"))
    updated.update(
        last_update_period=latest(
            ActionUpdate.objects.filter(
                action=OuterRef("id"),
                created_at__lt=Coalesce(Subquery(next_row), Value(NEVER)),
            )
        )
    )


class Migration(migrations.Migration):
    dependencies = [
        ("workstreams", "0013_action_update_month_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="action",
            name="last_update_period",
            field=models.DateField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="historicalaction",
            name="last_update_period",
            field=models.DateField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(keep_update_months, migrations.RunPython.noop, elidable=True),
    ]
