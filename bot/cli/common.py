"""Small helpers shared by the database-backed ``aftercare`` subcommands."""

from __future__ import annotations

import argparse
import getpass
from contextlib import contextmanager
from typing import Callable, Iterator

from sqlalchemy.orm import sessionmaker

from bot.settings import Settings
from bot.storage import make_engine, make_session_factory, migrate

Handler = Callable[[argparse.Namespace], int]


def command_group(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    help: str,
    metavar: str = "ACTION",
) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    """Add ``aftercare NAME <action>``, whose actions are subcommands that must be named."""
    parser = subparsers.add_parser(name, help=help)
    return parser.add_subparsers(dest=f"{name}_command", metavar=metavar, required=True)


def command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help: str, func: Handler
) -> argparse.ArgumentParser:
    """Add one subcommand run by ``func(args)``; its arguments are added to the parser returned."""
    parser: argparse.ArgumentParser = commands.add_parser(name, help=help)
    parser.set_defaults(func=func)
    return parser


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
