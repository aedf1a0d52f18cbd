"""Gunicorn's settings for Grip in production, from environment variables.

Gunicorn reads this file from the directory it starts in (``-c gunicorn.conf.py`` says so
explicitly): ``.venv/bin/gunicorn improvement.wsgi``. Every variable, its default and what it
does are in README.md, "Running in production"; a command-line flag still wins over this file.
"""

import os


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def _cores() -> int:
    # The cores this process may use (a container or taskset may allow fewer than the host has).
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# All interfaces on 8000 unless told otherwise; PORT for platforms that choose the port.
bind = [
    os.environ.get("GUNICORN_BIND")
    or (f"0.0.0.0:{os.environ['PORT']}" if os.environ.get("PORT") else "0.0.0.0:8000")
]

# Gunicorn's own rule of thumb: one process per core serves while another waits on the
# database, plus one. Each process holds its own copy of Grip (about 70 MB when started).
workers = _int("GUNICORN_WORKERS", 2 * _cores() + 1)

# Threads in each process: a page mostly waits on PostgreSQL, so four threads let a process
# serve others meanwhile for little memory. Each thread keeps its own database connection
# (DB_CONN_MAX_AGE), so PostgreSQL sees up to workers x threads connections per app server.
threads = _int("GUNICORN_THREADS", 4)
worker_class = "gthread" if threads > 1 else "sync"

# A process whose main loop has not answered for this long (frozen whole) is restarted. With
# threads that is all it does: a slow request in one thread is not cut off, as it is by the
# sync worker (GUNICORN_THREADS=1). The longest page, the board pack at 20,000 actions, takes
# about 4 s; the proxy's own timeout bounds what a browser waits.
timeout = _int("GUNICORN_TIMEOUT", 30)
# On restart or deploy (SIGTERM, or SIGHUP's graceful reload), requests in flight get this
# long to finish.
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
# Seconds an idle connection is kept open for the next request (gunicorn's default is 2). A
# load balancer that reuses its connections to Grip (AWS's idle timeout is 60 s) needs more
# than its own idle timeout (75), or gunicorn may close one just as the balancer sends on it:
# a 502. Idle connections wait in the poller, not in a thread.
keepalive = _int("GUNICORN_KEEPALIVE", 5)

# Each process is replaced after this many requests (the jitter spreads the restarts, so
# processes do not all restart at once): a slow leak in any library never grows for long.
max_requests = _int("GUNICORN_MAX_REQUESTS", 1000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 100)

# Logs on the standard streams, for systemd's journal or a container's collector: requests
# on stdout, gunicorn's own messages on stderr. The access line ends with the request's id,
# the X-Request-ID the response carries (improvement/middleware.py), which Django's log lines
# for the same request print too; and the time taken in milliseconds.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL") or "info"
access_log_format = (
    '%(h)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms request_id=%({x-request-id}o)s'
)

# The proxies trusted to say the request came over https (X-Forwarded-Proto and the like), by
# address or network, comma separated: gunicorn ignores those headers from anyone else.
# Gunicorn's own variable and default, named here to be seen. Django reads X-Forwarded-Proto
# itself (SECURE_PROXY_SSL_HEADER), so Grip must only be reachable through the proxy.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS") or "127.0.0.1,::1"

# Gunicorn's control socket (for its gunicornc tool) is off unless given a path: its default,
# ~/.gunicorn/gunicorn.ctl, is one path for every gunicorn the user runs (a second instance
# takes it over) and a service account may have no home to write to.
if os.environ.get("GUNICORN_CONTROL_SOCKET"):
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]
else:
    control_socket_disable = True
