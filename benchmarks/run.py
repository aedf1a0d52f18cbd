"""Grip's benchmark, run on demand (not part of the test suite): see benchmarks/README.md.

    .venv/bin/python benchmarks/run.py [--actions 1000] [--months 12] [--repeat 20] [--rounds 4]
                                       [--slow-repeat 5] [--save-repeat 100]
                                       [--database-url postgres://postgres@127.0.0.1:5432/postgres]
                                       [--pages REGEX] [--skip-reference] [--json FILE]

Builds a throwaway database (an SQLite file in a temporary directory, or a fresh PostgreSQL
database grip_bench_<pid> on the server given) and loads the reference plan (28 actions) with
the demo users. Times every request of the table on it, as its demo chair, lead officer and
programme office; then makes a synthetic plan (manage.py generate_plan), which closes the
reference plan, and times the same requests on it as the synthetic plan's people. Then times
an audited save of an action against the same save without its history row. Each request is
given with its SQL queries, as a multiple of a plain page timed for the same user in the same
run, as a multiple of its time on the reference plan (growth), and against issue 10's
targets. The database is dropped at the end.
"""

import argparse
import contextlib
import dataclasses
import datetime
import io
import json
import math
import os
import re
import shutil
import statistics
import subprocess
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
        "--rounds",
        type=int,
        default=4,
        help="a page's timed requests in this many rounds, the plans taking turns each round",
    )
    parser.add_argument(
        "--slow-repeat",
        type=int,
        default=5,
        help="timed requests of the exports and the import (and openpyxl's writes)",
    )
    parser.add_argument(
        "--save-repeat", type=int, default=100, help="timed saves of each kind (audited, plain)"
    )
    parser.add_argument(
        "--import-rows", type=int, default=10000, help="rows of the imported file (at most)"
    )
    parser.add_argument(
        "--search",
        default="performance",
        help="the word searched for in the action list (?q=); it should be in some titles "
        "of both plans",
    )
    parser.add_argument(
        "--database-url",
        help="postgres://user@host:port/db: benchmark on a fresh database on that server "
        "(default: an SQLite file in a temporary directory)",
    )
    parser.add_argument(
        "--pages",
        metavar="REGEX",
        type=re.compile,
        help="time only the requests whose label or path matches (re.search), e.g. "
        "'dashboard'; 'save' picks the audited save; the baseline page is always timed",
    )
    parser.add_argument(
        "--skip-reference",
        action="store_true",
        help="do not time the reference plan first (no growth column)",
    )
    parser.add_argument("--json", metavar="FILE", type=Path, help="write the results here too")
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


class Timing:
    """One request (or call) measured for one user on one plan."""

    def __init__(self, user: str = "", path: str = ""):
        self.user, self.path = user, path
        self.status = ""
        self.samples: list[float] = []  # milliseconds
        self.queries: int | None = None
        self.note = ""

    @property
    def median(self) -> float | None:
        return statistics.median(self.samples) if self.samples else None

    @property
    def p95(self) -> float | None:
        return percentile(self.samples, 0.95) if self.samples else None

    def as_dict(self) -> dict:
        return {
            "user": self.user,
            "path": self.path,
            "status": self.status,
            "median_ms": _rounded(self.median),
            "p95_ms": _rounded(self.p95),
            "samples_ms": [round(s, 2) for s in self.samples],
            "queries": self.queries,
            "note": self.note,
        }


def _rounded(value: float | None, places: int = 2) -> float | None:
    return None if value is None else round(value, places)


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


def time_requests(send, repeat: int, row: Timing, expect: int = 200, before=None):
    """``send()`` (a request: response, ms, error) once to warm up (caches, the first
    connection), once with its SQL queries counted, then ``repeat`` times timed. A response
    other than ``expect`` is reported, not timed. ``before()``, when given, runs before each
    request, neither timed nor counted. Returns the last response."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    before = before or (lambda: None)
    before()
    response, _, error = send()
    if not error:
        before()
        with CaptureQueriesContext(connection) as queries:
            response, _, error = send()
    if error:
        row.status, row.note = "error", error
        return None
    row.status, row.queries = str(response.status_code), len(queries)
    if response.status_code != expect:
        row.note = (
            "page not built yet (or no such page)"
            if response.status_code == 404
            else f"answered {response.status_code}"
            + (f", to {response['Location']}" if response.has_header("Location") else "")
            + ": not timed"
        )
        return response
    for _ in range(repeat):
        before()
        response, ms, error = send()
        if error:
            row.status, row.note, row.samples = "error", error, []
            return None
        row.samples.append(ms)
    return response


def time_get(client, user: str, path: str, repeat: int, before=None) -> Timing:
    row = Timing(user, path)
    time_requests(lambda: request(client, "get", path), repeat, row, before=before)
    return row


def time_call(function, repeat: int, row: Timing) -> None:
    """A plain function, warmed up once, then timed ``repeat`` times."""
    function()
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        row.samples.append((time.perf_counter() - started) * 1000)


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


def time_update(client, user: str, action, repeat: int) -> Timing:
    """GET the update form, post it back changed; only the POST is timed."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    path = f"/actions/{action.reference}/update/"
    row = Timing(user, path)
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
            data["progress_narrative"] = f"Benchmark update {attempt} by {user}."
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


