"""An append-only, fsync'ed file of owed flags, for when the database cannot take them.

The Rasa process appends one JSON line per owed flag and fsyncs before the escalation
reply leaves, so a database outage followed by a killed process still leaves the record
on disk. The reconciler moves the lines into the database. Both sides hold an exclusive
``flock`` on the journal only for a file operation (never across a database write), and
the reconciler first copies the lines to a side file, so the Rasa process never waits for
the database. Importing is idempotent (unique key per message), so a crash between "rows
committed" and "side file removed" only re-imports lines that are already there.
"""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path
from typing import Callable, List, Sequence

from bot.storage.owed_flags import OwedFlagDetails

logger = logging.getLogger(__name__)

JOURNAL_NAME = "owed_flags.journal"
_SIDE_SUFFIX = ".importing"


def journal_path(var_dir: Path) -> Path:
    """Return where the journal lives under ``var/``."""
    return var_dir / JOURNAL_NAME


def _fsync_directory(directory: Path) -> None:
    fd = os.open(str(directory), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def append(path: Path, details: OwedFlagDetails) -> None:
    """Append one owed flag durably (written and fsync'ed when this returns)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    created = not path.exists()
    fd = os.open(str(path), os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        line = (details.to_json() + "\n").encode("utf-8")
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            line = b"\n" + line  # a crash cut the previous line short: keep ours whole
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)  # closing releases the lock
    if created:
        _fsync_directory(path.parent)


def _parse(text: str) -> List[OwedFlagDetails]:
    records: List[OwedFlagDetails] = []
    damaged = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            records.append(OwedFlagDetails.from_json(line))
        except (ValueError, TypeError, KeyError):
            damaged += 1  # e.g. a line cut short by a crash mid-write
    if damaged:
        logger.warning("Skipped %d damaged line(s) in the owed-flag journal.", damaged)
    return records


def _move_to_side_file(path: Path, side: Path) -> None:
    """Move the journal's lines to the side file, under the journal's lock."""
    fd = os.open(str(path), os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        chunks = []
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
        data = b"".join(chunks)
        if data:
            side_fd = os.open(str(side), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(side_fd, data if data.endswith(b"\n") else data + b"\n")
                os.fsync(side_fd)
            finally:
                os.close(side_fd)
            os.ftruncate(fd, 0)
            os.fsync(fd)
    finally:
        os.close(fd)


def drain(path: Path, store: Callable[[Sequence[OwedFlagDetails]], None]) -> int:
    """Hand every journalled owed flag to ``store`` (which commits them); return how many.

    If ``store`` raises (the database is still down), the lines stay on disk for the next try.
    """
    side = path.with_name(path.name + _SIDE_SUFFIX)
    if path.exists():
        _move_to_side_file(path, side)
    if not side.exists():
        return 0
    records = _parse(side.read_text(encoding="utf-8", errors="replace"))
    if records:
        store(records)
    side.unlink()
    return len(records)
