"""The chat offer "may I check in with you?" is answered only by the patient's next message.

The real actions on a migrated SQLite database, with trackers holding the events Rasa sends.
A later, unrelated "yes" while the offer is still on record must enrol nobody.
"""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.checkins import ActionDeclineCheckins, ActionRecordCheckinConsent
from bot.checkins.chat import answers_the_offer
from bot.storage.checkins import Enrolment

CONVERSATION = "telegram:5550123"
OFFER_TURN: List[Dict[str, Any]] = [
    {"event": "user", "text": "I had a Dermapen treatment yesterday"},
    {"event": "action", "name": "action_acknowledge_details"},
    {"event": "slot", "name": "treatment_date", "value": "2026-12-01"},
    {"event": "bot", "text": "Thank you..."},
    {"event": "slot", "name": "checkin_offer", "value": "asked"},
    {"event": "action", "name": "action_listen"},
]
OTHER_TURN: List[Dict[str, Any]] = [
    {"event": "user", "text": "can I wear makeup?"},
    {"event": "action", "name": "action_answer_question"},
    {"event": "bot", "text": "Not for the first day..."},
    {"event": "action", "name": "action_listen"},
]


def _yes(text: str = "yes") -> List[Dict[str, Any]]:
    return [{"event": "user", "text": text}, {"event": "slot", "name": "triage_verdict", "value": None}]


def _run(action: Any, events: List[Dict[str, Any]]) -> tuple[str, List[Dict[str, Any]]]:
    slots = {"treatment_date": "2026-12-01", "checkin_offer": "asked", "procedure": "dermapen"}
    latest = {"text": events[-2]["text"], "intent": {"name": "affirm"}}
    tracker = Tracker(CONVERSATION, slots, latest, events, False, None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    result = asyncio.run(action.run(dispatcher, tracker, {}))
    [message] = dispatcher.messages
    return str(message["response"]), result


def _enrolments(factory) -> List[Enrolment]:  # type: ignore[no-untyped-def]
    with factory.begin() as session:
        return list(session.execute(select(Enrolment)).scalars())


@pytest.mark.parametrize(
    ("events", "answers"),
    [
        (OFFER_TURN + _yes(), True),
        (OFFER_TURN + OTHER_TURN + _yes(), False),
        (OTHER_TURN + _yes(), False),
        (OFFER_TURN + OTHER_TURN + OFFER_TURN[4:] + _yes(), True),  # asked again, answered at once
    ],
)
def test_only_the_next_message_answers_the_offer(events: List[Dict[str, Any]], answers: bool) -> None:
    assert answers_the_offer(events) is answers


def test_a_yes_right_after_the_offer_enrols_with_consent(factory) -> None:
    response, events = _run(ActionRecordCheckinConsent(factory), OFFER_TURN + _yes())
    assert response == "utter_checkin_consent_recorded"
    [enrolment] = _enrolments(factory)
    assert (enrolment.conversation_id, enrolment.consent_by) == (CONVERSATION, "patient")
    assert events == [SlotSet("checkin_offer", "answered")]


def test_a_later_unrelated_yes_enrols_nobody_and_ends_the_offer(factory) -> None:
    response, events = _run(ActionRecordCheckinConsent(factory), OFFER_TURN + OTHER_TURN + _yes("yes please"))
    assert response == "utter_affirm"  # what a yes gets anywhere else
    assert _enrolments(factory) == []
    assert events == [SlotSet("checkin_offer", "answered")]


def test_a_later_no_is_an_ordinary_no(factory) -> None:
    assert _run(ActionDeclineCheckins(factory), OFFER_TURN + _yes("no"))[0] == "utter_checkin_declined"
    assert _run(ActionDeclineCheckins(factory), OFFER_TURN + OTHER_TURN + _yes("no"))[0] == "utter_deny"
