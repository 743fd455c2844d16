"""Dashboard security: server-side sessions, login throttling, security alerts, no TRUNCATE of the audit log.

Revision ID: 0002_security
Revises: 0001
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_security"
down_revision = "0001"
branch_labels = None
depends_on = None

# Frozen copies, as they were when this migration was written.
NO_TRUNCATE = (
    "CREATE TRIGGER aftercare_audit_log_no_truncate BEFORE TRUNCATE ON aftercare_audit_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION aftercare_audit_log_append_only()"
)
DROP_NO_TRUNCATE = "DROP TRIGGER IF EXISTS aftercare_audit_log_no_truncate ON aftercare_audit_log"


def _utc(nullable: bool) -> dict:
    return {"type_": sa.DateTime(timezone=True), "nullable": nullable}


def upgrade() -> None:
    op.create_table(
        "aftercare_staff_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", **_utc(False)),
        sa.Column("expires_at", **_utc(False)),
        sa.Column("ended_at", **_utc(True)),
        sa.Column("end_reason", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["aftercare_staff.id"],
            name=op.f("fk_aftercare_staff_sessions_user_id_aftercare_staff"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aftercare_staff_sessions")),
        sa.UniqueConstraint("token_digest", name=op.f("uq_aftercare_staff_sessions_token_digest")),
    )
    op.create_index("ix_aftercare_staff_sessions_user_id", "aftercare_staff_sessions", ["user_id"])

    op.create_table(
        "aftercare_login_throttle",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", **_utc(False)),
        sa.Column("blocked_until", **_utc(True)),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aftercare_login_throttle")),
        sa.UniqueConstraint("key", name=op.f("uq_aftercare_login_throttle_key")),
    )
    op.create_index(
        "ix_aftercare_login_throttle_last_failure_at", "aftercare_login_throttle", ["last_failure_at"]
    )

    op.create_table(
        "aftercare_security_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("addresses", sa.String(length=255), nullable=True),
        sa.Column("created_at", **_utc(False)),
        sa.Column("updated_at", **_utc(False)),
        sa.Column("dismissed_by", sa.String(length=64), nullable=True),
        sa.Column("dismissed_at", **_utc(True)),
        sa.Column("notified_at", **_utc(True)),
        sa.Column("notify_attempts", sa.Integer(), nullable=False),
        sa.Column("notify_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aftercare_security_alerts")),
    )
    op.create_index(
        "ix_aftercare_security_alerts_open", "aftercare_security_alerts", ["kind", "subject", "dismissed_at"]
    )

    if op.get_bind().dialect.name == "postgresql":
        op.execute(NO_TRUNCATE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(DROP_NO_TRUNCATE)
    op.drop_index("ix_aftercare_security_alerts_open", table_name="aftercare_security_alerts")
    op.drop_table("aftercare_security_alerts")
    op.drop_index("ix_aftercare_login_throttle_last_failure_at", table_name="aftercare_login_throttle")
    op.drop_table("aftercare_login_throttle")
    op.drop_index("ix_aftercare_staff_sessions_user_id", table_name="aftercare_staff_sessions")
    op.drop_table("aftercare_staff_sessions")
