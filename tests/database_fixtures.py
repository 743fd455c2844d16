"""Database fixtures shared by the storage and dashboard tests (imported by their conftests)."""

from __future__ import annotations

from typing import Iterator

import pytest
from argon2 import PasswordHasher

from bot.storage import staff
from tests import postgres


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 with its production cost takes most of a second per hash on a busy CI machine."""
    monkeypatch.setattr(
        staff, "password_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[postgres.PostgresServer]:
    """One throw-away PostgreSQL server for the whole session."""
    with postgres.shared_server() as server:
        yield server


@pytest.fixture(params=postgres.DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """The URL of an empty database: a SQLite file, or a fresh schema on the PostgreSQL server."""
    with postgres.empty_database(request, tmp_path) as url:
        yield url
