"""Check-ins: enrolments with consent, the schedule of check-ins, and contact preferences (STOP).

Revision ID: 0006_checkins
Revises: 0006_takeover
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_checkins"
down_revision = "0006_takeover"  # relinked after merging takeover (was 0005_safetycore)
branch_labels = None
depends_on = None

# Frozen copies of the vocabularies as they were when this migration was written.
ENROLMENT_STATUSES = "'active', 'paused', 'cancelled'"
CHANNELS = "'whatsapp', 'telegram', 'twilio', 'widget'"
CHECKIN_STATUSES = "'scheduled', 'sent', 'skipped', 'cancelled'"


def upgrade() -> None:
    op.create_table(
        "aftercare_checkin_enrolments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=255), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("procedure", sa.String(length=64), nullable=True),
        sa.Column("treatment_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("enrolled_by", sa.String(length=64), nullable=False),
        sa.Column("consent_by", sa.String(length=64), nullable=True),
        sa.Column("consent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("consent_version", sa.String(length=32), nullable=True),
        sa.Column("no_response_flagged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            f"status IN ({ENROLMENT_STATUSES})", name=op.f("ck_aftercare_checkin_enrolments_status")
        ),
        sa.CheckConstraint(f"channel IN ({CHANNELS})", name=op.f("ck_aftercare_checkin_enrolments_channel")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aftercare_checkin_enrolments")),
    )
    op.create_index(
        "ix_aftercare_checkin_enrolments_conversation_id", "aftercare_checkin_enrolments", ["conversation_id"]
    )
    op.create_table(
        "aftercare_checkin_schedule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("outbound_key", sa.String(length=128), nullable=True),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            f"status IN ({CHECKIN_STATUSES})", name=op.f("ck_aftercare_checkin_schedule_status")
        ),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            ["aftercare_checkin_enrolments.id"],
            name=op.f("fk_aftercare_checkin_schedule_enrolment_id_aftercare_checkin_enrolments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aftercare_checkin_schedule")),
        sa.UniqueConstraint("enrolment_id", "day", name="uq_aftercare_checkin_schedule_day"),
    )
    op.create_index(
        "ix_aftercare_checkin_schedule_enrolment_id", "aftercare_checkin_schedule", ["enrolment_id"]
    )
    op.create_index("ix_aftercare_checkin_schedule_due", "aftercare_checkin_schedule", ["status", "due_at"])
    op.create_table(
        "aftercare_contact_preferences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=255), nullable=False),
        sa.Column("opted_out", sa.Boolean(), nullable=False),
        sa.Column("changed_by", sa.String(length=64), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aftercare_contact_preferences")),
        sa.UniqueConstraint("conversation_id", name=op.f("uq_aftercare_contact_preferences_conversation_id")),
    )


def downgrade() -> None:
    op.drop_table("aftercare_contact_preferences")
    op.drop_index("ix_aftercare_checkin_schedule_due", table_name="aftercare_checkin_schedule")
    op.drop_index("ix_aftercare_checkin_schedule_enrolment_id", table_name="aftercare_checkin_schedule")
    op.drop_table("aftercare_checkin_schedule")
    op.drop_index(
        "ix_aftercare_checkin_enrolments_conversation_id", table_name="aftercare_checkin_enrolments"
    )
    op.drop_table("aftercare_checkin_enrolments")
