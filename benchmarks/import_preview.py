"""The plan import's benchmark (issue 9), run on demand, not part of the test suite.

    .venv/bin/python benchmarks/import_preview.py [--actions 20000] [--months 24] [--rows 10000]
        [--changes 200] [--database-url postgres://postgres@127.0.0.1:5432/postgres]

On a throwaway database (``run.py``'s helpers: an SQLite file, or a fresh PostgreSQL database
dropped at the end), with the reference plan and ``generate_plan --actions N --months M``:

1. Writes one .xlsx file of ``--rows`` actions: the admin's export of the plan
   (``ActionResource``, natural keys and each action's version), which both importers read,
   with ``--changes`` rows changed (a status and new progress words). Actions whose due date
   moved are left out: that export's ``due_date`` is the agreed date, where Grip's tracker
   (and so its import) carries the current one.
2. Times Grip's preview of it (``imports.read_and_preview``: the file read and checked, its
   columns matched, every row compared with the plan; then kept, ``action_import_start``), and
   the preview page; then django-import-export's stock row-by-row import of the same file,
   ``ActionResource().import_data(dataset, dry_run=True)``, which saves each changed row (with
   its history row) and rolls back. Says the ratio.
3. Confirms Grip's import (``plan_import_apply``) and counts the history rows it wrote: one
   per changed action, each recorded as the officer.
4. Measures peak memory (tracemalloc) of reading the file, of the whole preview, and of
   refusing hostile files: a zip bomb (200 MB of zeros declared), an encrypted workbook, a
   damaged one.
"""

import argparse
import io
import sys
import time
import tracemalloc
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import in_throwaway_database, load_plans  # noqa: E402  (the main benchmark's helpers)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--actions", type=int, default=20000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rows", type=int, default=10000, help="rows in the imported file")
    parser.add_argument("--changes", type=int, default=200, help="rows changed in the file")
    parser.add_argument("--database-url", help="postgres://user@host:port/db (default: SQLite)")
    return parser.parse_args()


def timed(function, *args, **kwargs):
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - started


def peak(function, *args, **kwargs):
    """(result or the exception raised, peak traced memory in MB)."""
    tracemalloc.start()
    try:
        result = function(*args, **kwargs)
    except Exception as error:  # hostile files are refused: that is the result
        result = error
    _, top = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return result, top / (1024 * 1024)


