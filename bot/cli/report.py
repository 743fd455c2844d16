"""``aftercare report flags --since 30d``: per rule, true/false alarms and the median time to acknowledge.

Shows a clinic which rules over-trigger (many false alarms) and whether its response targets
are met (median time to acknowledge, flags whose deadline passed unacknowledged).
"""

from __future__ import annotations

import argparse
from datetime import timedelta
from typing import List, Optional

from bot.cli.common import command, command_group, database
from bot.storage.db import utcnow
from bot.storage.flag_report import RuleFigures, rule_figures
from bot.storage.retention import parse_period

HEADERS = ("rule", "flags", "true", "false", "unjudged", "false %", "acknowledged", "median to ack", "missed")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``report`` subcommand group."""
    reports = command_group(subparsers, "report", "reports on flags and how staff handled them", "REPORT")
    flags = command(reports, "flags", "per rule: true/false alarms, median time to acknowledge", _flags)
    flags.add_argument("--since", default="30d", help="how far back, e.g. 30d or 12w (default 30d)")


def format_wait(wait: Optional[timedelta]) -> str:
    """``1h 05m``, ``4m 10s``; ``-`` when nothing was acknowledged."""
    if wait is None:
        return "-"
    seconds = int(wait.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {seconds:02d}s"


def table(figures: List[RuleFigures]) -> List[str]:
    """The report as aligned text lines (header first)."""
    rows = [list(HEADERS)]
    for item in figures:
        rate = item.false_alarm_rate
        rows.append(
            [
                item.rule,
                str(item.flags),
                str(item.true_alarms),
                str(item.false_alarms),
                str(item.unjudged),
                "-" if rate is None else f"{rate:.0%}",
                str(item.acknowledged),
                format_wait(item.median_to_acknowledge),
                str(item.missed_deadlines),
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADERS))]
    lines = ("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows)
    return [line.rstrip() for line in lines]


def _flags(args: argparse.Namespace) -> int:
    try:
        period = parse_period(args.since)
    except ValueError as error:
        print(f"aftercare report: {error}")
        return 2
    since = utcnow() - period
    with database(args.settings) as factory, factory.begin() as session:
        figures = rule_figures(session=session, since=since)
    print(f"Flags since {since:%Y-%m-%d %H:%M} UTC, per rule (true/false: staff's verdict when resolving):")
    if not figures:
        print("no flags in this period")
        return 0
    print("\n".join(table(figures)))
    return 0
