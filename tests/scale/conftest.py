"""A throwaway Redis server (Debian's ``redis-server``) on a free 127.0.0.1 port, for the lock-store tests.

Without the binary the tests skip locally and fail under ``CI=true`` (CI installs it through
``scripts/install-system-deps``), like the PostgreSQL tests.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Iterator

import pytest

from tests.postgres import free_port


@pytest.fixture(scope="session")
def redis_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("redis-server must be installed in CI (scripts/install-system-deps)", pytrace=False)
        pytest.skip("redis-server not installed; run scripts/install-system-deps")
    folder: Path = tmp_path_factory.mktemp("redis")
    port = free_port()
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder), "--save", ""]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import redis

    client = redis.Redis(host="127.0.0.1", port=port)
    try:
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture()
def session_factory(tmp_path):
    """A fresh SQLite database with every table (the alert tests' fixture, for this folder)."""
    from bot.storage import make_engine, make_session_factory
    from bot.storage.models import Base

    engine = make_engine(f"sqlite:///{tmp_path / 'aftercare.db'}")
    Base.metadata.create_all(engine)
    yield make_session_factory(engine)
    engine.dispose()
