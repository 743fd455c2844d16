"""Quarantine for unreadable tracker store events.

Revision ID: 0004_storage
Revises: 0003_channels
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_storage"
down_revision = "0003_channels"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "aftercare_quarantined_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender_id", sa.String(length=255), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("type_name", sa.String(length=255), nullable=True),
        sa.Column("event_timestamp", sa.Float(), nullable=True),
        sa.Column("error", sa.String(length=128), nullable=False),
        sa.Column("raw_data", sa.Text(), nullable=True),
        sa.Column("quarantined_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aftercare_quarantined_events")),
        sa.UniqueConstraint("sender_id", "event_id", name="uq_aftercare_quarantined_events_event"),
    )
    op.create_index(
        "ix_aftercare_quarantined_events_sender_id", "aftercare_quarantined_events", ["sender_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_aftercare_quarantined_events_sender_id", table_name="aftercare_quarantined_events")
    op.drop_table("aftercare_quarantined_events")
