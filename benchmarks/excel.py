"""Grip's Excel benchmark, run on demand (not part of the test suite): see benchmarks/README.md.

    .venv/bin/python benchmarks/excel.py [--actions 20000] [--months 24] [--seed 1] [--repeat 3]
                                         [--database-url postgres://postgres@127.0.0.1:5432/postgres]
                                         [--profile]

Builds a throwaway database with run.py's helpers (an SQLite file in a temporary directory, or
a fresh PostgreSQL database on the server given, dropped at the end), loads the reference plan
and a synthetic plan (manage.py generate_plan), then, signed in as the programme office, asks
Django's test client for:

- the action tracker of every action, ``GET /actions/export.xlsx`` (and ``.csv``);
- the same cells written by plain openpyxl in write-only mode, from rows already in memory:
  the tracker's values appended as they are (no title, no styles: dates still take
  openpyxl's own date format), and again with the tracker's styles on the same cells (the
  title row, bold headers, dates, wrapped text and BRAG fills, decided before the timing
  starts) written through openpyxl's public interface alone: the cost of writing the
  workbook, against which the export's is given as a ratio;
- the board pack of the latest month, ``GET /exports/board-pack.xlsx?period=YYYY-MM``.

Each is timed ``--repeat`` times (the median is reported), then run once more under
tracemalloc for its peak of Python memory (tracemalloc slows the code it watches, so that run
is not timed). ``--profile`` prints cProfile's top functions of one tracker export.

Targets (issue 9): each export under 5 s and 300 MB with 20,000 actions on PostgreSQL, and
the tracker within 1.5x of writing the same cells with openpyxl's write-only mode.
"""

import argparse
import cProfile
import io
import pstats
import statistics
import time
import tracemalloc

from run import in_throwaway_database, load_plans

MB = 1024 * 1024


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--actions", type=int, default=20000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each")
    parser.add_argument(
        "--database-url",
        help="postgres://user@host:port/db: benchmark on a fresh database on that server "
        "(default: an SQLite file in a temporary directory)",
    )
    parser.add_argument("--profile", action="store_true", help="profile one tracker export")
    return parser.parse_args()


class Measured:
    def __init__(self, what: str):
        self.what = what
        self.seconds: list[float] = []
        self.peak_mb: float | None = None
        self.size: int | None = None
        self.note = ""

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def measure(what: str, run, repeat: int) -> Measured:
    """``run()`` timed ``repeat`` times, then once under tracemalloc for its peak memory."""
    result = Measured(what)
    run()  # warm up: caches, the first connection, imports
    for _ in range(repeat):
        started = time.perf_counter()
        output = run()
        result.seconds.append(time.perf_counter() - started)
    result.size = len(output) if output is not None else None
    tracemalloc.start()
    try:
        run()
        result.peak_mb = tracemalloc.get_traced_memory()[1] / MB
    finally:
        tracemalloc.stop()
    return result


def fetch(client, path: str) -> bytes:
    response = client.get(path)
    if response.status_code != 200:
        raise SystemExit(f"GET {path} answered {response.status_code}")
    return response.content


def tracker_values(plan) -> tuple[list, list[list]]:
    """The tracker's columns and every row's values, as the export writes them."""
    from django.utils import timezone

    from workstreams.exports import tracker_columns, tracker_rows
    from workstreams.resources import ActionTrackerResource
    from workstreams.selectors import AsAt, action_rows

    resource = ActionTrackerResource()
    as_at = AsAt(today=timezone.localdate())
    rows = resource.filter_export(
        tracker_rows(action_rows(plan.actions.all()).order_by("reference"), as_at)
    )
    return tracker_columns(resource), [resource.export_resource(a) for a in rows.iterator()]


