"""My work ranks the actions needing attention in one query and reads the rows it shows in a
second: an update saved by someone else between the two must not break the page. The load
test (benchmarks/load.py) found it: a 500, "'' is not a valid Attention", when a lead's update
took the action off the "no update this month" list in between."""

import pytest

from governance import selectors
from workstreams import services
from workstreams.models import Action, Attention

pytestmark = pytest.mark.django_db


def test_an_update_saved_between_my_works_two_queries_leaves_the_page_whole(
    monkeypatch, plan, lead_mp
):
    read_rows = selectors.delivery.action_rows
    saved = []

    def rows_read_after_an_update_commits(actions, today):
        waiting = actions.with_rag(today).with_attention(today)
        action = waiting.filter(attention=Attention.NO_UPDATE).order_by("reference").first()
        action = Action.objects.get(pk=action.pk)
        services.action_update_record(
            action=action,
            by=lead_mp,
            based_on_version=action.version,
            status=action.status,
            progress_narrative="Saved while My work was being read.",
        )
        saved.append(action)
        return read_rows(actions, today)

    monkeypatch.setattr(selectors.delivery, "action_rows", rows_read_after_an_update_commits)
    work = selectors.my_work(lead_mp, plan)

    assert saved, "the update was saved between the two queries"
    # Listed where it was counted: the counts and the rows come from the same moment.
    listed = [action.pk for action in work.needs_update.rows]
    assert saved[0].pk in listed
    assert len(work.needs_update.rows) == min(selectors.MY_WORK_ROWS, work.needs_update.total)
