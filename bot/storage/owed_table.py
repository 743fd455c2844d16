"""The ``aftercare_owed_flags`` table (logic in ``bot.storage.owed_flags``).

Kept apart from the repository functions so ``bot.storage.models`` can import it without
an import cycle through ``bot.storage.flags``.
"""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Index, String, UniqueConstraint

from bot.storage import columns
from bot.storage.models import AlertOutbox, Base, FlagDetails
from bot.storage.vocabulary import FLAG_KINDS, sql_in

OWED = "owed"
SETTLED = "settled"
OWED_STATUSES = (OWED, SETTLED)
BY_ACTION = "action"
BY_RECONCILER = "reconciler"


class OwedFlag(FlagDetails, Base):
    """One flag owed for one patient message, and who settled it."""

    __tablename__ = "aftercare_owed_flags"

    id = columns.primary_id()
    conversation_id = columns.conversation_id()
    turn_key = columns.required(String(128))
    status = columns.status(OWED)
    flag_id = columns.parent_id("aftercare_flags.id", nullable=True)
    settled_by = columns.optional(String(16))
    created_at = columns.utc_now()
    settled_at = columns.utc_time()

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
