"""Fault injectors: kill or freeze a server, lock or take away the database, corrupt an event.

Each one acts on the real processes and the real SQLite file of a ``ChaosStack``; the
context managers always undo their fault, even when the code inside them fails.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import threading
import time
from pathlib import Path
from typing import Iterator, List, Optional, Sequence

from tests.chaos.stack import ChaosStack, listening_pids, rss_bytes

DB_SUFFIXES = ("", "-wal", "-shm")
AWAY = ".chaos-away"
RSS_LIMIT = int(os.environ.get("CHAOS_RSS_LIMIT_MB", "3072")) * 1024 * 1024


def kill9(stack: ChaosStack, server: str) -> List[int]:
    """``kill -9`` the server's processes; return their pids."""
    pids = stack.server_pids(server)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return pids


@contextlib.contextmanager
def frozen(stack: ChaosStack, server: str) -> Iterator[List[int]]:
    """SIGSTOP the server (it keeps its port but answers nothing) until the block ends, then SIGCONT."""
    pids = stack.server_pids(server)
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield pids
    finally:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)


def replaced(stack: ChaosStack, server: str, old_pids: Sequence[int]) -> bool:
    """Tell whether someone (the supervisor) already put a new process on the server's port."""
    current = listening_pids(stack.ports[server])
    return bool(current) and not set(current) & set(old_pids)


@contextlib.contextmanager
def write_locked(database: Path) -> Iterator[None]:
    """Make the database read-only for everyone else: hold its write lock (readers still read).

    In WAL mode ``BEGIN IMMEDIATE`` takes the one writer lock; every other writer waits its
    busy timeout and then fails with "database is locked", exactly as under heavy load.
    """
    holder = sqlite3.connect(str(database), timeout=30, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        yield
    finally:
        with contextlib.suppress(sqlite3.Error):
            holder.execute("ROLLBACK")
        holder.close()


@contextlib.contextmanager
def unavailable(database: Path) -> Iterator[None]:
    """Take the database away: every new connection fails ("file is not a database").

    The file and its WAL move aside (open connections keep their inode, as they would on a
    network filesystem that went away and came back) and a non-database sits at the path.
    """
    for suffix in DB_SUFFIXES:
        source = Path(f"{database}{suffix}")
        if source.exists():
            os.replace(source, f"{source}{AWAY}")
    database.write_bytes(b"database unavailable (chaos test)\n" * 64)
    try:
        yield
    finally:
        for suffix in DB_SUFFIXES:
            with contextlib.suppress(FileNotFoundError):
                os.remove(f"{database}{suffix}")
        for suffix in DB_SUFFIXES:
            away = Path(f"{database}{suffix}{AWAY}")
            if away.exists():
                os.replace(away, f"{database}{suffix}")


def corrupt_latest_event(
    database: Path, conversation_ids: Sequence[str], type_name: str = "bot"
) -> Optional[int]:
    """Overwrite the newest ``type_name`` event of a conversation with bad JSON; return its id."""
    connection = sqlite3.connect(str(database), timeout=30, isolation_level=None)
    try:
        marks = ",".join("?" for _ in conversation_ids)
        row = connection.execute(
            f"SELECT max(id) FROM events WHERE type_name = ? AND sender_id IN ({marks})",  # noqa: S608
            [type_name, *conversation_ids],
        ).fetchone()
        if row is None or row[0] is None:
            return None
        connection.execute("UPDATE events SET data = ? WHERE id = ?", ['{"event": "bot", "text": ', row[0]])
        return int(row[0])
    finally:
        connection.close()


class MemoryWatchdog(threading.Thread):
    """Kill Rasa with SIGKILL if it grows past ``RSS_LIMIT``: the machine is shared and has no swap.

    The issue measured one 60,000-character message at more than 8 GB. A kill here shows up
    as downtime and lost messages in the fault's row, which is what it is.
    """

    def __init__(self, stack: ChaosStack, limit: int = RSS_LIMIT) -> None:
        super().__init__(daemon=True, name="chaos-rss")
        self.stack = stack
        self.limit = limit
        self.kills = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        pids: List[int] = []
        refreshed = 0.0
        while not self._stop_event.wait(0.3):
            if not pids or time.monotonic() - refreshed > 5:
                pids, refreshed = listening_pids(self.stack.ports["rasa"]), time.monotonic()
            for pid in pids:
                if rss_bytes(pid) > self.limit:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                    self.kills += 1
                    pids = []

    def stop(self) -> None:
        self._stop_event.set()
