"""Who is acting, for the audit history.

django-simple-history takes the user from the request (HistoryRequestMiddleware). Outside a
request (management commands, imports run from a shell) nobody is known, so code that writes
on someone's behalf wraps the work in ``acting_as(user)``. Every audited model passes
``get_user=history_user`` to ``HistoricalRecords`` so both paths end in the same place.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.contrib.auth import get_user_model

_acting_user: ContextVar = ContextVar("grip_acting_user", default=None)


def history_user(request=None, **kwargs):
    """The user a new history row records: ``acting_as`` first, else the request's user."""
    user = _acting_user.get()
    if user is not None:
        return user
    if request is not None and request.user.is_authenticated:
        return request.user
    return None


@contextmanager
def acting_as(user) -> Iterator[None]:
    """Record ``user`` as the author of every audited change made inside the block."""
    token = _acting_user.set(user)
    try:
        yield
    finally:
        _acting_user.reset(token)


def display_name(user) -> str:
    """A user as people know them: their name, else their username."""
    return name_from(user.first_name, user.last_name, user.get_username())


def name_from(first_name: str, last_name: str, username: str) -> str:
    """``display_name`` from the three columns it reads: for people read as values (a choice
    of hundreds of people), not as users."""
    return f"{first_name} {last_name}".strip() or username


def system_user():
    """The named user that stands for Grip itself (commands run without ``--as-user``).

    It cannot sign in: it has no usable password and is inactive.
    """
    User = get_user_model()
    user, created = User.objects.get_or_create(
        username=settings.GRIP_SYSTEM_USERNAME,
        defaults={"first_name": "Grip", "last_name": "(system)", "is_active": False},
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user
