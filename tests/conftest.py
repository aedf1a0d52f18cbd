import datetime
import os
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import override_settings

from workstreams.models import Action, Plan


@pytest.fixture(scope="session", autouse=True)
def test_settings(tmp_path_factory):
    """Static files collected as in production (hashed names), once a run.

    WhiteNoise serves them to the test client; pytest-django's live server serves static
    files itself, from the finders, so the collected folder is one of them too.
    """
    root = tmp_path_factory.mktemp("static")
    # A fast hasher for the demo users' passwords: PBKDF2 costs seconds a load.
    fast = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with override_settings(STATIC_ROOT=root, PASSWORD_HASHERS=fast):
        call_command("collectstatic", interactive=False, verbosity=0)
        with override_settings(STATICFILES_DIRS=[*settings.STATICFILES_DIRS, root]):
            yield


# Every test runs on a pinned clock, so none drifts with the calendar: 10 January 2019, in
# the reference plan's year, when some of its actions are overdue (MP-1.5, PL-1.1, PL-5.1),
# some due within 30 days and most months away. A test that needs another day moves the
# clock itself (``pinned_clock.move_to``). The clock ticks on from there, so the browser and
# the live server keep real time between steps.
REFERENCE_DAY = datetime.datetime(2019, 1, 10, 10, 0, tzinfo=ZoneInfo("Europe/London"))


@pytest.fixture(autouse=True)
def pinned_clock():
    with time_machine.travel(REFERENCE_DAY, tick=True) as traveller:
        yield traveller


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The reference plan and demo users, loaded once into the test database.

    Tests in a transaction (the default) see it and roll their changes back. Tests marked
    ``transaction=True`` empty the database afterwards, so they load it themselves
    (``demo`` fixture).
    """
    # Loaded the day before the tests' pinned clock, so its history comes first.
    the_day_before = REFERENCE_DAY - datetime.timedelta(days=1)
    with time_machine.travel(the_day_before, tick=False), django_db_blocker.unblock():
        call_command("load_demo", "--allow-production", verbosity=0)


@pytest.fixture
def demo():
    """The reference plan and demo users, present in every kind of database test."""
    if not Plan.objects.exists():
        call_command("load_demo", "--allow-production", verbosity=0)
    return Plan.objects.live().get()


@pytest.fixture
def plan(db):
    return Plan.objects.live().get()


def _user(username):
    return get_user_model().objects.get(username=username)


@pytest.fixture
def admin_user_demo(db):
    return _user("admin")


@pytest.fixture
def office(db):
    return _user("office")


@pytest.fixture
def board_chair(db):
    return _user("exec.director")


@pytest.fixture
def board_member(db):
    return _user("board.member")


@pytest.fixture
def chair_mp(db):
    return _user("sro.mp")


@pytest.fixture
def chair_wf(db):
    return _user("sro.wf")


@pytest.fixture
def lead_mp(db):
    return _user("lead.mp")


@pytest.fixture
def lead_wf(db):
    return _user("lead.wf")


@pytest.fixture
def viewer(db):
    return _user("viewer")


@pytest.fixture
def action_mp(plan, lead_mp):
    """An open Management & Practice action led by lead.mp."""
    return (
        Action.objects.filter(plan=plan, workstream__code="MP", lead_officer=lead_mp)
        .exclude(status__in=["complete", "closed"])
        .order_by("reference")
        .first()
    )


# --- Browser -------------------------------------------------------------------------------

CHROMIUM = os.environ.get("CHROMIUM_PATH") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not os.path.exists(CHROMIUM):
        # Never skip: a browser test that cannot run is a failure, with the way to fix it.
        pytest.fail(f"Chromium not found at {CHROMIUM}: run bin/test, which installs it.")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}
