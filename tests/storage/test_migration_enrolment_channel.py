"""0007_dedupe2: the enrolments' channel CHECK goes, and no enrolment or schedule row goes with it."""

from __future__ import annotations

from sqlalchemy import text

from bot.storage import migrate

BEFORE = "0006_deadlines"
ENROL = (
    "INSERT INTO aftercare_checkin_enrolments (id, conversation_id, channel, treatment_date, status,"
    " enrolled_by, created_at, updated_at) VALUES (:id, :conversation, :channel, '2026-12-01', 'active',"
    " 'staff:a', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
)
SCHEDULE = (
    "INSERT INTO aftercare_checkin_schedule (id, enrolment_id, day, due_at, status)"
    " VALUES (:id, :enrolment, :day, CURRENT_TIMESTAMP, 'scheduled')"
)


def _rows(engine, table):
    with engine.connect() as connection:
        return connection.execute(text(f"SELECT id FROM {table} ORDER BY id")).scalars().all()


def test_dropping_the_channel_check_keeps_every_enrolment_and_check_in(empty_engine):
    migrate.upgrade(empty_engine, BEFORE)
    with empty_engine.begin() as connection:
        connection.execute(
            text(ENROL), {"id": 1, "conversation": "whatsapp:447700900123", "channel": "whatsapp"}
        )
        for day in (1, 3, 7):
            connection.execute(text(SCHEDULE), {"id": day, "enrolment": 1, "day": day})

    migrate.upgrade(empty_engine)

    assert _rows(empty_engine, "aftercare_checkin_enrolments") == [1]
    assert _rows(empty_engine, "aftercare_checkin_schedule") == [1, 3, 7]
    # A channel added by a new connector module needs no migration.
    with empty_engine.begin() as connection:
        connection.execute(text(ENROL), {"id": 2, "conversation": "messenger:123", "channel": "messenger"})
        connection.execute(text(SCHEDULE), {"id": 8, "enrolment": 2, "day": 1})
        connection.execute(text("DELETE FROM aftercare_checkin_enrolments WHERE id = 2"))
    assert _rows(empty_engine, "aftercare_checkin_schedule") == [1, 3, 7]

    migrate.downgrade(empty_engine, BEFORE)
    assert _rows(empty_engine, "aftercare_checkin_schedule") == [1, 3, 7]
