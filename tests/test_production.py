"""Serving Grip in production: request ids on responses and log lines, the cache and sessions
from CACHE_URL, gunicorn's settings from the environment, and gunicorn itself serving the
health check and the hashed, compressed static files (README, "Running in production")."""

import gzip
import http.client
import io
import json
import logging
import os
import re
import runpy
import signal
import socket
import subprocess
import sys
import time
import types
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from improvement.cache_config import (
    DATABASE_CACHE,
    LOCAL_MEMORY_CACHE,
    REDIS_CACHE,
    cache_from_url,
    session_engine_for,
)
from improvement.logs import JsonFormatter, RequestIdFilter, current_request_id

BASE_DIR = Path(settings.BASE_DIR)
PYTHON = sys.executable
HEX_ID = re.compile(r"[0-9a-f]{32}")
CACHED_DB = "django.contrib.sessions.backends.cached_db"
DB_SESSIONS = "django.contrib.sessions.backends.db"


def sign_in(client, username="office"):
    response = client.post("/accounts/login/", {"username": username, "password": "grip-demo"})
    assert response.status_code == 302, "the demo user could not sign in"


def signed_in_as(client):
    user = client.get("/").wsgi_request.user
    return user.username if user.is_authenticated else None


# What the test suite sets for itself, and what these tests set for each case: none of it
# is in an operator's environment.
NOT_THE_OPERATORS = {
    "SECURE_SSL_REDIRECT",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
    "CACHE_URL",
    "CACHE_KEY_PREFIX",
    "CACHE_TIMEOUT",
    "LOG_FORMAT",
    "LOG_LEVEL",
    "PORT",
    "FORWARDED_ALLOW_IPS",
    "GRIP_DERIVED_CACHE_SECONDS",
}


def operator_environment(**env):
    """A production environment as the README sets it: DEBUG off, a real secret, no .env."""
    variables = {
        key: value
        for key, value in os.environ.items()
        if key not in NOT_THE_OPERATORS and not key.startswith("GUNICORN_")
    }
    variables.update(GRIP_ENV_FILE="", DEBUG="0", SECRET_KEY=uuid.uuid4().hex * 2, **env)
    return variables


