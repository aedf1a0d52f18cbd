"""Every URL × every role: the answer each user gets, generated from the URL configuration.

Issue 6, item 8. The URLs come from walking ``improvement.urls``: the portal, the sign-in
pages, every admin page of every registered model (history pages included) and every admin
action. Each is asked by anonymous, by every demo user and by a staff user who may only view,
with GET and with POST, with the CSRF check on (a POST carries the token, so a refusal is
for the right reason). The answers each should get are the tables below, written as the
product should behave (DESIGN.md, "Who may do what"; issue 6); a refused request, and any
GET, must leave the database as it was.

A URL with no expected answer fails ``test_every_url_has_an_expected_answer``: every page a
later issue adds joins the table, or the suite fails.

Each request runs in a savepoint that is rolled back, so every user asks the same database
(an allowed delete does not take the object away from the next user).
"""

import datetime
import functools
import io
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.cookies import SimpleCookie

import pytest
import time_machine
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from simple_history.exceptions import NotHistoricalModelError
from simple_history.utils import get_history_manager_for_model

from governance import services as governance_services
from governance.models import (
    Body,
    Decision,
    Meeting,
    ProgressReport,
    Reminder,
    ReportItem,
    Review,
    Risk,
)
from workstreams import imports, services
from workstreams.models import Action, ActionImport, ActionStatus, Plan

from .conftest import REFERENCE_DAY
from .helpers import DEMO_USERNAMES, report_in_state

pytestmark = pytest.mark.django_db

# --- Answers -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """What a request should get: one of ``outcomes``; and only if ``writes``, a change."""

    name: str
    outcomes: frozenset
    writes: bool = False

    def __str__(self):
        return self.name


def answer(name, *outcomes, writes=False):
    return Answer(name, frozenset(outcomes), writes)


LOGIN = answer("login", "login")  # sent to sign in: /accounts/login/?next=...
ADMIN_LOGIN = answer("admin login", "admin login")  # signed in but not staff: the admin's sign-in
# Anonymous on an admin page: to either sign-in page (the admin's own pages use theirs).
SIGN_IN = answer("login or admin login", "login", "admin login")
FORBIDDEN = answer("403", 403)
NOT_FOUND = answer("404", 404)
NOT_ALLOWED = answer("405", 405)  # the view has no such method
READ_ONLY = answer("403 or 405", 403, 405)  # a page that only shows: a POST is refused
SHOWN = answer("200", 200)  # the page (or the form again, with its errors); nothing changes
SENT_ON = answer("302, nothing done", 302)  # redirected elsewhere (not to sign in); no change
SAVES = answer("200/302, allowed", 200, 302, writes=True)  # the form again (errors) or done
DONE = answer("302, allowed", 302, writes=True)  # done, then back to the page
SIGNED_OUT = answer("login (signed out)", "login")
# An admin action the user may not run is not offered: the list again, or back to it.
NOT_OFFERED = answer("200/302, nothing done", 200, 302)
NOT_ASKED = None  # e.g. GET of an admin action: that is the changelist, asked on its own

# --- Who asks ----------------------------------------------------------------------------------

ANONYMOUS = "anonymous"
SUPERUSER = "admin"  # the demo administrator
STAFF_VIEWER = "staff.viewer"  # staff, with only the "view" permission on every model
USERS = (ANONYMOUS, *sorted(DEMO_USERNAMES), STAFF_VIEWER)
STAFF = (SUPERUSER, STAFF_VIEWER)

# A rule: for each user, the expected answer to (GET, POST).
Rule = dict[str, tuple[Answer | None, Answer | None]]


def public(get, post) -> Rule:
    """The same for everyone, signed in or not."""
    return dict.fromkeys(USERS, (get, post))


def signed_in(get, post) -> Rule:
    """Everyone signed in gets the same; anonymous is sent to sign in."""
    return {**public(get, post), ANONYMOUS: (LOGIN, LOGIN)}


def only(*allowed, get=SHOWN, post=SAVES, others=(FORBIDDEN, FORBIDDEN)) -> Rule:
    """``allowed`` users get (get, post); everyone else signed in is refused."""
    return {**signed_in(*others), **dict.fromkeys(allowed, (get, post))}


def staff(superuser, view_only=None) -> Rule:
    """An admin page: staff only. Others signed in go to the admin's sign-in page."""
    return {
        **signed_in(ADMIN_LOGIN, ADMIN_LOGIN),
        ANONYMOUS: (SIGN_IN, SIGN_IN),
        SUPERUSER: superuser,
        STAFF_VIEWER: view_only or superuser,
    }


# --- What each page should answer --------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One way of asking a URL: its arguments, query and POST body, and the rule."""

    label: str
    rule: Rule
    kwargs: Callable = lambda w: {}
    query: str = ""
    body: Callable = lambda w: {}
    path: str = ""  # for a pattern without a name (the admin's catch-all)


def action_form(reference):
    """A valid monthly update of ``reference``: let through, it would change the action."""

    def body(w):
        action = w.actions[reference]
        return {
            "status": ActionStatus.AT_RISK,
            "progress_narrative": "Written by whoever got through.",
            "evidence_of_impact": "",
            "next_steps": "",
            "revised_due_date_0": "",
            "revised_due_date_1": "",
            "revised_due_date_2": "",
            "due_date_reason": "",
            "version": action.version,
        }

    return body


def reset_by_email(get, post) -> Rule:
    """Password reset is there only where e-mail is set up (GRIP_PASSWORD_RESET)."""
    if getattr(settings, "GRIP_PASSWORD_RESET", False):
        return public(get, post)
    return public(NOT_FOUND, NOT_FOUND)


def ref(reference):
    return lambda w: {"reference": reference}


SROS = ("sro.mp", "sro.wf", "sro.pa", "sro.pl")
LEADS = ("lead.mp", "lead.wf", "lead.pa", "lead.pl")


def mp_meeting(w):
    """The MP task group's meeting that make_records() adds, on the suite's day."""
    return Meeting.objects.get(body__workstream__code="MP", date=REFERENCE_DAY.date())


def earlier_decision(w):
    """A decision of an earlier MP task group meeting, still open (make_records())."""
    return Decision.objects.get(text="Report the supervision audit.")


def mp_risk(w):
    return Risk.objects.get(title="Managers leave before the new standards bed in")


