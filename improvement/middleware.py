"""Requests Grip refuses before any view, form or query sees them."""

from django.core.exceptions import BadRequest

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
