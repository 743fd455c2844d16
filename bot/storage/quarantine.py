"""Stored conversation events that could not be read back, kept aside for staff.

One corrupt row in Rasa's ``events`` table (bad JSON, an unknown event) used to kill
every later message of that patient. The tracker store now skips such a row and copies
it here, once, with the error class. The raw row is patient data: it is kept for staff
and forensics, never logged, and purged with the rest of the conversation data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, List, Optional

from sqlalchemy import Float, Integer, String, Text, UniqueConstraint, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.storage import columns
from bot.storage.db import utcnow
from bot.storage.models import Base


class QuarantinedEvent(Base):
    """A copy of one unreadable row of Rasa's ``events`` table."""

    __tablename__ = "aftercare_quarantined_events"

    id = columns.primary_id()
    sender_id = columns.required(String(255), index=True)
    event_id = columns.required(Integer)
    type_name = columns.optional(String(255))
    event_timestamp = columns.optional(Float)
    error = columns.required(String(128))
    raw_data = columns.optional(Text)
    quarantined_at = columns.utc_now()

    __table_args__ = (
        UniqueConstraint("sender_id", "event_id", name="uq_aftercare_quarantined_events_event"),
    )


@dataclass(frozen=True)
class UnreadableEvent:
    """What the tracker store knows about a row it had to skip."""

    sender_id: str
    event_id: int
    type_name: Optional[str]
    timestamp: Optional[float]
    error: str
    raw_data: Optional[str]


def quarantine_events(
    *, session: Session, events: Iterable[UnreadableEvent], now: Optional[datetime] = None
) -> int:
    """Copy rows not yet quarantined; return how many are new. Never commits."""
    now = now or utcnow()
    added = 0
    for item in events:
        known = session.execute(
            select(QuarantinedEvent.id).where(
                QuarantinedEvent.sender_id == item.sender_id, QuarantinedEvent.event_id == item.event_id
            )
        ).first()
        if known is not None:
            continue
        row = QuarantinedEvent(
            sender_id=item.sender_id,
            event_id=item.event_id,
            type_name=item.type_name,
            event_timestamp=item.timestamp,
            error=item.error[:128],
            raw_data=item.raw_data,
            quarantined_at=now,
        )
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            continue  # another process quarantined the same row a moment ago
        added += 1
    return added


def quarantined_events(*, session: Session, sender_id: str) -> List[QuarantinedEvent]:
    """Return the quarantined rows of one conversation, in stored order."""
    statement = (
        select(QuarantinedEvent)
        .where(QuarantinedEvent.sender_id == sender_id)
        .order_by(QuarantinedEvent.event_id)
    )
    return list(session.execute(statement).scalars())


def purge_quarantined(*, session: Session, before: datetime) -> int:
    """Delete quarantined rows older than ``before`` (retention); return how many."""
    result = session.execute(delete(QuarantinedEvent).where(QuarantinedEvent.quarantined_at < before))
    return int(result.rowcount or 0)
