"""Read access to Rasa's SQL tracker store (the ``events`` table), plus its retention.

Rasa owns that table; we only read conversations for the dashboard and delete old
events for retention. Everything here copes with the table not existing (yet).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, delete, func, inspect, select
from sqlalchemy.orm import Session

from bot.names import ENTRY_ID_KEY, SOURCE_FILES_KEY, TRIAGE_LEVEL

TRACKER_EVENTS_TABLE = "events"
TRIAGE_SLOT = TRIAGE_LEVEL

# A lightweight description of Rasa's table: enough columns to read and delete, never created by us.
_events = Table(
    TRACKER_EVENTS_TABLE,
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255)),
    Column("type_name", String(255)),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)


@dataclass(frozen=True)
class Turn:
    """One line of the transcript as staff see it."""

    kind: str  # "user", "bot" or "triage"
    at: Optional[datetime]
    text: str = ""
    intent: Optional[str] = None
    level: Optional[str] = None
    event_id: int = 0
    # A knowledge answer's exact source for staff (patients read only its title).
    source_files: str = ""
    knowledge_entry: str = ""


@dataclass
class Transcript:
    """A conversation read from the tracker store, in order."""

    conversation_id: str
    turns: List[Turn] = field(default_factory=list)
    available: bool = True  # False when the tracker store table does not exist

    @property
    def triage_history(self) -> List[Turn]:
        """Return the triage level changes, in order."""
        return [turn for turn in self.turns if turn.kind == "triage"]


def tracker_table_exists(*, session: Session) -> bool:
    """Tell whether Rasa's SQL tracker store table is in this database."""
    return inspect(session.connection()).has_table(TRACKER_EVENTS_TABLE)


def _as_datetime(timestamp: Optional[float]) -> Optional[datetime]:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(float(timestamp), tz=timezone.utc)


def _turn_from_row(row: Any) -> Optional[Turn]:
    try:
        data: Dict[str, Any] = json.loads(row.data or "{}")
    except ValueError:
        data = {}
    at = _as_datetime(row.timestamp if row.timestamp is not None else data.get("timestamp"))
    if row.type_name == "user":
        intent = row.intent_name or ((data.get("parse_data") or {}).get("intent") or {}).get("name")
        return Turn("user", at, str(data.get("text") or ""), intent=intent, event_id=row.id)
    if row.type_name == "bot":
        metadata = data.get("metadata")
        if not isinstance(metadata, dict):
            metadata = {}
        return Turn(
            "bot",
            at,
            str(data.get("text") or ""),
            event_id=row.id,
            source_files=str(metadata.get(SOURCE_FILES_KEY) or ""),
            knowledge_entry=str(metadata.get(ENTRY_ID_KEY) or ""),
        )
    if row.type_name == "slot" and data.get("name") == TRIAGE_SLOT:
        value = data.get("value")
        return Turn("triage", at, level=str(value) if value is not None else None, event_id=row.id)
    return None


def read_transcript(*, session: Session, conversation_id: str) -> Transcript:
    """Return the user and bot turns and triage level changes of one conversation."""
    if not tracker_table_exists(session=session):
        return Transcript(conversation_id, available=False)
    statement = (
        select(_events.c.id, _events.c.type_name, _events.c.timestamp, _events.c.intent_name, _events.c.data)
        .where(_events.c.sender_id == conversation_id)
        .order_by(_events.c.timestamp, _events.c.id)
    )
    turns = [turn for row in session.execute(statement) if (turn := _turn_from_row(row)) is not None]
    return Transcript(conversation_id, turns)


@dataclass(frozen=True)
class EventPurge:
    """What deleting old tracker events removes (or would remove)."""

    events: int
    conversations: int


def purge_events(*, session: Session, before: datetime, dry_run: bool = False) -> EventPurge:
    """Delete tracker events older than ``before``; count the conversations they belong to."""
    if not tracker_table_exists(session=session):
        return EventPurge(0, 0)
    cutoff = before.timestamp()
    old = _events.c.timestamp < cutoff
    counts = session.execute(
        select(func.count(_events.c.id), func.count(func.distinct(_events.c.sender_id))).where(old)
    ).one()
    if not dry_run:
        session.execute(delete(_events).where(old))
    return EventPurge(int(counts[0]), int(counts[1]))