def meeting_form(w, **fields):
    """A valid meeting record: let through, it would change the meeting (or add one)."""
    return {
        "date_0": "11",
        "date_1": "1",
        "date_2": "2019",
        "period": "2018-12",
        "attendees": [w.users["sro.mp"].pk],
        "minutes": "Written by whoever got through.",
        **fields,
    }


def risk_form(w, **fields):
    return {
        "title": "Written by whoever got through",
        "description": "",
        "owner": w.users["sro.mp"].pk,
        "likelihood": "5",
        "impact": "5",
        "mitigation": "",
        "escalated": "on",
        **fields,
    }


# Four-question reports: make_records() adds December 2018's, one in each state: WF's a
# draft with a line, PA's submitted, PL's endorsed, the programme's signed off.
DECEMBER = datetime.date(2018, 12, 1)
WF_DRAFTERS = (SUPERUSER, "office", "sro.wf", "lead.wf")  # its lead officers, task group, office
POST_ONLY = {"get": NOT_ALLOWED, "post": DONE, "others": (NOT_ALLOWED, FORBIDDEN)}


def december_report(code):
    """The December 2018 report of workstream ``code`` (None: the programme's)."""
    reports = ProgressReport.objects.filter(plan__status=Plan.Status.LIVE, period=DECEMBER)
    return reports.get(workstream__code=code) if code else reports.get(workstream=None)


def report_of(code):
    return lambda w: {"pk": december_report(code).pk}


def wf_line(w):
    report = december_report("WF")
    return {"pk": report.pk, "item_id": report.items.get(description="Added for the matrix.").pk}


def report_answers(w):
    """The draft's answers as the edit form sends them: let through, they save."""
    report = december_report("WF")
    return {
        "working_well": "Written by whoever got through.",
        "how_we_know": report.how_we_know,
        "worried_about": report.worried_about,
        "version": report.version,
    }


def report_line(w):
    """A valid line of "what needs to happen": let through, it is added."""
    return {
        "item-description": "Written by whoever got through.",
        "item-owner": w.users["lead.wf"].pk,
        "item-due_date_0": "31",
        "item-due_date_1": "1",
        "item-due_date_2": "2019",
    }


def upload_of(file_name):
    return lambda w: {"token": ActionImport.objects.get(file_name=file_name).token}


def make_import_records(users, plan):
    """Two uploads by the programme office: one imported (changing nothing), one waiting for
    its confirmation (MP-1.2's title), its columns' mapping kept."""
    office = users["office"]
    mp_12 = Action.objects.get(plan=plan, reference="MP-1.2")
    for name, title in (("imported.csv", mp_12.title), ("waiting.csv", "Let through.")):
        content = f"Reference,Title\nMP-1.2,{title}\n".encode()
        read = imports.read_and_preview(file=io.BytesIO(content), name=name, plan=plan, by=office)
        found = services.action_import_start(by=office, plan=plan, **read)
        if name == "imported.csv":
            services.plan_import_apply(by=office, action_import=found, rows=[])
    services.action_import_read_again(
        action_import=found, by=office, fields=found.fields, preview=found.preview
    )


def make_report_records(users, plan):
    report_in_state(plan, "draft", code="WF", period=DECEMBER)
    governance_services.report_item_add(
        report=december_report("WF"),
        by=users["lead.wf"],
        description="Added for the matrix.",
        owner=users["lead.wf"],
        due_date=datetime.date(2019, 1, 31),
    )
    report_in_state(plan, "submitted", code="PA", period=DECEMBER)
    report_in_state(plan, "endorsed", code="PL", period=DECEMBER)
    report_in_state(plan, "signed_off", code=None, period=DECEMBER)


