"""Shared fixtures: the trained model and a running assistant for the slow end-to-end tests."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from bot.settings import PROJECT_ROOT, process_settings
from bot.training import ensure_model
from tests.stack import Stack, start_stack

# Database fixtures (SQLite and a real PostgreSQL) shared by the storage and dashboard tests.
pytest_plugins = ["tests.database_fixtures"]


@pytest.fixture(scope="session")
def project_root() -> Path:
    """The repository root."""
    return PROJECT_ROOT


@pytest.fixture(scope="session")
def trained_model(project_root: Path) -> Path:
    """The model for the current training data, trained once if it is missing."""
    return ensure_model(project_root).path


@pytest.fixture(scope="session")
def assistant(trained_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A running action server and Rasa server on a temporary SQLite database."""
    stack = start_stack(trained_model, tmp_path_factory.mktemp("assistant"))
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(autouse=True)
def fresh_process_settings() -> Iterator[None]:
    """Each test reads the environment it set up (``process_settings`` caches per process)."""
    process_settings.cache_clear()
    yield
    process_settings.cache_clear()
