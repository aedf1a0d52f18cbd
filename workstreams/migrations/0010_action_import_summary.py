"""What the import's preview page shows, kept in its own small field (``ActionImport.summary``)
so the page reads neither the sheet's rows nor the whole preview. Empty in the database by
default, so a server still running the code before it can keep uploads while this is
deployed; the page makes the summary of an upload without one from its preview."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("workstreams", "0009_change_count_sequence"),
    ]

    operations = [
        migrations.AddField(
            model_name="actionimport",
            name="summary",
            field=models.JSONField(db_default={}, default=dict),
        ),
    ]
