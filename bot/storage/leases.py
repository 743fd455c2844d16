"""Named leases in our database: how workers on several replicas divide work without a coordinator.

A lease is a row ``(name, holder, expires_at)``. :func:`acquire` takes it when nobody
holds it, when it expired, or when the caller already holds it (which extends it); the
take is one conditional statement, so two replicas racing for one name cannot both win.
A holder that dies simply stops renewing: the lease expires and another replica takes
over. Whoever holds a lease must finish (or renew) within its time to live, so the time
to live is chosen longer than the work it covers (see docs/architecture.md, "Workers on
several replicas").

Callers own the session and the transaction; nothing here commits.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta
from typing import Dict, Optional

from sqlalchemy import Column, String, delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.storage.db import utcnow
from bot.storage.models import Base
from bot.storage.types import UTCDateTime

NAME_LENGTH = 300
HOLDER_LENGTH = 128


class Lease(Base):
    """Who holds the named piece of work, and until when."""

    __tablename__ = "aftercare_leases"

    name = Column(String(NAME_LENGTH), primary_key=True)
    holder = Column(String(HOLDER_LENGTH), nullable=False)
    expires_at = Column(UTCDateTime, nullable=False)


# Which process made each holder name: a name made before a fork (Rasa's channels are built
# before Sanic forks its workers) must not let two processes hold one lease.
_MADE_IN: Dict[str, int] = {}


def holder_id(role: str) -> str:
    """Return a holder name unique to this process and object (host, pid, random part)."""
    name = f"{role}@{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[: HOLDER_LENGTH - 12]
    _MADE_IN[name] = os.getpid()
    return name


def _in_this_process(holder: str) -> str:
    """``holder`` as this process uses it: suffixed with our pid if another process made the name."""
    made_in = _MADE_IN.get(holder)
    if made_in is None or made_in == os.getpid():
        return holder
    return f"{holder}~{os.getpid()}"[:HOLDER_LENGTH]


def acquire(
    *, session: Session, name: str, holder: str, ttl: timedelta, now: Optional[datetime] = None
) -> bool:
    """Take or extend the lease ``name`` for ``ttl``; False while someone else holds it."""
    now = now or utcnow()
    name = name[:NAME_LENGTH]
    holder = _in_this_process(holder)
    values = {"name": name, "holder": holder, "expires_at": now + ttl}
    dialect = session.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
        inserted = session.execute(insert(Lease).values(**values).on_conflict_do_nothing()).rowcount
        if inserted == 1:
            return True
    else:  # pragma: no cover - the project runs on SQLite and PostgreSQL
        try:
            with session.begin_nested():
                session.add(Lease(**values))
            return True
        except IntegrityError:
            pass
    taken = session.execute(
        update(Lease)
        .where(Lease.name == name, (Lease.holder == holder) | (Lease.expires_at < now))
        .values(holder=holder, expires_at=now + ttl)
        .execution_options(synchronize_session=False)
    ).rowcount
    return taken == 1


def release(*, session: Session, name: str, holder: str) -> None:
    """Give the lease back early (only if ``holder`` still holds it)."""
    holder = _in_this_process(holder)
    session.execute(
        delete(Lease)
        .where(Lease.name == name[:NAME_LENGTH], Lease.holder == holder)
        .execution_options(synchronize_session=False)
    )
