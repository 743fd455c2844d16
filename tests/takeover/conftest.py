"""A real database migrated to head, per test: a SQLite file, and a PostgreSQL schema.

The takeover's one-open-takeover rule is a partial unique index, written differently on each
backend; so the takeover tests run on both (PostgreSQL ones marked ``postgres``).
"""

from __future__ import annotations

from typing import Iterator

import pytest
from sqlalchemy.orm import sessionmaker

from bot.storage import make_engine, make_session_factory
from bot.storage.migrate import upgrade


@pytest.fixture()
def database(database_url: str) -> Iterator[str]:
    engine = make_engine(database_url)
    upgrade(engine)
    engine.dispose()
    yield database_url


@pytest.fixture()
def session_factory(database: str) -> Iterator[sessionmaker]:
    engine = make_engine(database)
    yield make_session_factory(engine)
    engine.dispose()
