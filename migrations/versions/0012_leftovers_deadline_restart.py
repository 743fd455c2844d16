"""Deadlines: a reopened flag's clock runs again; count the steps taken before the reopening.

Revision ID: 0007_leftovers
Revises: 0006_deadlines
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_leftovers"
down_revision = "0007_dedupe2"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN: a batch rebuild on SQLite would drop the table, cascading into the
    # escalation alerts that point at it.
    op.add_column(
        "aftercare_flag_deadlines",
        sa.Column("steps_before_restart", sa.Integer(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    # SQLite 3.35+ drops a column in place (no rebuild, so no cascade).
    op.drop_column("aftercare_flag_deadlines", "steps_before_restart")
