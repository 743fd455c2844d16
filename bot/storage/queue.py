"""Queries behind the review queue and the CSV export."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Dict, List, Optional, Sequence

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from bot.storage.models import Flag
from bot.storage.vocabulary import FLAG_LEVELS, UNRESOLVED_STATUSES

# Emergency first, then urgent, then everything else; newest first within each group.
_LEVEL_ORDER = case((Flag.level == "emergency", 0), (Flag.level == "urgent", 1), else_=2)


@dataclass(frozen=True)
class QueueFilter:
    """Which flags to show. ``created_to`` is exclusive."""

    statuses: Sequence[str] = UNRESOLVED_STATUSES
    levels: Sequence[str] = ()
    channel: Optional[str] = None
    created_from: Optional[datetime] = None
    created_to: Optional[datetime] = None


def _filtered(statement: Select, flt: QueueFilter, *, with_levels: bool = True) -> Select:
    if flt.statuses:
        statement = statement.where(Flag.status.in_(tuple(flt.statuses)))
    if with_levels and flt.levels:
        statement = statement.where(Flag.level.in_(tuple(flt.levels)))
    if flt.channel:
        statement = statement.where(Flag.channel == flt.channel)
    if flt.created_from is not None:
        statement = statement.where(Flag.created_at >= flt.created_from)
    if flt.created_to is not None:
        statement = statement.where(Flag.created_at < flt.created_to)
    return statement


def list_flags(
    *, session: Session, flt: QueueFilter = QueueFilter(), limit: int = 50, offset: int = 0
) -> List[Flag]:
    """Return the flags matching ``flt`` in queue order."""
    statement = _filtered(select(Flag), flt).order_by(_LEVEL_ORDER, Flag.created_at.desc(), Flag.id.desc())
    return list(session.execute(statement.limit(limit).offset(offset)).scalars())


def count_flags(*, session: Session, flt: QueueFilter = QueueFilter()) -> int:
    """Count the flags matching ``flt``."""
    return int(session.execute(_filtered(select(func.count(Flag.id)), flt)).scalar_one())


def counts_by_level(*, session: Session, flt: QueueFilter = QueueFilter()) -> Dict[str, int]:
    """Count matching flags per level (ignoring the level filter), every level present."""
    statement = _filtered(select(Flag.level, func.count(Flag.id)), flt, with_levels=False).group_by(
        Flag.level
    )
    counts = {level: 0 for level in FLAG_LEVELS}
    for level, count in session.execute(statement):
        counts[level] = int(count)
    return counts


def known_channels(*, session: Session) -> List[str]:
    """Return the channels that have flags, for the filter menu."""
    return list(session.execute(select(Flag.channel).distinct().order_by(Flag.channel)).scalars())


def flags_for_export(*, session: Session, created_from: datetime, created_to: datetime) -> List[Flag]:
    """Return every flag created in ``[created_from, created_to)``, oldest first."""
    statement = (
        select(Flag)
        .where(Flag.created_at >= created_from, Flag.created_at < created_to)
        .order_by(Flag.created_at, Flag.id)
    )
    return list(session.execute(statement).scalars())