# DESIGN.md, "Who may do what": everyone signed in reads everything; a lead officer updates
# their own actions, a task group chair their workstream's, the programme office any; only
# the workstream's task group chair decides due-date moves and accepts evidence of impact.
# The demo administrator is a superuser, not a task group chair: a chair's decision is the
# chair's (issue 6's brief for the matrix), so the admin is refused there too.
PAGES: dict[str, list[Case]] = {
    # --- The portal ---
    "home": [Case("", signed_in(SHOWN, NOT_ALLOWED))],
    "healthz": [Case("", public(SHOWN, NOT_ALLOWED))],
    "workstreams:action-list": [Case("", signed_in(SHOWN, NOT_ALLOWED))],
    # The action tracker and the board pack: files every role may download, with the list's
    # and the dashboard's parameters; parameters that do not check out send back to the page.
    "workstreams:action-export-xlsx": [
        Case("", signed_in(SHOWN, NOT_ALLOWED)),
        Case("filtered", signed_in(SHOWN, NOT_ALLOWED), query="?status=red&period=2018-11"),
        Case("not a month", signed_in(SENT_ON, NOT_ALLOWED), query="?period=2018-13"),
    ],
    "workstreams:action-export-csv": [Case("", signed_in(SHOWN, NOT_ALLOWED))],
    "governance:board-pack": [
        Case("", signed_in(SHOWN, NOT_ALLOWED)),
        Case(
            "as of a day", signed_in(SHOWN, NOT_ALLOWED), query="?period=2018-11&as_of=2018-12-12"
        ),
        Case("not a month", signed_in(SENT_ON, NOT_ALLOWED), query="?period=2018-13"),
    ],
    # The programme board's dashboard: every role reads it, nobody posts to it.
    "governance:dashboard": [Case("", signed_in(SHOWN, NOT_ALLOWED))],
    "workstreams:action-detail": [
        Case("MP-1.2", signed_in(SHOWN, NOT_ALLOWED), ref("MP-1.2")),
        Case("no such action", signed_in(NOT_FOUND, NOT_ALLOWED), ref("XX-9.9")),
    ],
    "workstreams:action-history": [
        Case("MP-1.2", signed_in(SHOWN, NOT_ALLOWED), ref("MP-1.2")),
        Case("no such action", signed_in(NOT_FOUND, NOT_ALLOWED), ref("XX-9.9")),
    ],
    "workstreams:action-update": [
        Case(
            "MP-1.2, led by lead.mp",
            only(SUPERUSER, "office", "sro.mp", "lead.mp"),
            ref("MP-1.2"),
            body=action_form("MP-1.2"),
        ),
        Case(
            "MP-1.7, led by sro.mp: not lead.mp's",
            only(SUPERUSER, "office", "sro.mp"),
            ref("MP-1.7"),
            body=action_form("MP-1.7"),
        ),
        Case("no such action", signed_in(NOT_FOUND, NOT_FOUND), ref("XX-9.9")),
    ],
    # Deciding due dates and accepting evidence is the workstream's task group chair's, and
    # the administrator's: a superuser holds every permission (Django's rule), and the few
    # people who are superusers act through the same services, recorded in the history.
    "workstreams:due-date-decide": [
        Case(
            "MP-1.3's pending request",
            only(SUPERUSER, "sro.mp", get=NOT_ALLOWED, post=DONE, others=(NOT_ALLOWED, FORBIDDEN)),
            lambda w: {"reference": "MP-1.3", "change_id": w.pending_change.pk},
            body=lambda w: {"decision": "approved", "comment": "Let through."},
        ),
        Case(
            "MP-1.3's request addressed under MP-1.2",
            signed_in(NOT_ALLOWED, NOT_FOUND),
            lambda w: {"reference": "MP-1.2", "change_id": w.pending_change.pk},
            body=lambda w: {"decision": "approved", "comment": "Let through."},
        ),
    ],
    "workstreams:evidence-accept": [
        Case(
            "WF-2.3, complete, evidence waiting",
            only(SUPERUSER, "sro.wf", get=NOT_ALLOWED, post=DONE, others=(NOT_ALLOWED, FORBIDDEN)),
            ref("WF-2.3"),
            body=lambda w: {"version": w.actions["WF-2.3"].version},
        ),
    ],
    "workstreams:workstream-detail": [
        Case("MP", signed_in(SHOWN, NOT_ALLOWED), lambda w: {"code": "MP"}),
        Case("no such workstream", signed_in(NOT_FOUND, NOT_ALLOWED), lambda w: {"code": "XX"}),
    ],
    # --- The plan import: the programme office's (and the administrator's), no one else's;
    # make_import_records() leaves one upload waiting and one imported ---
    "workstreams:import": [Case("no file sent: the form again", only(SUPERUSER, "office"))],
    "workstreams:import-preview": [
        Case(
            "a file waiting (its columns read again, the mapping kept)",
            only(SUPERUSER, "office"),
            upload_of("waiting.csv"),
            body=lambda w: {"column-0": "reference", "column-1": "title"},
        ),
        Case(
            "no such upload",
            only(SUPERUSER, "office", get=NOT_FOUND, post=NOT_FOUND),
            lambda w: {"token": "00000000-0000-0000-0000-000000000000"},
        ),
    ],
    "workstreams:import-confirm": [
        Case("a file waiting", only(SUPERUSER, "office", **POST_ONLY), upload_of("waiting.csv")),
        Case(
            "a file imported already",
            only(
                SUPERUSER, "office", get=NOT_ALLOWED, post=SENT_ON, others=(NOT_ALLOWED, FORBIDDEN)
            ),
            upload_of("imported.csv"),
        ),
    ],
    "workstreams:import-done": [
        Case(
            "a file imported",
            only(SUPERUSER, "office", post=NOT_ALLOWED),
            upload_of("imported.csv"),
        ),
        Case(
            "a file waiting: to its preview",
            only(SUPERUSER, "office", get=SENT_ON, post=NOT_ALLOWED),
            upload_of("waiting.csv"),
        ),
    ],
    # --- Meetings: everyone reads; a body's chair and secretary record its meetings and
    # decisions, the programme office any body's (the demo's: sro.* chair task groups,
    # exec.director chairs the programme board, office is its secretary) ---
    "governance:meeting-list": [Case("", signed_in(SHOWN, NOT_ALLOWED))],
    "governance:meeting-record": [
        Case(
            "a body they record (sro.wf and others: a choice not offered to them)",
            only(SUPERUSER, "office", "exec.director", "sro.mp", "sro.wf", "sro.pa", "sro.pl"),
            body=lambda w: meeting_form(w, body=mp_meeting(w).body.pk),
        )
    ],
    "governance:meeting-detail": [
        Case("MP task group", signed_in(SHOWN, NOT_ALLOWED), lambda w: {"pk": mp_meeting(w).pk}),
        Case("no such meeting", signed_in(NOT_FOUND, NOT_ALLOWED), lambda w: {"pk": 999999}),
    ],
    "governance:meeting-edit": [
        Case(
            "MP task group",
            only(SUPERUSER, "office", "sro.mp"),
            lambda w: {"pk": mp_meeting(w).pk},
            body=meeting_form,
        )
    ],
    "governance:decision-add": [
        Case(
            "MP task group",
            only(SUPERUSER, "office", "sro.mp"),
            lambda w: {"pk": mp_meeting(w).pk},
            body=lambda w: {"text": "Let through.", "owner": "", "due_date_0": ""},
        )
    ],
    "governance:decision-close": [
        Case(
            "an earlier meeting's decision, at the MP task group",
            only(SUPERUSER, "office", "sro.mp"),
            lambda w: {"pk": mp_meeting(w).pk, "decision_id": earlier_decision(w).pk},
            body=lambda w: {"closing_note": "Let through."},
        ),
        Case(
            "a decision of the same meeting: not closed there",
            only(SUPERUSER, "office", "sro.mp", get=NOT_FOUND, post=NOT_FOUND),
            lambda w: {"pk": mp_meeting(w).pk, "decision_id": mp_meeting(w).decisions.first().pk},
            body=lambda w: {"closing_note": "Let through."},
        ),
    ],
    # --- Risks: everyone reads; a workstream's register is kept by its task group chair and
    # lead officers, the programme's by the programme board chair, all by the programme
    # office ---
    "governance:risk-list": [Case("", signed_in(SHOWN, NOT_ALLOWED))],
    "governance:risk-add": [
        Case(
            "who keeps a register (an MP risk: others' choice is not offered)",
            only(SUPERUSER, "office", "exec.director", *SROS, *LEADS),
            body=lambda w: risk_form(w, register="MP"),
        )
    ],
    "governance:risk-detail": [
        Case("an MP risk", signed_in(SHOWN, NOT_ALLOWED), lambda w: {"pk": mp_risk(w).pk}),
        Case("no such risk", signed_in(NOT_FOUND, NOT_ALLOWED), lambda w: {"pk": 999999}),
    ],
    "governance:risk-change": [
        Case(
            "an MP risk",
            only(SUPERUSER, "office", "sro.mp", "lead.mp"),
            lambda w: {"pk": mp_risk(w).pk},
            body=lambda w: risk_form(w, note="Let through.", based_on=""),
        )
    ],
    "governance:risk-close": [
        Case(
            "an MP risk",
            only(SUPERUSER, "office", "sro.mp", "lead.mp"),
            lambda w: {"pk": mp_risk(w).pk},
            body=lambda w: {"note": "Let through.", "based_on": ""},
        )
    ],
    # --- Four-question reports: everyone reads; a workstream's lead officers, task group
    # and the programme office draft its report (the office the programme's), its task
    # group chair endorses or returns it, the programme board chair signs off or returns,
    # the programme office reopens and makes a line a tracked action. A step the report's
    # state does not allow is refused with the reason, back on the report's page. ---
    "governance:report-list": [
        Case("", signed_in(SHOWN, NOT_ALLOWED)),
        Case("December 2018", signed_in(SHOWN, NOT_ALLOWED), query="?period=2018-12"),
        Case("not a month", signed_in(SHOWN, NOT_ALLOWED), query="?period=2018-13"),
    ],
    "governance:report-start": [
        Case(
            "WF, January 2019",
            only(*WF_DRAFTERS, **POST_ONLY),
            body=lambda w: {"period": "2019-01", "workstream": "WF"},
        ),
        Case(
            "the programme's, January 2019",
            only(SUPERUSER, "office", **POST_ONLY),
            body=lambda w: {"period": "2019-01", "workstream": ""},
        ),
        Case(
            "WF, December 2018: started already",
            only(*WF_DRAFTERS, get=NOT_ALLOWED, post=SENT_ON, others=(NOT_ALLOWED, FORBIDDEN)),
            body=lambda w: {"period": "2018-12", "workstream": "WF"},
        ),
    ],
    "governance:report-detail": [
        Case("WF, draft", signed_in(SHOWN, NOT_ALLOWED), report_of("WF")),
        Case("PL, endorsed", signed_in(SHOWN, NOT_ALLOWED), report_of("PL")),
        Case("the programme's, signed off", signed_in(SHOWN, NOT_ALLOWED), report_of(None)),
        Case("no such report", signed_in(NOT_FOUND, NOT_ALLOWED), lambda w: {"pk": 999999}),
    ],
    "governance:report-compare": [
        Case("WF, with November", signed_in(SHOWN, NOT_ALLOWED), report_of("WF")),
        Case(
            "with no such report",
            signed_in(NOT_FOUND, NOT_ALLOWED),
            report_of("WF"),
            query="?with=999999",
        ),
    ],
    "governance:report-edit": [
        Case("WF, draft", only(*WF_DRAFTERS), report_of("WF"), body=report_answers),
        Case(
            "PA, submitted: no longer editable",
            only(SUPERUSER, "office", "sro.pa", "lead.pa", get=SENT_ON, post=SENT_ON),
            report_of("PA"),
            body=report_answers,
        ),
    ],
    "governance:report-submit": [
        Case("WF, draft", only(*WF_DRAFTERS, **POST_ONLY), report_of("WF")),
        Case(
            "PA, submitted already",
            only(
                SUPERUSER,
                "office",
                "sro.pa",
                "lead.pa",
                get=NOT_ALLOWED,
                post=SENT_ON,
                others=(NOT_ALLOWED, FORBIDDEN),
            ),
            report_of("PA"),
        ),
    ],
    "governance:report-endorse": [
        Case("PA, submitted", only(SUPERUSER, "sro.pa", **POST_ONLY), report_of("PA")),
    ],
    "governance:report-sign-off": [
        Case("PL, endorsed", only(SUPERUSER, "exec.director", **POST_ONLY), report_of("PL")),
        Case(
            "PA, not yet endorsed",
            only(
                SUPERUSER,
                "exec.director",
                get=NOT_ALLOWED,
                post=SENT_ON,
                others=(NOT_ALLOWED, FORBIDDEN),
            ),
            report_of("PA"),
        ),
    ],
    "governance:report-return": [
        Case(
            "PA, submitted: its task group chair",
            only(SUPERUSER, "sro.pa", **POST_ONLY),
            report_of("PA"),
            body=lambda w: {"comment": "Let through."},
        ),
        Case(
            "PL, endorsed: the programme board chair",
            only(SUPERUSER, "exec.director", **POST_ONLY),
            report_of("PL"),
            body=lambda w: {"comment": "Let through."},
        ),
    ],
    "governance:report-reopen": [
        Case(
            "the programme's, signed off",
            only(SUPERUSER, "office", **POST_ONLY),
            report_of(None),
            body=lambda w: {"comment": "Let through."},
        ),
    ],
    "governance:report-item-add": [
        Case("WF, draft", only(*WF_DRAFTERS, **POST_ONLY), report_of("WF"), body=report_line),
    ],
    "governance:report-item-settle": [
        Case(
            "WF's line",
            only(*WF_DRAFTERS, **POST_ONLY),
            wf_line,
            body=lambda w: {"outcome": "done"},
        ),
        Case(
            "WF's line addressed under PA's report",
            signed_in(NOT_FOUND, NOT_FOUND),
            lambda w: {**wf_line(w), "pk": december_report("PA").pk},
            body=lambda w: {"outcome": "done"},
        ),
    ],
    "governance:report-item-remove": [
        Case("WF's line", only(*WF_DRAFTERS, **POST_ONLY), wf_line),
    ],
    "governance:report-item-to-action": [
        Case(
            "WF's line",
            only(SUPERUSER, "office", **POST_ONLY),
            wf_line,
            body=lambda w: {"reference": "WF-9.9"},
        ),
    ],
    # --- Signing in and out (an empty form comes back with its errors; nothing changes) ---
    "login": [Case("", public(SHOWN, SHOWN))],
    "logout": [Case("", signed_in(NOT_ALLOWED, SIGNED_OUT))],
    "password_change": [Case("", signed_in(SHOWN, SAVES))],
    "password_change_done": [Case("", signed_in(SHOWN, NOT_ALLOWED))],
    # Password reset sends an e-mail: offered only where e-mail is set up, else not there.
    "password_reset": [Case("", reset_by_email(SHOWN, SHOWN))],
    "password_reset_done": [Case("", reset_by_email(SHOWN, NOT_ALLOWED))],
    "password_reset_confirm": [
        Case(
            "a link that is not valid",
            reset_by_email(SHOWN, SHOWN),
            lambda w: {"uidb64": "MQ", "token": "not-a-token"},
        )
    ],
    "password_reset_complete": [Case("", reset_by_email(SHOWN, NOT_ALLOWED))],
    # --- The admin's own pages: staff only ---
    "admin:index": [Case("", staff((SHOWN, SHOWN)))],
    "admin:app_list": [
        Case("workstreams", staff((SHOWN, SHOWN)), lambda w: {"app_label": "workstreams"})
    ],
    "admin:login": [Case("", {**public(SHOWN, SHOWN), **dict.fromkeys(STAFF, (SENT_ON, SHOWN))})],
    # Not staff: the admin sends them to its index (then its sign-in page); nothing happens.
    "admin:logout": [
        Case(
            "",
            {
                **signed_in(SENT_ON, SENT_ON),
                ANONYMOUS: (SIGN_IN, SIGN_IN),
                **dict.fromkeys(STAFF, (NOT_ALLOWED, SIGNED_OUT)),
            },
        )
    ],
    "admin:password_change": [Case("", staff((SHOWN, SAVES)))],
    "admin:password_change_done": [Case("", staff((SHOWN, NOT_ALLOWED)))],
    "admin:autocomplete": [
        Case(
            "an action's lead officer",
            staff((SHOWN, NOT_ALLOWED)),
            query="?app_label=workstreams&model_name=action&field_name=lead_officer&term=lead",
        )
    ],
    "admin:jsi18n": [Case("", staff((SHOWN, NOT_ALLOWED)))],
    "admin:view_on_site": [
        Case(
            "MP-1.2",
            staff((SENT_ON, SENT_ON)),
            lambda w: {
                "content_type_id": ContentType.objects.get_for_model(Action).pk,
                "object_id": w.actions["MP-1.2"].pk,
            },
        )
    ],
    "admin:catch_all": [Case("", staff((NOT_FOUND, NOT_FOUND)), path="/admin/no-such-page/")],
}

