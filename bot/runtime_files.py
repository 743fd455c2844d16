"""Runtime files hold patient data and secrets: ``var/`` is 0700 and the SQLite file 0600.

Applied by ``aftercare run`` (and the test stack) before any server starts, so the database
never exists with looser permissions, whatever the user's umask; SQLite gives its -wal and
-shm files the permissions of the database file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from sqlalchemy.engine import make_url


def private_var_dir(var_dir: Path) -> Path:
    """Create ``var_dir`` if needed and make it readable by its owner only."""
    var_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(var_dir, 0o700)
    return var_dir


def sqlite_path(database_url: str) -> Optional[Path]:
    """The file behind a SQLite URL, or None for other databases and in-memory SQLite."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def private_database(database_url: str) -> Optional[Path]:
    """Create the SQLite file 0600 (or tighten an existing one); other databases: nothing."""
    path = sqlite_path(database_url)
    if path is None:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    os.chmod(path, 0o600)
    for suffix in ("-wal", "-shm", "-journal"):
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            os.chmod(companion, 0o600)
    return path


def write_private(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` so that only the owner can ever read it."""
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)
    return path
