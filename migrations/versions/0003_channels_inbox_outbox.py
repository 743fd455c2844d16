"""Channel inbox and reply outbox; drop the old message-id ledger.

``aftercare_channel_messages`` was created by ``bot/channels/dedup.py`` outside the
migrations and only held ids; the inbox replaces it (it also keeps the payload, the
status and the replies), so the old table goes.

Revision ID: 0003_channels
Revises: 0002_security
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_channels"
down_revision = "0002_security"
branch_labels = None
depends_on = None

# Frozen copies of the vocabularies as they were when this migration was written.
INBOX_STATUSES = "'pending', 'done', 'failed'"
SEND_STATUSES = "'pending', 'sent', 'failed'"
OLD_LEDGER = "aftercare_channel_messages"


def _utc(nullable: bool) -> dict:
    return {"type_": sa.DateTime(timezone=True), "nullable": nullable}


def upgrade() -> None:
    if OLD_LEDGER in sa.inspect(op.get_bind()).get_table_names():
        op.drop_table(OLD_LEDGER)
    op.create_table(
        "aftercare_channel_inbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=False),
        sa.Column("conversation_id", sa.String(length=255), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("received_at", **_utc(False)),
        sa.Column("processed_at", **_utc(True)),
        sa.CheckConstraint(f"status IN ({INBOX_STATUSES})", name=op.f("ck_aftercare_channel_inbox_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aftercare_channel_inbox")),
        sa.UniqueConstraint("channel", "message_id", name="uq_aftercare_channel_inbox_message"),
    )
    op.create_index("ix_aftercare_channel_inbox_received_at", "aftercare_channel_inbox", ["received_at"])
    op.create_index(
        "ix_aftercare_channel_inbox_pending",
        "aftercare_channel_inbox",
        ["channel", "status", "conversation_id"],
    )
    op.create_table(
        "aftercare_channel_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("idempotency_key", sa.String(length=320), nullable=False),
        sa.Column("inbox_id", sa.Integer(), nullable=True),
        sa.Column("request", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", **_utc(False)),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("created_at", **_utc(False)),
        sa.Column("sent_at", **_utc(True)),
        sa.CheckConstraint(f"status IN ({SEND_STATUSES})", name=op.f("ck_aftercare_channel_outbox_status")),
        sa.ForeignKeyConstraint(
            ["inbox_id"],
            ["aftercare_channel_inbox.id"],
            name=op.f("fk_aftercare_channel_outbox_inbox_id_aftercare_channel_inbox"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aftercare_channel_outbox")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_aftercare_channel_outbox_idempotency_key")),
    )
    op.create_index("ix_aftercare_channel_outbox_inbox_id", "aftercare_channel_outbox", ["inbox_id"])
    op.create_index("ix_aftercare_channel_outbox_created_at", "aftercare_channel_outbox", ["created_at"])
    op.create_index(
        "ix_aftercare_channel_outbox_due",
        "aftercare_channel_outbox",
        ["channel", "status", "next_attempt_at"],
    )


def downgrade() -> None:
    op.drop_table("aftercare_channel_outbox")
    op.drop_table("aftercare_channel_inbox")
