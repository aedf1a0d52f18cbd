"""Requests no person makes, answered without a 500: NUL bytes, a search of thousands of
words, a load balancer's health probe over plain http in production."""

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from workstreams.filters import SEARCH_MAX_CHARACTERS, SEARCH_MAX_WORDS
from workstreams.models import Action

pytestmark = pytest.mark.django_db


# --- /healthz/ over plain http in production -------------------------------------------------


@override_settings(SECURE_SSL_REDIRECT=True)
def test_production_answers_the_health_probe_over_http_and_redirects_the_rest():
    assert settings.DEBUG is False  # the test suite runs in production mode
    client = Client()  # made here, so its middleware reads the overridden setting
    probe = client.get("/healthz/")
    assert probe.status_code == 200
    assert probe.json() == {"status": "ok", "database": "ok"}
    for path in ["/", "/accounts/login/", "/actions/", "/healthz"]:
        response = client.get(path)
        assert response.status_code == 301, path
        assert response.url.startswith("https://testserver/"), path
    assert client.get("/accounts/login/", secure=True).status_code == 200


# --- NUL bytes -------------------------------------------------------------------------------

NUL_URLS = [
    "/actions/%00/",
    "/actions/MP-1.1%00/",
    "/actions/%00/history/",
    "/workstreams/%00/",
    "/actions/?q=%00",
    "/actions/?workstream=%00",
    "/actions/?status=%00",
    "/actions/?lead=%00",
    "/actions/?sort=%00",
    "/admin/workstreams/action/?q=%00",
    "/admin/workstreams/action/?status__exact=%00",
    "/admin/workstreams/action/?%00=1",
    "/admin/workstreams/action/%00/change/",
    "/accounts/login/?next=%00",
]


@pytest.mark.parametrize("url", NUL_URLS)
def test_a_nul_byte_in_the_address_is_a_bad_request(client, admin_user_demo, url):
    client.raise_request_exception = False
    client.force_login(admin_user_demo)
    response = client.get(url)
    assert response.status_code == 400
    assert "Sorry, Grip cannot read that request" in response.content.decode()


def test_a_nul_byte_is_refused_before_sign_in_too(client):
    client.raise_request_exception = False
    assert client.get("/actions/%00/").status_code == 400


def test_a_nul_byte_in_a_cookie_is_a_bad_request(client):
    client.raise_request_exception = False
    client.cookies["sessionid"] = "\x00" + "a" * 31  # a session key the database is asked for
    assert client.get("/").status_code == 400


def test_a_nul_byte_in_a_posted_form_is_a_bad_request(client):
    client.raise_request_exception = False
    response = client.post("/accounts/login/", {"username": "office\x00", "password": "x"})
    assert response.status_code == 400


def test_a_nul_byte_in_a_header_is_a_bad_request(client):
    """A failed sign-in records the browser's name: with a NUL in it, PostgreSQL refused."""
    client.raise_request_exception = False
    response = client.post(
        "/accounts/login/",
        {"username": "office", "password": "wrong"},
        HTTP_USER_AGENT="Mozilla\x00",
    )
    assert response.status_code == 400


def test_the_same_addresses_without_the_nul_byte_still_answer(client, admin_user_demo):
    client.force_login(admin_user_demo)
    reference = Action.objects.order_by("reference").first().reference
    assert client.get(f"/actions/{reference}/").status_code == 200
    assert client.get("/admin/workstreams/action/?q=plan").status_code == 200
    assert client.get("/actions/%01/").status_code == 404


# --- Bounded search ----------------------------------------------------------------------------


def search(client, text):
    return client.get("/actions/", {"q": text})


def listed(response):
    return [action.reference for action in response.context["actions"]]


def test_a_two_thousand_word_search_is_refused_with_a_message_and_runs_no_search(
    client, viewer, django_assert_max_num_queries
):
    client.force_login(viewer)
    with CaptureQueriesContext(connection) as plain_list:
        client.get("/actions/")
    text = " ".join(f"word{i}" for i in range(2000))
    # No more queries than the list without a search, and none of them a search.
    with django_assert_max_num_queries(len(plain_list)) as queries:
        response = search(client, text)
    assert response.status_code == 200
    html = response.content.decode()
    message = f"Search must be {SEARCH_MAX_CHARACTERS} characters or fewer"
    assert message in html
    assert 'class="govuk-error-message"' in html  # beside the search box, not only the summary
    assert response.context["filter"].form.errors == {"q": [message]}
    assert not any("LIKE" in query["sql"].upper() for query in queries.captured_queries)


def test_too_many_short_words_are_refused(client, viewer):
    client.force_login(viewer)
    response = search(client, " ".join(["a"] * (SEARCH_MAX_WORDS + 1)))
    assert response.status_code == 200
    assert response.context["filter"].form.errors == {
        "q": [f"Search for {SEARCH_MAX_WORDS} words or fewer"]
    }


def test_a_normal_search_still_finds_its_rows(client, viewer, plan):
    client.force_login(viewer)
    action = plan.actions.order_by("reference").first()
    assert listed(search(client, action.reference)) == [action.reference]
    # Every word must appear; any case.
    first, *_, last = action.title.split()
    assert action.reference in listed(search(client, f"{first.upper()} {last.lower()}"))
    assert listed(search(client, f"{first} zzz-not-in-any-action")) == []


def test_a_pasted_title_is_within_the_bounds(client, viewer, plan):
    """30 words and 200 characters: the longest title an action can have, pasted, is found."""
    client.force_login(viewer)
    longest = max(plan.actions.all(), key=lambda action: len(action.title.split()))
    assert len(longest.title.split()) <= SEARCH_MAX_WORDS
    response = search(client, longest.title)
    assert response.context["filter"].form.errors == {}
    assert listed(response) == [longest.reference]
