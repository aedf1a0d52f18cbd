"""Grip's load test, run on demand (not part of the test suite): see benchmarks/README.md,
"Load test".

    .venv/bin/python benchmarks/load.py [--actions 20000] [--months 24] [--reference]
                                        [--users 50] [--spawn-rate 2] [--run-time 120]
                                        [--workers 3] [--threads 4] [--think 1,5] [--typing 5,10]
                                        [--database-url postgres://postgres@127.0.0.1:5432/postgres]
                                        [--cache-url URL] [--out DIR] [--wait-for-quiet SECONDS]

Builds a throwaway PostgreSQL database (run.py's helpers: the reference plan and demo users,
then ``generate_plan``, unless --reference), gives the accounts it will sign in as a
password, starts gunicorn in production mode, and runs benchmarks/locustfile.py with locust
against it: chairs working through their month (40 users in 50) and board members reading
(10 in 50). Then it counts the updates in the database against the answers the users got,
and prints the figures. Exits non-zero if a target is missed: an error (a 5xx or a request
with no answer), an update lost or duplicated, or a p95 of 500 ms or more.
"""

import argparse
import collections
import importlib.util
import json
import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from run import (
    ROOT,
    analyze_if_postgres,
    in_throwaway_database,
    load_plans,
    load_reference,
    percentile,
    step,
    the_code,
)

HERE = Path(__file__).resolve().parent
# Set on the throwaway database's accounts only; the demo's own is `grip-demo`.
PASSWORD = "grip-load-test"
# Each lead officer works through this many of their open actions, round after round: a
# month's worth, and few enough that their task group chair, working through the same
# actions, now and then saves one while they have its form open (the version check's 409).
ACTIONS_PER_LEAD = 6
P95_TARGET_MS = 500
SIGN_IN = ("sign-in form", "sign in")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--actions", type=int, default=20000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--reference",
        action="store_true",
        help="the reference plan and the demo users only (no generate_plan)",
    )
    parser.add_argument("--users", type=int, default=50, help="concurrent users (4 in 5 chairs)")
    parser.add_argument("--spawn-rate", type=float, default=2, help="users started a second")
    parser.add_argument("--run-time", type=int, default=120, metavar="SECONDS")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads a worker")
    parser.add_argument(
        "--think", default="1,5", metavar="LOW,HIGH", help="seconds between pages (uniform)"
    )
    parser.add_argument(
        "--typing", default="5,10", metavar="LOW,HIGH", help="seconds writing an update"
    )
    parser.add_argument(
        "--database-url",
        default="postgres://postgres@127.0.0.1:5432/postgres",
        help="the PostgreSQL server to make the throwaway database on",
    )
    parser.add_argument(
        "--cache-url",
        default="",
        help="gunicorn's CACHE_URL (default: none, a cache in each process); db:// makes its "
        "table first",
    )
    parser.add_argument(
        "--out", type=Path, help="keep locust's CSV files, the results and the logs here"
    )
    parser.add_argument(
        "--wait-for-quiet",
        type=int,
        default=0,
        metavar="SECONDS",
        help="on a shared machine: before starting the users, wait up to this long for the "
        "1-minute load average to fall below 1",
    )
    args = parser.parse_args()
    if not args.database_url.startswith("postgres"):
        parser.error("the load test runs on PostgreSQL: --database-url postgres://…")
    return args


