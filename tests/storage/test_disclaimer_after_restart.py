"""The disclaimer goes out once even when Rasa restarts while the database is down.

The ``disclaimer_shown`` slot lives in the stored conversation, which a restarted process
cannot read during the outage; the tracker store keeps a local record of which conversations
saw it (hashed tags only). Real databases (SQLite file and PostgreSQL), real tracker stores;
a "restart" is a new store object with empty memory.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from rasa.shared.core.domain import Domain

from bot.settings import PROJECT_ROOT
from bot.tracker_store import AftercareTrackerStore, conversation_tag
from tests.storage.test_tracker_store import DISCLAIMER, _outage, _stored, _turn


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(PROJECT_ROOT / "domain.yml"))


@pytest.fixture()
def record(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the record lives: under var/, which an outage of the database does not touch."""
    return tmp_path_factory.mktemp("var") / "disclaimer_shown.tags"


def test_a_restart_during_an_outage_does_not_repeat_the_disclaimer(
    request, database_url, engine, domain: Domain, record: Path
) -> None:
    sender = "whatsapp:+447700900321"
    before = AftercareTrackerStore(domain=domain, host=database_url, disclaimer_file=record)
    asyncio.run(_turn(before, sender, "hello"))
    before.engine.dispose()

    restarted = AftercareTrackerStore(domain=domain, host=database_url, disclaimer_file=record)
    try:
        with _outage(request, restarted, database_url):
            asyncio.run(_turn(restarted, sender, "is peeling normal?"))
            assert restarted.has_unsaved(sender)
        asyncio.run(_turn(restarted, sender, "thanks"))
        assert _stored(engine, sender, "user") == ["hello", "is peeling normal?", "thanks"]
        assert _stored(engine, sender, "bot").count(DISCLAIMER) == 1
    finally:
        restarted.engine.dispose()
    assert conversation_tag(sender) in record.read_text(encoding="utf-8")
    assert "447700900321" not in record.read_text(encoding="utf-8")
    assert record.stat().st_mode & 0o077 == 0


def test_a_new_patient_during_an_outage_still_gets_the_disclaimer(
    request, database_url, engine, domain: Domain, record: Path
) -> None:
    store = AftercareTrackerStore(domain=domain, host=database_url, disclaimer_file=record)
    asyncio.run(_turn(store, "telegram:1", "hello"))
    try:
        with _outage(request, store, database_url):
            asyncio.run(_turn(store, "telegram:2", "hello"))
        asyncio.run(_turn(store, "telegram:2", "thanks"))
        assert _stored(engine, "telegram:2", "bot").count(DISCLAIMER) == 1
    finally:
        store.engine.dispose()
