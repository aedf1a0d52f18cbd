"""The programme board's pack (``/exports/board-pack.xlsx?period=YYYY-MM[&as_of=]``): one
workbook of the dashboard's month, in the state the dashboard shows it.

Every figure is read from ``dashboard.dashboard(plan, as_at)``, the object the dashboard page
renders, never counted again here, so the pack and the page cannot disagree (a test holds
them together cell by cell). The rest is read in that same state (``AsAt``): each
workstream's actions as the tracker export writes them (``ActionTrackerResource``), the
month's four-question reports (a signed-off report from its sealed snapshot), the risks.

Sheets: Summary (delivery by workstream, what changed since the last board, indicators, the
permanent share, assurance), one per workstream (its actions), Reports, Indicators (values by
month and targets), Workforce (the managers table), Risks (the open risks).
"""

import datetime
from collections.abc import Iterator

from django.utils import timezone

from workstreams.audit import display_name
from workstreams.exports import tracker_columns, tracker_rows
from workstreams.models import Rag
from workstreams.resources import ActionTrackerResource
from workstreams.spreadsheets import BRAG, DATE, LONG_TEXT, NUMBER, Block, Book, Column
from workstreams.templatetags.grip import rag_words

from . import selectors
from .dashboard import Dashboard, report_items
from .models import ProgressReport

SUMMARY, REPORTS, INDICATORS, WORKFORCE, RISKS = (
    "Summary",
    "Reports",
    "Indicators",
    "Workforce",
    "Risks",
)
NOT_STARTED = "Not started"
PERMANENT_MANAGERS = "Permanent (salaried) managers"
QUESTIONS = (
    ("working_well", "What's working well?"),
    ("how_we_know", "How do we know?"),
    ("worried_about", "What are we worried about?"),
)
NEEDS_TO_HAPPEN = "What needs to happen, and by when?"


def board_pack(board: Dashboard, *, by, at: datetime.datetime) -> bytes:
    """The pack of ``board``'s month as an .xlsx file, exported by ``by`` at ``at``."""
    with Book() as book:
        summary(book, board, by=by, at=at)
        workstream_sheets(book, board)
        reports(book, board)
        indicators(book, board)
        workforce(book, board)
        risks(book, board)
        return book.save()


def filename(board: Dashboard) -> str:
    name = f"grip-board-pack-{board.period:%Y-%m}"
    if board.as_at.as_of:
        name += f"-as-of-{board.as_at.as_of.isoformat()}"
    return f"{name}.xlsx"


def judged(board: Dashboard) -> str:
    """Which state of the plan the pack shows, as the dashboard says it."""
    day = f"{board.judged_on:%-d %B %Y}"
    if board.from_history:
        return (
            f"The plan as it stood at the end of {day}, rebuilt from the audit history; "
            "status and overdue are judged on that day."
        )
    when = " (today)" if board.judged_on == board.as_at.today else ", the end of the month"
    return f"Status and overdue are judged on {day}{when}, on the plan as it is now."


def _day(day: datetime.date | None) -> str:
    return f"{day:%-d %B %Y}" if day else ""


# --- Summary ---------------------------------------------------------------------------------


def delivery_columns(board: Dashboard) -> list[Column]:
    return [
        Column("Workstream"),
        *(Column(rag.label, NUMBER) for rag in Rag),
        Column("All actions", NUMBER),
        Column("Overdue", NUMBER),
        Column(f"Due in {board.next_period:%B %Y}", NUMBER),
        Column("Slipped", NUMBER),
        Column("Moves of due dates", NUMBER),
    ]


def delivery_cells(name: str, row) -> list:
    return [
        name,
        *(cell.count for cell in row.rag.counts),
        row.rag.total,
        row.overdue.count,
        row.due_next.count,
        row.slipped.count,
        row.slips,
    ]


def changes_block(board: Dashboard) -> Block:
    since = board.baseline
    heading = (
        f"What changed since the board of {_day(since.day)}"
        if since.board_met
        else f"What changed since the end of {since.day:%B %Y}"
    )
    count = board.changed.count
    notes = [
        f"{count} action{'s' if count != 1 else ''} changed status or "
        f"{'were' if count != 1 else 'was'} added between {_day(since.day)} and "
        f"{_day(board.judged_on)}"
        + ("" if since.board_met else " (the programme board has no earlier meeting recorded)")
        + "."
    ]
    if board.changes_not_shown:
        notes.append(f"The {len(board.changes)} most pressing are listed.")
    rows = []
    for change in board.changes:
        if change.only_time_passed:
            who = f"Nobody: its due date ({change.action.current_due:%-d %b %Y}) passed"
            when = ""
        else:
            who = display_name(change.by) if change.by else "Nobody named"
            when = f"{timezone.localtime(change.at):%-d %b %Y, %H:%M}"
        rows.append(
            [
                change.action.reference,
                change.action.title,
                change.before.label if change.before else "Added since",
                rag_words(change.action),
                who,
                when,
            ]
        )
    columns = [
        Column("Reference"),
        Column("Title", LONG_TEXT),
        Column("Was", BRAG),
        Column("Now", BRAG),
        Column("Changed by"),
        Column("When"),
    ]
    return Block(heading, columns if rows else (), rows, notes)