# --- Who asks, and what -----------------------------------------------------------------------


# A plain signed-in page in the site's layout (header, navigation, footer) and nothing else:
# what every page costs before it reads any of the plan. Each page's median is given as a
# multiple of this one's, timed for the same user in the same run.
BASELINE = "/accounts/password_change/"

# The reference plan's people (fixtures/demo-users.json): the senior responsible officer who
# chairs Management & Practice's task group, and a lead officer of that workstream.
REFERENCE_CHAIR, REFERENCE_LEAD = "sro.mp", "lead.mp"
ROLES = ("chair", "lead", "office")

# Issue 10's targets.
PAGE_MS = 150  # every page's median
AS_OF_MS = 400  # the dashboard as of a past date
GROWTH = 2.0  # a page's median on the big plan, as a multiple of the reference plan's
QUERIES = 15  # every request runs fewer
EXPORT_MS = 3000  # the tracker export of 20,000 actions (and the board pack)
OPENPYXL_RATIO = 1.5  # the tracker against openpyxl's write-only mode writing the same cells
AUDITED_SAVE_RATIO = 2.0  # an audited save against a plain one


@dataclasses.dataclass
class Cast:
    """A plan and the people and things its requests are about."""

    plan: object
    workstream: object
    users: dict  # role -> user
    shown: object  # the action whose page and history are read
    to_update: object | None  # the lead officer's open action, for the update POST
    # The latest four-question reports in two states, the workstream's where it has one:
    # one signed off (read from its seal) and one still a draft (read live, with its forms).
    signed_off_report: object | None
    draft_report: object | None
    period: datetime.date  # the dashboard's month as of a past day ...
    meeting_day: datetime.date  # ... and that day


def board_meeting(plan) -> tuple[datetime.date, datetime.date]:
    """A month for the dashboard and a past board meeting to see the plan as it stood on:
    the plan's third-to-last month of updates, and the 12th of the month after."""
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


def cast_of(plan, chair: str | None = None, lead: str | None = None) -> Cast:
    """The live plan's people and things: the workstream ``chair`` (a username) chairs, else
    the first; ``lead``, else the lead officer of that workstream's first open action; the
    programme office user ``office``."""
    from django.contrib.auth import get_user_model

    from governance.models import Membership, ProgressReport
    from workstreams.models import ActionStatus

    User = get_user_model()
    chairs = (
        Membership.objects.filter(role=Membership.Role.CHAIR, body__workstream__plan=plan)
        .select_related("user", "body__workstream")
        .order_by("body__workstream__code")
    )
    chaired = (chair and chairs.filter(user__username=chair).first()) or chairs.first()
    workstream = chaired.body.workstream
    actions = plan.actions.filter(workstream=workstream).order_by("reference")
    # Open and on track, so that posting an update back needs no evidence of impact.
    on_track = actions.filter(status=ActionStatus.ON_TRACK)
    officer = (lead and User.objects.filter(username=lead).first()) or (
        on_track.first() or actions.first()
    ).lead_officer
    led = plan.actions.filter(lead_officer=officer).order_by("reference")
    to_update = (
        led.filter(status=ActionStatus.ON_TRACK).first()
        or led.exclude(status__in=[ActionStatus.COMPLETE, ActionStatus.CLOSED]).first()
    )
    # The action pages show one the POSTs leave alone, with the longest history.
    shown = (
        actions.exclude(pk=getattr(to_update, "pk", None)).order_by("-version", "reference").first()
    )

    def latest_report(status):
        reports = ProgressReport.objects.filter(plan=plan, status=status)
        reports = reports.order_by("-period", "workstream__code")
        return reports.filter(workstream=workstream).first() or reports.first()

    period, meeting_day = board_meeting(plan)
    return Cast(
        plan=plan,
        workstream=workstream,
        users={
            "chair": chaired.user,
            "lead": officer,
            "office": User.objects.get(username="office"),
        },
        shown=shown,
        to_update=to_update,
        signed_off_report=latest_report(ProgressReport.Status.SIGNED_OFF),
        draft_report=latest_report(ProgressReport.Status.DRAFT),
        period=period,
        meeting_day=meeting_day,
    )


