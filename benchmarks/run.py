"""Grip's benchmark, run on demand (not part of the test suite): see benchmarks/README.md.

    .venv/bin/python benchmarks/run.py [--actions 1000] [--months 12] [--repeat 20]
                                       [--database-url postgres://postgres@127.0.0.1:5432/postgres]
                                       [--pages REGEX]

Builds a throwaway database (an SQLite file in a temporary directory, or a fresh PostgreSQL
database grip_bench_<pid> on the server given), loads the reference plan and a synthetic plan
(manage.py generate_plan), then times the main pages with Django's test client and counts
their SQL queries, each beside a baseline page timed in the same run. The database is
dropped at the end.
"""

import argparse
import contextlib
import datetime
import math
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from io import StringIO
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--actions", type=int, default=1000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=20, help="timed requests per page")
    parser.add_argument(
        "--database-url",
        help="postgres://user@host:port/db: benchmark on a fresh database on that server "
        "(default: an SQLite file in a temporary directory)",
    )
    parser.add_argument(
        "--pages",
        metavar="REGEX",
        type=re.compile,
        help="time only the requests whose path matches (re.search), e.g. 'dashboard'; "
        "the baseline page is always timed",
    )
    return parser.parse_args()


# --- The throwaway database -----------------------------------------------------------------


def create_postgres_database(server_url: str) -> tuple[str, str]:
    """Create grip_bench_<pid> on the server; return its URL and name."""
    import psycopg2

    name = f"grip_bench_{os.getpid()}"
    parts = urlsplit(server_url)
    with contextlib.closing(psycopg2.connect(server_url)) as connection:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}")), name


