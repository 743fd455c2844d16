"""The ``aftercare_owed_flags`` table (logic in ``bot.storage.owed_flags``).

Kept apart from the repository functions so ``bot.storage.models`` can import it without
an import cycle through ``bot.storage.flags``.
"""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, Integer, String, UniqueConstraint

from bot.storage.db import utcnow
from bot.storage.models import AlertOutbox, Base, FlagDetails
from bot.storage.types import UTCDateTime
from bot.storage.vocabulary import FLAG_KINDS, sql_in

OWED = "owed"
SETTLED = "settled"
OWED_STATUSES = (OWED, SETTLED)
BY_ACTION = "action"
BY_RECONCILER = "reconciler"


class OwedFlag(FlagDetails, Base):
    """One flag owed for one patient message, and who settled it."""

    __tablename__ = "aftercare_owed_flags"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(255), nullable=False)
    turn_key = Column(String(128), nullable=False)
    status = Column(String(16), nullable=False, default=OWED)
    flag_id = Column(Integer, ForeignKey("aftercare_flags.id", ondelete="CASCADE"), nullable=True, index=True)
    settled_by = Column(String(16), nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    settled_at = Column(UTCDateTime, nullable=True)

    __table_args__ = (
        UniqueConstraint("conversation_id", "turn_key", "kind", name="uq_aftercare_owed_flags_turn"),
        CheckConstraint(sql_in("status", OWED_STATUSES), name="status"),
        CheckConstraint(sql_in("kind", FLAG_KINDS), name="kind"),
        Index("ix_aftercare_owed_flags_status_created_at", "status", "created_at"),
    )


# Belt and braces under the ledger: a flag never has two alerts for the same event, channel and level.
Index(
    "uq_aftercare_alert_outbox_once",
    AlertOutbox.flag_id,
    AlertOutbox.channel,
    AlertOutbox.event,
    AlertOutbox.level,
    unique=True,
)