@dataclasses.dataclass
class Ask:
    """A request of the table: ``label`` names it the same on both plans, ``path`` is this
    plan's. ``kind`` says which targets judge it."""

    role: str
    label: str
    path: str
    kind: str  # baseline, page, as_of, post, tracker, openpyxl, export, upload, preview
    note: str = ""
    slow: bool = False
    # Figures it reads are cached until a record changes (workstreams/derived.py): it is
    # timed again "after a change", the change count moved before each request.
    cached: bool = False
    after_change: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return self.role, self.label


def asks_of(cast: Cast, args) -> list[Ask]:
    """Issue 10's requests, each for the user who makes it: My work for all three; the
    reading pages as the workstream's chair; the update as the action's lead officer; the
    dashboard, the exports and the import as the programme office (the import is theirs
    alone)."""
    from workstreams.models import Rag

    shown = cast.shown
    word = args.search
    found = cast.plan.actions.filter(title__icontains=word).count()
    red = cast.plan.actions.with_rag().filter(rag_code=Rag.RED).count()
    asks = [Ask(role, f"GET {BASELINE} (baseline)", BASELINE, "baseline") for role in ROLES]
    asks += [Ask(role, "GET / (My work)", "/", "page", cached=True) for role in ROLES]
    asks += [
        Ask("chair", "GET /actions/", "/actions/", "page"),
        # Red: on the reference plan, judged today, every open action is overdue, so a
        # filter on any other state showed an empty page there, against 25 rows here.
        Ask(
            "chair",
            "GET /actions/?status=red&page=2",
            "/actions/?status=red&page=2",
            "page",
            note=f"{red} red actions",
        ),
        Ask(
            "chair",
            "GET /actions/?q=<word>",
            f"/actions/?q={word}",
            "page",
            note=f"'{word}' is in {found} titles" if found else f"'{word}' is in no title",
        ),
        Ask("chair", "GET /actions/<ref>/", f"/actions/{shown.reference}/", "page"),
        Ask(
            "chair",
            "GET /actions/<ref>/history/",
            f"/actions/{shown.reference}/history/",
            "page",
            note=f"{shown.version} versions",
        ),
        Ask("chair", "GET /workstreams/<code>/", f"/workstreams/{cast.workstream.code}/", "page"),
        Ask("chair", "GET /reports/", "/reports/", "page"),
        # A report in the same state on both plans: a signed-off one, read by the chair, and
        # a draft, read by the programme office, who may write it (its forms, the people).
        *(
            Ask(
                role,
                f"GET /reports/<id>/ ({state})",
                report.get_absolute_url() if report else "",
                "page",
                note=f"{report}" if report else f"no report {state}",
                cached=True,
            )
            for role, state, report in (
                ("chair", "signed off", cast.signed_off_report),
                ("office", "a draft", cast.draft_report),
            )
        ),
        Ask("office", "GET /dashboard/", "/dashboard/", "page", cached=True),
        Ask(
            "office",
            "GET /dashboard/?period=<P>&as_of=<D>",
            f"/dashboard/?period={cast.period:%Y-%m}&as_of={cast.meeting_day.isoformat()}",
            "as_of",
            cached=True,
        ),
        Ask(
            "lead",
            "POST /actions/<ref>/update/",
            f"/actions/{cast.to_update.reference}/update/" if cast.to_update else "",
            "post",
            note="" if cast.to_update else "no open action led by the lead officer",
        ),
        Ask("office", "GET /actions/export.xlsx", "/actions/export.xlsx", "tracker", slow=True),
        # The same cells written by plain openpyxl (benchmarks/excel.py), for the tracker's
        # ratio: asked whenever the tracker is.
        Ask(
            "office",
            "openpyxl write-only: the tracker's values",
            "/actions/export.xlsx",
            "openpyxl",
            slow=True,
        ),
        Ask(
            "office",
            "openpyxl write-only: the tracker's cells, styled",
            "/actions/export.xlsx",
            "openpyxl",
            slow=True,
        ),
        Ask(
            "office",
            "GET /exports/board-pack.xlsx",
            "/exports/board-pack.xlsx",
            "export",
            slow=True,
            cached=True,
        ),
        Ask(
            "office",
            "POST /imports/actions/ (upload: read, check, preview)",
            "/imports/actions/",
            "upload",
            slow=True,
        ),
        Ask(
            "office", "GET /imports/actions/<token>/ (the preview)", "/imports/actions/", "preview"
        ),
    ]
    # Each cached request twice: as most requests find it (the figures cached by the warm-up),
    # and as the first request after any change to the records finds it (worked out again).
    asks = [
        twin
        for ask in asks
        for twin in (
            [ask, dataclasses.replace(ask, label=f"{ask.label}, after a change", after_change=True)]
            if ask.cached
            else [ask]
        )
    ]
    if args.pages is not None:
        asks = [
            ask
            for ask in asks
            if ask.kind == "baseline" or args.pages.search(ask.label) or args.pages.search(ask.path)
        ]
        asked_by = {ask.role for ask in asks if ask.kind != "baseline"}
        asks = [ask for ask in asks if ask.role in asked_by]  # no baseline for nobody
    return asks


