"""Rasa lock stores whose changes are atomic: on Redis (replicas) and on our database (workers).

``AtomicRedisLockStore`` is for several Rasa replicas sharing one Redis; ``DatabaseLockStore``
keeps the same ticket locks in a SQL table, for several Sanic workers of one ``make run``
(``AFTERCARE_RASA_WORKERS``) or replicas on one PostgreSQL without Redis.

Rasa Open Source 3.6's ``RedisLockStore`` changes a conversation's ticket lock by reading
it (``GET``), changing it in Python and writing it back (``SET``). One replica does those
steps without yielding to its event loop, so a single process is safe; two replicas can
interleave them. Then both read ticket queue N, both issue ticket N+1 and both believe
they are being served: two turns of one patient run at once, each on a tracker that lacks
the other's message. A replica's cleanup can also delete the lock right after another
replica joined the queue, which makes the newcomer fail with ``LockError``.

Here every read-change-write of a lock runs in one Redis transaction (``WATCH`` /
``MULTI``; retried when another replica changed the lock in between), and the cleanup
(finish serving, then delete the lock if nobody waits) is one such transaction. Configure
it in ``endpoints.yml``::

    lock_store:
      type: bot.lock_store.AtomicRedisLockStore
      url: redis.example.org
      port: 6379
      db: 1
"""

from __future__ import annotations

import hashlib
import json
import logging
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Dict, List, Optional, Tuple, TypeVar

from rasa.core.lock import Ticket, TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, InMemoryLockStore, LockError, LockStore, RedisLockStore
from rasa.utils.endpoints import EndpointConfig
from sqlalchemy import Column, MetaData, String, Table, Text, delete, event, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import QueuePool

from bot.settings import Settings
from bot.storage.db import READ_ONLY, make_engine, make_session_factory, run_write

logger = logging.getLogger(__name__)

T = TypeVar("T")
# What a change does to the stored lock: write it, delete it, or leave it as it is.
Change = Tuple[str, Optional[TicketLock], T]
SAVE, DELETE, KEEP = "save", "delete", "keep"


def remove_ticket(lock: Optional[TicketLock], ticket_number: int) -> Change[None]:
    """The change that ends one ticket (both lock stores apply it in one atomic step)."""
    if lock is None:
        return KEEP, None, None
    lock.remove_ticket_for(ticket_number)
    return SAVE, lock, None


class AtomicRedisLockStore(RedisLockStore):
    """``RedisLockStore`` whose lock changes are Redis transactions (see the module docstring)."""

    def __init__(self, endpoint_config: Optional[EndpointConfig] = None, **kwargs: Any) -> None:
        if endpoint_config is not None:
            options = {k: v for k, v in endpoint_config.kwargs.items() if k not in ("type", "store_type")}
            kwargs = {**options, **kwargs}
            kwargs.setdefault("host", endpoint_config.url or "localhost")
        super().__init__(**kwargs)

    def _change(self, conversation_id: str, change: Callable[[Optional[TicketLock]], Change[T]]) -> T:
        """Apply ``change`` to the stored lock in one transaction; return what it returned."""
        key = self.key_prefix + conversation_id
        outcome: list = []

        def run(pipe: Any) -> None:
            raw = pipe.get(key)
            lock = TicketLock.from_dict(json.loads(raw)) if raw else None
            action, new_lock, result = change(lock)
            outcome[:] = [result]
            pipe.multi()
            if action == SAVE and new_lock is not None:
                pipe.set(key, new_lock.dumps())
            elif action == DELETE:
                pipe.delete(key)

        self.red.transaction(run, key)
        return outcome[0]

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        """Issue the next ticket of the conversation's lock, creating the lock if needed."""

        def issue(lock: Optional[TicketLock]) -> Change[int]:
            lock = lock or self.create_lock(conversation_id)
            return SAVE, lock, lock.issue_ticket(lock_lifetime)

        try:
            return self._change(conversation_id, issue)
        except Exception as error:  # noqa: BLE001 - Rasa expects LockError for any failure here
            raise LockError(f"Error while acquiring lock. Error:\n{type(error).__name__}") from error

    def update_lock(self, conversation_id: str) -> None:
        """Drop expired tickets (a replica that died while it held or waited for the lock)."""

        def expire(lock: Optional[TicketLock]) -> Change[None]:
            if lock is None:
                return KEEP, None, None
            lock.remove_expired_tickets()
            return SAVE, lock, None

        self._change(conversation_id, expire)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        """Remove one ticket from the lock."""
        self._change(conversation_id, lambda lock: remove_ticket(lock, ticket_number))

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Remove our ticket and, in the same transaction, the lock when nobody else waits."""

        def finish_and_tidy(lock: Optional[TicketLock]) -> Change[None]:
            if lock is None:
                return KEEP, None, None
            lock.remove_ticket_for(ticket_number)
            if lock.is_someone_waiting():
                return SAVE, lock, None
            return DELETE, None, None

        self._change(conversation_id, finish_and_tidy)


# -- on our database ------------------------------------------------------------------------

# Not in ``bot.storage.models``' metadata: the table holds only hashed conversation ids and
# ticket numbers that live for one turn, and on SQLite it sits in its own file (below).
LOCK_TABLES = MetaData()
conversation_locks = Table(
    "aftercare_conversation_locks",
    LOCK_TABLES,
    Column("key", String(64), primary_key=True),  # sha256 of the conversation id, never the id
    Column("tickets", Text, nullable=False),  # JSON list of {"number", "expires"}
)

# Between two looks at a lock another turn of the same conversation holds (Rasa waits 1 s).
POLL_SECONDS = 0.05
# A lock file is written on every turn; a writer waits this long, not the 15 s of our main database.
LOCK_BUSY_TIMEOUT_MS = 2000
WRITE_ATTEMPTS = 3


def lock_key(conversation_id: str) -> str:
    """The row key of a conversation's lock: its id hashed, so the table holds no patient identity."""
    return hashlib.sha256(conversation_id.encode("utf-8", "surrogatepass")).hexdigest()


