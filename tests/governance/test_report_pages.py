"""The four-question report pages (issue 7): the month's reports and what waits for the
reader, a report's page with the steps its reader may take, the draft's answers and lines,
the frozen signed-off page, two months compared, and what the pages cost.

The suite's clock is pinned to 10 January 2019 and the demo holds November 2018's reports,
so these tests make their own for December 2018 and January 2019."""

import datetime
import html
import re

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.template import Context, Template
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from simple_history.utils import bulk_create_with_history

from governance import selectors, services
from governance.models import Body, Meeting, ProgressReport, ReportItem, Review
from tests.helpers import DEMO_USERNAMES, record, report_in_state
from workstreams.models import Action, ActionStatus, Rag

pytestmark = pytest.mark.django_db

SEPTEMBER = datetime.date(2018, 9, 1)
DECEMBER = datetime.date(2018, 12, 1)
JANUARY = datetime.date(2019, 1, 1)


def user(username):
    return get_user_model().objects.get(username=username)


def signed_in(client, username):
    client.force_login(user(username))
    return client


def text_of(response) -> str:
    """The page's main content as words, tags and spacing gone."""
    content = response.content.decode()
    main = content[content.index("<main") : content.index("</main>")]
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", main)))


def element(response, attribute: str) -> str:
    """The words of the first element carrying ``attribute`` (e.g. 'data-workstream="MP"')."""
    content = response.content.decode()
    match = re.search(rf"<(\w+)[^>]*{re.escape(attribute)}[^>]*>(.*?)</\1>", content, re.S)
    assert match, f"no element with {attribute}"
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match[2]))).strip()


def state_of(report):
    fresh = ProgressReport.objects.get(pk=report.pk)
    return fresh.status, fresh.reviews.count(), fresh.version, fresh.checksum


# --- Every step, for every role and state, through the pages -------------------------------

# step -> {state it may be taken from: who may take it}, for a workstream's (MP) report, as
# DESIGN.md's "Who may do what" and the report workflow say; from any other state nobody.
STEP_RIGHTS = {
    "submit": {"draft": {"office", "admin", "sro.mp", "lead.mp"}},
    "endorse": {"submitted": {"sro.mp", "admin"}},
    "sign_off": {"endorsed": {"exec.director", "admin"}},
    "return": {"submitted": {"sro.mp", "admin"}, "endorsed": {"exec.director", "admin"}},
    "reopen": {"signed_off": {"office", "admin"}},
}
STEP_URLS = {
    "submit": "governance:report-submit",
    "endorse": "governance:report-endorse",
    "sign_off": "governance:report-sign-off",
    "return": "governance:report-return",
    "reopen": "governance:report-reopen",
}
BUTTONS = {
    "submit": "Submit the report",
    "endorse": "Endorse the report",
    "sign_off": "Sign off the report",
    "return": "Return it to the author",
    "reopen": "Reopen the report",
}
DONE = {
    "submit": ("submitted", Review.Step.SUBMIT),
    "endorse": ("endorsed", Review.Step.ENDORSE),
    "sign_off": ("signed_off", Review.Step.SIGN_OFF),
    "return": ("draft", Review.Step.RETURN),
    "reopen": ("draft", Review.Step.REOPEN),
}
STATES = ["draft", "submitted", "endorsed", "signed_off"]


def offered_steps(response) -> set[str]:
    content = response.content.decode()
    return {step for step, label in BUTTONS.items() if f">{label}</button>" in content}


@pytest.mark.parametrize("state", STATES)
def test_each_step_is_offered_and_taken_only_by_its_role_from_its_state(client, plan, state):
    report = report_in_state(plan, state, period=DECEMBER)
    before = state_of(report)
    for username in sorted(DEMO_USERNAMES):
        signed_in(client, username)
        allowed = {
            step for step, rights in STEP_RIGHTS.items() if username in rights.get(state, ())
        }
        response = client.get(report.get_absolute_url())
        assert offered_steps(response) == allowed, (state, username)
        for step, name in STEP_URLS.items():
            with transaction.atomic():
                url = reverse(name, args=[report.pk])
                response = client.post(url, {"comment": "Say more about supervision."})
                after = state_of(report)
                if step in allowed:
                    assert response.status_code == 302, (state, username, step)
                    status, review_step = DONE[step]
                    assert after[0] == status, (state, username, step)
                    latest = Review.objects.filter(report=report).latest("at")
                    assert (latest.step, latest.by.username) == (review_step, username)
                    assert latest.comment == "Say more about supervision."
                else:
                    # Refused: nothing changed, and the page says why.
                    assert after == before, (state, username, step)
                    assert response.status_code in (302, 403), (state, username, step)
                    if response.status_code == 403:
                        assert "Nothing has been changed" in text_of(response)
                    else:
                        shown = text_of(client.get(response.url))
                        assert "so it cannot be" in shown, (state, username, step)
                transaction.set_rollback(True)