class Measurer:
    """Times the asks of one plan, as its users: signed in once (in the database in use when
    made), keeping what one ask leaves for the next (the upload's preview page, the tracker's
    cells)."""

    def __init__(self, cast: Cast, args):
        from django.test import Client

        self.cast, self.args = cast, args
        self.clients = {}
        for role, user in cast.users.items():
            self.clients[role] = Client()
            self.clients[role].force_login(user)
        self.upload = None  # the import's token page, once the file is uploaded
        self.tracker_cells = None

    def time(self, ask: Ask, repeat: int | None = None) -> Timing:
        from workstreams import derived

        cast, args = self.cast, self.args
        client, user = self.clients[ask.role], cast.users[ask.role].username
        if repeat is None:
            repeat = args.slow_repeat if ask.slow else args.repeat
        if not ask.path:
            row = Timing(user)
        elif ask.kind == "post":
            row = time_update(client, user, cast.to_update, repeat)
        elif ask.kind == "openpyxl":
            self.tracker_cells = self.tracker_cells or openpyxl_inputs(cast.plan)
            row = time_openpyxl(ask.label, self.tracker_cells, repeat)
        elif ask.kind == "upload":
            row, self.upload = time_upload(client, user, cast.plan, args, repeat)
        elif ask.kind == "preview":
            if self.upload is None:  # the upload was not asked for: upload once, untimed
                _, self.upload = time_upload(client, user, cast.plan, args, 0)
            row = time_get(client, user, self.upload, repeat) if self.upload else Timing(user)
            row.note = row.note or ("" if self.upload else "no preview: the upload failed")
        else:
            before = derived.count_change if ask.after_change else None
            row = time_get(client, user, ask.path, repeat, before=before)
        row.note = "; ".join(n for n in (ask.note, row.note) if n)
        return row


def _print_row(plan: str, ask: Ask, row: Timing) -> None:
    print(
        f"  {plan:9} {ask.role:6} {ask.label}: {_ms(row.median)} ms, {row.queries} queries",
        flush=True,
    )


def measure(cast: Cast, args) -> dict[tuple[str, str], Timing]:
    """Every ask of the plan, timed as its user."""
    measurer, results = Measurer(cast, args), {}
    for ask in asks_of(cast, args):
        results[ask.key] = row = measurer.time(ask)
        _print_row("", ask, row)
    return results


def measure_in_turn(casts: dict[str, Cast], databases: dict[str, str], args) -> dict:
    """Every ask timed on each plan in turn (a page in ``rounds_of`` rounds), each plan in
    its own database: the reference plan's timing and the big plan's of the same request
    seconds apart, so that a change in the machine's speed during the run (this shared
    machine's halved in ten minutes once) moves both, not only the plan timed last.
    Returns each plan's timings."""
    measurers, asks = {}, {}
    for plan, cast in casts.items():
        use_database(databases[plan])
        measurers[plan] = Measurer(cast, args)
        asks[plan] = {ask.key: ask for ask in asks_of(cast, args)}
    results = {plan: {} for plan in casts}
    for key in asks["big"]:
        plans = [plan for plan in casts if key in asks[plan]]
        for repeat in rounds_of(asks["big"][key], args):
            for plan in plans:
                use_database(databases[plan])
                row = measurers[plan].time(asks[plan][key], repeat)
                if key in results[plan]:  # a later round: its timings join the first's
                    results[plan][key].samples += row.samples
                else:
                    results[plan][key] = row
        for plan in plans:
            _print_row(plan, asks[plan][key], results[plan][key])
    return results


