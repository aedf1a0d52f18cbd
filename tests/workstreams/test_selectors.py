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


@pytest.mark.parametrize(
    "order",
    [
        ("reference",),
        ("rag_rank", "reference"),
        ("-current_due", "reference"),
        ("priority__number", "reference"),
    ],
)
def test_pages_read_ids_first_hold_the_rows_a_plain_slice_holds(plan, order):
    """``IdsFirstPaginator`` pages: every row once, in the list's order, whole (annotated
    and joined as the list asks), in the same number of pages as Django's own paginator."""
    rows = selectors.action_rows(plan.actions.all()).order_by(*order)
    expected = list(rows)
    pages = selectors.IdsFirstPaginator(rows, 5)
    seen = []
    for number in pages.page_range:
        with CaptureQueriesContext(connection) as queries:
            page = pages.page(number)
            shown = [(row.reference, row.rag_code, row.workstream.code) for row in page]
        assert len(queries) == 2  # the ids, then the rows with their joins
        seen += shown
    assert seen == [(row.reference, row.rag_code, row.workstream.code) for row in expected]
    assert len(seen) == len(expected) > 5


def test_pages_read_ids_first_of_history_rows(plan):
    as_at = selectors.AsAt(today=datetime.date(2019, 1, 15), as_of=datetime.date(2018, 12, 31))
    rows = as_at.rows(plan).order_by("reference")
    pages = selectors.IdsFirstPaginator(rows, 10)
    seen = [row.history_id for number in pages.page_range for row in pages.page(number)]
    assert seen == list(rows.values_list("history_id", flat=True))
    assert seen
