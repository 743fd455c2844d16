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
import yaml
from rasa.shared.core.domain import Domain

from bot.settings import PROJECT_ROOT
from bot.tracker_store import AftercareTrackerStore, conversation_tag
from tests.storage.test_tracker_store import DISCLAIMER, _outage, _stored, _turn

DOMAIN_RESPONSES = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))["responses"]


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


@pytest.mark.slow
def test_rasa_restarted_during_an_outage_greets_a_returning_patient_without_the_disclaimer(
    trained_model: Path, tmp_path: Path, record: Path
) -> None:
    """Rasa's own message processor, the trained model, a process "restart" (a new agent)."""
    import os

    from rasa.core.agent import Agent

    folder = tmp_path / "db"
    url = f"sqlite:///{folder / 'aftercare.db'}"
    sender = "telegram:778"
    disclaimer = DOMAIN_RESPONSES["utter_disclaimer"][0]["text"].split("{")[0]

    def texts(replies: list) -> list:
        return [str(reply.get("text") or "") for reply in replies]

    first_store = AftercareTrackerStore(host=url, disclaimer_file=record)
    first = Agent.load(str(trained_model), tracker_store=first_store)
    before = asyncio.run(first.handle_text("hello", sender_id=sender))
    assert any(text.startswith(disclaimer) for text in texts(before))
    first_store.engine.dispose()

    store = AftercareTrackerStore(host=url, disclaimer_file=record)
    restarted = Agent.load(str(trained_model), tracker_store=store)
    store.engine.dispose()
    os.rename(folder, folder.with_name("db-away"))
    try:
        during = asyncio.run(restarted.handle_text("hello again", sender_id=sender))
    finally:
        os.rename(folder.with_name("db-away"), folder)
    assert during and not any(text.startswith(disclaimer) for text in texts(during))
