"""The cache, from one environment variable (CACHE_URL), and where sessions live because of it.

- absent or empty: Django's local-memory cache, one per process (development and tests);
- ``db://`` or ``db://<table>``: Django's database cache in that table (default
  ``grip_cache``), made by ``manage.py createcachetable``; shared by every app server with
  nothing more to run;
- ``redis://host:port/db`` or ``rediss://...`` (TLS; a password as ``redis://:pw@host``):
  Django's own Redis cache.
"""

import re
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

DATABASE_CACHE = "django.core.cache.backends.db.DatabaseCache"
REDIS_CACHE = "django.core.cache.backends.redis.RedisCache"
LOCAL_MEMORY_CACHE = "django.core.cache.backends.locmem.LocMemCache"
DEFAULT_CACHE_TABLE = "grip_cache"

# A table name that needs no quoting on SQLite or PostgreSQL.
TABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


def cache_from_url(url: str | None, *, key_prefix: str = "grip", timeout: int = 300) -> dict:
    """The ``CACHES["default"]`` entry that CACHE_URL names.

    ``key_prefix`` keeps Grip's keys apart from anything else in a shared Redis (two sites on
    one server set different prefixes); ``timeout`` is the seconds an entry lives when its
    writer does not say.
    """
    common = {"KEY_PREFIX": key_prefix, "TIMEOUT": timeout}
    if not url:
        return {"BACKEND": LOCAL_MEMORY_CACHE, "LOCATION": "grip", **common}
    scheme = url.partition("://")[0].lower() if "://" in url else ""
    if scheme == "db":
        table = urlsplit(url).netloc or DEFAULT_CACHE_TABLE
        if not TABLE_NAME.fullmatch(table) or urlsplit(url).path not in {"", "/"}:
            raise ImproperlyConfigured(
                f"CACHE_URL=db://{table}: the cache table's name must be letters, digits and "
                "underscores, e.g. db://grip_cache."
            )
        return {"BACKEND": DATABASE_CACHE, "LOCATION": table, **common}
    if scheme in {"redis", "rediss"}:
        if not urlsplit(url).hostname:
            raise ImproperlyConfigured(
                f"CACHE_URL ({scheme}://...) names no host: e.g. redis://127.0.0.1:6379/0."
            )
        return {"BACKEND": REDIS_CACHE, "LOCATION": url, **common}
    # The URL itself is not repeated: it may hold a password.
    raise ImproperlyConfigured(
        f"CACHE_URL has the scheme {scheme + '://' if scheme else '(none)'}, which Grip does not "
        "know: use db:// (or db://<table>) for the database cache, redis://host:port/db or "
        "rediss://host:port/db for Redis, or leave CACHE_URL unset for a local-memory cache."
    )


def session_engine_for(cache: dict) -> str:
    """Sessions in Redis first and the database behind it (``cached_db``) when the cache is
    Redis: a signed-in page then reads its session without a query, and a session outlives
    the cache being emptied or restarted. With the database cache, ``cached_db`` would read
    a cache row instead of a session row (no query saved) and write both on sign-in, so
    sessions stay in the database alone, as they do with a per-process cache, which other
    app servers cannot see.
    """
    if cache["BACKEND"] == REDIS_CACHE:
        return "django.contrib.sessions.backends.cached_db"
    return "django.contrib.sessions.backends.db"
