"""The risk registers: who keeps them, what a change records, the register sorted by score,
the pages and what they cost."""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from governance import selectors, services
from governance.models import Risk
from tests.helpers import DEMO_USERNAMES
from workstreams.models import Plan, Workstream

pytestmark = pytest.mark.django_db


def user(username):
    return get_user_model().objects.get(username=username)


# A workstream's register: its task group chair and lead officers, and the programme office;
# the programme's: the programme board chair and the programme office. (The administrator is
# a superuser.) Everyone else reads.
KEEPERS = {
    "MP": {"admin", "office", "sro.mp", "lead.mp"},
    "programme": {"admin", "office", "exec.director"},
}


def workstream_of(plan, register):
    return None if register == "programme" else plan.workstreams.get(code=register)


def add_risk(plan, register="MP", by="office", **fields):
    values = {
        "title": "Managers leave before the standards bed in",
        "description": "Turnover of team managers.",
        "owner": user("sro.mp"),
        "likelihood": 3,
        "impact": 4,
        "mitigation": "Retention payments.",
        "escalated": False,
    }
    values.update(fields)
    return services.risk_add(
        by=user(by), plan=plan, workstream=workstream_of(plan, register), **values
    )


@pytest.mark.parametrize("register", sorted(KEEPERS))
@pytest.mark.parametrize("username", sorted(DEMO_USERNAMES))
def test_who_adds_a_risk_to_a_register(plan, register, username):
    before = Risk.objects.count()
    if username not in KEEPERS[register]:
        with pytest.raises(PermissionDenied):
            add_risk(plan, register, by=username)
        assert Risk.objects.count() == before
        return
    risk = Risk.objects.get(pk=add_risk(plan, register, by=username, escalated=True).pk)
    assert (risk.plan, risk.workstream) == (plan, workstream_of(plan, register))
    assert (risk.title, risk.owner, risk.likelihood, risk.impact, risk.score) == (
        "Managers leave before the standards bed in",
        user("sro.mp"),
        3,
        4,
        12,
    )
    assert risk.escalated and risk.status == "open"
    assert risk.history.get().history_user == user(username)


@pytest.mark.parametrize("register", sorted(KEEPERS))
@pytest.mark.parametrize("username", sorted(DEMO_USERNAMES))
def test_who_changes_and_closes_a_risk(plan, register, username):
    risk = add_risk(plan, register)
    rows = risk.history.count()
    if username not in KEEPERS[register]:
        with pytest.raises(PermissionDenied):
            services.risk_change(by=user(username), risk=risk, likelihood=5)
        with pytest.raises(PermissionDenied):
            services.risk_close(by=user(username), risk=risk, note="Gone.")
        fresh = Risk.objects.get(pk=risk.pk)
        assert (fresh.likelihood, fresh.status, fresh.history.count()) == (3, "open", rows)
        return
    services.risk_change(
        by=user(username), risk=risk, likelihood=5, escalated=True, note="Two more left."
    )
    changed = Risk.objects.get(pk=risk.pk)
    assert (changed.likelihood, changed.score, changed.escalated) == (5, 20, True)
    latest = changed.history.order_by("history_id").last()
    assert (latest.history_user, latest.history_change_reason) == (user(username), "Two more left.")
    services.risk_close(by=user(username), risk=changed, note="The posts are filled.")
    closed = Risk.objects.get(pk=risk.pk)
    assert closed.status == "closed"
    latest = closed.history.order_by("history_id").last()
    assert (latest.history_user, latest.history_change_reason) == (
        user(username),
        "The posts are filled.",
    )


def test_a_change_that_changes_nothing_records_nothing(plan):
    risk = add_risk(plan)
    services.risk_change(by=user("sro.mp"), risk=risk, likelihood=3, title=" " + risk.title)
    assert risk.history.count() == 1


def test_a_closed_risk_is_not_changed_and_a_close_needs_a_reason(plan):
    risk = add_risk(plan)
    with pytest.raises(ValidationError, match="Say why the risk is closed"):
        services.risk_close(by=user("sro.mp"), risk=risk, note="  ")
    assert Risk.objects.get(pk=risk.pk).status == "open"
    services.risk_close(by=user("sro.mp"), risk=risk, note="Resolved.")
    with pytest.raises(ValidationError, match="closed, so it cannot be changed"):
        services.risk_change(by=user("sro.mp"), risk=risk, impact=5)
    with pytest.raises(ValidationError, match="closed, so it cannot be closed"):
        services.risk_close(by=user("sro.mp"), risk=risk, note="Again.")
    assert Risk.objects.get(pk=risk.pk).impact == 4


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"likelihood": 6}, "less than or equal to 5"),
        ({"impact": 0}, "greater than or equal to 1"),
        ({"title": "  "}, "cannot be blank"),
    ],
)
def test_a_risk_out_of_range_is_refused(plan, fields, message):
    before = Risk.objects.count()
    with pytest.raises(ValidationError, match=message):
        add_risk(plan, **fields)
    assert Risk.objects.count() == before


