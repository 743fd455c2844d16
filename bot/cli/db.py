"""``aftercare db upgrade|current|revision``: schema migrations for our tables."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bot.cli.common import command, command_group
from bot.storage import make_engine, migrate


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``db`` subcommands."""
    commands = command_group(subparsers, "db", "database schema migrations")
    upgrade = command(
        commands, "upgrade", "bring the schema to the newest revision (safe to repeat)", _upgrade
    )
    upgrade.add_argument("--revision", default="head", help="target revision (default: head)")
    command(commands, "current", "print the revision the database is at", _current)
    revision = command(
        commands, "revision", "autogenerate a new migration from bot/storage/models.py", _revision
    )
    revision.add_argument("-m", "--message", required=True, help="what the migration changes")


def _upgrade(args: argparse.Namespace) -> int:
    engine = make_engine(args.settings.database_url)
    try:
        migrate.upgrade(engine, args.revision)
        print(f"database at revision {migrate.current_revision(engine)}")
    finally:
        engine.dispose()
    return 0


def _current(args: argparse.Namespace) -> int:
    engine = make_engine(args.settings.database_url)
    try:
        current = migrate.current_revision(engine)
    finally:
        engine.dispose()
    head = migrate.head_revision()
    print(f"current: {current or 'none (empty database)'}; newest: {head}")
    return 0 if current == head else 1


def _revision(args: argparse.Namespace) -> int:
    """Compare the models with a scratch database at head, so the real database is never touched."""
    from alembic import command

    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'scratch.db'}")
        try:
            migrate.upgrade(engine)
            config = migrate.alembic_config()
            with engine.begin() as connection:
                config.attributes["connection"] = connection
                command.revision(config, message=args.message, autogenerate=True)
        finally:
            engine.dispose()
    return 0