def rounds_of(ask: Ask, args) -> list[int]:
    """How many timed requests each round of ``ask`` makes on each plan. A page's requests
    are split into ``--rounds`` rounds, the plans taking turns each round, so both plans
    are timed through the same phases of the shared machine (its speed changed by half
    within a minute in one run); the exports, the import and the POST, timed against
    targets of their own, in one round."""
    if ask.slow or ask.kind not in ("baseline", "page", "as_of") or args.rounds <= 1:
        return [args.slow_repeat if ask.slow else args.repeat]
    each, extra = divmod(args.repeat, args.rounds)
    return [each + (1 if n < extra else 0) for n in range(args.rounds)]


def copy_database(args) -> str:
    """A copy of the database in use, as it stands (the reference plan loaded): its name on
    the PostgreSQL server, or its SQLite file. The big plan is made in the copy."""
    from django.db import connections

    name = connections["default"].settings_dict["NAME"]
    connections.close_all()
    if not args.database_url:
        copy = f"{name}.big"
        shutil.copyfile(name, copy)
        return copy
    import psycopg2

    copy = f"{name}_big"
    with contextlib.closing(psycopg2.connect(args.database_url)) as connection:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{copy}" TEMPLATE "{name}"')
    return copy


def drop_copy(args, copy: str) -> None:
    from django.db import connections

    connections.close_all()
    if args.database_url:
        drop_postgres_database(args.database_url, copy)
    else:
        Path(copy).unlink(missing_ok=True)


def use_database(name: str) -> None:
    """Point this process's connection at database ``name`` (a PostgreSQL database on the
    same server, or an SQLite file). Nothing read from the other is kept: the cache (derived
    figures and cached sessions) and Django's content types are cleared."""
    from django.contrib.contenttypes.models import ContentType
    from django.core.cache import cache
    from django.db import connections

    if connections["default"].settings_dict["NAME"] == name:
        return
    connections.close_all()
    connections["default"].settings_dict["NAME"] = name
    cache.clear()
    ContentType.objects.clear_cache()


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def openpyxl_inputs(plan) -> dict:
    """The tracker's cells as benchmarks/excel.py writes them with plain openpyxl: its values,
    and the styles the tracker gives them, worked out before any timing."""
    from excel import cell_styles, tracker_values

    columns, rows = tracker_values(plan)
    widths, styles = cell_styles(columns, rows)
    values = [[None if value == "" else value for value in row] for row in rows]
    return {"columns": columns, "rows": rows, "values": values, "widths": widths, "styles": styles}


def time_openpyxl(label: str, cells: dict, repeat: int) -> Timing:
    from excel import plain_openpyxl, styled_openpyxl

    row = Timing()
    if "styled" in label:
        write = lambda: styled_openpyxl(  # noqa: E731
            cells["columns"], cells["rows"], cells["widths"], cells["styles"]
        )
    else:
        write = lambda: plain_openpyxl(cells["columns"], cells["values"])  # noqa: E731
    time_call(write, repeat, row)
    row.note = f"{len(cells['rows'])} rows x {len(cells['columns'])} columns, in memory"
    return row


def time_upload(client, user: str, plan, args, repeat: int) -> tuple[Timing, str | None]:
    """The import's first step as the programme office makes it: the file posted to the
    upload page, which reads and checks it, compares every row with the plan and keeps the
    preview. The file is benchmarks/import_preview.py's: the admin's export of the plan's
    first rows, some changed. Returns the timing and the preview page's path."""
    from import_preview import the_file

    path = "/imports/actions/"
    content, rows, changed = the_file(plan, args.import_rows, changes=200)
    row = Timing(user, path)

    def send():
        upload = io.BytesIO(content)
        upload.name = "plan.xlsx"
        return request(client, "post", path, {"file": upload})

    response = time_requests(send, repeat, row, expect=302)
    row.note = f"{rows} rows ({changed} changed), {len(content) / 1024:.0f} KB" + (
        f"; {row.note}" if row.note else ""
    )
    location = (
        response["Location"] if response is not None and response.status_code == 302 else None
    )
    return row, location


# --- An audited save against a plain one ------------------------------------------------------


