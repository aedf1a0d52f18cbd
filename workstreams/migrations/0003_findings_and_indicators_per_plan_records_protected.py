"""Issue 6: the admin cannot go round the rules, the version check or the record.

- Findings and indicators belong to a plan (added in steps: nullable, filled, required), so
  their reference or code is unique per plan, not across all plans: next year's plan can
  number its findings F-01 again (docs/decisions/0004).
- Append-only records (action updates, due-date changes) are protected: deleting an action
  with a record is refused.
- The author of every history row is protected: a person named in the history cannot be
  deleted, only deactivated (docs/decisions/0006).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def give_findings_and_indicators_their_plan(apps, schema_editor):
    """An indicator's plan is its workstream's. A finding's is the plan of the actions that
    answer it; a finding answered in several plans is copied into each (its actions move to
    their plan's copy); one answered by none goes to the live (else the latest) plan."""
    Plan = apps.get_model("workstreams", "Plan")
    Finding = apps.get_model("workstreams", "Finding")
    Indicator = apps.get_model("workstreams", "Indicator")
    Action = apps.get_model("workstreams", "Action")
    HistoricalFinding = apps.get_model("workstreams", "HistoricalFinding")
    HistoricalIndicator = apps.get_model("workstreams", "HistoricalIndicator")
    links = Action.findings.through

    for indicator in Indicator.objects.select_related("workstream"):
        indicator.plan_id = indicator.workstream.plan_id
        indicator.save(update_fields=["plan"])
        HistoricalIndicator.objects.filter(id=indicator.pk).update(plan_id=indicator.plan_id)

    fallback = (
        Plan.objects.filter(status="live").first() or Plan.objects.order_by("-period_start").first()
    )
    for finding in Finding.objects.all():
        plan_ids = sorted(
            set(links.objects.filter(finding=finding).values_list("action__plan_id", flat=True))
        )
        if not plan_ids:
            if fallback is None:
                raise RuntimeError(f"Finding {finding.reference} has no plan to belong to.")
            plan_ids = [fallback.pk]
        finding.plan_id = plan_ids[0]
        finding.save(update_fields=["plan"])
        HistoricalFinding.objects.filter(id=finding.pk).update(plan_id=finding.plan_id)
        for plan_id in plan_ids[1:]:
            original_pk = finding.pk
            copy = Finding.objects.get(pk=original_pk)
            copy.pk, copy.plan_id = None, plan_id
            copy.save()
            links.objects.filter(finding_id=original_pk, action__plan_id=plan_id).update(
                finding_id=copy.pk
            )
    if schema_editor.connection.vendor == "postgresql":
        # The rows just written leave deferred foreign-key checks pending; run them now, or
        # PostgreSQL refuses the ALTER TABLEs that follow in this migration.
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


class Migration(migrations.Migration):
    dependencies = [
        ("workstreams", "0002_action_version_evidence_acceptance_due_date_changes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="finding",
            name="plan",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="findings",
                to="workstreams.plan",
            ),
        ),
        migrations.AddField(
            model_name="historicalfinding",
            name="plan",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="workstreams.plan",
            ),
        ),
        migrations.AddField(
            model_name="historicalindicator",
            name="plan",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="workstreams.plan",
            ),
        ),
        migrations.AddField(
            model_name="indicator",
            name="plan",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="indicators",
                to="workstreams.plan",
            ),
        ),
        migrations.AlterField(
            model_name="finding",
            name="reference",
            field=models.CharField(max_length=30),
        ),
        migrations.AlterField(
            model_name="historicalfinding",
            name="reference",
            field=models.CharField(max_length=30),
        ),
        migrations.AlterField(
            model_name="historicalindicator",
            name="code",
            field=models.CharField(max_length=30),
        ),
        migrations.AlterField(
            model_name="indicator",
            name="code",
            field=models.CharField(max_length=30),
        ),
        migrations.RunPython(give_findings_and_indicators_their_plan, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="finding",
            name="plan",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="findings",
                to="workstreams.plan",
            ),
        ),
        migrations.AlterField(
            model_name="indicator",
            name="plan",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="indicators",
                to="workstreams.plan",
            ),
        ),
        migrations.AddConstraint(
            model_name="finding",
            constraint=models.UniqueConstraint(
                fields=("plan", "reference"), name="finding_reference_unique"
            ),
        ),
        migrations.AddConstraint(
            model_name="indicator",
            constraint=models.UniqueConstraint(
                fields=("plan", "code"), name="indicator_code_unique"
            ),
        ),
        migrations.AlterField(
            model_name="actionupdate",
            name="action",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="updates",
                to="workstreams.action",
            ),
        ),
        migrations.AlterField(
            model_name="duedatechange",
            name="action",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="due_date_changes",
                to="workstreams.action",
            ),
        ),
        migrations.AlterField(
            model_name="historicalaction",
            name="history_user",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="historicalactionupdate",
            name="history_user",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="historicalduedatechange",
            name="history_user",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="historicalfinding",
            name="history_user",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="historicalindicator",
            name="history_user",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="historicalindicatorvalue",
            name="history_user",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="historicalplan",
            name="history_user",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="historicalpriority",
            name="history_user",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="historicalservicearea",
            name="history_user",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="historicalworkforcesnapshot",
            name="history_user",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="historicalworkstream",
            name="history_user",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
    ]
