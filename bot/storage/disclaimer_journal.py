"""Which conversations were shown the disclaimer, in a local file, for a database outage.

The ``disclaimer_shown`` slot lives in the stored conversation. A Rasa process restarted while
the database is down cannot read it, and would show a returning patient the disclaimer again.
So the tracker store appends each conversation's tag here (fsync'ed, once per conversation)
when it saves a conversation that saw the disclaimer, and reads the file only in that case.
Tags are the short hashes our log lines use (``bot.tracker_store.conversation_tag``), never
the conversation id; the file is 0600 in ``var/`` (0700), like the owed-flag journal.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from pathlib import Path
from typing import Set

logger = logging.getLogger(__name__)

FILE_NAME = "disclaimer_shown.tags"


def journal_path(var_dir: Path) -> Path:
    """Return where the record lives under ``var/``."""
    return var_dir / FILE_NAME


class DisclaimerJournal:
    """Append-only set of conversation tags that were shown the disclaimer."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._known: Set[str] = set()
        self._loaded = False
        self._lock = threading.Lock()

    def _read(self) -> Set[str]:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return set()
        return {line.strip() for line in lines if line.strip()}

    def record(self, tag: str) -> None:
        """Remember ``tag`` durably (written and fsync'ed when this returns); once per tag."""
        with self._lock:
            if not self._loaded:
                self._known |= self._read()
                self._loaded = True
            if tag in self._known:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(str(self.path), os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                size = os.fstat(fd).st_size
                prefix = b"\n" if size and os.pread(fd, 1, size - 1) != b"\n" else b""
                os.write(fd, prefix + tag.encode("ascii") + b"\n")
                os.fsync(fd)
            finally:
                os.close(fd)
            self._known.add(tag)

    def shown(self, tag: str) -> bool:
        """Tell whether ``tag`` was recorded (by this process or an earlier one)."""
        with self._lock:
            if tag in self._known:
                return True
            self._known |= self._read()
            self._loaded = True
            return tag in self._known
