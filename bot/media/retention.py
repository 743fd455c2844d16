"""Removing photo files after ``aftercare purge`` committed the deletion of their rows.

Files go only after the commit, so a failed purge never leaves a row without its file. A
crash between the commit and the removal leaves files no row names; the sweep removes
those too once they are older than the cutoff (a younger one may belong to a photo being
stored right now).
"""

from __future__ import annotations

from datetime import datetime
from typing import Iterable

from sqlalchemy.orm import sessionmaker

from bot.media.store import MediaStore
from bot.storage.photos import known_file_names


def remove_files(store: MediaStore, names: Iterable[str]) -> int:
    """Delete the named files; return how many were there."""
    return sum(1 for name in names if store.delete(name))


def sweep_orphans(store: MediaStore, factory: sessionmaker, before: datetime) -> int:
    """Delete files older than ``before`` that no photo row refers to; return how many."""
    old = [name for name in store.names() if store.modified_at(name) < before.timestamp()]
    with factory.begin() as session:
        kept = known_file_names(session=session, names=old)
    return remove_files(store, (name for name in old if name not in kept))