def the_file(plan, rows: int, changes: int) -> tuple[bytes, int, int]:
    """The admin's export of the plan's first ``rows`` actions, ``changes`` of them changed:
    (xlsx bytes, rows, how many changed). Without the due dates and findings: the admin's
    export carries the agreed due date where Grip's tracker (and its import) carry the
    current one, and Grip's import does not read findings; so both importers read the same
    columns."""
    from import_export.formats.base_formats import XLSX

    from workstreams.resources import ActionResource

    chosen = plan.actions.order_by("reference").values_list("pk", flat=True)[:rows]
    actions = plan.actions.filter(pk__in=list(chosen)).order_by("reference")
    dataset = ActionResource(plan=plan).export(actions)
    for column in ("due_date", "revised_due_date", "revised_due_reason", "findings"):
        del dataset[column]
    status, narrative = dataset.headers.index("status"), dataset.headers.index("progress_narrative")
    changed = 0
    for index in range(0, len(dataset), max(1, len(dataset) // max(changes, 1))):
        if changed == changes:
            break
        row = list(dataset[index])
        row[status] = "Off track" if row[status] != "Off track" else "At risk"
        row[narrative] = f"Benchmark: changed in the spreadsheet, row {index + 2}."
        dataset[index] = row
        changed += 1
    return XLSX().export_data(dataset), len(dataset), changed


def hostile_files() -> dict[str, tuple[str, bytes]]:
    from workstreams import imports

    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            for _ in range(200):
                member.write(bytes(1024 * 1024))
    damaged = io.BytesIO()
    with zipfile.ZipFile(damaged, "w") as archive:
        archive.writestr("[Content_Types].xml", "<not xml")
        archive.writestr("xl/workbook.xml", "<nor this")
    return {
        "zip bomb (200 MB declared)": ("bomb.xlsx", bomb.getvalue()),
        "encrypted workbook (OLE)": ("locked.xlsx", imports.OLE_MAGIC + bytes(4096)),
        "damaged workbook": ("damaged.xlsx", damaged.getvalue()),
    }


def benchmark(args) -> None:
    import tablib
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.test import Client

    from workstreams import imports, services
    from workstreams.audit import acting_as
    from workstreams.models import Action, Plan
    from workstreams.resources import ActionResource

    # Measured without VACUUM ANALYZE, as its figures in benchmarks/README.md were.
    load_plans(args, analyze=False)
    plan = Plan.objects.live().get()
    office = get_user_model().objects.get(username="office")
    content, rows_in_file, changed = the_file(plan, args.rows, args.changes)
    print(f"file: {rows_in_file} rows, {changed} changed, {len(content) / 1024 / 1024:.1f} MB")

    # 1. Grip: read, match, preview; keep it; show the page.
    read, grip_seconds = timed(
        imports.read_and_preview, file=io.BytesIO(content), name="plan.xlsx", plan=plan, by=office
    )
    found, keep_seconds = timed(services.action_import_start, by=office, plan=plan, **read)
    counts = found.preview["counts"]
    client = Client()
    client.force_login(office)
    page, page_seconds = timed(client.get, found.get_absolute_url())
    print(
        f"Grip preview: {grip_seconds:.2f} s (+ kept in {keep_seconds:.2f} s; its page "
        f"{page_seconds:.2f} s, {page.status_code}); {counts}"
    )

    # 2. django-import-export, row by row, with history, dry run (saved, then rolled back).
    dataset, load_seconds = timed(tablib.Dataset().load, content, format="xlsx")
    history_before = Action.history.count()
    with acting_as(office):
        result, stock_seconds = timed(
            ActionResource(plan=plan).import_data, dataset, dry_run=True, user=office
        )
    assert Action.history.count() == history_before  # rolled back
    print(
        f"django-import-export import_data(dry_run=True): {stock_seconds:.2f} s (+ tablib read "
        f"{load_seconds:.2f} s); totals {dict(result.totals)}, errors "
        f"{len(result.row_errors())}, invalid {len(result.invalid_rows)}"
    )
    print(f"ratio: stock {stock_seconds:.2f} s / Grip {grip_seconds:.2f} s = "
          f"{stock_seconds / grip_seconds:.1f}x")  # fmt: skip

    # 3. Confirm: one history row per change, each as the officer.
    last = Action.history.order_by("-history_id").values_list("history_id", flat=True).first()
    rows = imports.rows_to_apply(found)
    _, apply_seconds = timed(services.plan_import_apply, by=office, action_import=found, rows=rows)
    written = Action.history.filter(history_id__gt=last)
    print(
        f"confirm: {apply_seconds:.2f} s for {len(rows)} changed rows; action history rows "
        f"written {written.count()} ({written.filter(history_user=office).count()} as office), "
        f"for {written.values('id').distinct().count()} actions"
    )

    # 4. Memory.
    _, read_mb = peak(
        imports.read_upload,
        io.BytesIO(content),
        "plan.xlsx",
        is_header=imports.header_test(),
    )
    with transaction.atomic():
        _, preview_mb = peak(
            imports.read_and_preview,
            file=io.BytesIO(content),
            name="plan.xlsx",
            plan=plan,
            by=office,
        )
        transaction.set_rollback(True)
    print(f"peak memory: reading the file {read_mb:.1f} MB; the whole preview {preview_mb:.1f} MB")
    for label, (name, data) in hostile_files().items():
        refused, mb = peak(
            imports.read_upload, io.BytesIO(data), name, is_header=imports.header_test()
        )
        print(f"peak memory: {label}, {len(data) / 1024:.0f} KB: {mb * 1024:.0f} KB: {refused}")
    print(f"database: {connection.vendor}")


def main() -> None:
    in_throwaway_database(parse_args(), benchmark, prefix="grip-import-bench-")


if __name__ == "__main__":
    main()
