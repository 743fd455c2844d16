"""Fixtures for the storage tests: a fresh database per test, on SQLite and on PostgreSQL."""

from __future__ import annotations

from typing import Iterator

import pytest
from argon2 import PasswordHasher
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.storage import make_engine, make_session_factory, staff
from bot.storage.models import Base
from tests import postgres


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 with its production cost takes most of a second per hash on a busy CI machine."""
    monkeypatch.setattr(
        staff, "password_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[postgres.PostgresServer]:
    with postgres.shared_server() as server:
        yield server


@pytest.fixture(params=postgres.DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """The URL of an empty database: a SQLite file, or a fresh schema on the PostgreSQL server."""
    with postgres.empty_database(request, tmp_path) as url:
        yield url


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
