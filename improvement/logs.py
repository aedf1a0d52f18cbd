"""Log lines that can be followed across the load balancer, gunicorn and Django.

Every record carries the id of the request it was written during (``request_id``; "-" outside
a request), the id that RequestIdMiddleware took from the load balancer's ``X-Request-ID`` or
made, and sent back in the response, where gunicorn's access log prints it too. Settings'
LOGGING sends everything to stdout, as text or, with ``LOG_FORMAT=json``, one JSON object a
line for a log shipper.
"""

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime

NO_REQUEST = "-"

# A context variable, not a thread-local: each gunicorn thread (and each asyncio task, were
# Grip served over ASGI) sees only the id of the request it is handling.
current_request_id: ContextVar[str] = ContextVar("grip_request_id", default=NO_REQUEST)


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record, so any format may print it."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = current_request_id.get()
        if request_id == NO_REQUEST:
            # Django logs a 4xx answer that a middleware or view returned (django.request's
            # "Not Found", "Too Many Requests") after the last middleware has finished; the
            # record carries the request, and so its id.
            request_id = getattr(getattr(record, "request", None), "request_id", NO_REQUEST)
        record.request_id = request_id
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, request_id, logger, message,
    the response's status_code on django.request's records, and any exception's traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "request_id": getattr(record, "request_id", NO_REQUEST),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if hasattr(record, "status_code"):
            entry["status_code"] = record.status_code
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str)
