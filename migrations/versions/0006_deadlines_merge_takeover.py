"""Join the deadlines and takeover branches of the schema (both start at 0005_safetycore).

Only here because the deadlines branch merged takeover for the outbound table; when the lead
relinks the 0006 revisions into one chain, this file can go.

Revision ID: 0006_deadlines_merge
Revises: 0006_deadlines, 0006_takeover
Create Date: 2026-12-03
"""

from __future__ import annotations

revision = "0006_deadlines_merge"
down_revision = ("0006_deadlines", "0006_takeover")
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing to change: both parents are applied."""


def downgrade() -> None:
    """Nothing to change."""
