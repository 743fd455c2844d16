"""Worker leases: named, expiring claims that let workers run on several replicas.

Revision ID: 0006_scale
Revises: 0005_safetycore
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_scale"
down_revision = "0006_photos"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "aftercare_leases",
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("holder", sa.String(length=128), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_aftercare_leases")),
    )


def downgrade() -> None:
    op.drop_table("aftercare_leases")
