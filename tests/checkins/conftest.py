"""Fixtures for the check-in tests: a fresh migrated database, check-in settings and texts."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from bot.checkins.content import CheckinContent, load_content
from bot.knowledge.procedures import Procedures, load_procedures
from bot.settings import PROJECT_ROOT, CheckinSettings
from bot.storage import make_engine, make_session_factory, migrate
from tests.alerts.conftest import smtp_server  # noqa: F401 - the real local SMTP receiver, for check-in emails
from tests.channels.fake_providers import FakeProviders


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """A SQLite database migrated to the newest schema (the migration is part of what is tested)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'checkins.db'}")
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def factory(engine: Engine) -> sessionmaker:
    return make_session_factory(engine)


@pytest.fixture
def london() -> CheckinSettings:
    """A London clinic sending at 10:00 local time, six hours' grace."""
    return CheckinSettings(send_time="10:00", grace_hours=6, timezone="Europe/London")


@pytest.fixture(scope="session")
def content() -> CheckinContent:
    return load_content(PROJECT_ROOT / "knowledge")


@pytest.fixture(scope="session")
def procedures() -> Procedures:
    return load_procedures(PROJECT_ROOT / "knowledge")


@pytest.fixture
def fake() -> Iterator[FakeProviders]:
    """The local WhatsApp, Telegram and Twilio API fakes, fresh for each test."""
    providers = FakeProviders().start()
    yield providers
    providers.stop()
