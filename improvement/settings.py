"""Grip settings: one module, driven by environment variables (see .env.example)."""

import os
import sys
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from improvement.cache_config import cache_from_url, session_engine_for

BASE_DIR = Path(__file__).resolve().parent.parent


def load_env_file(path: str) -> None:
    """Read KEY=VALUE lines into the environment, never overriding what is already set.

    ``bin/serve`` writes ``.env`` for local use (DEBUG on, a local secret). Production sets
    real environment variables and has no such file; ``GRIP_ENV_FILE=`` turns it off.
    """
    if not path or not os.path.isfile(path):
        return
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            key, sep, value = line.strip().partition("=")
            if sep and key and not key.startswith("#"):
                os.environ.setdefault(key.strip(), value.strip())


load_env_file(os.environ.get("GRIP_ENV_FILE", str(BASE_DIR / ".env")))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)

# Local use (DEBUG on) may run with a throwaway key; production refuses to start without one.
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-local-development-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "simple_history",
    "import_export",
    "rules.apps.AutodiscoverRulesConfig",
    "django_filters",
    "crispy_forms",
    "crispy_forms_gds",
    "workstreams.apps.WorkstreamsConfig",
    "governance.apps.GovernanceConfig",
    "axes",
]

MIDDLEWARE = [
    # First, so every answer carries its id, the https redirect and static files included.
    "improvement.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "improvement.middleware.RejectNulBytesMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: it turns a refused sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "improvement.urls"
WSGI_APPLICATION = "improvement.wsgi.application"
ASGI_APPLICATION = "improvement.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "improvement.context_processors.navigation",
                "improvement.context_processors.contact",
            ],
        },
    },
]

# No DATABASE_URL: the embedded SQLite file, zero set-up. DATABASE_URL=postgres://...: production.
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several requests at once (the live server in browser tests, two users saving) must wait
    # for the write lock rather than fail with "database is locked".
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
elif DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql"):
    # PostgreSQL's JIT compiler starts when a query's estimated cost is high, as it is for the
    # dashboard over a large plan's history, and then spends more time compiling than the
    # query takes (0.4 to 0.8 s measured at 20,000 actions: benchmarks/README.md). Parallel
    # workers likewise cost more to start than they save on Grip's short queries: the
    # dashboard's list of BRAG changes over 20,000 actions took 43 ms with one worker on a
    # 2-core machine and 17 ms without.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = (
        "-c jit=off -c max_parallel_workers_per_gather=0"
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out sign-in before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "rules.permissions.ObjectPermissionBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Sign-in lockout (django-axes), on the portal's and the admin's login alike. Failures are
# counted per username *and* address together, so guessing a colleague's password from one
# machine locks that pair only: they still sign in from their own. Cyber Essentials asks for
# a lock after no more than 10 failures: 10 lets people mistype without helping a guesser,
# and each further failure while locked starts the cool-off again. An administrator unlocks
# early with `manage.py axes_reset_username NAME` or the admin's "Access attempts".
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "10"))
AXES_COOLOFF_MINUTES = int(os.environ.get("AXES_COOLOFF_MINUTES", "15"))
AXES_COOLOFF_TIME = timedelta(minutes=AXES_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "improvement.sign_in.locked_out"
# Behind a load balancer every request comes from the balancer's address: the client's is
# in X-Forwarded-For, as many entries from the right as there are proxies we trust.
GRIP_TRUSTED_PROXY_COUNT = int(os.environ.get("GRIP_TRUSTED_PROXY_COUNT", "0"))
AXES_CLIENT_IP_CALLABLE = "improvement.sign_in.client_ip_address"
# Failures are counted in the database (django-axes' default, said here because CACHE_URL
# may name a cache): a lock holds on every app server and survives a restart or an emptied
# cache, and the admin's Access attempts lists it.
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"

# E-mail. Password reset by e-mail is offered only where e-mail can be sent (EMAIL_HOST set);
# without it the sign-in page says whom to ask and the reset pages do not exist.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "587"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "grip@localhost")
GRIP_PASSWORD_RESET = bool(EMAIL_HOST)
# How mail leaves: SMTP (EMAIL_HOST) in production; in development (DEBUG) without a host,
# printed on the console, so send_reminders can be tried without a mail server.
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND") or (
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG and not EMAIL_HOST
    else "django.core.mail.backends.smtp.EmailBackend"
)
# The portal's address, for the links in e-mails (reminders): e.g. https://grip.example.org
GRIP_SITE_URL = (
    os.environ.get("GRIP_SITE_URL")
    or (f"https://{ALLOWED_HOSTS[0]}" if ALLOWED_HOSTS and not DEBUG else "http://127.0.0.1:8000")
).rstrip("/")

# Who people contact: the programme office's address (sign-in help, lockout) and where beta
# feedback goes (a form's address, or the programme office by e-mail when there is none).
GRIP_PROGRAMME_OFFICE_EMAIL = os.environ.get("GRIP_PROGRAMME_OFFICE_EMAIL", "")
GRIP_FEEDBACK_URL = os.environ.get("GRIP_FEEDBACK_URL", "")

