"""Figures derived from the whole plan, cached until the records they come from change.

The dashboard and the plan's BRAG table read every action of the plan: at 20,000 actions
that is most of the time a page takes (docs/scaling.md). What they show changes only when a
record changes, or when the day changes (overdue is judged on a day). So they are cached
under a key made of the number of changes so far (``ChangeCount``), the day, and what was
asked. The count moves after every transaction that changed anything:

- every change to a record writes its history row (decision 0001), and
  ``GripHistoricalRecords.create_historical_record`` calls ``count_change``;
- writes that bypass that (``bulk_create_with_history`` in ``generate_plan``) are made by
  management commands, and every command that changes data is an ``AuditedCommand``, which
  counts a change when it ends.

The count moves once the transaction has committed (``on_commit``), once however many rows
it wrote, and not at all if it rolled back. A request that read the old count and cached
figures computed from the new records only puts fresher figures under an old key, which no
request asks for once the count has moved. Names of people are read with the figures: a
renamed person (users keep no history) shows under the new name when the cached figures
expire (``GRIP_DERIVED_CACHE_SECONDS``) or the next change is made.
"""

from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import F

from .models import ChangeCount

# On PostgreSQL the count is a sequence: moving it takes no lock and no wait for the disk (a
# sequence is not transactional), and it never goes back, even after a crash. Counting in a
# row was a second committed transaction after every write: 2.4x a plain save where the
# sequence gives under 2x (benchmarks/README.md). SQLite, for one machine, keeps the row.
CHANGE_SEQUENCE = "workstreams_change_count_seq"


def _add_one(using: str) -> None:
    connection = connections[using]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT nextval(%s)", [CHANGE_SEQUENCE])
        return
    if not ChangeCount.objects.using(using).filter(pk=1).update(value=F("value") + 1):
        ChangeCount.objects.using(using).get_or_create(pk=1, defaults={"value": 1})


def count_change(using: str | None = None) -> None:
    """Count one change to the records once the current transaction commits (at once when
    there is none). However many rows a transaction writes, it counts once."""
    using = using or DEFAULT_DB_ALIAS
    connection = transaction.get_connection(using)
    # The transaction's waiting callbacks are in ``run_on_commit`` (Django drops those of a
    # savepoint rolled back): one of ours there means this transaction is already counted.
    if connection.in_atomic_block and any(
        getattr(callback, "counts_changes", False) for _, callback, _ in connection.run_on_commit
    ):
        return

    def add_one():
        _add_one(using)

    add_one.counts_changes = True
    transaction.on_commit(add_one, using=using)


def change_count(using: str = DEFAULT_DB_ALIAS) -> int:
    connection = connections[using]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # Its latest value, whichever session moved it (not rolled back with anything).
            cursor.execute(f"SELECT last_value, is_called FROM {CHANGE_SEQUENCE}")
            value, called = cursor.fetchone()
        return value if called else 0
    return (
        ChangeCount.objects.using(using).filter(pk=1).values_list("value", flat=True).first() or 0
    )


def cached(name: str, asked: tuple, compute: Callable[[], object]):
    """``compute()``, or what it gave last time for the same ``name`` and ``asked`` (what the
    figures depend on besides the records: the plan, the day, the month...) while no record
    has changed since. One query (the count) when cached. ``GRIP_DERIVED_CACHE_SECONDS=0``
    turns caching off."""
    key = cache_key(name, asked)
    if key is None:
        return compute()
    found = cache.get(key)
    if found is None:
        found = compute()
        cache.set(key, found, settings.GRIP_DERIVED_CACHE_SECONDS)
    return found


def cache_key(name: str, asked: tuple) -> str | None:
    """The key figures ``name`` for ``asked`` are cached under while no record changes (one
    query, the count); None when caching is off. A page caching its rendered figures (the
    ``{% cache %}`` tag) uses it so they go stale exactly when the figures do."""
    if not settings.GRIP_DERIVED_CACHE_SECONDS:
        return None
    return ":".join(["grip", name, str(change_count()), *(str(part) for part in asked)])
