"""Each action's slips kept on the action (decision 0015), counted from the due-date
changes already decided: on the action, all its approved later moves; on each of its history
rows, those decided by the time the row was recorded (a move and the action's save are one
transaction, the decision stamped first)."""

from django.db import migrations, models
from django.db.models import Count, F, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce


def count_slips(apps, schema_editor):
    DueDateChange = apps.get_model("workstreams", "DueDateChange")
    Action = apps.get_model("workstreams", "Action")
    HistoricalAction = apps.get_model("workstreams", "HistoricalAction")
    slips = DueDateChange.objects.filter(decision="approved", to_date__gt=F("from_date"))

    def counted(moves):
        return Coalesce(
            Subquery(moves.order_by().values("action").annotate(n=Count("pk")).values("n")),
            Value(0),
        )

    Action.objects.update(slip_count=counted(slips.filter(action=OuterRef("pk"))))
    slipped = HistoricalAction.objects.filter(id__in=slips.values("action"))
    slipped.update(
        slip_count=counted(
            slips.filter(action=OuterRef("id"), decided_at__lte=OuterRef("history_date"))
        )
    )


class Migration(migrations.Migration):
    dependencies = [
        ("workstreams", "0011_past_change_count_sequence"),
    ]

    operations = [
        migrations.AddField(
            model_name="action",
            name="slip_count",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name="historicalaction",
            name="slip_count",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.RunPython(count_slips, migrations.RunPython.noop, elidable=True),
    ]
