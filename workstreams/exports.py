"""The action tracker as files: the action list, as filtered, for Excel (.xlsx) and as CSV.

The rows and their cells come from ``resources.ActionTrackerResource``, the same resource the
admin's export offers, so the two agree cell for cell; this module only writes them out: the
workbook with ``spreadsheets.Book`` (a title row saying what was filtered and when, frozen
headers, an autofilter, real dates, BRAG cells coloured and in words), the CSV as UTF-8 with
a byte order mark, which Excel needs to read it as UTF-8.
"""

import datetime

from django.db.models import QuerySet

from .audit import display_name
from .resources import ActionTrackerResource
from .selectors import AsAt, with_last_update
from .spreadsheets import Book, Column

CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
ROWS_AT_A_TIME = 2000  # read from the database in chunks, never all at once


def tracker_rows(actions: QuerySet, as_at: AsAt) -> QuerySet:
    """The action list's rows (``action_rows``, filtered and sorted), with the last update's
    words the tracker shows, in the state ``as_at`` asks for."""
    return with_last_update(actions, recorded_before=as_at.recorded_before)


def tracker_columns(resource: ActionTrackerResource) -> list[Column]:
    return [
        Column(field.column_name, resource.KINDS.get(resource.get_field_name(field), "text"))
        for field in resource.get_export_fields()
    ]


def tracker_cells(resource: ActionTrackerResource, rows: QuerySet):
    """Each action's cells, read a chunk at a time, for ``spreadsheets.Book`` (which makes
    their text safe)."""
    for action in rows.iterator(chunk_size=ROWS_AT_A_TIME):
        yield resource.export_values(action)


def tracker_title(described: list[str], as_at: AsAt, *, by, at: datetime.datetime) -> str:
    """What the file holds and when it was made, e.g. "Actions: status Off track, workstream
    MP; judged on 30 November 2018; exported 10 January 2019 10:00 by Jo Bloggs"."""
    what = ", ".join(described) if described else "all"
    if as_at.recorded_before is not None:
        state = f"as the plan stood at the end of {as_at.day:%-d %B %Y}"
    else:
        state = f"judged on {as_at.day:%-d %B %Y}"
    return f"Actions: {what}; {state}; exported {at:%-d %B %Y %H:%M} by {display_name(by)}"


def tracker_xlsx(rows: QuerySet, title: str) -> bytes:
    """The tracker workbook: one sheet, "Actions", with ``title`` above the table."""
    resource = ActionTrackerResource()
    rows = resource.filter_export(rows)
    with Book() as book:
        book.table(
            ActionTrackerResource.SHEET_TITLE,
            title,
            tracker_columns(resource),
            tracker_cells(resource, rows),
        )
        return book.save()


def tracker_csv(rows: QuerySet) -> bytes:
    """The same columns and rows as CSV, formulas escaped, in UTF-8 with a byte order mark."""
    resource = ActionTrackerResource()
    dataset = resource.export(rows)
    return dataset.export("csv").encode("utf-8-sig")


def filename(stem: str, day: datetime.date, extension: str) -> str:
    return f"grip-{stem}-{day.isoformat()}.{extension}"