# --- The admin's pages for each model ----------------------------------------------------------
# Each kind of admin page, for the superuser and for the view-only staff user, as (GET, POST).
# Everyone else: anonymous to sign in, signed in but not staff to the admin's sign-in page.
# "object" is /<id>/, which only redirects; "simple_history" is one history record's page;
# "action <name>" is a POST to the changelist running that admin action on one object (an
# action a user may not run is not offered: the list again, nothing done).

# fmt: off
EDITABLE = {
    # kind of page              superuser (GET, POST)     view-only staff user (GET, POST)
    "changelist":               ((SHOWN, SHOWN),          (SHOWN, SHOWN)),
    "add":                      ((SHOWN, SAVES),          (FORBIDDEN, FORBIDDEN)),
    "change":                   ((SHOWN, SAVES),          (SHOWN, FORBIDDEN)),
    "delete":                   ((SHOWN, SAVES),          (FORBIDDEN, FORBIDDEN)),
    "object":                   ((SENT_ON, SENT_ON),      (SENT_ON, SENT_ON)),  # to .../change/
    # History is the record: read by whoever may view it, rewritten by nobody (no revert).
    "history":                  ((SHOWN, READ_ONLY),      (SHOWN, READ_ONLY)),
    "simple_history":           ((SHOWN, READ_ONLY),      (SHOWN, READ_ONLY)),  # one record
    "import":                   ((SHOWN, SAVES),          (FORBIDDEN, FORBIDDEN)),
    "process_import":           ((NOT_ALLOWED, SAVES),    (NOT_ALLOWED, FORBIDDEN)),  # confirm
    "export":                   ((SHOWN, SHOWN),          (SHOWN, SHOWN)),
    "action delete_selected":   ((NOT_ASKED, SAVES),      (NOT_ASKED, NOT_OFFERED)),
    "action export_admin_action": ((NOT_ASKED, SHOWN),    (NOT_ASKED, SHOWN)),
}

