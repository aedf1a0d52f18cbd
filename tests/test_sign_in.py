"""Signing in: lockout after repeated wrong passwords (portal and admin), password reset only
where e-mail is set up, who is signed in, and whom to tell."""

import datetime
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db
both_logins = pytest.mark.usefixtures("office_may_use_the_admin")

LOGINS = ["/accounts/login/", "/admin/login/"]
COLLEAGUE = {"/accounts/login/": "sro.mp", "/admin/login/": "admin"}
ATTACKER = "10.0.0.66"
ELSEWHERE = "10.0.0.7"
NOON = datetime.datetime(2018, 11, 20, 12, tzinfo=ZoneInfo("Europe/London"))


@pytest.fixture
def office_may_use_the_admin(office):
    """office may sign in at both logins, so a refusal at either is the lock's doing."""
    office.is_staff = True
    office.save()


def sign_in(client, login, username, password, address):
    return client.post(login, {"username": username, "password": password}, REMOTE_ADDR=address)


def signed_in_as(client):
    user = client.get("/").wsgi_request.user
    return user.username if user.is_authenticated else None


def fail(client, login, times, username="office", address=ATTACKER):
    for _ in range(times):
        response = sign_in(client, login, username, "wrong-password", address)
    return response


def assert_locked_out_page(response, username="office"):
    assert response.status_code == 429
    html = response.content.decode()
    minutes = settings.AXES_COOLOFF_MINUTES
    assert f"You cannot sign in for {minutes} minutes" in html
    assert f"wrong password was entered {settings.AXES_FAILURE_LIMIT} times" in html
    assert f"manage.py axes_reset_username {username}" in html
    assert "govuk-heading-l" in html  # the site's layout, not a bare message


@both_logins
@pytest.mark.parametrize("login", LOGINS)
def test_thirty_wrong_passwords_then_the_right_one_is_refused_with_what_to_do(client, login):
    with time_machine.travel(NOON, tick=False):
        fail(client, login, 30)
        response = sign_in(client, login, "office", "grip-demo", ATTACKER)
        assert_locked_out_page(response)
        assert signed_in_as(client) is None


@both_logins
@pytest.mark.parametrize("login", LOGINS)
def test_the_lock_starts_at_the_limit_not_before(client, login):
    limit = settings.AXES_FAILURE_LIMIT
    with time_machine.travel(NOON, tick=False):
        below = fail(client, login, limit - 1)
        assert below.status_code == 200  # the form again, with its error
        assert_locked_out_page(fail(client, login, 1))


@both_logins
@pytest.mark.parametrize("login", LOGINS)
def test_a_lock_holds_one_username_at_one_address_only(client, login):
    with time_machine.travel(NOON, tick=False):
        fail(client, login, settings.AXES_FAILURE_LIMIT)
        # A colleague at the attacker's address signs in...
        other_user = Client()
        sign_in(other_user, login, COLLEAGUE[login], "grip-demo", ATTACKER)
        assert signed_in_as(other_user) == COLLEAGUE[login]
        # ...and so does the locked user, from their own address.
        own_desk = Client()
        sign_in(own_desk, login, "office", "grip-demo", ELSEWHERE)
        assert signed_in_as(own_desk) == "office"
        # From the attacker's address the right password is still refused.
        assert_locked_out_page(sign_in(client, login, "office", "grip-demo", ATTACKER))


@both_logins
@pytest.mark.parametrize("login", LOGINS)
def test_the_cool_off_ends_the_lock(client, login):
    minutes = settings.AXES_COOLOFF_MINUTES
    with time_machine.travel(NOON, tick=False) as clock:
        fail(client, login, settings.AXES_FAILURE_LIMIT)
        clock.shift(datetime.timedelta(minutes=minutes) - datetime.timedelta(seconds=1))
        assert_locked_out_page(sign_in(client, login, "office", "grip-demo", ATTACKER))
        # That attempt, made while locked, started the cool-off again.
        clock.shift(datetime.timedelta(minutes=minutes) + datetime.timedelta(seconds=1))
        assert sign_in(client, login, "office", "grip-demo", ATTACKER).status_code == 302
        assert signed_in_as(client) == "office"


@both_logins
def test_an_administrator_unlocks_with_the_command(client):
    with time_machine.travel(NOON, tick=False):
        fail(client, "/accounts/login/", settings.AXES_FAILURE_LIMIT)
        call_command("axes_reset_username", "office", verbosity=0)
        sign_in(client, "/accounts/login/", "office", "grip-demo", ATTACKER)
        assert signed_in_as(client) == "office"


@both_logins
@override_settings(GRIP_TRUSTED_PROXY_COUNT=1)
def test_behind_a_load_balancer_the_lock_counts_the_clients_address(client):
    balancer = "192.168.0.2"

    def via_balancer(browser, forwarded_for, password):
        return browser.post(
            "/accounts/login/",
            {"username": "office", "password": password},
            REMOTE_ADDR=balancer,
            # The client may send its own X-Forwarded-For; the balancer appends the real one.
            HTTP_X_FORWARDED_FOR=forwarded_for,
        )

    with time_machine.travel(NOON, tick=False):
        for _ in range(settings.AXES_FAILURE_LIMIT):
            via_balancer(client, f"{ELSEWHERE}, {ATTACKER}", "wrong-password")
        assert_locked_out_page(via_balancer(client, ATTACKER, "grip-demo"))
        colleague = Client()
        via_balancer(colleague, ELSEWHERE, "grip-demo")
        assert signed_in_as(colleague) == "office"


