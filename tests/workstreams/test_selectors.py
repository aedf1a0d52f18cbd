"""The selectors' own lookups: a list of values sent to the database as one parameter."""

import datetime
import importlib
import re

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from workstreams import selectors
from workstreams.models import Action, Finding

pytestmark = pytest.mark.django_db

# Text that PostgreSQL's array literal would split or unquote were it written as it is.
AWKWARD = ["F-01", "a,b", 'say "yes"', "back\\slash", "{braced}", " spaced ", "NULL", ""]


def test_any_of_a_list_of_text_finds_exactly_those_rows(plan):
    for n, text in enumerate(AWKWARD):
        Finding.objects.create(
            plan=plan,
            reference=f"Z-{n}",
            source="A test",
            date=datetime.date(2018, 11, 1),
            text=text,
        )
    asked = [*AWKWARD[1:], "not there"]
    found = Finding.objects.filter(
        selectors.EqualsAnyOf(F("text"), asked), reference__startswith="Z-"
    )
    assert sorted(finding.text for finding in found) == sorted(AWKWARD[1:])
    assert not Finding.objects.filter(selectors.EqualsAnyOf(F("text"), []))


def test_history_rows_by_id_are_those_asked_for(plan):
    action = plan.actions.order_by("reference").first()
    asked = list(action.history.values_list("history_id", flat=True))[:2]
    found = selectors.history_rows([*asked, max(asked) + 10**6])
    assert sorted(found.values_list("history_id", flat=True)) == sorted(asked)
    assert all(row.id == action.pk for row in found)
    assert isinstance(found.first(), Action.history.model)


def test_the_brag_counts_read_only_what_their_index_holds(plan):
    """My work's and the dashboard's counts by BRAG are read from one index alone on
    PostgreSQL (migration 0015): a column the rule comes to read must be added to it, or
    every count reads the whole table again."""
    migration = importlib.import_module("workstreams.migrations.0015_action_brag_counts_index")
    indexed = {"plan_id", "workstream_id", *migration.JUDGED_FROM.split(", ")}
    with CaptureQueriesContext(connection) as queries:
        selectors.rag_table(plan, datetime.date(2019, 1, 10))
        selectors.delivery_table(plan, selectors.AsAt(today=datetime.date(2019, 1, 10)))
    read = set()
    for query in queries.captured_queries:
        if 'FROM "workstreams_action"' in query["sql"]:
            read |= set(re.findall(r'"workstreams_action"\."(\w+)"', query["sql"]))
    assert read and read <= indexed, read - indexed
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'action_brag_counts_idx'"
            )
            (definition,) = cursor.fetchone()
        assert f"INCLUDE ({migration.JUDGED_FROM})" in definition
