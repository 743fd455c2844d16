"""Create the aftercare tables: flags, alert outbox, staff, audit log.

Revision ID: 0001
Revises:
Create Date: 2024-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Frozen copies of the vocabularies and triggers as they were when this migration was written.
FLAG_LEVELS = "'emergency', 'urgent', 'routine', 'handoff', 'fallback'"
FLAG_KINDS = "'triage', 'handoff', 'fallback'"
FLAG_STATUSES = "'open', 'acknowledged', 'resolved'"
OUTCOMES = "'contacted_patient', 'advised_visit', 'false_alarm', 'other'"
ROLES = "'reviewer', 'admin'"
ALERT_CHANNELS = "'email', 'webhook'"
ALERT_EVENTS = "'created', 'raised'"
ALERT_STATUSES = "'pending', 'delivered', 'failed', 'skipped'"
UNRESOLVED = sa.text("status != 'resolved'")

AUDIT_TRIGGERS = {
    "sqlite": (
        "CREATE TRIGGER aftercare_audit_log_no_update BEFORE UPDATE ON aftercare_audit_log "
        "BEGIN SELECT RAISE(ABORT, 'aftercare_audit_log is append-only'); END",
        "CREATE TRIGGER aftercare_audit_log_no_delete BEFORE DELETE ON aftercare_audit_log "
        "BEGIN SELECT RAISE(ABORT, 'aftercare_audit_log is append-only'); END",
    ),
    "postgresql": (
        "CREATE OR REPLACE FUNCTION aftercare_audit_log_append_only() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'aftercare_audit_log is append-only'; END $$",
        "CREATE TRIGGER aftercare_audit_log_append_only BEFORE UPDATE OR DELETE ON aftercare_audit_log "
        "FOR EACH ROW EXECUTE FUNCTION aftercare_audit_log_append_only()",
    ),
}
DROP_AUDIT_TRIGGERS = {
    "sqlite": (
        "DROP TRIGGER IF EXISTS aftercare_audit_log_no_update",
        "DROP TRIGGER IF EXISTS aftercare_audit_log_no_delete",
    ),
    "postgresql": (
        "DROP TRIGGER IF EXISTS aftercare_audit_log_append_only ON aftercare_audit_log",
        "DROP FUNCTION IF EXISTS aftercare_audit_log_append_only()",
    ),
}


def _utc(nullable: bool) -> dict:
    return {"type_": sa.DateTime(timezone=True), "nullable": nullable}


def upgrade() -> None:
    op.create_table(
        "aftercare_flags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=255), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("channel_user_id", sa.String(length=255), nullable=True),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("rule", sa.String(length=128), nullable=False),
        sa.Column("matched_text", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("assignee", sa.String(length=64), nullable=True),
        sa.Column("created_at", **_utc(False)),
        sa.Column("updated_at", **_utc(False)),
        sa.Column("acknowledged_by", sa.String(length=64), nullable=True),
        sa.Column("acknowledged_at", **_utc(True)),
        sa.Column("resolved_by", sa.String(length=64), nullable=True),
        sa.Column("resolved_at", **_utc(True)),
        sa.CheckConstraint(f"level IN ({FLAG_LEVELS})", name=op.f("ck_aftercare_flags_level")),
        sa.CheckConstraint(f"kind IN ({FLAG_KINDS})", name=op.f("ck_aftercare_flags_kind")),
        sa.CheckConstraint(f"status IN ({FLAG_STATUSES})", name=op.f("ck_aftercare_flags_status")),
        sa.CheckConstraint(
            f"outcome IS NULL OR outcome IN ({OUTCOMES})", name=op.f("ck_aftercare_flags_outcome")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aftercare_flags")),
    )
    op.create_index("ix_aftercare_flags_conversation_id", "aftercare_flags", ["conversation_id"])
    op.create_index("ix_aftercare_flags_created_at", "aftercare_flags", ["created_at"])
    op.create_index("ix_aftercare_flags_status_level", "aftercare_flags", ["status", "level"])
    op.create_index(
        "uq_aftercare_flags_unresolved",
        "aftercare_flags",
        ["conversation_id", "kind"],
        unique=True,
        sqlite_where=UNRESOLVED,
        postgresql_where=UNRESOLVED,
    )

    op.create_table(
        "aftercare_alert_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("flag_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("event", sa.String(length=16), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", **_utc(False)),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", **_utc(True)),
        sa.Column("created_at", **_utc(False)),
        sa.CheckConstraint(f"channel IN ({ALERT_CHANNELS})", name=op.f("ck_aftercare_alert_outbox_channel")),
        sa.CheckConstraint(f"event IN ({ALERT_EVENTS})", name=op.f("ck_aftercare_alert_outbox_event")),
        sa.CheckConstraint(f"status IN ({ALERT_STATUSES})", name=op.f("ck_aftercare_alert_outbox_status")),
        sa.ForeignKeyConstraint(
            ["flag_id"],
            ["aftercare_flags.id"],
            name=op.f("fk_aftercare_alert_outbox_flag_id_aftercare_flags"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aftercare_alert_outbox")),
    )
    op.create_index("ix_aftercare_alert_outbox_flag_id", "aftercare_alert_outbox", ["flag_id"])
    op.create_index("ix_aftercare_alert_outbox_due", "aftercare_alert_outbox", ["status", "next_attempt_at"])

    op.create_table(
        "aftercare_staff",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", **_utc(True)),
        sa.Column("last_login_at", **_utc(True)),
        sa.Column("created_at", **_utc(False)),
        sa.CheckConstraint(f"role IN ({ROLES})", name=op.f("ck_aftercare_staff_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aftercare_staff")),
        sa.UniqueConstraint("username", name=op.f("uq_aftercare_staff_username")),
    )

    op.create_table(
        "aftercare_audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", **_utc(False)),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=255), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aftercare_audit_log")),
    )
    op.create_index("ix_aftercare_audit_log_at", "aftercare_audit_log", ["at"])
    op.create_index("ix_aftercare_audit_log_actor", "aftercare_audit_log", ["actor"])
    op.create_index("ix_aftercare_audit_log_action", "aftercare_audit_log", ["action"])
    for statement in AUDIT_TRIGGERS.get(op.get_bind().dialect.name, ()):
        op.execute(statement)


def downgrade() -> None:
    for statement in DROP_AUDIT_TRIGGERS.get(op.get_bind().dialect.name, ()):
        op.execute(statement)
    op.drop_table("aftercare_audit_log")
    op.drop_table("aftercare_staff")
    op.drop_table("aftercare_alert_outbox")
    op.drop_table("aftercare_flags")
