"""Signing in: the lockout page, the address a sign-in comes from, and password reset.

django-axes counts failed sign-ins (settings: AXES_*); these are the project's answers to the
questions it asks, named in settings.
"""

import ipaddress
from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import Http404
from django.shortcuts import render


def locked_out(request, original_response=None, credentials=None):
    """The page a locked-out sign-in gets instead of the login form, on both logins.

    django-axes calls it (AXES_LOCKOUT_CALLABLE) once the failure limit is reached for this
    username from this address, and for every attempt until the cool-off has passed.
    """
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    return render(
        request,
        "registration/locked_out.html",
        {
            "username": username,
            "failure_limit": settings.AXES_FAILURE_LIMIT,
            "cool_off_minutes": settings.AXES_COOLOFF_MINUTES,
            "login_url": request.path,
        },
        status=429,
    )


def client_ip_address(request) -> str:
    """The address a sign-in came from, as the lockout counts it (AXES_CLIENT_IP_CALLABLE).

    With GRIP_TRUSTED_PROXY_COUNT proxies in front (a load balancer: 1) it is the entry that
    many places from the right of X-Forwarded-For: each proxy appends the address it saw, so
    anything further left may be forged by the client. Otherwise, the connection's address.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    count = settings.GRIP_TRUSTED_PROXY_COUNT
    if count > 0:
        forwarded = [
            entry.strip()
            for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if entry.strip()
        ]
        if len(forwarded) >= count and _is_address(forwarded[-count]):
            return forwarded[-count]
    return remote


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def offered_with_email(view):
    """Password reset by e-mail exists only where Grip can send e-mail (GRIP_PASSWORD_RESET).

    Without it a reset would promise an e-mail that never comes: the pages answer 404 and the
    sign-in page says whom to ask instead.
    """

    @wraps(view)
    def offered(request, *args, **kwargs):
        if not settings.GRIP_PASSWORD_RESET:
            raise Http404("Password reset is not offered: e-mail is not set up.")
        return view(request, *args, **kwargs)

    return login_not_required(offered)