def drop_postgres_database(server_url: str, name: str) -> None:
    import psycopg2

    with contextlib.closing(psycopg2.connect(server_url)) as connection:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def configure(database_url: str, workdir: Path) -> None:
    """The environment Grip's settings read, set before Django starts: production mode
    (DEBUG off, static files collected), plain http, the test client's host."""
    os.environ.update(
        DJANGO_SETTINGS_MODULE="improvement.settings",
        DATABASE_URL=database_url,
        SECRET_KEY="benchmark-only-not-secret",
        DEBUG="0",
        SECURE_SSL_REDIRECT="0",
        ALLOWED_HOSTS="testserver",
        STATIC_ROOT=str(workdir / "static"),
        LOG_LEVEL="ERROR",  # no "Not Found" lines for pages not built yet
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


# --- Measuring ------------------------------------------------------------------------------


def percentile(samples: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


class Row:
    def __init__(self, who: str, what: str):
        self.who, self.what = who, what
        self.status = ""
        self.samples: list[float] = []
        self.queries: int | None = None
        self.note = ""
        self.baseline: Row | None = None  # the same user's baseline page, for the ratio

    @property
    def median(self) -> float | None:
        return statistics.median(self.samples) if self.samples else None

    def cells(self) -> list[str]:
        median = f"{self.median:.1f}" if self.samples else "-"
        p95 = f"{percentile(self.samples, 0.95):.1f}" if self.samples else "-"
        queries = "-" if self.queries is None else str(self.queries)
        base = self.baseline.median if self.baseline else None
        ratio = f"{self.median / base:.1f}" if self.samples and base else "-"
        return [self.who, self.what, self.status, median, p95, queries, ratio, self.note]


@contextlib.contextmanager
def template_context_captured():
    """Responses carry ``context`` (Django's test instrumentation), only while needed, so
    the timed requests run without the instrumentation's overhead."""
    from django.test.utils import setup_test_environment, teardown_test_environment

    setup_test_environment()
    try:
        yield
    finally:
        teardown_test_environment()


def request(client, method: str, path: str, data=None):
    """One request: (response or None, milliseconds, error text)."""
    started = time.perf_counter()
    try:
        response = getattr(client, method)(path, data) if data else getattr(client, method)(path)
    except Exception as error:  # a page under construction may raise; report, go on
        return None, 0.0, f"{type(error).__name__}: {str(error).splitlines()[0][:60]}"
    return response, (time.perf_counter() - started) * 1000, ""


def time_get(client, who: str, path: str, repeat: int) -> Row:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    row = Row(who, f"GET {path}")
    response, _, error = request(client, "get", path)  # warm up (caches, first connection)
    if error:
        row.status, row.note = "error", error
        return row
    with CaptureQueriesContext(connection) as queries:
        response, _, error = request(client, "get", path)
    row.status, row.queries = str(getattr(response, "status_code", "error")), len(queries)
    if error:
        row.status, row.note = "error", error
        return row
    if response.status_code == 404:
        row.note = "page not built yet (or no such page)"
        return row
    if response.status_code in (301, 302):
        row.note = f"redirects to {response.get('Location')}"
    for _ in range(repeat):
        response, ms, error = request(client, "get", path)
        row.samples.append(ms)
    return row


def form_data(response, action) -> dict:
    """The update form's fields as the page filled them in, ready to post back."""
    from django import forms

    form = response.context["form"]
    data = {}
    for bound in form:
        widget, value = bound.field.widget, bound.value()
        if isinstance(widget, forms.CheckboxInput):
            if value:
                data[bound.html_name] = "on"
        elif isinstance(widget, forms.MultiWidget):
            parts = value if isinstance(value, (list, tuple)) else widget.decompress(value)
            for suffix, part in zip(widget.widgets_names, parts, strict=False):
                data[f"{bound.html_name}{suffix}"] = "" if part is None else str(part)
        elif isinstance(value, (list, tuple)):
            data[bound.html_name] = [str(v) for v in value]
        else:
            shown = widget.format_value(value)  # choice widgets give a list
            if isinstance(shown, list):
                data[bound.html_name] = shown if widget.allow_multiple_selected else shown[:1]
            else:
                data[bound.html_name] = "" if shown is None else str(shown)
    data.setdefault("version", str(type(action).objects.get(pk=action.pk).version))
    return data


def time_update(client, who: str, action, repeat: int) -> Row:
    """GET the update form, post it back changed; only the POST is timed."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    path = f"/actions/{action.reference}/update/"
    row = Row(who, f"POST {path}")
    for attempt in range(repeat + 1):
        with template_context_captured():
            page, _, error = request(client, "get", path)
        if error or page.status_code != 200:
            row.status = "error" if error else str(page.status_code)
            row.note = error or (
                "page not built yet: POST skipped"
                if page.status_code == 404
                else "form page did not answer 200"
            )
            return row
        if page.context is None or "form" not in page.context:
            row.status, row.note = "error", "no form in the page's context: POST skipped"
            return row
        data = form_data(page, action)
        if "progress_narrative" in data:
            data["progress_narrative"] = f"Benchmark update {attempt} by {who}."
        if attempt == 0:  # counted, not timed
            with CaptureQueriesContext(connection) as queries:
                response, _, error = request(client, "post", path, data)
            row.queries = len(queries)
        else:
            response, ms, error = request(client, "post", path, data)
            row.samples.append(ms)
        if error:
            row.status, row.note = "error", error
            return row
        row.status = str(response.status_code)
        if response.status_code != 302:
            with template_context_captured():
                response, _, _ = request(client, "post", path, data)
            errors = response.context["form"].errors if response and response.context else {}
            row.note = f"not saved: {dict(errors) or 'see the page'}"
            row.samples = []
            return row
    saved = action.updates.filter(progress_narrative__startswith="Benchmark update").count()
    row.note = f"{saved} updates saved"
    return row


# --- The run --------------------------------------------------------------------------------


# A plain signed-in page in the site's layout (header, navigation, footer) and nothing else:
# what every page costs before it reads any of the plan. Each page's median is given as a
# multiple of this one's, timed for the same user in the same run.
BASELINE = "/accounts/password_change/"


def board_meeting(plan) -> tuple[datetime.date, datetime.date]:
    """A month for the dashboard and a past board meeting to see the plan as it stood on:
    the generated plan's third-to-last month of updates, and the 12th of the month after."""
    from workstreams.models import ActionUpdate

    periods = list(
        ActionUpdate.objects.filter(action__plan=plan)
        .order_by("period")  # not the model's ordering, which DISTINCT would count in
        .values_list("period", flat=True)
        .distinct()
    )
    period = periods[-3] if len(periods) >= 3 else (periods[0] if periods else plan.period_start)
    following = (period + datetime.timedelta(days=32)).replace(day=1)
    return period, following.replace(day=12)


def vacuum_analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def step(label: str, function, *args, **kwargs):
    started = time.perf_counter()
    result = function(*args, **kwargs)
    seconds = time.perf_counter() - started
    print(f"{label}: {seconds:.1f} s", flush=True)
    return result, seconds


def load_plans(args, analyze: bool = True) -> float:
    """Migrate, load the reference plan, then ``generate_plan`` as ``args`` ask; on
    PostgreSQL, ``VACUUM ANALYZE`` afterwards unless told not to. Returns generate_plan's
    seconds."""
    from django.core.management import call_command
    from django.db import connection

    quiet = {"verbosity": 0}
    step("migrate", call_command, "migrate", **quiet)
    step("collectstatic", call_command, "collectstatic", interactive=False, **quiet)
    step("load_demo", call_command, "load_demo", "--allow-production", stdout=StringIO(), **quiet)
    out = StringIO()
    _, generate_seconds = step(
        f"generate_plan --actions {args.actions} --months {args.months} --seed {args.seed}",
        call_command,
        "generate_plan",
        actions=args.actions,
        months=args.months,
        seed=args.seed,
        stdout=out,
    )
    print("   ", out.getvalue().strip().replace("\n", "\n    "), flush=True)
    if analyze and connection.vendor == "postgresql":
        # What autovacuum does on a server soon after a load this size: without it the
        # planner has no statistics and the tables keep generate_plan's dead rows, and the
        # plans timed would be ones a production database does not run.
        step("VACUUM ANALYZE", vacuum_analyze)
    return generate_seconds


def benchmark(args) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from governance.models import Membership
    from workstreams.models import Action, ActionStatus, Plan

    generate_seconds = load_plans(args)

    plan = Plan.objects.live().get()
    workstream = plan.workstreams.order_by("code").first()
    chair = Membership.objects.get(body__workstream=workstream, role=Membership.Role.CHAIR).user
    office = get_user_model().objects.get(username="office")
    actions = Action.objects.filter(plan=plan, workstream=workstream)
    # Open actions, so that posting an update back needs no evidence of impact.
    open_actions = actions.filter(status=ActionStatus.ON_TRACK).order_by("reference")
    if open_actions.count() < 2:
        open_actions = actions.exclude(
            status__in=[ActionStatus.COMPLETE, ActionStatus.CLOSED]
        ).order_by("reference")
    to_update = list(open_actions[:2])
    # The action pages show one the POSTs leave alone, with the longest history.
    shown = (
        actions.exclude(pk__in=[a.pk for a in to_update]).order_by("-version", "reference").first()
    )
    paths = [
        "/",
        "/actions/",
        "/actions/?status=green&page=2",
        f"/workstreams/{workstream.code}/",
        f"/actions/{shown.reference}/",
        f"/actions/{shown.reference}/history/",
    ]
    # The programme board's dashboard, which every role may read, asked as the programme
    # office: the latest month, and a month as the plan stood on the day of its board.
    period, meeting_day = board_meeting(plan)
    dashboard_paths = [
        "/dashboard/",
        f"/dashboard/?period={period:%Y-%m}&as_of={meeting_day.isoformat()}",
    ]

    def wanted(path: str) -> bool:
        return args.pages is None or bool(args.pages.search(path))

    rows = []
    for index, user in enumerate([chair, office]):
        gets = [p for p in paths + (dashboard_paths if user == office else []) if wanted(p)]
        update = to_update[index] if index < len(to_update) else None
        post = wanted(f"/actions/{update.reference if update else '<ref>'}/update/")
        if not gets and not post:
            continue  # nothing asked of this user: no baseline either
        client = Client()
        client.force_login(user)
        baseline = time_get(client, user.username, BASELINE, args.repeat)
        baseline.note = (baseline.note + " (baseline)").strip()
        baseline.baseline = baseline
        rows.append(baseline)
        for path in gets:
            rows.append(time_get(client, user.username, path, args.repeat))
            rows[-1].baseline = baseline
        if post and update is None:
            rows.append(Row(user.username, "POST update: no open action to update"))
        elif post:
            rows.append(time_update(client, user.username, update, args.repeat))
            rows[-1].baseline = baseline

    print()
    print(
        f"Database: {connection.vendor} | plan: {args.actions} actions, {args.months} months "
        f"(seed {args.seed}) | generate_plan: {generate_seconds:.1f} s | "
        f"{args.repeat} timed requests per page | baseline: GET {BASELINE}"
    )
    header = ["user", "request", "status", "median ms", "p95 ms", "queries", "× baseline", "note"]
    table = [header] + [row.cells() for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    for number, line in enumerate(table):
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))
        if number == 0:
            print("  ".join("-" * width for width in widths))


def in_throwaway_database(args, benchmark, prefix: str = "grip-bench-") -> None:
    """Run ``benchmark(args)`` on a fresh database (``args.database_url``'s server, else an
    SQLite file in a temporary directory), removed afterwards, also when the run fails."""
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    postgres = None
    try:
        if args.database_url:
            database_url, name = create_postgres_database(args.database_url)
            postgres = (args.database_url, name)
        else:
            database_url = f"sqlite:///{workdir / 'bench.sqlite3'}"
        configure(database_url, workdir)
        benchmark(args)
    finally:
        if "django" in sys.modules:
            from django.db import connections

            connections.close_all()
        if postgres:
            drop_postgres_database(*postgres)
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    in_throwaway_database(parse_args(), benchmark)


if __name__ == "__main__":
    main()