# --- Password reset ------------------------------------------------------------------------

RESET_URLS = [
    "/accounts/password_reset/",
    "/accounts/password_reset/done/",
    "/accounts/reset/MQ/set-password/",
    "/accounts/reset/done/",
]


@override_settings(GRIP_PASSWORD_RESET=False, GRIP_PROGRAMME_OFFICE_EMAIL="pmo@council.example")
def test_without_email_no_reset_is_offered_and_the_page_says_whom_to_ask(client, mailoutbox):
    html = client.get("/accounts/login/").content.decode()
    assert "password_reset" not in html
    assert "Ask the programme office" in html
    assert 'href="mailto:pmo@council.example"' in html
    for url in RESET_URLS:
        assert client.get(url).status_code == 404, url
    assert client.post(RESET_URLS[0], {"email": "office@grip.example"}).status_code == 404
    assert mailoutbox == []


@override_settings(GRIP_PASSWORD_RESET=True)
def test_with_email_a_reset_sends_a_link_that_sets_a_new_password(client, office, mailoutbox):
    html = client.get("/accounts/login/").content.decode()
    assert 'href="/accounts/password_reset/"' in html
    assert "Ask the programme office" not in html

    form = client.get("/accounts/password_reset/")
    assert form.status_code == 200 and "Reset your password" in form.content.decode()
    sent = client.post("/accounts/password_reset/", {"email": office.email})
    assert sent.status_code == 302 and sent.url == "/accounts/password_reset/done/"
    assert "Check your e-mail" in client.get(sent.url).content.decode()

    (message,) = mailoutbox
    assert message.to == [office.email]
    link = re.search(r"https?://testserver(/accounts/reset/\S+/)", message.body).group(1)
    set_password = client.get(link, follow=True)
    assert "Set a new password" in set_password.content.decode()
    new = "a-new-long-passphrase-2018"
    done = client.post(
        set_password.redirect_chain[-1][0], {"new_password1": new, "new_password2": new}
    )
    assert done.status_code == 302 and done.url == "/accounts/reset/done/"
    office.refresh_from_db()
    assert office.check_password(new)
    assert sign_in(client, "/accounts/login/", "office", new, ELSEWHERE).status_code == 302


# --- Who is signed in; whom to tell ----------------------------------------------------------


def test_the_header_shows_who_is_signed_in(client, office):
    client.force_login(office)
    html = client.get("/actions/").content.decode()
    shown = re.search(r'<p [^>]*id="signed-in-as"[^>]*>(.*?)</p>', html, re.S).group(1)
    assert re.sub(r"<[^>]+>", "", shown) == "Signed in as Programme office (Officer)"
    assert "govuk-visually-hidden" not in shown
    # Outside the menu, which folds away on a phone.
    nav = re.search(r'<nav aria-label="Menu".*?</nav>', html, re.S).group(0)
    assert "signed-in-as" not in nav


def test_nobody_is_named_before_signing_in(client):
    assert "Signed in as" not in client.get("/accounts/login/").content.decode()


def phase_banner(client):
    html = client.get("/accounts/login/").content.decode()
    return re.search(r'<span class="govuk-phase-banner__text">(.*?)</span>', html, re.S).group(1)


@override_settings(GRIP_FEEDBACK_URL="", GRIP_PROGRAMME_OFFICE_EMAIL="")
def test_the_beta_banner_has_no_dead_link_without_a_contact(client):
    banner = phase_banner(client)
    assert "Tell the programme office what could be better." in banner
    assert "<a" not in banner


@override_settings(GRIP_FEEDBACK_URL="", GRIP_PROGRAMME_OFFICE_EMAIL="pmo@council.example")
def test_the_beta_banner_links_to_the_programme_office_by_email(client):
    assert 'href="mailto:pmo@council.example"' in phase_banner(client)


@override_settings(
    GRIP_FEEDBACK_URL="https://forms.council.example/grip",
    GRIP_PROGRAMME_OFFICE_EMAIL="pmo@council.example",
)
def test_the_beta_banner_links_to_the_feedback_form_when_there_is_one(client):
    banner = phase_banner(client)
    assert 'href="https://forms.council.example/grip"' in banner
    assert "mailto:" not in banner


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [375, 1280])
def test_who_is_signed_in_shows_on_a_phone_and_the_desktop(page, live_server, demo, width):
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("sro.mp")
    page.get_by_label("Password").fill("grip-demo")
    page.get_by_role("button", name="Sign in").click()
    signed_in = page.locator("#signed-in-as")
    signed_in.wait_for()
    assert signed_in.is_visible()
    assert signed_in.inner_text().startswith("Signed in as ")
    box = signed_in.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width
    # The header fits (the pages' own tables are the browser suite's to check).
    assert page.evaluate("document.querySelector('header').scrollWidth") <= width
    page.screenshot(path=f"/tmp/signed-in-{width}.png")