def test_the_programme_report_goes_from_submitted_to_signed_off(client, plan):
    report = report_in_state(plan, "submitted", code=None, period=DECEMBER)
    for username in ("sro.mp", "lead.mp", "board.member", "viewer", "office"):
        response = signed_in(client, username).get(report.get_absolute_url())
        assert offered_steps(response) == set(), username
    response = signed_in(client, "exec.director").get(report.get_absolute_url())
    assert offered_steps(response) == {"sign_off", "return"}
    assert "Waiting for your sign-off" in text_of(response)
    response = client.post(reverse("governance:report-sign-off", args=[report.pk]))
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.status == "signed_off" and len(report.checksum) == 64
    # The content covers the whole plan's actions.
    assert len(report.snapshot["actions"]) == plan.actions.count()


def test_a_refused_step_says_why(client, plan):
    report = report_in_state(plan, "submitted", period=DECEMBER)
    response = signed_in(client, "lead.mp").post(
        reverse("governance:report-endorse", args=[report.pk])
    )
    assert response.status_code == 403
    assert "Only the workstream's task group chair endorses its report." in text_of(response)
    # Returning needs a comment: the chair is told, and the report stays submitted.
    response = signed_in(client, "sro.mp").post(
        reverse("governance:report-return", args=[report.pk]), {"comment": "  "}, follow=True
    )
    assert "Say what needs to change before the report comes back." in text_of(response)
    assert ProgressReport.objects.get(pk=report.pk).status == "submitted"
    # A step is a POST: a GET changes nothing.
    response = client.get(reverse("governance:report-endorse", args=[report.pk]))
    assert response.status_code == 405
    assert ProgressReport.objects.get(pk=report.pk).status == "submitted"


def test_a_step_names_the_meeting_it_was_taken_at(client, plan):
    report = report_in_state(plan, "submitted", period=DECEMBER)
    task_group = Body.objects.get(workstream__code="MP")
    meeting = Meeting.objects.create(
        body=task_group, date=datetime.date(2019, 1, 8), period=DECEMBER
    )
    other_month = Meeting.objects.create(
        body=task_group, date=datetime.date(2018, 10, 29), period=datetime.date(2018, 10, 1)
    )
    page = signed_in(client, "sro.mp").get(report.get_absolute_url())
    assert f'value="{meeting.pk}"' in page.content.decode()
    assert f'value="{other_month.pk}"' not in page.content.decode()
    client.post(
        reverse("governance:report-endorse", args=[report.pk]),
        {"comment": "Agreed.", "meeting": meeting.pk},
    )
    review = Review.objects.get(report=report, step=Review.Step.ENDORSE)
    assert review.meeting == meeting
    trail = element(client.get(report.get_absolute_url()), 'data-step="endorse"')
    assert "Senior responsible officer (Management & Practice)" in trail
    assert str(meeting) in trail and "Agreed." in trail
    assert (
        f'href="{meeting.get_absolute_url()}"'
        in client.get(report.get_absolute_url()).content.decode()
    )


# --- The list of a month's reports ---------------------------------------------------------


def test_the_list_shows_each_report_and_what_waits_for_the_reader(client, plan):
    report_in_state(plan, "submitted", code="MP", period=DECEMBER)
    report_in_state(plan, "endorsed", code="WF", period=DECEMBER)
    returned = report_in_state(plan, "submitted", code="PA", period=DECEMBER)
    services.report_return(report=returned, by=user("sro.pa"), comment="More on early help.")
    url = reverse("governance:report-list") + "?period=2018-12"
    expected = {
        # username: {row: what its "For you" cell says}
        # sro.mp sits on the programme board too: WF's endorsed report is coming to it.
        "sro.mp": {
            "MP": "Waiting for your endorsement",
            "WF": "Coming to the programme board for sign-off",
            "PL": "Nothing",
        },
        "exec.director": {"MP": "Nothing", "WF": "Waiting for your sign-off"},
        "lead.pa": {"PA": "Returned to you", "PL": "Nothing", "programme": "Nothing"},
        "lead.pl": {"PL": "Start the December report for Platforms", "MP": "Nothing"},
        "office": {
            "PA": "Returned to you",
            "PL": "Start the December report for Platforms",
            "programme": "Start the December report for the programme",
        },
        "board.member": {"WF": "Coming to the programme board for sign-off", "MP": "Nothing"},
        # The administrator may take any step, but is nobody's reviewer: nothing waits.
        "admin": {"MP": "Nothing", "WF": "Nothing"},
        "viewer": dict.fromkeys(("MP", "WF", "PA", "PL", "programme"), "Nothing"),
    }
    for username, rows in expected.items():
        response = signed_in(client, username).get(url)
        assert "Four-question reports, December 2018" in text_of(response)
        for code, says in rows.items():
            row = element(response, f'data-workstream="{code}"')
            assert row.endswith(f"For you {says}"), (username, code, row)
    states = signed_in(client, "viewer").get(url)
    assert "State Submitted" in element(states, 'data-workstream="MP"')
    assert "State Endorsed" in element(states, 'data-workstream="WF"')
    assert "State Draft" in element(states, 'data-workstream="PA"')
    assert "State Not started" in element(states, 'data-workstream="PL"')


