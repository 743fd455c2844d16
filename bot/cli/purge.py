"""``aftercare purge [--older-than 180d] [--dry-run]``: apply the retention period.

Deletes flags (with their alerts), Rasa tracker-store events and patient photos (rows,
then their files under ``var/media/``) older than the period, and records the deletion in
the audit log. Run it daily from cron.
"""

from __future__ import annotations

import argparse
import sys

from bot.cli.common import cli_actor, database
from bot.media.retention import remove_files, sweep_orphans
from bot.media.store import MediaStore
from bot.storage import audit
from bot.storage.db import utcnow
from bot.storage.retention import parse_period, purge


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``purge`` subcommand."""
    parser = subparsers.add_parser(
        "purge", help="delete flags and conversations older than the retention period"
    )
    parser.add_argument(
        "--older-than",
        metavar="PERIOD",
        help="e.g. 180d or 26w (default: AFTERCARE_RETENTION_DAYS, else 180 days)",
    )
    parser.add_argument("--dry-run", action="store_true", help="only print what would be deleted")
    parser.set_defaults(func=_purge)


def _purge(args: argparse.Namespace) -> int:
    settings = args.settings
    period_text = args.older_than or f"{settings.retention.days}d"
    try:
        period = parse_period(period_text)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    cutoff = utcnow() - period
    with database(settings) as factory:
        with factory.begin() as session:
            report = purge(session=session, before=cutoff, dry_run=args.dry_run)
            if not args.dry_run:
                audit.record(
                    session=session, actor=cli_actor(), action="retention.purge", detail=report.summary()
                )
        if not args.dry_run:
            # Files only once their rows' deletion is committed (see bot.media.retention).
            store = MediaStore(settings.media_dir)
            remove_files(store, report.photo_files)
            sweep_orphans(store, factory, cutoff)
    verb = "would delete" if args.dry_run else "deleted"
    print(
        f"{verb}: {report.flags} flags, {report.alerts} alerts, {report.events} tracker events "
        f"from {report.conversations} conversations, {report.photos} photos "
        f"(older than {report.cutoff:%Y-%m-%d %H:%M} UTC)"
    )
    return 0