def run_as_operator(*args, **env):
    """``python *args`` in the checkout, in a fresh process, with an operator's environment."""
    return subprocess.run(
        [PYTHON, *args],
        cwd=BASE_DIR,
        env=operator_environment(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )


# --- Request ids -----------------------------------------------------------------------------


def test_every_response_carries_a_new_request_id(client):
    first = client.get("/healthz/")["X-Request-ID"]
    second = client.get("/healthz/")["X-Request-ID"]
    assert HEX_ID.fullmatch(first) and HEX_ID.fullmatch(second)
    assert first != second


@pytest.mark.parametrize(
    "offered", ["lb-5f2b.7d_91", "0123456789abcdef0123456789abcdef", str(uuid.uuid4()), "x" * 64]
)
def test_the_load_balancers_request_id_is_kept(client, offered):
    response = client.get("/healthz/", HTTP_X_REQUEST_ID=offered)
    assert response["X-Request-ID"] == offered
    assert response.wsgi_request.request_id == offered


@pytest.mark.parametrize(
    "offered",
    ["x" * 65, "abc\ndef", "abc\r\nSet-Cookie: a=b", "two words", "<script>", "é", "a/b", ""],
)
def test_a_request_id_that_is_not_a_short_token_is_replaced(client, offered):
    response = client.get("/healthz/", HTTP_X_REQUEST_ID=offered)
    assert HEX_ID.fullmatch(response["X-Request-ID"])
    assert response.wsgi_request.request_id == response["X-Request-ID"]


@override_settings(SECURE_SSL_REDIRECT=True)
def test_the_https_redirect_and_static_files_carry_an_id_too():
    client = Client()  # made here, so its middleware reads the overridden setting
    redirect = client.get("/accounts/login/")
    assert redirect.status_code == 301
    assert HEX_ID.fullmatch(redirect["X-Request-ID"])
    manifest = json.loads((Path(settings.STATIC_ROOT) / "staticfiles.json").read_text())
    static = client.get(f"/static/{manifest['paths']['govuk/css/grip.css']}", secure=True)
    assert static.status_code == 200
    assert HEX_ID.fullmatch(static["X-Request-ID"])


# --- Log lines -------------------------------------------------------------------------------


@pytest.fixture
def log_lines():
    """What the real logging configuration (settings.LOGGING's console handler, its filter
    and format) writes, caught in a buffer instead of stdout."""
    handler = next(h for h in logging.getLogger("django").handlers if h.name == "console")
    assert handler in logging.getLogger().handlers  # the same handler serves every logger
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    try:
        yield lambda: buffer.getvalue().splitlines()
    finally:
        handler.setStream(previous)


@pytest.mark.django_db
def test_django_logs_a_not_found_with_the_requests_id(client, office, log_lines):
    client.force_login(office)
    response = client.get("/actions/NO-SUCH-1.1/")
    assert response.status_code == 404
    request_id = response["X-Request-ID"]
    assert f"WARNING {request_id} django.request Not Found: /actions/NO-SUCH-1.1/" in "\n".join(
        log_lines()
    )


@pytest.mark.django_db
@override_settings(AXES_FAILURE_LIMIT=2)
def test_a_lockout_logged_after_the_middleware_returned_still_has_its_id(log_lines):
    # Django logs a 4xx that a middleware returns (the lockout page) after the last
    # middleware has finished, outside the request id's context: it is found on the request.
    client = Client()
    for _ in range(3):
        response = client.post(
            "/accounts/login/", {"username": "office", "password": "wrong-password"}
        )
    assert response.status_code == 429
    request_id = response["X-Request-ID"]
    lines = [line for line in log_lines() if f" {request_id} " in line]
    assert any(
        "WARNING" in line and "Too Many Requests: /accounts/login/" in line for line in lines
    )
    assert any(" axes." in line for line in lines)  # django-axes' own lines, the same id


def test_a_record_outside_any_request_says_so(client, log_lines):
    client.get("/healthz/")
    logging.getLogger("grip.test").warning("between requests")
    assert log_lines()[-1].split()[2:] == ["WARNING", "-", "grip.test", "between", "requests"]


def test_a_management_commands_log_lines_stay_out_of_its_output():
    # stdout is a command's output (dumpdata > backup.json): its log lines go to stderr.
    done = run_as_operator(
        "manage.py",
        "shell",
        "--no-imports",
        "-c",
        "import logging; logging.getLogger('grip').warning('a warning'); print('output')",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "output\n"
    assert re.search(r"^\S+ \S+ WARNING - grip a warning$", done.stderr, re.MULTILINE)


def test_json_log_lines_for_a_log_shipper(client):
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    loggers = [logging.getLogger("django.request"), logging.getLogger("grip.test")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        response = client.get("/no-such-page/")
        token = current_request_id.set("job-7")  # as a background job might name its lines
        try:
            raise ValueError("a broken sheet")
        except ValueError:
            logging.getLogger("grip.test").exception("import failed")
        finally:
            current_request_id.reset(token)
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
    not_found, failed = (json.loads(line) for line in buffer.getvalue().splitlines())
    assert not_found["request_id"] == response["X-Request-ID"]
    assert (not_found["level"], not_found["logger"], not_found["status_code"]) == (
        "WARNING",
        "django.request",
        404,
    )
    assert not_found["message"] == "Not Found: /no-such-page/"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", not_found["time"])
    assert failed["request_id"] == "job-7"
    assert "ValueError: a broken sheet" in failed["exception"]


# --- The cache and sessions, from CACHE_URL --------------------------------------------------


def test_no_cache_url_is_a_local_memory_cache():
    for url in (None, ""):
        assert cache_from_url(url)["BACKEND"] == LOCAL_MEMORY_CACHE


@pytest.mark.parametrize(
    ("url", "table"),
    [("db://", "grip_cache"), ("db://grip_cache", "grip_cache"), ("DB://c2", "c2")],
)
def test_db_urls_name_the_database_cache_and_its_table(url, table):
    assert cache_from_url(url) == {
        "BACKEND": DATABASE_CACHE,
        "LOCATION": table,
        "KEY_PREFIX": "grip",
        "TIMEOUT": 300,
    }


@pytest.mark.parametrize(
    "url", ["redis://127.0.0.1:6379/0", "rediss://:s3cret@cache.example.org:6380/2"]
)
def test_redis_urls_name_djangos_redis_cache(url):
    config = cache_from_url(url, key_prefix="grip-staging", timeout=60)
    assert config == {
        "BACKEND": REDIS_CACHE,
        "LOCATION": url,
        "KEY_PREFIX": "grip-staging",
        "TIMEOUT": 60,
    }


@pytest.mark.parametrize(
    "url",
    [
        "memcached://127.0.0.1:11211",
        "postgres://grip:s3cret@db/grip",
        "127.0.0.1:6379",
        "redis:127.0.0.1",
        "redis://",
        "db://grip-cache",
        "db://grip_cache;drop",
        "db://grip_cache/more",
    ],
)
def test_a_cache_url_grip_does_not_know_stops_it_starting(url):
    with pytest.raises(ImproperlyConfigured, match="CACHE_URL") as refused:
        cache_from_url(url)
    assert "s3cret" not in str(refused.value)  # a password in the URL is never repeated


def test_sessions_are_read_through_redis_but_never_through_the_database_cache():
    assert session_engine_for(cache_from_url("redis://127.0.0.1:6379/0")) == CACHED_DB
    assert session_engine_for(cache_from_url("rediss://cache:6380/0")) == CACHED_DB
    # The database cache would swap a session row for a cache row: no query saved.
    assert session_engine_for(cache_from_url("db://")) == DB_SESSIONS
    # A per-process cache is not shared: another app server would not see the session.
    assert session_engine_for(cache_from_url("")) == DB_SESSIONS


def production_settings(**env):
    """Settings as Grip reads them at start-up from these variables (in a fresh process, as
    an app server starts)."""
    script = (
        "import json; from django.conf import settings as s; "
        "db = s.DATABASES['default']; "
        "print(json.dumps({'cache': s.CACHES['default'], 'sessions': s.SESSION_ENGINE, "
        "'axes': s.AXES_HANDLER, 'conn_max_age': db['CONN_MAX_AGE'], "
        "'health_checks': db['CONN_HEALTH_CHECKS'], 'log_format': s.LOG_FORMAT}))"
    )
    return run_as_operator("-c", script, DJANGO_SETTINGS_MODULE="improvement.settings", **env)


def test_the_settings_take_the_cache_and_sessions_from_cache_url():
    started = production_settings(
        CACHE_URL="redis://127.0.0.1:6379/3",
        CACHE_KEY_PREFIX="grip-live",
        DATABASE_URL="postgres://grip@db.example.org:5432/grip",
        LOG_FORMAT="json",
    )
    assert started.returncode == 0, started.stderr
    read = json.loads(started.stdout.splitlines()[-1])
    assert read["cache"]["BACKEND"] == REDIS_CACHE
    assert read["cache"]["KEY_PREFIX"] == "grip-live"
    assert read["sessions"] == CACHED_DB
    # Sign-in failures stay counted in the database whatever the cache: a lock holds on
    # every app server and through a restart.
    assert read["axes"] == "axes.handlers.database.AxesDatabaseHandler"
    assert (read["conn_max_age"], read["health_checks"]) == (60, True)
    assert read["log_format"] == "json"


@pytest.mark.parametrize(
    ("variable", "value"), [("CACHE_URL", "memcached://cache:11211"), ("LOG_FORMAT", "xml")]
)
def test_grip_refuses_to_start_with_a_setting_it_cannot_use(variable, value):
    started = production_settings(**{variable: value})
    assert started.returncode != 0
    assert "ImproperlyConfigured" in started.stderr
    assert variable in started.stderr


@pytest.fixture
def database_cache():
    """The database cache, its table made as an operator makes it (createcachetable)."""
    config = cache_from_url("db://grip_test_cache")
    with override_settings(CACHES={"default": config}):
        call_command("createcachetable", verbosity=0)
        yield config


@pytest.mark.django_db
def test_the_database_cache_keeps_values_in_its_table(database_cache):
    cache.set("plan-summary", {"actions": 75})
    assert cache.get("plan-summary") == {"actions": 75}
    with connection.cursor() as cursor:
        cursor.execute("SELECT cache_key FROM grip_test_cache")
        assert [row[0] for row in cursor.fetchall()] == ["grip:1:plan-summary"]


@pytest.mark.django_db
def test_sessions_through_a_shared_cache_sign_in_and_survive_the_cache_emptied(database_cache):
    # cached_db, as Grip sets with Redis; over the database cache here, which every test run
    # has. Sign-in (django-axes, session rotation) and signed-in pages work through it, and
    # the session outlives the cache: emptied, it is read back from the database.
    with override_settings(SESSION_ENGINE=CACHED_DB):
        client = Client()
        sign_in(client)
        session_key = client.cookies[settings.SESSION_COOKIE_NAME].value
        assert cache.get(f"django.contrib.sessions.cached_db{session_key}") is not None
        page = client.get("/actions/")
        assert page.status_code == 200
        assert signed_in_as(client) == "office"
        cache.clear()
        assert signed_in_as(client) == "office"


@pytest.mark.django_db
def test_sessions_with_the_database_cache_configured_stay_in_the_database(database_cache):
    with override_settings(SESSION_ENGINE=session_engine_for(database_cache)):
        client = Client()
        sign_in(client)
        assert client.get("/actions/").status_code == 200
        assert signed_in_as(client) == "office"
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM grip_test_cache")
            assert cursor.fetchone()[0] == 0  # nothing of the session went to the cache


REDIS_URL = os.environ.get("GRIP_TEST_REDIS_URL", "")


@pytest.mark.django_db
@pytest.mark.skipif(not REDIS_URL, reason="GRIP_TEST_REDIS_URL names no Redis to test against")
def test_with_redis_a_signed_in_page_reads_its_session_without_a_query():
    import redis

    prefix = f"grip-test-{uuid.uuid4().hex}"  # this test's keys only: the Redis may be shared
    config = cache_from_url(REDIS_URL, key_prefix=prefix)
    try:
        with override_settings(CACHES={"default": config}):
            cache.set("round-trip", [1, 2, 3])
            assert cache.get("round-trip") == [1, 2, 3]
            queries = {}
            for engine in (DB_SESSIONS, session_engine_for(config)):
                with override_settings(SESSION_ENGINE=engine):
                    client = Client()
                    sign_in(client)
                    client.get("/actions/")
                    with CaptureQueriesContext(connection) as page:
                        assert client.get("/actions/").status_code == 200
                    queries[engine] = [q["sql"] for q in page.captured_queries]
        assert not any("django_session" in sql for sql in queries[CACHED_DB])
        assert len(queries[CACHED_DB]) == len(queries[DB_SESSIONS]) - 1
    finally:
        server = redis.Redis.from_url(REDIS_URL)
        keys = list(server.scan_iter(match=f"{prefix}:*"))
        if keys:
            server.delete(*keys)


# --- manage.py check --deploy ----------------------------------------------------------------


def test_check_deploy_leaves_only_the_hsts_preload_choice():
    # As an operator runs it, in a fresh process. HSTS preload is the operator's to choose
    # (SECURE_HSTS_PRELOAD): hard to undo, and it binds every subdomain. Everything else
    # check --deploy asks for, production mode sets.
    checked = run_as_operator("manage.py", "check", "--deploy", ALLOWED_HOSTS="grip.example.org")
    assert checked.returncode == 0, checked.stderr
    assert re.findall(r"\((\w+\.[EW]\d+)\)", checked.stderr) == ["security.W021"]


# --- gunicorn.conf.py ------------------------------------------------------------------------

GUNICORN_VARIABLES = [
    "GUNICORN_BIND",
    "PORT",
    "GUNICORN_WORKERS",
    "GUNICORN_THREADS",
    "GUNICORN_TIMEOUT",
    "GUNICORN_GRACEFUL_TIMEOUT",
    "GUNICORN_KEEPALIVE",
    "GUNICORN_MAX_REQUESTS",
    "GUNICORN_MAX_REQUESTS_JITTER",
    "GUNICORN_LOG_LEVEL",
    "GUNICORN_CONTROL_SOCKET",
    "FORWARDED_ALLOW_IPS",
]


@pytest.fixture
def gunicorn_conf(monkeypatch):
    """gunicorn.conf.py read under the given variables, then handed to gunicorn's own Config,
    which refuses a value it cannot take and shows the name of any setting it does not know
    (gunicorn itself would silently ignore that one)."""
    from gunicorn.config import Config

    def read(**env):
        for name in GUNICORN_VARIABLES:
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        names = runpy.run_path(str(BASE_DIR / "gunicorn.conf.py"))
        config = Config()
        for name, value in names.items():
            if name.startswith("_") or callable(value) or isinstance(value, types.ModuleType):
                continue
            assert name in config.settings, f"gunicorn has no setting {name}"
            config.set(name, value)
        return config

    return read


def test_gunicorn_defaults(gunicorn_conf):
    config = gunicorn_conf()
    assert config.bind == ["0.0.0.0:8000"]
    assert config.workers == 2 * len(os.sched_getaffinity(0)) + 1
    assert (config.threads, config.worker_class_str) == (4, "gthread")
    assert (config.timeout, config.graceful_timeout, config.keepalive) == (30, 30, 5)
    assert config.max_requests == 1000 and config.max_requests_jitter == 100
    assert (config.accesslog, config.errorlog) == ("-", "-")
    assert "%({x-request-id}o)s" in config.access_log_format
    assert config.forwarded_allow_ips == ["127.0.0.1", "::1"]
    assert config.control_socket_disable is True


def test_gunicorn_takes_its_settings_from_the_environment(gunicorn_conf):
    config = gunicorn_conf(
        GUNICORN_BIND="unix:/run/grip/gunicorn.sock",
        GUNICORN_WORKERS="3",
        GUNICORN_THREADS="8",
        GUNICORN_TIMEOUT="60",
        GUNICORN_GRACEFUL_TIMEOUT="20",
        GUNICORN_KEEPALIVE="75",
        GUNICORN_MAX_REQUESTS="500",
        GUNICORN_MAX_REQUESTS_JITTER="50",
        GUNICORN_LOG_LEVEL="warning",
        GUNICORN_CONTROL_SOCKET="/run/grip/gunicorn.ctl",
        FORWARDED_ALLOW_IPS="10.0.0.0/8",
        PORT="5000",
    )
    assert config.bind == ["unix:/run/grip/gunicorn.sock"]  # GUNICORN_BIND wins over PORT
    assert (config.workers, config.threads, config.worker_class_str) == (3, 8, "gthread")
    assert (config.timeout, config.graceful_timeout, config.keepalive) == (60, 20, 75)
    assert (config.max_requests, config.max_requests_jitter) == (500, 50)
    assert config.loglevel == "warning"
    assert (config.control_socket, config.control_socket_disable) == (
        "/run/grip/gunicorn.ctl",
        False,
    )
    assert config.forwarded_allow_ips == ["10.0.0.0/8"]


def test_gunicorn_on_the_platforms_port_with_one_thread_is_sync(gunicorn_conf):
    config = gunicorn_conf(PORT="5000", GUNICORN_THREADS="1")
    assert config.bind == ["0.0.0.0:5000"]
    assert (config.threads, config.worker_class_str) == (1, "sync")


# --- gunicorn serving Grip in production mode ------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(port, path, **headers):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


@pytest.fixture
def gunicorn_server(tmp_path):
    """Grip under gunicorn as the README runs it: production mode, a migrated database of
    its own, the collected static files, gunicorn.conf.py read from the checkout."""
    port = free_port()
    variables = {
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        # Collected (hashed, compressed) once a run by the suite's test_settings fixture.
        "STATIC_ROOT": str(settings.STATIC_ROOT),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'grip.sqlite3'}",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "1",
        "GUNICORN_THREADS": "2",
    }
    migrated = run_as_operator("manage.py", "migrate", "--no-input", "--skip-checks", **variables)
    assert migrated.returncode == 0, migrated.stderr
    stdout, stderr = tmp_path / "stdout.log", tmp_path / "stderr.log"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        server = subprocess.Popen(
            [str(Path(PYTHON).with_name("gunicorn")), "improvement.wsgi"],
            cwd=BASE_DIR,
            env=operator_environment(**variables),
            stdout=out,
            stderr=err,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, f"gunicorn stopped: {stderr.read_text()}"
            try:
                get(port, "/healthz/")
                break
            except OSError:
                assert time.monotonic() < deadline, f"gunicorn never answered: {stderr.read_text()}"
                time.sleep(0.2)
        yield port, lambda: stdout.read_text()
    finally:
        server.send_signal(signal.SIGINT)  # gunicorn's quick shutdown: nothing is in flight
        server.wait(timeout=40)


def test_gunicorn_serves_grip_in_production(gunicorn_server):
    port, output = gunicorn_server
    request_id = f"e2e-{uuid.uuid4().hex}"

    status, headers, body = get(port, "/healthz/", **{"X-Request-ID": request_id})
    assert (status, json.loads(body)) == (200, {"status": "ok", "database": "ok"})
    assert headers["X-Request-ID"] == request_id

    # A hashed file: cached for ten years (its name changes when it does), sent compressed.
    manifest = json.loads((Path(settings.STATIC_ROOT) / "staticfiles.json").read_text())
    css = manifest["paths"]["govuk/css/grip.css"]
    assert css != "govuk/css/grip.css"
    status, headers, body = get(port, f"/static/{css}", **{"Accept-Encoding": "gzip"})
    assert status == 200
    assert headers["Content-Encoding"] == "gzip"
    assert "max-age=315360000" in headers["Cache-Control"]
    assert "immutable" in headers["Cache-Control"]
    assert gzip.decompress(body) == (Path(settings.STATIC_ROOT) / css).read_bytes()
    static_id = headers["X-Request-ID"]

    status, headers, _ = get(port, "/no-such-page/")
    assert status == 404
    missing_id = headers["X-Request-ID"]

    time.sleep(0.3)  # the access line is written as the response completes
    lines = output().splitlines()
    assert any(
        '"GET /healthz/ HTTP/1.1" 200' in line and line.endswith(f"request_id={request_id}")
        for line in lines
    ), lines
    assert any(f"/static/{css} HTTP/1.1" in line and static_id in line for line in lines)
    # Django's own line for the request and gunicorn's, joined by the id.
    assert any(
        f"WARNING {missing_id} django.request Not Found: /no-such-page/" in line for line in lines
    ), lines
    assert any('"GET /no-such-page/ HTTP/1.1" 404' in line and missing_id in line for line in lines)