def test_the_list_shows_the_latest_month_with_reports_unless_asked(client, plan):
    signed_in(client, "viewer")
    latest = ProgressReport.objects.filter(plan=plan).order_by("-period").first()
    expected = latest.period if latest else JANUARY
    assert f"Four-question reports, {expected:%B %Y}" in text_of(client.get("/reports/"))
    report_in_state(plan, "draft", period=DECEMBER)
    assert "Four-question reports, December 2018" in text_of(client.get("/reports/"))
    asked = text_of(client.get("/reports/?period=2018-10"))
    assert "Four-question reports, October 2018" in asked
    # Every month with reports is a link, with its reports counted by state.
    assert "December 2018 : 1 report (1 draft)" in asked
    wrong = text_of(client.get("/reports/?period=2018-13"))
    assert "“2018-13” is not a month" in wrong
    assert "Four-question reports, December 2018" in wrong


def test_a_report_is_started_from_the_list_by_who_may_draft_it(client, plan):
    url = reverse("governance:report-start")
    pl = plan.workstreams.get(code="PL")
    carried = list(selectors.open_items_before(plan, pl, DECEMBER))
    for username in ("viewer", "lead.mp", "exec.director", "board.member"):
        response = signed_in(client, username).post(url, {"period": "2018-12", "workstream": "PL"})
        assert response.status_code == 403, username
    assert not ProgressReport.objects.filter(workstream=pl, period=DECEMBER).exists()

    response = signed_in(client, "lead.pl").post(url, {"period": "2018-12", "workstream": "PL"})
    report = ProgressReport.objects.get(workstream=pl, period=DECEMBER)
    assert response.status_code == 302 and response.url == report.get_absolute_url()
    assert report.status == "draft" and report.created_by.username == "lead.pl"
    assert [i.carried_from_id for i in report.items.all()] == [i.pk for i in carried]
    assert "started, filled in from the plan's data" in text_of(client.get(response.url))

    # One report per workstream per month: a second start is refused and says so.
    response = signed_in(client, "office").post(
        url, {"period": "2018-12", "workstream": "PL"}, follow=True
    )
    assert "The December 2018 report has already been started." in text_of(response)
    assert ProgressReport.objects.filter(workstream=pl, period=DECEMBER).count() == 1
    # The programme-wide report: the programme office starts it, a lead may not.
    signed_in(client, "lead.pl").post(url, {"period": "2018-12", "workstream": ""})
    assert not ProgressReport.objects.filter(plan=plan, workstream=None, period=DECEMBER).exists()
    signed_in(client, "office").post(url, {"period": "2018-12", "workstream": ""})
    assert ProgressReport.objects.filter(plan=plan, workstream=None, period=DECEMBER).exists()
    # A month that is not one, or a workstream that is not there, starts nothing.
    count = ProgressReport.objects.count()
    assert client.post(url, {"period": "2018-13", "workstream": "WF"}).status_code == 302
    assert client.post(url, {"period": "2018-12", "workstream": "XX"}).status_code == 404
    assert ProgressReport.objects.count() == count


# --- A report's page -----------------------------------------------------------------------