# Updates, due-date changes and reviews are the record of what people did: nobody adds,
# changes or deletes them in the admin, not even the superuser; they are read and exported.
APPEND_ONLY = {
    **EDITABLE,
    "add":                      ((FORBIDDEN, FORBIDDEN),  (FORBIDDEN, FORBIDDEN)),
    "change":                   ((SHOWN, FORBIDDEN),      (SHOWN, FORBIDDEN)),
    "delete":                   ((FORBIDDEN, FORBIDDEN),  (FORBIDDEN, FORBIDDEN)),
    "import":                   ((FORBIDDEN, FORBIDDEN),  (FORBIDDEN, FORBIDDEN)),
    "process_import":           ((NOT_ALLOWED, FORBIDDEN), (NOT_ALLOWED, FORBIDDEN)),
    "action delete_selected":   ((NOT_ASKED, NOT_OFFERED), (NOT_ASKED, NOT_OFFERED)),
}

# People who leave are deactivated, never deleted: their name stays on what they did.
PEOPLE = {
    **EDITABLE,
    "password_change":          ((SHOWN, SAVES),          (FORBIDDEN, FORBIDDEN)),
    "delete":                   ((FORBIDDEN, FORBIDDEN),  (FORBIDDEN, FORBIDDEN)),
    "action delete_selected":   ((NOT_ASKED, NOT_OFFERED), (NOT_ASKED, NOT_OFFERED)),
    "action deactivate":        ((NOT_ASKED, SAVES),      (NOT_ASKED, NOT_OFFERED)),
}

# Sign-in lockout records (django-axes): read by staff; the superuser lifts a lockout by
# deleting the attempt; nobody makes one up.
SIGN_IN_RECORDS = {
    **EDITABLE,
    "add":                      ((FORBIDDEN, FORBIDDEN),  (FORBIDDEN, FORBIDDEN)),
    "action cleanup_expired_attempts": ((NOT_ASKED, SAVES), (NOT_ASKED, NOT_OFFERED)),
}
# Reports are written on their page in the portal; in the admin they are read and moved on
# only by the workflow's steps, through the same services (which refuse what the state or
# the person does not allow: the list again, nothing done).
REPORTS = {
    **APPEND_ONLY,
    "change":                   ((SHOWN, SAVES),          (SHOWN, FORBIDDEN)),
    "action submit":            ((NOT_ASKED, SAVES),      (NOT_ASKED, NOT_OFFERED)),
    "action endorse":           ((NOT_ASKED, SAVES),      (NOT_ASKED, NOT_OFFERED)),
    "action sign_off":          ((NOT_ASKED, SAVES),      (NOT_ASKED, NOT_OFFERED)),
    "action return_to_author":  ((NOT_ASKED, SHOWN),      (NOT_ASKED, NOT_OFFERED)),
    "action reopen":            ((NOT_ASKED, SHOWN),      (NOT_ASKED, NOT_OFFERED)),
}
# fmt: on