def indicator_summary_block(board: Dashboard) -> Block:
    columns = [
        Column("Indicator", LONG_TEXT),
        Column("Code"),
        Column("Workstream"),
        Column("Unit"),
        Column("Latest", NUMBER),
        Column("Latest for", DATE),
        Column("Target", NUMBER),
        Column("Better"),
        Column("Status", BRAG),
        Column("Note"),
    ]
    rows = [
        [
            row.indicator.name,
            row.indicator.code,
            row.indicator.workstream.name,
            row.indicator.get_unit_display(),
            row.latest_value,
            row.latest_period,
            row.indicator.target,
            "Higher" if row.indicator.higher_is_better else "Lower",
            row.rag.label if row.rag else "No value",
            f"No value for {board.period:%B %Y}" if row.stale else "",
        ]
        for row in board.indicators
    ]
    if not rows:
        return Block("Indicators", notes=["The plan has no indicators yet."])
    return Block("Indicators", columns, rows)


def permanent_share_block(board: Dashboard) -> Block:
    staff = board.workforce
    if not staff.rows:
        return Block(
            PERMANENT_MANAGERS,
            notes=[f"No managers table has been recorded up to {_day(board.judged_on)}."],
        )
    return Block(
        PERMANENT_MANAGERS,
        [
            Column("On", DATE),
            Column("Managers", NUMBER),
            Column("Salaried", NUMBER),
            Column("Permanent (salaried) managers, %", NUMBER),
        ],
        [[staff.as_of, staff.total, staff.salaried, staff.permanent_share]],
    )


def assurance_block(board: Dashboard) -> Block:
    signed_off = sum(
        1
        for item in board.reports
        if item.report and item.report.status == ProgressReport.Status.SIGNED_OFF
    )
    return Block(
        "Assurance",
        [Column("What"), Column("Number", NUMBER)],
        [
            ["Inspection findings no live action answers", len(board.gaps)],
            ["Open risks escalated to the board", board.escalated_risks],
            [f"Reports for {board.period:%B %Y} signed off", signed_off],
            [f"Reports for {board.period:%B %Y} expected", len(board.reports)],
        ],
    )


def summary(book: Book, board: Dashboard, *, by, at: datetime.datetime) -> None:
    lines = [
        f"{board.plan.title}: programme board pack, {board.period:%B %Y}",
        judged(board),
        f"Exported {at:%-d %B %Y %H:%M} by {display_name(by)}.",
    ]
    blocks = [
        Block(
            "Delivery",
            delivery_columns(board),
            [delivery_cells(row.workstream.name, row) for row in board.delivery]
            + [delivery_cells("Programme", board.programme)],
        ),
        changes_block(board),
        indicator_summary_block(board),
        permanent_share_block(board),
        assurance_block(board),
    ]
    if board.gaps:
        blocks.append(
            Block(
                "Inspection findings no live action answers",
                [Column("Reference"), Column("Source"), Column("Finding", LONG_TEXT)],
                [[finding.reference, finding.source, finding.text] for finding in board.gaps],
            )
        )
    book.blocks(SUMMARY, lines, blocks)


# --- One sheet per workstream ------------------------------------------------------------


def workstream_sheets(book: Book, board: Dashboard) -> None:
    """Each workstream's actions, as the tracker writes them, in the pack's state. One query
    for all of them, read in workstream order, each sheet taking its workstream's run."""
    resource = ActionTrackerResource()
    columns = tracker_columns(resource)
    rows = resource.filter_export(
        tracker_rows(board.as_at.rows(board.plan), board.as_at)
        .filter(workstream__in=board.workstreams)
        .order_by("workstream__code", "reference")
    )
    actions = iter(rows.iterator(chunk_size=2000))
    pending = [next(actions, None)]

    def run_of(workstream) -> Iterator:
        while pending[0] is not None and pending[0]["workstream_id"] == workstream.pk:
            yield resource.export_values(pending[0])
            pending[0] = next(actions, None)

    for workstream in board.workstreams:
        book.table(
            f"{workstream.code} {workstream.name}",
            f"{workstream.code}: {workstream.name}: actions. {judged(board)}",
            columns,
            run_of(workstream),
        )


# --- Reports -------------------------------------------------------------------------------