def test_the_draft_shows_its_answers_lines_evidence_and_trail(client, plan):
    december = report_in_state(plan, "draft", period=DECEMBER)
    services.report_item_add(
        report=december,
        by=user("lead.mp"),
        description="Audit forty supervision records.",
        owner=user("sro.mp"),
        due_date=datetime.date(2019, 1, 31),
    )
    services.report_submit(report=december, by=user("lead.mp"))
    services.report_return(report=december, by=user("sro.mp"), comment="Add the audit dates.")
    services.report_submit(report=december, by=user("lead.mp"))
    services.report_endorse(report=december, by=user("sro.mp"))
    services.report_sign_off(report=december, by=user("exec.director"))
    january = services.report_start(
        by=user("lead.mp"), plan=plan, period=JANUARY, workstream=december.workstream
    )
    response = signed_in(client, "lead.mp").get(january.get_absolute_url())
    words = text_of(response)
    assert "Management & Practice report, January 2019" in words
    assert "State Draft" in words and "Draft: yours to finish and submit" in words
    # Last month's line is carried, marked so, for the author to say whether it happened.
    line = january.items.get(description="Audit forty supervision records.")
    carried = element(response, f'data-item="{line.pk}"')
    assert "data-carried" in response.content.decode().split(f'data-item="{line.pk}"')[1][:20]
    assert "Carried from the December 2018 report" in carried
    assert "Senior responsible officer (Management & Practice)" in carried
    # The evidence now: every MP action with its BRAG judged on the report's day.
    for action in selectors.report_content(january)["actions"]:
        row = element(response, f'data-reference="{action["reference"]}"')
        assert action["status"] in row
        html = response.content.decode().split(f'data-reference="{action["reference"]}"')[1]
        page = reverse("workstreams:action-detail", args=[action["reference"]])
        assert f'<a class="govuk-link" href="{page}">' in html.split("</tr>")[0]
    # December's page: its trail, each step with who and what they said.
    trail = signed_in(client, "viewer").get(december.get_absolute_url())
    steps = re.findall(r'data-step="(\w+)"', trail.content.decode())
    assert steps == ["submit", "return", "submit", "endorse", "sign_off"]
    assert "Add the audit dates." in element(trail, 'data-step="return"')


def test_a_signed_off_report_stays_as_it_was_signed_off(client, plan):
    report = report_in_state(plan, "endorsed", period=DECEMBER)
    action = Action.objects.get(plan=plan, reference="MP-1.2")
    signed_in(client, "exec.director").post(
        reverse("governance:report-sign-off", args=[report.pk]), {"comment": "Agreed."}
    )
    report.refresh_from_db()
    page = signed_in(client, "viewer").get(report.get_absolute_url())
    row = element(page, 'data-reference="MP-1.2"')
    was = next(a for a in report.snapshot["actions"] if a["reference"] == "MP-1.2")
    assert was["status"] in row and was["status"] != Rag.RED.label
    seal = element(page, 'id="seal"')
    assert "Signed off by Executive Director (Children, Families and Education)" in seal
    assert f"on {report.signed_off_at:%-d %B %Y}" in seal
    assert report.checksum in seal and re.fullmatch(r"[0-9a-f]{64}", report.checksum)
    assert report.checksum == selectors.snapshot_checksum(report.snapshot)

    # The action moves on, and the live row is changed behind the report's back: the page
    # still shows what was signed off, with the same checksum.
    record(Action.objects.get(pk=action.pk), user("lead.mp"), status=ActionStatus.OFF_TRACK)
    assert Action.objects.with_rag().get(pk=action.pk).rag_code == Rag.RED
    ProgressReport.objects.filter(pk=report.pk).update(working_well="Rewritten later.")
    page = client.get(report.get_absolute_url())
    assert was["status"] in element(page, 'data-reference="MP-1.2"')
    assert Rag.RED.label not in element(page, 'data-reference="MP-1.2"')
    assert report.checksum in element(page, 'id="seal"')
    assert "Rewritten later." not in text_of(page)
    assert report.snapshot["answers"]["working_well"].splitlines()[0] in text_of(page)
    # Nothing on it can be changed: no edit link, no line forms, only the office's reopen.
    office = signed_in(client, "office").get(report.get_absolute_url()).content.decode()
    assert "Edit the answers" not in office and "/items/" not in office
    assert offered_steps(client.get(report.get_absolute_url())) == {"reopen"}


# --- The draft's answers ------------------------------------------------------------------


def edit_url(report):
    return reverse("governance:report-edit", args=[report.pk])


def answers(report, **changes):
    data = {
        "working_well": "Seminars held in August.",
        "how_we_know": "Audit of supervision.",
        "worried_about": "The share of locum managers.",
        "version": report.version,
    }
    data.update(changes)
    return data


def test_the_author_edits_the_answers(client, plan):
    report = report_in_state(plan, "draft", period=DECEMBER)
    response = signed_in(client, "lead.mp").get(edit_url(report))
    assert response.status_code == 200
    assert f'name="version" value="{report.version}"' in response.content.decode()
    # A browser sends a text area's line ends as "\r\n"; they are saved as the draft's "\n".
    typed = "Seminars held in August.\r\nSupervision audited."
    response = client.post(edit_url(report), answers(report, working_well=typed))
    assert response.status_code == 302 and response.url == report.get_absolute_url()
    saved = ProgressReport.objects.get(pk=report.pk)
    assert saved.working_well == "Seminars held in August.\nSupervision audited."
    assert saved.history.first().history_user.username == "lead.mp"
    assert "Seminars held in August." in text_of(client.get(report.get_absolute_url()))


