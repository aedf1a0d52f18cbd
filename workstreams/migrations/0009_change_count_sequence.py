"""On PostgreSQL the count of committed changes is a sequence (workstreams/derived.py): moving
it after each write takes no lock and needs no wait for the disk. SQLite keeps the row of
``ChangeCount``. The sequence is made here in SQL, as it exists on one database only."""

from django.db import migrations

SEQUENCE = "workstreams_change_count_seq"


def create_sequence(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"CREATE SEQUENCE IF NOT EXISTS {SEQUENCE}")


def drop_sequence(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP SEQUENCE IF EXISTS {SEQUENCE}")


class Migration(migrations.Migration):
    dependencies = [("workstreams", "0008_change_count")]

    operations = [migrations.RunPython(create_sequence, drop_sequence)]