def reports(book: Book, board: Dashboard) -> None:
    rows = []
    for item in board.reports:
        report = item.report
        if report is None:
            rows.append([item.subject, board.period, NOT_STARTED, "", "", "", "", ""])
            continue
        if report.status == ProgressReport.Status.SIGNED_OFF:
            # As the board signed it off: the sealed snapshot its checksum seals.
            answers, lines = report.sealed_answers, report.sealed_items
        else:
            answers = {name: getattr(report, name) for name, _question in QUESTIONS}
            lines = report_items(report)
        rows.append(
            [
                item.subject,
                report.period,
                report.get_status_display(),
                report.checksum,
                *(answers.get(name, "") for name, _question in QUESTIONS),
                "\n".join(selectors._item_line(line) for line in lines),
            ]
        )
    columns = [
        Column("Report"),
        Column("Month", DATE),
        Column("State"),
        Column("Checksum (signed off)"),
        *(Column(question, LONG_TEXT) for _name, question in QUESTIONS),
        Column(NEEDS_TO_HAPPEN, LONG_TEXT),
    ]
    title = (
        f"Four-question reports for {board.period:%B %Y}. A signed-off report is as the "
        f"board signed it off, sealed by its checksum. {judged(board)}"
    )
    book.table(REPORTS, title, columns, rows)


# --- Indicators, workforce, risks ------------------------------------------------------------


def indicators(book: Book, board: Dashboard) -> None:
    months = [month for month, _value in board.indicators[0].trend] if board.indicators else []
    columns = [
        Column("Code"),
        Column("Indicator", LONG_TEXT),
        Column("Workstream"),
        Column("Unit"),
        Column("Target", NUMBER),
        Column("Tolerance", NUMBER),
        Column("Better"),
        *(Column(f"{month:%b %Y}", NUMBER) for month in months),
        Column("Latest", NUMBER),
        Column("Status", BRAG),
    ]
    rows = [
        [
            row.indicator.code,
            row.indicator.name,
            row.indicator.workstream.name,
            row.indicator.get_unit_display(),
            row.indicator.target,
            row.indicator.tolerance,
            "Higher" if row.indicator.higher_is_better else "Lower",
            *(value for _month, value in row.trend),
            row.latest_value,
            row.rag.label if row.rag else "No value",
        ]
        for row in board.indicators
    ]
    title = f"Indicators: values by month up to {board.period:%B %Y}, and targets. {judged(board)}"
    book.table(INDICATORS, title, columns, rows)


def workforce(book: Book, board: Dashboard) -> None:
    staff = board.workforce
    lines = [f"Workforce: managers. {judged(board)}"]
    if not staff.rows:
        lines.append(f"No managers table has been recorded up to {_day(board.judged_on)}.")
        book.blocks(WORKFORCE, lines, [])
        return
    table = Block(
        f"Managers on {_day(staff.as_of)}",
        [
            Column("Service"),
            Column("Managers", NUMBER),
            Column("Locum", NUMBER),
            Column("Salaried", NUMBER),
            Column(f"In post before {staff.cutoff:%-d %b %Y}", NUMBER),
            Column("Joined since", NUMBER),
        ],
        [
            [
                snapshot.service_area.name,
                snapshot.total,
                snapshot.locum,
                snapshot.salaried,
                snapshot.in_post_before_cutoff,
                snapshot.joined_since_cutoff,
            ]
            for snapshot in staff.rows
        ]
        + [
            [
                "All services",
                staff.total,
                staff.locum,
                staff.salaried,
                staff.in_post_before_cutoff,
                staff.joined_since_cutoff,
            ]
        ],
        notes=[
            f"Permanent (salaried) managers: {staff.permanent_share}% ({staff.salaried} of "
            f"{staff.total}) on {_day(staff.as_of)}."
        ],
    )
    trend = Block(
        "Share of permanent managers on each date",
        [Column("Date", DATE), Column("Permanent (salaried) managers, %", NUMBER)],
        [[day, share] for day, share in staff.trend],
    )
    book.blocks(WORKFORCE, lines, [table, trend])


def risks(book: Book, board: Dashboard) -> None:
    found = board.open_risks
    columns = [
        Column("Risk", LONG_TEXT),
        Column("Register"),
        Column("Owner"),
        Column("Likelihood", NUMBER),
        Column("Impact", NUMBER),
        Column("Score", NUMBER),
        Column("Escalated to the board"),
        Column("Mitigation", LONG_TEXT),
        Column("Description", LONG_TEXT),
    ]
    rows = [
        [
            risk.title,
            risk.workstream.name if risk.workstream_id else "Programme",
            display_name(risk.owner),
            risk.likelihood,
            risk.impact,
            risk.likelihood * risk.impact,
            "Yes" if risk.escalated else "No",
            risk.mitigation,
            risk.description,
        ]
        for risk in found
    ]
    title = (
        f"Open risks: {len(found)}, of which {board.escalated_risks} escalated to the board. "
        f"{judged(board)}"
    )
    book.table(RISKS, title, columns, rows)