def lock_database_url(database_url: str) -> str:
    """Where the locks live: beside a SQLite file (``<name>-locks.db``), else in the database itself.

    A SQLite database has one writer at a time and our tracker store commits every turn
    with an fsync; lock changes in the same file would queue behind those commits. The lock
    file needs no durability (a lock outlives no process that holds it), so it commits
    without waiting for the disk.
    """
    url = make_url(database_url)
    database = url.database or ""
    if url.get_backend_name() != "sqlite" or database in ("", ":memory:") or "mode=memory" in database:
        return database_url
    path = Path(database)
    locks = path.with_name(f"{path.stem}-locks{path.suffix or '.db'}")
    return url.set(database=str(locks)).render_as_string(hide_password=False)


def _relax_sqlite(dbapi_connection: Any, connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={LOCK_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")  # WAL: survives a process crash, no fsync per commit
    cursor.close()


def _lock_engine(url: str, separate_file: bool) -> Engine:
    parsed = make_url(url)
    in_memory = parsed.get_backend_name() == "sqlite" and (parsed.database or "") in ("", ":memory:")
    options: Dict[str, Any] = {} if in_memory else {"poolclass": QueuePool, "pool_size": 2, "max_overflow": 4}
    engine = make_engine(url, **options)
    if parsed.get_backend_name() == "sqlite" and separate_file:
        event.listen(engine, "connect", _relax_sqlite)
    return engine


def _tickets(lock: TicketLock) -> str:
    return json.dumps([ticket.as_dict() for ticket in lock.tickets])


def _lock(conversation_id: str, raw: Optional[str]) -> Optional[TicketLock]:
    """The stored lock, or None when there is none (or only expired tickets were left)."""
    if raw is None:
        return None
    lock = TicketLock(conversation_id)
    lock.tickets.extend(Ticket.from_dict(item) for item in json.loads(raw))
    lock.remove_expired_tickets()
    return lock if lock.is_someone_waiting() else None


class DatabaseLockStore(LockStore):
    """Rasa's ticket locks in a SQL table; every change of a lock is one transaction.

    For several Sanic workers of one Rasa (``AFTERCARE_RASA_WORKERS``) or replicas without
    Redis. On SQLite the transaction begins as the writer (``BEGIN IMMEDIATE``), on
    PostgreSQL it locks the row (``SELECT ... FOR UPDATE``; the row is inserted first when
    missing, so two replicas creating it do not collide). ``endpoints.yml``::

        lock_store:
          type: bot.lock_store.DatabaseLockStore
          # url: postgresql://...   (default: beside AFTERCARE_DATABASE_URL, see lock_database_url)

    If the table cannot be reached, a turn still runs (a red flag must be answered),
    ordered against the other turns of this process only, and one line is logged.
    """

    def __init__(
        self,
        endpoint_config: Optional[EndpointConfig] = None,
        url: Optional[str] = None,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        main = Settings.from_env().database_url
        configured = url or (endpoint_config.url if endpoint_config is not None else None)
        self.url = configured or lock_database_url(main)
        self.engine = _lock_engine(self.url, separate_file=self.url != main)
        self._factory = make_session_factory(self.engine)
        self._reader = make_session_factory(self.engine.execution_options(**{READ_ONLY: True}))
        self.poll_seconds = poll_seconds
        self._fallback = InMemoryLockStore()
        LOCK_TABLES.create_all(self.engine, checkfirst=True)

    # -- storage (Rasa's LockStore interface) -------------------------------------------

    def get_lock(self, conversation_id: str) -> Optional[TicketLock]:
        """Read the conversation's lock."""
        with self._reader.begin() as session:
            raw = session.execute(
                select(conversation_locks.c.tickets).where(
                    conversation_locks.c.key == lock_key(conversation_id)
                )
            ).scalar_one_or_none()
        return _lock(conversation_id, raw)

    def delete_lock(self, conversation_id: str) -> None:
        """Delete the conversation's lock."""
        self._change(conversation_id, lambda lock: (DELETE, None, None))

    def save_lock(self, lock: TicketLock) -> None:
        """Store ``lock`` as it is."""
        self._change(lock.conversation_id, lambda _: (SAVE, lock, None), create=True)

    # -- atomic changes -------------------------------------------------------------------

    def _change(
        self,
        conversation_id: str,
        change: Callable[[Optional[TicketLock]], Change[T]],
        create: bool = False,
    ) -> T:
        """Apply ``change`` to the stored lock in one transaction; return what it returned.

        Expired tickets are dropped whenever a lock is read, so a lock left with none (or
        only expired ones) is deleted by the next change.
        """
        key = lock_key(conversation_id)
        table = conversation_locks

        def work(session: Any) -> T:
            dialect = session.get_bind().dialect.name
            if create and dialect in ("sqlite", "postgresql"):
                insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
                # A row to lock; nobody else sees it empty: this transaction fills or deletes it.
                session.execute(insert(table).values(key=key, tickets="[]").on_conflict_do_nothing())
            raw = session.execute(
                select(table.c.tickets).where(table.c.key == key).with_for_update()
            ).scalar_one_or_none()
            current = _lock(conversation_id, raw)
            action, new_lock, result = change(current)
            if action == SAVE and new_lock is not None and new_lock.is_someone_waiting():
                if raw is None:
                    session.execute(table.insert().values(key=key, tickets=_tickets(new_lock)))
                else:
                    session.execute(
                        update(table).where(table.c.key == key).values(tickets=_tickets(new_lock))
                    )
            elif raw is not None and (action != KEEP or current is None):
                session.execute(delete(table).where(table.c.key == key))
            return result

        return run_write(self._factory, work, attempts=WRITE_ATTEMPTS, backoff_s=0.01)

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        """Issue the next ticket of the conversation's lock, creating the lock if needed."""

        def issue(lock: Optional[TicketLock]) -> Change[int]:
            lock = lock or self.create_lock(conversation_id)
            return SAVE, lock, lock.issue_ticket(lock_lifetime)

        try:
            return self._change(conversation_id, issue, create=True)
        except Exception as error:  # noqa: BLE001 - Rasa expects LockError for any failure here
            raise LockError(f"Error while acquiring lock. Error:\n{type(error).__name__}") from error

    def update_lock(self, conversation_id: str) -> None:
        """Drop expired tickets (a worker that died while it held or waited for the lock)."""
        self._change(conversation_id, lambda lock: (KEEP, None, None))

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        """Remove one ticket from the lock."""
        self._change(conversation_id, lambda lock: remove_ticket(lock, ticket_number))

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Remove our ticket and, in the same transaction, the lock when nobody else waits."""
        self.finish_serving(conversation_id, ticket_number)  # an empty lock is deleted by _change

    # -- one turn ------------------------------------------------------------------------

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: str,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float = POLL_SECONDS,
    ) -> AsyncIterator[TicketLock]:
        """Hold the conversation's lock for one turn; without the database, this process's lock."""
        try:
            ticket = self.issue_ticket(conversation_id, lock_lifetime)
        except LockError as error:
            logger.error(
                "Lock store unreachable (%s); this turn is ordered within this process only.",
                type(error.__cause__).__name__,
            )
            ticket = None
        if ticket is None:
            async with self._fallback.lock(conversation_id, lock_lifetime, self.poll_seconds) as held:
                yield held
            return
        try:
            yield await self._acquire_lock(
                conversation_id, ticket, min(wait_time_in_seconds, self.poll_seconds)
            )
        finally:
            try:
                self.cleanup(conversation_id, ticket)
            except Exception as error:  # noqa: BLE001 - the ticket expires by itself
                logger.error("Could not release a conversation lock (%s).", type(error).__name__)

    async def _acquire_lock(
        self, conversation_id: str, ticket: int, wait_time_in_seconds: float
    ) -> TicketLock:
        try:
            return await super()._acquire_lock(conversation_id, ticket, wait_time_in_seconds)
        except LockError:
            raise
        except Exception as error:  # noqa: BLE001 - the database went away while we waited
            logger.error(
                "Lock store unreachable while waiting (%s); the turn goes ahead.", type(error).__name__
            )
            lock = self.create_lock(conversation_id)
            lock.tickets.append(Ticket(ticket, 0.0))
            return lock


def lock_store_endpoint(configured: Optional[Dict[str, Any]], workers: int) -> Optional[Dict[str, Any]]:
    """The ``lock_store`` block for ``workers`` Sanic workers: the configured one, else ours.

    Rasa refuses several workers with its in-memory store; a configured Redis (or other)
    store is kept as it is.
    """
    if workers <= 1:
        return configured
    kind = (configured or {}).get("type")
    if kind not in (None, "", "in_memory"):
        return configured
    return {"type": f"{__name__}.DatabaseLockStore"}


__all__: List[str] = [
    "AtomicRedisLockStore",
    "DatabaseLockStore",
    "lock_database_url",
    "lock_key",
    "lock_store_endpoint",
]
