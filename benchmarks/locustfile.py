"""Grip's load test: a chair's month and a board member's, as locust users (benchmarks/load.py
runs it; see benchmarks/README.md, "Load test").

Read from the environment, which ``load.py`` sets:

- ``LOAD_CAST``: a JSON file naming the accounts to sign in as, their password, the actions
  each chair-side account works through, the filtered lists and the reports to read.
- ``LOAD_RESULTS``: where to write, when the test stops, every request (kind, milliseconds,
  status) and every update posted with what became of it, for ``load.py`` to check against
  the database.
- ``LOAD_THINK`` and ``LOAD_TYPING``: seconds between pages and seconds spent writing an
  update, as ``low,high`` (uniformly drawn).

Every account signs in through the real sign-in form, so the session and CSRF are what a
browser gets. Gunicorn is spoken to over plain http as a TLS-terminating proxy would: each
request says ``X-Forwarded-Proto: https`` (production mode trusts it), and form posts carry
the ``Origin`` and ``Referer`` a browser sends, which Django's CSRF check reads on https.
"""

import itertools
import json
import os
import random
import time
import uuid
from html.parser import HTMLParser
from http.cookiejar import DefaultCookiePolicy
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import gevent
from locust import FastHttpUser, SequentialTaskSet, events, task
from locust.exception import StopUser

CAST = json.loads(Path(os.environ["LOAD_CAST"]).read_text(encoding="utf-8"))


def seconds(name: str, default: str) -> tuple[float, float]:
    low, high = os.environ.get(name, default).split(",")
    return float(low), float(high)


THINK = seconds("LOAD_THINK", "1,5")
TYPING = seconds("LOAD_TYPING", "5,10")
CONFLICT_WORDS = "Someone else saved this action after you opened it"

# --- What is recorded, written out when the test stops -------------------------------------

REQUESTS: list[list] = []  # [kind, method, milliseconds, status, error, started at]
UPDATES: list[dict] = []  # one per update posted: who, which action, the words, the outcome


@events.request.add_listener
def record_request(request_type, name, response_time, response, exception, start_time, **_):
    status = getattr(response, "status_code", 0) or 0
    error = "" if exception is None else f"{type(exception).__name__}: {exception}"[:200]
    REQUESTS.append([name, request_type, round(response_time, 2), status, error, start_time])


@events.test_stop.add_listener
def write_results(environment, **_):
    # test_stop comes after every user has stopped (within --stop-timeout), so each update
    # posted has its answer, unless the user was killed waiting for it ("unanswered").
    with open(os.environ["LOAD_RESULTS"], "w", encoding="utf-8") as out:
        json.dump({"requests": REQUESTS, "updates": UPDATES}, out)


# --- Reading forms as a browser would -------------------------------------------------------


