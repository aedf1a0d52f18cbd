"""A narrow copy of what BRAG is judged from, for the counts, on PostgreSQL.

My work's plan table and the dashboard's delivery table count a plan's actions by
workstream and BRAG (``rag_table``, ``delivery_table``): every action, again after any
change. Read from the table, each row is a page of narratives to step over (1,173 pages at
20,000 actions, 23 to 27 ms); from this index PostgreSQL reads the columns the rule needs,
from the index alone (16 to 20 ms on grip_prof; docs/scaling.md).

PostgreSQL only (SQLite has no INCLUDE), so written in SQL and left out of the model state
as 0007's indexes are.
"""

from django.db import migrations

JUDGED_FROM = "id, status, due_date, revised_due_date, evidence_accepted_at, slip_count"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "CREATE INDEX action_brag_counts_idx ON workstreams_action "
        f"(plan_id, workstream_id) INCLUDE ({JUDGED_FROM})"
    )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS action_brag_counts_idx")


class Migration(migrations.Migration):
    dependencies = [("workstreams", "0014_action_last_update_period")]

    operations = [migrations.RunPython(create_index, drop_index)]
