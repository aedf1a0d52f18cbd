"""Requests Grip refuses before any view, form or query sees them."""

import re
import uuid

from django.core.exceptions import BadRequest

from improvement.logs import current_request_id

NUL = "\x00"


class RejectNulBytesMiddleware:
    """A NUL byte anywhere a request carries text (path, query, form, cookies, headers) is
    a 400.

    PostgreSQL cannot hold or compare a string containing NUL: the driver raises ValueError,
    so any lookup or write that passes one on (an action's reference in the path, an admin
    filter, a session key from the cookie, the browser name a failed sign-in records) was a
    500. No person types one, so it is refused here, once for every URL, not in each view.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        headers = {key: value for key, value in request.META.items() if key.startswith("HTTP_")}
        if NUL in request.path or any(
            _carries_nul(data)
            for data in (
                request.GET,
                request.COOKIES,
                headers,
                request.POST if _is_form(request) else {},
            )
        ):
            raise BadRequest("The request contains a NUL byte.")
        return self.get_response(request)


def _is_form(request) -> bool:
    # Only posted forms are parsed here; CsrfViewMiddleware parses them anyway.
    return request.method == "POST" and request.content_type in {
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    }


def _carries_nul(data) -> bool:
    if hasattr(data, "lists"):  # QueryDict: every value of a repeated key
        return any(NUL in key or any(NUL in v for v in values) for key, values in data.lists())
    return any(NUL in key or NUL in str(value) for key, value in data.items())


# What a load balancer or proxy sends as a request id (nginx's $request_id, a UUID): a short
# token. Anything else (too long, spaces, a newline that would split a log line) is replaced.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


class RequestIdMiddleware:
    """Gives every request an id: the load balancer's ``X-Request-ID`` when it is a sane
    token, else a new one. The id is on ``request.request_id``, on every log record written
    while the request is handled (improvement.logs), and in the response's ``X-Request-ID``,
    which gunicorn's access log prints: one id joins the balancer's, gunicorn's and Django's
    lines for a request.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        offered = request.headers.get("X-Request-ID", "")
        request_id = offered if SANE_REQUEST_ID.fullmatch(offered) else uuid.uuid4().hex
        request.request_id = request_id
        token = current_request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            current_request_id.reset(token)
        response["X-Request-ID"] = request_id
        return response
