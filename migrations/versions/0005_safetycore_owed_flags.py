"""Owed flags: the per-message ledger that makes escalation flags and alerts exactly-once.

Revision ID: 0005_safetycore
Revises: 0004_storage
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_safetycore"
down_revision = "0004_storage"
branch_labels = None
depends_on = None

# Frozen copies of the vocabularies as they were when this migration was written.
OWED_STATUSES = "'owed', 'settled'"
FLAG_KINDS = "'triage', 'handoff', 'fallback'"


def upgrade() -> None:
    op.create_table(
        "aftercare_owed_flags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=255), nullable=False),
        sa.Column("turn_key", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("channel_user_id", sa.String(length=255), nullable=True),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("rule", sa.String(length=128), nullable=False),
        sa.Column("matched_text", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("flag_id", sa.Integer(), nullable=True),
        sa.Column("settled_by", sa.String(length=16), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(f"status IN ({OWED_STATUSES})", name=op.f("ck_aftercare_owed_flags_status")),
        sa.CheckConstraint(f"kind IN ({FLAG_KINDS})", name=op.f("ck_aftercare_owed_flags_kind")),
        sa.ForeignKeyConstraint(
            ["flag_id"],
            ["aftercare_flags.id"],
            name=op.f("fk_aftercare_owed_flags_flag_id_aftercare_flags"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aftercare_owed_flags")),
        sa.UniqueConstraint("conversation_id", "turn_key", "kind", name="uq_aftercare_owed_flags_turn"),
    )
    op.create_index("ix_aftercare_owed_flags_flag_id", "aftercare_owed_flags", ["flag_id"])
    op.create_index(
        "ix_aftercare_owed_flags_status_created_at", "aftercare_owed_flags", ["status", "created_at"]
    )
    op.create_index(
        "uq_aftercare_alert_outbox_once",
        "aftercare_alert_outbox",
        ["flag_id", "channel", "event", "level"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("uq_aftercare_alert_outbox_once", table_name="aftercare_alert_outbox")
    op.drop_table("aftercare_owed_flags")