def time_saves(cast: Cast, repeat: int) -> list[dict]:
    """``Action.save()`` as the services make it (in one transaction, the author recorded
    with ``acting_as``), with its history row, against the same save without one
    (simple-history's ``save_without_historical_record``); and the same two with the
    services' validation first (``validation.validate``, as ``services._save_action``).
    Alternated, so both see the same machine; after a warm-up of five each."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from workstreams.audit import acting_as
    from workstreams.models import Action
    from workstreams.validation import validate

    action = Action.objects.get(pk=cast.shown.pk)
    by = cast.users["office"]
    counter = iter(range(10**9))

    def save(audited: bool, validated: bool) -> float:
        action.progress_narrative = f"Benchmark save {next(counter)}."
        started = time.perf_counter()
        with transaction.atomic(), acting_as(by):
            if validated:
                validate(action)
            if audited:
                action.save()
            else:
                action.save_without_historical_record()
        return (time.perf_counter() - started) * 1000

    results = []
    for validated in (False, True):
        label = "validate() + Action.save()" if validated else "Action.save()"
        for _ in range(5):
            save(True, validated)
            save(False, validated)
        queries = {}
        for audited in (True, False):
            with CaptureQueriesContext(connection) as captured:
                save(audited, validated)
            queries[audited] = len(captured)
        history_before = action.history.count()
        samples = {True: [], False: []}
        for n in range(repeat):
            for audited in (True, False) if n % 2 == 0 else (False, True):
                samples[audited].append(save(audited, validated))
        written = action.history.count() - history_before
        audited_ms, plain_ms = (statistics.median(samples[a]) for a in (True, False))
        ratio = audited_ms / plain_ms
        results.append(
            {
                "save": label,
                "action": action.reference,
                "audited_median_ms": round(audited_ms, 3),
                "audited_p95_ms": round(percentile(samples[True], 0.95), 3),
                "plain_median_ms": round(plain_ms, 3),
                "plain_p95_ms": round(percentile(samples[False], 0.95), 3),
                "audited_queries": queries[True],
                "plain_queries": queries[False],
                "ratio": round(ratio, 3),
                "history_rows_written": written,
                "repeat": repeat,
                "target": f"< {AUDITED_SAVE_RATIO:g}x",
                "met": ratio < AUDITED_SAVE_RATIO,
            }
        )
        print(f"  {label}: audited {audited_ms:.2f} ms, plain {plain_ms:.2f} ms", flush=True)
    return results


# --- The table ------------------------------------------------------------------------------


def judge(ask: Ask, ref: Timing | None, big: Timing | None, tracker_base: float | None):
    """Issue 10's targets for this request, as (target, value, met) on the big plan.

    Growth is judged for pages only: the exports and the import do work in proportion to
    the plan (or the file) by design, 28 rows against 20,000."""
    if big is None or big.median is None or ask.kind in ("baseline", "openpyxl"):
        return []
    found = []
    limit_ms = {"page": PAGE_MS, "post": PAGE_MS, "preview": PAGE_MS, "as_of": AS_OF_MS}
    limit_ms |= {"tracker": EXPORT_MS, "export": EXPORT_MS}
    if ask.kind in limit_ms:
        limit = limit_ms[ask.kind]
        found.append((f"< {limit} ms", f"{big.median:.0f} ms", big.median < limit))
    if ask.kind in ("page", "post", "as_of") and ref is not None and ref.median:
        growth = big.median / ref.median
        found.append((f"<= {GROWTH:g}x ref", f"{growth:.1f}x", growth <= GROWTH))
    if ask.kind == "tracker" and tracker_base:
        ratio = big.median / tracker_base
        found.append((f"<= {OPENPYXL_RATIO:g}x openpyxl", f"{ratio:.2f}x", ratio <= OPENPYXL_RATIO))
    if big.queries is not None:
        found.append((f"< {QUERIES} queries", str(big.queries), big.queries < QUERIES))
    return found


def table(asks, reference, big, skip_reference: bool) -> tuple[list[list[str]], list[dict]]:
    """The rows printed, and the same for --json."""
    baselines = {role: big.get((role, f"GET {BASELINE} (baseline)")) for role in ROLES}
    ref_baselines = {role: reference.get((role, f"GET {BASELINE} (baseline)")) for role in ROLES}
    openpyxl_values = big.get(("office", "openpyxl write-only: the tracker's values"))
    # The stricter of openpyxl's two writes: its values alone, without the tracker's styles.
    tracker_base = openpyxl_values.median if openpyxl_values else None
    lines, records = [], []
    for ask in asks:
        ref, now = reference.get(ask.key), big.get(ask.key)
        base = baselines.get(ask.role)
        growth = now.median / ref.median if now and ref and now.median and ref.median else None
        times = (
            now.median / base.median
            if now and base and now.median and base.median and ask.kind != "openpyxl"
            else None
        )
        # The two plans are timed minutes apart on a shared machine: growth divided by the
        # baseline's own growth takes out how much slower the machine got in between.
        ref_base = ref_baselines.get(ask.role)
        adjusted = (
            growth / (base.median / ref_base.median)
            if growth and base and ref_base and base.median and ref_base.median
            else None
        )
        judged = judge(ask, ref, now, tracker_base)
        verdict = "; ".join(f"{target} {'met' if met else 'MISSED'}" for target, _, met in judged)
        notes = [now.note] if now and now.note else []
        if ref and ref.note and ref.note != (now.note if now else ""):
            notes.append(f"ref: {ref.note}")
        lines.append(
            [
                ask.role,
                ask.label,
                "skipped" if skip_reference else _ms(ref.median if ref else None),
                _count(ref),
                _ms(now.median if now else None),
                _ms(now.p95 if now else None),
                _count(now),
                "-" if growth is None else f"{growth:.1f}",
                "-" if adjusted is None else f"{adjusted:.1f}",
                "-" if times is None else f"{times:.1f}",
                verdict or "-",
                " | ".join(notes),
            ]
        )
        records.append(
            {
                "role": ask.role,
                "request": ask.label,
                "kind": ask.kind,
                "reference": ref.as_dict() if ref else None,
                "big": now.as_dict() if now else None,
                "growth": _rounded(growth, 3),
                "growth_adjusted": _rounded(adjusted, 3),
                "times_baseline": _rounded(times, 3),
                "targets": [
                    {"target": target, "value": value, "met": met} for target, value, met in judged
                ],
            }
        )
    return lines, records


def _count(row: Timing | None) -> str:
    return "-" if row is None or row.queries is None else str(row.queries)


def markdown(header: list[str], lines: list[list[str]]) -> str:
    """A Markdown table, its columns padded so that it reads as plain text too."""
    escaped = [[cell.replace("|", "\\|") for cell in line] for line in [header, *lines]]
    widths = [max(len(line[i]) for line in escaped) for i in range(len(header))]
    out = []
    for number, line in enumerate(escaped):
        out.append("| " + " | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) + " |")
        if number == 0:
            out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(out)


# --- Loading the plans ----------------------------------------------------------------------


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


def analyze_if_postgres() -> None:
    """What autovacuum does on a server soon after a load: without it the planner has no
    statistics and the tables keep the load's dead rows, and the plans timed would be ones a
    production database does not run. (The server here runs with autovacuum off.)"""
    from django.db import connection

    if connection.vendor == "postgresql":
        step("VACUUM ANALYZE", vacuum_analyze)


def load_reference() -> None:
    """Migrate, then the reference plan and the demo users (``load_demo``)."""
    from django.core.management import call_command

    quiet = {"verbosity": 0}
    step("migrate", call_command, "migrate", **quiet)
    step("collectstatic", call_command, "collectstatic", interactive=False, **quiet)
    step("load_demo", call_command, "load_demo", "--allow-production", stdout=StringIO(), **quiet)


def load_synthetic(args, analyze: bool = True) -> float:
    """``generate_plan`` as ``args`` ask (it closes the plan that was live); on PostgreSQL,
    ``VACUUM ANALYZE`` afterwards unless told not to. Returns generate_plan's seconds."""
    from django.core.management import call_command
    from django.db import connections

    # A connection that wrote to the reference plan keeps PostgreSQL's plans of the
    # foreign-key checks, made while the tables held 28 actions: a sequential scan each. At
    # generate_plan's commit every new row is checked that way (the commit ran past ten
    # minutes once); a new connection plans them for the tables as they are.
    connections.close_all()
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
    if analyze:
        analyze_if_postgres()
    return generate_seconds


