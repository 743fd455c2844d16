"""Photo files on disk: random names in one private folder, never under a web root.

The database row says which conversation a file belongs to; the file name says nothing
(128 random bits), and only names this module made are ever opened, so no path from
outside can reach another file.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path
from typing import Iterator

_NAME = re.compile(r"^[0-9a-f]{32}\.jpg$")


class MediaStore:
    """Write, read and delete photo files in ``root`` (created 0700, files 0600)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, name: str) -> Path:
        if not _NAME.match(name):
            raise ValueError("not a media file name")
        return self.root / name

    def save(self, data: bytes) -> str:
        """Store ``data`` under a new random name and return the name."""
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        name = f"{secrets.token_hex(16)}.jpg"
        path = self._path(name)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        return name

    def read(self, name: str) -> bytes:
        """The bytes of a stored file (FileNotFoundError once purged)."""
        return self._path(name).read_bytes()

    def delete(self, name: str) -> bool:
        """Remove a file; False when it was already gone."""
        try:
            self._path(name).unlink()
        except FileNotFoundError:
            return False
        return True

    def names(self) -> Iterator[str]:
        """Every file this store made (for sweeping files no row names any more)."""
        if not self.root.is_dir():
            return iter(())
        return (path.name for path in self.root.iterdir() if _NAME.match(path.name))

    def modified_at(self, name: str) -> float:
        """When the file was written (seconds since the epoch)."""
        return self._path(name).stat().st_mtime
