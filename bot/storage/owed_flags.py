"""The ledger of flags owed per patient message: what makes a flag exactly-once.

An escalation reply is a domain response, sent even when the action server or the
database is down; the flag and its staff alerts come later from ``action_record_flag``.
So the safety policy first writes a row here saying "a flag is owed for message K of
conversation C" (``status = owed``). Whoever writes the flag (the action, or the
reconciler when the action never ran) *settles* the row in the same transaction as the
flag: the conditional ``UPDATE ... WHERE status = 'owed'`` lets exactly one writer win,
and the winner alone calls :func:`bot.storage.flags.raise_flag`, which queues the alerts.
The unique key (conversation, turn, kind) makes a redelivered message, a retried action
and a re-imported journal line all land on the same row.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Dict, List, Optional

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.storage.db import utcnow
from bot.storage.flags import raise_flag
from bot.storage.owed_table import BY_ACTION, BY_RECONCILER, OWED, SETTLED, OwedFlag

__all__ = [
    "BY_ACTION",
    "BY_RECONCILER",
    "OWED",
    "SETTLED",
    "OwedFlag",
    "OwedFlagDetails",
    "Settlement",
    "record_owed",
    "settle",
    "settle_owed",
    "unsettled",
]


@dataclass(frozen=True)
class OwedFlagDetails:
    """Everything needed to write the flag later, without the tracker or the action server."""

    conversation_id: str
    turn_key: str
    kind: str
    channel: str
    level: str
    reason: str
    rule: str
    matched_text: str
    message: str
    channel_user_id: Optional[str] = None
    # When the escalation happened (ISO 8601, UTC); journal lines keep it through an outage.
    recorded_at: Optional[str] = None

    def to_json(self) -> str:
        """Serialise for the on-disk journal (one line)."""
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, line: str) -> OwedFlagDetails:
        """Read one journal line; raises ``ValueError``/``TypeError`` on a damaged one."""
        data: Dict[str, Any] = json.loads(line)
        return cls(**{key: data[key] for key in cls.__dataclass_fields__ if key in data})


@dataclass(frozen=True)
class Settlement:
    """What settling an owed flag did: the flag it points at, and whether this call wrote it."""

    flag_id: Optional[int]
    wrote_flag: bool


def _values(details: OwedFlagDetails, now: datetime) -> Dict[str, Any]:
    values = asdict(details)
    recorded = values.pop("recorded_at", None)
    created_at = now
    if recorded:
        try:
            created_at = datetime.fromisoformat(recorded)
        except ValueError:
            created_at = now
    return {**values, "status": OWED, "created_at": created_at}


def record_owed(*, session: Session, details: OwedFlagDetails, now: Optional[datetime] = None) -> None:
    """Insert the owed row unless this message already has one (never an error on repeat)."""
    values = _values(details, now or utcnow())
    dialect = session.get_bind().dialect.name
    keys = ["conversation_id", "turn_key", "kind"]
    if dialect == "sqlite":
        session.execute(sqlite.insert(OwedFlag).values(**values).on_conflict_do_nothing(index_elements=keys))
    elif dialect == "postgresql":
        session.execute(
            postgresql.insert(OwedFlag).values(**values).on_conflict_do_nothing(index_elements=keys)
        )
    else:
        try:
            with session.begin_nested():
                session.add(OwedFlag(**values))
        except IntegrityError:
            pass


def _row(session: Session, conversation_id: str, turn_key: str, kind: str) -> Optional[OwedFlag]:
    statement = select(OwedFlag).where(
        OwedFlag.conversation_id == conversation_id, OwedFlag.turn_key == turn_key, OwedFlag.kind == kind
    )
    return session.execute(statement).scalars().first()


def settle_owed(
    *,
    session: Session,
    conversation_id: str,
    turn_key: str,
    kind: str,
    by: str,
    now: Optional[datetime] = None,
) -> Settlement:
    """Write the flag for an owed row, unless someone already did; the caller commits.

    The claim is a conditional ``UPDATE`` and the first statement that touches the row, so on
    SQLite the transaction holds the write lock before it reads, and on PostgreSQL a second
    settler waits for the first to commit and then finds nothing left to claim.
    """
    now = now or utcnow()
    claim = (
        update(OwedFlag)
        .where(
            OwedFlag.conversation_id == conversation_id,
            OwedFlag.turn_key == turn_key,
            OwedFlag.kind == kind,
            OwedFlag.status == OWED,
        )
        .values(status=SETTLED, settled_by=by, settled_at=now)
        .execution_options(synchronize_session=False)
    )
    claimed = session.execute(claim).rowcount
    row = _row(session, conversation_id, turn_key, kind)
    if row is None:
        raise LookupError("no owed flag for this message")
    if claimed != 1:
        return Settlement(row.flag_id, wrote_flag=False)
    # The flag is dated when the patient was escalated, not when a reconciler caught up with
    # it: response-time deadlines and the queue order run from that moment.
    flag = raise_flag(
        session=session, conversation_id=row.conversation_id, now=row.created_at, **row.details()
    )
    row.flag_id = flag.id
    session.flush()
    return Settlement(flag.id, wrote_flag=True)


def settle(
    *, session: Session, details: OwedFlagDetails, by: str, now: Optional[datetime] = None
) -> Settlement:
    """Record the owed flag if nobody did yet, then settle it: the action server's flag write."""
    now = now or utcnow()
    record_owed(session=session, details=details, now=now)
    return settle_owed(
        session=session,
        conversation_id=details.conversation_id,
        turn_key=details.turn_key,
        kind=details.kind,
        by=by,
        now=now,
    )


def unsettled(*, session: Session, created_before: datetime, limit: int = 100) -> List[OwedFlag]:
    """Return owed rows older than ``created_before``, oldest first (the reconciler's work)."""
    statement = (
        select(OwedFlag)
        .where(OwedFlag.status == OWED, OwedFlag.created_at <= created_before)
        .order_by(OwedFlag.created_at, OwedFlag.id)
        .limit(limit)
    )
    return list(session.execute(statement).scalars())
