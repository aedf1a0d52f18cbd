"""The selectors' own lookups: a list of values sent to the database as one parameter."""

import datetime

import pytest
from django.db.models import F

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
