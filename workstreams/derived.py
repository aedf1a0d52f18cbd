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

Figures of the plan as it stood at the end of a past day, read from the audit history alone,
do not change when a record changes today: a change is recorded now, never in the past. They
are cached under a second count (``cached_past``), which moves only when history is written
with a date of its writer's choosing: a load recording rows on the day its file describes
(``services.create_if_missing``'s ``recorded_at``), and every ``AuditedCommand``, whose bulk
writes may date their history (``generate_plan``). Anything else that rewrote the past (the
history's own pruning commands) shows when the cached figures expire.
"""

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import F

from .models import ChangeCount


@dataclass(frozen=True)
class Count:
    """A count of committed transactions of one kind. On PostgreSQL it is a sequence: moving
    it takes no lock and no wait for the disk (a sequence is not transactional), and it
    never goes back, even after a crash. Counting in a row was a second committed
    transaction after every write: 2.4x a plain save where the sequence gives under 2x
    (benchmarks/README.md). SQLite, for one machine, keeps a row of ``ChangeCount``."""

    sequence: str
    row: int
    # Marks the callback that moves it, waiting for the transaction to commit.
    flag: str


# Every committed change (migration 0009), and those that wrote history dated in the past.
CHANGES = Count("workstreams_change_count_seq", 1, "counts_changes")
PAST_CHANGES = Count("workstreams_past_change_count_seq", 2, "counts_past_changes")


# The counts as a request first read them, by database: read once, in one query, whatever
# the request caches (the dashboard reads both, for itself and for its page). None outside
# a request (a command, a test calling a selector): every read then asks the database.
_read_in_request: ContextVar[dict | None] = ContextVar("grip_change_counts", default=None)


def _request_started(**kwargs) -> None:
    _read_in_request.set({})


def _request_finished(**kwargs) -> None:
    _read_in_request.set(None)


request_started.connect(_request_started, dispatch_uid="grip-change-counts-started")
request_finished.connect(_request_finished, dispatch_uid="grip-change-counts-finished")


def _add_one(count: Count, using: str) -> None:
    connection = connections[using]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT nextval(%s)", [count.sequence])
    else:
        rows = ChangeCount.objects.using(using)
        if not rows.filter(pk=count.row).update(value=F("value") + 1):
            rows.get_or_create(pk=count.row, defaults={"value": 1})
    read = _read_in_request.get()
    if read is not None:  # the request reads the moved count from now on
        read.pop(using, None)


def _count_once(count: Count, using: str | None) -> None:
    """Move ``count`` once the current transaction commits (at once when there is none),
    however many rows it writes."""
    using = using or DEFAULT_DB_ALIAS
    connection = transaction.get_connection(using)
    # The transaction's waiting callbacks are in ``run_on_commit`` (Django drops those of a
    # savepoint rolled back): one of ours there means this transaction is already counted.
    if connection.in_atomic_block and any(
        getattr(callback, count.flag, False) for _, callback, _ in connection.run_on_commit
    ):
        return

    def add_one():
        _add_one(count, using)

    setattr(add_one, count.flag, True)
    transaction.on_commit(add_one, using=using)


def count_change(using: str | None = None) -> None:
    """Count one change to the records once the current transaction commits (at once when
    there is none). However many rows a transaction writes, it counts once."""
    _count_once(CHANGES, using)


def count_past_change(using: str | None = None) -> None:
    """Count, as ``count_change`` does, a transaction that writes history dated by its writer
    (which may be in the past): the plan as it stood on a past day may have changed."""
    _count_once(PAST_CHANGES, using)


def _read_counts(using: str) -> dict[Count, int]:
    """Both counts, in one query."""
    connection = connections[using]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # Their latest values, whichever session moved them (not rolled back with
            # anything).
            cursor.execute(
                "SELECT CASE WHEN c.is_called THEN c.last_value ELSE 0 END, "
                "CASE WHEN p.is_called THEN p.last_value ELSE 0 END "
                f"FROM {CHANGES.sequence} c, {PAST_CHANGES.sequence} p"
            )
            changes, past_changes = cursor.fetchone()
        return {CHANGES: changes, PAST_CHANGES: past_changes}
    rows = dict(
        ChangeCount.objects.using(using)
        .filter(pk__in=[CHANGES.row, PAST_CHANGES.row])
        .values_list("pk", "value")
    )
    return {count: rows.get(count.row, 0) for count in (CHANGES, PAST_CHANGES)}


def change_count(using: str = DEFAULT_DB_ALIAS, count: Count = CHANGES) -> int:
    """How many transactions of ``count``'s kind have committed: within a request, as it
    first read them, unless it has committed one of its own since (``_add_one``)."""
    read = _read_in_request.get()
    if read is None:
        return _read_counts(using)[count]
    if using not in read:
        read[using] = _read_counts(using)
    return read[using][count]


def cached(name: str, asked: tuple, compute: Callable[[], object], count: Count = CHANGES):
    """``compute()``, or what it gave last time for the same ``name`` and ``asked`` (what the
    figures depend on besides the records: the plan, the day, the month...) while no record
    has changed since (``count``). One query (the count) when cached.
    ``GRIP_DERIVED_CACHE_SECONDS=0`` turns caching off."""
    key = cache_key(name, asked, count)
    if key is None:
        return compute()
    found = cache.get(key)
    if found is None:
        found = compute()
        cache.set(key, found, settings.GRIP_DERIVED_CACHE_SECONDS)
    return found


def cached_past(name: str, asked: tuple, compute: Callable[[], object]):
    """``cached`` for figures read from the audit history alone, as it stood at a moment in
    the past (``asked`` names it): kept while no history has been written in the past,
    whatever changes now (``PAST_CHANGES``)."""
    return cached(name, asked, compute, count=PAST_CHANGES)


def cache_key(name: str, asked: tuple, count: Count = CHANGES) -> str | None:
    """The key figures ``name`` for ``asked`` are cached under while ``count`` stays (one
    query); None when caching is off. A page caching its rendered figures (the
    ``{% cache %}`` tag) uses it so they go stale exactly when the figures do."""
    if not settings.GRIP_DERIVED_CACHE_SECONDS:
        return None
    number = change_count(count=count)
    return ":".join(["grip", name, str(number), *(str(part) for part in asked)])