def test_a_risk_of_another_plans_workstream_is_refused(plan):
    other = Plan.objects.create(
        title="Next year's plan",
        council="A council",
        period_start=datetime.date(2019, 4, 1),
        period_end=datetime.date(2020, 3, 31),
    )
    elsewhere = Workstream.objects.create(plan=other, code="MP", name="Management")
    with pytest.raises(ValidationError, match="another plan"):
        services.risk_add(
            by=user("office"),
            plan=plan,
            workstream=elsewhere,
            title="Misfiled",
            owner=user("office"),
            likelihood=1,
            impact=1,
        )


def test_a_change_on_a_risk_changed_since_it_was_opened_is_refused(plan):
    risk = add_risk(plan)
    opened = selectors.risk_state(risk)
    services.risk_change(by=user("lead.mp"), risk=risk, impact=5)
    with pytest.raises(services.RiskChangedSinceOpened) as refused:
        services.risk_change(by=user("sro.mp"), risk=risk, based_on=opened, likelihood=1)
    assert [c.label for c in refused.value.changes] == ["Impact"]
    assert refused.value.changed_by == ["Lead officer (Management & Practice)"]
    assert Risk.objects.get(pk=risk.pk).likelihood == 3
    services.risk_change(
        by=user("sro.mp"), risk=risk, based_on=selectors.risk_state(risk), likelihood=1
    )
    assert Risk.objects.get(pk=risk.pk).likelihood == 1


# --- The register --------------------------------------------------------------------------


def titles(register):
    return [risk.title for risk in register.risks]


def test_the_register_lists_each_register_by_score(plan):
    low = add_risk(plan, title="Low", likelihood=1, impact=2)
    high = add_risk(plan, title="High", likelihood=5, impact=4, escalated=True)
    programme = add_risk(plan, "programme", title="Programme-wide", likelihood=2, impact=2)
    closed = add_risk(plan, title="Closed", likelihood=5, impact=5)
    services.risk_close(by=user("office"), risk=closed, note="Gone.")

    registers = selectors.risk_register(plan)
    assert [r.workstream.code if r.workstream else "" for r in registers] == [
        "",
        "MP",
        "PA",
        "PL",
        "WF",
    ]
    for register in registers:
        scores = [risk.score for risk in register.risks]
        assert scores == sorted(scores, reverse=True)
        assert all(risk.status == "open" for risk in register.risks)
        assert all(risk.workstream == register.workstream for risk in register.risks)
    mp = registers[1]
    assert titles(mp).index("High") < titles(mp).index("Low") and "Closed" not in titles(mp)
    assert programme.title in titles(registers[0])
    assert Risk.objects.filter(plan=plan, status="open").count() == sum(
        len(r.risks) for r in registers
    )

    only_mp = selectors.risk_register(plan, workstream="MP", escalated=True)
    assert [(r.workstream.code, titles(r)) for r in only_mp] == [
        ("MP", [t for t in titles(mp) if Risk.objects.get(title=t).escalated])
    ]
    assert high.title in titles(only_mp[0]) and low.title not in titles(only_mp[0])
    closed_only = selectors.risk_register(plan, workstream="MP", status="closed")
    assert titles(closed_only[0]) == ["Closed"]
    everything = selectors.risk_register(plan, workstream="MP", status="all")
    assert titles(everything[0])[0] == "Closed"  # 25, the highest score
    assert [r.workstream for r in selectors.risk_register(plan, workstream="programme")] == [None]


# --- Pages ---------------------------------------------------------------------------------


def test_the_register_page_filters_and_says_the_score_in_words(client, plan):
    risk = add_risk(plan, title="Escalated one", likelihood=4, impact=5, escalated=True)
    client.force_login(user("viewer"))
    page = client.get(reverse("governance:risk-list")).content.decode()
    row = page[page.index(f'data-risk="{risk.pk}"') :]
    row = row[: row.index("</tr>")]
    assert "4 (likely)" in row and "5 (severe)" in row and ">20<" in row and "Escalated" in row
    assert "Add a risk" not in page
    page = client.get(reverse("governance:risk-list"), {"workstream": "WF"}).content.decode()
    assert f'data-risk="{risk.pk}"' not in page and 'id="register-WF"' in page
    assert 'id="register-MP"' not in page
    page = client.get(reverse("governance:risk-list"), {"workstream": "XX"}).content.decode()
    assert "Select a valid choice" in page or "valid choice" in page


