"""Rasa's tracker store under faults: bad sender ids, corrupt rows, outages, expired sessions.

Real databases throughout (a SQLite file and, where marked, the PostgreSQL test server);
the turns are written the way Rasa's message processor writes them: retrieve, append, save.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from pathlib import Path
from typing import Iterator, List
from urllib.parse import unquote

import pytest
from rasa.core.actions.action import ActionSessionStart
from rasa.core.channels import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from bot.settings import PROJECT_ROOT
from bot.storage import make_session_factory
from bot.storage.models import Base
from bot.storage.quarantine import quarantined_events
from bot.storage.tracker import read_transcript
from bot.tracker_store import AftercareTrackerStore, conversation_tag

DISCLAIMER = "This is information, not a diagnosis."


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(PROJECT_ROOT / "domain.yml"))


@pytest.fixture
def store(database_url: str, engine: Engine, domain: Domain) -> Iterator[AftercareTrackerStore]:
    tracker_store = AftercareTrackerStore(domain=domain, host=database_url)
    yield tracker_store
    tracker_store.engine.dispose()


async def _turn(store: AftercareTrackerStore, sender: str, message: str) -> None:
    """One patient message as Rasa handles it; the disclaimer goes out once per conversation."""
    tracker = await store.get_or_create_tracker(sender)
    tracker.update(UserUttered(message, {"name": "greet", "confidence": 1.0}))
    if not tracker.get_slot("disclaimer_shown"):
        tracker.update(BotUttered(DISCLAIMER))
        tracker.update(SlotSet("disclaimer_shown", True))
    tracker.update(BotUttered(f"reply to {message}"))
    tracker.update(ActionExecuted("action_listen"))
    await store.save(tracker)


def _stored(engine: Engine, sender: str, type_name: str) -> List[str]:
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT data FROM events WHERE sender_id = :s AND type_name = :t ORDER BY id"),
            {"s": sender, "t": type_name},
        )
        texts = []
        for (data,) in rows:
            with contextlib.suppress(ValueError):  # a corrupt row planted by a test
                texts.append(json.loads(data)["text"])
        return texts


@contextlib.contextmanager
def _outage(request: pytest.FixtureRequest, store: AftercareTrackerStore, url: str) -> Iterator[None]:
    """Make the database unreachable for the store, then bring it back unchanged."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        folder = Path(str(parsed.database)).parent
        away = folder.with_name(folder.name + "-away")
        store.engine.dispose()
        os.rename(folder, away)
        try:
            yield
        finally:
            os.rename(away, folder)
        return
    server = request.getfixturevalue("postgres_server")
    schema = unquote(str(parsed.query["options"])).split("search_path=")[1]
    database = str(parsed.database)
    server._admin(f'ALTER SCHEMA "{schema}" RENAME TO "{schema}_away"', database=database)
    try:
        yield
    finally:
        server._admin(f'ALTER SCHEMA "{schema}_away" RENAME TO "{schema}"', database=database)


def test_an_outage_mid_conversation_stores_every_turn_once_in_order(
    request, store, engine, database_url, tmp_path
):
    asyncio.run(
        _an_outage_mid_conversation_stores_every_turn_once_in_order(
            request, store, engine, database_url, tmp_path
        )
    )


async def _an_outage_mid_conversation_stores_every_turn_once_in_order(
    request, store, engine, database_url, tmp_path
):
    sender = "whatsapp:+447700900123"
    messages = [f"message {n}" for n in range(1, 10)]
    for message in messages[:3]:
        await _turn(store, sender, message)
    with _outage(request, store, database_url):
        for message in messages[3:6]:
            await _turn(store, sender, message)
        assert store.has_unsaved(sender), "the outage did not reach the store"
    for message in messages[6:]:
        await _turn(store, sender, message)

    assert not store.has_unsaved(sender)
    assert _stored(engine, sender, "user") == messages
    assert _stored(engine, sender, "bot").count(DISCLAIMER) == 1
    with make_session_factory(engine).begin() as session:
        transcript = read_transcript(session=session, conversation_id=sender)
    assert [turn.text for turn in transcript.turns if turn.kind == "user"] == messages


