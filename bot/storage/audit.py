"""The audit log: who did what, when, from where. Append-only by design.

This module deliberately offers no way to change or delete an entry; the model and the
database refuse it as well (see ``models.AppendOnlyError`` and ``append_only``).
"""

from __future__ import annotations

from datetime import datetime
from typing import List, Optional

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.storage.db import utcnow
from bot.storage.models import AuditEntry

SYSTEM_ACTOR_PREFIX = "system:"


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
