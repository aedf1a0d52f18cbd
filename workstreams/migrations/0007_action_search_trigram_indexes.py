"""Trigram indexes for the action list's search, on PostgreSQL.

The search (``ActionFilter.filter_text``) asks ``icontains`` of the reference, title,
description and progress narrative: ``UPPER(col::text) LIKE UPPER('%word%')``, which no
b-tree index can answer, so every search read the whole plan (29 ms for the count alone at
20,000 actions). A GIN index of trigrams on exactly those expressions answers it, word by word,
from the index. pg_trgm ships with PostgreSQL and is a trusted extension: the database's owner
may create it.

SQLite has no such index and is left as it is; the indexes are created in SQL and left out
of the model state, as they exist on one database only.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

SEARCHED = ["reference", "title", "description", "progress_narrative"]


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in SEARCHED:
        schema_editor.execute(
            f"CREATE INDEX action_{column}_trgm_idx ON workstreams_action "
            f"USING gin (UPPER({column}::text) gin_trgm_ops)"
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in SEARCHED:
        schema_editor.execute(f"DROP INDEX IF EXISTS action_{column}_trgm_idx")


class Migration(migrations.Migration):
    dependencies = [("workstreams", "0006_action_update_latest_period_index")]

    operations = [
        TrigramExtension(),
        migrations.RunPython(create_indexes, drop_indexes),
    ]
