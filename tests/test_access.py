"""Everything needs a login, except the health check."""

import subprocess
import sys

import pytest
from django.conf import settings

from workstreams.models import Rag

pytestmark = pytest.mark.django_db

PAGES = ["/", "/admin/", "/admin/workstreams/action/", "/accounts/password_change/"]


@pytest.mark.parametrize("path", PAGES)
def test_an_anonymous_request_is_sent_to_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert "/login/?next=" in response.url


def test_home_lists_workstreams_with_action_counts_by_brag(client, viewer, plan):
    client.force_login(viewer)
    response = client.get("/")
    assert response.status_code == 200
    rows = {row.workstream.code: row for row in response.context["rows"]}
    assert set(rows) == {"MP", "WF", "PA", "PL"}
    for code, row in rows.items():
        actions = list(plan.actions.filter(workstream__code=code))
        assert row.total == len(actions)
        assert [(cell.rag, cell.count) for cell in row.counts] == [
            (rag, sum(1 for a in actions if a.rag == rag)) for rag in Rag
        ]
    assert response.context["total"].total == plan.actions.count()
    html = response.content.decode()
    assert "Management &amp; Practice" in html


def test_home_runs_a_fixed_number_of_queries(client, viewer, django_assert_max_num_queries):
    client.force_login(viewer)
    with django_assert_max_num_queries(10):
        client.get("/")


def test_sign_in_with_a_demo_user(client):
    response = client.post("/accounts/login/", {"username": "sro.mp", "password": "grip-demo"})
    assert response.status_code == 302 and response.url == "/"
    assert client.get("/").status_code == 200


def test_healthz_answers_without_login(client):
    response = client.get("/healthz/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def run_manage(*args, **env):
    import os

    left_out = {"SECRET_KEY", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE", "SECURE_SSL_REDIRECT"}
    environment = {k: v for k, v in os.environ.items() if k not in left_out}
    environment.update({"GRIP_ENV_FILE": "", **env})
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_mode_refuses_to_start_without_a_secret_key():
    result = run_manage("check")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_mode_passes_the_deploy_check():
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        SECRET_KEY="a-long-random-production-secret-" + "x" * 40,
        ALLOWED_HOSTS="grip.example.org",
        SECURE_HSTS_PRELOAD="1",
    )
    assert result.returncode == 0, result.stderr + result.stdout


def test_migrations_are_committed():
    result = run_manage("makemigrations", "--check", "--dry-run", DEBUG="1")
    assert result.returncode == 0, result.stdout


def test_a_local_env_file_fills_in_but_never_overrides_the_environment(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("# local\nDEBUG=1\nSECRET_KEY=from-the-file\n")
    local = run_manage("check", GRIP_ENV_FILE=str(env_file))
    assert local.returncode == 0, local.stderr
    # A real environment variable wins: production mode with the file's key only.
    show = "from django.conf import settings; print(settings.DEBUG, settings.SECRET_KEY)"
    overridden = run_manage(
        "shell", "--no-imports", "-c", show, GRIP_ENV_FILE=str(env_file), DEBUG="0"
    )
    assert overridden.returncode == 0, overridden.stderr
    assert overridden.stdout.split() == ["False", "from-the-file"]
