"""Deadlines: response-time clocks, escalation alerts, patient contacts, staff's alarm verdict.

Revision ID: 0006_deadlines
Revises: 0005_safetycore
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_deadlines"
down_revision = "0006_scale"
branch_labels = None
depends_on = None

# Frozen copies of the vocabularies as they were when this migration was written.
DEADLINE_STATUSES = "'running', 'met', 'done', 'superseded'"
ALERT_CHANNELS = "'email', 'webhook'"
ALERT_STATUSES = "'pending', 'delivered', 'failed', 'skipped'"
PRIORITIES = "'high', 'low'"
CONTACT_KINDS = "'phone', 'email'"


def _when(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    # A plain ADD COLUMN, no CHECK: on SQLite a batch rebuild of aftercare_flags would drop the
    # table, and with foreign keys on, that cascades into the alerts and owed flags pointing at it.
    # The value is checked in code (bot.storage.flags.alarm_for).
    op.add_column("aftercare_flags", sa.Column("alarm", sa.String(length=16), nullable=True))
    op.create_table(
        "aftercare_flag_deadlines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("flag_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        _when("started_at"),
        _when("next_due_at"),
        sa.Column("steps_done", sa.Integer(), nullable=False),
        _when("fallback_queued_at", nullable=True),
        _when("created_at"),
        _when("updated_at"),
        sa.CheckConstraint(
            f"status IN ({DEADLINE_STATUSES})", name=op.f("ck_aftercare_flag_deadlines_status")
        ),
        sa.ForeignKeyConstraint(
            ["flag_id"],
            ["aftercare_flags.id"],
            name=op.f("fk_aftercare_flag_deadlines_flag_id_aftercare_flags"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aftercare_flag_deadlines")),
        sa.UniqueConstraint("flag_id", "level", name="uq_aftercare_flag_deadlines_flag_level"),
    )
    op.create_index("ix_aftercare_flag_deadlines_flag_id", "aftercare_flag_deadlines", ["flag_id"])
    op.create_index("ix_aftercare_flag_deadlines_due", "aftercare_flag_deadlines", ["status", "next_due_at"])
    op.create_table(
        "aftercare_escalation_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("flag_id", sa.Integer(), nullable=False),
        sa.Column("deadline_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.String(length=8), nullable=False),
        sa.Column("recipient_name", sa.String(length=128), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("out_of_hours", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _when("next_attempt_at"),
        _when("claimed_until", nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        _when("delivered_at", nullable=True),
        _when("created_at"),
        sa.CheckConstraint(
            f"channel IN ({ALERT_CHANNELS})", name=op.f("ck_aftercare_escalation_alerts_channel")
        ),
        sa.CheckConstraint(
            f"status IN ({ALERT_STATUSES})", name=op.f("ck_aftercare_escalation_alerts_status")
        ),
        sa.CheckConstraint(
            f"priority IN ({PRIORITIES})", name=op.f("ck_aftercare_escalation_alerts_priority")
        ),
        sa.ForeignKeyConstraint(
            ["flag_id"],
            ["aftercare_flags.id"],
            name=op.f("fk_aftercare_escalation_alerts_flag_id_aftercare_flags"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["deadline_id"],
            ["aftercare_flag_deadlines.id"],
            name=op.f("fk_aftercare_escalation_alerts_deadline_id_aftercare_flag_deadlines"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aftercare_escalation_alerts")),
        sa.UniqueConstraint("deadline_id", "step", name="uq_aftercare_escalation_alerts_step"),
    )
    op.create_index("ix_aftercare_escalation_alerts_flag_id", "aftercare_escalation_alerts", ["flag_id"])
    op.create_index(
        "ix_aftercare_escalation_alerts_due", "aftercare_escalation_alerts", ["status", "next_attempt_at"]
    )
    op.create_table(
        "aftercare_patient_contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        _when("created_at"),
        _when("updated_at"),
        sa.CheckConstraint(f"kind IN ({CONTACT_KINDS})", name=op.f("ck_aftercare_patient_contacts_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aftercare_patient_contacts")),
        sa.UniqueConstraint("conversation_id", name=op.f("uq_aftercare_patient_contacts_conversation_id")),
    )
    op.create_index("ix_aftercare_patient_contacts_updated_at", "aftercare_patient_contacts", ["updated_at"])


def downgrade() -> None:
    op.drop_table("aftercare_patient_contacts")
    op.drop_table("aftercare_escalation_alerts")
    op.drop_table("aftercare_flag_deadlines")
    op.drop_column("aftercare_flags", "alarm")