def load_plans(args, analyze: bool = True) -> float:
    """Migrate, load the reference plan, then ``generate_plan`` (``load_synthetic``)."""
    load_reference()
    return load_synthetic(args, analyze)


# --- The run --------------------------------------------------------------------------------


def the_code() -> dict:
    """The commit measured, and the files changed in the checkout since (others may be
    editing it while the benchmark runs)."""

    def git(*words):
        try:
            done = subprocess.run(
                ["git", *words], cwd=ROOT, capture_output=True, text=True, timeout=30
            )
        except OSError:
            return ""
        return done.stdout.strip()

    return {
        "commit": git("rev-parse", "--short", "HEAD"),
        "changed_files": [f for f in git("diff", "--name-only", "HEAD").splitlines() if f],
    }


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def benchmark(args) -> None:
    from django.db import connection

    from workstreams.models import Plan

    run = {
        "started": datetime.datetime.now().isoformat(timespec="seconds"),
        "load_average_before": load_average(),
        **the_code(),
        **{
            name: getattr(args, name)
            for name in (
                "actions",
                "months",
                "seed",
                "repeat",
                "rounds",
                "slow_repeat",
                "save_repeat",
            )
        },
        "import_rows": args.import_rows,
        "search": args.search,
        "pages": args.pages.pattern if args.pages else None,
    }
    print(f"load average before: {run['load_average_before']}", flush=True)
    load_reference()
    reference, casts, databases, copy = {}, {}, {}, None
    try:
        if not args.skip_reference:
            analyze_if_postgres()
            casts["reference"] = cast_of(Plan.objects.live().get(), REFERENCE_CHAIR, REFERENCE_LEAD)
            databases["reference"] = connection.settings_dict["NAME"]
            copy = databases["big"] = copy_database(args)
            use_database(copy)
        run["generate_plan_s"] = round(load_synthetic(args), 1)
        casts["big"] = cast = cast_of(Plan.objects.live().get())
        if args.skip_reference:
            print("The synthetic plan:", flush=True)
            big = measure(cast, args)
        else:
            print("Both plans, each request on one and then the other:", flush=True)
            timed = measure_in_turn(casts, databases, args)
            reference, big = timed["reference"], timed["big"]
            use_database(databases["big"])
        saves = []
        if args.pages is None or args.pages.search("save"):
            print("Saves:", flush=True)
            saves = time_saves(cast, args.save_repeat)
        run["load_average_after"] = load_average()
        asks = asks_of(cast, args)
        run["database"] = connection.vendor
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SHOW server_version")
                run["server_version"] = cursor.fetchone()[0]
    finally:
        if copy:
            use_database(databases["reference"])
            drop_copy(args, copy)
    report(args, run, casts, asks, (reference, big), saves)


