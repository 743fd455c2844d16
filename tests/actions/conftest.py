"""Fixtures for action tests: a real SQLite database with our schema, a tracker factory."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any, Callable, Dict, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.providers import flag_writer
from bot.knowledge import get_clinic_settings, get_knowledge_base
from bot.storage import make_engine, make_session_factory
from bot.storage.migrate import upgrade
from bot.verdict import TurnFacts, judge_turn, turn_key

TODAY = date(2026, 11, 21)


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
    """Build a tracker whose latest message is ``text`` with ``intent``.

    The ``triage_verdict`` slot holds the verdict the safety policy would have stored for this
    message (judged for real with the days in ``slots``), keyed by the message id.
    """

    def build(
        text: str,
        intent: str,
        slots: Optional[Dict[str, Any]] = None,
        sender: str = "patient-1",
        channel: str = "rest",
        message_id: Optional[str] = None,
        verdict: bool = True,
    ) -> Tracker:
        message_id = message_id or uuid.uuid4().hex
        slots = dict(slots or {})
        days = slots.get("days_since_procedure")
        treatment = TODAY.fromordinal(TODAY.toordinal() - int(days)) if days is not None else None
        facts = TurnFacts(text, turn_key(message_id, None), TODAY, intent, treatment_date=treatment)
        if verdict:
            slots["triage_verdict"] = judge_turn(facts).verdict
        latest = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": []}
        events: List[Dict[str, Any]] = [
            {
                "event": "user",
                "text": text,
                "parse_data": latest,
                "input_channel": channel,
                "message_id": message_id,
                "timestamp": 1_763_700_000.0,
            }
        ]
        return Tracker(sender, slots, latest, events, False, None, {}, "action_listen")

    return build


@pytest.fixture()
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()