def plain_openpyxl(columns, rows) -> bytes:
    """The tracker's values appended to a write-only sheet as they are: no title, no styles."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Actions")
    sheet.append([column.header for column in columns])
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def cell_styles(columns, rows) -> tuple[list[int], list[list]]:
    """The widths and each cell's style as the tracker decides them (None, "date", "wrap" or
    a BRAG state), worked out before the timing starts."""
    from workstreams.spreadsheets import measure, rag_named

    widths = measure(columns, rows[:500])
    styles = []
    for row in rows:
        styles.append(
            [
                "date"
                if column.kind == "date" and value is not None
                else "wrap"
                if column.kind == "long_text"
                and value
                and (len(value) + 2 > width or "\n" in value)
                else rag_named(value)
                if column.kind == "brag" and value
                else None
                for value, column, width in zip(row, columns, widths, strict=True)
            ]
        )
    return widths, styles


def styled_openpyxl(columns, rows, widths, styles) -> bytes:
    """The same cells with the same styles (``cell_styles``), written with openpyxl's public
    interface alone: WriteOnlyCell and its style attributes, the style objects made once."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    from workstreams.templatetags.grip import RAG_CLASSES, TAG_COLOURS

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Actions")
    for index, width in enumerate(widths, 1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A3"
    bold, top = Font(bold=True), Alignment(vertical="top")
    wrapped = Alignment(wrap_text=True, vertical="top")
    brag = {
        rag: (
            Font(color=TAG_COLOURS[css][0][1:]),
            PatternFill(fill_type="solid", fgColor=TAG_COLOURS[css][1][1:]),
        )
        for rag, css in RAG_CLASSES.items()
    }
    title = WriteOnlyCell(sheet, "Actions: all")
    title.font = Font(bold=True, size=12)
    sheet.append([title])
    headers = []
    for column in columns:
        cell = WriteOnlyCell(sheet, column.header)
        cell.font, cell.alignment = bold, wrapped
        headers.append(cell)
    sheet.append(headers)
    for row, row_styles in zip(rows, styles, strict=True):
        cells = []
        for value, style in zip(row, row_styles, strict=True):
            if style is None:
                cells.append(None if value == "" else value)
                continue
            cell = WriteOnlyCell(sheet, value)
            if style == "date":
                cell.number_format, cell.alignment = "dd/mm/yyyy", top
            elif style == "wrap":
                cell.alignment = wrapped
            else:
                cell.font, cell.fill = brag[style]
                cell.alignment = top
            cells.append(cell)
        sheet.append(cells)
    sheet.auto_filter.ref = f"A2:{get_column_letter(len(columns))}{len(rows) + 2}"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def benchmark(args) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from governance.dashboard import latest_period_with_data, live_plan_or_404

    generate_seconds = load_plans(args)

    from django.utils import timezone

    today = timezone.localdate()
    plan = live_plan_or_404(today)
    period = latest_period_with_data(plan, today)
    client = Client()
    client.force_login(get_user_model().objects.get(username="office"))
    pack = f"/exports/board-pack.xlsx?period={period:%Y-%m}"

    columns, rows = tracker_values(plan)
    widths, styles = cell_styles(columns, rows)
    values = [[None if value == "" else value for value in row] for row in rows]
    results = [
        measure(
            "GET /actions/export.xlsx", lambda: fetch(client, "/actions/export.xlsx"), args.repeat
        ),
        measure(
            "GET /actions/export.csv", lambda: fetch(client, "/actions/export.csv"), args.repeat
        ),
        measure(
            "plain openpyxl write-only, values only",
            lambda: plain_openpyxl(columns, values),
            args.repeat,
        ),
        measure(
            "plain openpyxl write-only, same styles",
            lambda: styled_openpyxl(columns, rows, widths, styles),
            args.repeat,
        ),
        measure(f"GET {pack}", lambda: fetch(client, pack), args.repeat),
    ]
    tracker, _csv, plain, styled = results[:4]
    tracker.note = (
        f"{tracker.median / plain.median:.2f}x plain values, "
        f"{tracker.median / styled.median:.2f}x same styles"
    )
    for result in results[2:4]:
        result.note = f"{len(rows)} rows x {len(columns)} columns, already in memory"

    print()
    print(
        f"Database: {connection.vendor} | plan: {args.actions} actions, {args.months} months "
        f"(seed {args.seed}) | generate_plan: {generate_seconds:.0f} s | median of "
        f"{args.repeat} timed runs; peak Python memory (tracemalloc) of one more"
    )
    header = ["what", "median s", "runs s", "peak MB", "file KB", "note"]
    table = [header] + [
        [
            r.what,
            f"{r.median:.2f}",
            " ".join(f"{s:.2f}" for s in r.seconds),
            f"{r.peak_mb:.0f}",
            f"{(r.size or 0) / 1024:.0f}",
            r.note,
        ]
        for r in results
    ]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    for number, line in enumerate(table):
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))
        if number == 0:
            print("  ".join("-" * width for width in widths))

    if args.profile:
        profile = cProfile.Profile()
        profile.runcall(fetch, client, "/actions/export.xlsx")
        print()
        pstats.Stats(profile).sort_stats("cumulative").print_stats(30)


def main() -> None:
    in_throwaway_database(parse_args(), benchmark, prefix="grip-excel-bench-")


if __name__ == "__main__":
    main()
