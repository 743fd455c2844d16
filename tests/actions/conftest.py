"""Fixtures for action tests: a real SQLite database with our schema, a tracker factory."""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.providers import flag_writer
from bot.knowledge import get_clinic_settings, get_knowledge_base
from bot.storage import make_engine, make_session_factory
from bot.storage.migrate import upgrade
from bot.triage import assess


@pytest.fixture()
def session_factory(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'flags.db'}")
    upgrade(engine)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture()
def write_flag(session_factory):
    return flag_writer(lambda: session_factory)


@pytest.fixture(scope="session")
def kb():
    return get_knowledge_base()


@pytest.fixture(scope="session")
def clinic():
    return get_clinic_settings()


@pytest.fixture()
def make_tracker() -> Callable[..., Tracker]:
    """Build a tracker whose latest message is ``text`` with ``intent`` (triage computed for real)."""

    def build(
        text: str,
        intent: str,
        slots: Optional[Dict[str, Any]] = None,
        sender: str = "patient-1",
        channel: str = "rest",
    ) -> Tracker:
        latest = {
            "text": text,
            "intent": {"name": intent, "confidence": 0.9},
            "entities": [],
            "triage": assess(text).to_dict(),
        }
        events: List[Dict[str, Any]] = [
            {"event": "user", "text": text, "parse_data": latest, "input_channel": channel}
        ]
        return Tracker(sender, slots or {}, latest, events, False, None, {}, "action_listen")

    return build


@pytest.fixture()
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()
