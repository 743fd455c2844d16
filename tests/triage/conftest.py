"""Fixtures for the triage tests."""

from __future__ import annotations

import pytest

from bot.triage.config import TriageConfig, default_config


@pytest.fixture(scope="session")
def config() -> TriageConfig:
    """The packaged triage configuration."""
    return default_config()
