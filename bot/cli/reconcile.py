"""``aftercare reconcile [--once]``: create owed flags and their alerts (a supervised process).

Run by ``make run`` next to the servers (command: ``bot.reconciler.reconciler_command``);
``--once`` does one round and prints what it did, for cron or a manual check after an outage.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
from datetime import timedelta

from bot.reconciler import (
    DEFAULT_GRACE,
    DEFAULT_INTERVAL_SECONDS,
    reconcile_once,
    reconciler_factory,
    run_forever,
)
from bot.storage.owed_journal import journal_path


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``reconcile`` subcommand."""
    parser = subparsers.add_parser("reconcile", help="create flags owed by escalations (runs until stopped)")
    parser.add_argument("--once", action="store_true", help="do one round, print it and exit")
    parser.add_argument(
        "--interval", type=float, default=DEFAULT_INTERVAL_SECONDS, help="seconds between rounds"
    )
    parser.add_argument(
        "--grace",
        type=float,
        default=DEFAULT_GRACE.total_seconds(),
        help="seconds an owed flag is left to the action server before the reconciler writes it",
    )
    parser.set_defaults(func=_reconcile)


def _reconcile(args: argparse.Namespace) -> int:
    settings = args.settings
    factory = reconciler_factory(settings)
    journal = journal_path(settings.var_dir)
    grace = timedelta(seconds=args.grace)
    if args.once:
        report = reconcile_once(factory, journal, grace=grace)
        print(
            f"imported {report.imported} from the journal, created {len(report.settled)} flag(s), "
            f"{report.already_settled} already written, {report.failed} failed"
        )
        return 1 if report.failed else 0
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        run_forever(factory, journal, interval=args.interval, grace=grace)
    return 0
