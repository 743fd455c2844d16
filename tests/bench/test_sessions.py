"""Sessions end after a bounded number of events, at safe points, carrying each slot once."""

from __future__ import annotations

import asyncio
from typing import List

import pytest
from rasa.core.actions.action import ActionSessionStart
from rasa.core.processor import MessageProcessor
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from bot.launch import sessions
from bot.settings import PROJECT_ROOT


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(PROJECT_ROOT / "domain.yml"))


@pytest.fixture
def patched(monkeypatch: pytest.MonkeyPatch) -> None:
    """Install the patches for one test and put Rasa's own methods back afterwards."""
    monkeypatch.setattr(MessageProcessor, "_has_session_expired", MessageProcessor._has_session_expired)
    monkeypatch.setattr(
        ActionSessionStart,
        "_slot_set_events_from_tracker",
        staticmethod(ActionSessionStart._slot_set_events_from_tracker),
    )
    sessions.install(max_events=40)


def turn(text: str, intent: str, reply: str, level: str) -> List[Event]:
    return [
        UserUttered(text, {"name": intent, "confidence": 1.0}),
        SlotSet("triage_level", level),
        ActionExecuted(reply),
        BotUttered("...", metadata={"utter_action": reply}),
        ActionExecuted("action_listen"),
    ]


def tracker_of(domain: Domain, events: List[Event]) -> DialogueStateTracker:
    return DialogueStateTracker.from_events("patient-1", events, domain.slots)


def long_session(turns: int) -> List[Event]:
    events: List[Event] = [
        ActionExecuted("action_session_start"),
        SessionStarted(),
        ActionExecuted("action_listen"),
    ]
    for index in range(turns):
        events += turn(
            f"question {index}", "ask_peeling", "utter_peeling", "self_care" if index else "urgent"
        )
    return events


class Processor:
    """What the patched method reads of Rasa's processor: its domain."""

    def __init__(self, domain: Domain) -> None:
        self.domain = domain


def test_a_long_session_ends_before_the_next_message(domain: Domain, patched: None):
    short, long = tracker_of(domain, long_session(3)), tracker_of(domain, long_session(10))
    assert not MessageProcessor._has_session_expired(Processor(domain), short)
    assert MessageProcessor._has_session_expired(Processor(domain), long)


@pytest.mark.parametrize(
    "last_turn",
    [
        turn("I had it done", "inform", "utter_ask_days_since", "none"),
        turn("something is off", "report_unclear", "utter_ask_safety_questions", "none"),
        turn("blah", "nlu_fallback", "utter_ask_rephrase", "none"),
        turn("blah", "nlu_fallback", "utter_default", "none"),
    ],
    ids=["asked the day", "asked the safety questions", "asked to rephrase", "misunderstood"],
)
def test_never_between_a_question_and_its_answer(domain: Domain, patched: None, last_turn: List[Event]):
    tracker = tracker_of(domain, long_session(10) + last_turn)
    assert not MessageProcessor._has_session_expired(Processor(domain), tracker)


def test_the_new_session_carries_each_slot_once_with_its_last_value(domain: Domain, patched: None):
    tracker = tracker_of(domain, long_session(10) + [SlotSet("disclaimer_shown", True)])
    events = asyncio.run(ActionSessionStart().run(None, None, tracker, domain))  # type: ignore[arg-type]
    assert isinstance(events[0], SessionStarted)
    assert events[-1] == ActionExecuted("action_listen")
    carried = events[1:-1]
    assert [(e.key, e.value) for e in carried] == [("triage_level", "self_care"), ("disclaimer_shown", True)]
    continued = tracker_of(domain, [*tracker.events, *events])
    for slot in ("triage_level", "disclaimer_shown"):
        assert continued.get_slot(slot) == tracker.get_slot(slot)
    assert sessions.session_length(continued) == len(carried) + 1
