"""Alembic environment: run migrations on the connection handed over by ``bot.storage.migrate``."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from bot.storage.migrate import TABLE_PREFIX, VERSION_TABLE
from bot.storage.models import Base

target_metadata = Base.metadata


def include_name(name, type_, parent_names) -> bool:  # type: ignore[no-untyped-def]
    """Only ever look at our own tables; Rasa's tracker store may share the database."""
    if type_ == "table":
        return bool(name) and name.startswith(TABLE_PREFIX)
    return True


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table=VERSION_TABLE,
        include_name=include_name,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_offline() -> None:
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        version_table=VERSION_TABLE,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    connection = context.config.attributes.get("connection")
    if connection is None:
        from bot.settings import Settings
        from bot.storage.db import make_engine

        url = context.config.get_main_option("sqlalchemy.url") or Settings.from_env().database_url
        with make_engine(url).begin() as new_connection:
            run_migrations(new_connection)
    else:
        run_migrations(connection)