def report(args, run: dict, casts: dict, asks: list, timed: tuple, saves: list) -> None:
    """The run's tables on stdout, and its JSON where asked: ``timed`` is the reference
    plan's timings and the big plan's."""
    reference, big = timed
    run["users"] = {
        role: {plan: c.users[role].username for plan, c in casts.items()} for role in ROLES
    }

    header = [
        "role",
        "request",
        "ref median ms",
        "ref queries",
        "big median ms",
        "big p95 ms",
        "big queries",
        "growth",
        "growth ÷ baseline's",
        "× baseline",
        "targets (big plan)",
        "note",
    ]
    lines, records = table(asks, reference, big, args.skip_reference)
    print()
    print(
        f"Database: {run['database']} {run.get('server_version', '')} | big plan: "
        f"{args.actions} actions, {args.months} months (seed {args.seed}) | generate_plan: "
        f"{run['generate_plan_s']} s | {args.repeat} timed requests a page "
        f"(in {args.rounds} rounds, the plans in turn), "
        f"{args.slow_repeat} of the exports and the import | commit {run['commit']}"
        + (f" (changed since: {', '.join(run['changed_files'])})" if run["changed_files"] else "")
    )
    print(
        "Users: "
        + "; ".join(f"{role}: {' / '.join(names.values())}" for role, names in run["users"].items())
        + f" | load average before {run['load_average_before']}, "
        f"after {run['load_average_after']}"
    )
    print()
    print(markdown(header, lines))
    if saves:
        print()
        save_header = [
            "save (one action, in a transaction)",
            "audited median ms",
            "plain median ms",
            "ratio",
            "queries audited / plain",
            f"target < {AUDITED_SAVE_RATIO:g}x",
        ]
        print(
            markdown(
                save_header,
                [
                    [
                        s["save"],
                        f"{s['audited_median_ms']:.2f}",
                        f"{s['plain_median_ms']:.2f}",
                        f"{s['ratio']:.2f}",
                        f"{s['audited_queries']} / {s['plain_queries']}",
                        "met" if s["met"] else "MISSED",
                    ]
                    for s in saves
                ],
            )
        )
    if args.json:
        args.json.write_text(
            json.dumps({"run": run, "requests": records, "saves": saves}, indent=2) + "\n",
            encoding="utf-8",
        )
        print(f"\nWritten: {args.json}")


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