def test_a_read_failure_uses_the_copy_in_memory_not_a_new_conversation(request, store, database_url):
    asyncio.run(_a_read_failure_uses_the_copy_in_memory_not_a_new_conversation(request, store, database_url))


async def _a_read_failure_uses_the_copy_in_memory_not_a_new_conversation(request, store, database_url):
    sender = "telegram:123456"
    await _turn(store, sender, "hello")
    with _outage(request, store, database_url):
        tracker = await store.retrieve(sender)
    assert tracker is not None
    assert tracker.get_slot("disclaimer_shown") is True
    assert [event.text for event in tracker.events if isinstance(event, UserUttered)] == ["hello"]


def test_an_unencodable_sender_id_is_logged_without_data_and_the_conversation_goes_on(
    tmp_path, domain, caplog
):
    asyncio.run(
        _an_unencodable_sender_id_is_logged_without_data_and_the_conversation_goes_on(
            tmp_path, domain, caplog
        )
    )


async def _an_unencodable_sender_id_is_logged_without_data_and_the_conversation_goes_on(
    tmp_path, domain, caplog
):
    url = f"sqlite:///{tmp_path / 'aftercare.db'}"
    store = AftercareTrackerStore(domain=domain, host=url)
    sender = "\ud800patient"
    with caplog.at_level(logging.INFO):
        await _turn(store, sender, "my lips are swelling")
        await _turn(store, sender, "and my throat")
    tracker = await store.retrieve(sender)
    assert tracker is not None
    assert [e.text for e in tracker.events if isinstance(e, UserUttered)] == [
        "my lips are swelling",
        "and my throat",
    ]
    logged = [record.getMessage() for record in caplog.records if record.name == "bot.tracker_store"]
    assert logged and all("\n" not in line for line in logged)
    assert all("lips" not in line and "patient" not in line for line in logged)
    assert any(conversation_tag(sender) in line for line in logged)
    assert all(record.exc_info is None for record in caplog.records if record.name == "bot.tracker_store")


def _insert_raw(engine: Engine, sender: str, type_name: str, data: str) -> None:
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO events (sender_id, type_name, timestamp, data) VALUES (:s, :t, :ts, :d)"),
            {"s": sender, "t": type_name, "ts": time.time(), "d": data},
        )


def test_an_unreadable_event_is_skipped_quarantined_once_and_never_logged(store, engine, caplog):
    asyncio.run(_an_unreadable_event_is_skipped_quarantined_once_and_never_logged(store, engine, caplog))


async def _an_unreadable_event_is_skipped_quarantined_once_and_never_logged(store, engine, caplog):
    sender = "widget:abc"
    corrupt = '{"event": "user", "text": "I have a fever of 39 and my lip'
    await _turn(store, sender, "first")
    _insert_raw(engine, sender, "user", corrupt)
    with caplog.at_level(logging.INFO):
        await _turn(store, sender, "second")
        await _turn(store, sender, "third")

    assert _stored(engine, sender, "user") == ["first", "second", "third"]
    tracker = await store.retrieve(sender)
    assert tracker is not None
    assert [e.text for e in tracker.events if isinstance(e, UserUttered)] == ["first", "second", "third"]
    with make_session_factory(engine).begin() as session:
        rows = quarantined_events(session=session, sender_id=sender)
        assert [(row.type_name, row.error, row.raw_data) for row in rows] == [
            ("user", "JSONDecodeError", corrupt)
        ]
        assert rows[0].quarantined_at.tzinfo is not None
    logged = " ".join(record.getMessage() for record in caplog.records)
    assert "fever" not in logged and "quarantine" in logged


def test_the_quarantine_missing_does_not_stop_the_conversation(tmp_path, domain):
    asyncio.run(_the_quarantine_missing_does_not_stop_the_conversation(tmp_path, domain))