def test_a_stale_save_is_refused_and_keeps_the_words_typed(client, plan):
    report = report_in_state(plan, "draft", period=DECEMBER)
    opened = report.version
    services.report_edit(
        report=report,
        by=user("sro.mp"),
        based_on_version=opened,
        working_well="The chair's words.",
        how_we_know=report.how_we_know,
        worried_about=report.worried_about,
    )
    response = signed_in(client, "lead.mp").post(
        edit_url(report), answers(report, version=opened, working_well="The lead's words.")
    )
    assert response.status_code == 409
    words = text_of(response)
    assert "Someone else changed this report after you opened it" in words
    assert "Senior responsible officer (Management & Practice) changed this report" in words
    assert "The chair's words." in element(response, 'id="conflict-changes"')
    assert "The lead's words." in text_of(response)  # kept in the form
    saved = ProgressReport.objects.get(pk=report.pk)
    assert saved.working_well == "The chair's words."
    assert f'name="version" value="{saved.version}"' in response.content.decode()
    # Saving again, on purpose, now applies.
    response = client.post(edit_url(report), answers(saved, working_well="The lead's words."))
    assert response.status_code == 302
    assert ProgressReport.objects.get(pk=report.pk).working_well == "The lead's words."


def test_only_who_may_draft_edits_and_only_a_draft(client, plan):
    report = report_in_state(plan, "draft", period=DECEMBER)
    for username in ("viewer", "lead.wf", "exec.director", "sro.wf"):
        signed_in(client, username)
        assert client.get(edit_url(report)).status_code == 403, username
        assert client.post(edit_url(report), answers(report)).status_code == 403, username
    assert ProgressReport.objects.get(pk=report.pk).version == report.version
    services.report_submit(report=report, by=user("lead.mp"))
    report.refresh_from_db()
    signed_in(client, "lead.mp")
    response = client.post(edit_url(report), answers(report), follow=True)
    assert "This report is submitted: its answers can no longer be changed." in text_of(response)
    assert ProgressReport.objects.get(pk=report.pk).version == report.version


# --- "What needs to happen, and by when" ---------------------------------------------------


def item_form(description="Audit supervision records.", owner="sro.mp", day=("14", "12", "2018")):
    return {
        "item-description": description,
        "item-owner": user(owner).pk if owner else "",
        "item-due_date_0": day[0],
        "item-due_date_1": day[1],
        "item-due_date_2": day[2],
    }


def test_lines_are_added_settled_and_removed_on_the_report_page(client, plan):
    report = report_in_state(plan, "draft", period=DECEMBER)
    add = reverse("governance:report-item-add", args=[report.pk])
    before = report.items.count()
    signed_in(client, "lead.mp")
    response = client.post(add, item_form())
    assert response.status_code == 302
    item = report.items.get(description="Audit supervision records.")
    assert (item.owner.username, item.due_date) == ("sro.mp", datetime.date(2018, 12, 14))
    assert "Audit supervision records." in element(
        client.get(report.get_absolute_url()), f'data-item="{item.pk}"'
    )

    # A line that does not validate: the page again, with its errors; nothing added.
    response = client.post(add, item_form(description="", owner=None, day=("31", "2", "2019")))
    assert response.status_code == 200
    summary = text_of(response).split("There is a problem")[1].split("Children's")[0]
    assert "Say what needs to happen" in summary and "Choose who owns it" in summary
    assert "Enter a real date" in summary
    assert report.items.count() == before + 1

    settle = reverse("governance:report-item-settle", args=[report.pk, item.pk])
    client.post(settle, {"outcome": "done"})
    assert ReportItem.objects.get(pk=item.pk).outcome == "done"
    remove = reverse("governance:report-item-remove", args=[report.pk, item.pk])
    client.post(remove)
    assert not ReportItem.objects.filter(pk=item.pk).exists()

    # Others may not touch the lines.
    for username in ("viewer", "lead.wf", "exec.director"):
        assert signed_in(client, username).post(add, item_form()).status_code == 403
    assert report.items.count() == before


def test_a_carried_line_is_settled_never_removed(client, plan):
    december = report_in_state(plan, "draft", period=DECEMBER)
    services.report_item_add(
        report=december,
        by=user("lead.mp"),
        description="Recruit two team managers.",
        owner=user("lead.mp"),
        due_date=datetime.date(2019, 1, 31),
    )
    services.report_submit(report=december, by=user("lead.mp"))
    services.report_endorse(report=december, by=user("sro.mp"))
    services.report_sign_off(report=december, by=user("exec.director"))
    january = services.report_start(
        by=user("lead.mp"), plan=plan, period=JANUARY, workstream=december.workstream
    )
    carried = january.items.get(description="Recruit two team managers.")
    remove = reverse("governance:report-item-remove", args=[january.pk, carried.pk])
    response = signed_in(client, "lead.mp").post(remove, follow=True)
    assert "A line carried from last period cannot be removed" in text_of(response)
    assert ReportItem.objects.filter(pk=carried.pk).exists()
    settle = reverse("governance:report-item-settle", args=[january.pk, carried.pk])
    client.post(settle, {"outcome": "not_done"})
    page = client.get(january.get_absolute_url())
    assert ReportItem.objects.get(pk=carried.pk).outcome == "not_done"
    assert 'value="not_done" selected' in page.content.decode()