LANGUAGE_CODE = "en-gb"
TIME_ZONE = os.environ.get("TIME_ZONE", "Europe/London")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT") or BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# The cache (improvement/cache_config.py): CACHE_URL unset, one in each process; db:// the
# database's; redis://... Redis. Sessions live in the database, read through Redis when it is
# the cache: either way every app server sees every session, so app servers are stateless.
CACHES = {
    "default": cache_from_url(
        os.environ.get("CACHE_URL", ""),
        key_prefix=os.environ.get("CACHE_KEY_PREFIX") or "grip",
        timeout=int(os.environ.get("CACHE_TIMEOUT") or "300"),
    ),
    # Where a page's cached fragment goes when derived figures are not cached
    # (GRIP_DERIVED_CACHE_SECONDS=0): nowhere (governance.views.DashboardView).
    "uncached": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"},
}
SESSION_ENGINE = session_engine_for(CACHES["default"])
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE", str(8 * 60 * 60)))

CRISPY_ALLOWED_TEMPLATE_PACKS = ["gds"]
CRISPY_TEMPLATE_PACK = "gds"
# crispy-forms-gds styles a widget by its class's name: ours are GOV.UK inputs and selects too.
CRISPY_CLASS_CONVERTERS = {
    "dateinput": "govuk-input",
    "numberinput": "govuk-input",
    "personselect": "govuk-select",  # governance.forms.PersonSelect
}

# Audit: history rows cannot be edited or reverted from the admin; the record stands.
SIMPLE_HISTORY_REVERT_DISABLED = True
SIMPLE_HISTORY_ENFORCE_HISTORY_MODEL_PERMISSIONS = True
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True
SIMPLE_HISTORY_DATE_INDEX = "Composite"

# The user that management commands record in history when not told who is acting.
GRIP_SYSTEM_USERNAME = os.environ.get("GRIP_SYSTEM_USERNAME", "grip.system")

# How far beyond the plan's end an action's due date may be moved (a move within reason).
GRIP_DUE_DATE_MARGIN_DAYS = int(os.environ.get("GRIP_DUE_DATE_MARGIN_DAYS", "365"))

# How long figures derived from the whole plan (the dashboard, the plan's BRAG table) stay
# cached at most; any change to the records makes them be worked out again sooner
# (workstreams/derived.py). 0 turns that caching off.
GRIP_DERIVED_CACHE_SECONDS = int(os.environ.get("GRIP_DERIVED_CACHE_SECONDS", "600"))

# The plan import (/imports/actions/): the largest spreadsheet accepted, in bytes and in rows.
GRIP_IMPORT_MAX_BYTES = int(os.environ.get("GRIP_IMPORT_MAX_BYTES", str(5 * 1024 * 1024)))
GRIP_IMPORT_MAX_ROWS = int(os.environ.get("GRIP_IMPORT_MAX_ROWS", "20000"))
# An uploaded file past GRIP_IMPORT_MAX_BYTES is dropped as it arrives, neither kept in memory
# nor written to disk (the plan's spreadsheet is the only file Grip takes).
FILE_UPLOAD_HANDLERS = [
    "workstreams.imports.LimitedUpload",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

IMPORT_EXPORT_SKIP_ADMIN_ACTION_EXPORT_UI = False
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "add"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "view"

# A load balancer probes /healthz/ over plain http; it must get the health, not a redirect.
SECURE_REDIRECT_EXEMPT = [r"^healthz/$"]
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# Logs go to stdout, one line a record, each with its request's id (improvement/logs.py), for
# systemd's journal or a container's log collector; LOG_FORMAT=json for a log shipper. A
# manage.py command's go to stderr: its stdout is its output (dumpdata > backup.json).
LOG_STREAM = (
    "ext://sys.stderr"
    if Path(sys.argv[0]).name in {"manage.py", "django-admin"}
    else "ext://sys.stdout"
)
LOG_LEVEL = (os.environ.get("LOG_LEVEL") or "INFO").upper()
LOG_FORMAT = (os.environ.get("LOG_FORMAT") or "text").lower()
if LOG_FORMAT not in {"text", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be text or json, not {LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "improvement.logs.RequestIdFilter"}},
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(request_id)s %(name)s %(message)s"},
        "json": {"()": "improvement.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "stream": LOG_STREAM,
            "filters": ["request_id"],
            "formatter": LOG_FORMAT,
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # Django's own records (django.request's 4xx warnings and 5xx errors with their traceback,
    # security warnings) through the same handler; not also Django's console and mail handlers.
    "loggers": {"django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False}},
}

# The reference plan and demo users that `manage.py load_demo` loads.
GRIP_REFERENCE_PLAN = BASE_DIR / "fixtures" / "croydon-2018-19.json"
GRIP_DEMO_USERS = BASE_DIR / "fixtures" / "demo-users.json"