async def _the_quarantine_missing_does_not_stop_the_conversation(tmp_path, domain):
    url = f"sqlite:///{tmp_path / 'aftercare.db'}"
    store = AftercareTrackerStore(domain=domain, host=url)  # our tables were never created
    await _turn(store, "s1", "first")
    _insert_raw(store.engine, "s1", "bot", "not json")
    await _turn(store, "s1", "second")
    tracker = await store.retrieve("s1")
    assert tracker is not None and not store.has_unsaved("s1")
    assert [e.text for e in tracker.events if isinstance(e, UserUttered)] == ["first", "second"]


def test_the_domain_expires_sessions_after_a_day_and_carries_slots_over(domain):
    assert domain.session_config.session_expiration_time == 1440
    assert domain.session_config.carry_over_slots


def test_loading_a_conversation_replays_only_its_last_session(store, engine, domain):
    asyncio.run(_loading_a_conversation_replays_only_its_last_session(store, engine, domain))


async def _loading_a_conversation_replays_only_its_last_session(store, engine, domain):
    sender = "telegram:42"
    old = time.time() - 40 * 24 * 3600
    tracker = store.init_tracker(sender)
    tracker.update(SessionStarted(timestamp=old))
    tracker.update(ActionExecuted("action_listen", timestamp=old))
    for n in range(20):
        tracker.update(UserUttered(f"old {n}", {"name": "greet", "confidence": 1.0}, timestamp=old + n))
        tracker.update(BotUttered(f"old reply {n}", timestamp=old + n))
    tracker.update(SlotSet("triage_level", "urgent", timestamp=old + 30))
    tracker.update(SlotSet("days_since_procedure", 3, timestamp=old + 30))
    await store.save(tracker)

    # A day later Rasa starts a new session with the stock action, carrying the slots over.
    new_session = await ActionSessionStart().run(
        CollectingOutputChannel(), TemplatedNaturalLanguageGenerator(domain.responses), tracker, domain
    )
    for event in new_session:
        tracker.update(event)
    tracker.update(UserUttered("new question", {"name": "greet", "confidence": 1.0}))
    await store.save(tracker)

    current = await store.retrieve(sender)
    assert current is not None
    assert [e.text for e in current.events if isinstance(e, UserUttered)] == ["new question"]
    assert len(current.events) == len(new_session) + 1
    assert current.get_slot("triage_level") == "urgent"
    assert current.get_slot("days_since_procedure") == 3

    full = await store.retrieve_full_tracker(sender)
    assert full is not None
    assert len([e for e in full.events if isinstance(e, UserUttered)]) == 21
    with make_session_factory(engine).begin() as session:
        transcript = read_transcript(session=session, conversation_id=sender)
    assert len([turn for turn in transcript.turns if turn.kind == "user"]) == 21


def test_saving_the_same_tracker_twice_stores_nothing_twice(store, engine):
    asyncio.run(_saving_the_same_tracker_twice_stores_nothing_twice(store, engine))


async def _saving_the_same_tracker_twice_stores_nothing_twice(store, engine):
    sender = "rest:dup"
    await _turn(store, sender, "once")
    tracker = await store.retrieve(sender)
    assert tracker is not None
    await store.save(tracker)
    await store.save(tracker)
    assert _stored(engine, sender, "user") == ["once"]


def test_our_tables_are_created_alongside(engine):
    assert "aftercare_quarantined_events" in Base.metadata.tables


def test_memory_forgets_the_oldest_saved_conversations_but_never_unsaved_ones(request, tmp_path, domain):
    url = f"sqlite:///{tmp_path / 'db' / 'aftercare.db'}"
    store = AftercareTrackerStore(domain=domain, host=url, memory_size=2)

    async def scenario() -> None:
        with _outage(request, store, url):
            await _turn(store, "a", "during the outage")
        for sender in ("b", "c", "d"):
            await _turn(store, sender, "hi")
        assert set(store._memory) == {"a", "d"}
        assert store.has_unsaved("a")
        await _turn(store, "a", "after the outage")

    asyncio.run(scenario())
    assert not store.has_unsaved("a")
    assert _stored(store.engine, "a", "user") == ["during the outage", "after the outage"]