def test_lines_of_a_submitted_report_cannot_change(client, plan):
    report = report_in_state(plan, "submitted", period=DECEMBER)
    count = report.items.count()
    add = reverse("governance:report-item-add", args=[report.pk])
    response = signed_in(client, "lead.mp").post(add, item_form(), follow=True)
    assert "This report is submitted, so it cannot be changed." in text_of(response)
    assert report.items.count() == count


def test_the_programme_office_makes_a_line_a_tracked_action(client, plan):
    report = report_in_state(plan, "draft", period=DECEMBER)
    item = services.report_item_add(
        report=report,
        by=user("lead.mp"),
        description="Audit supervision records.",
        owner=user("sro.mp"),
        due_date=datetime.date(2019, 2, 28),
    )
    url = reverse("governance:report-item-to-action", args=[report.pk, item.pk])
    assert (
        "Track as an action"
        not in signed_in(client, "lead.mp").get(report.get_absolute_url()).content.decode()
    )
    assert client.post(url, {"reference": "MP-9.1"}).status_code == 403
    signed_in(client, "office")
    assert "Track as an action" in client.get(report.get_absolute_url()).content.decode()
    response = client.post(url, {"reference": "WF-9.1"}, follow=True)
    assert "must start with the workstream's code (MP-)" in text_of(response)
    assert not Action.objects.filter(reference="WF-9.1").exists()
    response = client.post(url, {"reference": "MP-9.1"}, follow=True)
    action = Action.objects.get(plan=plan, reference="MP-9.1")
    assert (action.lead_officer.username, action.due_date) == ("sro.mp", item.due_date)
    assert ReportItem.objects.get(pk=item.pk).action == action
    assert "Now tracked as action MP-9.1." in text_of(response)
    assert "Tracked as action MP-9.1" in element(response, f'data-item="{item.pk}"')


# --- Two months compared -------------------------------------------------------------------


def compare_url(report, other=None):
    url = reverse("governance:report-compare", args=[report.pk])
    return f"{url}?with={other.pk}" if other else url


def test_two_months_side_by_side_with_what_changed_marked(client, plan):
    december = report_in_state(plan, "draft", period=DECEMBER)
    services.report_edit(
        report=december,
        by=user("lead.mp"),
        based_on_version=december.version,
        working_well="Seminars held.\nSupervision audited.",
        how_we_know="Audit results.",
        worried_about="Locum managers.",
    )
    services.report_submit(report=december, by=user("lead.mp"))
    services.report_endorse(report=december, by=user("sro.mp"))
    services.report_sign_off(report=december, by=user("exec.director"))
    mp_12 = Action.objects.get(plan=plan, reference="MP-1.2")
    was = Action.objects.with_rag(datetime.date(2018, 12, 31)).get(pk=mp_12.pk).rag_code
    record(mp_12, user("lead.mp"), status=ActionStatus.OFF_TRACK)
    january = services.report_start(
        by=user("lead.mp"), plan=plan, period=JANUARY, workstream=december.workstream
    )
    services.report_edit(
        report=january,
        by=user("lead.mp"),
        based_on_version=january.version,
        working_well="Supervision audited.\nTwo team managers recruited.",
        how_we_know="Audit results.",
        worried_about="Locum managers.",
    )
    signed_in(client, "viewer")
    for response in (client.get(compare_url(january)), client.get(compare_url(december, january))):
        assert response.status_code == 200
        words = text_of(response)
        assert "Management & Practice: December 2018 and January 2019 compared" in words
        first = element(response, 'data-question="1"')
        assert "1 line added, 1 removed." in first
        before = element(response, 'data-side="before"')
        after = element(response, 'data-side="after"')
        assert "Removed: Seminars held." in before and "Supervision audited." in before
        assert "Added: Two team managers recruited." in after
        assert "Added: Supervision audited." not in after
        assert "No change." in element(response, 'data-question="2"')
        row = element(response, 'data-reference="MP-1.2"')
        assert Rag(was).label in row and "Off track" in row and row.endswith("Changed")
        content = response.content.decode()
        # The signed-off month is compared as it was signed off, and says its checksum.
        assert ProgressReport.objects.get(pk=december.pk).checksum in content
    # The changed lines are marked in words, not colour alone.
    assert "<del><strong" in content and "<ins><strong" in content