def locust_installed() -> None:
    """locust is not in requirements.lock (CI does not need it): install its pinned set."""
    if importlib.util.find_spec("locust") is None:
        lock = HERE / "load-requirements.lock"
        print(f"locust is missing: installing {lock.relative_to(ROOT)}", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-r", str(lock)], check=True)


# --- The database ---------------------------------------------------------------------------


def interleaved(lists):
    """The first of each list, then the second of each, and so on."""
    out = []
    for round_ in range(max(map(len, lists), default=0)):
        out += [items[round_] for items in lists if round_ < len(items)]
    return out


def cast_chosen(chair_side: int, board: int) -> dict:
    """Who signs in, and what each chair-side account works on.

    Chair side: the live plan's task group chairs, then lead officers of its open actions,
    taken a workstream at a time in turn, up to ``chair_side`` accounts. A lead works through
    their first ``ACTIONS_PER_LEAD`` open actions; a chair through the same actions of the
    leads signed in from their workstream, taken in turn (or, with none, their workstream's
    first open actions). Board: members of the programme board and readers with no role, then
    accounts made for the test (``load.board.<n>``) up to ``board``. Every one of them gets
    ``PASSWORD``.
    """
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    from governance.models import Body, Membership, ProgressReport
    from workstreams.models import OPEN_STATUSES, Action, Plan

    User = get_user_model()
    plan = Plan.objects.live().get()
    open_actions = list(
        Action.objects.filter(plan=plan, status__in=OPEN_STATUSES)
        .order_by("workstream__code", "reference")
        .values_list("reference", "lead_officer_id", "workstream__code")
    )
    code_of = {reference: code for reference, _, code in open_actions}
    of_lead = collections.defaultdict(list)
    for reference, lead_id, _ in open_actions:
        of_lead[lead_id].append(reference)
    chairs = {
        m.user: m.body.workstream.code
        for m in Membership.objects.filter(
            role=Membership.Role.CHAIR,
            body__kind=Body.Kind.TASK_GROUP,
            body__workstream__plan=plan,
            user__is_active=True,
        )
        .select_related("user", "body__workstream")
        .order_by("body__workstream__code")
    }
    leads_by_code = collections.defaultdict(list)
    for lead in User.objects.filter(pk__in=list(of_lead), is_active=True).order_by("pk"):
        if lead not in chairs:
            leads_by_code[code_of[of_lead[lead.pk][0]]].append(lead)
    leads = interleaved([leads_by_code[code] for code in sorted(leads_by_code)])
    leads = leads[: max(0, chair_side - len(chairs))]

    work = {lead: of_lead[lead.pk][:ACTIONS_PER_LEAD] for lead in leads}
    accounts = []
    for chair, code in chairs.items():
        theirs = (
            interleaved([[r for r in refs if code_of[r] == code] for refs in work.values()])
            or [r for r, _, c in open_actions if c == code][: 3 * ACTIONS_PER_LEAD]
        )
        accounts.append((chair, code, theirs))
    accounts += [(lead, code_of[work[lead][0]], work[lead]) for lead in leads]
    accounts = [(user, code, refs) for user, code, refs in accounts if refs]

    chair_side_ids = [user.pk for user, _, _ in accounts]  # one role per account
    readers = list(
        User.objects.filter(
            is_active=True,
            memberships__role__in=[Membership.Role.CHAIR, Membership.Role.MEMBER],
            memberships__body__kind=Body.Kind.PROGRAMME_BOARD,
        )
        .exclude(pk__in=chair_side_ids)
        .distinct()
        .order_by("username")
    )
    taken = chair_side_ids + [user.pk for user in readers]
    readers += (
        User.objects.filter(is_active=True, is_staff=False, is_superuser=False)
        .filter(memberships=None, groups=None)
        .exclude(username__startswith="synthetic.")
        .exclude(username=settings.GRIP_SYSTEM_USERNAME)
        .exclude(pk__in=taken)
        .order_by("username")
    )
    readers = readers[:board]
    for n in range(len(readers) + 1, board + 1):
        reader, _ = User.objects.get_or_create(
            username=f"load.board.{n}",
            defaults={"first_name": "Load test", "last_name": f"board member {n}"},
        )
        readers.append(reader)

    hashed = make_password(PASSWORD)  # hashed once: the same hash serves every account
    for user in [user for user, _, _ in accounts] + readers:
        user.password = hashed
        user.save(update_fields=["password"])
    reports = list(
        ProgressReport.objects.filter(plan=plan)
        .order_by("-period", "workstream__code")
        .values_list("pk", flat=True)[:20]
    )
    return {
        "password": PASSWORD,
        "chairs": [
            {
                "username": user.username,
                "actions": refs,
                # No update yet this month in their workstream; their own off track or at risk.
                "filters": [
                    f"/actions/?workstream={code}&attention=no_update",
                    "/actions/?mine=on&status=red&status=amber",
                ],
            }
            for user, code, refs in accounts
        ],
        "board": [{"username": user.username} for user in readers],
        "reports": reports,
    }


def counted() -> dict:
    from django.db.models import Max

    from workstreams.models import Action, ActionUpdate

    return {
        "updates": ActionUpdate.objects.count(),
        "last update": ActionUpdate.objects.aggregate(last=Max("pk"))["last"] or 0,
        "action history": Action.history.count(),
        "update history": ActionUpdate.history.count(),
    }


# --- Gunicorn -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def gunicorn_started(args, workdir: Path, port: int) -> subprocess.Popen:
    """Gunicorn in production mode (the settings' DEBUG off, with a throwaway secret): with
    gunicorn.conf.py where there is one, the workers, threads and address given, and the
    access log in a file, in a form this script reads."""
    bind = f"127.0.0.1:{port}"
    env = {
        **os.environ,
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
        "GUNICORN_WORKERS": str(args.workers),
        "GUNICORN_THREADS": str(args.threads),
        "GUNICORN_BIND": bind,
    }
    command = [sys.executable, "-m", "gunicorn"]
    conf = ROOT / "gunicorn.conf.py"
    if conf.exists():
        command += ["--config", str(conf)]
    command += [
        f"--workers={args.workers}",
        f"--threads={args.threads}",
        f"--bind={bind}",
        f"--access-logfile={workdir / 'access.log'}",
        # Status first, for the count of 5xx; the request id, to find Django's log lines.
        '--access-logformat=%(s)s %(M)sms "%(r)s" request_id=%({x-request-id}o)s',
        "--log-level=warning",
        "improvement.wsgi",
    ]
    log = open(workdir / "gunicorn.log", "w")  # noqa: SIM115 (closed with the process)
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    process.log = log
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn stopped: {tail(workdir / 'gunicorn.log')}")
        try:
            with urllib.request.urlopen(f"http://{bind}/healthz/", timeout=5) as answer:
                if answer.status == 200:
                    return process
        except OSError:
            time.sleep(0.5)
    process.kill()
    raise RuntimeError(f"gunicorn did not answer /healthz/: {tail(workdir / 'gunicorn.log')}")


def gunicorn_stopped(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()  # a graceful stop: workers finish what they are doing
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    process.log.close()


def tail(path: Path, lines: int = 20) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


def quiet_awaited(seconds: int) -> tuple[float, float, float]:
    """Wait up to ``seconds`` for the machine's 1-minute load average to fall below 1 (other
    people's work on a shared machine); return the load averages when the wait ended."""
    deadline = time.monotonic() + seconds
    waited = False
    while os.getloadavg()[0] >= 1 and time.monotonic() < deadline:
        if not waited:
            print(
                f"waiting for a quiet machine (load average {os.getloadavg()[0]:.2f})", flush=True
            )
            waited = True
        time.sleep(5)
    return os.getloadavg()


# --- CPU: who used the two cores ------------------------------------------------------------


class CpuWatch:
    """CPU seconds used while the users run: the machine's (all, busy), gunicorn's (master and
    workers) and PostgreSQL's for the test's database (the processes of its connections; other
    people's databases on the same server are not counted). Processes come and go (gunicorn
    replaces a worker after ``max_requests``, and its connections close with it), so they are
    read every second and each is counted to its last reading."""

    def __init__(self, gunicorn_pid: int):
        import psutil

        self.psutil = psutil
        self.master = psutil.Process(gunicorn_pid)
        self.database = urlsplit(os.environ["DATABASE_URL"]).path.lstrip("/")
        self.first: dict[tuple[str, int], float] = {}
        self.last: dict[tuple[str, int], float] = {}
        self.machine = psutil.cpu_times()
        self.read(start=True)
        self.workers_at_start = len(self.first) - 1 - self.postgres_count()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.watch, daemon=True)
        self.thread.start()

    def processes(self):
        try:
            yield from (("gunicorn", p) for p in [self.master, *self.master.children(True)])
        except self.psutil.Error:
            return  # gunicorn has stopped: the run is over
        for proc in self.psutil.process_iter(["name", "cmdline"]):
            command = " ".join(proc.info["cmdline"] or [])
            if proc.info["name"] == "postgres" and f" {self.database} " in command:
                yield "postgres", proc

    def read(self, start: bool = False) -> None:
        for group, proc in self.processes():
            try:
                times = proc.cpu_times()
            except self.psutil.Error:
                continue
            key = (group, proc.pid)
            self.first.setdefault(key, times.user + times.system if start else 0.0)
            self.last[key] = times.user + times.system

    def postgres_count(self) -> int:
        return sum(1 for group, _ in self.last if group == "postgres")

    def watch(self) -> None:
        while not self.done.wait(1):
            self.read()

    def stopped(self) -> dict:
        self.done.set()
        self.thread.join()
        self.read()
        before, after = self.machine, self.psutil.cpu_times()
        every = sum(after) - sum(before)
        idle = after.idle - before.idle + getattr(after, "iowait", 0) - getattr(before, "iowait", 0)
        used = {"all": every, "busy": every - idle, "gunicorn": 0.0, "postgres": 0.0}
        # Workers gunicorn started during the run, each replacing one (max_requests).
        used["workers replaced"] = (
            len(self.last) - 1 - self.postgres_count() - self.workers_at_start
        )
        for key, seconds in self.last.items():
            used[key[0]] += seconds - self.first[key]
        return used


# --- The run --------------------------------------------------------------------------------


def load_test(args) -> None:
    workdir = Path(os.environ["STATIC_ROOT"]).parent
    out = args.out or workdir
    out.mkdir(parents=True, exist_ok=True)
    if args.reference:
        load_reference()
        analyze_if_postgres()
        plan_words = "the reference plan"
    else:
        load_plans(args)
        plan_words = f"{args.actions} actions × {args.months} months (seed {args.seed})"
    if args.cache_url.startswith("db"):
        from django.core.management import call_command

        step("createcachetable", call_command, "createcachetable")
    chair_side = round(args.users * 40 / 50)
    cast, _ = step("accounts", cast_chosen, chair_side, args.users - chair_side)
    (workdir / "cast.json").write_text(json.dumps(cast, indent=1))
    print(
        f"    {len(cast['chairs'])} chair-side accounts (chairs and lead officers), "
        f"{len(cast['board'])} board accounts, {len(cast['reports'])} reports to read",
        flush=True,
    )
    from django.db import connections

    connections.close_all()  # the test's database connections are gunicorn's

    port = free_port()
    gunicorn, _ = step("gunicorn up", gunicorn_started, args, workdir, port)
    try:
        before = counted()
        connections.close_all()
        results = out / "results.json"
        env = {
            **os.environ,
            "LOAD_CAST": str(workdir / "cast.json"),
            "LOAD_RESULTS": str(results),
            "LOAD_THINK": args.think,
            "LOAD_TYPING": args.typing,
        }
        command = [
            sys.executable,
            "-m",
            "locust",
            "--locustfile",
            str(HERE / "locustfile.py"),
            "--headless",
            f"--users={args.users}",
            f"--spawn-rate={args.spawn_rate}",
            f"--run-time={args.run_time}s",
            # Users stop between tasks, so an update being written is posted and answered.
            "--stop-timeout=30",
            f"--host=http://127.0.0.1:{port}",
            f"--csv={out / 'locust'}",
            "--only-summary",
        ]
        load_average = quiet_awaited(args.wait_for_quiet)
        cpu_watch = CpuWatch(gunicorn.pid)
        children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        print(
            f"locust: {args.users} users at {args.spawn_rate} a second for {args.run_time} s "
            f"(load average before: {load_average[0]:.2f})",
            flush=True,
        )
        with open(out / "locust.log", "w") as log:
            subprocess.run(command, cwd=HERE, env=env, stdout=log, stderr=subprocess.STDOUT)
        cpu = cpu_watch.stopped()
        children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        after = counted()
        if not results.exists():
            raise RuntimeError(f"locust wrote no results: {tail(out / 'locust.log')}")
        locust_cpu = sum(
            getattr(children_after, f) - getattr(children_before, f)
            for f in ("ru_utime", "ru_stime")
        )
        cpu["locust"] = locust_cpu
        missed = report(
            args,
            plan_words,
            json.loads(results.read_text()),
            before,
            after,
            cpu,
            workdir,
        )
    finally:
        gunicorn_stopped(gunicorn)
        if args.out:
            for name in ("gunicorn.log", "access.log", "cast.json"):
                if (workdir / name).exists() and workdir != args.out:
                    shutil.copy(workdir / name, args.out / name)
    if missed:
        print("\nTargets missed: " + "; ".join(missed))
        raise SystemExit(1)
    print("\nEvery target met.")


# --- The figures ----------------------------------------------------------------------------


def table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for number, row in enumerate([header, *rows]):
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        print("  ".join(cells))
        if number == 0:
            print("  ".join("-" * w for w in widths))


def line(label: str, samples: list, seconds: float) -> list[str]:
    times = [s[2] for s in samples]
    failures = sum(1 for s in samples if s[4])
    if not times:
        return [label, "0", "0", "-", "-", "-", "-"]
    return [
        label,
        str(len(times)),
        str(failures),
        f"{len(times) / seconds:.2f}",
        f"{percentile(times, 0.50):.0f}",
        f"{percentile(times, 0.95):.0f}",
        f"{percentile(times, 0.99):.0f}",
    ]


def report(args, plan_words, results, before, after, cpu, workdir) -> list[str]:
    """Print the figures; return the targets missed."""
    from workstreams.models import ActionUpdate

    missed = []
    samples = results["requests"]
    started = min(s[5] for s in samples)
    seconds = max(s[5] + s[2] / 1000 for s in samples) - started
    kinds = collections.defaultdict(list)
    for sample in samples:
        kinds[f"{sample[1]} {sample[0]}"].append(sample)
    pages = [s for s in samples if s[0] not in SIGN_IN]
    ramp = args.users / args.spawn_rate
    settled = [s for s in pages if s[5] - started >= ramp]

    print(
        f"\nPostgreSQL | {plan_words} | gunicorn {args.workers} workers × {args.threads} "
        f"threads | {args.users} users ({round(args.users * 40 / 50)} chairs' month, "
        f"{args.users - round(args.users * 40 / 50)} board members), {args.spawn_rate} started "
        f"a second, {args.run_time} s | think {args.think} s, typing {args.typing} s | "
        f"CACHE_URL {args.cache_url or 'none (a cache in each process)'}"
    )
    code = the_code()
    changed = code["changed_files"]
    print(
        f"Code: commit {code['commit'] or '(not a git checkout)'}"
        + (f", with uncommitted changes to {', '.join(changed)}" if changed else "")
        + f"; gunicorn.conf.py: {'used' if (ROOT / 'gunicorn.conf.py').exists() else 'none'}"
    )
    busy = cpu["busy"] / cpu["all"] * 100 if cpu["all"] else 0
    others = cpu["busy"] - cpu["gunicorn"] - cpu["postgres"] - cpu["locust"]
    print(
        f"CPU ({os.cpu_count()} cores, {cpu['all'] / (os.cpu_count() or 1):.0f} s): {busy:.0f} % "
        f"busy; CPU seconds: gunicorn {cpu['gunicorn']:.0f}, PostgreSQL {cpu['postgres']:.0f}, "
        f"locust {cpu['locust']:.0f}, everything else on the machine {others:.0f}; gunicorn "
        f"workers replaced during the run (max_requests): {cpu['workers replaced']}\n"
    )
    header = ["request", "requests", "failures", "rps", "p50 ms", "p95 ms", "p99 ms"]
    rows = [
        line(kind, kinds[kind], seconds)
        for kind in sorted(kinds)
        if kind.split(" ", 1)[1] not in SIGN_IN
    ]
    rows.append(line("all but the sign-in", pages, seconds))
    rows.append(line(f"  the same after the ramp-up (+{ramp:.0f} s)", settled, seconds - ramp))
    rows.append(line("all", samples, seconds))
    rows += [
        line(kind, kinds[kind], seconds)
        for kind in sorted(kinds)
        if kind.split(" ", 1)[1] in SIGN_IN
    ]
    table(header, rows)

    # Errors: what locust counted, and what gunicorn logged.
    statuses = collections.Counter(s[3] for s in samples)
    server_errors = sum(n for status, n in statuses.items() if status >= 500)
    no_answer = statuses.get(0, 0)
    failed = collections.Counter(f"{s[1]} {s[0]}: {s[4]}" for s in samples if s[4])
    access = (workdir / "access.log").read_text(errors="replace").splitlines()
    logged_5xx = sum(1 for entry in access if re.match(r"5\d\d ", entry))
    gunicorn_log = (workdir / "gunicorn.log").read_text(errors="replace")
    timeouts = gunicorn_log.count("WORKER TIMEOUT")
    tracebacks = gunicorn_log.count("Traceback")
    print(
        f"\nStatuses: {dict(sorted(statuses.items()))}. Server errors (5xx): {server_errors} "
        f"answered to locust, {logged_5xx} in gunicorn's access log ({len(access)} lines); "
        f"requests with no answer: {no_answer}; worker timeouts: {timeouts}; tracebacks "
        f"logged: {tracebacks}."
    )
    for what, n in failed.most_common(10):
        print(f"    {n} × {what}")
    if server_errors or logged_5xx or tracebacks:
        missed.append(f"server errors ({max(server_errors, logged_5xx)} 5xx)")
    if no_answer:
        missed.append(f"{no_answer} requests without an answer")
    others = sum(failed.values()) - server_errors - no_answer
    if others:
        missed.append(f"{others} requests answered other than expected")

    # The updates: every one answered as saved is in the database once, and nothing else is.
    updates = results["updates"]
    outcome = collections.Counter(u["outcome"] for u in updates)
    new = list(
        ActionUpdate.objects.filter(pk__gt=before["last update"]).values_list(
            "action__reference", "progress_narrative", "created_by__username"
        )
    )
    times_saved = collections.Counter(words for _, words, _ in new)
    by_outcome = collections.defaultdict(list)
    for update in updates:
        by_outcome[update["outcome"]].append(update["words"])
    lost = [w for w in by_outcome["saved"] if times_saved[w] == 0]
    wrongly = [w for k in ("conflict", "other") for w in by_outcome[k] if times_saved[w]]
    unanswered_saved = sum(1 for w in by_outcome["unanswered"] if times_saved[w])
    posted = {u["words"] for u in updates}
    strangers = [w for w in times_saved if w not in posted]
    duplicated = collections.Counter((ref, words, who) for ref, words, who in new)
    duplicated = {key: n for key, n in duplicated.items() if n > 1}
    grew = {k: after[k] - before[k] for k in ("updates", "action history", "update history")}
    expected = outcome["saved"] + unanswered_saved
    print(
        f"\nUpdates posted: {len(updates)}: {outcome['saved']} answered saved (302), "
        f"{outcome['conflict']} refused by the version check (409), {outcome['other']} other, "
        f"{outcome['unanswered']} unanswered when the test stopped"
        + (f" ({unanswered_saved} of them saved)" if outcome["unanswered"] else "")
        + "."
    )
    print(
        f"In the database: {grew['updates']} new updates, {grew['action history']} new action "
        f"history rows, {grew['update history']} new update history rows (expected "
        f"{expected} each); saved but not there (lost): {len(lost)}; there but answered not "
        f"saved: {len(wrongly)}; not posted by the test: {len(strangers)}; the same words, "
        f"action and author more than once (duplicated): {len(duplicated)}."
    )
    for update in [u for u in updates if u["outcome"] == "other"][:5]:
        print(f"    other: {update['reference']} {update.get('status')}: {update.get('detail')}")
    if lost or len(new) < expected:
        missed.append(f"{max(len(lost), expected - len(new))} updates lost")
    if duplicated or wrongly or strangers or len(new) > expected:
        missed.append("updates duplicated or saved against their answer")
    if grew["action history"] != expected or grew["update history"] != expected:
        missed.append("history rows do not match the updates")

    p95 = percentile([s[2] for s in pages], 0.95) if pages else 0
    if p95 >= P95_TARGET_MS:
        slow = [
            f"{kind} {percentile([s[2] for s in kinds[kind]], 0.95):.0f}"
            for kind in sorted(kinds)
            if kind.split(" ", 1)[1] not in SIGN_IN
            and percentile([s[2] for s in kinds[kind]], 0.95) >= P95_TARGET_MS
        ]
        missed.append(f"p95 {p95:.0f} ms (at or over {P95_TARGET_MS}; by kind: {', '.join(slow)})")
    return missed


def main() -> None:
    args = parse_args()
    locust_installed()
    os.environ["GRIP_ENV_FILE"] = ""  # nothing from a developer's .env in the measured server
    os.environ["CACHE_URL"] = args.cache_url  # the setup's writes refresh the server's cache
    in_throwaway_database(args, load_test, prefix="grip-load-")


if __name__ == "__main__":
    main()
