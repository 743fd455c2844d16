"""Fixtures for the storage tests: a fresh database per test, on SQLite and on PostgreSQL."""

from __future__ import annotations

from typing import Iterator

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.storage import make_engine, make_session_factory
from bot.storage.models import Base


@pytest.fixture
def empty_engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(empty_engine: Engine) -> Engine:
    Base.metadata.create_all(empty_engine)
    return empty_engine


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker:
    return make_session_factory(engine)


@pytest.fixture
def session(session_factory: sessionmaker) -> Iterator[Session]:
    """A session inside one transaction, committed when the test ends."""
    with session_factory.begin() as session:
        yield session
