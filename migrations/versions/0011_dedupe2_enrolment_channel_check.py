"""Check-in enrolments: the channel is checked in code, not by a CHECK listing every channel.

A CHECK constraint naming each channel meant a migration for every new provider connector.
The channel is now checked against ``bot.channel_names`` where an enrolment is made
(``bot.checkins.addresses.sender_id``), so a new provider is one module and one listed name.

Revision ID: 0007_dedupe2
Revises: 0006_deadlines
Create Date: 2026-12-03
"""

from __future__ import annotations

from typing import Callable

import sqlalchemy as sa
from alembic import op
from alembic.operations import BatchOperations

revision = "0007_dedupe2"
down_revision = "0006_deadlines"
branch_labels = None
depends_on = None

ENROLMENTS = "aftercare_checkin_enrolments"
SCHEDULE = "aftercare_checkin_schedule"
CONSTRAINT = "ck_aftercare_checkin_enrolments_channel"
# Frozen copy of the channels the constraint listed when it was written (0007_checkins).
CHANNELS = "'whatsapp', 'telegram', 'twilio', 'widget'"
KEPT = "_dedupe2_kept_schedule"


def _rebuild(change: Callable[[BatchOperations], None]) -> None:
    """Alter the enrolments table; on SQLite keep its schedule rows through the table rebuild.

    SQLite cannot drop a constraint, so batch mode copies the table and drops the old one. With
    foreign keys on (``bot.storage.db``), that drop would cascade into the schedule rows, so they
    are set aside in a temporary table and put back once the rebuilt table has its old name.
    """
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute(f"CREATE TEMP TABLE {KEPT} AS SELECT * FROM {SCHEDULE}")
    with op.batch_alter_table(ENROLMENTS) as batch:
        change(batch)
    if sqlite:
        op.execute(f"INSERT INTO {SCHEDULE} SELECT * FROM {KEPT} WHERE id NOT IN (SELECT id FROM {SCHEDULE})")
        op.execute(f"DROP TABLE {KEPT}")


def upgrade() -> None:
    _rebuild(lambda batch: batch.drop_constraint(op.f(CONSTRAINT), type_="check"))


def downgrade() -> None:
    _rebuild(
        lambda batch: batch.create_check_constraint(op.f(CONSTRAINT), sa.text(f"channel IN ({CHANNELS})"))
    )
