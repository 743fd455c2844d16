"""``aftercare knowledge sync-nlu [--check]``: write the NLU data generated from procedures.yml.

Run it after editing ``knowledge/procedures.yml`` (then retrain); ``--check`` only reports,
exiting 1 when the file is out of date (for CI).
"""

from __future__ import annotations

import argparse
import sys

from bot.knowledge.errors import KnowledgeError
from bot.knowledge.nlu_sync import NLU_FILE, sync_nlu
from bot.knowledge.procedures import load_procedures


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``knowledge`` subcommand group."""
    parser = subparsers.add_parser("knowledge", help="generated data from the knowledge folder")
    commands = parser.add_subparsers(dest="knowledge_command", metavar="COMMAND", required=True)
    sync = commands.add_parser(
        "sync-nlu", help=f"write {NLU_FILE.as_posix()} (synonyms, lookup) from knowledge/procedures.yml"
    )
    sync.add_argument("--check", action="store_true", help="write nothing; exit 1 if the file is out of date")
    sync.set_defaults(func=_sync_nlu)


def _sync_nlu(args: argparse.Namespace) -> int:
    settings = args.settings
    try:
        procedures = load_procedures(settings.knowledge_dir)
    except KnowledgeError as error:
        print(error, file=sys.stderr)
        return 1
    up_to_date = sync_nlu(procedures, settings.project_root, check=args.check)
    if up_to_date:
        print(f"{NLU_FILE.as_posix()} is up to date")
        return 0
    if args.check:
        print(f"{NLU_FILE.as_posix()} is out of date: run `aftercare knowledge sync-nlu`", file=sys.stderr)
        return 1
    print(f"wrote {NLU_FILE.as_posix()}; retrain the model (aftercare train)")
    return 0
