"""Patient photos (files under var/media/) and photo consents.

Revision ID: 0006_photos
Revises: 0006_takeover (after merging branch takeover; the lead relinks the chain)
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_photos"
down_revision = "0006_checkins"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "aftercare_photos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=255), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=False),
        sa.Column("file_name", sa.String(length=64), nullable=False),
        sa.Column("thumbnail_name", sa.String(length=64), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aftercare_photos")),
        sa.UniqueConstraint("channel", "message_id", name="uq_aftercare_photos_message"),
    )
    op.create_index("ix_aftercare_photos_conversation_id", "aftercare_photos", ["conversation_id"])
    op.create_index("ix_aftercare_photos_created_at", "aftercare_photos", ["created_at"])
    op.create_table(
        "aftercare_photo_consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=255), nullable=False),
        sa.Column("how", sa.String(length=32), nullable=False),
        sa.Column("consent_text", sa.String(length=2000), nullable=False),
        sa.Column("given_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aftercare_photo_consents")),
        sa.UniqueConstraint("conversation_id", name=op.f("uq_aftercare_photo_consents_conversation_id")),
    )


def downgrade() -> None:
    op.drop_table("aftercare_photo_consents")
    op.drop_index("ix_aftercare_photos_created_at", table_name="aftercare_photos")
    op.drop_index("ix_aftercare_photos_conversation_id", table_name="aftercare_photos")
    op.drop_table("aftercare_photos")
