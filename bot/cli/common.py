"""Small helpers shared by the database-backed ``aftercare`` subcommands."""

from __future__ import annotations

import getpass
from contextlib import contextmanager
from typing import Iterator

from sqlalchemy.orm import sessionmaker

from bot.settings import Settings
from bot.storage import make_engine, make_session_factory, migrate


@contextmanager
def database(settings: Settings, *, upgrade: bool = True) -> Iterator[sessionmaker]:
    """Open the configured database (migrated to the newest schema) and close it afterwards."""
    engine = make_engine(settings.database_url)
    try:
        if upgrade:
            migrate.upgrade(engine)
        yield make_session_factory(engine)
    finally:
        engine.dispose()


def cli_actor() -> str:
    """Name the person at the terminal for the audit log."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"