ADMIN_MODELS = {
    "auth.group": EDITABLE,
    "auth.user": PEOPLE,
    "workstreams.plan": EDITABLE,
    "workstreams.priority": EDITABLE,
    "workstreams.workstream": EDITABLE,
    "workstreams.finding": EDITABLE,
    # Admin saves of an action go through the portal's rules and version check (issue 6,
    # item 3); here the superuser may, the view-only staff user may not.
    "workstreams.action": EDITABLE,
    "workstreams.actionupdate": APPEND_ONLY,
    "workstreams.duedatechange": APPEND_ONLY,
    "workstreams.indicator": EDITABLE,
    "workstreams.indicatorvalue": EDITABLE,
    "workstreams.servicearea": EDITABLE,
    "workstreams.workforcesnapshot": EDITABLE,
    "governance.body": EDITABLE,
    "governance.membership": EDITABLE,
    # Meetings, decisions and risks are kept on the portal's pages, through their services.
    "governance.meeting": APPEND_ONLY,
    "governance.decision": APPEND_ONLY,
    "governance.progressreport": REPORTS,
    "governance.reportitem": APPEND_ONLY,
    "governance.reminder": APPEND_ONLY,
    "governance.review": APPEND_ONLY,
    "governance.risk": APPEND_ONLY,
    "axes.accessattempt": SIGN_IN_RECORDS,
    "axes.accesslog": SIGN_IN_RECORDS,
    "axes.accessfailurelog": SIGN_IN_RECORDS,
}


# --- The URLs, from the URL configuration ------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One URL asked by every user: where, with which body, and the rule (None: no rule)."""

    key: str  # the URL's name (or, for an admin action, its changelist's name and the action)
    label: str
    rule: Rule | None
    url: Callable = field(repr=False)
    body: Callable = field(repr=False)

    def __str__(self):
        return f"{self.key} [{self.label}]" if self.label else self.key


def url_keys(patterns=None, prefix="", namespace=""):
    """(key, route) of every URL pattern, nested includes walked. A pattern without a name
    is keyed by what it is (the admin's /<id>/ redirect, its catch-all) or by its route."""
    if patterns is None:
        patterns = get_resolver().url_patterns
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = ":".join(part for part in (namespace, pattern.namespace) if part)
            yield from url_keys(pattern.url_patterns, prefix + str(pattern.pattern), inner)
            continue
        assert isinstance(pattern, URLPattern)
        route = prefix + str(pattern.pattern)
        if pattern.name:
            yield (f"{namespace}:{pattern.name}" if namespace else pattern.name), route
        elif match := re.fullmatch(r"admin/(\w+)/(\w+)/<path:object_id>/", route):
            yield f"admin:{match[1]}_{match[2]}_object", route
        elif route.endswith("(?P<url>.*)$") and namespace == "admin":
            yield "admin:catch_all", route
        else:
            yield route, route


def admin_model_of(key):
    """(model admin, kind of page) for an admin URL of a registered model, else None."""
    if not key.startswith("admin:"):
        return None
    name = key.removeprefix("admin:")
    for model, model_admin in admin.site._registry.items():
        prefix = f"{model._meta.app_label}_{model._meta.model_name}_"
        if name.startswith(prefix):
            return model_admin, name.removeprefix(prefix)
    return None


def admin_rule(model, kind) -> Rule | None:
    policy = ADMIN_MODELS.get(model._meta.label_lower)
    if policy is None or kind not in policy:
        return None
    return staff(*policy[kind])


def admin_args(w, model, kind):
    obj = w.admin_objects[model._meta.label_lower]
    if obj is None:
        pytest.fail(f"No {model._meta.label} to ask about: create one in make_records().")
    if kind in {"change", "delete", "history", "password_change"}:
        return [obj.pk]
    if kind == "simple_history":
        return [obj.pk, w.history_ids[model._meta.label_lower]]
    return []


def admin_body(w, model, kind, url):
    if kind in {"change", "simple_history"}:
        # What a browser would send from the page: let through, it saves (or reverts).
        return w.form_fields(url)
    if kind == "delete":
        return {"post": "yes"}
    return {}


def admin_targets(key, route):
    model_admin, kind = admin_model_of(key)
    model = model_admin.model
    label = model._meta.label_lower

    def url(w):
        if kind == "object":
            return reverse(
                f"admin:{model._meta.app_label}_{model._meta.model_name}_change",
                args=[w.admin_objects[label].pk],
            ).removesuffix("change/")
        return reverse(key, args=admin_args(w, model, kind))

    yield Target(
        key, "", admin_rule(model, kind), url, lambda w: admin_body(w, model, kind, url(w))
    )
    if kind == "changelist":
        # Every admin action, run on one object (delete_selected confirmed at once).
        for _function, name, _description in model_admin._get_base_actions():
            yield Target(
                f"{key} action {name}",
                "",
                admin_rule(model, f"action {name}"),
                url,
                lambda w, name=name: {
                    "action": name,
                    "_selected_action": [w.admin_objects[label].pk],
                    "index": "0",
                    "post": "yes",
                },
            )


def page_targets(key, route):
    cases = PAGES.get(key)
    if cases is None:
        yield Target(key, route, None, lambda w: "", lambda w: {})
        return
    for case in cases:

        def url(w, case=case):
            return (case.path or reverse(key, kwargs=case.kwargs(w))) + case.query

        yield Target(key, case.label, case.rule, url, case.body)


def targets():
    for key, route in url_keys():
        if admin_model_of(key):
            yield from admin_targets(key, route)
        else:
            yield from page_targets(key, route)


TARGETS = list(targets())


# --- The world every request is asked in -------------------------------------------------------