def test_a_risk_is_added_changed_and_closed_from_its_pages(client, plan):
    client.force_login(user("lead.mp"))
    page = client.get(reverse("governance:risk-add")).content.decode()
    assert 'value="MP"' in page and 'value="WF"' not in page and 'value="programme"' not in page
    response = client.post(
        reverse("governance:risk-add"),
        {
            "register": "MP",
            "title": "Audit finds poor supervision",
            "description": "",
            "owner": user("lead.mp").pk,
            "likelihood": "2",
            "impact": "3",
            "mitigation": "Coaching.",
        },
    )
    risk = Risk.objects.get(title="Audit finds poor supervision")
    assert response.status_code == 302 and response["Location"] == reverse(
        "governance:risk-detail", args=[risk.pk]
    )
    assert (risk.workstream.code, risk.score, risk.escalated) == ("MP", 6, False)

    change_url = reverse("governance:risk-change", args=[risk.pk])
    form = client.get(change_url).content.decode()
    opened = selectors.risk_state(risk)
    assert f'value="{opened}"' in form
    data = {
        "title": risk.title,
        "description": "",
        "owner": user("lead.mp").pk,
        "likelihood": "4",
        "impact": "3",
        "mitigation": "Coaching.",
        "escalated": "on",
        "note": "The audit was worse than feared.",
        "based_on": opened,
    }
    # Someone else changes it first: the save is refused and shows what they changed.
    services.risk_change(by=user("sro.mp"), risk=risk, mitigation="Coaching and audits.")
    response = client.post(change_url, data)
    assert response.status_code == 409
    page = response.content.decode()
    assert "Someone else changed this risk after you opened it" in page
    assert "Coaching and audits." in page
    assert Risk.objects.get(pk=risk.pk).likelihood == 2
    response = client.post(change_url, {**data, "based_on": selectors.risk_state(risk)})
    assert response.status_code == 302
    risk.refresh_from_db()
    assert (risk.likelihood, risk.score, risk.escalated) == (4, 12, True)

    close_url = reverse("governance:risk-close", args=[risk.pk])
    assert "Close: Audit finds poor supervision" in client.get(close_url).content.decode()
    assert "Say why the risk is closed" in client.post(close_url, {"note": ""}).content.decode()
    client.post(close_url, {"note": "Supervision re-audited: fine.", "based_on": ""})
    assert Risk.objects.get(pk=risk.pk).status == "closed"

    page = client.get(reverse("governance:risk-detail", args=[risk.pk])).content.decode()
    assert "Change this risk" not in page  # closed: nothing more to change
    entries = page.split("data-history-entry")[1:]
    assert "Changed by Lead officer (Management &amp; Practice)" in entries[0]
    assert "Supervision re-audited: fine." in entries[0] and "Closed" in entries[0]
    assert "The audit was worse than feared." in entries[1]
    assert "Changed by Senior responsible officer (Management &amp; Practice)" in entries[2]
    assert "Created by Lead officer" in entries[-1]
    assert client.get(change_url).status_code == 302  # a closed risk: back to its page


def test_who_does_not_keep_the_register_is_neither_offered_nor_accepted(client, plan):
    risk = add_risk(plan)
    client.force_login(user("lead.wf"))
    page = client.get(reverse("governance:risk-detail", args=[risk.pk])).content.decode()
    assert "Change this risk" not in page and "Close this risk" not in page
    for name in ("governance:risk-change", "governance:risk-close"):
        url = reverse(name, args=[risk.pk])
        assert client.get(url).status_code == 403
        assert client.post(url, {"note": "Sneaked.", "title": "Sneaked."}).status_code == 403
    client.force_login(user("viewer"))
    assert client.get(reverse("governance:risk-add")).status_code == 403
    assert Risk.objects.get(pk=risk.pk).status == "open" and risk.history.count() == 1


def test_the_register_and_a_risk_page_run_a_fixed_number_of_queries(client, plan):
    client.force_login(user("sro.mp"))
    risk = add_risk(plan)
    urls = [reverse("governance:risk-list"), reverse("governance:risk-detail", args=[risk.pk])]
    for url in urls:
        client.get(url)

    def counts():
        result = []
        for url in urls:
            with CaptureQueriesContext(connection) as queries:
                assert client.get(url).status_code == 200
            result.append(len(queries))
        return result

    few = counts()
    for n in range(20):
        add_risk(plan, ["MP", "WF", "programme"][n % 3], title=f"Risk {n}", likelihood=n % 5 + 1)
        services.risk_change(by=user("office"), risk=risk, impact=n % 5 + 1, note=f"Change {n}")
    assert counts() == few
    assert max(few) <= 14, few
