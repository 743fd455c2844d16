"""Engine and session helpers: the only place that knows how to open our database.

There is deliberately no module-level engine: each process (action server, dashboard,
CLI command, Rasa's tracker store, test) builds its own from a URL and owns its sessions
and transactions.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Optional, Tuple, TypeVar

from sqlalchemy import create_engine, event, select
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.engine.url import URL
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql import Select

logger = logging.getLogger(__name__)

# How long a SQLite writer waits for another writer's lock before giving up. Rasa writes
# a conversation's events many times a second under load; a flag must wait, not fail.
SQLITE_BUSY_TIMEOUT_S = 15.0
SQLITE_BUSY_TIMEOUT_MS = int(SQLITE_BUSY_TIMEOUT_S * 1000)

# Execution option for a connection that only reads: it begins with a plain (deferred)
# BEGIN so it does not queue behind writers. Anything that may write leaves it unset.
READ_ONLY = "aftercare_read_only"

WRITE_ATTEMPTS = 4
_TRANSIENT_MESSAGES = ("database is locked", "database table is locked", "busy", "unable to open database")

T = TypeVar("T")
R = TypeVar("R")


def utcnow() -> datetime:
    """Return the current time as a timezone-aware UTC datetime."""
    return datetime.now(timezone.utc)


def _is_memory_sqlite(url: URL) -> bool:
    return url.database in (None, "", ":memory:") or "mode=memory" in str(url)


def _prepare_sqlite_file(url: URL) -> None:
    if _is_memory_sqlite(url):
        return
    Path(str(url.database)).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _configure_sqlite_connection(dbapi_connection: Any, connection_record: Any) -> None:
    """Turn on what SQLite leaves off by default.

    WAL lets the dashboard read while the action server writes; foreign keys make
    ``ON DELETE CASCADE`` work; the busy timeout makes concurrent writers wait instead
    of failing at once. Taking transaction control away from the pysqlite driver (and
    emitting ``BEGIN IMMEDIATE`` ourselves, below) is SQLAlchemy's documented recipe; it
    also makes SAVEPOINTs work.
    """
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def _begin_sqlite_transaction(connection: Connection) -> None:
    """Start every transaction as a writer unless the caller said it only reads.

    A deferred transaction that reads and then writes must upgrade its lock; in WAL mode
    that upgrade fails at once with ``database is locked`` when another connection wrote
    in between, whatever the busy timeout. ``BEGIN IMMEDIATE`` takes the write lock up
    front, where the busy timeout does apply, so concurrent writers queue instead.
    """
    if connection.get_execution_options().get(READ_ONLY):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str | URL, **engine_options: object) -> Engine:
    """Build an engine for ``url`` with the settings our tables rely on.

    Statement parameters are never put into error messages or logs
    (``hide_parameters``): they are patient messages and identities.
    """
    parsed = make_url(url)
    options: dict = {"future": True, "hide_parameters": True, **engine_options}
    if parsed.get_backend_name() == "sqlite":
        _prepare_sqlite_file(parsed)
        options.setdefault("connect_args", {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_S})
        if _is_memory_sqlite(parsed):
            # One shared connection, or every new connection would see an empty database.
            options.setdefault("poolclass", StaticPool)
        engine = create_engine(parsed, **options)
        event.listen(engine, "connect", _configure_sqlite_connection)
        event.listen(engine, "begin", _begin_sqlite_transaction)
        return engine
    options.setdefault("pool_pre_ping", True)
    return create_engine(parsed, **options)


def make_session_factory(engine: Engine) -> sessionmaker:
    """Return a session factory; use it as ``with factory.begin() as session:``."""
    return sessionmaker(bind=engine, future=True, expire_on_commit=False)


def is_transient(error: BaseException) -> bool:
    """Tell whether retrying the same transaction may succeed (a lock, a dropped connection)."""
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    if not isinstance(error, OperationalError):
        return False
    message = str(getattr(error, "orig", error)).lower()
    return any(part in message for part in _TRANSIENT_MESSAGES) or _is_disconnect(error)


def _is_disconnect(error: OperationalError) -> bool:
    # psycopg2 reports a lost server as an OperationalError with these words.
    message = str(getattr(error, "orig", error)).lower()
    return (
        "server closed the connection" in message
        or "could not connect" in message
        or "terminating" in message
    )


def run_write(
    session_factory: sessionmaker,
    work: Callable[[Session], T],
    *,
    attempts: int = WRITE_ATTEMPTS,
    backoff_s: float = 0.2,
    sleep: Optional[Callable[[float], None]] = None,
) -> T:
    """Run ``work(session)`` in one transaction, retrying transient database errors.

    ``work`` must be safe to run again from the start (the failed transaction was rolled
    back). After ``attempts`` tries the last error is raised to the caller. ``sleep`` is
    injectable so tests count retries without waiting.
    """
    pause = sleep or time.sleep
    for attempt in range(1, attempts + 1):
        try:
            with session_factory.begin() as session:
                return work(session)
        except DBAPIError as error:
            if attempt >= attempts or not is_transient(error):
                raise
            logger.warning(
                "Database write failed (%s, attempt %d of %d); retrying.",
                type(error.orig).__name__,
                attempt,
                attempts,
            )
            pause(backoff_s * (2 ** (attempt - 1)))
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


class LazyDatabase:
    """Our database opened on first use, with writes retried while it is busy.

    For long-lived objects built before the database need be reachable (channel connectors
    are built when Rasa loads its credentials): the engine is made with the first message.
    ``database_url`` is called then, so it may itself read the settings lazily.
    """

    # The channel inbox shares SQLite with Rasa's tracker store and the action server, and a
    # patient is waiting: retry busy writes quickly and a few more times than the default.
    ATTEMPTS = 6
    BACKOFF_S = 0.05

    def __init__(self, database_url: Callable[[], str], factory: Optional[sessionmaker] = None) -> None:
        self._database_url = database_url
        self._factory = factory

    def factory(self) -> sessionmaker:
        """Return the session factory, opening the database the first time."""
        if self._factory is None:
            self._factory = make_session_factory(make_engine(self._database_url()))
        return self._factory

    def write(self, work: Callable[[Session], T]) -> T:
        """Run ``work(session)`` in one transaction, retrying a busy database (see ``run_write``)."""
        return run_write(self.factory(), work, attempts=self.ATTEMPTS, backoff_s=self.BACKOFF_S)


def claim_rows(
    model: Any, *conditions: Any, limit: int, due: Any = None, now: Optional[datetime] = None
) -> Select:
    """Select up to ``limit`` rows of ``model`` that match, locked for this transaction.

    With ``due`` (a time column), only rows due by ``now``, the most overdue first; ties and
    everything else go in the order they were inserted. Rows another transaction holds are
    skipped (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite has no row locks and serialises
    writers instead), so replicas never take the same row.
    """
    order: Tuple[Any, ...] = (model.id,)
    if due is not None:
        conditions, order = (*conditions, due <= (now or utcnow())), (due, *order)
    return select(model).where(*conditions).order_by(*order).limit(limit).with_for_update(skip_locked=True)


def any_row(session: Session, column: Any, *conditions: Any) -> bool:
    """Whether any row matches (a cheap read of one ``column``, no row locks)."""
    return session.execute(select(column).where(*conditions).limit(1)).first() is not None


def insert_unless_taken(session: Session, row: R, existing: Callable[[], Optional[R]]) -> Tuple[R, bool]:
    """Insert ``row`` in a savepoint; if a unique key says another writer was first, return theirs.

    Returns ``(row, True)`` when ours went in, ``(existing(), False)`` after a clash. Inserting
    first (reading only on a clash) keeps SQLite from failing a read-then-write transaction.
    """
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        found = existing()
        if found is None:
            raise
        return found, False
    return row, True
