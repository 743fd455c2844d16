"""Migrations: from an empty database to head, without drift from the models."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from bot.storage import migrate
from bot.storage.models import Base
from tests.storage.rasa_events import create_rasa_events_table

OUR_TABLES = {"aftercare_flags", "aftercare_alert_outbox", "aftercare_staff", "aftercare_audit_log"}


def schema_differences(engine):
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "version_table": migrate.VERSION_TABLE,
                "include_name": lambda name, type_, parents: (
                    type_ != "table" or name.startswith("aftercare_")
                ),
                "compare_type": True,
            },
        )
        return compare_metadata(context, Base.metadata)


def test_an_empty_database_migrates_to_head_without_drift(empty_engine):
    assert migrate.current_revision(empty_engine) is None
    migrate.upgrade(empty_engine)
    assert migrate.current_revision(empty_engine) == migrate.head_revision()
    tables = set(inspect(empty_engine).get_table_names())
    assert OUR_TABLES | {migrate.VERSION_TABLE} <= tables
    assert "alembic_version" not in tables
    assert schema_differences(empty_engine) == []


def test_upgrading_twice_changes_nothing(empty_engine):
    migrate.upgrade(empty_engine)
    migrate.upgrade(empty_engine)
    assert migrate.current_revision(empty_engine) == migrate.head_revision()


def test_migrations_leave_rasas_tables_alone(empty_engine):
    create_rasa_events_table(empty_engine)
    migrate.upgrade(empty_engine)
    assert schema_differences(empty_engine) == []
    migrate.downgrade(empty_engine, "base")
    tables = set(inspect(empty_engine).get_table_names())
    assert "events" in tables
    assert not tables & OUR_TABLES


def test_the_migrated_audit_log_refuses_updates_and_deletes(empty_engine):
    migrate.upgrade(empty_engine)
    with empty_engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO aftercare_audit_log (at, actor, action) VALUES (CURRENT_TIMESTAMP, 'a', 'login')"
            )
        )
    for statement in ("UPDATE aftercare_audit_log SET actor = 'b'", "DELETE FROM aftercare_audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), empty_engine.begin() as connection:
            connection.execute(text(statement))
