"""Remember which provider messages were already accepted, so a retried delivery is answered once.

Providers redeliver a webhook when our acknowledgement is slow or lost (WhatsApp for up
to a week, Telegram until it gets a 200). The ledger keeps one row per
``(channel, message_id)``; the unique constraint makes "first time?" atomic even when two
deliveries of the same message race each other.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import Column, Integer, MetaData, String, Table, UniqueConstraint, delete, insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.storage import make_engine, utcnow
from bot.storage.types import UTCDateTime

logger = logging.getLogger(__name__)

TABLE_NAME = "aftercare_channel_messages"

metadata = MetaData()
channel_messages = Table(
    TABLE_NAME,
    metadata,
    Column("id", Integer, primary_key=True),
    Column("channel", String(32), nullable=False),
    Column("message_id", String(255), nullable=False),
    Column("received_at", UTCDateTime(), nullable=False, index=True),
    UniqueConstraint("channel", "message_id", name=f"uq_{TABLE_NAME}_channel_message_id"),
)


class MessageLedger:
    """Record provider message ids in our database; the table is created on first use."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        metadata.create_all(engine, tables=[channel_messages])

    @classmethod
    def from_url(cls, database_url: str) -> MessageLedger:
        """Open the ledger on the database at ``database_url``."""
        return cls(make_engine(database_url))

    def first_delivery(self, channel: str, message_id: str, now: Optional[datetime] = None) -> bool:
        """Record the message and return True, or return False if it was recorded before."""
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    insert(channel_messages).values(
                        channel=channel, message_id=message_id[:255], received_at=now or utcnow()
                    )
                )
        except IntegrityError:
            return False
        return True

    def forget(self, channel: str, message_id: str) -> None:
        """Drop one record, so a retry of a message we failed to process is processed."""
        with self.engine.begin() as connection:
            connection.execute(
                delete(channel_messages).where(
                    channel_messages.c.channel == channel, channel_messages.c.message_id == message_id[:255]
                )
            )

    def forget_before(self, cutoff: datetime) -> int:
        """Delete records older than ``cutoff`` (no provider retries that late); return how many."""
        with self.engine.begin() as connection:
            statement = delete(channel_messages).where(channel_messages.c.received_at < cutoff)
            result = connection.execute(statement)
        return int(result.rowcount or 0)


# WhatsApp retries failed deliveries for up to seven days; keep ids a little longer.
RETENTION = timedelta(days=14)
