"""Staff takeovers: while a member of staff holds a conversation, the assistant answers only red flags.

One row per takeover in ``aftercare_takeovers``. A partial unique index allows one open row
(``ended_at IS NULL``) per conversation, so two staff clicking "Take over" at once cannot both
win: the second insert fails inside the database and that caller is told who holds it. A
takeover with no staff activity for the clinic's idle timeout no longer counts (the Rasa
policy reads it so), and the channel worker ends it and says so to the patient.

The Rasa process reads this table on every turn (``is_taken_over``), so a takeover survives
restarts of every server. Callers own the session and the transaction; nothing here commits.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import List, Optional

from sqlalchemy import Index, String, select, text
from sqlalchemy.orm import Session, sessionmaker

from bot.storage import columns
from bot.storage.db import READ_ONLY, insert_unless_taken, make_engine, make_session_factory, utcnow
from bot.storage.models import Base

logger = logging.getLogger(__name__)

END_HANDBACK = "handback"
END_IDLE = "idle"


class Takeover(Base):
    """A member of staff answering a conversation in person, from ``started_at`` to ``ended_at``."""

    __tablename__ = "aftercare_takeovers"

    id = columns.primary_id()
    conversation_id = columns.conversation_id(index=True)
    staff = columns.required(String(64))
    started_at = columns.utc_now()
    last_activity_at = columns.utc_now()
    ended_at = columns.utc_time()
    ended_by = columns.optional(String(64))
    end_reason = columns.optional(String(16))

    __table_args__ = (
        Index(
            "uq_aftercare_takeovers_open",
            "conversation_id",
            unique=True,
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
    )

    def idle(self, now: datetime, timeout: timedelta) -> bool:
        """Whether nobody has acted in this takeover for ``timeout``."""
        return self.last_activity_at <= now - timeout


@dataclass(frozen=True)
class TakeoverResult:
    """The open takeover after a "Take over": ours (``taken``) or someone else's."""

    takeover: Takeover
    taken: bool
    new: bool


def open_takeover(*, session: Session, conversation_id: str) -> Optional[Takeover]:
    """The conversation's open takeover row (it may be idle past the timeout)."""
    statement = select(Takeover).where(
        Takeover.conversation_id == conversation_id, Takeover.ended_at.is_(None)
    )
    return session.execute(statement).scalars().first()


def active_takeover(
    *, session: Session, conversation_id: str, idle_timeout: timedelta, now: Optional[datetime] = None
) -> Optional[Takeover]:
    """The takeover that silences the assistant now, if any (idle ones do not)."""
    found = open_takeover(session=session, conversation_id=conversation_id)
    if found is None or found.idle(now or utcnow(), idle_timeout):
        return None
    return found


def end_takeover(
    *, session: Session, takeover: Takeover, by: str, reason: str, now: Optional[datetime] = None
) -> Takeover:
    """Close a takeover (hand-back by staff, or idle timeout)."""
    takeover.ended_at = now or utcnow()
    takeover.ended_by = by[:64]
    takeover.end_reason = reason
    session.flush()
    return takeover


def take_over(
    *,
    session: Session,
    conversation_id: str,
    staff: str,
    idle_timeout: timedelta,
    now: Optional[datetime] = None,
) -> TakeoverResult:
    """Start a takeover for ``staff``, unless another member of staff already holds it.

    An idle takeover is ended first (the clinic's timeout passed). The database's unique
    index decides a race; the loser gets the winner's row with ``taken=False``.
    """
    now = now or utcnow()
    current = open_takeover(session=session, conversation_id=conversation_id)
    if current is not None and current.idle(now, idle_timeout):
        end_takeover(session=session, takeover=current, by=END_IDLE, reason=END_IDLE, now=now)
    row = Takeover(conversation_id=conversation_id, staff=staff, started_at=now, last_activity_at=now)
    stored, new = insert_unless_taken(
        session, row, lambda: open_takeover(session=session, conversation_id=conversation_id)
    )
    if not new and stored.staff == staff:
        stored.last_activity_at = now
    return TakeoverResult(takeover=stored, taken=stored.staff == staff, new=new)


def touch(*, session: Session, takeover: Takeover, now: Optional[datetime] = None) -> None:
    """Note staff activity (a reply), which keeps the takeover from going idle."""
    takeover.last_activity_at = now or utcnow()


def idle_takeovers(
    *,
    session: Session,
    idle_timeout: timedelta,
    channel: Optional[str] = None,
    now: Optional[datetime] = None,
) -> List[Takeover]:
    """Open takeovers idle past the timeout (of one channel's conversations, if given)."""
    now = now or utcnow()
    statement = select(Takeover).where(
        Takeover.ended_at.is_(None), Takeover.last_activity_at <= now - idle_timeout
    )
    if channel:
        statement = statement.where(Takeover.conversation_id.startswith(f"{channel}:", autoescape=True))
    return list(session.execute(statement.with_for_update(skip_locked=True)).scalars())


def has_idle(
    *,
    session: Session,
    idle_timeout: timedelta,
    channel: Optional[str] = None,
    now: Optional[datetime] = None,
) -> bool:
    """Whether :func:`idle_takeovers` would find anything (a cheap read, no row locks)."""
    now = now or utcnow()
    statement = select(Takeover.id).where(
        Takeover.ended_at.is_(None), Takeover.last_activity_at <= now - idle_timeout
    )
    if channel:
        statement = statement.where(Takeover.conversation_id.startswith(f"{channel}:", autoescape=True))
    return session.execute(statement.limit(1)).first() is not None


def takeovers_of(*, session: Session, conversation_id: str) -> List[Takeover]:
    """Every takeover of a conversation, oldest first (for the transcript)."""
    statement = select(Takeover).where(Takeover.conversation_id == conversation_id).order_by(Takeover.id)
    return list(session.execute(statement).scalars())


class TakeoverReader:
    """Answer "is this conversation taken over now?" for the Rasa policy, on its own engine.

    Fails soft: when the database cannot be read the assistant answers as usual (the
    safety net is on either way), and one line is logged.
    """

    def __init__(self, database_url: str, idle_timeout: timedelta) -> None:
        self.database_url = database_url
        self.idle_timeout = idle_timeout
        self._factory: Optional[sessionmaker] = None

    def __call__(self, conversation_id: str) -> bool:
        """True while a member of staff holds the conversation."""
        try:
            if self._factory is None:
                # Read-only: the policy must never queue behind a writer for a plain read.
                engine = make_engine(self.database_url, execution_options={READ_ONLY: True})
                self._factory = make_session_factory(engine)
            with self._factory.begin() as session:
                found = active_takeover(
                    session=session, conversation_id=conversation_id, idle_timeout=self.idle_timeout
                )
                return found is not None
        except Exception as error:  # noqa: BLE001 - the assistant must keep answering
            logger.error("Takeover state not read (%s); the assistant answers.", type(error).__name__)
            return False
