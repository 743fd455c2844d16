"""``aftercare deadlines [--once]``: escalate flags nobody acknowledged in time (a supervised process).

Run by ``aftercare run`` next to the servers; ``--once`` does one round and prints what it
did (for cron, or a check after an outage).
"""

from __future__ import annotations

import argparse
import contextlib
import logging

from bot.cli.common import database
from bot.deadlines import DeadlineWorker, deadline_context, run_once


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``deadlines`` subcommand."""
    parser = subparsers.add_parser(
        "deadlines", help="escalate flags past their response target (runs until stopped)"
    )
    parser.add_argument("--once", action="store_true", help="do one round, print it and exit")
    parser.add_argument("--interval", type=float, default=None, help="seconds between rounds")
    parser.set_defaults(func=_deadlines)


def _deadlines(args: argparse.Namespace) -> int:
    settings = args.settings
    context = deadline_context(settings)
    with database(settings) as factory:
        if args.once:
            report = run_once(factory, context)
            print(
                f"started {len(report.started)} clock(s), escalated {len(report.escalated)}, "
                f"queued {len(report.fallbacks)} patient fallback(s), delivered {len(report.delivered)}, "
                f"failed {len(report.failed)}, skipped {len(report.skipped)}"
            )
            return 1 if report.failed else 0
        if not settings.deadlines.enabled:
            print("deadlines are turned off (AFTERCARE_DEADLINES_ENABLED=false)")
            return 0
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
        worker = DeadlineWorker(factory, context, interval=args.interval or settings.deadlines.poll_seconds)
        worker.start()
        with contextlib.suppress(KeyboardInterrupt):
            while worker.is_alive():
                worker.join(1.0)
        worker.stop()
    return 0
