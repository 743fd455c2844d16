"""The CSV export of flags: what was flagged and what staff did, without the patient's words."""

from __future__ import annotations

import csv
import io
from typing import Callable, Iterable, List, Optional, Sequence

from bot.storage.masking import mask_identity
from bot.storage.models import Flag

COLUMNS: Sequence[str] = (
    "flag_id",
    "created_at_utc",
    "updated_at_utc",
    "level",
    "kind",
    "status",
    "channel",
    "patient",
    "reason",
    "rule",
    "matched_text",
    "outcome",
    "note",
    "acknowledged_by",
    "acknowledged_at_utc",
    "resolved_by",
    "resolved_at_utc",
    "link",
)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    """Render one cell; text that a spreadsheet would run as a formula is made inert."""
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return str(value.isoformat(timespec="seconds"))
    text = str(value)
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def _row(flag: Flag, link: str) -> List[str]:
    values: List[Optional[object]] = [
        flag.id,
        flag.created_at,
        flag.updated_at,
        flag.level,
        flag.kind,
        flag.status,
        flag.channel,
        mask_identity(flag.channel, flag.channel_user_id, flag.conversation_id),
        flag.reason,
        flag.rule,
        flag.matched_text,
        flag.outcome,
        flag.note,
        flag.acknowledged_by,
        flag.acknowledged_at,
        flag.resolved_by,
        flag.resolved_at,
        link,
    ]
    return [_cell(value) for value in values]


def flags_csv(flags: Iterable[Flag], link_for: Callable[[Flag], str]) -> str:
    """Return the flags as CSV text with a header row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for flag in flags:
        writer.writerow(_row(flag, link_for(flag)))
    return buffer.getvalue()
