"""The count of transactions that wrote history dated in the past (workstreams/derived.py,
``PAST_CHANGES``): a sequence on PostgreSQL, as the count of all changes is (migration 0009);
SQLite keeps a second row of ``ChangeCount``."""

from django.db import migrations

SEQUENCE = "workstreams_past_change_count_seq"


def create_sequence(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"CREATE SEQUENCE IF NOT EXISTS {SEQUENCE}")


def drop_sequence(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP SEQUENCE IF EXISTS {SEQUENCE}")


class Migration(migrations.Migration):
    dependencies = [("workstreams", "0010_action_import_summary")]

    operations = [migrations.RunPython(create_sequence, drop_sequence)]