class Forms(HTMLParser):
    """The page's forms: each a list of (name, value) pairs a browser would submit, without
    the buttons."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.forms: list[list[tuple[str, str]]] = []
        self._form: list[tuple[str, str]] | None = None
        self._textarea: str | None = None
        self._text: list[str] = []
        self._select: str | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._form = []
            self.forms.append(self._form)
        if self._form is None or not attrs.get("name"):
            return
        name = attrs["name"]
        if tag == "input":
            kind = (attrs.get("type") or "text").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("radio", "checkbox") and "checked" not in attrs:
                return
            default = "on" if kind in ("radio", "checkbox") else ""
            self._form.append((name, attrs.get("value") or default))
        elif tag == "textarea":
            self._textarea, self._text = name, []
        elif tag == "select":
            self._select = name
        elif tag == "option" and self._select and "selected" in attrs:
            self._form.append((self._select, attrs.get("value", "")))

    def handle_data(self, data):
        if self._textarea is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "textarea" and self._textarea is not None and self._form is not None:
            text = "".join(self._text)
            # The HTML parser keeps the newline that browsers drop after <textarea>.
            self._form.append((self._textarea, text[1:] if text.startswith("\n") else text))
            self._textarea = None
        elif tag == "select":
            self._select = None
        elif tag == "form":
            self._form = None

    def having(self, field: str) -> list[tuple[str, str]] | None:
        return next((form for form in self.forms if any(n == field for n, _ in form)), None)


# --- The users ------------------------------------------------------------------------------


class GripUser(FastHttpUser):
    abstract = True
    accounts: list[dict] = []  # each concrete class: its accounts, and its own numbering
    numbering: itertools.count

    def wait_time(self):
        return random.uniform(*THINK)

    def on_start(self):
        self.number = next(self.numbering)
        self.account = self.accounts[self.number % len(self.accounts)]
        # Locust users sharing an account (when there are fewer accounts than users) start at
        # different places in its work.
        self.sharing = self.number // len(self.accounts)
        self.round = 0
        self.origin = "https://" + urlsplit(self.host).netloc
        # Production mode marks the session and CSRF cookies Secure. The browser holds them
        # for the https address the proxy serves, so they go with every request; here the
        # hop is plain http, and the cookie jar is told so.
        self.client.cookiejar.set_policy(DefaultCookiePolicy(secure_protocols=("http", "https")))
        self.sign_in()

    def page(self, path: str, kind: str, **kwargs):
        headers = {"X-Forwarded-Proto": "https", **kwargs.pop("headers", {})}
        return self.client.get(path, name=kind, headers=headers, **kwargs)

    def post(self, path: str, kind: str, fields: list[tuple[str, str]], **kwargs):
        headers = {
            "X-Forwarded-Proto": "https",
            "Origin": self.origin,
            "Referer": self.origin + path,
            "Content-Type": "application/x-www-form-urlencoded",
        }
        return self.client.post(
            path,
            name=kind,
            data=urlencode(fields),
            headers=headers,
            allow_redirects=False,
            **kwargs,
        )

    def sign_in(self):
        form = Forms(self.page("/accounts/login/", "sign-in form").text).having("password")
        if form is None:
            raise StopUser()
        fields = [(n, v) for n, v in form if n not in ("username", "password")]
        fields += [("username", self.account["username"]), ("password", CAST["password"])]
        with self.post("/accounts/login/", "sign in", fields, catch_response=True) as response:
            signed_in = response.status_code == 302
            if not signed_in:
                response.failure(f"sign-in not accepted ({response.status_code})")
        if not signed_in:
            raise StopUser()


class ChairMonthRound(SequentialTaskSet):
    """One round of a chair's (or lead officer's) month: My work, the action list and a
    filtered page, then the next of their actions: its page, the update form, the update
    posted, and the action's page again as the redirect shows it."""

    @task
    def my_work(self):
        self.user.page("/", "/ (my work)")

    @task
    def action_list(self):
        self.user.page("/actions/", "/actions/")

    @task
    def filtered_list(self):
        filters = self.user.account["filters"]
        self.user.page(filters[self.user.round % len(filters)], "/actions/?[filter]")

    @task
    def action_page(self):
        work = self.user.account["actions"]
        index = self.user.round + 3 * self.user.sharing
        self.reference = work[index % len(work)]
        self.user.page(f"/actions/{self.reference}/", "/actions/[ref]/")

    @task
    def update(self):
        user, reference = self.user, self.reference
        path = f"/actions/{reference}/update/"
        form_page = user.page(path, "/actions/[ref]/update/")
        form = Forms(form_page.text).having("progress_narrative") if form_page.text else None
        user.round += 1
        if form is None:
            return  # counted as the failed GET it was
        gevent.sleep(random.uniform(*TYPING))  # a stop waits for the post (--stop-timeout)
        words = (
            f"Load test update {uuid.uuid4().hex[:12]} by {user.account['username']}: "
            f"round {user.round}, {time.strftime('%H:%M:%S')}."
        )
        fields = [(n, words if n == "progress_narrative" else v) for n, v in form]
        record = {"username": user.account["username"], "reference": reference, "words": words}
        record["outcome"] = "unanswered"  # until the answer comes
        UPDATES.append(record)
        with user.post(path, "/actions/[ref]/update/", fields, catch_response=True) as response:
            record["status"] = response.status_code
            location = response.headers.get("Location", "") if response.headers else ""
            if response.status_code == 302 and location.rstrip("/").endswith(reference):
                record["outcome"] = "saved"
            elif response.status_code == 409 or (
                response.status_code == 200 and CONFLICT_WORDS in (response.text or "")
            ):
                # The version check: someone else saved the action after this form opened.
                record["outcome"] = "conflict"
                response.success()
            else:
                record["outcome"] = "other"
                record["detail"] = (location or (response.text or "")[:300]).strip()
                response.failure(f"update not saved ({response.status_code})")
        if record["outcome"] == "saved":
            user.page(location, "/actions/[ref]/")  # the redirect, followed as a browser does


class ChairMonth(GripUser):
    weight = 40
    tasks = [ChairMonthRound]
    accounts = CAST["chairs"]
    numbering = itertools.count()


class BoardMemberRound(SequentialTaskSet):
    """A board member reads: the dashboard, the report list and a report, and in one round
    in five downloads the board pack (each user at its own turn, so they do not all at once).
    """

    @task
    def dashboard(self):
        self.user.page("/dashboard/", "/dashboard/")

    @task
    def reports(self):
        self.user.page("/reports/", "/reports/")

    @task
    def report(self):
        reports = CAST["reports"]
        if reports:
            index = self.user.round + self.user.number
            self.user.page(f"/reports/{reports[index % len(reports)]}/", "/reports/[id]/")

    @task
    def board_pack(self):
        user = self.user
        if (user.round + user.number) % 5 == 0:
            user.page("/exports/board-pack.xlsx", "/exports/board-pack.xlsx")
        user.round += 1


class BoardMember(GripUser):
    weight = 10
    tasks = [BoardMemberRound]
    accounts = CAST["board"]
    numbering = itertools.count()
