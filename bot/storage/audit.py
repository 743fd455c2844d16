"""The audit log: who did what, when, from where. Append-only by design.

This module deliberately offers no way to change or delete an entry; the model and the
database refuse it as well (see ``models.AppendOnlyError`` and ``append_only``). Since nothing
can be purged, refused requests from unauthenticated sources are bounded when they come in
(``record_refusal``): a source that keeps knocking cannot grow the log without limit.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import List, Optional

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.storage.db import utcnow
from bot.storage.models import AuditEntry

SYSTEM_ACTOR_PREFIX = "system:"
ACCESS_DENIED = "access.denied"
ANONYMOUS = "anonymous"
# Per source address: this many refused-request entries per window, the last one marked.
REFUSALS_PER_WINDOW = 30
REFUSAL_WINDOW = timedelta(minutes=1)
RATE_LIMITED = "rate_limited"


def record(
    *,
    session: Session,
    actor: str,
    action: str,
    target: Optional[str] = None,
    detail: Optional[str] = None,
    ip: Optional[str] = None,
    at: Optional[datetime] = None,
) -> AuditEntry:
    """Append one entry. ``detail`` must not contain patient text (it outlives retention)."""
    entry = AuditEntry(
        at=at or utcnow(), actor=actor[:64], action=action, target=target, detail=detail, ip=ip
    )
    session.add(entry)
    session.flush()
    return entry


def record_refusal(
    *,
    session: Session,
    actor: str,
    target: Optional[str],
    detail: Optional[str],
    ip: Optional[str],
    at: Optional[datetime] = None,
) -> Optional[AuditEntry]:
    """Append an ``access.denied`` entry; from an unauthenticated source, a bounded number.

    A logged-in person's refusals are all recorded (they are accountable and few). From an
    anonymous source at most ``REFUSALS_PER_WINDOW`` per ``REFUSAL_WINDOW`` are, the last
    one's detail ending in ``rate_limited``; the rest return None, unrecorded.
    """
    at = at or utcnow()
    if actor == ANONYMOUS:
        recent = session.execute(
            select(func.count(AuditEntry.id)).where(
                AuditEntry.action == ACCESS_DENIED,
                AuditEntry.actor == ANONYMOUS,
                AuditEntry.ip.is_(None) if ip is None else AuditEntry.ip == ip,
                AuditEntry.at > at - REFUSAL_WINDOW,
                AuditEntry.at <= at,
            )
        ).scalar_one()
        if recent >= REFUSALS_PER_WINDOW:
            return None
        if recent == REFUSALS_PER_WINDOW - 1:
            detail = f"{detail} {RATE_LIMITED}" if detail else RATE_LIMITED
    return record(
        session=session, actor=actor, action=ACCESS_DENIED, target=target, detail=detail, ip=ip, at=at
    )


def entries(
    *,
    session: Session,
    actor: Optional[str] = None,
    action: Optional[str] = None,
    target: Optional[str] = None,
    limit: int = 100,
    offset: int = 0,
) -> List[AuditEntry]:
    """Return entries, newest first, optionally filtered by exact actor, action prefix or target."""
    statement = select(AuditEntry)
    if actor:
        statement = statement.where(AuditEntry.actor == actor)
    if action:
        statement = statement.where(AuditEntry.action.startswith(action, autoescape=True))
    if target:
        statement = statement.where(AuditEntry.target == target)
    statement = statement.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit).offset(offset)
    return list(session.execute(statement).scalars())


def count_entries(*, session: Session, actor: Optional[str] = None, action: Optional[str] = None) -> int:
    """Count entries matching the same filters as :func:`entries`."""
    statement = select(func.count(AuditEntry.id))
    if actor:
        statement = statement.where(AuditEntry.actor == actor)
    if action:
        statement = statement.where(AuditEntry.action.startswith(action, autoescape=True))
    return int(session.execute(statement).scalar_one())
