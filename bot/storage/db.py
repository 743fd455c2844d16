"""Engine and session helpers: the only place that knows how to open our database.

There is deliberately no module-level engine: each process (action server, dashboard,
CLI command, test) builds its own from a URL and owns its sessions and transactions.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.engine.url import URL
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import StaticPool

SQLITE_BUSY_TIMEOUT_MS = 5000


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
    emitting ``BEGIN`` ourselves, below) is what makes SAVEPOINTs work, as the
    SQLAlchemy SQLite dialect documentation recommends.
    """
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def _begin_sqlite_transaction(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN")


def make_engine(url: str | URL, **engine_options: object) -> Engine:
    """Build an engine for ``url`` with the settings our tables rely on."""
    parsed = make_url(url)
    options: dict = {"future": True, **engine_options}
    if parsed.get_backend_name() == "sqlite":
        _prepare_sqlite_file(parsed)
        options.setdefault("connect_args", {"check_same_thread": False})
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