def test_compare_without_an_earlier_report_or_with_an_unknown_one(client, plan):
    report = report_in_state(plan, "draft", period=SEPTEMBER)
    signed_in(client, "viewer")
    response = client.get(compare_url(report))
    assert "There is no earlier report of this workstream to compare it with." in text_of(response)
    assert client.get(compare_url(report) + "?with=nothing").status_code == 404
    assert client.get(compare_url(report) + "?with=999999").status_code == 404


# --- What the pages cost ---------------------------------------------------------------------


def add_actions(plan, n):
    workstream = plan.workstreams.get(code="MP")
    bulk_create_with_history(
        [
            Action(
                plan=plan,
                workstream=workstream,
                reference=f"MP-9.{i}",
                title=f"Synthetic action {i}",
                lead_officer=user("lead.mp"),
                due_date=datetime.date(2019, 1, 1) + datetime.timedelta(days=i),
                status="on_track",
            )
            for i in range(n)
        ],
        Action,
    )


def add_reports(plan, months):
    """Reports of every workstream (and the programme) for ``months`` months of 2017 and
    earlier, made directly: the list's cost is what is measured, not the workflow."""
    office = user("office")
    for month in range(months):
        period = datetime.date(2017 - month // 12, 12 - month % 12, 1)
        for workstream in [*plan.workstreams.all(), None]:
            ProgressReport.objects.create(
                plan=plan, workstream=workstream, period=period, created_by=office
            )


@pytest.mark.parametrize("months", [1, 12])
def test_the_list_runs_a_fixed_number_of_queries(
    client, plan, months, django_assert_max_num_queries
):
    add_reports(plan, months)
    report_in_state(plan, "submitted", period=DECEMBER)
    signed_in(client, "sro.mp").get("/reports/")  # warm the session
    with django_assert_max_num_queries(12):
        assert client.get("/reports/?period=2018-12").status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get("/reports/?period=2017-12").status_code == 200


@pytest.mark.parametrize(("actions", "lines"), [(5, 1), (150, 20)])
def test_the_report_page_runs_a_fixed_number_of_queries(
    client, plan, actions, lines, django_assert_max_num_queries
):
    add_actions(plan, actions)
    report = report_in_state(plan, "draft", period=DECEMBER)
    for n in range(lines):
        services.report_item_add(
            report=report,
            by=user("lead.mp"),
            description=f"Line {n}.",
            owner=user("lead.mp"),
            due_date=datetime.date(2019, 1, 31),
        )
    for _ in range(lines // 5):
        services.report_submit(report=report, by=user("lead.mp"))
        services.report_return(report=report, by=user("sro.mp"), comment="Again.")
    for username in ("lead.mp", "office", "viewer"):
        signed_in(client, username).get(report.get_absolute_url())
        with django_assert_max_num_queries(20):
            assert client.get(report.get_absolute_url()).status_code == 200
    with django_assert_max_num_queries(20):
        assert client.get(compare_url(report)).status_code == 200
    services.report_submit(report=report, by=user("lead.mp"))
    services.report_endorse(report=report, by=user("sro.mp"))
    services.report_sign_off(report=report, by=user("exec.director"))
    with django_assert_max_num_queries(12):
        assert client.get(report.get_absolute_url()).status_code == 200


def test_everyone_signed_in_has_reports_in_the_header(client, plan):
    for username in ("viewer", "lead.mp", "exec.director"):
        content = signed_in(client, username).get("/").content.decode()
        assert re.search(r'href="/reports/"[^>]*>\s*Reports\s*</a>', content), username


# --- A workstream of many actions ----------------------------------------------------------


@pytest.fixture
def large_reports(db):
    """generate_plan's reports: a workstream of 70 or more actions, its months signed off and
    its latest a draft (the reference plan is closed by it)."""
    from django.core.management import call_command

    call_command("generate_plan", actions=300, months=3, seed=5, verbosity=0)
    plan = ProgressReport.objects.filter(plan__status="live").first().plan
    workstream = plan.workstreams.order_by("code").first()
    reports = ProgressReport.objects.filter(plan=plan, workstream=workstream).order_by("period")
    return workstream, reports


def rows_and_counts(page: str) -> tuple[list[str], int]:
    table = page.split('id="report-actions"')[1].split("</table>")[0]
    counts = page.split('id="report-rag-counts"')[1].split("</ul>")[0]
    return re.findall(r'data-reference="([^"]+)"', table), sum(
        int(n) for n in re.findall(r"(\d+)</li>", counts)
    )


@pytest.mark.parametrize("which", ["signed off", "draft"])
def test_a_report_of_many_actions_lists_the_most_pressing_and_counts_them_all(
    client, large_reports, which
):
    workstream, reports = large_reports
    total = workstream.actions.count()
    assert total > selectors.REPORT_ACTIONS_SHOWN
    report = next(
        r
        for r in reports
        if (r.status == ProgressReport.Status.SIGNED_OFF) == (which == "signed off")
    )
    page = signed_in(client, "office").get(report.get_absolute_url()).content.decode()
    shown, counted = rows_and_counts(page)
    assert len(shown) == selectors.REPORT_ACTIONS_SHOWN
    assert counted == total
    content = selectors.report_content(report)  # every action, as sealed or as it would be
    assert shown == [row["reference"] for row in content["actions"][: len(shown)]]
    note = page.split('id="report-actions-cut"')[1].split("</p>")[0]
    assert f"of the report's {total:,} actions" in note
    if which == "draft":
        link = html.unescape(re.search(r'href="([^"]+)"', note).group(1))
        listed = client.get(link).content.decode()
        assert f"{total:,} action" in listed or f"{total} action" in listed
        # The list's first page is the report's excerpt: the same actions, in its order.
        table = listed.split('<table class="govuk-table')[1].split("</table>")[0]
        assert re.findall(r'data-reference="([^"]+)"', table) == shown
    else:
        assert "checksum" in note and "href" not in note  # the sealed record holds them


def test_a_reports_actions_are_read_without_the_months_updates(large_reports):
    """A report shows each action's BRAG, due date, slips and lead: reading whether each was
    updated this month (every update of the month in the plan) is work for nothing."""
    _, reports = large_reports
    draft = next(r for r in reports if r.status != ProgressReport.Status.SIGNED_OFF)
    with CaptureQueriesContext(connection) as queries:
        content = selectors.report_snapshot(draft, actions_shown=selectors.REPORT_ACTIONS_SHOWN)
    assert len(content["actions"]) == selectors.REPORT_ACTIONS_SHOWN
    assert not [q for q in queries.captured_queries if "workstreams_actionupdate" in q["sql"]]


def test_two_months_compared_show_what_changed_first(client, large_reports):
    workstream, reports = large_reports
    earlier, later = list(reports)[-2:]
    comparison = selectors.report_comparison(earlier, later)
    assert comparison.action_count == workstream.actions.count()
    assert len(comparison.actions) == selectors.REPORT_ACTIONS_SHOWN
    changed = [action.changed for action in comparison.actions]
    assert changed == sorted(changed, reverse=True)  # every change before the first "same"
    page = signed_in(client, "office").get(compare_url(later, earlier)).content.decode()
    words = text_of_html(page.split('id="compared-count"')[1].split("</p>")[0])
    assert words.startswith(f"{comparison.changed_count} of {comparison.action_count} actions")
    assert len(re.findall(r"<tr [^>]*data-reference=", page)) == selectors.REPORT_ACTIONS_SHOWN


def text_of_html(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment.lstrip(">"))).split())


