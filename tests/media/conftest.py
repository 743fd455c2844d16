"""Shared fixtures for the photo tests: a migrated SQLite database, a media folder, the intake."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, Tuple

import pytest
from sqlalchemy.engine import Engine

from bot.media.intake import PhotoIntake
from bot.storage import make_engine
from bot.storage.migrate import upgrade
from tests.dashboard.conftest import (  # noqa: F401 - the dashboard's fixtures, for the photo views
    auth,
    client,
    engine,
    session_factory,
    staff_accounts,
)

MAX_BYTES = 10 * 1024 * 1024


@pytest.fixture()
def database(tmp_path: Path) -> Iterator[Tuple[str, Engine]]:
    url = f"sqlite:///{tmp_path / 'aftercare.db'}"
    migrated = make_engine(url)
    upgrade(migrated)
    yield url, migrated
    migrated.dispose()


@pytest.fixture()
def media_dir(tmp_path: Path) -> Path:
    return tmp_path / "var" / "media"


@pytest.fixture()
def intake(database: Tuple[str, Engine], media_dir: Path) -> PhotoIntake:
    return PhotoIntake(database[0], media_dir, MAX_BYTES)
