"""A real SQLite database file with our schema, and helpers to count flags and alerts."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.storage import make_engine, make_session_factory
from bot.storage.migrate import upgrade
from bot.storage.models import AlertOutbox, Flag


@pytest.fixture()
def session_factory(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'aftercare.db'}")
    upgrade(engine)
    yield make_session_factory(engine)
    engine.dispose()


def count_flags_and_alerts(factory):
    with factory.begin() as session:
        flags = session.execute(select(func.count(Flag.id))).scalar_one()
        alerts = session.execute(select(func.count(AlertOutbox.id))).scalar_one()
    return flags, alerts