def test_the_owner_choice_lists_every_active_person_by_name_and_keeps_the_choice():
    """The people select's options are written in one pass (PersonSelect): each active
    person once, by name (escaped), the chosen one selected when the form comes back with
    an error."""
    from governance.forms import ReportItemForm
    from workstreams.audit import display_name

    people = get_user_model().objects.filter(is_active=True)
    chosen = people.order_by("pk").last()
    chosen.first_name = 'Ann "<Tess>" &'
    chosen.save()
    nameless = people.order_by("pk").first()
    nameless.first_name = nameless.last_name = ""
    nameless.save()
    bound = ReportItemForm(data={"item-owner": chosen.pk, "item-description": ""})
    assert not bound.is_valid()
    with CaptureQueriesContext(connection) as read:
        rendered = str(bound["owner"])
    # One plain query of what a name needs (PeopleChoices), not every column of each user.
    assert len(read.captured_queries) == 1
    assert '"password"' not in read.captured_queries[0]["sql"]
    options = re.findall(r'<option value="([^"]*)"( selected)?>([^<]*)</option>', rendered)
    assert [value for value, _, _ in options] == [""] + [
        str(p.pk) for p in people.order_by("first_name", "last_name", "username")
    ]
    assert [value for value, selected, _ in options if selected] == [str(chosen.pk)]
    labels = {value: html.unescape(label) for value, _, label in options}
    assert labels[str(chosen.pk)] == display_name(chosen) == 'Ann "<Tess>" & ' + chosen.last_name
    assert labels[str(nameless.pk)] == display_name(nameless) == nameless.username
    assert 'name="item-owner"' in rendered and 'id="id_item-owner"' in rendered
    # Laid out as every GOV.UK select is (its width kept to the screen's).
    laid_out = Template("{% load crispy_forms_tags %}{% crispy form %}").render(
        Context({"form": bound})
    )
    assert re.search(r'<select name="item-owner" class="govuk-select"', laid_out)
