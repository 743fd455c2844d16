"""The ``aftercare`` command: one entry point, one module per subcommand group.

Each module in :data:`COMMAND_MODULES` exposes ``register(subparsers)``, which adds
its subcommands and sets ``func`` (taking the parsed namespace, returning an exit code).
``main`` reads the environment once and hands it to ``func`` as ``args.settings``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import List, Optional, Sequence

from bot.settings import Settings, SettingsError

COMMAND_MODULES: Sequence[str] = (
    "bot.cli.run",
    "bot.cli.train",
    "bot.cli.evaluate",
    "bot.cli.dashboard",
    "bot.cli.staff",
    "bot.cli.db",
    "bot.cli.purge",
    "bot.cli.secrets",
    "bot.cli.reconcile",
    "bot.cli.knowledge",
    "bot.cli.patients",
    "bot.cli.deadlines",
    "bot.cli.report",
)


def build_parser() -> argparse.ArgumentParser:
    """Assemble the parser from every command module that is present."""
    parser = argparse.ArgumentParser(prog="aftercare", description="Aftercare Assistant command line.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name != module_name:
                raise
            continue
        module.register(subparsers)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Run the ``aftercare`` command and return its exit code."""
    if argv is None:  # a real process (not a test calling in): no patient data in its logs
        from bot.log_privacy import install_log_redaction

        install_log_redaction()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        args.settings = Settings.from_env()  # the one read of the environment for this command
    except SettingsError as error:
        print(f"aftercare: {error}", file=sys.stderr)
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