class FormFields(HTMLParser):
    """The fields a browser sends from a page's (first, non sign-out) POST form."""

    def __init__(self):
        super().__init__()
        self.fields: list[tuple[str, str]] = []
        self.inside = self.finished = False
        self.select = self.textarea = None
        self.options: list[str] = []
        self.chosen = self.multiple = False
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and not self.finished:
            post = (attrs.get("method") or "").lower() == "post"
            self.inside = post and attrs.get("id") != "logout-form"
        if not self.inside:
            return
        name = attrs.get("name")
        if tag == "input" and name:
            kind = (attrs.get("type") or "text").lower()
            if kind in {"submit", "button", "image", "file", "reset"}:
                return
            if kind in {"checkbox", "radio"}:
                if "checked" in attrs:
                    self.fields.append((name, attrs.get("value") or "on"))
                return
            self.fields.append((name, attrs.get("value") or ""))
        elif tag == "select" and name:
            self.select, self.options, self.chosen = name, [], False
            self.multiple = "multiple" in attrs
        elif tag == "option" and self.select:
            self.options.append(attrs.get("value") or "")
            if "selected" in attrs:
                self.fields.append((self.select, attrs.get("value") or ""))
                self.chosen = True
        elif tag == "textarea" and name:
            self.textarea, self.text = name, []

    def handle_endtag(self, tag):
        if tag == "form" and self.inside:
            self.inside, self.finished = False, True
        elif tag == "select" and self.select:
            # A single select with nothing marked sends its first option, as browsers do.
            if not self.chosen and self.options and not self.multiple:
                self.fields.append((self.select, self.options[0]))
            self.select = None
        elif tag == "textarea" and self.textarea:
            self.fields.append((self.textarea, "".join(self.text).removeprefix("\n")))
            self.textarea = None

    def handle_data(self, data):
        if self.textarea:
            self.text.append(data)


def form_fields(html: str) -> dict[str, list[str]]:
    parser = FormFields()
    parser.feed(html)
    data: dict[str, list[str]] = {}
    for name, value in parser.fields:
        data.setdefault(name, []).append(value)
    return data


@dataclass
class World:
    users: dict
    clients: dict
    actions: dict
    pending_change: object
    admin_objects: dict
    history_ids: dict
    forms: dict = field(default_factory=dict)

    def form_fields(self, url):
        """The form on ``url`` as the superuser sees it (read once)."""
        if url not in self.forms:
            response = self.clients[SUPERUSER][0].get(url)
            self.forms[url] = (
                form_fields(response.content.decode()) if response.status_code == 200 else {}
            )
        return self.forms[url]


def signed_in_client(user):
    """A client with the CSRF check on, signed in as ``user`` (None: anonymous), and its
    CSRF token, read from the cookie a form page sets."""
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    client.get(reverse("login"))
    return client, client.cookies["csrftoken"].value


def make_staff_viewer():
    User = get_user_model()
    user = User.objects.create_user(
        STAFF_VIEWER, first_name="Staff", last_name="(view only)", is_staff=True
    )
    user.user_permissions.set(Permission.objects.filter(codename__startswith="view_"))
    return User.objects.get(pk=user.pk)


def make_records(users, plan):
    """What the reference plan lacks and the admin pages need: an update with a pending
    due-date request, and a meeting, a report with an item and a review, a risk."""
    mp_13 = Action.objects.get(plan=plan, reference="MP-1.3")
    services.action_update_record(
        action=mp_13,
        by=users["lead.mp"],
        based_on_version=mp_13.version,
        status=ActionStatus.AT_RISK,
        progress_narrative="The provider cancelled; new dates in the new year.",
        revised_due_date=datetime.date(2019, 2, 28),
        due_date_reason="Training provider cancelled.",
    )
    mp = plan.workstreams.get(code="MP")
    meeting = Meeting.objects.create(
        body=Body.objects.get(workstream=mp),
        date=REFERENCE_DAY.date(),
        period=REFERENCE_DAY.date().replace(day=1),
    )
    Decision.objects.create(meeting=meeting, text="Audit supervision.", owner=users["sro.mp"])
    earlier = Meeting.objects.create(
        body=meeting.body, date=datetime.date(2018, 12, 13), period=datetime.date(2018, 11, 1)
    )
    Decision.objects.create(meeting=earlier, text="Report the supervision audit.")
    Reminder.objects.create(
        user=users["lead.mp"], kind=Reminder.Kind.UPDATES, sent_on=REFERENCE_DAY.date(), about="-"
    )
    report = ProgressReport.objects.create(
        plan=plan,
        workstream=mp,
        # October: the demo has November's reports.
        period=datetime.date(2018, 10, 1),
        working_well="Supervision is more regular.",
        created_by=users["lead.mp"],
    )
    ReportItem.objects.create(
        report=report,
        description="Audit supervision records.",
        owner=users["lead.mp"],
        due_date=datetime.date(2018, 12, 14),
    )
    Review.objects.create(report=report, step=Review.Step.SUBMIT, by=users["lead.mp"])
    make_report_records(users, plan)
    make_import_records(users, plan)
    Risk.objects.create(
        plan=plan,
        workstream=mp,
        title="Managers leave before the new standards bed in",
        owner=users["sro.mp"],
        likelihood=3,
        impact=4,
    )
    if apps.is_installed("axes"):  # an attempt, a sign-in and a failure, for their pages
        for name in ("AccessAttempt", "AccessLog", "AccessFailureLog"):
            model = apps.get_model("axes", name)
            values = {"username": "office", "ip_address": "192.0.2.1", "user_agent": "test"}
            if name == "AccessAttempt":
                values["failures_since_start"] = 1
            model.objects.create(**values)


def admin_objects(users, actions, pending_change):
    """The object each admin model's pages are asked about."""
    chosen = {
        # Someone with nothing to their name: only the rule, not a protected row, stops a delete.
        "auth.user": get_user_model().objects.create_user("leaving.officer"),
        "auth.group": Group.objects.get(name="Programme office"),
        "workstreams.plan": Plan.objects.live().get(),
        "workstreams.action": actions["MP-1.2"],
        "workstreams.duedatechange": pending_change,
    }
    for model in admin.site._registry:
        label = model._meta.label_lower
        if label not in chosen:
            chosen[label] = model._default_manager.order_by("pk").first()
    return chosen


