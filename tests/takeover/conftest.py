"""A real SQLite database file migrated to head, per test."""

from __future__ import annotations

from typing import Iterator

import pytest
from sqlalchemy.orm import sessionmaker

from bot.storage import make_engine, make_session_factory
from bot.storage.migrate import upgrade


@pytest.fixture()
def database(tmp_path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'aftercare.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url


@pytest.fixture()
def session_factory(database: str) -> Iterator[sessionmaker]:
    engine = make_engine(database)
    yield make_session_factory(engine)
    engine.dispose()
