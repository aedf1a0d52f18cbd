"""The environment the test suite runs in, set before Django reads its settings.

Loaded as a plugin (`-p tests.environment` in pyproject.toml) because conftest files load
after pytest-django has already imported the settings.
"""

import os

# Tests run in production mode (DEBUG off), with a throwaway key and plain http, whatever
# a local .env (written by bin/serve) says.
os.environ["GRIP_ENV_FILE"] = ""
os.environ["DEBUG"] = "0"
os.environ.setdefault("SECRET_KEY", "test-suite-only-not-secret")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
# pytest-playwright's sync API runs an event loop in the test thread; Django's ORM calls
# from the live-server tests are still synchronous and safe there.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
# Figures derived from the plan are cached under the count of committed changes, and a test's
# changes are rolled back, never committed: the count would not move between a change and the
# page that should show it. tests/workstreams/test_derived.py turns the cache on, with
# transactions that commit.
os.environ["GRIP_DERIVED_CACHE_SECONDS"] = "0"