def first_history_ids(objects):
    """The oldest history record of each object: reverting to it would change something."""
    found = {}
    for label, obj in objects.items():
        if obj is None:
            continue
        try:
            history = get_history_manager_for_model(type(obj))
        except NotHistoricalModelError:  # no history records, so no pages for them
            continue
        record = history.filter(**{type(obj)._meta.pk.attname: obj.pk}).order_by("history_id")
        if record.exists():
            found[label] = record.first().history_id
    return found


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """The reference plan plus the records the pages need, and a signed-in client per user,
    in one transaction rolled back when the module ends. Made on the suite's pinned day, so
    the sessions are fresh when each test pins the clock there again."""
    quiet = logging.getLogger("django.request")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # thousands of expected 403/404/405 warnings
    traveller = time_machine.travel(REFERENCE_DAY, tick=True)
    traveller.start()
    try:
        with django_db_blocker.unblock(), transaction.atomic():
            User = get_user_model()
            users = {u.username: u for u in User.objects.filter(username__in=DEMO_USERNAMES)}
            users[STAFF_VIEWER] = make_staff_viewer()
            plan = Plan.objects.live().get()
            make_records(users, plan)
            actions = {a.reference: a for a in Action.objects.filter(plan=plan)}
            pending_change = actions["MP-1.3"].due_date_changes.get(decision="pending")
            objects = admin_objects(users, actions, pending_change)
            clients = {user: signed_in_client(users.get(user)) for user in USERS}
            yield World(
                users=users,
                clients=clients,
                actions=actions,
                pending_change=pending_change,
                admin_objects=objects,
                history_ids=first_history_ids(objects),
            )
            transaction.set_rollback(True)
    finally:
        traveller.stop()
        quiet.setLevel(level)


# --- Asking ------------------------------------------------------------------------------------

IGNORED_APPS = {"sessions", "axes"}  # signing in and out writes these; they are not the record


PEOPLE_AND_GROUPS = "people or groups"


@functools.cache
def fingerprint_query() -> tuple[list[str], str]:
    tables = sorted(
        {
            model._meta.db_table
            for model in apps.get_models(include_auto_created=True)
            if model._meta.app_label not in IGNORED_APPS and model._meta.managed
        }
    )
    quote = connection.ops.quote_name
    action_table = quote(Action._meta.db_table)
    columns = [f"(SELECT COUNT(*) FROM {quote(table)})" for table in tables]
    columns += [f"(SELECT MAX(version) FROM {action_table})"]
    columns += [f"(SELECT SUM(version) FROM {action_table})"]
    names = [*tables, "max action version", "sum of action versions"]
    return names, f"SELECT {', '.join(columns)}"


def fingerprint() -> dict:
    """A cheap picture of the database: rows in every table (history included), the actions'
    versions, and the people and groups. Two queries."""
    names, query = fingerprint_query()
    with connection.cursor() as cursor:
        cursor.execute(query)
        picture = dict(zip(names, cursor.fetchone(), strict=True))
    people = get_user_model().objects.order_by("pk")
    picture[PEOPLE_AND_GROUPS] = hash(
        tuple(
            people.values_list(
                "username", "is_active", "is_staff", "is_superuser", "password", "email"
            )
        )
        + tuple(Group.objects.order_by("pk").values_list("name"))
    )
    return picture


def outcome(response):
    """The answer, as the table names it."""
    if response.status_code in (301, 302):
        location = response.headers["Location"]
        if location.startswith(reverse("login")):
            return "login"
        if location.startswith(reverse("admin:login")):
            return "admin login"
        return response.status_code
    if response.status_code == 403 and any(t.name == "403_csrf.html" for t in response.templates):
        return "403 (CSRF)"
    return response.status_code


def ask(client_and_token, method, url, body, before):
    """One request in a savepoint rolled back: (outcome, what it changed, error if any)."""
    client, token = client_and_token
    cookies = {name: morsel.value for name, morsel in client.cookies.items()}
    with transaction.atomic():
        if method == "GET":
            response = client.get(url)
        else:
            response = client.post(url, {**body, "csrfmiddlewaretoken": token})
        after = fingerprint()
        transaction.set_rollback(True)
    client.cookies = SimpleCookie(cookies)  # signing out, messages: the next ask starts clean
    changed = [
        key if key == PEOPLE_AND_GROUPS else f"{key} {before[key]}→{after[key]}"
        for key in before
        if before[key] != after[key]
    ]
    error = getattr(response, "exc_info", None)
    return outcome(response), changed, (repr(error[1]) if error else "")


@pytest.mark.parametrize("target", TARGETS, ids=str)
def test_each_user_gets_the_expected_answer(world, target):
    if target.rule is None:
        pytest.fail(f"{target.key} has no expected answer: add it to the table in this module")
    url, body = target.url(world), target.body(world)
    before = fingerprint()
    wrong = []
    for user in USERS:
        for method, expected in zip(("GET", "POST"), target.rule[user], strict=True):
            if expected is NOT_ASKED:
                continue
            got, changed, error = ask(world.clients[user], method, url, body, before)
            if got in expected.outcomes and (expected.writes or not changed):
                continue
            what = f"got {got}" + (f", changed {', '.join(changed)}" if changed else "")
            wrong.append(
                f"  {user:14} {method:4} {url}: {what}; expected {expected} {error}".rstrip()
            )
    assert not wrong, f"{len(wrong)} unexpected answers:\n" + "\n".join(wrong)


def test_every_url_has_an_expected_answer():
    missing = sorted({t.key for t in TARGETS if t.rule is None})
    assert not missing, (
        "URLs with no expected answer (add them to PAGES or ADMIN_MODELS):\n  "
        + "\n  ".join(missing)
    )


def test_the_table_names_only_urls_that_exist():
    keys = {key for key, _route in url_keys()}
    assert set(PAGES) <= keys, f"in the table, not in the URLs: {sorted(set(PAGES) - keys)}"
    registered = {model._meta.label_lower for model in admin.site._registry}
    installed = {config.label for config in apps.get_app_configs()}
    # The sign-in records' rows stand ready for when django-axes is installed.
    listed = {label for label in ADMIN_MODELS if label.split(".")[0] in installed}
    assert listed <= registered, f"not in the admin: {sorted(listed - registered)}"


def test_every_user_has_an_answer_for_every_page():
    for target in TARGETS:
        if target.rule is not None:
            assert set(target.rule) == set(USERS), target.key


def test_a_post_without_the_csrf_token_is_refused_for_that_reason(world):
    client, _token = world.clients["sro.mp"]
    url = reverse("workstreams:action-update", args=["MP-1.2"])
    before = fingerprint()
    got, changed, _ = ask(
        (client, "not-the-token"), "POST", url, action_form("MP-1.2")(world), before
    )
    assert got == "403 (CSRF)" and not changed


def test_the_fingerprint_sees_a_change(world):
    before = fingerprint()
    with transaction.atomic():
        action = world.actions["MP-1.2"]
        Action.objects.get(pk=action.pk).save()
        after = fingerprint()
        transaction.set_rollback(True)
    assert before != after
