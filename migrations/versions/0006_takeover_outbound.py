"""Outbound messages (staff replies, notices, check-ins) and their provider receipts.

Revision ID: 0006_takeover
Revises: 0005_safetycore
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_takeover"
down_revision = "0005_safetycore"
branch_labels = None
depends_on = None

# Frozen copies of the vocabularies as they were when this migration was written.
OUTBOUND_KINDS = "'staff', 'notice', 'fallback', 'checkin', 'photo_request'"
OUTBOUND_STATUSES = "'queued', 'sent', 'delivered', 'failed'"


def _utc(nullable: bool) -> dict:
    return {"type_": sa.DateTime(timezone=True), "nullable": nullable}


def upgrade() -> None:
    op.create_table(
        "aftercare_outbound",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("conversation_id", sa.String(length=255), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("buttons", sa.Text(), nullable=False),
        sa.Column("template", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", **_utc(False)),
        sa.Column("rendered_at", **_utc(True)),
        sa.Column("held_since", **_utc(True)),
        sa.Column("sent_at", **_utc(True)),
        sa.Column("delivered_at", **_utc(True)),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.CheckConstraint(f"kind IN ({OUTBOUND_KINDS})", name=op.f("ck_aftercare_outbound_kind")),
        sa.CheckConstraint(f"status IN ({OUTBOUND_STATUSES})", name=op.f("ck_aftercare_outbound_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aftercare_outbound")),
        sa.UniqueConstraint("key", name=op.f("uq_aftercare_outbound_key")),
    )
    op.create_index("ix_aftercare_outbound_conversation_id", "aftercare_outbound", ["conversation_id"])
    op.create_index("ix_aftercare_outbound_due", "aftercare_outbound", ["channel", "status", "rendered_at"])
    op.create_table(
        "aftercare_outbound_receipts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("provider_message_id", sa.String(length=255), nullable=False),
        sa.Column("outbound_id", sa.Integer(), nullable=False),
        sa.Column("created_at", **_utc(False)),
        sa.ForeignKeyConstraint(
            ["outbound_id"],
            ["aftercare_outbound.id"],
            name=op.f("fk_aftercare_outbound_receipts_outbound_id_aftercare_outbound"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aftercare_outbound_receipts")),
    )
    op.create_index(
        "ix_aftercare_outbound_receipts_outbound_id", "aftercare_outbound_receipts", ["outbound_id"]
    )
    op.create_index(
        "uq_aftercare_outbound_receipts_provider",
        "aftercare_outbound_receipts",
        ["channel", "provider_message_id"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_table("aftercare_outbound_receipts")
    op.drop_table("aftercare_outbound")
