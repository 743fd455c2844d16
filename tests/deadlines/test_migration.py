"""Migration 0006_deadlines on a database that already holds flags and alerts: nothing is lost."""

from __future__ import annotations

from sqlalchemy import inspect, text

from bot.storage import make_engine, migrate

FLAG = (
    "INSERT INTO aftercare_flags (id, conversation_id, channel, level, kind, reason, rule, matched_text,"
    " message, status, created_at, updated_at) VALUES (1, 'telegram:1', 'telegram', 'urgent', 'triage',"
    " 'r', 'fever', 'm', 'm', 'open', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
)
ALERT = (
    "INSERT INTO aftercare_alert_outbox (flag_id, channel, event, level, status, attempts,"
    " next_attempt_at, created_at) VALUES (1, 'email', 'created', 'urgent', 'pending', 0,"
    " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
)


def test_upgrading_and_downgrading_keeps_flags_and_their_alerts(database_url):
    engine = make_engine(database_url)
    try:
        migrate.upgrade(engine, "0005_safetycore")
        with engine.begin() as connection:
            connection.execute(text(FLAG))
            connection.execute(text(ALERT))
        migrate.upgrade(engine)
        columns = {column["name"] for column in inspect(engine).get_columns("aftercare_flags")}
        assert "alarm" in columns
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM aftercare_alert_outbox")).scalar() == 1
        migrate.downgrade(engine, "0005_safetycore")
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM aftercare_alert_outbox")).scalar() == 1
            assert connection.execute(text("SELECT count(*) FROM aftercare_flags")).scalar() == 1
    finally:
        engine.dispose()
